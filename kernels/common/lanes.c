/* The fixed combining trees of the virtual lanes, in the order every ISA reproduces. */
#include "smx_internal.h"

float smx_tree_max64(float *l) {
  for (int h = SMX_LANES / 2; h >= 1; h /= 2)
    for (int i = 0; i < h; i++) l[i] = smx_maxf(l[i], l[i + h]);
  return l[0];
}

double smx_tree_sum64(const float *lanes) {
  double l[SMX_LANES];
  for (int i = 0; i < SMX_LANES; i++) l[i] = lanes[i];
  for (int h = SMX_LANES / 2; h >= 1; h /= 2)
    for (int i = 0; i < h; i++) l[i] += l[i + h];
  return l[0];
}

double smx_tree_sum16d(double *l) {
  for (int h = SMX_DLANES / 2; h >= 1; h /= 2)
    for (int i = 0; i < h; i++) l[i] += l[i + h];
  return l[0];
}
