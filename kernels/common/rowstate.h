/* The softmax family's per-row state (max, ties, sum below the max), its output constants, and the rules for non-finite rows. */
#ifndef SMX_ROWSTATE_H
#define SMX_ROWSTATE_H

#include "numerics.h"


/* ---- per-row state of the softmax family (kernels/common/rowstate.c) ----
   A row is reduced to M (the max), K (how many entries equal M) and R (the sum of
   exp(x - M) over the entries below M), so that log(sum) = log(K + R) keeps full relative
   accuracy even when R << 1 (no softmax collapse).
   Blocks are folded online. While the running max m is within +-SMX_SHIFT_MAX (the shifted state),
   a block is summed against the running shift: S = sum of smx_exp_shift(x, magic(K - 64)) over the
   entries below m, with K = smx_exp_k(m); when m rises, S and the old ties are rescaled by an exact
   power of two, so each entry costs one exp. Otherwise (plain state: m beyond the range or +inf) a
   block is summed against its own max by the TwoSum exp (smx_lse_block_plain) and folded in double. */
enum smx_row_kind { SMX_ROW_FINITE = 0, SMX_ROW_NAN, SMX_ROW_POSINF, SMX_ROW_ALLNEGINF };
typedef struct smx_lse {
  float m;      /* running max (-inf before the first finite block) */
  double k;     /* entries equal to m */
  double r;     /* plain state: sum of exp(x - m) below m */
  int nan;      /* any NaN seen */
  int shifted;  /* the shifted state: */
  int32_t K;    /* smx_exp_k(m) */
  double S, T;  /* sum below m of exp(x) 2^(64 - K); T = exp(m - K ln2) 2^64 */
} smx_lse;
typedef struct smx_lse_final {
  enum smx_row_kind kind;
  float m;          /* max */
  double k;         /* count of entries equal to the max (the +inf count for POSINF) */
  double l;         /* log(K + R) */
  float c_hi, c_lo; /* c_hi + c_lo = m + l: softmax = exp(x - c_hi - c_lo) */
  float lse;        /* RN(m + l) */
  int shifted;      /* |m| <= SMX_SHIFT_MAX: softmax by smx_softmax_one */
  int32_t K;        /* smx_exp_k(m) */
  double T, D;      /* shifted: T = 2^64 exp(m - K ln2), D = k T + S = (K + R) T */
} smx_lse_final;
void smx_lse_init(smx_lse *s);
/* Start a block whose max (NaN-free) is m_b: returns 1 if it is to be summed in the shifted state
   (ties x == s->m counted, the others summed as smx_exp_shift(x, smx_shift_magic(s->K - SMX_SUM_BIAS),
   SMX_KEEP_SUM) in 64 lanes, then smx_lse_end_block), 0 if in the plain state (smx_lse_block_plain
   then smx_lse_add_block), -1 if the block adds nothing (m_b = -inf). */
int smx_lse_begin_block(smx_lse *s, float m_b, int nan_b);
static inline void smx_lse_end_block(smx_lse *s, double k_b, double S_b) { s->k += k_b, s->S += S_b; }
/* Plain state: a block's ties count k_b and sum r_b of exp(x - m_b) below its max m_b (scalar,
   shared by every ISA), then folded in. */
void smx_lse_block_plain(const float *x, size_t len, float m_b, double *k_b, double *r_b);
void smx_lse_add_block(smx_lse *s, float m_b, double k_b, double r_b);
/* need_log = 0 (softmax) skips l, lse, c_hi and c_lo of a shifted row: its output needs only T and D */
void smx_lse_finish(const smx_lse *s, smx_lse_final *f, int need_log);

/* ---- the softmax output of a shifted row: y = exp(x) 2^-K c with c = exp(K ln2 - m - l) = 2^64 / D
   (smx_lse_final) split into c_hi + c_lo; e = smx_exp_shift(x, magic(K - 100), SMX_KEEP_OUT) (so e = 0
   for n - K < -160, where y < 2^-159), z = fma(e, c_hi, e c_lo) = y 2^100, y = z 2^-100 when
   z >= 2^-26 (y >= FLT_MIN), else +0. An entry whose e equals e_max (that of the max) gets
   y_max = RN(1 / (K + R)) = RN(T / D) instead: the max of a row, a single entry and near one-hot
   rows come out as exactly as the normalizer allows.
   c_lo is zeroed below 2^-30 c_hi, so that e c_lo is never subnormal (e >= 2^-60.5, c >= 2^-25). */
