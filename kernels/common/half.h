/* bfloat16 and IEEE binary16: the portable conversions (integer arithmetic only, so no FP mode changes
   a bit) that define every 16-bit entry point: widen exactly, round to nearest even, one quiet NaN per type. */
#ifndef SMX_HALF_H
#define SMX_HALF_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SMX_BF16_QNAN 0x7fc0u
#define SMX_F16_QNAN 0x7e00u

static inline float smx_f32_of_bf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint16_t smx_bf16_of_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16; /* ties to even; overflow rounds to inf */
  return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? SMX_BF16_QNAN : r);
}
static inline float smx_f32_of_f16(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
  if (e == 0x1f) u = s | 0x7f800000u | (m << 13);                 /* inf, NaN */
  else if (e) u = s | ((e + 112) << 23) | (m << 13);              /* normal */
  else if (m) {                                                   /* subnormal: m 2^-24, exact */
    int k = 0;
    while (!(m & 0x400u)) m <<= 1, k++;
    u = s | ((uint32_t)(113 - k) << 23) | ((m & 0x3ffu) << 13);
  } else u = s;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint16_t smx_f16_of_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  const uint32_t s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return SMX_F16_QNAN;
  if (a >= 0x477ff000u) return (uint16_t)(s | 0x7c00u); /* >= 65520 rounds to inf (also inf) */
  if (a >= 0x38800000u) {                               /* normal f16: drop 13 bits, ties to even */
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u;
    return (uint16_t)(s | (r >> 13));
  }
  if (a < 0x33000000u) return (uint16_t)s; /* below half the smallest subnormal (2^-25): +-0 */
  /* subnormal f16: the value in units of 2^-24, rounded to nearest even */
  const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e; /* value = m 2^(e-150) */
  uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) q++;
  return (uint16_t)(s | q);
}

/* Tensors of float, bfloat16 or binary16 elements (e: SMX_ELEM_*, a constant in the specialized loops): element i
   widened, and v stored rounded; SMX_ELEM_CALL(e, f, args...) calls f(args..., e) with e a constant */
enum { SMX_ELEM_F32 = 0, SMX_ELEM_BF16 = 1, SMX_ELEM_F16 = 2 };
static inline float smx_elem_get(const void *p, size_t i, int e) {
  if (e == SMX_ELEM_F32) return ((const float *)p)[i];
  const uint16_t h = ((const uint16_t *)p)[i];
  return e == SMX_ELEM_BF16 ? smx_f32_of_bf16(h) : smx_f32_of_f16(h);
}
static inline const void *smx_elem_at(const void *p, size_t i, int e) { /* element i, as a pointer */
  return (const char *)p + i * (e == SMX_ELEM_F32 ? 4 : 2);
}
static inline void smx_elem_set(void *p, size_t i, float v, int e) {
  if (e == SMX_ELEM_F32) ((float *)p)[i] = v;
  else ((uint16_t *)p)[i] = e == SMX_ELEM_BF16 ? smx_bf16_of_f32(v) : smx_f16_of_f32(v);
}
#define SMX_ELEM_CALL(e, f, ...)                                                                          \
  ((e) == SMX_ELEM_F32 ? f(__VA_ARGS__, SMX_ELEM_F32) : (e) == SMX_ELEM_BF16 ? f(__VA_ARGS__, SMX_ELEM_BF16) \
                                                            : f(__VA_ARGS__, SMX_ELEM_F16))

/* The row loops are table pieces (kernels.h: widen16, narrow16): kernels/ref/convert.c with these
   functions, kernels/simd/convert.h vectorized with the same bits. */

#endif
