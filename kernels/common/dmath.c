/* Double-precision exp, log, log1p, expm1 in plain IEEE arithmetic: same bits on every CPU. */
#include "smx_internal.h"

static double pow2i(int k) { /* 2^k for -1022 <= k <= 1023 */
  uint64_t u = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &u, 8);
  return d;
}

static const double LN2_HI = 0x1.62e42fee00000p-1; /* 32 significant bits: k * LN2_HI exact */
static const double LN2_LO = 0x1.a39ef35793c76p-33;

double smx_exp64(double x) {
  if (x != x) return x;
  if (x < -600.0) return 0.0;
  if (x > 709.0) return HUGE_VAL;
  double kd = x * 0x1.71547652b82fep0;
  int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
  double r = (x - k * LN2_HI) - k * LN2_LO; /* |r| <= 0.347 */
  double p = 1.0 / 6227020800.0;            /* Taylor to r^13 / 13!: error < 2^-60 */
  static const double inv_fact[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                                    1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
                                    1.0 / 6.0, 0.5, 1.0, 1.0};
  for (int i = 0; i < 13; i++) p = p * r + inv_fact[i];
  return p * pow2i(k);
}

double smx_pow2(int32_t k) { return k < -1022 ? 0.0 : k > 1023 ? HUGE_VAL : pow2i(k); }

double smx_exp64_shifted(double x, int32_t k) {
  double a = (x - k * LN2_HI) - k * LN2_LO; /* k * LN2_HI exact for |k| < 2^21 */
  return smx_exp64(a);
}

double smx_expm1_64(double x) {
  if (!(x > -0.34 && x < 0.34)) return smx_exp64(x) - 1.0;
  double p = 1.0 / 355687428096000.0; /* x + x^2/2! + ... + x^17/17! */
  for (int i = 16; i >= 2; i--) {
    double f = 1.0;
    for (int j = 2; j <= i; j++) f *= j;
    p = p * x + 1.0 / f;
  }
  return p * x * x + x;
}

double smx_log64(double x) {
  if (x != x || x < 0) return NAN;
  if (x == 0) return -HUGE_VAL;
  if (x == HUGE_VAL) return x;
  uint64_t u;
  memcpy(&u, &x, 8);
  int k = (int)((u >> 52) & 0x7ff) - 1023;
  u = (u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
  double m;
  memcpy(&m, &u, 8);
  if (m > 0x1.6a09e667f3bcdp0) { m *= 0.5; k += 1; }       /* m in [sqrt(1/2), sqrt(2)) */
  double f = (m - 1.0) / (m + 1.0), s = f * f;              /* log m = 2 atanh f */
  double p = 2.0 / 25.0;
  for (int i = 11; i >= 0; i--) p = p * s + 2.0 / (2 * i + 1);
  return k * LN2_HI + (f * p + k * LN2_LO);
}

double smx_log1p64(double x) {
  double u = 1.0 + x;
  if (u == 1.0) return x;
  if (u == HUGE_VAL) return u;
  return smx_log64(u) * (x / (u - 1.0)); /* corrects the rounding of 1 + x */
}
