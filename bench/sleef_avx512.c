/* SLEEF 3-pass softmax, AVX-512 (compiled with the library's AVX-512 flags; called only when
   anchor_sleef_avx512_ok(), in baselines.c, says the CPU and OS support AVX-512 F/BW/DQ/VL). */
#include <immintrin.h>
#include <math.h>
#include <sleef.h>

#include "anchors.h"

static void row(size_t n, const float *x, float *y) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  __m512 m0 = ninf, m1 = ninf;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
  }
  for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
  __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
  if (tail) m1 = _mm512_max_ps(m1, _mm512_mask_loadu_ps(ninf, tail, x + i));
  const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)));

  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  for (i = 0; i + 32 <= n; i += 32) {
    __m512 e0 = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
    __m512 e1 = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vmax));
    _mm512_storeu_ps(y + i, e0);
    _mm512_storeu_ps(y + i + 16, e1);
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
  }
  for (; i + 16 <= n; i += 16) {
    __m512 e0 = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
    _mm512_storeu_ps(y + i, e0);
    s0 = _mm512_add_ps(s0, e0);
  }
  if (tail) {
    __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_mask_loadu_ps(ninf, tail, x + i), vmax));
    e = _mm512_maskz_mov_ps(tail, e);
    _mm512_mask_storeu_ps(y + i, tail, e);
    s1 = _mm512_add_ps(s1, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)));
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), inv));
  if (tail) _mm512_mask_storeu_ps(y + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + i), inv));
}

void anchor_sleef_softmax_avx512(size_t rows, size_t n, const float *x, float *y) {
  for (size_t r = 0; r < rows; r++) row(n, x + r * n, y + r * n);
}
