/* The kernel tables: built once (thread-safe), SMX_ISA read once, smx_set_isa for tests. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

static smx_kernels tables[4];
static int supported[4];
static _Atomic(const smx_kernels *) active;
static _Atomic int active_isa;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *const names[4] = {"scalar", "avx2", "avx512", "neon"};

static void init(void) {
  unsigned f = smx_cpu_features();
  smx_kernels_scalar(&tables[SMX_ISA_SCALAR]);
  supported[SMX_ISA_SCALAR] = 1;
  /* An ISA's fill function is compiled with that ISA's flags: call it only on a CPU that has it. */
#if defined(SMX_HAVE_AVX2)
  supported[SMX_ISA_AVX2] = (f & SMX_CPU_AVX2) != 0;
#endif
#if defined(SMX_HAVE_AVX512)
  supported[SMX_ISA_AVX512] = (f & SMX_CPU_AVX512) != 0;
#endif
#if defined(SMX_HAVE_NEON)
  supported[SMX_ISA_NEON] = (f & SMX_CPU_NEON) != 0;
#endif
  void (*const fill[4])(smx_kernels *) = {NULL, smx_kernels_avx2, smx_kernels_avx512, smx_kernels_neon};
  for (int i = 1; i < 4; i++) {
    tables[i] = tables[SMX_ISA_SCALAR];
    if (supported[i]) fill[i](&tables[i]);
  }
  (void)f;
  int best = SMX_ISA_SCALAR;
  const int order[] = {SMX_ISA_AVX2, SMX_ISA_AVX512, SMX_ISA_NEON};
  for (int i = 0; i < 3; i++)
    if (supported[order[i]]) best = order[i];
  const char *env = getenv("SMX_ISA");
  for (int i = 0; env && i < 4; i++)
    if (strcmp(env, names[i]) == 0 && supported[i]) best = i;
  atomic_store(&active_isa, best);
  atomic_store(&active, &tables[best]);
}

const smx_kernels *smx_active_kernels(void) {
  pthread_once(&once, init);
  return atomic_load_explicit(&active, memory_order_acquire);
}

const smx_kernels *smx_kernels_for(smx_isa isa) {
  pthread_once(&once, init);
  return (unsigned)isa < 4 && supported[isa] ? &tables[isa] : NULL;
}

smx_isa smx_active_isa(void) {
  pthread_once(&once, init);
  return (smx_isa)atomic_load(&active_isa);
}

int smx_isa_supported(smx_isa isa) { return smx_kernels_for(isa) != NULL; }

smx_status smx_set_isa(smx_isa isa) {
  const smx_kernels *k = smx_kernels_for(isa);
  if (!k) return SMX_ERR_ISA;
  atomic_store(&active_isa, (int)isa);
  atomic_store_explicit(&active, k, memory_order_release);
  return SMX_OK;
}

const char *smx_isa_name(smx_isa isa) { return (unsigned)isa < 4 ? names[isa] : "unknown"; }

#if !defined(SMX_HAVE_AVX2)
void smx_kernels_avx2(smx_kernels *k) { (void)k; }
#endif
#if !defined(SMX_HAVE_AVX512)
void smx_kernels_avx512(smx_kernels *k) { (void)k; }
#endif
#if !defined(SMX_HAVE_NEON)
void smx_kernels_neon(smx_kernels *k) { (void)k; }
#endif
