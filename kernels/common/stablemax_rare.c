/* Stablemax rows whose sum is not in [SMX_STABLE_TINY, inf): the same scalar code for every ISA. */
#include "smx_internal.h"

void smx_stablemax_rare_row(size_t n, const float *x, float *y, double S_lanes) {
  const enum smx_row_kind kind = smx_stable_kind(S_lanes);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  double S = 0.0;
  for (size_t i = 0; i < n; i++) S += smx_stable_s64(x[i]);
  for (size_t i = 0; i < n; i++) y[i] = smx_stable_p_tiny(x[i], S);
}
