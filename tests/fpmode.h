/* The caller's flush modes as frameworks set them (FTZ + DAZ in MXCSR on x86, FZ in FPCR on AArch64), and a
   rounding mode other than to nearest, for the tests and tools that check results do not depend on them. */
#ifndef SMX_FPMODE_H
#define SMX_FPMODE_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* on: set the flush modes (2: and round toward +inf), off: clear them; returns the previous control word for
   fpmode_restore */
static inline unsigned long fpmode_flush(int on) {
  unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr & ~0x6000u) | 0x8040u | (on == 2 ? 0x4000u : 0u) : csr & ~0x8040u); /* FTZ, DAZ, RC */
  return csr;
}
static inline void fpmode_restore(unsigned long saved) { _mm_setcsr((unsigned)saved); }
#elif defined(__aarch64__)
static inline unsigned long fpmode_flush(int on) {
  unsigned long fpcr, v;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  v = on ? (fpcr & ~(3ul << 22)) | (1ul << 24) | (on == 2 ? 1ul << 22 : 0ul) : fpcr & ~(1ul << 24); /* FZ, RMode */
  __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
  return fpcr;
}
static inline void fpmode_restore(unsigned long saved) { __asm__ __volatile__("msr fpcr, %0" : : "r"(saved)); }
#else
static inline unsigned long fpmode_flush(int on) { (void)on; return 0; }
static inline void fpmode_restore(unsigned long saved) { (void)saved; }
#endif

#endif
