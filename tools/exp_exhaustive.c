/* smx-exp-check: exhaustive accuracy of the library's exp polynomial and its double log.

   exp:  every float x in [-104, 0] (1.12e9 values): smx_exp_core(x, 0, 0) against exp(x)
         from MPFR (96-bit, correctly rounded at that precision; the error is computed in MPFR
         too). Error in ulp as oracle_ulp: |y - ref| / ulp(max(ref, FLT_MIN)); a result +0 where
         exp(x) < 1.001 FLT_MIN is the documented flush and counts as 0.
   log:  smx_log64 on every float in [1, 2), every 61st float over all positive normal floats and
         2^22 random positive normal doubles (half of them in [0.5, 2]), against MPFR log at 128
         bits; error in double ulps: |y - ref| / 2^(floor(log2 |ref|) - 52).
   --fast uses libm (exp in double, logl) instead of MPFR: a quick sanity check (the libm
   reference adds up to ~2^-29 float ulp of its own error). Not run in CI: minutes of CPU.

   Progress on stderr (tools/progress.h): in place with the time left on a terminal, else a line at
   the start and the end of each sweep.

   usage: smx-exp-check [--fast] [--threads N] [--step K] [--exp-only | --log-only] */
#define _POSIX_C_SOURCE 200809L

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "progress.h"
#include "smx_internal.h"

#ifdef SMX_HAVE_MPFR
#include <mpfr.h>
#endif

static int use_mpfr = 1, nthreads = 2;
static uint64_t step = 1;

/* Waits for nthreads workers (counted in *finished), showing *done / total as the stage's progress. */
static void watch(smx_progress *p, _Atomic int *finished, _Atomic uint64_t *done, uint64_t base, uint64_t total) {
  const struct timespec ts = {0, 200000000};
  while (atomic_load(finished) < nthreads) {
    nanosleep(&ts, NULL);
    smx_progress_update(p, (double)(base + atomic_load(done)) / (double)total);
  }
}

static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* ---------------------------------------------------------------- exp */
/* The range as one index space: i = 0 is +0, i >= 1 the negative floats -0, ..., -104. */
#define EXP_NEG_FIRST 0x80000000u
#define EXP_NEG_LAST 0xc2d00000u /* -104.0f */
static const uint64_t exp_count = (uint64_t)(EXP_NEG_LAST - EXP_NEG_FIRST) + 2;
static float exp_arg(uint64_t i) { return i == 0 ? 0.0f : u2f(EXP_NEG_FIRST + (uint32_t)(i - 1)); }

#define NHIST 5
static const double hist_edge[NHIST] = {0.5, 0.51, 1.0, 2.0, 4.0}; /* counts of errors > edge */

typedef struct {
  int id;
  uint64_t lo, hi;  /* index range of this thread's work, by chunks */
  double max_ulp;   /* over every x */
  float max_x, max_y;
  double max_ref;
  double max_ulp_nf; /* over x whose exp is not flushed (ref >= 1.001 FLT_MIN) */
  float max_x_nf;
  uint64_t hist[NHIST], checked, flushed;
} exp_job;

static _Atomic uint64_t exp_progress; /* values done, for the progress line */
static _Atomic int exp_finished;    /* workers done */

static void *exp_worker(void *arg) {
  exp_job *j = arg;
#ifdef SMX_HAVE_MPFR
  mpfr_t X, E, Y, D;
  if (use_mpfr) mpfr_inits2(96, X, E, Y, D, (mpfr_ptr)0);
#endif
  const uint64_t chunk = 1u << 20;
  const double flush_lim = 1.001 * (double)FLT_MIN;
  for (uint64_t c0 = (uint64_t)j->id * chunk; c0 < exp_count; c0 += (uint64_t)nthreads * chunk) {
    uint64_t c1 = c0 + chunk < exp_count ? c0 + chunk : exp_count;
    for (uint64_t i = c0; i < c1; i += step) {
      float x = exp_arg(i);
      float y = smx_exp_core(x, 0.0f, 0.0f);
      double err, refd;
      int flushable;
#ifdef SMX_HAVE_MPFR
      if (use_mpfr) {
        mpfr_set_flt(X, x, MPFR_RNDN);
        mpfr_exp(E, X, MPFR_RNDN);
        refd = mpfr_get_d(E, MPFR_RNDN);
        flushable = mpfr_cmp_d(E, flush_lim) < 0;
        if (y == 0.0f && !signbit(y) && flushable) {
          err = 0.0;
        } else {
          long ue = flushable || mpfr_cmp_d(E, (double)FLT_MIN) < 0 ? -149 : (long)mpfr_get_exp(E) - 1 - 23;
          mpfr_set_flt(Y, y, MPFR_RNDN);
          mpfr_sub(D, Y, E, MPFR_RNDN);
          mpfr_abs(D, D, MPFR_RNDN);
          mpfr_mul_2si(D, D, -ue, MPFR_RNDN);
          err = mpfr_get_d(D, MPFR_RNDN);
        }
      } else
#endif
      {
        refd = exp((double)x);
        flushable = refd < flush_lim;
        if (y == 0.0f && !signbit(y) && flushable) {
          err = 0.0;
        } else {
          int e;
          double s = refd < (double)FLT_MIN ? (double)FLT_MIN : refd;
          (void)frexp(s, &e);
          err = fabs((double)y - refd) / ldexp(1.0, e - 1 - 23);
        }
      }
      j->checked++;
      if (y == 0.0f && flushable) j->flushed++;
      for (int h = 0; h < NHIST; h++) j->hist[h] += err > hist_edge[h];
      if (err > j->max_ulp || (err != err)) {
        j->max_ulp = err != err ? INFINITY : err;
        j->max_x = x; j->max_y = y; j->max_ref = refd;
      }
      if (!flushable && err > j->max_ulp_nf) { j->max_ulp_nf = err; j->max_x_nf = x; }
    }
    atomic_fetch_add(&exp_progress, c1 - c0);
  }
#ifdef SMX_HAVE_MPFR
  if (use_mpfr) { mpfr_clears(X, E, Y, D, (mpfr_ptr)0); mpfr_free_cache(); }
#endif
  atomic_fetch_add(&exp_finished, 1);
  return NULL;
}

