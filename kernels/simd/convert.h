/* The 16-bit conversions written once over an ISA vocabulary: bfloat16 / binary16 values widened exactly and
   floats rounded to nearest even, one quiet NaN per type: the bits of kernels/common/half.h's definitions. */
#include "half.h"
#include "isa/vmath.h"

/* h: 16-bit patterns in the lanes' low bits */
static inline vf widen_bf16(vf h) { return vbits_shl(h, 16); }
static inline vf widen_f16(vf h) {
  const vf s = vbits_shl(vbits_and(h, 0x8000u), 16), em = vbits_and(h, 0x7fffu);
  vf u = vbits_add(vbits_shl(em, 13), vbits_k(0x38000000u));              /* normal: the exponent rebiased */
  u = vsel(vbits_ge(em, 0x7c00), vbits_add(u, vbits_k(0x38000000u)), u);   /* inf, NaN: exponent 255 */
  u = vsel(vbits_ge(em, 0x400), u, vmul(vbits_float(em), vset(0x1p-24f))); /* zero, subnormal: em 2^-24, exact */
  return vbits_or(u, s);
}
static inline vf narrow_bf16(vf v) {
  const vf r = vbits_shr(vbits_add(vbits_add(v, vbits_k(0x7fffu)), vbits_and(vbits_shr(v, 16), 1u)), 16);
  return vsel(vnan(v), vbits_k(SMX_BF16_QNAN), r);
}
/* Subnormal f16 results (|v| < 2^-14): bits(|v| + 0.5) - bits(0.5) is |v| 2^24 rounded to nearest even (the
   ulp of 0.5 is 2^-24; every call runs in round-to-nearest without FTZ/DAZ), 0 below 2^-25 and 0x400 where
   it rounds up to the smallest normal: the portable definition's q. */
static inline vf narrow_f16(vf v) {
  const vf a = vabs(v), s = vbits_and(vbits_shr(v, 16), 0x8000u);
  vf r = vbits_shr(vbits_add(vbits_add(a, vbits_k(0xfffu - 0x38000000u)), vbits_and(vbits_shr(a, 13), 1u)), 13);
  r = vsel(vbits_ge(a, 0x38800000), r, vbits_add(vadd(a, vset(0.5f)), vbits_k(0u - 0x3f000000u)));
  r = vsel(vbits_ge(a, 0x477ff000), vbits_k(0x7c00u), r); /* >= 65520 (also inf): inf */
  return vsel(vnan(v), vbits_k(SMX_F16_QNAN), vbits_or(r, s));
}

/* whole steps two at a time, then the tail */
#define CONVERT_LOOP(LOAD, OP, STORE)                                                            \
  do {                                                                                           \
    size_t i = 0;                                                                                \
    for (; i + 2 * VW <= n; i += 2 * VW) {                                                       \
      const vf a0 = OP(LOAD(i, VW)), a1 = OP(LOAD(i + VW, VW));                                  \
      STORE(i, a0, VW), STORE(i + VW, a1, VW);                                                   \
    }                                                                                            \
    for (; i < n; i += VW) STORE(i, OP(LOAD(i, step_count(n, i))), step_count(n, i));            \
  } while (0)
#define LOAD16(i, c) vld16_n(s + (i), c)
#define STORE32(i, v, c) vst_n(d + (i), v, c)
#define LOAD32(i, c) vld_n(s + (i), c, 0.0f)
#define STORE16(i, v, c) vst16_n(d + (i), v, c)
void FN(widen16)(int bf16, size_t n, const uint16_t *s, float *d) {
  if (bf16) CONVERT_LOOP(LOAD16, widen_bf16, STORE32);
  else CONVERT_LOOP(LOAD16, widen_f16, STORE32);
}
void FN(narrow16)(int bf16, size_t n, const float *s, uint16_t *d) {
  if (bf16) CONVERT_LOOP(LOAD32, narrow_bf16, STORE16);
  else CONVERT_LOOP(LOAD32, narrow_f16, STORE16);
}
