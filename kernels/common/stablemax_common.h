/* Stablemax's shared numerics: s(x), the probability rule, the rare rows. */
#ifndef SMX_STABLEMAX_COMMON_H
#define SMX_STABLEMAX_COMMON_H

#include "rowstate.h"


/* ---- stablemax ---- s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0), 0 where that is below FLT_MIN. */
static inline double smx_stable_s64(float x) {
  return x >= 0.0f ? (double)x + 1.0 : 1.0 / (1.0 - (double)x);
}
/* s(x) as an unevaluated pair hi + *lo, relative error ~2^-46: b = 1 + |x| exactly as a pair (Fast2Sum);
   x >= 0: s = b; x < 0: hi = 1 / b_hi and lo its Newton correction. s = 0 where b > 2^126 (s below
   FLT_MIN); lo = 0 where b >= 2^64 (so that no intermediate is subnormal). */
static inline float smx_stable_pair(float x, float *lo) {
  float a = fabsf(x), big = a > 1.0f ? a : 1.0f, sml = 1.0f < a ? 1.0f : a; /* NaN stays in sml */
  float bh = big + sml, bl = sml - (bh - big);
  if (x >= 0.0f) {
    *lo = bl;
    return bh;
  }
  float r = 1.0f / bh, e = fmaf(-r, bl, fmaf(-r, bh, 1.0f));
  *lo = bh < 0x1p64f ? r * e : 0.0f;
  return bh > 0x1p126f ? 0.0f : r;
}
/* The row's constant: 2^64 / S as a float pair (S in [SMX_STABLE_TINY, inf): c_hi >= 2^-104 normal). */
static inline void smx_stable_scale(double S, float *c_hi, float *c_lo) {
  double c = 0x1p64 / S;
  *c_hi = (float)c;
  *c_lo = *c_hi >= 0x1p-100f ? (float)(c - (double)*c_hi) : 0.0f;
}
/* One probability s / S = (hi + lo)(c_hi + c_lo) 2^-64, one rounding of a value accurate to ~2^-45 (so never
   above 1, exactly 1 for one entry); +0 below FLT_MIN, decided on p 2^64 (never subnormal). */
static inline float smx_stable_p(float hi, float lo, float c_hi, float c_lo) {
  float t = hi * c_hi, e = fmaf(hi, c_hi, -t);
  float p = t + fmaf(hi, c_lo, fmaf(lo, c_hi, e));
  return p >= 0x1p-62f ? p * 0x1p-64f : 0.0f;
}
#define SMX_STABLE_TINY 0x1p-60
/* Stablemax rows whose sum is not in [SMX_STABLE_TINY, inf): NaN, +inf and all -inf rows by the
   special rule, rows of logits all below about -2^60 in double per entry; the same for every ISA. */
void smx_stablemax_rare_row(size_t n, const float *x, float *y);

/* Stablemax probability in the tiny-sum regime (S < SMX_STABLE_TINY), in double. */
static inline float smx_stable_p_tiny(float x, double S) {
  double p = smx_stable_s64(x) / S;
  return p >= 0x1p-126 ? (float)p : 0.0f;
}

/* The probability constants of a row whose s-sum is S; 0 when the row is rare (then written by
   smx_stablemax_rare_row). */
static inline int smx_stablemax_begin(size_t n, const float *x, float *y, double S, float *c_hi, float *c_lo) {
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y);
    return 0;
  }
  smx_stable_scale(S, c_hi, c_lo);
  return 1;
}

#endif
