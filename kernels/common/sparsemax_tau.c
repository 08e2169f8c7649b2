/* Sparsemax threshold from the candidates, the same computation for every ISA. */
#include "smx_internal.h"

float smx_below_minus_one(float m) {
  if (m >= 0x1p24f || m <= -0x1p24f) return nextafterf(m, -INFINITY);
  double t = (double)m - 1.0; /* exact here */
  float f = (float)t;
  return (double)f > t ? nextafterf(f, -INFINITY) : f;
}

/* v[i], softcapped when cap > 0 (the row path of the fused loss with softcap). */
static inline float value(const float *v, size_t i, float cap) {
  float dz;
  return cap > 0.0f ? smx_softcap(v[i], cap, 1.0f / cap, &dz) : v[i];
}

double smx_sparsemax_tau(const float *v, size_t nv, float lo, float m, float cap, size_t *k_out) {
  const double md = m;
  double thr = (double)lo - md, tau = 0.0;
  size_t kprev = (size_t)-1, k = 0;
  for (;;) {
    double sum = 0.0;
    k = 0;
    for (size_t i = 0; i < nv; i++) {
      double zr = (double)value(v, i, cap) - md;
      if (zr > thr) sum += zr, k++;
    }
    tau = (sum - 1.0) / (double)k;
    if (k == kprev) break;
    kprev = k;
    if (tau > thr) thr = tau;
  }
  *k_out = k;
  return tau;
}

double smx_sparsemax_fy(const float *v, size_t nv, float m, double tau, float cap) {
  double sum = 0.0;
  for (size_t i = 0; i < nv; i++) {
    double zr = (double)value(v, i, cap) - (double)m;
    if (zr > tau) sum += (zr * zr - tau * tau) * 0.5;
  }
  return sum;
}
