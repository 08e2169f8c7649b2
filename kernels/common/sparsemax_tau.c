/* Sparsemax threshold: the scalar reference of the collection, Michelot's iterations and the loss sum. */
#include "smx_internal.h"

/* v[i] of element e, softcapped when cap > 0 (the row path of the fused loss with softcap). */
static inline float value(const void *v, size_t i, float cap, const int e) {
  float dz, x = smx_elem_get(v, i, e);
  return cap > 0.0f ? smx_softcap(x, cap, 1.0f / cap, &dz) : x;
}

double smx_sparsemax_tau_buf(float *v, size_t *nv, float *t, float m) {
  const double md = m;
  size_t k = *nv;
  double tau;
  for (;;) {
    double l[SMX_DLANES] = {0};
    for (size_t p = 0; p < k; p++) l[p % SMX_DLANES] += (double)v[p] - md;
    tau = (smx_tree_sum16d(l) - 1.0) / (double)k;
    float tn = smx_sparse_filter(m, tau, *t);
    if (!(tn > *t)) break;
    *t = tn;
    size_t kk = 0;
    for (size_t i = 0; i < k; i++)
      if (v[i] > tn) v[kk++] = v[i];
    k = kk; /* >= 1: the filter stays below m */
  }
  *nv = k;
  return tau;
}

SMX_FLATTEN double tau_row(const void *x, size_t n, float t, float m, float cap, const int e) {
  const double md = m;
  for (;;) {
    double l[SMX_DLANES] = {0};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      float z = value(x, i, cap, e);
      k += z > t;
      l[i % SMX_DLANES] += z > t ? (double)z - md : 0.0;
    }
    double tau = (smx_tree_sum16d(l) - 1.0) / (double)k; /* k >= 1: the max is above t */
    float tn = smx_sparse_filter(m, tau, t);
    if (!(tn > t)) return tau;
    t = tn;
  }
}
double smx_sparsemax_tau_row(const void *x, int e, size_t n, float t, float m, float cap) {
  return SMX_ELEM_CALL(e, tau_row, x, n, t, m, cap);
}

float smx_sparse_start(size_t n, const float *lanes, float m) {
  const float t0 = smx_below_minus_one(m);
  if (n < SMX_SPARSE_START_MIN) return t0;
  double l[SMX_DLANES] = {0};
  size_t k = 0; /* >= 1: the max's lane */
  for (size_t p = 0; p < SMX_LANES; p++) {
    k += lanes[p] > t0;
    l[p % SMX_DLANES] += lanes[p] > t0 ? (double)lanes[p] - (double)m : 0.0;
  }
  return smx_sparse_filter(m, (smx_tree_sum16d(l) - 1.0) / (double)k - SMX_SPARSE_START_SLACK, t0);
}

SMX_FLATTEN size_t collect(size_t n, const void *x, float m, float cap, float *buf, float *t, const int e) {
  size_t nb = 0;
  for (size_t o = 0; o < n; o += SMX_SPARSE_GROUP) {
    const size_t end = n - o < SMX_SPARSE_GROUP ? n : o + SMX_SPARSE_GROUP;
    for (size_t i = o; i < end; i++) {
      float z = value(x, i, cap, e);
      if (z > *t) buf[nb++] = z;
    }
    if (nb > SMX_SPARSE_BUF - SMX_SPARSE_GROUP) {
      smx_sparsemax_tau_buf(buf, &nb, t, m);
      if (nb > SMX_SPARSE_BUF / 2) return SMX_SPARSE_ROW;
    }
  }
  return nb;
}
size_t smx_sparsemax_collect(size_t n, const void *x, int e, float m, float cap, float *buf, float *t) {
  return SMX_ELEM_CALL(e, collect, n, x, m, cap, buf, t);
}

SMX_FLATTEN double fy(const void *v, size_t nv, float m, double tau, float cap, const int e) {
  double l[SMX_DLANES] = {0};
  for (size_t i = 0; i < nv; i++) {
    double zr = (double)value(v, i, cap, e) - (double)m;
    l[i % SMX_DLANES] += zr > tau ? (zr * zr - tau * tau) * 0.5 : 0.0;
  }
  return smx_tree_sum16d(l);
}
double smx_sparsemax_fy(const void *v, int e, size_t nv, float m, double tau, float cap) {
  return SMX_ELEM_CALL(e, fy, v, nv, m, tau, cap);
}
