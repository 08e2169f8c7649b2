/* Stablemax's shared numerics: s(x), the probability rule, the rare rows. */
#ifndef SMX_STABLEMAX_COMMON_H
#define SMX_STABLEMAX_COMMON_H

#include "rowstate.h"


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

/* Stablemax probability in the tiny-sum regime (S < SMX_STABLE_TINY), in double. */
static inline float smx_stable_p_tiny(float x, double S) {
  double p = smx_stable_s64(x) / S;
  return p >= 0x1p-126 ? (float)p : 0.0f;
}

/* The probability constants of a row whose s-sum is S; 0 when the row is rare (then written by
   smx_stablemax_rare_row). */
static inline int smx_stablemax_begin(size_t n, const float *x, float *y, double S, float *c, float *den) {
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y);
    return 0;
  }
  smx_stable_scale(S, c, den);
  return 1;
}

#endif
