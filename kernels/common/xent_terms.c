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
double smx_xent_special_loss_of(size_t n, const smx_xent_row *row, double wt, double pt, float pinf, int weighted_other) {
  const double eps = row->label_smoothing;
  const double loss = smx_times((1.0 - eps) * wt, pt > 0.0 ? -smx_log64(pt) : INFINITY);
  return eps > 0.0 ? loss + smx_xent_special_smoothing(n, row, pinf, weighted_other) : loss;
}
int smx_xent_weighted_other(size_t n, const float *x, const float *w) {
  int other = 0;
  for (size_t j = 0; j < n && !other; j++) other = x[j] != INFINITY && (w ? w[j] : 1.0f) != 0.0f;
  return other;
}
double smx_xent_special_loss(size_t n, const float *x, const smx_xent_row *row, double wt, float pinf) {
  const int other = row->label_smoothing > 0.0f && smx_xent_weighted_other(n, x, row->class_weight);
  return smx_xent_special_loss_of(n, row, wt, x[row->target] == INFINITY ? pinf : 0.0, pinf, other);
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

void smx_exsum_add(smx_exsum *s, double v, int sign) {
  if (v != v) s->nan += sign;
  else if (v == INFINITY) s->inf += sign;
  if (!(v > 0.0 && v < INFINITY)) return; /* (+0 adds nothing) */
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  const int32_t p = (int32_t)(u >> 52) - 1075; /* v = mant 2^p, normal in the range above */
  const uint64_t mant = (u & 0xfffffffffffffull) | 0x10000000000000ull;
  const int32_t i = (p >> 5) + 6, r = p & 31; /* chunk 0 in bin i, mant 2^r < 2^85 in three chunks */
  if (i < 0 || i + 2 >= SMX_EXSUM_BINS) return; /* not a block sum of s(z) */
  const uint64_t lo = mant << r, c[3] = {lo & 0xffffffffu, lo >> 32, (mant >> 32) >> (32 - r)};
  for (int k = 0; k < 3; k++) s->b[i + k] += sign > 0 ? c[k] : (uint64_t)0 - c[k];
}
void smx_exsum_merge(smx_exsum *a, const smx_exsum *b) {
  for (int i = 0; i < SMX_EXSUM_BINS; i++) a->b[i] += b->b[i];
  a->inf += b->inf, a->nan += b->nan;
}
/* the carries propagated (a function of the exact sum), then Horner over the top three bins */
double smx_exsum_value(const smx_exsum *s) {
  if (s->nan) return NAN;
  if (s->inf) return INFINITY;
  uint64_t b[SMX_EXSUM_BINS], carry = 0;
  int top = -1;
  for (int i = 0; i < SMX_EXSUM_BINS; i++) {
    const uint64_t v = s->b[i] + carry;
    carry = v >> 32, b[i] = i + 1 < SMX_EXSUM_BINS ? v & 0xffffffffu : v;
    if (b[i]) top = i;
  }
  if (top < 0) return 0.0;
  double v = 0.0;
  for (int i = top; i >= top - 2; i--) v = v * 0x1p32 + (i >= 0 ? (double)b[i] : 0.0);
  return v * smx_pow2(32 * (top - 2 - 6));
}

SMX_FLATTEN void stable_block(size_t len, const void *x, size_t t, float softcap, float eps, const float *w,
                              double out[3], const int e) {
  const float inv_cap = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  double ls[SMX_DLANES] = {0}, lo[SMX_DLANES] = {0}, lw[SMX_DLANES] = {0};
  float dz;
  for (size_t i = 0; i < len; i++) {
    const float xi = smx_elem_get(x, i, e), z = softcap > 0.0f ? smx_softcap(xi, softcap, inv_cap, &dz) : xi;
    const double sz = smx_stable_s64(z);
    ls[i % SMX_DLANES] += sz;
    lo[i % SMX_DLANES] += i == t ? 0.0 : sz;
    if (eps > 0.0f) {
      const float wi = w ? w[i] : 1.0f;
      lw[i % SMX_DLANES] += wi == 0.0f ? 0.0 : (double)wi * smx_log_stable64(z);
    }
  }
  out[0] = smx_tree_sum16d(ls), out[1] = t < len ? smx_tree_sum16d(lo) : out[0];
  out[2] = eps > 0.0f ? smx_tree_sum16d(lw) : 0.0;
}

void smx_xent_stable_block_scalar(size_t len, const void *x, int e, size_t t, float softcap, float eps, const float *w,
                                  double out[3]) {
  SMX_ELEM_CALL(e, stable_block, len, x, t, softcap, eps, w, out);
}

double smx_xent_stable_sums(size_t n, const void *x, int e, const smx_xent_row *row, smx_xent_stable_block_fn *blk,
                            double *O, double *wls) {
  const size_t t = (size_t)row->target;
  const float *w = row->class_weight;
  double out[3], S_t = 0.0, O_t = 0.0;
  if (n <= SMX_BLOCK) {
    blk(n, x, e, t, row->softcap, row->label_smoothing, w, out);
    *O = out[1], *wls = out[2];
    return out[0];
  }
  smx_exsum all;
  smx_wzsum ws;
  memset(&all, 0, sizeof all), memset(&ws, 0, sizeof ws);
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    blk(len, smx_elem_at(x, o, e), e, t - o, row->softcap, row->label_smoothing, w ? w + o : NULL, out);
    smx_exsum_add(&all, out[0], 1);
    if (t - o < len) S_t = out[0], O_t = out[1];
    if (row->label_smoothing > 0.0f) smx_wzsum_add(&ws, out[2]);
  }
  *O = smx_xent_stable_other(&all, S_t, O_t);
  *wls = row->label_smoothing > 0.0f ? smx_wzsum_value(&ws) : 0.0;
  return smx_exsum_value(&all);
}

