/* The softmax family's per-row state (max, ties, sum below the max), its output constants, and the rules for non-finite rows. */
#ifndef SMX_ROWSTATE_H
#define SMX_ROWSTATE_H

#include "half.h"
#include "numerics.h"


/* ---- exact binned sums (kernels/common/rowstate_merge.c) ----
   A sum of terms v 2^e2 (v a positive finite double, e2 an integer) held as 32-bit chunks at fixed absolute
   bit positions (bin j holds bits [32 j, 32 j + 32)) in 64-bit integers: the bins of the window, the
   SMX_BINS bins up to the highest bin any term's leading bit reached (top), are kept; chunks below the
   window are dropped, and when top rises the lowest bins go. A bin's integer sum is exact and carries are
   never propagated, so the kept sum is the sum of the chunks of every term in the final window: it depends
   only on the set of terms, not on their order or grouping (merging two sums is adding their bins). The
   window keeps at least 64 bits below the leading bit of the largest term. Slot i of b holds bin top + 1 - i
   (slot 0 only ever receives zero chunks). */
#define SMX_BINS 3
typedef struct smx_binsum {
  int32_t top, any;
  uint64_t b[SMX_BINS + 1];
} smx_binsum;
void smx_binsum_shift(smx_binsum *a, int32_t top);
static inline void smx_binsum_add(smx_binsum *a, double v, int32_t e2) {
  if (!(v > 0.0 && v <= 0x1.fffffffffffffp1023)) return; /* zero, NaN (the row is NaN anyway) */
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  const int32_t p = (int32_t)(u >> 52) - 1075 + e2; /* v normal: v = mant 2^(p - e2) */
  const uint64_t mant = (u & 0xfffffffffffffull) | 0x10000000000000ull;
  const int32_t hi = (p + 52) >> 5; /* arithmetic shifts: floor division */
  if (!a->any) memset(a->b, 0, sizeof a->b), a->any = 1, a->top = hi;
  else if (hi > a->top) smx_binsum_shift(a, hi);
  const int32_t s = a->top + 1 - (p >> 5); /* slot of chunk 0; chunk c at slot s - c, s - 2 >= 0 */
  const int32_t r = p & 31; /* w = mant 2^r < 2^84 in three 32-bit chunks */
  const uint64_t lo = mant << r, c0 = lo & 0xffffffffu, c1 = lo >> 32, c2 = (mant >> 32) >> (32 - r);
  if (s <= SMX_BINS) {
    a->b[s] += c0, a->b[s - 1] += c1, a->b[s - 2] += c2;
  } else if (s <= SMX_BINS + 2) {
    if (s - 1 <= SMX_BINS) a->b[s - 1] += c1;
    a->b[s - 2] += c2;
  }
}
void smx_binsum_merge(smx_binsum *a, const smx_binsum *b);
double smx_binsum_value(const smx_binsum *a, int32_t e2); /* the kept sum times 2^e2, rounded */

/* ---- per-row state of the softmax family (kernels/common/rowstate.c, rowstate_merge.c) ----
   A row is reduced to M (the max), K (how many entries equal M) and R (the sum of exp(x - M) over the
   entries below M), so that log(sum) = log(K + R) keeps full relative accuracy even when R << 1 (no
   softmax collapse).
   Every block of SMX_BLOCK entries whose max m_b lies in [-SMX_SHIFT_MAX, SMX_SHIFT_MAX] is summed against
   its own max, not the row's: K_b = smx_exp_k(m_b), S_b = the 64 float lanes of smx_exp_shift(x,
   magic(K_b - 64), SMX_KEEP_SUM) (exp(x) 2^(64 - K_b)), tree-summed in double; the block's value is
   S_b 2^(K_b - 64), added exactly into a binned sum. A block summed while its max is not below the running
   max (a candidate for the row max) also keeps the sum without its ties (x == m_b) and their count, in the
   same pass. The state then is: m, the ties k and the binned sums Mex / Mall (without / with the ties) of
   the blocks whose max is m, and R, the binned sum of every other block's S_b: all of it a function of
   the set of blocks, so states of consecutive column ranges merge (smx_lse_merge) to exactly the state of
   the whole row. A block below -SMX_SHIFT_MAX is summed against K_c = smx_exp_k(-SMX_SHIFT_MAX) into R
   (its entries below 2^-189 of that dropped: below 2^-189 of any row max in range) and, for rows with no
   block in range, also into the plain state below.
   Rows whose max is beyond SMX_SHIFT_MAX (or +inf) use the plain state: a block is summed against its own
   max by the TwoSum exp (smx_lse_block_plain) and folded in double (deterministic, not order-free). */
