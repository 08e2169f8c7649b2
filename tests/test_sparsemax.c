/* sparsemax: exact support (y_i > 0 exactly where the oracle's y_i > 0, ties at the threshold
   excepted) and error <= 4 ulp of max(1, max_i |x_i|) (finite x_i), every size and regime;
   special values; layouts. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define BOUND 4.0

static double xscale(size_t n, const float *x) {
  double s = 1.0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]) && fabs((double)x[i]) > s) s = fabs((double)x[i]);
  return s;
}

/* Returns the number of support mismatches (the first few are logged). */
static size_t check_support(const char *ctx, size_t n, const float *x, const float *y, const double *ref, double tau,
                            double xs, size_t *ties) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    int rp = ref[i] > 0, yp = y[i] > 0;
    if (rp == yp || isnan(ref[i])) continue;
    if (oracle_sparsemax_tie(x[i], tau, xs)) { (*ties)++; continue; }
    if (rp && !yp && y[i] == 0.0f && !signbit(y[i]) && ref[i] < 1.001 * (double)FLT_MIN) continue; /* flush */
    if (bad++ < 3)
      cr_log_error("%s: support mismatch at [%zu]: x=%a y=%a ref=%.17g tau=%.17g", ctx, i, (double)x[i], (double)y[i],
                   ref[i], tau);
  }
  return bad;
}

Test(sparsemax, accuracy_and_support) {
  size_t ns, *sizes = tu_sizes(TU_HUGE, &ns), nmax = 0;
  for (size_t k = 0; k < ns; k++)
    if (sizes[k] > nmax) nmax = sizes[k];
  float *x = malloc(nmax * 4), *y = malloc(nmax * 4);
  double *ref = malloc(nmax * 8);
  char ctx[256], title[128];
  size_t total_bad = 0, ties = 0;
  for (int g = 0; g < TU_NREGIMES; g++) {
    tu_stat st = TU_STAT_INIT;
    for (size_t k = 0; k < ns; k++) {
      size_t n = sizes[k];
      uint64_t seed = tu_case_seed("sparsemax", n, g);
      tu_rng rng;
      tu_rng_seed(&rng, seed);
      tu_fill(&rng, g, n, x);
      cr_expect_eq(smx_sparsemax_f32(1, n, x, n, y, n), SMX_OK);
      double tau = oracle_sparsemax(n, x, ref), xs = xscale(n, x);
      tu_fmt(ctx, sizeof ctx, "sparsemax n=%zu regime=%s seed=0x%llx", n, tu_regime_name(g), (unsigned long long)seed);
      tu_check_row(&st, ctx, n, y, ref, NULL, xs, BOUND);
      total_bad += check_support(ctx, n, x, y, ref, tau, xs, &ties);
    }
    tu_report(tu_fmt(title, sizeof title, "sparsemax/%s (n up to %zu)", tu_regime_name(g), nmax), &st, BOUND);
  }
  fprintf(stderr, "[simdmax] sparsemax support: %zu mismatches, %zu ties at the threshold exempted\n", total_bad, ties);
  cr_expect(total_bad == 0, "sparsemax: %zu support mismatches", total_bad);
  free(x), free(y), free(ref), free(sizes);
}

/* Hand-made rows: exact ties at the threshold, all-equal rows, a support of one, huge and tiny
   magnitudes, many candidates within 1 of the max (the compaction path), -inf and +inf. */
Test(sparsemax, structured) {
  tu_stat st = TU_STAT_INIT;
  size_t bad = 0, ties = 0;
  char ctx[160];
  const size_t ns[] = {1, 2, 3, 5, 16, 17, 64, 65, 100, 1000, 1025, 5000};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (int kind = 0; kind < 9; kind++) {
      size_t n = ns[a];
      float *x = malloc(n * 4), *y = malloc(n * 4);
      double *ref = malloc(n * 8);
      for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = 0.5f; break;                                  /* all equal: 1/n each */
        case 1: x[i] = i == 0 ? 1.0f : 0.0f; break;                  /* tau = 0 exactly: tie */
        case 2: x[i] = (float)(n - i) / (float)n; break;             /* a ramp within 1 */
        case 3: x[i] = 1e6f + (float)(i % 7) * 0.125f; break;        /* large, dyadic steps */
        case 4: x[i] = (float)(i % 3) * 1e-30f; break;               /* tiny */
        case 5: x[i] = i == n / 2 ? 3.0f : -1e30f; break;            /* support of one */
        case 6: x[i] = (i & 1) ? -INFINITY : (float)i * 1e-3f; break;
        case 7: x[i] = 100.0f - (float)i * (1.0f / 1024.0f); break;  /* many candidates */
        case 8: x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f; break;
        }
      }
      cr_expect_eq(smx_sparsemax_f32(1, n, x, n, y, n), SMX_OK);
      double tau = oracle_sparsemax(n, x, ref), xs = xscale(n, x);
      tu_fmt(ctx, sizeof ctx, "sparsemax structured kind=%d n=%zu", kind, n);
      tu_check_row(&st, ctx, n, y, ref, NULL, xs, BOUND);
      bad += check_support(ctx, n, x, y, ref, tau, xs, &ties);
      free(x), free(y), free(ref);
    }
  tu_report("sparsemax/structured", &st, BOUND);
  fprintf(stderr, "[simdmax] sparsemax structured support: %zu mismatches, %zu ties exempted\n", bad, ties);
  cr_expect(bad == 0, "sparsemax structured: %zu support mismatches", bad);
}

Test(sparsemax, special_values) {
  const float qn = tu_from_bits(0x7fc00000u);
  float x[6] = {1.0f, 2.0f, -NAN, 0.0f, INFINITY, -INFINITY}, y[6];
  cr_expect_eq(smx_sparsemax_f32(1, 6, x, 6, y, 6), SMX_OK);
  for (int i = 0; i < 6; i++) cr_expect(tu_bits(y[i]) == tu_bits(qn), "NaN row: y[%d] bits 0x%08x", i, tu_bits(y[i]));
  float a[5] = {INFINITY, 1.0f, INFINITY, -INFINITY, INFINITY};
  cr_expect_eq(smx_sparsemax_f32(1, 5, a, 5, y, 5), SMX_OK);
  for (int i = 0; i < 5; i++) {
    float want = isinf(a[i]) && a[i] > 0 ? (float)(1.0 / 3.0) : 0.0f;
    cr_expect(tu_bits(y[i]) == tu_bits(want), "+inf x3: y[%d] = %a want %a", i, (double)y[i], (double)want);
  }
  float m[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  cr_expect_eq(smx_sparsemax_f32(1, 4, m, 4, y, 4), SMX_OK);
  for (int i = 0; i < 4; i++) cr_expect(tu_bits(y[i]) == 0u, "all -inf: y[%d] = %a want +0", i, (double)y[i]);
  const float ones[] = {0.0f, -7.0f, 1e30f, -INFINITY, INFINITY, FLT_MAX};
  for (int i = 0; i < 6; i++) {
    float v = ones[i], o = -1.0f;
    cr_expect_eq(smx_sparsemax_f32(1, 1, &v, 1, &o, 1), SMX_OK);
    float want = isinf(v) && v < 0 ? 0.0f : 1.0f;
    cr_expect(tu_bits(o) == tu_bits(want), "n=1 x=%a: y=%a want %a", (double)v, (double)o, (double)want);
  }
}

Test(sparsemax, layouts) { tu_forward_layouts("sparsemax", smx_sparsemax_f32); }
