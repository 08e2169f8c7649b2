/* The softmax cross-entropy of one row in scalar code: the reference kernel's row, and the SIMD kernels'
   rows with NaN, infinite logits or |max| > 2^16 (the same code, so the same bits). */
#include "smx_internal.h"

double smx_xent_softmax_row(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  float buf[SMX_BLOCK], dz;
  smx_wzsum wz; /* label smoothing's sum_j w_j z_j */
  memset(&wz, 0, sizeof wz);
  smx_lse s;
  smx_lse_init(&s);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
    for (size_t i = 0; i < len; i++) buf[i] = smx_xent_logit(row, inv_cap, x[b + i], &dz);
    if (eps > 0.0f) smx_wzsum_add(&wz, smx_wz_block_scalar(len, buf, row->class_weight ? row->class_weight + b : NULL));
    smx_lse_block_scalar(buf, len, &s);
  }
  smx_lse_final f;
  smx_lse_finish(&s, &f, 1);
  if (f.kind == SMX_ROW_NAN) return smx_xent_nan_row(n, dx);
  const float zt = smx_xent_logit(row, inv_cap, x[t], &dz);
  const double wt = smx_xent_weight(row, t), W = row->weight_sum, g = row->grad_coef;
  const double sum_wz = eps > 0.0f ? smx_wzsum_value(&wz) : 0.0;
  double loss, gt, A;
  float pinf = 0.0f;
  if (f.kind == SMX_ROW_FINITE) {
    smx_xent_softmax_terms(n, &f, zt, wt, sum_wz, smx_xent_pt_m1(&f, zt, dx != NULL), row, &loss, &A, &gt);
  } else { /* +inf entries or all -inf (no softcap here): p from the special rule, no z-loss term */
    double k, pt = smx_xent_special_p(n, x, row, f.kind, &pinf, &k);
    loss = smx_xent_special_loss(n, x, row, wt, pinf);
    A = (1.0 - eps) * wt + eps * W / (double)n;
    gt = (1.0 - eps) * wt * (pt - 1.0) + eps / (double)n * (W * pt - wt);
  }
  if (!dx) return loss;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  const float dzt = row->softcap > 0.0f ? (smx_softcap(x[t], row->softcap, inv_cap, &dz), dz) : 1.0f;
  if (f.kind == SMX_ROW_FINITE) {
    smx_softmax_out o;
    if (f.shifted) smx_softmax_out_init(&f, &o);
    for (size_t j = 0; j < n; j++) {
      float z = smx_xent_logit(row, inv_cap, x[j], &dz);
      float b = row->class_weight ? Bf * row->class_weight[j] : Bf;
      dx[j] = smx_flush_nan(fmaf(Af, f.shifted ? smx_softmax_one(z, &o) : smx_softmax_exp(z, &f), -b) * dz);
    }
  } else {
    for (size_t j = 0; j < n; j++) {
      float b = row->class_weight ? Bf * row->class_weight[j] : Bf;
      dx[j] = smx_flush_nan(fmaf(Af, x[j] == INFINITY ? pinf : 0.0f, -b));
    }
  }
  dx[t] = smx_flush_nan((float)(g * gt) * dzt);
  return loss;
}
