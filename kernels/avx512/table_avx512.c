/* The avx512 kernel table: each kernel family overrides the scalar entries it implements. */
#include "smx_internal.h"

void smx_kernels_avx512_softmax(smx_kernels *k);
void smx_kernels_avx512_normalizers(smx_kernels *k);

void smx_kernels_avx512(smx_kernels *k) {
  smx_kernels_avx512_softmax(k);
  smx_kernels_avx512_normalizers(k);
}