typedef struct smx_softmax_out {
  float magic, c_hi, c_lo, e_max, y_max;
} smx_softmax_out;
void smx_softmax_out_init(const smx_lse_final *f, smx_softmax_out *o);
#define SMX_OUT_ZMIN 0x1p-26f
#define SMX_OUT_UNSCALE 0x1p-100f
/* y from e (also the pass-2 rescale of stored row-pass values lands here, with e = s 2^(K_b - K + 36)). */
static inline float smx_softmax_from_e(float e, const smx_softmax_out *o) {
  float z = fmaf(e, o->c_hi, e * o->c_lo);
  return e == o->e_max ? o->y_max : z >= SMX_OUT_ZMIN ? z * SMX_OUT_UNSCALE : 0.0f;
}
static inline float smx_softmax_one(float x, const smx_softmax_out *o) {
  return smx_softmax_from_e(smx_exp_shift(x, o->magic, SMX_KEEP_OUT), o);
}

/* How many entries are +inf (the share 1/k of each under the special rule). */
double smx_count_posinf(size_t n, const float *x);
/* Writers for non-finite rows, shared by every ISA. */
void smx_fill(size_t n, float *y, float v);
/* The FLT_MIN rule on a finite row's log-softmax output y: only a row whose log(K + R) is below 2^-125
   can have outputs below FLT_MIN (the entries at the max), and only those rows are scanned. */
void smx_log_softmax_flush(const smx_lse_final *f, size_t n, float *y);
/* Rows with NaN, +inf entries or only -inf (the header's rules), for every normalizer. */
void smx_special_row(enum smx_row_kind kind, size_t n, const float *x, float *y, int log_out);

/* Softmax-family exp for rows whose c_lo is large (|max| >~ 8192): renormalizes the argument
   with a second TwoSum. Rows with |c_lo| <= SMX_CLO_SMALL use smx_exp_core directly; ISAs may
   hand other rows to the scalar kernel. */
#define SMX_CLO_SMALL 0x1p-12f
static inline float smx_exp_core_wide(float x, float c_hi, float c_lo) {
  float lo, lo2, d = smx_two_diff(x, c_hi, &lo);
  float d2 = smx_two_diff(d, -(lo - c_lo), &lo2); /* TwoSum(d, lo - c_lo) */
  return smx_exp_core(d2, 0.0f, -lo2);
}
static inline float smx_softmax_exp(float x, const smx_lse_final *f) {
  return (f->c_lo <= SMX_CLO_SMALL && f->c_lo >= -SMX_CLO_SMALL) ? smx_exp_core(x, f->c_hi, f->c_lo)
                                                                 : smx_exp_core_wide(x, f->c_hi, f->c_lo);
}
/* log-softmax of one entry: (x - c_hi) - c_lo with the subtraction made exact by TwoSum. */
static inline float smx_log_softmax_one(float x, float c_hi, float c_lo) {
  float lo, d = smx_two_diff(x, c_hi, &lo);
  return d == -INFINITY ? d : d + (lo - c_lo);
}

/* The scalar block reduction of the softmax family (kernels/common/rowstate.c): one block
   (len <= SMX_BLOCK) folded into s, and a whole row. */
void smx_lse_block_scalar(const float *x, size_t len, smx_lse *s);
void smx_lse_row_scalar(size_t n, const float *x, smx_lse_final *f, int need_log);
/* sum a_i b_i (b NULL: sum a_i) in 64 float lanes (fmaf) per block, blocks in double. */
double smx_blocked_dot_scalar(size_t n, const float *a, const float *b);
/* The 64-lane max of a row (element i -> lane i % 64, smx_tree_max64) and its NaN flag, and the row's kind. */
float smx_row_max_scalar(size_t n, const float *x, int *nan);
enum smx_row_kind smx_row_kind_of(float m, int nan);

#endif
