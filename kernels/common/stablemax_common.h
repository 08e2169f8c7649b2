/* Stablemax's shared numerics: s(x), the probability rule, the rare rows. */
#ifndef SMX_STABLEMAX_COMMON_H
#define SMX_STABLEMAX_COMMON_H

#include "rowstate.h"


/* ---- stablemax ---- s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0), in double: a row's s-sum S adds these in
   16 double lanes (entry i to lane i % 16), so S is accurate also where every s(x) is below FLT_MIN. */
static inline double smx_stable_s64(float x) {
  return x >= 0.0f ? (double)x + 1.0 : 1.0 / (1.0 - (double)x);
}
/* The row's constants from S in [SMX_STABLE_TINY, inf): c = 2^64 / S as a float pair (c_hi >= 2^-104
   normal; c_lo = 0 below 2^-100), their negations, ic ~ 1 / c_hi, and K = c_hi 2^63 (may be inf). */
typedef struct smx_stable_c {
  float ch, cl, nch, ncl, ic, K;
} smx_stable_c;
static inline void smx_stable_scale(double S, smx_stable_c *c) {
  double cd = 0x1p64 / S;
  c->ch = (float)cd;
  c->cl = c->ch >= 0x1p-100f ? (float)(cd - (double)c->ch) : 0.0f;
  c->nch = -c->ch, c->ncl = -c->cl, c->ic = 1.0f / c->ch, c->K = c->ch * 0x1p63f;
}
/* One probability s(x) / S = c s(x) 2^-64, formed negated (-p, so that every product is a plain FMA) and
   rounded once from a value accurate to ~2^-45 (so never above 1, exactly 1 for one entry):
   x >= 0: -p = -(bh + bl)(c_hi + c_lo); x < 0: -p = c / (bh + bl): nq = -c_hi / bh, the remainder
   rho = c_hi + nq bh (exact), t = rho + c_lo + nq bl, -p = nq + t nq / c_hi. bh >= K gives p < 2^-63 (flushed):
   there the division sees K (and bl 0), so no quotient is subnormal. +0 below FLT_MIN, decided on p 2^64
   before the scaling. */
static inline float smx_stable_p(float x, const smx_stable_c *c) {
  float a = fabsf(x), big = a > 1.0f ? a : 1.0f, sml = 1.0f < a ? 1.0f : a;
  float bh = big + sml, bl = sml - (bh - big);
  float pp = fmaf(bh, c->nch, fmaf(bl, c->nch, bh * c->ncl));
  int in = bh < c->K;
  float bc = in ? bh : c->K, blc = in ? bl : 0.0f;
  float nq = c->nch / bc, rho = fmaf(nq, bc, c->ch), t = fmaf(nq, blc, rho + c->cl);
  float pn = fmaf(t * c->ic, nq, nq);
  float p = x >= 0.0f ? pp : pn;
  return (-0x1p-62f >= p ? p : -0.0f) * -0x1p-64f; /* the product is never subnormal */
}
/* ---- log s(x) without a double log per entry ----
   For finite x: log s(x) = sign(x) log b, b = bh + bl = 1 + |x| (Fast2Sum), bh = 2^k m with m in
   [sqrt(1/2), sqrt(2)) (bit fields), f = m - 1 exact, log b = k ln2 + f + c with
   c = log1p(f) - f + bl / bh = -f u + 2 u^3 (1/3 + u^2/5 + u^4/7 + u^6/9) + bl / bh, u = f / (2 + f)
   (series error < 2^-30; c is at most 0.09, so its float rounding is below 2^-27).
   Returns k' = sign k and sets *fp = sign f, *cp = sign c; bl / bh uses min(bh, 2^100) (negligible beyond). */
