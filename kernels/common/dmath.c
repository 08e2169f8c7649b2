/* Double-precision exp, log, log1p, expm1 in plain IEEE arithmetic: same bits on every CPU. */
#include "smx_internal.h"

static double pow2i(int k) { /* 2^k for -1022 <= k <= 1023 */
  uint64_t u = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &u, 8);
  return d;
}

#define LN2_HI SMX_LN2_HI64
#define LN2_LO SMX_LN2_LO64

/* c[0] + c[1] x + ... + c[12] x^12 by Estrin's scheme: a dependency chain of 5 multiply-adds instead
   of Horner's 12 (the per-row double math is a fixed cost of every row). Its vector copy, dpoly13 in
   kernels/isa/vmath.h, does the same operations. */
static double poly13(double x, const double c[13]) {
  double x2 = x * x, x4 = x2 * x2, x8 = x4 * x4;
  double a0 = c[0] + c[1] * x, a1 = c[2] + c[3] * x, a2 = c[4] + c[5] * x;
  double a3 = c[6] + c[7] * x, a4 = c[8] + c[9] * x, a5 = c[10] + c[11] * x;
  double b0 = a0 + a1 * x2, b1 = a2 + a3 * x2, b2 = a4 + a5 * x2;
  return (b0 + b1 * x4) + (b2 + c[12] * x4) * x8;
}

/* 1 / (i + 2)!: exp(r) = 1 + (r + r^2 poly13(r)), Taylor to r^14 / 14!: error < 2^-64 for |r| <= 0.347
   (r and 1 added last, so the polynomial's own rounding is scaled down by r^2); expm1 uses all 15 */
const double SMX_INV_FACT[15] = {1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                                    1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
                                    1.0 / 6227020800.0, 1.0 / 87178291200.0, 1.0 / 1307674368000.0,
                                    1.0 / 20922789888000.0};

double smx_exp64(double x) {
  if (x != x) return x;
  if (x < -600.0) return 0.0;
  if (x > 709.0) return HUGE_VAL;
  double kd = x * 0x1.71547652b82fep0;
  int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
  double r = (x - k * LN2_HI) - k * LN2_LO; /* |r| <= 0.347 */
  return (1.0 + (r + r * r * poly13(r, SMX_INV_FACT))) * pow2i(k);
}

double smx_pow2(int32_t k) { return k < -1022 ? 0.0 : k > 1023 ? HUGE_VAL : pow2i(k); }

double smx_exp64_shifted(double x, int32_t k) {
  double a = (x - k * LN2_HI) - k * LN2_LO; /* k * LN2_HI exact for |k| < 2^21 */
  return smx_exp64(a);
}

double smx_expm1_64(double x) {
  if (!(x > -0.34 && x < 0.34)) return smx_exp64(x) - 1.0;
  double p = 1.0 / 355687428096000.0; /* x + x^2/2! + ... + x^17/17! */
  for (int i = 14; i >= 0; i--) p = p * x + SMX_INV_FACT[i];
  return p * x * x + x;
}

/* 2 / (2 i + 3): log m = f (2 + s poly13(s)), atanh's series to s^13 (error < 2^-70 for s <= 0.0295) */
const double SMX_LOG_C[13] = {2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15,
                              2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23, 2.0 / 25, 2.0 / 27};

double smx_log64(double x) {
  if (x == 1.0) return 0.0; /* what the formula gives, without its cost (a row's tie count is mostly 1) */
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
  double f = (m - 1.0) / (m + 1.0), s = f * f;              /* log m = 2 atanh f = f (2 + s poly13(s)) */
  return k * LN2_HI + (f * (2.0 + s * poly13(s, SMX_LOG_C)) + k * LN2_LO);
}

double smx_log1p64(double x) {
  double u = 1.0 + x;
  if (u == 1.0) return x;
  if (u == HUGE_VAL) return u;
  return smx_log64(u) * (x / (u - 1.0)); /* corrects the rounding of 1 + x */
}