enum smx_row_kind { SMX_ROW_FINITE = 0, SMX_ROW_NAN, SMX_ROW_POSINF, SMX_ROW_ALLNEGINF };
typedef struct smx_lse_plain {
  float m;  /* max (-inf before the first finite block) */
  double k; /* entries equal to m */
  double r; /* sum of exp(x - m) below m */
} smx_lse_plain;
typedef struct smx_lse {
  float m;        /* running max (-inf before the first finite block) */
  int32_t nan;    /* any NaN seen */
  int32_t plain;  /* the plain state (p) */
  int32_t in;     /* not plain: some block's max is in range (then m is, and k, Mex, Mall are its) */
  double k;       /* not plain, in: entries equal to m */
  smx_binsum R, Mex, Mall;
  smx_lse_plain p; /* plain: the row; not plain: the blocks below -SMX_SHIFT_MAX */
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
/* Start a block whose max (NaN-free) is m_b: SMX_BLK_NONE (m_b = -inf: it adds nothing), SMX_BLK_PLAIN
   (smx_lse_block_plain then smx_lse_add_block), SMX_BLK_LOW (smx_lse_block_low), SMX_BLK_REST (sum against
   K_b = smx_exp_k(m_b) without ties, then smx_lse_end_rest) or SMX_BLK_MAX (ties x == m_b counted, the sums without and
   with them, then smx_lse_end_max). */
enum { SMX_BLK_NONE = -1, SMX_BLK_PLAIN = 0, SMX_BLK_LOW = 2, SMX_BLK_REST = 3, SMX_BLK_MAX = 1 };
int smx_lse_begin_block(smx_lse *s, float m_b, int nan_b);
static inline void smx_lse_end_rest(smx_lse *s, int32_t K_b, double S_all) {
  smx_binsum_add(&s->R, S_all, K_b - SMX_SUM_BIAS);
}
void smx_lse_end_max(smx_lse *s, float m_b, int32_t K_b, double k_b, double S_ex, double S_all);
/* A block below -SMX_SHIFT_MAX: its sum against K(-SMX_SHIFT_MAX) (SMX_BLK_REST's, without ties: +0 but for
   entries near -2^16) and its plain sums (smx_lse_block_plain), added by smx_lse_add_low (the SIMD bodies make the
   same sums in registers). */
void smx_lse_block_low(const float *x, size_t len, float m_b, smx_lse *s);
void smx_lse_add_low(smx_lse *s, float m_b, double S_in, double k_b, double r_b);
/* Plain state: a block's ties count k_b and sum r_b of exp(x - m_b) below its max m_b (scalar,
   shared by every ISA), then folded in. */
void smx_lse_block_plain(const float *x, size_t len, float m_b, double *k_b, double *r_b);
void smx_lse_add_block(smx_lse *s, float m_b, double k_b, double r_b);
/* acc := the state of acc's columns followed by next's: exactly the state of the concatenated row (as
   smx_lse_block_scalar folds it block by block) unless a plain state is involved (a max beyond
   +SMX_SHIFT_MAX) or neither has a block in range (then the plain states of their low blocks are merged
   in double: deterministic, not order-free). */
void smx_lse_merge(smx_lse *acc, const smx_lse *next);
/* need_log = 0 (softmax) skips l, lse, c_hi and c_lo of a shifted row: its output needs only T and D */
void smx_lse_finish(const smx_lse *s, smx_lse_final *f, int need_log);
/* The same for a row of one block whose max m (in [-SMX_SHIFT_MAX, SMX_SHIFT_MAX]) was summed against
   K = smx_exp_k(m): k entries equal to m and S the sum of the others (as SMX_BLK_MAX sums them): its state's sum
   is S exactly (one term of the binned sum), so this is smx_lse_finish of that state without the state. */
void smx_lse_finish_block(float m, double k, double S, smx_lse_final *f, int need_log);

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
double smx_count_posinf_elem(size_t n, const void *x, int e);
/* Writers for non-finite rows, shared by every ISA. */
void smx_fill(size_t n, float *y, float v);
void smx_fill_elem(size_t n, void *y, float v, int e);
/* The FLT_MIN rule on a finite row's log-softmax output y: only a row whose log(K + R) is below 2^-125
   can have outputs below FLT_MIN (the entries at the max), and only those rows are scanned. */
void smx_log_softmax_flush(const smx_lse_final *f, size_t n, float *y);
/* Rows with NaN, +inf entries or only -inf (the header's rules), for every normalizer; smx_special_cols writes
   n columns of such a row whose +inf count is kinf. */
void smx_special_row(enum smx_row_kind kind, size_t n, const float *x, float *y, int log_out);
void smx_special_row_elem(enum smx_row_kind kind, size_t n, const void *x, void *y, int log_out, int e);
void smx_special_cols(enum smx_row_kind kind, double kinf, size_t n, const float *x, float *y, int log_out);

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
/* sum a_i b_i (b NULL: sum a_i) in 64 float lanes (fmaf) per block, blocks in double; _elem: of tensors of
   element e (SMX_ELEM_*, kernels/common/half.h), the same below. */
double smx_blocked_dot_scalar(size_t n, const float *a, const float *b);
double smx_blocked_dot_elem(size_t n, const void *a, const void *b, int e);
/* The 64-lane max of a row (element i -> lane i % 64, smx_tree_max64) and its NaN flag, and the row's kind. */
float smx_row_max_scalar(size_t n, const float *x, int *nan);
float smx_row_max_elem(size_t n, const void *x, int e, int *nan);
/* the same, its 64 lane maxima left in lanes */
float smx_row_max_lanes_elem(size_t n, const void *x, int e, int *nan, float *lanes);
enum smx_row_kind smx_row_kind_of(float m, int nan);

#endif
