/* Per-row double arithmetic of the fused cross-entropy, shared by every ISA. */
#include "smx_internal.h"

void smx_xent_softmax_terms(size_t n, const smx_lse_final *f, float zt, double wt, double sum_wz, double pt_m1,
                            const smx_xent_row *row, double *loss, double *A, double *gt) {
  const double eps = row->label_smoothing, W = row->weight_sum;
  const double lse = (double)f->m + f->l;
  *loss = smx_times((1.0 - eps) * wt, ((double)f->m - (double)zt) + f->l) + row->z_loss * lse * lse;
  if (eps > 0.0) *loss += eps / (double)n * (W * lse - sum_wz);
  *A = (1.0 - eps) * wt + eps * W / (double)n + 2.0 * row->z_loss * lse;
  *gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (W * (pt_m1 + 1.0) - wt) + 2.0 * row->z_loss * lse * (pt_m1 + 1.0);
}

double smx_xent_special_smoothing(size_t n, const smx_xent_row *row, float pinf, int weighted_other) {
  const double W = row->weight_sum;
  const double sm = W == 0.0 ? 0.0 : weighted_other || pinf <= 0.0f ? INFINITY : W * -smx_log64(pinf);
  return row->label_smoothing / (double)n * sm;
}
double smx_xent_special_loss(size_t n, const float *x, const smx_xent_row *row, double wt, float pinf) {
  const double eps = row->label_smoothing, pt = x[row->target] == INFINITY ? pinf : 0.0;
  double loss = smx_times((1.0 - eps) * wt, pt > 0.0 ? -smx_log64(pt) : INFINITY);
  if (eps > 0.0) {
    int other = 0;
    for (size_t j = 0; j < n; j++) other |= x[j] != INFINITY && (row->class_weight ? row->class_weight[j] : 1.0f) != 0.0f;
    loss += smx_xent_special_smoothing(n, row, pinf, other);
  }
  return loss;
}

void smx_wzsum_add(smx_wzsum *s, double v) {
  if (v != v) s->inf |= 4;
  else if (v == INFINITY) s->inf |= 1;
  else if (v == -INFINITY) s->inf |= 2;
  else if (v > 0.0) smx_binsum_add(&s->pos, v, 0);
  else smx_binsum_add(&s->neg, -v, 0); /* (+-0 adds nothing) */
}
void smx_wzsum_merge(smx_wzsum *a, const smx_wzsum *b) {
  smx_binsum_merge(&a->pos, &b->pos), smx_binsum_merge(&a->neg, &b->neg);
  a->inf |= b->inf;
}
double smx_wzsum_value(const smx_wzsum *s) {
  if ((s->inf & 4) || (s->inf & 3) == 3) return NAN;
  if (s->inf) return s->inf == 1 ? INFINITY : -INFINITY;
  return smx_binsum_value(&s->pos, 0) - smx_binsum_value(&s->neg, 0);
}
double smx_wz_block_scalar(size_t len, const float *z, const float *w) {
  double l[SMX_DLANES] = {0};
  for (size_t i = 0; i < len; i++) {
    const float wi = w ? w[i] : 1.0f;
    l[i % SMX_DLANES] += wi == 0.0f ? 0.0 : (double)wi * (double)z[i];
  }
  return smx_tree_sum16d(l);
}

double smx_xent_stablemax_loss(size_t n, double l1p, double log_s, double sum_wlog_s, double wt,
                               const smx_xent_row *row) {
  const double eps = row->label_smoothing;
  double loss = smx_times((1.0 - eps) * wt, l1p);
  if (eps > 0.0) loss += eps / (double)n * (row->weight_sum * log_s - sum_wlog_s);
  return loss;
}

