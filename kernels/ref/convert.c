/* Scalar reference of the 16-bit conversions: the portable definitions of kernels/common/half.h, value by value. */
#include "half.h"
#include "kernels.h"

#define SMX_ISA_NAME scalar

void SMX_KERNEL_NAME(widen16)(int bf16, size_t n, const uint16_t *s, float *d) {
  if (bf16)
    for (size_t i = 0; i < n; i++) d[i] = smx_f32_of_bf16(s[i]);
  else
    for (size_t i = 0; i < n; i++) d[i] = smx_f32_of_f16(s[i]);
}
void SMX_KERNEL_NAME(narrow16)(int bf16, size_t n, const float *s, uint16_t *d) {
  if (bf16)
    for (size_t i = 0; i < n; i++) d[i] = smx_bf16_of_f32(s[i]);
  else
    for (size_t i = 0; i < n; i++) d[i] = smx_f16_of_f32(s[i]);
}