static void run_exp(void) {
  pthread_t th[64];
  exp_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
  double t0 = smx_progress_now();
  printf("exp: smx_exp_core(x, 0, 0) for every float x in [-104, 0]%s against %s, %d threads\n",
         step > 1 ? " (sampled)" : "", use_mpfr ? "MPFR exp (96 bits)" : "libm exp (double)", nthreads);
  fflush(stdout);
  for (int t = 0; t < nthreads; t++) {
    jobs[t].id = t;
    pthread_create(&th[t], NULL, exp_worker, &jobs[t]);
  }
  smx_progress pr;
  smx_progress_begin(&pr, "smx-exp-check: exp sweep");
  watch(&pr, &exp_finished, &exp_progress, 0, exp_count);
  smx_progress_end(&pr);
  exp_job tot = {0};
  for (int t = 0; t < nthreads; t++) {
    pthread_join(th[t], NULL);
    exp_job *j = &jobs[t];
    tot.checked += j->checked;
    tot.flushed += j->flushed;
    for (int h = 0; h < NHIST; h++) tot.hist[h] += j->hist[h];
    if (j->max_ulp > tot.max_ulp || t == 0) {
      tot.max_ulp = j->max_ulp; tot.max_x = j->max_x; tot.max_y = j->max_y; tot.max_ref = j->max_ref;
    }
    if (j->max_ulp_nf > tot.max_ulp_nf || t == 0) { tot.max_ulp_nf = j->max_ulp_nf; tot.max_x_nf = j->max_x_nf; }
  }
  printf("  checked %llu values in %.1f s; %llu flushed to +0 (exp(x) < 1.001 FLT_MIN)\n",
         (unsigned long long)tot.checked, smx_progress_now() - t0, (unsigned long long)tot.flushed);
  printf("  max error %.6f ulp at x = %a (%.9g): y = %a, ref = %.17g\n", tot.max_ulp, (double)tot.max_x,
         (double)tot.max_x, (double)tot.max_y, tot.max_ref);
  printf("  max error where exp(x) >= 1.001 FLT_MIN: %.6f ulp at x = %a\n", tot.max_ulp_nf, (double)tot.max_x_nf);
  for (int h = 0; h < NHIST; h++)
    printf("  error > %-4g ulp: %llu values (%.4g%%)\n", hist_edge[h], (unsigned long long)tot.hist[h],
           100.0 * (double)tot.hist[h] / (double)tot.checked);
  fflush(stdout);
  free(jobs);
}

/* ---------------------------------------------------------------- log */
typedef struct {
  int id;
  int set; /* 0: [1, 2) floats; 1: every 61st positive normal float; 2: random doubles */
  double max_ulp, max_x, max_y;
  uint64_t checked, over_half;
} log_job;

static _Atomic uint64_t log_progress; /* values done in the current set */
static _Atomic int log_finished;

static uint64_t log_set_count(int set) {
  return set == 0 ? (1u << 23) : set == 1 ? (0x7f7fffffu - 0x00800000u) / 61 + 1 : (1u << 22);
}

static double log_arg(int set, uint64_t i) {
  if (set == 0) return (double)u2f(0x3f800000u + (uint32_t)i);
  if (set == 1) return (double)u2f(0x00800000u + (uint32_t)(i * 61));
  /* set 2: a hash of i as random bits; even i: any positive normal double, odd i: [0.5, 2] */
  uint64_t z = i * 0x9e3779b97f4a7c15ull + 0x1234567ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  uint64_t e = (i & 1) ? 1022 + (z >> 63) : 1 + (z >> 52) % 2046;
  uint64_t b = (e << 52) | (z & 0x000fffffffffffffull);
  double d;
  memcpy(&d, &b, 8);
  return d;
}

