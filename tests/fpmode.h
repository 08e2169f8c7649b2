/* The caller's flush modes as frameworks set them (FTZ + DAZ in MXCSR on x86, FZ in FPCR on AArch64),
   for the tests and tools that check results do not depend on them. */
#ifndef SMX_FPMODE_H
#define SMX_FPMODE_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* on: set the flush modes, off: clear them; returns the previous control word for fpmode_restore */
static inline unsigned long fpmode_flush(int on) {
  unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? csr | 0x8040u : csr & ~0x8040u); /* FTZ (bit 15), DAZ (bit 6) */
  return csr;
}
static inline void fpmode_restore(unsigned long saved) { _mm_setcsr((unsigned)saved); }
#elif defined(__aarch64__)
static inline unsigned long fpmode_flush(int on) {
  unsigned long fpcr, v;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  v = on ? fpcr | (1ul << 24) : fpcr & ~(1ul << 24); /* FZ */
  __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
  return fpcr;
}
static inline void fpmode_restore(unsigned long saved) { __asm__ __volatile__("msr fpcr, %0" : : "r"(saved)); }
#else
static inline unsigned long fpmode_flush(int on) { (void)on; return 0; }
static inline void fpmode_restore(unsigned long saved) { (void)saved; }
#endif

#endif
