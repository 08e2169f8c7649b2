/* Thread safety and multi-threaded calls without Criterion (so it also runs under ThreadSanitizer):
   threads make the library's first call at once and call every kernel of the registry concurrently, two of
   them under FTZ+DAZ and one switching the active ISA meanwhile; then every kernel on 1, 2, 3 and 7 threads
   of the built-in pool and through a caller's parallel-for, every reduction of the cross-entropy, and long rows
   of the softmax family (f32 and 16-bit) and the softmax / stablemax cross-entropies split by blocks: every result
   must equal the single-threaded one bit for bit. */
#include <math.h>
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

/* ---- one call on several threads ---- */
/* rows: split into tasks of whole rows; more than the cross-entropy keeps row losses for on the stack (1024): one
   thread takes them 1024 at a time, more threads through a heap array, with the same bits */
#define MR 2501
#define MN 97
static float mx[MR * MN], mdy[MR * MN], mfwd[MR * MN];
static int64_t mt[MR];
static uint16_t mh[MR * MN], mg[MR * MN];

static void run_many(int k, smx_reduction red, float *out) {
  const smx_kernel_info *K = &smx_kernel_list[k];
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = red;
  o.label_smoothing = 0.1f;
  smx_call_args a = {MR, MN, mx, MN, NULL, MN, mdy, MN, out, MN, mt, &o, out + MR * MN, 1.0f};
  if (K->forward != SMX_K_none) {
    smx_call_args f = {MR, MN, mx, MN, NULL, 0, NULL, 0, mfwd, MN, NULL, NULL, NULL, 0.0f};
    smx_call(K->forward, &f);
    if (K->kind == SMX_KIND_BWD) a.x = mfwd;
    else a.y = mfwd;
  }
  if (K->kind == SMX_KIND_LSE) a.out = out + MR * MN;
  if (smx_call(k, &a) != SMX_OK) out[0] = -12345.0f;
}

/* a caller's parallel-for: its tasks in reverse order on two threads of its own */
typedef struct {
  smx_task_fn task;
  void *ctx;
  size_t count;
} pf_job;
static void *pf_half(void *arg) {
  pf_job *j = arg;
  for (size_t i = j->count; i-- > j->count / 2;) j->task(j->ctx, i);
  return NULL;
}
static void reverse_parallel_for(void *ctx, smx_task_fn task, void *task_ctx, size_t count) {
  (void)ctx;
  pf_job j = {task, task_ctx, count};
  pthread_t t;
  pthread_create(&t, NULL, pf_half, &j);
  for (size_t i = count / 2; i-- > 0;) task(task_ctx, i);
  pthread_join(t, NULL);
}

