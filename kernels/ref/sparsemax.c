/* Scalar reference of the sparsemax family: sparsemax, its backward pass (JVP) and the sparsemax
   (Fenchel-Young) cross-entropy. */
#include "kernels.h"
#include "sparsemax_common.h"

#define SMX_ISA_NAME scalar

static void sparsemax_row(size_t n, const float *x, float *y) {
  int nan;
  float m = smx_row_max_scalar(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  float t, buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP];
  size_t nb = smx_sparsemax_collect(n, x, m, 0.0f, buf, &t);
  double tau = nb != SMX_SPARSE_ROW ? smx_sparsemax_tau_buf(buf, &nb, &t, m) : smx_sparsemax_tau_row(x, n, t, m, 0.0f);
  for (size_t i = 0; i < n; i++) y[i] = smx_sparse_p(x[i], m, tau);
}

static void sparsemax_backward_row(size_t n, const float *y, const float *dy, float *dx) {
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
    dx[i] = y[i] > 0.0f ? smx_flush(dy[i] - v) : 0.0f;
  }
  if (nan) smx_fill(n, dx, smx_qnan());
}

/* Fenchel-Young loss, gradient p - q */
static double xent_sparsemax_row(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  float lm[SMX_LANES], dz, buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP];
  double lz[SMX_DLANES] = {0};
  int nan = 0;
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY;
  for (size_t j = 0; j < n; j++) {
    float z = smx_xent_logit(row, inv_cap, x[j], &dz);
    lm[j % SMX_LANES] = smx_maxf(z, lm[j % SMX_LANES]);
    nan |= z != z;
    if (eps > 0.0f) lz[j % SMX_DLANES] += (double)z;
  }
  smx_xent_sparse st;
  if (!smx_xent_sparsemax_begin(n, x, row, smx_tree_max64(lm), nan, dx, &st)) return st.loss;
  if (st.kind == SMX_ROW_FINITE) {
    float t;
    size_t nb = smx_sparsemax_collect(n, x, st.m, row->softcap, buf, &t);
    double fy;
    if (nb != SMX_SPARSE_ROW) {
      st.tau = smx_sparsemax_tau_buf(buf, &nb, &t, st.m);
      fy = smx_sparsemax_fy(buf, nb, st.m, st.tau, 0.0f);
    } else {
      st.tau = smx_sparsemax_tau_row(x, n, t, st.m, row->softcap);
      fy = smx_sparsemax_fy(x, n, st.m, st.tau, row->softcap);
    }
    st.loss = smx_xent_sparsemax_loss(n, st.tau, fy, st.m, st.zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, st.wt, st.qq,
                                      row, &st.pt);
  }
  if (!dx) return st.loss;
  smx_xent_sparsemax_grad_scalar(n, x, row, &st, dx);
  dx[row->target] = smx_xent_sparsemax_dxt(row, &st);
  return st.loss;
}

SMX_ROWS_MAP(SMX_KERNEL_NAME(sparsemax), sparsemax_row)
SMX_ROWS_BWD(SMX_KERNEL_NAME(sparsemax_backward), sparsemax_backward_row)
SMX_ROWS_XENT(SMX_KERNEL_NAME(xent_sparsemax), xent_sparsemax_row)
