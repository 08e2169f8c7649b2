/* Internal contract shared by every ISA: constants, the exp polynomial, lane layout, kernel table. */
#ifndef SMX_INTERNAL_H
#define SMX_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "simdmax.h"

/* ---- Lane layout (the same in every ISA; see README "numerics") ----
   Float sums: 64 virtual lanes, element i of a block goes to lane i % 64, sequentially.
   A row is cut into blocks of SMX_BLOCK elements; each block's 64 float lanes are converted
   to double and combined by the tree lane[i] += lane[i + h], h = 32, 16, 8, 4, 2, 1.
   Double sums (stablemax, sums of logits): 16 double lanes, element i goes to lane i % 16 over
   the whole row, combined by the tree h = 8, 4, 2, 1. Maxima: 64 lanes, same tree. */
#define SMX_LANES 64
#define SMX_BLOCK 1024
#define SMX_DLANES 16

/* ---- exp: one polynomial for every ISA ----
   exp(x - c_hi - c_lo) for x - c_hi <= 88: d = x - c_hi split exactly by TwoSum into d + lo,
   n = round(d * log2 e) by the magic-bias addition, r = d - n ln2 (two-constant Cody-Waite,
   the first step exact), r += lo - c_lo, exp(r) = 1 + r p(r) with p of degree 5 (minimax,
   max relative error 2^-28.9 on [-0.3471, 0.3471]), 2^n added to the exponent bits.
   d < SMX_EXP_CUT (also -inf and NaN) gives +0: exp(-87.336) = 1.0005 FLT_MIN, so no result
   is ever subnormal and the exponent addition never underflows. */
#define SMX_EXP_CUT (-0x1.5d5810p+6f) /* -87.336 */
#define SMX_EXP_MAX 88.0f             /* largest d the exponent addition handles */
#define SMX_LOG2E 0x1.715476p+0f
#define SMX_MAGIC 0x1.8p23f
#define SMX_LN2_HI 0x1.62e430p-1f
#define SMX_LN2_LO (-0x1.05c610p-29f)
#define SMX_EXP_C2 0x1.fffffcp-2f
#define SMX_EXP_C3 0x1.555418p-3f
#define SMX_EXP_C4 0x1.555826p-5f
#define SMX_EXP_C5 0x1.126888p-7f
#define SMX_EXP_C6 0x1.6ae63cp-10f

/* The row pass sums exp(x - m_b) * 2^64: the same operations with the magic constant raised by 64
   (so 2^(n+64) is added to the exponent bits), cut where exp(d) 2^64 = 1.0005 FLT_MIN. Terms down
   to e^-131.7 stay normal, so a log-sum-exp near 0 (1 + R with R ~ 1e-38) keeps its accuracy. */
#define SMX_SUM_MAGIC 0x1.80008p23f      /* SMX_MAGIC + 64 */
#define SMX_SUM_CUT (-0x1.076514p+7f)    /* -131.697 = SMX_EXP_CUT - 64 ln 2 */
#define SMX_SUM_UNSCALE 0x1p-64

#define SMX_QNAN_BITS 0x7fc00000u

static inline uint32_t smx_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float smx_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline float smx_qnan(void) { return smx_u2f(SMX_QNAN_BITS); }

/* d + lo = x - c exactly (TwoSum of x and -c). */
static inline float smx_two_diff(float x, float c, float *lo) {
  float d = x - c;
  float bb = d - x;
  *lo = (x - (d - bb)) + (-c - bb);
  return d;
}

/* The reduction every exp here shares: t = fma(d, log2 e, magic) (its low bits hold n, the magic
   constant may carry an exponent offset), r = d - n ln2 by two-constant Cody-Waite (first step exact). */