/* l1p = log1p(O / s_t); log_s = log s_t + l1p (log S; 0 without smoothing), or log S where s_t = 0 */
static void smx_xent_stablemax_logs(const smx_xent_stable *s, int smoothing, double *l1p, double *log_s) {
  *l1p = smx_log1p64(s->O / s->st);
  /* log S = log s_t + log1p(O / s_t), log s_t as in the lanes: exact 0 for n = 1 */
  *log_s = !smoothing ? 0.0 : s->st > 0.0 ? smx_log_stable64(s->zt) + *l1p : smx_log64(s->S);
}

double smx_xent_special_p(size_t n, const float *x, const smx_xent_row *row, enum smx_row_kind kind, float *pinf,
                          double *k) {
  *k = smx_count_posinf(n, x);
  *pinf = kind == SMX_ROW_POSINF ? (float)(1.0 / *k) : 0.0f;
  return x[row->target] == INFINITY ? *pinf : 0.0;
}

double smx_xent_sparsemax_loss(size_t n, double tau, double fy, float m, float zt, double sum_z, double wt, double qq,
                               const smx_xent_row *row, double *pt) {
  const double eps = row->label_smoothing, q_off = eps / (double)n;
  /* relative to m (sum p = sum q = 1): <z, q> - m = (1-e)(z_t - m) + (e/n) (sum_j z_j - n m) */
  const double ztr = (double)zt - (double)m;
  *pt = ztr > tau ? ztr - tau : 0.0;
  const double zq = (1.0 - eps) * ztr + (eps > 0.0 ? q_off * (sum_z - (double)n * (double)m) : 0.0);
  return smx_times(wt, fy - zq + 0.5 * qq);
}

/* z_t, s_t, S and the kind (a NaN row: 0, dx filled) */
static int smx_xent_stablemax_pre(size_t n, const float *x, const smx_xent_row *row, double O, float *dx,
                                  smx_xent_stable *s) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  s->zt = smx_xent_logit(row, inv_cap, x[row->target], &s->dzt);
  s->O = O, s->st = smx_stable_s64(s->zt), s->S = O + s->st;
  s->wt = smx_xent_weight(row, (size_t)row->target);
  s->kind = SMX_ROW_FINITE;
  if (!(s->S >= SMX_STABLE_TINY && s->S < INFINITY)) { /* only the kind: the same on every lane layout */
    int nan;
    float m = smx_row_max_scalar(n, x, &nan);
    s->kind = smx_row_kind_of(m, nan);
  }
  if (s->kind == SMX_ROW_NAN) {
    s->loss = smx_xent_nan_row(n, dx);
    return 0;
  }
  return 1;
}

/* the loss (from the logs for a finite row) and the gradient's constants (the finite rows' operations are
   mirrored lane-wise in kernels/simd/stablemax.h: change both) */
static void smx_xent_stablemax_post(size_t n, const float *x, const smx_xent_row *row, double l1p, double log_s,
                                    double sum_wlog_s, smx_xent_stable *s) {
  const float eps = row->label_smoothing;
  if (s->kind == SMX_ROW_FINITE) {
    s->pt = s->st / s->S, s->pinf = 0.0f;
    s->loss = smx_xent_stablemax_loss(n, l1p, log_s, eps > 0.0f ? sum_wlog_s : 0.0, s->wt, row);
  } else {
    double k;
    s->pt = smx_xent_special_p(n, x, row, s->kind, &s->pinf, &k);
    s->loss = smx_xent_special_loss(n, x, row, s->wt, s->pinf);
  }
  const double A = (1.0 - eps) * s->wt + eps * row->weight_sum / (double)n;
  s->Af = (float)(row->grad_coef * A), s->Bf = (float)(row->grad_coef * eps / (double)n);
  s->tiny = s->kind == SMX_ROW_FINITE && s->S < SMX_STABLE_TINY;
  memset(&s->c, 0, sizeof s->c);
  if (s->kind == SMX_ROW_FINITE && !s->tiny) smx_stable_scale(s->S, &s->c);
}

