/* Scalar reference: fused cross-entropy (loss + gradient) for softmax, stablemax and sparsemax. */
#include "smx_internal.h"

/* The logits as the loss sees them: softcapped when row->softcap > 0 (dz = dz/dx), else as is. */
static inline float logit(const smx_xent_row *row, float inv_cap, float x, float *dz) {
  if (row->softcap > 0.0f) return smx_softcap(x, row->softcap, inv_cap, dz);
  *dz = 1.0f;
  return x;
}

static inline double weight(const smx_xent_row *row, size_t j) { return row->class_weight ? row->class_weight[j] : 1.0; }

/* Label smoothing needs sum_j w_j z_j: 16 double lanes, products exact in double, w_j == 0 skipped. */
static inline void add_wz(double *l, size_t j, const smx_xent_row *row, float z) {
  float w = row->class_weight ? row->class_weight[j] : 1.0f;
  l[j % SMX_DLANES] += w == 0.0f ? 0.0 : (double)w * (double)z;
}


/* Writes the NaN row / loss for rows containing NaN. */
static double nan_row(size_t n, float *dx) {
  if (dx) smx_fill(n, dx, smx_qnan());
  return NAN;
}

/* ---- softmax ---- */
static double xent_softmax_scalar(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  float buf[SMX_BLOCK], dz;
  double wz[SMX_DLANES] = {0};
  smx_lse s;
  smx_lse_init(&s);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
    for (size_t i = 0; i < len; i++) {
      buf[i] = logit(row, inv_cap, x[b + i], &dz);
      if (eps > 0.0f) add_wz(wz, b + i, row, buf[i]);
    }
    smx_lse_block_scalar(buf, len, &s);
  }
  smx_lse_final f;
  smx_lse_finish(&s, &f, 1);
  if (f.kind == SMX_ROW_NAN) return nan_row(n, dx);
  const float zt = logit(row, inv_cap, x[t], &dz);
  const double wt = weight(row, t), W = row->weight_sum, g = row->grad_coef;
  const double sum_wz = eps > 0.0f ? smx_tree_sum16d(wz) : 0.0;
  double loss, gt, A;
  float pinf = 0.0f;
  if (f.kind == SMX_ROW_FINITE) {
    smx_xent_softmax_terms(n, &f, zt, wt, sum_wz, row, &loss, &A, &gt);
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
      float z = logit(row, inv_cap, x[j], &dz);
      float b = row->class_weight ? Bf * row->class_weight[j] : Bf;
      dx[j] = fmaf(Af, f.shifted ? smx_softmax_one(z, &o) : smx_softmax_exp(z, &f), -b) * dz;
    }
  } else {
    for (size_t j = 0; j < n; j++) {
      float b = row->class_weight ? Bf * row->class_weight[j] : Bf;
      dx[j] = fmaf(Af, x[j] == INFINITY ? pinf : 0.0f, -b);
    }
  }
  dx[t] = (float)(g * gt) * dzt;
  return loss;
}

/* ---- stablemax: p_j = s(z_j) / S; the sum of the other entries O keeps -log p_t = log1p(O / s_t) exact ---- */
static double xent_stablemax_scalar(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  double lo[SMX_DLANES] = {0}, lw[SMX_DLANES] = {0};
  float dz;
  for (size_t j = 0; j < n; j++) {
    float z = logit(row, inv_cap, x[j], &dz);
    lo[j % SMX_DLANES] += j == t ? 0.0 : (double)smx_stable_s(z);
    if (eps > 0.0f) { /* sum_j w_j log s(z_j), log s(z) = sign(z) log1p(|z|) */
      float w = row->class_weight ? row->class_weight[j] : 1.0f;
      double ls = smx_log1p64((double)fabsf(z));
      lw[j % SMX_DLANES] += w == 0.0f ? 0.0 : (double)w * (z < 0.0f ? -ls : ls);
    }
  }
  const float zt = logit(row, inv_cap, x[t], &dz), dzt = dz;
  const double O = smx_tree_sum16d(lo), st = smx_stable_s64(zt), S = O + st;
  const double wt = weight(row, t), W = row->weight_sum, g = row->grad_coef;
  int nan;
  enum smx_row_kind kind = SMX_ROW_FINITE;
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    float m = smx_row_max_scalar(n, x, &nan); /* sets nan: not in the same full expression */
    kind = smx_row_kind_of(m, nan);
  }
  if (kind == SMX_ROW_NAN) return nan_row(n, dx);
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
    float z = logit(row, inv_cap, x[j], &dz), p;
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

/* ---- sparsemax: Fenchel-Young loss, gradient p - q ---- */
static double xent_sparsemax_scalar(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  float lm[SMX_LANES], dz, buf[SMX_SPARSE_BUF];
  double lz[SMX_DLANES] = {0};
  int nan = 0;
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY;
  for (size_t j = 0; j < n; j++) {
    float z = logit(row, inv_cap, x[j], &dz);
    lm[j % SMX_LANES] = smx_maxf(z, lm[j % SMX_LANES]);
    nan |= z != z;
    if (eps > 0.0f) lz[j % SMX_DLANES] += (double)z;
  }
  const float m = smx_tree_max64(lm), zt = logit(row, inv_cap, x[t], &dz), dzt = dz;
  const enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind == SMX_ROW_NAN) return nan_row(n, dx);
  const double wt = weight(row, t), G = row->grad_coef * wt, q_off = eps / (double)n;
  const double q_t = 1.0 - eps + q_off, qq = q_t * q_t + (double)(n - 1) * q_off * q_off;
  double loss, pt, tau = 0.0; /* tau relative to m */
  float pinf = 0.0f;
  if (kind == SMX_ROW_FINITE) {
    float lo = smx_below_minus_one(m);
    size_t nc = 0;
    for (size_t j = 0; j < n && nc <= SMX_SPARSE_BUF; j++) {
      float z = logit(row, inv_cap, x[j], &dz);
      if (z > lo) {
        if (nc < SMX_SPARSE_BUF) buf[nc] = z;
        nc++;
      }
    }
    loss = smx_xent_sparsemax_loss(n, x, buf, nc, lo, m, zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, wt, qq, row, &pt, &tau);
  } else {
    double k;
    pt = smx_xent_special_p(n, x, row, kind, &pinf, &k);
    /* the limit: finite when the target is +inf and q puts no mass on finite entries (e = 0 or
       every entry +inf): <u, p - q> = 0, loss = (|q|^2 - |p|^2) / 2 with |p|^2 = 1/k */
    loss = x[t] == INFINITY && (eps == 0.0f || k == (double)n) ? smx_times(wt, 0.5 * (qq - 1.0 / k)) : INFINITY;
  }
  if (!dx) return loss;
  const float Gf = (float)G, qf = (float)q_off;
  for (size_t j = 0; j < n; j++) {
    float z = logit(row, inv_cap, x[j], &dz);
    float p = kind == SMX_ROW_FINITE ? smx_sparse_p(z, m, tau) : (x[j] == INFINITY ? pinf : 0.0f);
    dx[j] = ((p - qf) * Gf) * dz;
  }
  dx[t] = (float)(G * (pt - q_t)) * dzt;
  return loss;
}

void smx_kernels_scalar_xent(smx_kernels *k) {
  k->xent[SMX_NORM_SOFTMAX] = xent_softmax_scalar;
  k->xent[SMX_NORM_STABLEMAX] = xent_stablemax_scalar;
  k->xent[SMX_NORM_SPARSEMAX] = xent_sparsemax_scalar;
}