void smx_xent_fold_scalar(size_t n, const float *x, float softcap, const float *w, smx_lse *s, smx_wzsum *wz) {
  float buf[SMX_BLOCK], dz;
  const float inv = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    const float *z = x + o;
    if (softcap > 0.0f) {
      for (size_t i = 0; i < len; i++) buf[i] = smx_softcap(x[o + i], softcap, inv, &dz);
      z = buf;
    }
    if (wz) smx_wzsum_add(wz, smx_wz_block_scalar(len, z, w ? w + o : NULL));
    smx_lse_block_scalar(z, len, s);
  }
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
  /* (mirrored lane-wise, without label smoothing, in kernels/simd/sparsemax.h's xent_sparsemax_lanes: change both) */
  const double eps = row->label_smoothing, q_off = eps / (double)n;
  /* relative to m (sum p = sum q = 1): <z, q> - m = (1-e)(z_t - m) + (e/n) (sum_j z_j - n m) */
  const double ztr = (double)zt - (double)m;
  *pt = ztr > tau ? ztr - tau : 0.0;
  const double zq = (1.0 - eps) * ztr + (eps > 0.0 ? q_off * (sum_z - (double)n * (double)m) : 0.0);
  return smx_times(wt, fy - zq + 0.5 * qq);
}

void smx_xent_stablemax_terms(size_t n, const smx_xent_row *row, double S, double O, double sum_wlog_s, double kinf,
                              int xt_inf, int weighted_other, smx_xent_stable *s) {
  const double eps = row->label_smoothing;
  s->O = O, s->S = S, s->st = smx_stable_s64(s->zt);
  s->wt = smx_xent_weight(row, (size_t)row->target);
  if (s->kind == SMX_ROW_FINITE) { /* (mirrored lane-wise in kernels/simd/stablemax.h: change both) */
    double l1p, log_s;
    smx_xent_stablemax_logs(s, eps > 0.0, &l1p, &log_s);
    s->pt = s->st / s->S, s->pinf = 0.0f;
    s->loss = smx_xent_stablemax_loss(n, l1p, log_s, eps > 0.0 ? sum_wlog_s : 0.0, s->wt, row);
  } else { /* +inf logits (kinf of them) or only -inf ones */
    s->pinf = s->kind == SMX_ROW_POSINF ? (float)(1.0 / kinf) : 0.0f;
    s->pt = xt_inf ? s->pinf : 0.0;
    s->loss = smx_xent_special_loss_of(n, row, s->wt, s->pt, s->pinf, weighted_other);
  }
  const double A = (1.0 - eps) * s->wt + eps * row->weight_sum / (double)n;
  s->Af = (float)(row->grad_coef * A), s->Bf = (float)(row->grad_coef * eps / (double)n);
  s->tiny = s->kind == SMX_ROW_FINITE && s->S < SMX_STABLE_TINY;
  memset(&s->c, 0, sizeof s->c);
  if (s->kind == SMX_ROW_FINITE && !s->tiny) smx_stable_scale(s->S, &s->c);
}

