/* Sparsemax's shared numerics: the candidates' bound, the canonical threshold, the output rule. */
#ifndef SMX_SPARSEMAX_COMMON_H
#define SMX_SPARSEMAX_COMMON_H

#include "rowstate.h"


/* ---- sparsemax ----
   The threshold tau (relative to the row max m) in O(n) for any support: one pass collects the candidates
   z > t into a stack buffer in index order, starting from t = m - 1 (tau >= m - 1) or a bound from the lane
   maxima (smx_sparse_start); each time the buffer
   fills, tau of the candidates so far (a lower bound of the row's tau: for any subset A,
   (sum_A z - 1) / |A| <= tau) raises t and the buffer keeps only z > t. Michelot's iterations then run on
   the buffer; if the candidates above the bound still fill half of it (a support of ~1000 or more), they
   run over the whole row from the last bound. Every sum is in 16 double lanes (buffer position or row
   index p -> lane p % 16, smx_tree_sum16d), the filter is z > t for a float t, so every ISA keeps the
   same bits. */
#define SMX_SPARSE_BUF 2048  /* candidates kept on the stack */
#define SMX_SPARSE_GROUP 64  /* the collection checks the buffer after every 64 entries of the row */
#define SMX_SPARSE_ROW ((size_t)-1)
/* nextafterf(t, -INFINITY) and nextafterf(t, INFINITY) for a non-NaN t, inline (no libm call per row; the
   sign by arithmetic, not a branch). */
static inline float smx_next_down(float t) {
  if (t == 0.0f) return -0x1p-149f;
  if (t == -INFINITY) return t;
  const uint32_t u = smx_f2u(t);
  return smx_u2f(u - 1u + ((u >> 31) << 1));
}
static inline float smx_next_up(float t) {
  if (t == 0.0f) return 0x1p-149f;
  if (t == INFINITY) return t;
  const uint32_t u = smx_f2u(t);
  return smx_u2f(u + 1u - ((u >> 31) << 1));
}
/* the largest float <= m - 1 */
static inline float smx_below_minus_one(float m) {
  if (m >= 0x1p24f || m <= -0x1p24f) return smx_next_down(m);
  double t = (double)m - 1.0; /* exact here */
  float f = (float)t;
  return (double)f > t ? smx_next_down(f) : f;
}
/* The filter threshold of tau: the largest float t with (double)t - m <= tau (never the max itself, also
   where ulp(m) >> |tau|), never below prev. (float)(m + tau) is within a step of it (x > t <=>
   (double)x - m > tau, the support's rule); if not found (huge and tiny magnitudes mixed), prev. */
static inline float smx_sparse_filter(float m, double tau, float prev) {
  const double md = m;
  float t = (float)(md + tau);
  for (int i = 0; i < 4 && (double)t - md > tau; i++) t = smx_next_down(t);
  if ((double)t - md > tau) return prev;
  float up = smx_next_up(t);
  if ((double)up - md <= tau) t = up;
  return t > prev ? t : prev;
}
/* Michelot on the buffer v[0, *nv) of entries v > *t (the collection's; the max among them): each iteration
   sums (double)v - m by position, tau = (sum - 1) / k, t = smx_sparse_filter(m, tau, t), and while t rises keeps
   v > t in place (order kept). Returns tau - m; *nv = k, *t the final filter. */
double smx_sparsemax_tau_buf(float *v, size_t *nv, float *t, float m);
/* The same over the whole row z = x or softcap(x) (cap > 0) of element e (SMX_ELEM_*), sums by index, nothing
   moved. */
double smx_sparsemax_tau_row(const void *x, int e, size_t n, float t, float m, float cap);
/* The collection's first filter: m - 1 (smx_below_minus_one), raised for rows of SMX_SPARSE_START_MIN or more to
   the filter of the tau of the 64 lane maxima above it (lane i % 64; lanes[] of z = x or softcap(x)), less
   SMX_SPARSE_START_SLACK (far more than the rounding of that tau's double sum, so the filter stays below every
   entry of the support). A row with many entries within 1 of its max (U(0, 0.5), N(0, 0.1)) then collects about
   its support, not the whole row. (Shorter rows: the bound's latency, ~15 ns, costs more than it saves.) */
#define SMX_SPARSE_START_MIN 256
#define SMX_SPARSE_START_SLACK 0x1p-36
float smx_sparse_start(size_t n, const float *lanes, float m);
/* The candidates z > *t (*t: smx_sparse_start) of a finite row of element e (scalar reference of the
   collection): their count in buf (SMX_SPARSE_BUF + 64 floats) and *t the filter, or SMX_SPARSE_ROW with *t a
   lower bound. */
size_t smx_sparsemax_collect(size_t n, const void *x, int e, float m, float cap, float *buf, float *t);
/* The output entry: d = (x - m) - tau_rel in double, rounded to float when d >= FLT_MIN, else +0. */
static inline float smx_sparse_p(float x, float m, double tau_rel) {
  double d = ((double)x - (double)m) - tau_rel;
  return d >= 0x1p-126 ? (float)d : 0.0f;
}

/* Fenchel-Young term of the sparsemax loss in coordinates relative to m: sum over {z - m > tau_rel}
   of ((z - m)^2 - tau_rel^2) / 2, in 16 double lanes: over the buffer by position (cap 0), or over
   the whole row by index (z = x or softcap(x), of element e). Rows of at most SMX_SPARSE_FY_BY_INDEX entries
   take it by index (entry i in lane i % 16, +0 off the support), so that rows kept in lanes or registers sum
   their terms where they are, without collecting the support; longer rows by buffer position, unless their
   threshold ran over the whole row (SMX_SPARSE_ROW). */
#define SMX_SPARSE_FY_BY_INDEX 64
double smx_sparsemax_fy(const void *v, int e, size_t nv, float m, double tau_rel, float cap);

#endif