static inline float smx_exp_arg(float d, float magic, float *t) {
  *t = fmaf(d, SMX_LOG2E, magic);
  float nf = *t - magic;
  float r = fmaf(nf, -SMX_LN2_HI, d); /* exact */
  return fmaf(nf, -SMX_LN2_LO, r);
}
/* q(r) with exp(r) = 1 + r q(r): the minimax polynomial (max relative error 2^-28.9 on [-0.3471, 0.3471]). */
static inline float smx_exp_q(float r) {
  float p = SMX_EXP_C6;
  p = fmaf(p, r, SMX_EXP_C5);
  p = fmaf(p, r, SMX_EXP_C4);
  p = fmaf(p, r, SMX_EXP_C3);
  p = fmaf(p, r, SMX_EXP_C2);
  p = fmaf(p, r, 1.0f);
  return p;
}

/* exp(d + lo) for d = the rounded argument: n = round(d log2 e) from the magic constant (its low
   bits hold n + (magic - SMX_MAGIC)), r = d - n ln2 + lo, exp(r) = 1 + r p(r), 2^n added to the
   exponent bits; d < cut gives +0. Every ISA implements exactly these operations in this order. */
static inline float smx_exp_reduced(float d, float lo, float magic, float cut) {
  float t, r = smx_exp_arg(d, magic, &t) + lo;
  float p = fmaf(smx_exp_q(r), r, 1.0f);
  uint32_t e = smx_f2u(p) + (smx_f2u(t) << 23);
  return d >= cut ? smx_u2f(e) : 0.0f;
}

/* The reference exp(x - c_hi - c_lo). */
static inline float smx_exp_core(float x, float c_hi, float c_lo) {
  float lo, d = smx_two_diff(x, c_hi, &lo);
  return smx_exp_reduced(d, lo - c_lo, SMX_MAGIC, SMX_EXP_CUT);
}

/* exp(x - m) 2^64 for the row pass (m the block max, x <= m): smx_exp_core(x, m, 0) with the
   exponent raised by 64 and the cut lowered to match; x - 0 == x, so c_lo drops out exactly. */
static inline float smx_exp_sum(float x, float m) {
  float lo, d = smx_two_diff(x, m, &lo);
  return smx_exp_reduced(d, lo, SMX_SUM_MAGIC, SMX_SUM_CUT);
}

/* ---- the softmax family's exp with a power-of-two shift: x - max is never formed ----
   For a row (or running) max m with |m| <= SMX_SHIFT_MAX, K = smx_exp_k(m) = round(m log2 e). Then
   exp(x) 2^-kb for x <= m is p(r) 2^(n - kb), n = round(x log2 e), r = x - n ln2 (Cody-Waite, its first
   step exact): smx_exp_reduced's operations with d = x, lo = 0 and the magic constant lowered by kb,
   so that bits(t) = bits(SMX_MAGIC) + n - kb and 2^(n - kb) goes into the exponent bits. n does not
   depend on kb (x log2 e is never a tie for |x| < 2^22). The result is kept, else +0, when
   n - kb >= keep, i.e. when bits(t) >= bits(SMX_MAGIC) + keep as signed integers (that also drops
   x = -inf and every x so far below m that t leaves the magic binade); keep >= -125 never gives a
   subnormal. p(r) lies in [0.69, 1.46], so results are below 1.46 * 2^-(K - kb). */
#define SMX_SHIFT_MAX 0x1p16f
#define SMX_MAGIC_BITS 0x4b400000
/* the row pass: kb = K - 64, kept down to n - K = -189 (e^-131), as smx_exp_sum */
#define SMX_SUM_BIAS 64
#define SMX_KEEP_SUM (SMX_MAGIC_BITS - 125)
/* the softmax output: kb = K - 100, kept down to n - K = -160 (see smx_softmax_one) */
#define SMX_OUT_BIAS 100
#define SMX_KEEP_OUT (SMX_MAGIC_BITS - 60)
static inline int32_t smx_exp_k(float m) { return (int32_t)(fmaf(m, SMX_LOG2E, SMX_MAGIC) - SMX_MAGIC); }
static inline float smx_shift_magic(int32_t kb) { return SMX_MAGIC - (float)kb; }
static inline float smx_exp_shift(float x, float magic, int32_t keep_bits) {
  float t, r = smx_exp_arg(x, magic, &t);
  float p = fmaf(smx_exp_q(r), r, 1.0f);
  uint32_t e = smx_f2u(p) + (smx_f2u(t) << 23);
  return (int32_t)smx_f2u(t) >= keep_bits ? smx_u2f(e) : 0.0f;
}

