/* Plain-C baselines (no ISA flags on this file): the sort-based sparsemax, the memory-bandwidth
   loops (AVX-512 / AVX2 versions through function target attributes, chosen at run time, plain C
   otherwise) and the CPU checks that guard the SLEEF files compiled with ISA flags. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anchors.h"

#if defined(__x86_64__) || defined(__i386__)
#define SMX_BENCH_X86 1
#include <immintrin.h>
#endif

int anchor_sleef_avx512_ok(void) {
#ifdef SMX_BENCH_X86
  __builtin_cpu_init(); /* libgcc's checks include the OS (XCR0) support for the registers */
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

int anchor_sleef_avx2_ok(void) {
#ifdef SMX_BENCH_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

static int desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x < y) - (x > y);
}

/* Martins & Astudillo, Algorithm 1: sort z descending, k = max{k : 1 + k z_k > sum_{j<=k} z_j},
   tau = (sum_{j<=k} z_j - 1) / k (sums in double). */
void anchor_sparsemax_sort(size_t rows, size_t n, const float *x, float *y, float *z) {
  for (size_t r = 0; r < rows; r++, x += n, y += n) {
    memcpy(z, x, n * sizeof *z);
    qsort(z, n, sizeof *z, desc);
    double cum = 0.0, cum_k = z[0];
    size_t k = 1;
    for (size_t j = 0; j < n; j++) {
      cum += z[j];
      if (1.0 + (double)(j + 1) * z[j] > cum) { k = j + 1; cum_k = cum; }
      else break; /* the condition holds exactly for j < k(z) */
    }
    float tau = (float)((cum_k - 1.0) / (double)k);
    for (size_t j = 0; j < n; j++) y[j] = x[j] > tau ? x[j] - tau : 0.0f;
  }
}

/* ---- memory bandwidth: 8 independent vector accumulators (enough to keep two loads per cycle
   in flight from L1), ordinary unaligned loads and stores, masked tails. ---- */

static float read_c(size_t count, const float *x) {
  float s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (int j = 0; j < 8; j++) s[j] += x[i + j];
  for (; i < count; i++) s[0] += x[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void copy_c(size_t count, const float *x, float *y) {
  /* A plain loop; this file is built with -fno-tree-loop-distribute-patterns so
     it is not turned into a memcpy call (which may use non-temporal stores). */
  for (size_t i = 0; i < count; i++) y[i] = x[i];
}

#ifdef SMX_BENCH_X86
__attribute__((target("avx512f"))) static float read_avx512(size_t count, const float *x) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  size_t i = 0;
  for (; i + 128 <= count; i += 128) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + i + 48));
    s4 = _mm512_add_ps(s4, _mm512_loadu_ps(x + i + 64));
    s5 = _mm512_add_ps(s5, _mm512_loadu_ps(x + i + 80));
    s6 = _mm512_add_ps(s6, _mm512_loadu_ps(x + i + 96));
    s7 = _mm512_add_ps(s7, _mm512_loadu_ps(x + i + 112));
  }
  for (; i + 16 <= count; i += 16) s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
  if (i < count) s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps((__mmask16)((1u << (count - i)) - 1), x + i));
  s0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)),
                     _mm512_add_ps(_mm512_add_ps(s4, s5), _mm512_add_ps(s6, s7)));
  return _mm512_reduce_add_ps(s0);
}

__attribute__((target("avx512f"))) static void copy_avx512(size_t count, const float *x, float *y) {
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    __m512 c = _mm512_loadu_ps(x + i + 32), d = _mm512_loadu_ps(x + i + 48);
    _mm512_storeu_ps(y + i, a);
    _mm512_storeu_ps(y + i + 16, b);
    _mm512_storeu_ps(y + i + 32, c);
    _mm512_storeu_ps(y + i + 48, d);
  }
  for (; i + 16 <= count; i += 16) _mm512_storeu_ps(y + i, _mm512_loadu_ps(x + i));
  if (i < count) {
    __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_maskz_loadu_ps(m, x + i));
  }
}

__attribute__((target("avx2"))) static __m256i tail8(size_t k) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__attribute__((target("avx2"))) static float read_avx2(size_t count, const float *x) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
    s4 = _mm256_add_ps(s4, _mm256_loadu_ps(x + i + 32));
    s5 = _mm256_add_ps(s5, _mm256_loadu_ps(x + i + 40));
    s6 = _mm256_add_ps(s6, _mm256_loadu_ps(x + i + 48));
    s7 = _mm256_add_ps(s7, _mm256_loadu_ps(x + i + 56));
  }
  for (; i + 8 <= count; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
  if (i < count) s1 = _mm256_add_ps(s1, _mm256_maskload_ps(x + i, tail8(count - i)));
  s0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                     _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

__attribute__((target("avx2"))) static void copy_avx2(size_t count, const float *x, float *y) {
  size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
    _mm256_storeu_ps(y + i + 16, c);
    _mm256_storeu_ps(y + i + 24, d);
  }
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(y + i, _mm256_loadu_ps(x + i));
  if (i < count) {
    __m256i m = tail8(count - i);
    _mm256_maskstore_ps(y + i, m, _mm256_maskload_ps(x + i, m));
  }
}
#endif

static int bw_level = -1; /* 2 avx512, 1 avx2, 0 plain C */

static int level(void) {
  if (bw_level < 0) {
#ifdef SMX_BENCH_X86
    __builtin_cpu_init();
    bw_level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    bw_level = 0;
#endif
  }
  return bw_level;
}

const char *bw_isa(void) {
  static const char *names[] = {"plain C", "avx2", "avx512"};
  return names[level()];
}

float bw_read_sum(size_t count, const float *x) {
#ifdef SMX_BENCH_X86
  switch (level()) {
  case 2: return read_avx512(count, x);
  case 1: return read_avx2(count, x);
  default: break;
  }
#endif
  return read_c(count, x);
}

void bw_copy(size_t count, const float *x, float *y) {
#ifdef SMX_BENCH_X86
  switch (level()) {
  case 2: copy_avx512(count, x, y); return;
  case 1: copy_avx2(count, x, y); return;
  default: break;
  }
#endif
  copy_c(count, x, y);
}
