/* The floating-point environment every public call runs its kernels in: round to nearest, gradual
   underflow (no flush-to-zero, no denormals-are-zero), whatever the caller set; restored on return.
   The control register is written only when the caller's modes differ from these. */
#ifndef SMX_FPENV_H
#define SMX_FPENV_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
typedef unsigned smx_fpenv;
#define SMX_FPENV_MODES 0xffc0u   /* FTZ, rounding, exception masks, DAZ */
#define SMX_FPENV_DEFAULT 0x1f80u /* all exceptions masked, round to nearest, no FTZ / DAZ */
static inline smx_fpenv smx_fpenv_enter(void) {
  unsigned csr = _mm_getcsr();
  if ((csr & SMX_FPENV_MODES) != SMX_FPENV_DEFAULT) _mm_setcsr((csr & ~SMX_FPENV_MODES) | SMX_FPENV_DEFAULT);
  return csr;
}
static inline void smx_fpenv_leave(smx_fpenv csr) {
  if ((csr & SMX_FPENV_MODES) != SMX_FPENV_DEFAULT) _mm_setcsr(csr | (_mm_getcsr() & 0x3fu)); /* keep raised flags */
}
#elif defined(__aarch64__)
#include <stdint.h>
typedef uint64_t smx_fpenv;
#define SMX_FPENV_MODES ((3ull << 22) | (1ull << 24) | (1ull << 19)) /* RMode, FZ, FZ16 */
static inline smx_fpenv smx_fpenv_enter(void) {
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  if (fpcr & SMX_FPENV_MODES) {
    uint64_t v = fpcr & ~SMX_FPENV_MODES;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
  }
  return fpcr;
}
static inline void smx_fpenv_leave(smx_fpenv fpcr) {
  if (fpcr & SMX_FPENV_MODES) __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
}
#else
typedef int smx_fpenv;
static inline smx_fpenv smx_fpenv_enter(void) { return 0; }
static inline void smx_fpenv_leave(smx_fpenv e) { (void)e; }
#endif

/* call with the modes above */
#define SMX_IN_FPENV(call)                 \
  do {                                     \
    const smx_fpenv env_ = smx_fpenv_enter(); \
    call;                                  \
    smx_fpenv_leave(env_);                 \
  } while (0)

#endif