static long split_checks(void) {
  static float ref[MR * MN + MR], got[MR * MN + MR];
  long bad = 0, checks = 0;
  const size_t counts[] = {2, 3, 7};
  for (int k = 0; k < SMX_K_COUNT; k++)
    for (int red = 0; red < (smx_kernel_list[k].kind == SMX_KIND_XENT ? 3 : 1); red++) {
      smx_set_num_threads(1);
      memset(ref, 0, sizeof ref);
      run_many(k, (smx_reduction)red, ref);
      for (int c = 0; c < 4; c++) {
        if (c < 3) smx_set_num_threads(counts[c]);
        else smx_set_parallel_for(reverse_parallel_for, NULL, 2);
        memset(got, 0, sizeof got);
        run_many(k, (smx_reduction)red, got);
        smx_set_parallel_for(NULL, NULL, 0);
        checks++;
        if (memcmp(got, ref, sizeof ref)) {
          fprintf(stderr, "threads: %s (reduction %d) on %s differs from one thread\n", smx_kernel_list[k].name, red,
                  c < 3 ? (counts[c] == 2 ? "2 threads" : counts[c] == 3 ? "3 threads" : "7 threads") : "a parallel-for");
          bad++;
        }
      }
    }
  /* the 16-bit cross-entropy: loss and gradient */
  static uint16_t gref[MR * MN];
  for (int t = 0; t < 2; t++)
    for (int red = 0; red < 3; red++) {
      smx_xent_options o;
      smx_xent_options_default(&o);
      o.reduction = (smx_reduction)red;
      float lref[MR], lgot[MR];
      (t ? smx_f16_from_f32 : smx_bf16_from_f32)(MR, MN, mx, MN, mh, MN);
      for (int c = -1; c < 3; c++) {
        smx_set_num_threads(c < 0 ? 1 : counts[c]);
        memset(mg, 0, sizeof mg);
        const smx_status s = (t ? smx_cross_entropy_f16 : smx_cross_entropy_bf16)(MR, MN, mh, MN, mt, &o, c < 0 ? lref : lgot,
                                                                                 mg, MN, 1.0f);
        if (c < 0) {
          memcpy(gref, mg, sizeof mg);
          continue;
        }
        checks++;
        if (s != SMX_OK || memcmp(lgot, lref, (red ? 1 : MR) * sizeof *lref) || memcmp(mg, gref, sizeof mg)) {
          fprintf(stderr, "threads: %s cross-entropy (reduction %d) on %zu threads differs from one thread\n",
                  t ? "f16" : "bf16", red, counts[c]);
          bad++;
        }
      }
    }
  /* probability targets (q: |dy| / n), f32 and 16-bit: loss and gradient, every normalizer and reduction */
  static float q[MR * MN];
  static uint16_t qh[MR * MN];
  for (size_t i = 0; i < MR * MN; i++) q[i] = fabsf(mdy[i]) / MN;
  for (int t = 0; t < 3; t++) { /* 2: f32 */
    if (t < 2) (t ? smx_f16_from_f32 : smx_bf16_from_f32)(MR, MN, mx, MN, mh, MN);
    if (t < 2) (t ? smx_f16_from_f32 : smx_bf16_from_f32)(MR, MN, q, MN, qh, MN);
    for (int norm = 0; norm < 3; norm++)
      for (int red = 0; red < 3; red++) {
        smx_xent_options o;
        smx_xent_options_default(&o);
        o.normalizer = (smx_normalizer)norm, o.reduction = (smx_reduction)red, o.label_smoothing = 0.1f;
        static float lref[MR], lgot[MR];
        for (int c = -1; c < 4; c++) {
          if (c < 3) smx_set_num_threads(c < 0 ? 1 : counts[c]);
          else smx_set_parallel_for(reverse_parallel_for, NULL, 2);
          float *l = c < 0 ? lref : lgot, *g32 = c < 0 ? ref : got;
          uint16_t *g16 = c < 0 ? gref : mg;
          const smx_status s = t == 2 ? smx_cross_entropy_soft_f32(MR, MN, mx, MN, q, MN, &o, l, g32, MN, 0.5f)
                               : t ? smx_cross_entropy_soft_f16(MR, MN, mh, MN, qh, MN, &o, l, g16, MN, 0.5f)
                                   : smx_cross_entropy_soft_bf16(MR, MN, mh, MN, qh, MN, &o, l, g16, MN, 0.5f);
          smx_set_parallel_for(NULL, NULL, 0);
          if (c < 0) continue;
          checks++;
          if (s != SMX_OK || memcmp(lgot, lref, (red ? 1 : MR) * sizeof *lref) ||
              (t == 2 ? memcmp(got, ref, MR * MN * sizeof *got) : memcmp(mg, gref, sizeof mg))) {
            fprintf(stderr, "threads: %s probability-target cross-entropy (normalizer %d, reduction %d) on %s differs "
                    "from one thread\n", (const char *[]){"bf16", "f16", "f32"}[t], norm, red,
                    c < 3 ? (counts[c] == 2 ? "2 threads" : counts[c] == 3 ? "3 threads" : "7 threads") : "a parallel-for");
            bad++;
          }
        }
      }
  }
  smx_set_num_threads(1);
  printf("threads: %ld calls on 2, 3, 7 threads and a caller's parallel-for (the 16-bit class-index cross-entropy: "
         "threads), %ld differ from one thread\n", checks, bad);
  return bad;
}

