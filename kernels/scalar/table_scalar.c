/* The scalar kernel table: the reference every other ISA overrides entry by entry. */
#include "smx_internal.h"

void smx_kernels_scalar_softmax(smx_kernels *k);
void smx_kernels_scalar_normalizers(smx_kernels *k);
void smx_kernels_scalar_xent(smx_kernels *k);

void smx_kernels_scalar(smx_kernels *k) {
  smx_kernels_scalar_softmax(k);
  smx_kernels_scalar_normalizers(k);
  smx_kernels_scalar_xent(k);
}
