/* Stablemax rows whose sum is not in [SMX_STABLE_TINY, inf): the same scalar code for every ISA. */
#include "smx_internal.h"

SMX_FLATTEN void rare_row(size_t n, const void *x, void *y, double S_lanes, const int e) {
  const enum smx_row_kind kind = smx_stable_kind(S_lanes);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row_elem(kind, n, x, y, 0, e);
    return;
  }
  double S = 0.0;
  for (size_t i = 0; i < n; i++) S += smx_stable_s64(smx_elem_get(x, i, e));
  for (size_t i = 0; i < n; i++) smx_elem_set(y, i, smx_stable_p_tiny(smx_elem_get(x, i, e), S), e);
}
void smx_stablemax_rare_row(size_t n, const void *x, void *y, double S_lanes, int e) {
  SMX_ELEM_CALL(e, rare_row, n, x, y, S_lanes);
}
