/* CPU feature detection: x86 cpuid + xgetbv, AArch64 hwcaps; the x86 vendor and family. */
#include "dispatch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}
unsigned smx_cpu_features(void) {
  unsigned a, b, c, d, f = 1u << SMX_ISA_SCALAR;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  uint64_t xcr0 = xgetbv0();
  int ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
  if (__get_cpuid_max(0, NULL) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const unsigned leaf7_max = a;
  int avx2 = (b >> 5) & 1, f512 = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
  if (avx2 && fma && f16c && ymm_os) f |= 1u << SMX_ISA_AVX2;
  if ((f >> SMX_ISA_AVX2 & 1) && f512 && dq && bw && vl && zmm_os) f |= 1u << SMX_ISA_AVX512;
  if (leaf7_max >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    if ((f >> SMX_ISA_AVX512 & 1) && ((a >> 5) & 1)) f |= 1u << SMX_ISA_AVX512BF16; /* AVX512_BF16 */
  }
  return f;
}
smx_cpu_id smx_cpu_identify(void) {
  unsigned a, b, c, d;
  smx_cpu_id id = {0, 0, 0};
  if (!__get_cpuid(0, &a, &b, &c, &d)) return id;
  id.intel = b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu; /* GenuineIntel */
  id.amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u;   /* AuthenticAMD */
  if (__get_cpuid(1, &a, &b, &c, &d)) id.family = ((a >> 8) & 0xf) == 0xf ? 0xf + ((a >> 20) & 0xff) : (a >> 8) & 0xf;
  return id;
}
#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
unsigned smx_cpu_features(void) {
  return 1u << SMX_ISA_SCALAR | ((getauxval(AT_HWCAP) & HWCAP_ASIMD) ? 1u << SMX_ISA_NEON : 0);
}
#else
unsigned smx_cpu_features(void) { return 1u << SMX_ISA_SCALAR; }
#endif
#if !defined(__x86_64__) && !defined(__i386__)
smx_cpu_id smx_cpu_identify(void) { return (smx_cpu_id){0, 0, 0}; }
#endif
