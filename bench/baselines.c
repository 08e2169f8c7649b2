/* Plain-C baselines: a sort-based sparsemax and the memory-bandwidth loops. */
#include <stdlib.h>
#include <string.h>

#include "anchors.h"

static int desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x < y) - (x > y);
}

/* Martins & Astudillo, Algorithm 1: sort z descending, k = max{k : 1 + k z_k > sum_{j<=k} z_j},
   tau = (sum_{j<=k} z_j - 1) / k. */
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

/* Read: the floats summed in 8 independent accumulators (the order is fixed, so the compiler
   vectorizes it without -ffast-math). */
float bw_read_sum(size_t count, const float *x) {
  float s[16] = {0};
  size_t i = 0;
  for (; i + 16 <= count; i += 16)
    for (int j = 0; j < 16; j++) s[j] += x[i + j];
  for (; i < count; i++) s[0] += x[i];
  float t = 0;
  for (int j = 0; j < 16; j++) t += s[j];
  return t;
}

/* Copy: a plain loop (this file is built with -fno-tree-loop-distribute-patterns, so it stays a
   loop of vector loads and stores, not a memcpy call with non-temporal stores). */
void bw_copy(size_t count, const float *x, float *y) {
  for (size_t i = 0; i < count; i++) y[i] = x[i];
}