/* ---- long rows split by blocks: rows fewer than the threads, every regime, the ISAs of this CPU ---- */
#define LR 3
#define LPAD 5 /* canaries after each row */
static long long_checks(tu_rng *r) {
  const size_t sizes[] = {((size_t)1 << 16) + 1029, (size_t)1 << 17};
  const int kernels[] = {SMX_K_softmax, SMX_K_log_softmax, SMX_K_logsumexp, SMX_K_xent_softmax, SMX_K_xent_stablemax};
  const size_t counts[] = {2, 3, 7};
  int64_t t[LR] = {5, -100, 0}; /* (an ignored row; the last target near the end of the row) */
  smx_xent_options o;
  smx_xent_options_default(&o);
  float lref[LR], lgot[LR];
  long bad = 0, checks = 0;
  const smx_isa active = smx_active_isa();
  const size_t stream_min = smx_get_streaming_threshold();
  for (size_t si = 0; si < 2; si++) {
    const size_t n = sizes[si], ld = n + LPAD, len = LR * ld;
    float *x = malloc(len * sizeof *x), *ref = malloc(len * sizeof *ref), *got = malloc(len * sizeof *got);
    t[2] = (int64_t)n - 3;
    for (int reg = 0; reg < TU_NREGIMES; reg += LR) {
      for (size_t row = 0; row < LR; row++) tu_fill(r, (reg + (int)row) % TU_NREGIMES, n, x + row * ld);
      for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
        if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
        for (size_t ki = 0; ki < 5; ki++)
          for (size_t rows = 1; rows <= LR; rows += LR - 1) {
            const int xent = ki >= 3; /* NONE with label smoothing (3 rows), MEAN with a softcap (1 row) */
            o.reduction = rows > 1 ? SMX_REDUCE_NONE : SMX_REDUCE_MEAN;
            o.label_smoothing = rows > 1 ? 0.1f : 0.0f, o.softcap = rows > 1 ? 0.0f : 20.0f;
            smx_call_args a = {rows, n, x, ld, NULL, 0, NULL, 0, NULL, ld, xent ? t : NULL, xent ? &o : NULL, NULL,
                               xent ? 0.5f : 0.0f};
            for (int c = -1; c < 4; c++) {
              float *out = c < 0 ? ref : got, *l = c < 0 ? lref : lgot;
              for (size_t i = 0; i < len; i++) out[i] = -7.25f; /* canaries, and unwritten outputs */
              for (size_t i = 0; i < LR; i++) l[i] = -7.25f;
              if (xent) a.loss = l;
              if (c < 0) smx_set_num_threads(1);
              else if (c < 3) smx_set_num_threads(counts[c]);
              else smx_set_parallel_for(reverse_parallel_for, NULL, 2);
              if (c == 1 || c == 3) smx_set_streaming_threshold(0); /* streamed on 3 threads and the parallel-for */
              a.out = out;
              if (smx_call(kernels[ki], &a) != SMX_OK) out[0] = -12345.0f;
              smx_set_parallel_for(NULL, NULL, 0);
              smx_set_streaming_threshold(stream_min);
              int ok = 1;
              for (size_t row = 0; row < rows; row++)
                for (size_t i = n; i < ld; i++) ok &= out[row * ld + i] == -7.25f;
              if (c >= 0) checks++, ok &= !memcmp(got, ref, len * sizeof *got) && !memcmp(lgot, lref, sizeof lref);
              if (!ok) {
                fprintf(stderr, "threads: long rows: %s, %zu x %zu, regimes from %s, ISA %d, %s%zu: %s\n",
                        smx_kernel_list[kernels[ki]].name, rows, n, tu_regime_name(reg), isa,
                        c < 3 ? "threads " : "parallel-for ", c < 0 ? 1 : c < 3 ? counts[c] : 2,
                        c < 0 ? "canary overwritten" : "differs from one thread (or a canary overwritten)");
                bad++;
              }
            }
          }
      }
    }
    free(x), free(ref), free(got);
  }
  smx_set_isa(active);
  smx_set_num_threads(1);
  printf("threads: %ld long-row calls (softmax, log-softmax, logsumexp, the softmax and stablemax cross-entropies; 1 and "
         "3 rows of 2^16 + 1029 and 2^17, every regime, every ISA here) on 2, 3, 7 threads and a parallel-for (on 3 and the "
         "parallel-for with their outputs streamed), %ld "
         "differ from one thread\n", checks, bad);
  return bad;
}

