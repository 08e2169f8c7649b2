/* Sparsemax's shared numerics: the candidates' bound, the canonical threshold, the output rule. */
#ifndef SMX_SPARSEMAX_COMMON_H
#define SMX_SPARSEMAX_COMMON_H

#include "rowstate.h"


/* ---- sparsemax ---- */
#define SMX_SPARSE_BUF 1024 /* candidates kept on the stack; more are filtered from the row */
float smx_below_minus_one(float m); /* the largest float <= m - 1 */
/* Canonical threshold, relative to the row max m (so huge logits keep full precision): Michelot's
   iterations over the candidates v (entries > lo, index order) on v - m in double, sums in double
   in index order; returns tau - m. v may be the whole row (then the filter > lo applies); cap > 0
   softcaps each entry first (only the fused loss passes it, on the whole row). */
double smx_sparsemax_tau(const float *v, size_t nv, float lo, float m, float cap, size_t *k);
/* The output entry: d = (x - m) - tau_rel in double, rounded to float when d >= FLT_MIN, else +0. */
static inline float smx_sparse_p(float x, float m, double tau_rel) {
  double d = ((double)x - (double)m) - tau_rel;
  return d >= 0x1p-126 ? (float)d : 0.0f;
}

/* Fenchel-Young term of the sparsemax loss in coordinates relative to m: sum over {v - m > tau_rel}
   of ((v - m)^2 - tau_rel^2) / 2, in index order. */
double smx_sparsemax_fy(const float *v, size_t nv, float m, double tau_rel, float cap);

#endif
