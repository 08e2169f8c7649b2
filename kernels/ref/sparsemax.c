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
  float lm[SMX_LANES], dz, buf[SMX_SPARSE_BUF];
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
    float lo = smx_below_minus_one(st.m);
    size_t nc = 0;
    for (size_t j = 0; j < n && nc <= SMX_SPARSE_BUF; j++) {
      float z = smx_xent_logit(row, inv_cap, x[j], &dz);
      if (z > lo) {
        if (nc < SMX_SPARSE_BUF) buf[nc] = z;
        nc++;
      }
    }
    st.loss = smx_xent_sparsemax_loss(n, x, buf, nc, lo, st.m, st.zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, st.wt,
                                      st.qq, row, &st.pt, &st.tau);
  }
  if (!dx) return st.loss;
  smx_xent_sparsemax_grad_scalar(n, x, row, &st, dx);
  smx_xent_sparsemax_target(row, &st, dx);
  return st.loss;
}

SMX_ROWS_MAP(SMX_KERNEL_NAME(sparsemax), sparsemax_row)
SMX_ROWS_BWD(SMX_KERNEL_NAME(sparsemax_backward), sparsemax_backward_row)
SMX_ROWS_XENT(SMX_KERNEL_NAME(xent_sparsemax), xent_sparsemax_row)