int smx_xent_stablemax_begin(size_t n, const float *x, const smx_xent_row *row, double O, double sum_wlog_s,
                             float *dx, smx_xent_stable *s) {
  if (!smx_xent_stablemax_pre(n, x, row, O, dx, s)) return 0;
  double l1p = 0.0, log_s = 0.0;
  if (s->kind == SMX_ROW_FINITE) smx_xent_stablemax_logs(s, row->label_smoothing > 0.0f, &l1p, &log_s);
  smx_xent_stablemax_post(n, x, row, l1p, log_s, sum_wlog_s, s);
  return 1;
}

void smx_xent_stablemax_grad_scalar(size_t n, const float *x, const smx_xent_row *row, const smx_xent_stable *s,
                                    float *dx) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz, z = smx_xent_logit(row, inv_cap, x[j], &dz), p;
    if (s->kind != SMX_ROW_FINITE) p = x[j] == INFINITY ? s->pinf : 0.0f;
    else if (s->tiny) p = smx_stable_p_tiny(z, s->S);
    else p = smx_stable_p(z, &s->c);
    float b = row->class_weight ? s->Bf * row->class_weight[j] : s->Bf;
    dx[j] = smx_flush((fmaf(s->Af, p, -b) / (1.0f + fabsf(z))) * dz);
  }
}

/* (mirrored lane-wise in kernels/simd/stablemax.h for finite rows, like post) */
void smx_xent_stablemax_target(size_t n, const smx_xent_row *row, const smx_xent_stable *s, float *dx) {
  const double eps = row->label_smoothing, wt = s->wt;
  /* p_t - 1 = -O / S without cancellation */
  const double pt_m1 = s->kind == SMX_ROW_FINITE ? -s->O / s->S : s->pt - 1.0;
  const double gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (row->weight_sum * s->pt - wt);
  dx[row->target] = smx_flush(((float)(row->grad_coef * gt) / (1.0f + fabsf(s->zt))) * s->dzt);
}

int smx_xent_sparsemax_begin(size_t n, const float *x, const smx_xent_row *row, float m, int nan, float *dx,
                             smx_xent_sparse *s) {
  const double eps = row->label_smoothing;
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  s->m = m;
  s->zt = smx_xent_logit(row, inv_cap, x[row->target], &s->dzt);
  s->kind = smx_row_kind_of(m, nan);
  if (s->kind == SMX_ROW_NAN) {
    s->loss = smx_xent_nan_row(n, dx);
    return 0;
  }
  s->wt = smx_xent_weight(row, (size_t)row->target);
  const double q_off = eps / (double)n;
  s->q_t = 1.0 - eps + q_off, s->qq = s->q_t * s->q_t + (double)(n - 1) * q_off * q_off;
  s->Gf = (float)(row->grad_coef * s->wt), s->qf = (float)q_off;
  s->tau = 0.0, s->pinf = 0.0f;
  if (s->kind != SMX_ROW_FINITE) {
    double k;
    s->pt = smx_xent_special_p(n, x, row, s->kind, &s->pinf, &k);
    s->loss = smx_xent_sparsemax_special_loss(x, row, n, k, s->wt, s->qq);
  }
  return 1;
}

void smx_xent_sparsemax_grad_scalar(size_t n, const float *x, const smx_xent_row *row, const smx_xent_sparse *s,
                                    float *dx) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz, z = smx_xent_logit(row, inv_cap, x[j], &dz);
    float p = s->kind == SMX_ROW_FINITE ? smx_sparse_p(z, s->m, s->tau) : (x[j] == INFINITY ? s->pinf : 0.0f);
    dx[j] = smx_flush(((p - s->qf) * s->Gf) * dz);
  }
}

void smx_xent_sparsemax_target(const smx_xent_row *row, const smx_xent_sparse *s, float *dx) {
  dx[row->target] = smx_flush((float)(row->grad_coef * s->wt * (s->pt - s->q_t)) * s->dzt);
}
