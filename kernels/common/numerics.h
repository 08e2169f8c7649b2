/* The numerics every implementation shares: lane layout, the exp polynomial and its scalar form, softcap, double helpers, lane trees. */
#ifndef SMX_NUMERICS_H
#define SMX_NUMERICS_H

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
#define SMX_LN2_HI64 0x1.62e42fee00000p-1 /* ln 2 in two parts, 32 significant bits: k * SMX_LN2_HI64 exact */
#define SMX_LN2_LO64 0x1.a39ef35793c76p-33
extern const double SMX_LOG_C[13];     /* smx_log64's series, for its vector copy */
extern const double SMX_INV_FACT[15];  /* 1 / (i + 2)!: smx_exp64's series, for its vector copy */
double smx_log1p64(double x);  /* x > -1 */
double smx_expm1_64(double x); /* x <= 709 */
double smx_exp64_shifted(double x, int32_t k); /* exp(x - k ln2), k * ln2 taken exactly; |k| < 2^21 */
double smx_pow2(int32_t k);                    /* 2^k, 0 below 2^-1022, inf above 2^1023 */

/* c * v with 0 * inf = 0: a loss term whose coefficient is 0 (class weight 0, smoothing 1) vanishes. */
static inline double smx_times(double c, double v) { return c != 0.0 ? c * v : 0.0; }

/* The FLT_MIN rule for results: a magnitude below FLT_MIN (also -0) gives +0; NaN is kept. */
#define SMX_FLT_MIN 0x1p-126f
static inline float smx_flush(float v) { return fabsf(v) < SMX_FLT_MIN ? 0.0f : v; }
/* A gradient entry as stored (the backward passes, the cross-entropies): the FLT_MIN rule, and one quiet NaN for
   every NaN. Their arithmetic makes NaNs from finite or infinite inputs (inf - inf, 0 x inf: dy near FLT_MAX or
   infinite, class weights near FLT_MAX), and such a NaN holds the CPU's default NaN: -NaN on x86, +NaN on AArch64. */
static inline float smx_flush_nan(float v) { return v != v ? smx_qnan() : smx_flush(v); }

/* A loss as stored (a row's, or a SUM / MEAN of rows), by the same rule: also a sum of rows with different NaNs
   keeps whichever its adds meet first, an order the compiler may swap. */
static inline float smx_loss_value(double v) { return smx_flush_nan((float)v); }

/* The max of two floats as every ISA computes it: a > b ? a : b (NaN b is kept, NaN a dropped). */
static inline float smx_maxf(float a, float b) { return a > b ? a : b; }

/* ---- shared reference pieces (kernels/common/lanes.c, rowstate.c) ---- */
float smx_tree_max64(const float *lanes); /* l[i] = max(l[i], l[i+h]), h = 32..1, on a copy */
double smx_tree_sum64(const float *lanes); /* in double, same tree */
double smx_tree_sum16d(const double *lanes);  /* h = 8..1 */

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

#endif