/* ---- double helpers used once per block or per row by every ISA (kernels/common/dmath.c);
   plain IEEE double arithmetic with no libm, so they give the same bits on every CPU. ---- */
double smx_exp64(double x);    /* x <= 709; 0 below -600 (never subnormal) */
double smx_log64(double x);    /* x > 0 normal */
extern const double SMX_LOG_C[13]; /* smx_log64's series, for its vector copies */
double smx_log1p64(double x);  /* x > -1 */
double smx_expm1_64(double x); /* x <= 709 */
double smx_exp64_shifted(double x, int32_t k); /* exp(x - k ln2), k * ln2 taken exactly; |k| < 2^21 */
double smx_pow2(int32_t k);                    /* 2^k, 0 below 2^-1022, inf above 2^1023 */

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
/* Rows with NaN, +inf entries or only -inf (the header's rules), for every normalizer. */
void smx_special_row(enum smx_row_kind kind, size_t n, const float *x, float *y, int log_out);

/* c * v with 0 * inf = 0: a loss term whose coefficient is 0 (class weight 0, smoothing 1) vanishes. */
static inline double smx_times(double c, double v) { return c != 0.0 ? c * v : 0.0; }

/* The max of two floats as every ISA computes it: a > b ? a : b (NaN b is kept, NaN a dropped). */
static inline float smx_maxf(float a, float b) { return a > b ? a : b; }

/* ---- kernel table: one pointer per kernel, per row ---- */
typedef struct smx_xent_row {
  int64_t target;            /* in [0, n) */
  float label_smoothing;
  float z_loss;
  float softcap;
  const float *class_weight; /* NULL or n weights */
  double weight_sum;         /* sum of class_weight, or n */
  double grad_coef;          /* multiplies this row's gradient (grad_scale / mean denominator) */
} smx_xent_row;

typedef struct smx_kernels {
  void (*softmax)(size_t n, const float *x, float *y);
  void (*log_softmax)(size_t n, const float *x, float *y);
  float (*logsumexp)(size_t n, const float *x);
  void (*softmax_backward)(size_t n, const float *y, const float *dy, float *dx);
  void (*log_softmax_backward)(size_t n, const float *y, const float *dy, float *dx);
  void (*sparsemax)(size_t n, const float *x, float *y);
  void (*sparsemax_backward)(size_t n, const float *y, const float *dy, float *dx);
  void (*stablemax)(size_t n, const float *x, float *y);
  void (*log_stablemax)(size_t n, const float *x, float *y);
  void (*stablemax_backward)(size_t n, const float *x, const float *y, const float *dy, float *dx);
  /* Fused cross-entropy of one row: returns the row loss; writes the gradient to dx unless
     dx is NULL (dx may equal x). One per normalizer. */
  double (*xent[3])(size_t n, const float *x, const smx_xent_row *row, float *dx);
} smx_kernels;

/* Softmax cross-entropy of a finite row from its state f, the (capped) target logit zt, its weight
   wt and sum_j w_j z_j (label smoothing): the row loss and the gradient coefficients
   dx_j = A p_j - (eps/n) w_j (j != t), dx_t = gt, before grad_coef and softcap (kernels/common/xent_terms.c). */
void smx_xent_softmax_terms(size_t n, const smx_lse_final *f, float zt, double wt, double sum_wz,
                            const smx_xent_row *row, double *loss, double *A, double *gt);

/* Stablemax cross-entropy loss of a finite row: s_t = s(zt), O the sum of the other s(z_j), S = O + s_t,
   sum_wlog_s = sum_j w_j log s(z_j) (used with label smoothing only). */
