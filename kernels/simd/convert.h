/* The 16-bit array conversions over an ISA vocabulary (the conversions themselves: vmath.h): bfloat16 / binary16
   values widened exactly and floats rounded to nearest even, one quiet NaN per type: the bits of
   kernels/common/half.h's definitions. */
#include "isa/vmath.h"

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
#define LOAD16HI(i, c) vld16hi_n(s + (i), c)
#define STORE32(i, v, c) vst_n(d + (i), v, c)
#define LOAD32(i, c) vld_n(s + (i), c, 0.0f)
#define STOREBF16(i, v, c) vst_bf16_n(d + (i), v, c)
#define LOADF16(i, c) vld_f16_n(s + (i), c)
#define STOREF16(i, v, c) vst_f16_n(d + (i), v, c)
#define SAME(v) (v)
void FN(widen16)(int bf16, size_t n, const uint16_t *s, float *d) {
  if (bf16) CONVERT_LOOP(LOAD16HI, SAME, STORE32);
  else CONVERT_LOOP(LOADF16, SAME, STORE32);
}
void FN(narrow16)(int bf16, size_t n, const float *s, uint16_t *d) {
  if (bf16) CONVERT_LOOP(LOAD32, SAME, STOREBF16);
  else CONVERT_LOOP(LOAD32, SAME, STOREF16);
}
