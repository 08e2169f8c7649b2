/* avx512 stablemax and sparsemax families (not yet vectorized: the scalar entries stay). */
#include "smx_internal.h"

void smx_kernels_avx512_normalizers(smx_kernels *k) { (void)k; }
