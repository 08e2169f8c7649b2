/* The fixed combining trees of the virtual lanes, in the order every ISA reproduces, and the scalar 64-lane
   row max and blocked dot product built on them. */
#include "smx_internal.h"

float smx_tree_max64(const float *lanes) {
  float l[SMX_LANES / 2];
  for (int i = 0; i < SMX_LANES / 2; i++) l[i] = smx_maxf(lanes[i], lanes[i + SMX_LANES / 2]);
  for (int h = SMX_LANES / 4; h >= 1; h /= 2)
    for (int i = 0; i < h; i++) l[i] = smx_maxf(l[i], l[i + h]);
  return l[0];
}

double smx_tree_sum64(const float *lanes) {
  double l[SMX_LANES];
  for (int i = 0; i < SMX_LANES; i++) l[i] = lanes[i];
  for (int h = SMX_LANES / 2; h >= 1; h /= 2)
    for (int i = 0; i < h; i++) l[i] += l[i + h];
  return l[0];
}

double smx_tree_sum16d(const double *lanes) { /* (into a local array: no store-to-load chain through the caller's) */
  double l[SMX_DLANES / 2];
  for (int i = 0; i < SMX_DLANES / 2; i++) l[i] = lanes[i] + lanes[i + SMX_DLANES / 2];
  for (int h = SMX_DLANES / 4; h >= 1; h /= 2)
    for (int i = 0; i < h; i++) l[i] += l[i + h];
  return l[0];
}

/* Backward: row sums in 64 float lanes per block, blocks combined in double. */
SMX_FLATTEN double blocked_dot(size_t n, const void *a, const void *b, const int e) {
  double total = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    float l[SMX_LANES] = {0};
    for (size_t i = 0; i < len; i++) {
      const float ai = smx_elem_get(a, o + i, e);
      l[i % SMX_LANES] = b ? fmaf(ai, smx_elem_get(b, o + i, e), l[i % SMX_LANES]) : l[i % SMX_LANES] + ai;
    }
    total += smx_tree_sum64(l);
  }
  return total;
}
double smx_blocked_dot_scalar(size_t n, const float *a, const float *b) { return blocked_dot(n, a, b, SMX_ELEM_F32); }
double smx_blocked_dot_elem(size_t n, const void *a, const void *b, int e) {
  return SMX_ELEM_CALL(e, blocked_dot, n, a, b);
}

SMX_FLATTEN float row_max(size_t n, const void *x, int *nan, float *lm, const int e) {
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY;
  *nan = 0;
  for (size_t i = 0; i < n; i++) {
    const float v = smx_elem_get(x, i, e);
    lm[i % SMX_LANES] = smx_maxf(v, lm[i % SMX_LANES]);
    *nan |= v != v;
  }
  return smx_tree_max64(lm);
}
float smx_row_max_scalar(size_t n, const float *x, int *nan) {
  float lm[SMX_LANES];
  return row_max(n, x, nan, lm, SMX_ELEM_F32);
}
float smx_row_max_elem(size_t n, const void *x, int e, int *nan) {
  float lm[SMX_LANES];
  return SMX_ELEM_CALL(e, row_max, n, x, nan, lm);
}
float smx_row_max_lanes_elem(size_t n, const void *x, int e, int *nan, float *lanes) {
  return SMX_ELEM_CALL(e, row_max, n, x, nan, lanes);
}

enum smx_row_kind smx_row_kind_of(float m, int nan) {
  return nan ? SMX_ROW_NAN : m == INFINITY ? SMX_ROW_POSINF : m == -INFINITY ? SMX_ROW_ALLNEGINF : SMX_ROW_FINITE;
}
