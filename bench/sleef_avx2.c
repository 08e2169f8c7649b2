/* SLEEF 3-pass softmax, AVX2 (compiled with -mavx2 -mfma; called only when anchor_sleef_avx2_ok(),
   in baselines.c, says the CPU has AVX2 and FMA). */
#include <immintrin.h>
#include <math.h>
#include <sleef.h>

#include "anchors.h"

static __m256i tail_mask(size_t k) { /* lanes < k set */
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
static float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

static void row(size_t n, const float *x, float *y) {
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  __m256 m0 = ninf, m1 = ninf;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
  }
  for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
  size_t k = n - i;
  __m256i tm = tail_mask(k);
  if (k) m1 = _mm256_max_ps(m1, _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, tm), _mm256_castsi256_ps(tm)));
  const __m256 vmax = _mm256_set1_ps(hmax(_mm256_max_ps(m0, m1)));

  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    __m256 e0 = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    __m256 e1 = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmax));
    _mm256_storeu_ps(y + i, e0);
    _mm256_storeu_ps(y + i + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 e0 = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(y + i, e0);
    s0 = _mm256_add_ps(s0, e0);
  }
  if (k) {
    __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, tm), _mm256_castsi256_ps(tm));
    __m256 e = _mm256_and_ps(Sleef_expf8_u10avx2(_mm256_sub_ps(v, vmax)), _mm256_castsi256_ps(tm));
    _mm256_maskstore_ps(y + i, tm, e);
    s1 = _mm256_add_ps(s1, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum(_mm256_add_ps(s0, s1)));
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
  if (k) _mm256_maskstore_ps(y + i, tm, _mm256_mul_ps(_mm256_maskload_ps(y + i, tm), inv));
}

void anchor_sleef_softmax_avx2(size_t rows, size_t n, const float *x, float *y) {
  for (size_t r = 0; r < rows; r++) row(n, x + r * n, y + r * n);
}