double smx_xent_stablemax_loss(size_t n, float zt, double st, double O, double S, double sum_wlog_s, double wt,
                               const smx_xent_row *row);
/* Loss of a softmax/stablemax row with +inf logits (p = pinf on them) or only -inf logits (p = 0):
   the formula with -log 0 = +inf and zero-coefficient terms vanishing (smx_times). */
double smx_xent_special_loss(size_t n, const float *x, const smx_xent_row *row, double wt, float pinf);
/* A row with +inf logits (POSINF) or only -inf ones: k = the +inf count, pinf = 1 / k (0 if none), the p of
   each +inf logit; returns p_t */
double smx_xent_special_p(size_t n, const float *x, const smx_xent_row *row, enum smx_row_kind kind, float *pinf,
                          double *k);
/* Stablemax cross-entropy loss of a non-NaN row of the given kind, with p_t (and pinf, the p of each +inf
   logit, 0 for finite rows) */
double smx_xent_stablemax_row(size_t n, const float *x, const smx_xent_row *row, enum smx_row_kind kind, float zt,
                              double st, double O, double S, double sum_wlog_s, double wt, double *pt, float *pinf);
/* Sparsemax cross-entropy (Fenchel-Young) loss of a finite row with max m: tau and p_t (relative to m)
   from the nc candidates z > lo in buf, or from the whole row x when they did not fit (nc > SMX_SPARSE_BUF);
   sum_z = sum of the logits (0 without label smoothing), qq = |q|^2 of the target distribution. */
double smx_xent_sparsemax_loss(size_t n, const float *x, const float *buf, size_t nc, float lo, float m, float zt,
                               double sum_z, double wt, double qq, const smx_xent_row *row, double *pt, double *tau);

void smx_kernels_scalar(smx_kernels *k);
void smx_kernels_avx2(smx_kernels *k);   /* override what the ISA implements */
void smx_kernels_avx512(smx_kernels *k);
void smx_kernels_neon(smx_kernels *k);

/* The active table (dispatch/dispatch.c). */
const smx_kernels *smx_active_kernels(void);
const smx_kernels *smx_kernels_for(smx_isa isa); /* NULL if unsupported */


/* ---- shared reference pieces (kernels/common/lanes.c, rowstate.c) ---- */
float smx_tree_max64(float *lanes);     /* lanes[i] = max(lanes[i], lanes[i+h]), h = 32..1 */
double smx_tree_sum64(const float *lanes); /* in double, same tree */
double smx_tree_sum16d(double *lanes);  /* h = 8..1 */

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

/* Block statistics of the softmax family for the scalar kernels (kernels/scalar/softmax_scalar.c). */
void smx_lse_row_scalar(size_t n, const float *x, smx_lse_final *f, int need_log);
void smx_lse_block_scalar(const float *x, size_t len, smx_lse *s); /* one block (len <= SMX_BLOCK) */
/* sum a_i b_i (b NULL: sum a_i) in 64 float lanes (fmaf) per block, blocks in double. */
double smx_blocked_dot_scalar(size_t n, const float *a, const float *b);

/* ---- stablemax ---- s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0), 0 where that is below FLT_MIN. */
static inline float smx_stable_s(float x) {
  float b = 1.0f - x;
  return x >= 0.0f ? x + 1.0f : (b > 0x1p126f ? 0.0f : 1.0f / b);
}
static inline double smx_stable_s64(float x) {
  return x >= 0.0f ? (double)x + 1.0 : 1.0 / (1.0 - (double)x);
}
/* One probability num / den with num = a c, den = b den_f, +0 when below FLT_MIN (never subnormal).
   c is 1, or 2^-64 for rows whose sum exceeds 2^100. */