static void *log_worker(void *arg) {
  log_job *j = arg;
#ifdef SMX_HAVE_MPFR
  mpfr_t X, L, Y, D;
  if (use_mpfr) mpfr_inits2(128, X, L, Y, D, (mpfr_ptr)0);
#endif
  uint64_t cnt = log_set_count(j->set), tick = 0;
  for (uint64_t i = (uint64_t)j->id; i < cnt; i += (uint64_t)nthreads) {
    if (++tick == 1u << 16) { atomic_fetch_add(&log_progress, tick); tick = 0; }
    double x = log_arg(j->set, i), y = smx_log64(x), err;
#ifdef SMX_HAVE_MPFR
    if (use_mpfr) {
      mpfr_set_d(X, x, MPFR_RNDN);
      mpfr_log(L, X, MPFR_RNDN);
      if (mpfr_zero_p(L)) {
        err = y == 0.0 ? 0.0 : INFINITY;
      } else {
        long ue = (long)mpfr_get_exp(L) - 1 - 52;
        mpfr_set_d(Y, y, MPFR_RNDN);
        mpfr_sub(D, Y, L, MPFR_RNDN);
        mpfr_abs(D, D, MPFR_RNDN);
        mpfr_mul_2si(D, D, -ue, MPFR_RNDN);
        err = mpfr_get_d(D, MPFR_RNDN);
      }
    } else
#endif
    {
      long double l = logl((long double)x);
      if (l == 0.0L) {
        err = y == 0.0 ? 0.0 : INFINITY;
      } else {
        int e;
        (void)frexpl(fabsl(l), &e);
        err = (double)(fabsl((long double)y - l) / ldexpl(1.0L, e - 1 - 52));
      }
    }
    j->checked++;
    j->over_half += err > 0.5;
    if (err > j->max_ulp || err != err) { j->max_ulp = err != err ? INFINITY : err; j->max_x = x; j->max_y = y; }
  }
#ifdef SMX_HAVE_MPFR
  if (use_mpfr) { mpfr_clears(X, L, Y, D, (mpfr_ptr)0); mpfr_free_cache(); }
#endif
  atomic_fetch_add(&log_finished, 1);
  return NULL;
}

static void run_log(void) {
  static const char *const names[3] = {"every float in [1, 2)", "every 61st positive normal float",
                                       "2^22 random positive normal doubles (half in [0.5, 2])"};
  printf("log: smx_log64 against %s, %d threads\n", use_mpfr ? "MPFR log (128 bits)" : "libm logl (long double)", nthreads);
  fflush(stdout);
  uint64_t total = 0, base = 0;
  for (int set = 0; set < 3; set++) total += log_set_count(set);
  smx_progress pr;
  smx_progress_begin(&pr, "smx-exp-check: log sweep");
  for (int set = 0; set < 3; set++) {
    pthread_t th[64];
    log_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
    double t0 = smx_progress_now();
    for (int t = 0; t < nthreads; t++) {
      jobs[t].id = t;
      jobs[t].set = set;
      pthread_create(&th[t], NULL, log_worker, &jobs[t]);
    }
    watch(&pr, &log_finished, &log_progress, base, total);
    base += log_set_count(set);
    atomic_store(&log_progress, 0);
    atomic_store(&log_finished, 0);
    log_job tot = {0};
    for (int t = 0; t < nthreads; t++) {
      pthread_join(th[t], NULL);
      tot.checked += jobs[t].checked;
      tot.over_half += jobs[t].over_half;
      if (jobs[t].max_ulp > tot.max_ulp || t == 0) {
        tot.max_ulp = jobs[t].max_ulp; tot.max_x = jobs[t].max_x; tot.max_y = jobs[t].max_y;
      }
    }
    smx_progress_clear(&pr);
    printf("  %s: %llu values in %.1f s: max error %.4f double ulp at x = %a (y = %a); %llu above 0.5 ulp\n",
           names[set], (unsigned long long)tot.checked, smx_progress_now() - t0, tot.max_ulp, tot.max_x, tot.max_y,
           (unsigned long long)tot.over_half);
    fflush(stdout);
    free(jobs);
  }
  smx_progress_end(&pr);
}

int main(int argc, char **argv) {
  int do_exp = 1, do_log = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fast")) use_mpfr = 0;
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) nthreads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--step") && i + 1 < argc) step = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--exp-only")) do_log = 0;
    else if (!strcmp(argv[i], "--log-only")) do_exp = 0;
    else {
      fprintf(stderr, "usage: smx-exp-check [--fast] [--threads N] [--step K] [--exp-only | --log-only]\n"
                      "  exhaustive check of smx_exp_core over [-104, 0] and of smx_log64 (MPFR reference;\n"
                      "  --fast: libm reference; --step K: every K-th float of the exp range only)\n");
      return 2;
    }
  }
  if (nthreads < 1) nthreads = 1;
  if (nthreads > 64) nthreads = 64;
  if (step < 1) step = 1;
#ifndef SMX_HAVE_MPFR
  if (use_mpfr) {
    fprintf(stderr, "smx-exp-check: built without MPFR; using the libm reference (--fast)\n");
    use_mpfr = 0;
  }
#endif
  if (do_exp) run_exp();
  if (do_log) run_log();
  return 0;
}
