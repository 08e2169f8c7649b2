/* Scalar reference of the stablemax family: stablemax, log-stablemax, the backward pass and the
   stablemax cross-entropy. */
#include "kernels.h"
#include "stablemax_common.h"

#define SMX_ISA_NAME scalar

static double stable_sum(size_t n, const float *x) {
  double l[SMX_DLANES] = {0};
  for (size_t i = 0; i < n; i++) l[i % SMX_DLANES] += (double)smx_stable_s(x[i]);
  return smx_tree_sum16d(l);
}

static void stablemax_row(size_t n, const float *x, float *y) {
  double S = stable_sum(n, x);
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y);
    return;
  }
  float c, den;
  smx_stable_scale(S, &c, &den);
  for (size_t i = 0; i < n; i++) y[i] = smx_stable_p(x[i], c, den);
}

static void log_stablemax_row(size_t n, const float *x, float *y) {
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

/* Backward rows: the rules of softmax_backward_row (kernels/ref/softmax.c). */
static void stablemax_backward_row(size_t n, const float *x, const float *y, const float *dy, float *dx) {
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

/* p_j = s(z_j) / S; the sum of the other entries O keeps -log p_t = log1p(O / s_t) exact */
static double xent_stablemax_row(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  double lo[SMX_DLANES] = {0}, lw[SMX_DLANES] = {0};
  float dz;
  for (size_t j = 0; j < n; j++) {
    float z = smx_xent_logit(row, inv_cap, x[j], &dz);
    lo[j % SMX_DLANES] += j == t ? 0.0 : (double)smx_stable_s(z);
    if (eps > 0.0f) { /* sum_j w_j log s(z_j), log s(z) = sign(z) log1p(|z|) */
      float w = row->class_weight ? row->class_weight[j] : 1.0f;
      double ls = smx_log1p64((double)fabsf(z));
      lw[j % SMX_DLANES] += w == 0.0f ? 0.0 : (double)w * (z < 0.0f ? -ls : ls);
    }
  }
  const float zt = smx_xent_logit(row, inv_cap, x[t], &dz), dzt = dz;
  const double O = smx_tree_sum16d(lo), st = smx_stable_s64(zt), S = O + st;
  const double wt = smx_xent_weight(row, t), W = row->weight_sum, g = row->grad_coef;
  int nan;
  enum smx_row_kind kind = SMX_ROW_FINITE;
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    float m = smx_row_max_scalar(n, x, &nan); /* sets nan: not in the same full expression */
    kind = smx_row_kind_of(m, nan);
  }
  if (kind == SMX_ROW_NAN) return smx_xent_nan_row(n, dx);
  double pt;
  float pinf;
  const double loss = smx_xent_stablemax_row(n, x, row, kind, zt, st, O, S, eps > 0.0f ? smx_tree_sum16d(lw) : 0.0, wt, &pt, &pinf);
  if (!dx) return loss;
  const double A = (1.0 - eps) * wt + eps * W / (double)n;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  const int tiny = kind == SMX_ROW_FINITE && S < SMX_STABLE_TINY;
  float c = 1.0f, den = 1.0f;
  if (kind == SMX_ROW_FINITE) smx_stable_scale(S, &c, &den);
  for (size_t j = 0; j < n; j++) {
    float z = smx_xent_logit(row, inv_cap, x[j], &dz), p;
    if (kind != SMX_ROW_FINITE) p = x[j] == INFINITY ? pinf : 0.0f;
    else p = tiny ? smx_stable_p_tiny(z, S) : smx_stable_p(z, c, den);
    float b = row->class_weight ? Bf * row->class_weight[j] : Bf;
    dx[j] = (fmaf(Af, p, -b) / (1.0f + fabsf(z))) * dz;
  }
  /* p_t - 1 = -O / S without cancellation */
  const double pt_m1 = kind == SMX_ROW_FINITE ? -O / S : pt - 1.0;
  const double gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (W * pt - wt);
  dx[t] = ((float)(g * gt) / (1.0f + fabsf(zt))) * dzt;
  return loss;
}

SMX_ROWS_MAP(SMX_KERNEL_NAME(stablemax), stablemax_row)
SMX_ROWS_MAP(SMX_KERNEL_NAME(log_stablemax), log_stablemax_row)
SMX_ROWS_BWDX(SMX_KERNEL_NAME(stablemax_backward), stablemax_backward_row)
SMX_ROWS_XENT(SMX_KERNEL_NAME(xent_stablemax), xent_stablemax_row)
