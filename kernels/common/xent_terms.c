/* Per-row double arithmetic of the fused cross-entropy, shared by every ISA. */
#include "smx_internal.h"

void smx_xent_softmax_terms(size_t n, const smx_lse_final *f, float zt, double wt, double sum_wz,
                            const smx_xent_row *row, double *loss, double *A, double *gt) {
  const double eps = row->label_smoothing, W = row->weight_sum;
  const double lse = (double)f->m + f->l, pt_m1 = smx_expm1_64(((double)zt - (double)f->m) - f->l);
  *loss = smx_times((1.0 - eps) * wt, ((double)f->m - (double)zt) + f->l) + row->z_loss * lse * lse;
  if (eps > 0.0) *loss += eps / (double)n * (W * lse - sum_wz);
  *A = (1.0 - eps) * wt + eps * W / (double)n + 2.0 * row->z_loss * lse;
  *gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (W * (pt_m1 + 1.0) - wt) + 2.0 * row->z_loss * lse * (pt_m1 + 1.0);
}

double smx_xent_special_loss(size_t n, const float *x, const smx_xent_row *row, double wt, float pinf) {
  const double eps = row->label_smoothing, pt = x[row->target] == INFINITY ? pinf : 0.0;
  double loss = smx_times((1.0 - eps) * wt, pt > 0.0 ? -smx_log64(pt) : INFINITY);
  if (eps > 0.0) {
    double sm = 0.0;
    for (size_t j = 0; j < n; j++) {
      double w = row->class_weight ? row->class_weight[j] : 1.0, p = x[j] == INFINITY ? pinf : 0.0;
      if (w != 0.0) sm += w * (p > 0.0 ? -smx_log64(p) : INFINITY);
    }
    loss += eps / (double)n * sm;
  }
  return loss;
}

double smx_xent_stablemax_loss(size_t n, float zt, double st, double O, double S, double sum_wlog_s, double wt,
                               const smx_xent_row *row) {
  const double eps = row->label_smoothing;
  double loss = smx_times((1.0 - eps) * wt, smx_log1p64(O / st));
  if (eps > 0.0) { /* log S = log s_t + log1p(O / s_t), log s_t as in the lanes: exact 0 for n = 1 */
    double ls = smx_log1p64((double)fabsf(zt));
    double log_s = st > 0.0 ? (zt < 0.0f ? -ls : ls) + smx_log1p64(O / st) : smx_log64(S);
    loss += eps / (double)n * (row->weight_sum * log_s - sum_wlog_s);
  }
  return loss;
}

double smx_xent_special_p(size_t n, const float *x, const smx_xent_row *row, enum smx_row_kind kind, float *pinf,
                          double *k) {
  *k = smx_count_posinf(n, x);
  *pinf = kind == SMX_ROW_POSINF ? (float)(1.0 / *k) : 0.0f;
  return x[row->target] == INFINITY ? *pinf : 0.0;
}

double smx_xent_stablemax_row(size_t n, const float *x, const smx_xent_row *row, enum smx_row_kind kind, float zt,
                              double st, double O, double S, double sum_wlog_s, double wt, double *pt, float *pinf) {
  if (kind == SMX_ROW_FINITE) {
    *pt = st / S, *pinf = 0.0f;
    return smx_xent_stablemax_loss(n, zt, st, O, S, sum_wlog_s, wt, row);
  }
  double k;
  *pt = smx_xent_special_p(n, x, row, kind, pinf, &k);
  return smx_xent_special_loss(n, x, row, wt, *pinf);
}

double smx_xent_sparsemax_loss(size_t n, const float *x, const float *buf, size_t nc, float lo, float m, float zt,
                               double sum_z, double wt, double qq, const smx_xent_row *row, double *pt, double *tau) {
  const double eps = row->label_smoothing, q_off = eps / (double)n;
  size_t k;
  double fy;
  if (nc <= SMX_SPARSE_BUF) {
    *tau = smx_sparsemax_tau(buf, nc, lo, m, 0.0f, &k);
    fy = smx_sparsemax_fy(buf, nc, m, *tau, 0.0f);
  } else { /* many candidates: the same sums over the whole (capped) row */
    *tau = smx_sparsemax_tau(x, n, lo, m, row->softcap, &k);
    fy = smx_sparsemax_fy(x, n, m, *tau, row->softcap);
  }
  /* relative to m (sum p = sum q = 1): <z, q> - m = (1-e)(z_t - m) + (e/n) (sum_j z_j - n m) */
  const double ztr = (double)zt - (double)m;
  *pt = ztr > *tau ? ztr - *tau : 0.0;
  const double zq = (1.0 - eps) * ztr + (eps > 0.0 ? q_off * (sum_z - (double)n * (double)m) : 0.0);
  return smx_times(wt, fy - zq + 0.5 * qq);
}
