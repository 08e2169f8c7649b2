/* Thread safety without Criterion (so it also runs under ThreadSanitizer): threads make the library's first
   call at once and call every kernel of the registry concurrently, two of them under FTZ+DAZ and one
   switching the active ISA meanwhile; every result must equal the single-threaded one. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_list.h"
#include "testutil.h"

#define THREADS 4
#define ROWS 3
#define N 1500
#define LEN (ROWS * N + ROWS)
static float x[ROWS * N], dy[ROWS * N];
static float results[THREADS + 1][SMX_K_COUNT][LEN]; /* [THREADS]: single-threaded */
static const int64_t targets[ROWS] = {0, 7, N - 1};

/* kernel k on (x, dy) into out; a backward kernel's forward output computed first by this thread */
static smx_status run(int k, float *out, float *fwd) {
  const smx_kernel_info *K = &smx_kernel_list[k];
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
  smx_call_args a = {ROWS, N, x, N, NULL, N, dy, N, out, N, targets, &o, out + ROWS * N, 1.0f};
  if (K->forward != SMX_K_none) {
    smx_call_args f = {ROWS, N, x, N, NULL, 0, NULL, 0, fwd, N, NULL, NULL, NULL, 0.0f};
    smx_status s = smx_call(K->forward, &f);
    if (s != SMX_OK) return s;
    if (K->kind == SMX_KIND_BWD) a.x = fwd;
    else a.y = fwd;
  }
  if (K->kind == SMX_KIND_LSE) a.out = out + ROWS * N;
  return smx_call(k, &a);
}

static void *worker(void *arg) {
  const long id = (long)arg;
  long bad = 0;
  float *fwd = malloc(ROWS * N * sizeof *fwd);
  const unsigned long saved = tu_fp_flush(id & 1);
  for (int k = 0; k < SMX_K_COUNT; k++) {
    if (id == 3) smx_set_isa((smx_isa)(k % SMX_ISA_COUNT)); /* refused where unsupported */
    bad += run(k, results[id][k], fwd) != SMX_OK;
  }
  tu_fp_restore(saved);
  free(fwd);
  return (void *)bad;
}

int main(void) {
  tu_rng r;
  tu_rng_seed(&r, tu_case_seed("threads", N, 0));
  tu_fill(&r, TU_WIDE, ROWS * N, x);
  for (size_t i = 0; i < ROWS * N; i++) dy[i] = (float)tu_normal(&r);
  pthread_t th[THREADS];
  long bad = 0;
  for (long i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  for (int i = 0; i < THREADS; i++) {
    void *b;
    pthread_join(th[i], &b);
    bad += (long)b;
  }
  float *fwd = malloc(ROWS * N * sizeof *fwd);
  for (int k = 0; k < SMX_K_COUNT; k++) bad += run(k, results[THREADS][k], fwd) != SMX_OK;
  free(fwd);
  for (int i = 0; i < THREADS; i++)
    for (int k = 0; k < SMX_K_COUNT; k++)
      if (memcmp(results[i][k], results[THREADS][k], sizeof results[i][k])) {
        fprintf(stderr, "threads: thread %d, %s differs from the single-threaded result\n", i, smx_kernel_list[k].name);
        bad++;
      }
  printf("threads: %d threads x %d kernels, first use concurrent, FTZ+DAZ in two, ISA switches in one\n", THREADS,
         SMX_K_COUNT);
  printf("%s\n", bad ? "0 passed, 1 failed" : "1 passed, 0 failed");
  return bad != 0;
}
