/* simdmax test oracle: double-precision references for every public kernel, and the ULP metric.

   Used by the Criterion tests (tests/) and by the validation tools (tools/). The API below is
   stable: functions may be added, none will change.

   Conventions
   - Every oracle works on ONE row of n elements (n >= 1), reads float inputs exactly as the
     library receives them, and writes double outputs. Nothing is rounded to float.
   - Sums are compensated (double-double), so accuracy does not decay with n; differences that
     cancel in float (1 - p_t, log p_t near 0, p_j - [j == t]) are computed from the sums of the
     OTHER terms with log1p/expm1 (no softmax collapse in the reference).
   - Special values follow the rules of include/simdmax.h exactly:
       a NaN anywhere in the row (any input of the row) -> every output NaN;
       k entries +inf -> 1/k on each (log: -log k), 0 elsewhere (log: -inf), logsumexp +inf;
       all -inf -> probabilities 0, log outputs -inf, logsumexp -inf, every gradient 0;
       -inf entries -> probability 0, log-probability -inf.
     The oracle NaN is the quiet NaN 0x7fc00000 (as a double: NAN).
   - Backward oracles optionally return mag[i] = the sum of the magnitudes of the terms that
     make up dx[i] (the scale of the error bound of the backward kernels), see each function.
     mag may be NULL.
   - Results are NOT flushed: a reference below FLT_MIN stays as it is; oracle_ulp() implements
     the flush rule. */
#ifndef SMX_ORACLE_H
#define SMX_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "simdmax.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error metric ----
   oracle_ulp(y, ref) = |y - ref| / ulp(max(|ref|, FLT_MIN)), ulp(v) = 2^(floor(log2 v) - 23).
   Flush rule: if y == +0 and |ref| < 1.001 * FLT_MIN, the error is 0 (results below FLT_MIN may
   be flushed to +0; the library flushes exp arguments below -87.336).
   Special values: y and ref both NaN, or both the same infinity -> 0; one special and the other
   not, or different infinities -> INFINITY. A finite ref that rounds to float infinity
   (|ref| >= 2^128 - 2^103) against y = inf of the same sign is exact (0): that is the correctly
   rounded result. */
double oracle_ulp(float y, double ref);
/* The same with the ulp taken of max(|ref|, scale, FLT_MIN) (for bounds like "4 ulp of
   max(|ref|, |max x|)" or "8 ulp of the sum of the magnitudes"). Same flush and special rules. */
double oracle_ulp_scaled(float y, double ref, double scale);
/* ulp(max(|v|, FLT_MIN)) as defined above. */
double oracle_ulp_of(double v);

/* ---- softmax family ---- */
/* y[i] = exp(x_i - lse). */
void oracle_softmax(size_t n, const float *x, double *y);
/* y[i] = x_i - lse, accurate near 0 (log1p of the other terms). */
void oracle_log_softmax(size_t n, const float *x, double *y);
/* log(sum_j exp(x_j)). */
double oracle_logsumexp(size_t n, const float *x);
/* dx_i = y_i (dy_i - sum_j y_j dy_j);  mag_i = |y_i dy_i| + |y_i| sum_j |y_j dy_j|.
   NaN in y or dy -> NaN row. */
void oracle_softmax_backward(size_t n, const float *y, const float *dy, double *dx, double *mag);
/* dx_i = dy_i - exp(y_i) sum_j dy_j;  mag_i = |dy_i| + exp(y_i) sum_j |dy_j|.
   NaN in y or dy -> NaN row; y all -inf (a fully masked row) -> dx = 0 (header rule). */
void oracle_log_softmax_backward(size_t n, const float *y, const float *dy, double *dx, double *mag);

/* ---- sparsemax ---- */
/* y_i = max(x_i - tau, 0), tau from a sort of x in double-double. Returns tau (NaN for a NaN
   row, +inf if there are +inf entries, -inf for an all -inf row). */
double oracle_sparsemax(size_t n, const float *x, double *y);
/* True if x_i is within rounding of tau (|x_i - tau| <= 2^-40 max(1, max|x|)): the support
   test of the library is exempt there ("ties at the threshold"). */
int oracle_sparsemax_tie(float x_i, double tau, double xscale);
/* dx_i = [y_i > 0] (dy_i - mean_{S} dy), S = {j : y_j > 0};  mag_i = [y_i > 0] (|dy_i| + mean_S |dy|).
   Empty support -> 0. NaN in y or dy -> NaN row. */
void oracle_sparsemax_backward(size_t n, const float *y, const float *dy, double *dx, double *mag);

/* ---- stablemax: s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0) ---- */
void oracle_stablemax(size_t n, const float *x, double *y);
/* log(s(x_i) / sum_j s(x_j)), via log1p of the other terms for the dominant entry. */
void oracle_log_stablemax(size_t n, const float *x, double *y);
/* dx_i = r_i y_i (dy_i - sum_j y_j dy_j), r_i = s'(x_i)/s(x_i) = 1/(1 + |x_i|);
   mag_i = |r_i y_i dy_i| + |r_i y_i| sum_j |y_j dy_j|. y as given (the float stablemax output).
   NaN in x, y or dy -> NaN row; x all -inf -> 0. */
void oracle_stablemax_backward(size_t n, const float *x, const float *y, const float *dy, double *dx,
                               double *mag);

/* ---- cross-entropy ----
   Per row, exactly the header formula of smx_cross_entropy_f32 (after softcap, if any):
     softmax, stablemax: (1-e) w_t (-log p_t) + (e/n) sum_j w_j (-log p_j) [+ z_loss lse^2, softmax]
     sparsemax: w_t (<u, p - q> - |p|^2/2 + |q|^2/2), q = (1-e) onehot(t) + e/n, u the (capped) logits.
   oracle_xent_row: the loss of one row (target in [0, n), not the ignore_index; options as given,
   reduction ignored) and, if grad != NULL, d(row loss)/d(logits) times coef.
   If scale != NULL, *scale = the sum of the magnitudes of the loss terms (a bound scale for
   formulas that cancel: for sparsemax w_t (sum_i |u_i| |p_i - q_i| + |p|^2/2 + |q|^2/2), else |loss|).
   A NaN in the row gives a NaN loss and a NaN gradient row. opts NULL = defaults. */
double oracle_xent_row(size_t n, const float *x, int64_t target, const smx_xent_options *opts, double coef,
                       double *grad, double *scale);
/* The whole call, as smx_cross_entropy_f32 (arguments assumed valid): loss[rows] (NONE) or
   loss[0] (SUM, MEAN), and dlogits (rows x n, leading dimension ldd) unless NULL.
   Ignored rows: loss 0, gradient 0, not counted. MEAN: divides by the sum of w_t over counted rows
   (their count without class_weight); a MEAN over zero counted rows is 0 with a zero gradient.
   Returns the mean denominator (0 for NONE and SUM). */
double oracle_cross_entropy(size_t rows, size_t n, const float *logits, size_t ldx, const int64_t *targets,
                            const smx_xent_options *opts, double *loss, double *dlogits, size_t ldd,
                            double grad_scale);

#ifdef __cplusplus
}
#endif
#endif