static inline float smx_stable_p(float x, float c, float den_f) {
  float a = x >= 0.0f ? x + 1.0f : 1.0f;
  float b = x >= 0.0f ? 1.0f : 1.0f - x;
  float num = a * c, den = b * den_f;
  return num * 0x1p126f < den ? 0.0f : num / den;
}
#define SMX_STABLE_BIG 0x1p100
#define SMX_STABLE_TINY 0x1p-60
/* Stablemax rows whose sum is not in [SMX_STABLE_TINY, inf): NaN, +inf and all -inf rows by the
   special rule, rows of logits all below about -2^60 in double per entry; the same for every ISA. */
void smx_stablemax_rare_row(size_t n, const float *x, float *y);
/* The per-row constants of smx_stable_p from the double sum S (normal rows). */
static inline void smx_stable_scale(double S, float *c, float *den_f) {
  *c = S > SMX_STABLE_BIG ? 0x1p-64f : 1.0f;
  *den_f = (float)(S * (double)*c);
}

/* ---- sparsemax ---- */
#define SMX_SPARSE_BUF 1024 /* candidates kept on the stack; more are filtered from the row */
float smx_below_minus_one(float m); /* the largest float <= m - 1 */
/* Canonical threshold, relative to the row max m (so huge logits keep full precision): Michelot's
   iterations over the candidates v (entries > lo, index order) on v - m in double, sums in double
   in index order; returns tau - m. v may be the whole row (then the filter > lo applies); cap > 0
   softcaps each entry first (only the fused loss passes it, on the whole row). */
double smx_sparsemax_tau(const float *v, size_t nv, float lo, float m, float cap, size_t *k);
/* The output entry: d = (x - m) - tau_rel in double, rounded to float when d >= FLT_MIN, else +0. */
static inline float smx_sparse_p(float x, float m, double tau_rel) {
  double d = ((double)x - (double)m) - tau_rel;
  return d >= 0x1p-126 ? (float)d : 0.0f;
}

/* ---- softcap: z = cap tanh(x / cap) with a = |x / cap|, E = exp(-2a), e = E - 1:
   tanh(a) = -e / (2 + e), dz/dx = 1 - tanh^2 = 4 E / (2 + e)^2 (no cancellation near |tanh| = 1) ---- */
static inline float smx_expm1_neg(float v, float *ev) { /* v in [-86, 0]: expm1(v), *ev = exp(v) (normal) */
  float t, r = smx_exp_arg(v, SMX_MAGIC, &t);
  float rq = smx_exp_q(r) * r;
  float sc = smx_u2f(smx_f2u(1.0f) + (smx_f2u(t) << 23));
  *ev = fmaf(rq, sc, sc);
  return fmaf(rq, sc, sc - 1.0f);
}
static inline float smx_softcap(float x, float cap, float inv_cap, float *dz) {
  float u = x * inv_cap;
  float a = fabsf(u);
  float ac = a > 43.0f ? 43.0f : a; /* tanh(43) rounds to 1; exp(-86) is still normal */
  float E, e = smx_expm1_neg(-2.0f * ac, &E);
  float q = 2.0f + e;
  float th = -e / q;
  th = smx_u2f(smx_f2u(th) | (smx_f2u(u) & 0x80000000u));
  *dz = a > 43.0f ? 0.0f : (4.0f * E) / (q * q); /* below 2e-37 beyond: flushed */
  return cap * th;
}
/* Fenchel-Young term of the sparsemax loss in coordinates relative to m: sum over {v - m > tau_rel}
   of ((v - m)^2 - tau_rel^2) / 2, in index order. */
double smx_sparsemax_fy(const float *v, size_t nv, float m, double tau_rel, float cap);
/* Stablemax probability in the tiny-sum regime (S < SMX_STABLE_TINY), in double. */
static inline float smx_stable_p_tiny(float x, double S) {
  double p = smx_stable_s64(x) / S;
  return p >= 0x1p-126 ? (float)p : 0.0f;
}
float smx_row_max_scalar(size_t n, const float *x, int *nan); /* 64-lane max, NaN flag */
enum smx_row_kind smx_row_kind_of(float m, int nan);

#endif
