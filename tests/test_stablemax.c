/* stablemax <= 2 ulp and log_stablemax <= 4 ulp against the oracle, every size and regime; no overflow up
   to FLT_MAX; log_stablemax accurate where one entry dominates; special values; layouts; every ISA's s(x) equal to
   the division's. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smx_internal.h"
#include "testutil.h"

#define BOUND 4.0
#define STABLE_BOUND 2.0 /* stablemax: s(x) and 2^64 / S as float pairs, one final rounding (0.5 ulp measured) */

Test(stablemax, accuracy) {
  tu_forward_accuracy("stablemax", smx_stablemax_f32, oracle_stablemax, STABLE_BOUND, TU_HUGE);
}
Test(log_stablemax, accuracy) {
  tu_forward_accuracy("log_stablemax", smx_log_stablemax_f32, oracle_log_stablemax, BOUND, TU_HUGE);
}

/* Huge logits (no max subtraction: s(x) up to FLT_MAX + 1, the sum must not overflow), one
   dominant entry (log_stablemax near 0 must come from log1p of the others), tiny and subnormal. */
Test(stablemax, extremes) {
  tu_stat st = TU_STAT_INIT, sl = TU_STAT_INIT;
  char ctx[160];
  const size_t ns[] = {1, 2, 3, 16, 17, 64, 65, 1000, 4097};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (int kind = 0; kind < 8; kind++) {
      size_t n = ns[a];
      float *x = malloc(n * 4), *y = malloc(n * 4);
      double *ref = malloc(n * 8);
      for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = FLT_MAX; break;
        case 1: x[i] = (i & 1) ? FLT_MAX : -FLT_MAX; break;
        case 2: x[i] = i == 0 ? 1e30f : (float)(i % 5); break;       /* dominant: log ~ -n 1e-30 */
        case 3: x[i] = i == n - 1 ? 3e7f : -(float)i; break;
        case 4: x[i] = (float)(i % 3) * 1e-40f; break;              /* subnormal */
        case 5: x[i] = -1e30f * (float)(i + 1); break;              /* all tiny s */
        case 6: x[i] = i == 1 ? 0.0f : -FLT_MAX; break;
        case 7: x[i] = (float)i - (float)n / 2; break;
        }
      }
      cr_expect_eq(smx_stablemax_f32(1, n, x, n, y, n), SMX_OK);
      oracle_stablemax(n, x, ref);
      tu_check_row(&st, tu_fmt(ctx, sizeof ctx, "stablemax extremes kind=%d n=%zu", kind, n), n, y, ref, NULL, 0, STABLE_BOUND);
      cr_expect_eq(smx_log_stablemax_f32(1, n, x, n, y, n), SMX_OK);
      oracle_log_stablemax(n, x, ref);
      tu_check_row(&sl, tu_fmt(ctx, sizeof ctx, "log_stablemax extremes kind=%d n=%zu", kind, n), n, y, ref, NULL, 0,
                   BOUND);
      free(x), free(y), free(ref);
    }
  tu_report("stablemax/extremes", &st, STABLE_BOUND);
  tu_report("log_stablemax/extremes", &sl, BOUND);
}

