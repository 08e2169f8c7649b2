/* The kernel tables of SMX_ISAS: the supported ones found once (thread-safe), SMX_ISA read once,
   smx_set_isa to switch. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

#define SMX_TABLE_ADDR_(name, NAME, arch, flags) &smx_table_##name,
static const smx_kernels *const *const compiled[SMX_ISA_COUNT] = {SMX_ISAS(SMX_TABLE_ADDR_)};
#define SMX_ISA_STR_(name, NAME, arch, flags) #name,
static const char *const names[SMX_ISA_COUNT] = {SMX_ISAS(SMX_ISA_STR_)};

static const smx_kernels *tables[SMX_ISA_COUNT]; /* NULL: not compiled in or not supported */
static _Atomic(const smx_kernels *) active;
static _Atomic int active_isa;
static pthread_once_t once = PTHREAD_ONCE_INIT;
int smx_recip64_newton; /* kernels.h; written here before any table is handed out */
static int fused16_cache_cpu; /* smx_fused16_in_cache's CPU half */

static void init(void) {
  unsigned f = smx_cpu_features();
  const smx_cpu_id id = smx_cpu_identify();
  smx_recip64_newton = id.intel;
  const int zen4 = id.amd && id.family == 0x19 && (f >> SMX_ISA_AVX512 & 1); /* (Zen 3: the family, no AVX-512) */
  fused16_cache_cpu = id.intel || zen4;
  int best = SMX_ISA_SCALAR;
  /* an ISA's kernels are compiled with its flags: use them only on a CPU that has it */
  for (int i = 0; i < SMX_ISA_COUNT; i++)
    if (*compiled[i] && (f >> i & 1)) tables[i] = *compiled[i], best = i;
  const char *env = getenv("SMX_ISA");
  for (int i = 0; env && i < SMX_ISA_COUNT; i++)
    if (strcmp(env, names[i]) == 0 && tables[i]) best = i;
  atomic_store(&active_isa, best);
  atomic_store(&active, tables[best]);
}

const smx_kernels *smx_active_kernels(void) {
  const smx_kernels *k = atomic_load_explicit(&active, memory_order_acquire); /* set last by init */
  if (k) return k;
  pthread_once(&once, init);
  return atomic_load_explicit(&active, memory_order_acquire);
}

const smx_kernels *smx_kernels_for(smx_isa isa) {
  pthread_once(&once, init);
  return (unsigned)isa < SMX_ISA_COUNT ? tables[isa] : NULL;
}

smx_isa smx_active_isa(void) {
  pthread_once(&once, init);
  return (smx_isa)atomic_load(&active_isa);
}

int smx_isa_supported(smx_isa isa) { return smx_kernels_for(isa) != NULL; }

int smx_fused16_in_cache(const smx_kernels *k) {
  return fused16_cache_cpu && k && (k == smx_kernels_for(SMX_ISA_AVX512) || k == smx_kernels_for(SMX_ISA_AVX512BF16));
}

smx_status smx_set_isa(smx_isa isa) {
  const smx_kernels *k = smx_kernels_for(isa);
  if (!k) return smx_fail(SMX_ERR_ISA, "smx_set_isa: %s (%d) is not compiled in or not supported by this CPU", smx_isa_name(isa), (int)isa);
  atomic_store(&active_isa, (int)isa);
  atomic_store_explicit(&active, k, memory_order_release);
  return SMX_OK;
}

const char *smx_isa_name(smx_isa isa) { return (unsigned)isa < SMX_ISA_COUNT ? names[isa] : "unknown"; }
