/* Scalar reference: stablemax, log-stablemax, sparsemax and their backward passes. */
#include "smx_internal.h"

float smx_row_max_scalar(size_t n, const float *x, int *nan) {
  float lm[SMX_LANES];
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY;
  *nan = 0;
  for (size_t i = 0; i < n; i++) {
    lm[i % SMX_LANES] = smx_maxf(x[i], lm[i % SMX_LANES]);
    *nan |= x[i] != x[i];
  }
  return smx_tree_max64(lm);
}

enum smx_row_kind smx_row_kind_of(float m, int nan) {
  return nan ? SMX_ROW_NAN : m == INFINITY ? SMX_ROW_POSINF : m == -INFINITY ? SMX_ROW_ALLNEGINF : SMX_ROW_FINITE;
}

/* ---- stablemax ---- */
static double stable_sum(size_t n, const float *x) {
  double l[SMX_DLANES] = {0};
  for (size_t i = 0; i < n; i++) l[i % SMX_DLANES] += (double)smx_stable_s(x[i]);
  return smx_tree_sum16d(l);
}

void smx_stablemax_rare_row(size_t n, const float *x, float *y) {
  int nan;
  float m = smx_row_max_scalar(n, x, &nan); /* only the kind is used: the same on every lane layout */
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  double S = 0.0;
  for (size_t i = 0; i < n; i++) S += smx_stable_s64(x[i]);
  for (size_t i = 0; i < n; i++) y[i] = smx_stable_p_tiny(x[i], S);
}

static void stablemax_scalar(size_t n, const float *x, float *y) {
  double S = stable_sum(n, x);
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y);
    return;
  }
  float c, den;
  smx_stable_scale(S, &c, &den);
  for (size_t i = 0; i < n; i++) y[i] = smx_stable_p(x[i], c, den);
}

static void log_stablemax_scalar(size_t n, const float *x, float *y) {
  int nan;
  float m = smx_row_max_scalar(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 1);
    return;
  }
  double l[SMX_DLANES] = {0}, K = 0.0;
  for (size_t i = 0; i < n; i++) {
    int tie = x[i] == m;
    K += tie;
    l[i % SMX_DLANES] += tie ? 0.0 : smx_stable_s64(x[i]);
  }
  double O = smx_tree_sum16d(l), sm = smx_stable_s64(m), S = K * sm + O;
  float top = (float)-(smx_log64(K) + smx_log1p64(O / (K * sm)));
  for (size_t i = 0; i < n; i++) y[i] = x[i] == m ? top : (float)smx_log64(smx_stable_s64(x[i]) / S);
}

/* Backward rows: the rules of softmax_backward_scalar (kernels/scalar/softmax_scalar.c). */
static void stablemax_backward_scalar(size_t n, const float *x, const float *y, const float *dy, float *dx) {
  float dot = (float)smx_blocked_dot_scalar(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  int nan = 0, live = 0;
  for (size_t i = 0; i < n; i++) {
    nan |= x[i] != x[i];
    live |= x[i] != -INFINITY;
    dx[i] = (y[i] * (dy[i] - dot)) / (1.0f + fabsf(x[i]));
  }
  if (nan || !live) smx_fill(n, dx, nan ? smx_qnan() : 0.0f);
}

/* ---- sparsemax ---- */
static void sparsemax_scalar(size_t n, const float *x, float *y) {
  int nan;
  float m = smx_row_max_scalar(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  float lo = smx_below_minus_one(m), buf[SMX_SPARSE_BUF];
  size_t nc = 0, k;
  for (size_t i = 0; i < n && nc <= SMX_SPARSE_BUF; i++)
    if (x[i] > lo) {
      if (nc < SMX_SPARSE_BUF) buf[nc] = x[i];
      nc++;
    }
  double tau = nc <= SMX_SPARSE_BUF ? smx_sparsemax_tau(buf, nc, lo, m, 0.0f, &k) : smx_sparsemax_tau(x, n, lo, m, 0.0f, &k);
  for (size_t i = 0; i < n; i++) y[i] = smx_sparse_p(x[i], m, tau);
}

static void sparsemax_backward_scalar(size_t n, const float *y, const float *dy, float *dx) {
  double sum = 0.0, k = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    float l[SMX_LANES] = {0};
    for (size_t i = 0; i < len; i++) {
      int in = y[o + i] > 0.0f;
      k += in;
      l[i % SMX_LANES] += in ? dy[o + i] : 0.0f;
    }
    sum += smx_tree_sum64(l);
  }
  float v = k > 0.0 ? (float)(sum / k) : 0.0f;
  int nan = 0;
  for (size_t i = 0; i < n; i++) {
    nan |= (y[i] != y[i]) | (dy[i] != dy[i]);
    dx[i] = y[i] > 0.0f ? dy[i] - v : 0.0f;
  }
  if (nan) smx_fill(n, dx, smx_qnan());
}

void smx_kernels_scalar_normalizers(smx_kernels *k) {
  k->stablemax = stablemax_scalar;
  k->log_stablemax = log_stablemax_scalar;
  k->stablemax_backward = stablemax_backward_scalar;
  k->sparsemax = sparsemax_scalar;
  k->sparsemax_backward = sparsemax_backward_scalar;
}