/* ---- 16-bit long rows of the softmax family and cross-entropies split by blocks (widened by chunks in each task) ---- */
typedef smx_status map16_fn(size_t, size_t, const uint16_t *, size_t, uint16_t *, size_t);
typedef smx_status lse16_fn(size_t, size_t, const uint16_t *, size_t, float *);
static long long16_checks(tu_rng *r) {
  const size_t n = ((size_t)1 << 16) + 1029, ld = n + LPAD, len = LR * ld, counts[] = {2, 3, 7};
  map16_fn *const maps[2][2] = {{smx_softmax_f16, smx_log_softmax_f16}, {smx_softmax_bf16, smx_log_softmax_bf16}};
  lse16_fn *const lses[2] = {smx_logsumexp_f16, smx_logsumexp_bf16};
  const int64_t t[LR] = {5, -100, (int64_t)n - 3}; /* (an ignored row; the last target near the end of the row) */
  smx_xent_options o;
  smx_xent_options_default(&o);
  float *x = malloc(len * sizeof *x), lref[LR], lgot[LR];
  uint16_t *h = malloc(len * 2), *ref = malloc(len * 2), *got = malloc(len * 2);
  long bad = 0, checks = 0;
  const smx_isa active = smx_active_isa();
  const size_t stream_min = smx_get_streaming_threshold();
  for (int reg = 0; reg < TU_NREGIMES; reg += LR) {
    for (size_t row = 0; row < LR; row++) tu_fill(r, (reg + (int)row) % TU_NREGIMES, n, x + row * ld);
    for (int bf = 0; bf < 2; bf++) {
      (bf ? smx_bf16_from_f32 : smx_f16_from_f32)(LR, n, x, ld, h, ld);
      for (size_t row = 0; row < LR; row++)
        for (size_t i = n; i < ld; i++) h[row * ld + i] = 0xbeef; /* (the in-place calls' canaries) */
      for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
        if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
        for (int k = 0; k < 5; k++) /* softmax, log-softmax, logsumexp, the softmax and stablemax cross-entropies */
          for (size_t rows = 1; rows <= LR; rows += LR - 1)
            for (int c = -1; c < 4; c++) {
              uint16_t *out = c < 0 ? ref : got;
              float *l = c < 0 ? lref : lgot;
              const int inplace = k < 2 && c == 2; /* on 7 threads: y = x */
              if (inplace) memcpy(out, h, len * 2);
              else
                for (size_t i = 0; i < len; i++) out[i] = 0xbeef; /* canaries, and unwritten outputs */
              for (size_t i = 0; i < LR; i++) l[i] = -7.25f;
              if (c < 0) smx_set_num_threads(1);
              else if (c < 3) smx_set_num_threads(counts[c]);
              else smx_set_parallel_for(reverse_parallel_for, NULL, 2);
              if (c == 1 || c == 3) smx_set_streaming_threshold(0); /* streamed on 3 threads and the parallel-for */
              /* the cross-entropies: NONE with label smoothing (3 rows), MEAN with a softcap (1 row), as long_checks */
              o.normalizer = k == 4 ? SMX_NORM_STABLEMAX : SMX_NORM_SOFTMAX;
              o.reduction = rows > 1 ? SMX_REDUCE_NONE : SMX_REDUCE_MEAN;
              o.label_smoothing = rows > 1 ? 0.1f : 0.0f, o.softcap = rows > 1 ? 0.0f : 20.0f;
              const smx_status st =
                  k < 2    ? maps[bf][k](rows, n, inplace ? out : h, ld, out, ld)
                  : k == 2 ? lses[bf](rows, n, h, ld, l)
                           : (bf ? smx_cross_entropy_bf16 : smx_cross_entropy_f16)(rows, n, h, ld, t, &o, l, out, ld, 0.5f);
              smx_set_parallel_for(NULL, NULL, 0);
              smx_set_streaming_threshold(stream_min);
              int ok = st == SMX_OK;
              for (size_t row = 0; row < rows; row++)
                for (size_t i = n; i < ld; i++) ok &= out[row * ld + i] == 0xbeef;
              if (c >= 0) /* (rows past `rows` of an in-place call still hold x) */
                checks++, ok &= !memcmp(got, ref, (inplace ? rows * ld : len) * 2) && !memcmp(lgot, lref, sizeof lref);
              if (!ok) {
                fprintf(stderr, "threads: 16-bit long rows: %s_%s, %zu x %zu, regimes from %s, ISA %d, %s%zu: %s\n",
                        k == 0 ? "softmax" : k == 1 ? "log_softmax" : k == 2 ? "logsumexp" : k == 3 ? "xent_softmax" : "xent_stablemax",
                        bf ? "bf16" : "f16", rows, n,
                        tu_regime_name(reg), isa, c < 3 ? "threads " : "parallel-for ", c < 0 ? 1 : c < 3 ? counts[c] : 2,
                        c < 0 ? "canary overwritten" : "differs from one thread (or a canary overwritten)");
                bad++;
              }
            }
      }
    }
  }
  free(x), free(h), free(ref), free(got);
  smx_set_isa(active);
  smx_set_num_threads(1);
  printf("threads: %ld 16-bit long-row calls (softmax, log-softmax, logsumexp, the softmax and stablemax cross-entropies; "
         "bf16 and f16; 1 and 3 rows of 2^16 + "
         "1029, every regime, every ISA here; in place on 7) on 2, 3, 7 threads and a parallel-for (on 3 and the "
         "parallel-for with their outputs streamed), %ld differ from one thread\n",
         checks, bad);
  return bad;
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
  for (size_t i = 0; i < MR * MN; i++) mx[i] = (float)(3.0 * tu_normal(&r)), mdy[i] = (float)tu_normal(&r);
  for (size_t i = 0; i < MR; i++) mt[i] = i % 11 == 5 ? -100 : (int64_t)(i * 7 % MN);
  bad += split_checks();
  bad += long_checks(&r);
  bad += long16_checks(&r);
  printf("%s\n", bad ? "0 passed, 1 failed" : "1 passed, 0 failed");
  return bad != 0;
}
