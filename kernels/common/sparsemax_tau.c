/* Sparsemax threshold: the scalar reference of the collection, Michelot's iterations and the loss sum. */
#include "smx_internal.h"

/* v[i], softcapped when cap > 0 (the row path of the fused loss with softcap). */
static inline float value(const float *v, size_t i, float cap) {
  float dz;
  return cap > 0.0f ? smx_softcap(v[i], cap, 1.0f / cap, &dz) : v[i];
}

double smx_sparsemax_tau_buf(float *v, size_t *nv, float *t, float m) {
  const double md = m;
  size_t k = *nv;
  double tau = (double)*t - md;
  for (;;) {
    size_t kk = 0;
    for (size_t i = 0; i < k; i++)
      if (v[i] > *t) v[kk++] = v[i];
    k = kk;
    if (k == 0) break;
    double l[SMX_DLANES] = {0};
    for (size_t p = 0; p < k; p++) l[p % SMX_DLANES] += (double)v[p] - md;
    tau = (smx_tree_sum16d(l) - 1.0) / (double)k;
    float tn = smx_sparse_filter(m, tau, *t);
    if (!(tn > *t)) break;
    *t = tn;
  }
  *nv = k;
  return tau;
}

double smx_sparsemax_tau_row(const float *x, size_t n, float t, float m, float cap) {
  const double md = m;
  for (;;) {
    double l[SMX_DLANES] = {0};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      float z = value(x, i, cap);
      k += z > t;
      l[i % SMX_DLANES] += z > t ? (double)z - md : 0.0;
    }
    double tau = (smx_tree_sum16d(l) - 1.0) / (double)k; /* k >= 1: the max is above t */
    float tn = smx_sparse_filter(m, tau, t);
    if (!(tn > t)) return tau;
    t = tn;
  }
}

size_t smx_sparsemax_collect(size_t n, const float *x, float m, float cap, float *buf, float *t) {
  size_t nb = 0;
  *t = smx_below_minus_one(m);
  for (size_t o = 0; o < n; o += SMX_SPARSE_GROUP) {
    const size_t end = n - o < SMX_SPARSE_GROUP ? n : o + SMX_SPARSE_GROUP;
    for (size_t i = o; i < end; i++) {
      float z = value(x, i, cap);
      if (z > *t) buf[nb++] = z;
    }
    if (nb > SMX_SPARSE_BUF - SMX_SPARSE_GROUP) {
      smx_sparsemax_tau_buf(buf, &nb, t, m);
      if (nb > SMX_SPARSE_BUF / 2) return SMX_SPARSE_ROW;
    }
  }
  return nb;
}

double smx_sparsemax_fy(const float *v, size_t nv, float m, double tau, float cap) {
  double l[SMX_DLANES] = {0};
  for (size_t i = 0; i < nv; i++) {
    double zr = (double)value(v, i, cap) - (double)m;
    l[i % SMX_DLANES] += zr > tau ? (zr * zr - tau * tau) * 0.5 : 0.0;
  }
  return smx_tree_sum16d(l);
}
