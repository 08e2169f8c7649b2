/* Scalar reference of the sparsemax family: sparsemax, its backward pass (JVP) and the sparsemax
   (Fenchel-Young) cross-entropy; its rows over tensors of element e (SMX_ELEM_*: loads widen, stores round),
   so the scalar table's fused 16-bit kernels are the f32 reference's code. */
#include "kernels.h"
#include "sparsemax_common.h"

#define SMX_ISA_NAME scalar

SMX_FLATTEN void sparsemax_row(size_t n, const void *x, void *y, const int e) {
  int nan;
  float lanes[SMX_LANES], buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP];
  float m = smx_row_max_lanes_elem(n, x, e, &nan, lanes);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row_elem(kind, n, x, y, 0, e);
    return;
  }
  float t = smx_sparse_start(n, lanes, m);
  size_t nb = smx_sparsemax_collect(n, x, e, m, 0.0f, buf, &t);
  double tau = nb != SMX_SPARSE_ROW ? smx_sparsemax_tau_buf(buf, &nb, &t, m)
                                    : smx_sparsemax_tau_row(x, e, n, t, m, 0.0f);
  for (size_t i = 0; i < n; i++) smx_elem_set(y, i, smx_sparse_p(smx_elem_get(x, i, e), m, tau), e);
}

SMX_FLATTEN void sparsemax_backward_row(size_t n, const void *y, const void *dy, void *dx, const int e) {
  double sum = 0.0, k = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    float l[SMX_LANES] = {0};
    for (size_t i = 0; i < len; i++) {
      int in = smx_elem_get(y, o + i, e) > 0.0f;
      k += in;
      l[i % SMX_LANES] += in ? smx_elem_get(dy, o + i, e) : 0.0f;
    }
    sum += smx_tree_sum64(l);
  }
  float v = k > 0.0 ? (float)(sum / k) : 0.0f;
  int nan = 0;
  for (size_t i = 0; i < n; i++) {
    const float yi = smx_elem_get(y, i, e), dyi = smx_elem_get(dy, i, e);
    nan |= (yi != yi) | (dyi != dyi);
    smx_elem_set(dx, i, yi > 0.0f ? smx_flush_nan(dyi - v) : 0.0f, e);
  }
  if (nan) smx_fill_elem(n, dx, smx_qnan(), e);
}

/* tau and the Fenchel-Young sum *fy of a finite row of element e (z = x or softcap(x)) with max m and lane maxima lm:
   the collection's buffer from smx_sparse_start, or the whole row where the candidates overflow it */
SMX_FLATTEN double sparse_tau_fy(size_t n, const void *x, const float *lm, float m, float cap, double *fy, const int e) {
  float t = smx_sparse_start(n, lm, m), buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP];
  size_t nb = smx_sparsemax_collect(n, x, e, m, cap, buf, &t);
  const int by_buf = nb != SMX_SPARSE_ROW;
  const double tau = by_buf ? smx_sparsemax_tau_buf(buf, &nb, &t, m) : smx_sparsemax_tau_row(x, e, n, t, m, cap);
  *fy = by_buf && n > SMX_SPARSE_FY_BY_INDEX ? smx_sparsemax_fy(buf, SMX_ELEM_F32, nb, m, tau, 0.0f)
                                             : smx_sparsemax_fy(x, e, n, m, tau, cap);
  return tau;
}

/* the 64 lane maxima of z (lane j % 64) and with label smoothing the 16 lanes of its sum in lz; returns its NaN flag */
SMX_FLATTEN int sparse_lanes(size_t n, const void *x, const smx_xent_row *row, float *lm, double *lz, const int e) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  int nan = 0;
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY;
  for (size_t j = 0; j < n; j++) {
    float dz, z = smx_xent_logit(row, inv_cap, smx_elem_get(x, j, e), &dz);
    lm[j % SMX_LANES] = smx_maxf(z, lm[j % SMX_LANES]);
    nan |= z != z;
    if (row->label_smoothing > 0.0f) lz[j % SMX_DLANES] += (double)z;
  }
  return nan;
}

/* Fenchel-Young loss, gradient p - q */
SMX_FLATTEN double xent_sparsemax_row(size_t n, const void *x, const smx_xent_row *row, void *dx, const int e) {
  const float eps = row->label_smoothing;
  float lm[SMX_LANES];
  double lz[SMX_DLANES] = {0};
  const int nan = sparse_lanes(n, x, row, lm, lz, e);
  smx_xent_sparse st;
  if (!smx_xent_sparsemax_begin(n, x, e, row, smx_tree_max64(lm), nan, &st)) {
    if (dx) smx_fill_elem(n, dx, smx_qnan(), e);
    return st.loss;
  }
  if (st.kind == SMX_ROW_FINITE) {
    double fy;
    st.tau = sparse_tau_fy(n, x, lm, st.m, row->softcap, &fy, e);
    st.loss = smx_xent_sparsemax_loss(n, st.tau, fy, st.m, st.zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, st.wt, st.qq,
                                      row, &st.pt);
  }
  if (!dx) return st.loss;
  smx_xent_sparsemax_grad_elem(n, x, e, row, &st, dx);
  smx_elem_set(dx, (size_t)row->target, smx_xent_sparsemax_dxt(row, &st), e);
  return st.loss;
}

/* the table piece sparse_row_state (kernels.h) */
SMX_FLATTEN int sparse_row_state(size_t n, const void *x, float softcap, float *m, double *tau, double *fy,
                                 const int e) {
  const smx_xent_row row = {.softcap = softcap};
  float lm[SMX_LANES];
  const int nan = sparse_lanes(n, x, &row, lm, NULL, e);
  *m = smx_tree_max64(lm);
  const enum smx_row_kind kind = smx_row_kind_of(*m, nan);
  if (kind == SMX_ROW_FINITE) *tau = sparse_tau_fy(n, x, lm, *m, softcap, fy, e);
  return kind;
}
int SMX_KERNEL_NAME(sparse_row_state)(size_t n, const void *x, int e, float softcap, float *m, double *tau,
                                      double *fy) {
  return SMX_ELEM_CALL(e, sparse_row_state, n, x, softcap, m, tau, fy);
}

static void sparsemax_row_f32(size_t n, const float *x, float *y) { sparsemax_row(n, x, y, SMX_ELEM_F32); }
static void sparsemax_backward_row_f32(size_t n, const float *y, const float *dy, float *dx) {
  sparsemax_backward_row(n, y, dy, dx, SMX_ELEM_F32);
}
static double xent_sparsemax_row_f32(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  return xent_sparsemax_row(n, x, row, dx, SMX_ELEM_F32);
}
SMX_ROWS_MAP(SMX_KERNEL_NAME(sparsemax), sparsemax_row_f32)
SMX_ROWS_BWD(SMX_KERNEL_NAME(sparsemax_backward), sparsemax_backward_row_f32)
SMX_ROWS_XENT(SMX_KERNEL_NAME(xent_sparsemax), xent_sparsemax_row_f32)
SMX_ROWS_MAP16(SMX_KERNEL_NAME(sparsemax16), sparsemax_row)
SMX_ROWS_BWD16(SMX_KERNEL_NAME(sparsemax_backward16), sparsemax_backward_row)
SMX_ROWS_XENTROW16(SMX_KERNEL_NAME(xent_sparsemax16), xent_sparsemax_row)
