/* Scalar reference of the stablemax family: stablemax, log-stablemax, the backward pass and the
   stablemax cross-entropy. */
#include "kernels.h"
#include "stablemax_common.h"

#define SMX_ISA_NAME scalar

/* the pieces of rows taken in chunks (kernels.h) */
void SMX_KERNEL_NAME(stable_lanes)(size_t n, const float *x, float tie, double lanes[SMX_DLANES], double *ties) {
  for (size_t i = 0; i < n; i++) { /* (log-stablemax's O: relative accuracy also where every term is below FLT_MIN) */
    const int t = x[i] == tie;
    *ties += t;
    lanes[i % SMX_DLANES] += t ? 0.0 : smx_stable_s64(x[i]);
  }
}
void SMX_KERNEL_NAME(stablemax_cols)(size_t n, const float *x, float *y, const smx_stable_c *c) {
  for (size_t i = 0; i < n; i++) y[i] = smx_stable_p(x[i], c);
}
float SMX_KERNEL_NAME(max_nan)(size_t n, const float *x, int *nan) { return smx_row_max_scalar(n, x, nan); }
void SMX_KERNEL_NAME(log_stablemax_cols)(size_t n, const float *x, float *y, float m, float top, float nlh, float ll) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] == m ? top : x[i] == -INFINITY ? -INFINITY : smx_log_stable_y(x[i], nlh, ll);
}

static void stablemax_row(size_t n, const float *x, float *y) {
  double l[SMX_DLANES] = {0}, ties = 0.0;
  SMX_KERNEL_NAME(stable_lanes)(n, x, NAN, l, &ties);
  smx_stable_c c;
  if (smx_stablemax_begin(n, x, y, smx_tree_sum16d(l), &c, SMX_ELEM_F32)) SMX_KERNEL_NAME(stablemax_cols)(n, x, y, &c);
}

static void log_stablemax_row(size_t n, const float *x, float *y) {
  int nan;
  float m = smx_row_max_scalar(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 1);
    return;
  }
  double l[SMX_DLANES] = {0}, K = 0.0; /* O: the s-sum of the entries below the max */
  SMX_KERNEL_NAME(stable_lanes)(n, x, m, l, &K);
  float top, nlh, ll;
  smx_log_stable_consts(m, K, smx_tree_sum16d(l), &top, &nlh, &ll);
  SMX_KERNEL_NAME(log_stablemax_cols)(n, x, y, m, top, nlh, ll);
}

/* Backward rows: the rules of softmax_backward_row (kernels/ref/softmax.c), over tensors of element e. */
SMX_FLATTEN void stablemax_backward_row(size_t n, const void *x, const void *y, const void *dy, void *dx, const int e) {
  float dot = (float)smx_blocked_dot_elem(n, y, dy, e);
  if (dot != dot) {
    smx_fill_elem(n, dx, smx_qnan(), e);
    return;
  }
  int nan = 0, live = 0;
  for (size_t i = 0; i < n; i++) {
    const float xi = smx_elem_get(x, i, e);
    nan |= xi != xi;
    live |= xi != -INFINITY;
    smx_elem_set(dx, i, smx_flush_nan((smx_elem_get(y, i, e) * (smx_elem_get(dy, i, e) - dot)) / (1.0f + fabsf(xi))),
                 e);
  }
  if (nan || !live) smx_fill_elem(n, dx, nan ? smx_qnan() : 0.0f, e);
}
static void stablemax_backward_row_f32(size_t n, const float *x, const float *y, const float *dy, float *dx) {
  stablemax_backward_row(n, x, y, dy, dx, SMX_ELEM_F32);
}

/* p_j = s(z_j) / S; the sum of the other entries O keeps -log p_t = log1p(O / s_t) exact (the sums by blocks,
   kernels/common/xent.h) */
static double xent_stablemax_row(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  double O, wls, S = smx_xent_stable_sums(n, x, SMX_ELEM_F32, row, smx_xent_stable_block_scalar, &O, &wls);
  smx_xent_stable st;
  if (!smx_xent_stablemax_begin(n, x, row, S, O, wls, dx, &st) || !dx) return st.loss;
  smx_xent_stablemax_grad_scalar(n, x, row, &st, dx);
  smx_xent_stablemax_target(n, row, &st, dx);
  return st.loss;
}

SMX_ROWS_MAP(SMX_KERNEL_NAME(stablemax), stablemax_row)
SMX_ROWS_MAP(SMX_KERNEL_NAME(log_stablemax), log_stablemax_row)
SMX_ROWS_BWDX(SMX_KERNEL_NAME(stablemax_backward), stablemax_backward_row_f32)
SMX_ROWS_BWDX16(SMX_KERNEL_NAME(stablemax_backward16), stablemax_backward_row)
SMX_ROWS_XENT(SMX_KERNEL_NAME(xent_stablemax), xent_stablemax_row)
