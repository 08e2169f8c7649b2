/* The avx512bf16 ISA's vocabulary: AVX-512's, with AVX512_BF16's vcvtneps2bf16 for bfloat16 stores (the hook
   SMX_BF16_HW in avx512.h, compiled in by -mavx512bf16); the same kernels and the same bits. */
#define SMX_ISA_NAME avx512bf16
#include "avx512.h"