Test(stablemax, special_values) {
  const float qn = tu_from_bits(0x7fc00000u);
  float x[6] = {1.0f, 2.0f, NAN, 0.0f, INFINITY, -INFINITY}, y[6];
  cr_expect_eq(smx_stablemax_f32(1, 6, x, 6, y, 6), SMX_OK);
  for (int i = 0; i < 6; i++) cr_expect(tu_bits(y[i]) == tu_bits(qn), "stablemax NaN row: y[%d] 0x%08x", i, tu_bits(y[i]));
  cr_expect_eq(smx_log_stablemax_f32(1, 6, x, 6, y, 6), SMX_OK);
  for (int i = 0; i < 6; i++)
    cr_expect(tu_bits(y[i]) == tu_bits(qn), "log_stablemax NaN row: y[%d] 0x%08x", i, tu_bits(y[i]));
  float a[5] = {INFINITY, 1e30f, INFINITY, -INFINITY, -3.0f};
  cr_expect_eq(smx_stablemax_f32(1, 5, a, 5, y, 5), SMX_OK);
  for (int i = 0; i < 5; i++) {
    float want = isinf(a[i]) && a[i] > 0 ? 0.5f : 0.0f;
    cr_expect(tu_bits(y[i]) == tu_bits(want), "stablemax +inf x2: y[%d] = %a want %a", i, (double)y[i], (double)want);
  }
  cr_expect_eq(smx_log_stablemax_f32(1, 5, a, 5, y, 5), SMX_OK);
  for (int i = 0; i < 5; i++) {
    double want = isinf(a[i]) && a[i] > 0 ? -log(2.0) : -INFINITY;
    cr_expect(oracle_ulp(y[i], want) <= BOUND, "log_stablemax +inf x2: y[%d] = %a want %.17g", i, (double)y[i], want);
  }
  float m[70];
  for (int i = 0; i < 70; i++) m[i] = -INFINITY;
  float ym[70];
  cr_expect_eq(smx_stablemax_f32(1, 70, m, 70, ym, 70), SMX_OK);
  for (int i = 0; i < 70; i++) cr_expect(tu_bits(ym[i]) == 0u, "stablemax all -inf: y[%d] = %a", i, (double)ym[i]);
  cr_expect_eq(smx_log_stablemax_f32(1, 70, m, 70, ym, 70), SMX_OK);
  for (int i = 0; i < 70; i++)
    cr_expect(isinf(ym[i]) && ym[i] < 0, "log_stablemax all -inf: y[%d] = %a", i, (double)ym[i]);
  const float ones[] = {0.0f, -7.0f, 1e30f, FLT_MAX, -FLT_MAX, INFINITY};
  for (int i = 0; i < 6; i++) {
    float v = ones[i], o = -1.0f;
    cr_expect_eq(smx_stablemax_f32(1, 1, &v, 1, &o, 1), SMX_OK);
    cr_expect(o == 1.0f, "stablemax n=1 x=%a: %a", (double)v, (double)o);
    cr_expect_eq(smx_log_stablemax_f32(1, 1, &v, 1, &o, 1), SMX_OK);
    cr_expect(o == 0.0f, "log_stablemax n=1 x=%a: %a", (double)v, (double)o);
  }
}

/* Never above 1 (issue 10): one-entry rows give exactly 1, {v, v} exactly 0.5 each, and the backward of a
   one-entry row exactly 0; random rows never exceed 1. */
Test(stablemax, never_above_one) {
  tu_rng rng;
  tu_rng_seed(&rng, tu_case_seed("stablemax_le1", 0, 0));
  size_t bad = 0;
  for (int i = 0; i < 20000; i++) {
    float v = i == 0 ? -0.5251737f : (float)(i & 1 ? tu_uniform(&rng, -40.0, 0.0) : 3.0 * tu_normal(&rng));
    float x2[2] = {v, v}, y2[2], y1 = 0.0f, dy = 0.7f, dx = 1.0f;
    cr_assert_eq(smx_stablemax_f32(1, 1, &v, 1, &y1, 1), SMX_OK);
    cr_assert_eq(smx_stablemax_f32(1, 2, x2, 2, y2, 2), SMX_OK);
    cr_assert_eq(smx_stablemax_backward_f32(1, 1, &v, 1, &y1, 1, &dy, 1, &dx, 1), SMX_OK);
    if (tu_bits(y1) != tu_bits(1.0f) || tu_bits(y2[0]) != tu_bits(0.5f) || tu_bits(y2[1]) != tu_bits(0.5f) || dx != 0.0f) {
      if (bad++ < 4)
        cr_log_error("x = %a: {x} -> %a, {x, x} -> %a %a, backward dy=0.7 -> %a", (double)v, (double)y1, (double)y2[0],
                     (double)y2[1], (double)dx);
    }
  }
  for (int r = 0; r < 2000; r++) {
    size_t n = 1 + tu_below(&rng, 5);
    float x[5], y[5];
    for (size_t i = 0; i < n; i++) x[i] = (float)(r & 1 ? tu_uniform(&rng, -1.0, 0.0) : 30.0 * tu_normal(&rng));
    cr_assert_eq(smx_stablemax_f32(1, n, x, n, y, n), SMX_OK);
    for (size_t i = 0; i < n; i++)
      if (y[i] > 1.0f && bad++ < 8) cr_log_error("n=%zu: y[%zu] = %a > 1", n, i, (double)y[i]);
  }
  cr_expect(bad == 0, "stablemax: %zu rows above 1 or not exact", bad);
}

/* the lanes of stable_lanes over 16 entries against smx_stable_s64; the first differences logged */
static size_t s_lanes_differ(smx_isa isa, const float x[16], size_t logged) {
  double lanes[SMX_DLANES] = {0}, ties = 0.0;
  size_t differ = 0;
  smx_kernels_for(isa)->stable_lanes(16, x, NAN, lanes, &ties);
  for (int l = 0; l < 16; l++) {
    const double ref = smx_stable_s64(x[l]);
    if (memcmp(&lanes[l], &ref, sizeof ref) && differ++ + logged < 5)
      cr_log_error("%s: s(%a) = %a, the division gives %a", smx_isa_name(isa), (double)x[l], lanes[l], ref);
  }
  return differ;
}
/* Every ISA's s(x) has the bits of smx_stable_s64, the division 1 / (1 - x) (AVX-512 on Intel forms it by Newton
   steps: both forms checked on any CPU), on every 61st float below zero, the edges of the Newton form (-2^126,
   -FLT_MAX, the reciprocal's range), -inf, +-0, subnormals and positives; every negative float with
   SMX_TEST_EXHAUSTIVE=1 (30 s a form). */
