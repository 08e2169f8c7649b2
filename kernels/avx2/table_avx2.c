/* The avx2 kernel table: each kernel family overrides the scalar entries it implements. */
#include "smx_internal.h"

void smx_kernels_avx2_softmax(smx_kernels *k);
void smx_kernels_avx2_normalizers(smx_kernels *k);

void smx_kernels_avx2(smx_kernels *k) {
  smx_kernels_avx2_softmax(k);
  smx_kernels_avx2_normalizers(k);
}