#define SMX_SQRT_HALF_BITS 0x3f3504f3u /* sqrt(1/2) */
#define SMX_LN2_HI13 0x1.62ep-1f      /* 13 significant bits: k' SMX_LN2_HI13 is exact for |k'| <= 128 */
#define SMX_LN2_LO13 0x1.0bfbe8p-15f  /* ln 2 - SMX_LN2_HI13 */
#define SMX_LN2_D 0x1.62e42fefa39efp-1
#define SMX_LOGS_C9 (-0x1.c71c72p-3f) /* -2/9, -2/7, -2/5, -2/3: the series' coefficients, negated */
#define SMX_LOGS_C7 (-0x1.24924ap-2f)
#define SMX_LOGS_C5 (-0x1.99999ap-2f)
#define SMX_LOGS_C3 (-0x1.555556p-1f)
static inline float smx_log_stable_parts(float x, float *fp, float *cp) {
  float a = fabsf(x), big = a > 1.0f ? a : 1.0f, sml = 1.0f < a ? 1.0f : a;
  float bh = big + sml, bl = sml - (bh - big);
  uint32_t ub = smx_f2u(bh) - SMX_SQRT_HALF_BITS; /* bh = 2^k m, m in [sqrt(1/2), sqrt(2)) */
  float k = (float)(int32_t)(ub >> 23), m = smx_u2f((ub & 0x007fffffu) + SMX_SQRT_HALF_BITS);
  float f = m - 1.0f, nu = f / (-2.0f - f), s2 = nu * nu, w = nu * s2; /* nu = -u, w = -u^3 */
  float q = fmaf(fmaf(fmaf(SMX_LOGS_C9, s2, SMX_LOGS_C7), s2, SMX_LOGS_C5), s2, SMX_LOGS_C3);
  float c = fmaf(f, nu, w * q) + bl / (bh < 0x1p100f ? bh : 0x1p100f);
  float sg = smx_u2f(smx_f2u(1.0f) | (smx_f2u(x) & 0x80000000u));
  *fp = f * sg, *cp = c * sg;
  return k * sg;
}
/* log s(x) in double from the parts, -inf at -inf (the cross-entropy's label-smoothing sums, every ISA in this order) */
static inline double smx_log_stable64(float x) {
  float fp, cp, kp = smx_log_stable_parts(x, &fp, &cp);
  return x == -INFINITY ? -INFINITY : ((double)kp * SMX_LN2_D + (double)fp) + (double)cp;
}
/* log(s(x) / S) for a finite x that is not the row max (so |result| >= ln 2), with L = log S given as
   nlh = -L_hi (L rounded to a multiple of 2^-13) and ll = L - L_hi: f' = fh + fl with fh a multiple of 2^-13
   (|fl| <= 2^-14), so that A = k' ln2_hi - L_hi + fh is exact (a multiple of 2^-13 below 2^9), and the
   result is A + (fl + k' ln2_lo + c' - ll), rounded once. */
static inline void smx_log_stable_L(double L, float *nlh, float *ll) {
  double lh = (L * 0x1p13 + 0x1.8p52 - 0x1.8p52) * 0x1p-13;
  *nlh = (float)-lh, *ll = (float)(L - lh);
}
static inline float smx_log_stable_y(float x, float nlh, float ll) {
  float fp, cp, kp = smx_log_stable_parts(x, &fp, &cp);
  float fh = (fp + 0x1.8p10f) - 0x1.8p10f, fl = fp - fh;
  float A = fmaf(kp, SMX_LN2_HI13, nlh + fh);
  return A + (fl + fmaf(kp, SMX_LN2_LO13, cp - ll));
}
#define SMX_STABLE_TINY 0x1p-60
/* Stablemax rows whose lane sum S_lanes is not in [SMX_STABLE_TINY, inf): NaN, +inf and all -inf rows (their kind
   from S_lanes, smx_stable_kind) by the special rule, rows of logits all below about -2^60 in double per entry;
   the same for every ISA. */
void smx_stablemax_rare_row(size_t n, const void *x, void *y, double S_lanes, int e);
/* A row's kind from its s-sum S, in any summation order (the same as smx_row_kind_of from its max and NaN flag):
   NaN iff an entry is NaN, +inf iff one is +inf (and none NaN), 0 iff every entry is -inf (s(z) >= 2^-128.1 for a
   finite z), else finite (also below SMX_STABLE_TINY). With a softcap no capped logit is infinite. */
static inline enum smx_row_kind smx_stable_kind(double S) {
  return S != S ? SMX_ROW_NAN : S == INFINITY ? SMX_ROW_POSINF : S == 0.0 ? SMX_ROW_ALLNEGINF : SMX_ROW_FINITE;
}
/* A finite log-stablemax row's constants from its max m, the count K of entries equal to it and the s-sum O of the
   others: top (the value of those entries) = -(log K + log1p(O / (K s(m)))) and smx_log_stable_L's parts of
   log S, S = K s(m) + O (the SIMD kernels take the same operations for 8 rows at once) */
static inline void smx_log_stable_consts(float m, double K, double O, float *top, float *nlh, float *ll) {
  const double sm = smx_stable_s64(m), S = K * sm + O;
  *top = smx_flush((float)-(smx_log64(K) + smx_log1p64(O / (K * sm))));
  smx_log_stable_L(smx_log64(S), nlh, ll);
}

/* Stablemax probability in the tiny-sum regime (S < SMX_STABLE_TINY), in double. */
static inline float smx_stable_p_tiny(float x, double S) {
  double p = smx_stable_s64(x) / S;
  return p >= 0x1p-126 ? (float)p : 0.0f;
}

/* The probability constants of a row (x, y of element e) whose s-sum is S; 0 when the row is rare (then written
   by smx_stablemax_rare_row). */
static inline int smx_stablemax_begin(size_t n, const void *x, void *y, double S, smx_stable_c *c, int e) {
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y, S, e);
    return 0;
  }
  smx_stable_scale(S, c);
  return 1;
}

#endif
