/* The neon kernel table: each kernel family overrides the scalar entries it implements. */
#include "smx_internal.h"

void smx_kernels_neon_softmax(smx_kernels *k);
void smx_kernels_neon_normalizers(smx_kernels *k);
void smx_kernels_neon_xent(smx_kernels *k);

void smx_kernels_neon(smx_kernels *k) {
  smx_kernels_neon_softmax(k);
  smx_kernels_neon_normalizers(k);
  smx_kernels_neon_xent(k); /* keeps the scalar xent entries for the rows it hands back */
}