Test(stablemax, s_lanes_are_the_division) {
  static const float fixed[] = {-0.0f, 0.0f, -0x1p-149f, -0x1p-126f, -0x1p-64f, -0x1p-27f, -0x1.000008p-27f, -1.0f,
                                -0x1.fffffep0f, -0x1p62f, -0x1p64f, -0x1p126f, -0x1.fffffep126f, -0x1p127f,
                                -FLT_MAX, -INFINITY, 1.0f, 0x1p-149f, 3.5f, FLT_MAX, 0x1p100f};
  const size_t nfixed = sizeof fixed / sizeof fixed[0];
  const uint32_t step = getenv("SMX_TEST_EXHAUSTIVE") ? 1u : tu_quick() ? 1021u : 61u, last = 0xff800000u; /* -inf */
  size_t checked = 0, differ = 0;
  const int cpu_form = (smx_active_kernels(), smx_recip64_newton); /* (set with the tables) */
  for (int form = 0; form < 2 * SMX_ISA_COUNT; form++) {
    const int is = form / 2;
    smx_recip64_newton = form % 2;
    if (!smx_isa_supported((smx_isa)is)) continue;
    float x[16];
    for (size_t f = 0; f < nfixed; f += 16, checked += 16) {
      for (int l = 0; l < 16; l++) x[l] = fixed[(f + l) % nfixed];
      differ += s_lanes_differ((smx_isa)is, x, differ);
    }
    for (uint64_t u = 0x80000000u; u <= last; u += 16 * (uint64_t)step, checked += 16) {
      for (int l = 0; l < 16; l++) x[l] = tu_from_bits((uint32_t)(u + l * step <= last ? u + l * step : last));
      differ += s_lanes_differ((smx_isa)is, x, differ);
    }
  }
  smx_recip64_newton = cpu_form;
  fprintf(stderr, "[simdmax] stablemax s(x) lanes: %zu checked, %zu differ\n", checked, differ);
  cr_expect_eq(differ, 0);
}

/* Probabilities just below FLT_MIN where 1 + |x| is still below the clamp K = c_hi 2^63 (P in (2^-127, 2^-126):
   x ~ -k 2^126 beside one 0, so S ~ 1): +0 by the FLT_MIN rule (and 1 at the 0) on every ISA, for one row
   (the row's steps, pairs of steps and tail) and for 16 rows (short rows in lanes). The AVX-512 output skips the
   clamp's and the flush's selects on steps that need neither (vstable_pb), so these steps must take them. */
Test(stablemax, flush_below_clamp) {
  const size_t ns[] = {2, 7, 16, 17, 31, 32, 33, 48, 64, 100, 1000};
  const size_t rows = 16;
  size_t bad = 0;
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
    const size_t n = ns[a];
    float *x = malloc(rows * n * 4), *y = malloc(rows * n * 4);
    for (size_t r = 0; r < rows; r++)
      for (size_t i = 0; i < n; i++)
        x[r * n + i] = i == r % n ? 0.0f : -(1.0f + (float)(1 + (i + r) % 7) / 8.0f) * 0x1p126f; /* P < 2^-126 / 1.1 */
    for (int is = 0; is < SMX_ISA_COUNT; is++) {
      if (!smx_isa_supported((smx_isa)is)) continue;
      for (size_t g = 1; g <= rows; g += rows - 1) { /* one row, then 16 */
        smx_kernels_for((smx_isa)is)->stablemax(g, n, x, n, y, n);
        for (size_t j = 0; j < g * n; j++) {
          const int top = j % n == (j / n) % n;
          const float expect = top ? 1.0f : 0.0f;
          if (tu_bits(y[j]) != tu_bits(expect) && bad++ < 5)
            cr_log_error("%s rows=%zu n=%zu: y[%zu] = %a, want %a", smx_isa_name((smx_isa)is), g, n, j, (double)y[j],
                         (double)expect);
        }
      }
    }
    free(x), free(y);
  }
  cr_expect_eq(bad, 0, "%zu outputs not +0 / 1", bad);
}

Test(stablemax, layouts) { tu_forward_layouts("stablemax", smx_stablemax_f32); }
Test(log_stablemax, layouts) { tu_forward_layouts("log_stablemax", smx_log_stablemax_f32); }