int smx_xent_stablemax_begin(size_t n, const float *x, const smx_xent_row *row, double S, double O, double sum_wlog_s,
                             float *dx, smx_xent_stable *s) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  s->zt = smx_xent_logit(row, inv_cap, x[row->target], &s->dzt);
  s->kind = smx_stable_kind(S);
  if (s->kind == SMX_ROW_NAN) {
    s->loss = smx_xent_nan_row(n, dx);
    return 0;
  }
  const int other = s->kind != SMX_ROW_FINITE && row->label_smoothing > 0.0f && smx_xent_weighted_other(n, x, row->class_weight);
  const double kinf = s->kind == SMX_ROW_POSINF ? smx_count_posinf(n, x) : 0.0;
  smx_xent_stablemax_terms(n, row, S, O, sum_wlog_s, kinf, x[row->target] == INFINITY, other, s);
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
    dx[j] = smx_flush_nan((fmaf(s->Af, p, -b) / (1.0f + fabsf(z))) * dz);
  }
}

/* (mirrored lane-wise in kernels/simd/stablemax.h for finite rows, like post) */
float smx_xent_stablemax_dxt(size_t n, const smx_xent_row *row, const smx_xent_stable *s) {
  const double eps = row->label_smoothing, wt = s->wt;
  /* p_t - 1 = -O / S without cancellation */
  const double pt_m1 = s->kind == SMX_ROW_FINITE ? -s->O / s->S : s->pt - 1.0;
  const double gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (row->weight_sum * s->pt - wt);
  return smx_flush_nan(((float)(row->grad_coef * gt) / (1.0f + fabsf(s->zt))) * s->dzt);
}
void smx_xent_stablemax_target(size_t n, const smx_xent_row *row, const smx_xent_stable *s, float *dx) {
  dx[row->target] = smx_xent_stablemax_dxt(n, row, s);
}

int smx_xent_sparsemax_begin(size_t n, const void *x, int e, const smx_xent_row *row, float m, int nan,
                             smx_xent_sparse *s) {
  const double eps = row->label_smoothing;
  const float xt = smx_elem_get(x, (size_t)row->target, e);
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  s->m = m;
  s->zt = smx_xent_logit(row, inv_cap, xt, &s->dzt);
  s->kind = smx_row_kind_of(m, nan);
  if (s->kind == SMX_ROW_NAN) {
    s->loss = NAN;
    return 0;
  }
  s->wt = smx_xent_weight(row, (size_t)row->target);
  const double q_off = eps / (double)n;
  s->q_t = 1.0 - eps + q_off, s->qq = s->q_t * s->q_t + (double)(n - 1) * q_off * q_off;
  s->Gf = (float)(row->grad_coef * s->wt), s->qf = (float)q_off;
  s->tau = 0.0, s->pinf = 0.0f;
  if (s->kind != SMX_ROW_FINITE) { /* +inf logits (kinf of them) or only -inf ones */
    const double kinf = s->kind == SMX_ROW_POSINF ? smx_count_posinf_elem(n, x, e) : 0.0;
    s->pinf = s->kind == SMX_ROW_POSINF ? (float)(1.0 / kinf) : 0.0f;
    s->pt = xt == INFINITY ? s->pinf : 0.0;
    s->loss = smx_xent_sparsemax_special_loss(xt, row, n, kinf, s->wt, s->qq);
  }
  return 1;
}

SMX_FLATTEN void sparsemax_grad(size_t n, const void *x, const smx_xent_row *row, const smx_xent_sparse *s, void *dx,
                                const int e) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    const float xj = smx_elem_get(x, j, e);
    float dz, z = smx_xent_logit(row, inv_cap, xj, &dz);
    float p = s->kind == SMX_ROW_FINITE ? smx_sparse_p(z, s->m, s->tau) : (xj == INFINITY ? s->pinf : 0.0f);
    smx_elem_set(dx, j, smx_flush(((p - s->qf) * s->Gf) * dz), e);
  }
}
void smx_xent_sparsemax_grad_elem(size_t n, const void *x, int e, const smx_xent_row *row, const smx_xent_sparse *s,
                                  void *dx) {
  SMX_ELEM_CALL(e, sparsemax_grad, n, x, row, s, dx);
}

