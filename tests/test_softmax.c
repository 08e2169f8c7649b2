/* softmax, log_softmax, logsumexp: accuracy against the oracle (<= 4 ulp; logsumexp <= 4 ulp of
   max(|ref|, |max_i x_i|)) over every size and input regime, special values per the header
   rules, and every memory layout. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define BOUND 4.0

Test(softmax, accuracy) {
  tu_forward_accuracy("softmax", smx_softmax_f32, oracle_softmax, BOUND, TU_HUGE | TU_HUGE_QUICK | TU_NO_PM1E30);
}

Test(log_softmax, accuracy) {
  tu_forward_accuracy("log_softmax", smx_log_softmax_f32, oracle_log_softmax, BOUND, TU_HUGE);
}

Test(logsumexp, accuracy) {
  size_t ns, *sizes = tu_sizes(TU_HUGE, &ns), nmax = 0;
  for (size_t k = 0; k < ns; k++)
    if (sizes[k] > nmax) nmax = sizes[k];
  float *x = malloc(nmax * sizeof *x);
  char ctx[256], title[128];
  for (int g = 0; g < TU_NREGIMES; g++) {
    tu_stat st = TU_STAT_INIT;
    for (size_t k = 0; k < ns; k++) {
      size_t n = sizes[k];
      uint64_t seed = tu_case_seed("logsumexp", n, g);
      tu_rng rng;
      tu_rng_seed(&rng, seed);
      tu_fill(&rng, g, n, x);
      float lse = 0.0f;
      cr_expect_eq(smx_logsumexp_f32(1, n, x, n, &lse), SMX_OK);
      double ref = oracle_logsumexp(n, x), mx;
      /* scale: |max_i x_i| (the largest logit, not the largest magnitude) */
      float m = -INFINITY;
      for (size_t i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
      mx = isfinite(m) ? fabs((double)m) : 0.0;
      tu_fmt(ctx, sizeof ctx, "logsumexp n=%zu regime=%s seed=0x%llx", n, tu_regime_name(g), (unsigned long long)seed);
      tu_check_one(&st, ctx, lse, ref, mx, BOUND);
    }
    tu_report(tu_fmt(title, sizeof title, "logsumexp/%s (n up to %zu)", tu_regime_name(g), nmax), &st, BOUND);
  }
  free(x);
  free(sizes);
}

/* ---- special values, exactly as the header states them ---- */
static void expect_bits(const char *what, size_t n, const float *y, const float *want) {
  size_t first = 0;
  cr_expect(tu_bits_equal(y, want, n, &first), "%s: [%zu] got %a (0x%08x), want %a (0x%08x)", what, first,
            (double)y[first], tu_bits(y[first]), (double)want[first], tu_bits(want[first]));
}

Test(softmax, special_nan_row) {
  const float qn = tu_from_bits(0x7fc00000u);
  float x[5] = {1.0f, NAN, 3.0f, INFINITY, -INFINITY}, y[5], want[5] = {qn, qn, qn, qn, qn}, lse;
  x[1] = -NAN; /* sign and payload of the input NaN must not leak */
  cr_expect_eq(smx_softmax_f32(1, 5, x, 5, y, 5), SMX_OK);
  expect_bits("softmax NaN row", 5, y, want);
  cr_expect_eq(smx_log_softmax_f32(1, 5, x, 5, y, 5), SMX_OK);
  expect_bits("log_softmax NaN row", 5, y, want);
  cr_expect_eq(smx_logsumexp_f32(1, 5, x, 5, &lse), SMX_OK);
  expect_bits("logsumexp NaN row", 1, &lse, want);
  float x1 = NAN;
  cr_expect_eq(smx_softmax_f32(1, 1, &x1, 1, y, 1), SMX_OK);
  expect_bits("softmax n=1 NaN", 1, y, want);
}

Test(softmax, special_all_neginf) {
  const size_t ns[] = {1, 2, 7, 64, 65, 1000, 1025};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
    size_t n = ns[k];
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4), *mi = malloc(n * 4), lse;
    for (size_t i = 0; i < n; i++) x[i] = -INFINITY, z[i] = 0.0f, mi[i] = -INFINITY;
    cr_expect_eq(smx_softmax_f32(1, n, x, n, y, n), SMX_OK);
    expect_bits("softmax all -inf -> +0", n, y, z);
    cr_expect_eq(smx_log_softmax_f32(1, n, x, n, y, n), SMX_OK);
    expect_bits("log_softmax all -inf -> -inf", n, y, mi);
    cr_expect_eq(smx_logsumexp_f32(1, n, x, n, &lse), SMX_OK);
    expect_bits("logsumexp all -inf -> -inf", 1, &lse, mi);
    free(x), free(y), free(z), free(mi);
  }
}

Test(softmax, special_posinf) {
  /* k entries +inf: 1/k there and 0 elsewhere; log: -log k and -inf; lse +inf */
  const size_t n = 300;
  float x[300], y[300], lse;
  for (size_t k = 1; k <= 5; k++) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((int)(i % 17) - 8);
    x[n - 1] = -INFINITY;
    for (size_t j = 0; j < k; j++) x[(j * 61 + 3) % (n - 1)] = INFINITY;
    cr_expect_eq(smx_softmax_f32(1, n, x, n, y, n), SMX_OK);
    for (size_t i = 0; i < n; i++) {
      float want = isinf(x[i]) && x[i] > 0 ? (float)(1.0 / (double)k) : 0.0f;
      cr_expect(tu_bits(y[i]) == tu_bits(want), "softmax k=%zu +inf: [%zu] got %a want %a", k, i, (double)y[i],
                (double)want);
    }
    cr_expect_eq(smx_log_softmax_f32(1, n, x, n, y, n), SMX_OK);
    for (size_t i = 0; i < n; i++) {
      double want = isinf(x[i]) && x[i] > 0 ? -log((double)k) : -INFINITY;
      double e = oracle_ulp(y[i], want);
      cr_expect(e <= BOUND, "log_softmax k=%zu +inf: [%zu] got %a want %.17g (%.3g ulp)", k, i, (double)y[i], want,
                e);
    }
    cr_expect_eq(smx_logsumexp_f32(1, n, x, n, &lse), SMX_OK);
    cr_expect(isinf(lse) && lse > 0, "logsumexp with +inf: got %a", (double)lse);
  }
}

Test(softmax, special_n1) {
  const float xs[] = {0.0f, -0.0f, 1.0f, -1e30f, 1e30f, FLT_MAX, -FLT_MAX, 88.5f, -103.0f, FLT_MIN, 1e-45f, -INFINITY,
                      INFINITY};
  for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
    float x = xs[k], y = -1.0f;
    cr_expect_eq(smx_softmax_f32(1, 1, &x, 1, &y, 1), SMX_OK);
    float want = isinf(x) && x < 0 ? 0.0f : 1.0f;
    cr_expect(tu_bits(y) == tu_bits(want), "softmax n=1 x=%a: got %a want %a", (double)x, (double)y, (double)want);
    cr_expect_eq(smx_log_softmax_f32(1, 1, &x, 1, &y, 1), SMX_OK);
    want = isinf(x) && x < 0 ? -INFINITY : 0.0f;
    cr_expect(y == want, "log_softmax n=1 x=%a: got %a want %a", (double)x, (double)y,
              (double)want);
  }
}

Test(logsumexp, special_n1) {
  const float xs[] = {0.0f, 1.0f, -1e30f, 1e30f, FLT_MAX, -FLT_MAX, 88.5f, -103.0f, FLT_MIN, -INFINITY, INFINITY};
  for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
    float x = xs[k], lse = -1.0f;
    cr_expect_eq(smx_logsumexp_f32(1, 1, &x, 1, &lse), SMX_OK);
    cr_expect(tu_bits(lse) == tu_bits(x), "logsumexp n=1 x=%a: got %a", (double)x, (double)lse);
  }
}

Test(softmax, extremes) {
  /* FLT_MAX logits (no overflow: max subtraction), ties at the max, differences near the exp
     cutoff, subnormal logits. Bound as everywhere: 4 ulp. */
  static const float rows[][6] = {
      {FLT_MAX, FLT_MAX, 0.0f, -FLT_MAX, 1.0f, FLT_MAX},
      {0.0f, -87.0f, -87.33f, -87.34f, -87.5f, -103.0f},
      {1e-45f, -1e-45f, 1e-40f, 0.0f, -0.0f, FLT_MIN},
      {50.0f, 50.0f, 50.0f, 50.0f, 50.0f, 50.0f},
      {-1e30f, 1e30f, -1e30f, 1e30f, 0.0f, 1.0f},
      {88.7f, 88.7f, 0.0f, -88.0f, 20.0f, 40.0f},
  };
  tu_stat st = TU_STAT_INIT, sl = TU_STAT_INIT, se = TU_STAT_INIT;
  char ctx[128];
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    float y[6], lse;
    double ref[6];
    tu_fmt(ctx, sizeof ctx, "softmax extremes row %zu", r);
    cr_expect_eq(smx_softmax_f32(1, 6, rows[r], 6, y, 6), SMX_OK);
    oracle_softmax(6, rows[r], ref);
    tu_check_row(&st, ctx, 6, y, ref, NULL, 0.0, BOUND);
    tu_fmt(ctx, sizeof ctx, "log_softmax extremes row %zu", r);
    cr_expect_eq(smx_log_softmax_f32(1, 6, rows[r], 6, y, 6), SMX_OK);
    oracle_log_softmax(6, rows[r], ref);
    tu_check_row(&sl, ctx, 6, y, ref, NULL, 0.0, BOUND);
    tu_fmt(ctx, sizeof ctx, "logsumexp extremes row %zu", r);
    cr_expect_eq(smx_logsumexp_f32(1, 6, rows[r], 6, &lse), SMX_OK);
    float m = rows[r][0];
    for (int i = 1; i < 6; i++) m = rows[r][i] > m ? rows[r][i] : m;
    tu_check_one(&se, ctx, lse, oracle_logsumexp(6, rows[r]), fabs((double)m), BOUND);
  }
  tu_report("softmax/extremes", &st, BOUND);
  tu_report("log_softmax/extremes", &sl, BOUND);
  tu_report("logsumexp/extremes", &se, BOUND);
}

/* Log-softmax of rows of 4 steps and more reaching +-FLT_MAX and +-1e30: x - lse overflows to -inf where the row
   spans more than FLT_MAX (no NaN from the error term of a difference that overflowed), every ISA equal to scalar. */
Test(log_softmax, extremes_long_rows) {
  static const size_t lens[] = {64, 70, 300};
  static const float hi[] = {FLT_MAX, 0x1p127f, 1e30f};
  float x[300], ref[300], y[300];
  size_t fails = 0;
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
    for (size_t hj = 0; hj < sizeof hi / sizeof hi[0]; hj++) {
      const size_t n = lens[li];
      for (size_t i = 0; i < n; i++) x[i] = i % 3 == 0 ? hi[hj] : i % 3 == 1 ? -hi[hj] : (float)i;
      smx_set_isa(SMX_ISA_SCALAR);
      cr_assert_eq(smx_log_softmax_f32(1, n, x, n, ref, n), SMX_OK);
      for (size_t i = 0; i < n; i++) {
        const int over = hj < 2 && i % 3 == 1; /* -hi - lse below -FLT_MAX */
        cr_expect(over ? ref[i] == -INFINITY : isfinite(ref[i]), "n = %zu, x[%zu] = %g: %g", n, i, (double)x[i],
                  (double)ref[i]);
      }
      for (int isa = 1; isa < SMX_ISA_COUNT; isa++) {
        if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
        cr_assert_eq(smx_log_softmax_f32(1, n, x, n, y, n), SMX_OK);
        if (memcmp(y, ref, n * sizeof *y)) {
          fails++;
          cr_log_error("log_softmax n = %zu, max %g on ISA %s differs from scalar", n, (double)hi[hj],
                       smx_isa_name((smx_isa)isa));
        }
      }
    }
  smx_set_isa(SMX_ISA_SCALAR);
  cr_expect_eq(fails, 0);
}

Test(softmax, layouts) { tu_forward_layouts("softmax", smx_softmax_f32); }
Test(log_softmax, layouts) { tu_forward_layouts("log_softmax", smx_log_softmax_f32); }

Test(logsumexp, layouts) {
  /* rows > 1 with ldx > n, canaries around x, and lse[rows] with canaries around it */
  static const size_t pads[] = {0, 1, 7, 64};
  for (size_t si = 0; si < tu_layout_nsizes; si++) {
    size_t n = tu_layout_sizes[si];
    for (size_t pi = 0; pi < 4; pi++)
      for (int mis = 0; mis < 2; mis++) {
        const size_t rows = 4, ld = n + pads[pi];
        tu_rng rng;
        uint64_t seed = tu_case_seed("logsumexp-layout", n * 10 + pi * 2 + (size_t)mis, 0);
        tu_rng_seed(&rng, seed);
        tu_mat X, L;
        tu_mat_alloc(&X, rows, n, ld, mis);
        tu_mat_alloc(&L, 1, rows, rows, !mis);
        float alone[4];
        for (size_t r = 0; r < rows; r++) {
          tu_fill(&rng, (int)(r == 1 ? TU_NEGINF : r == 2 ? TU_LARGE : TU_WIDE), n, tu_row(&X, r));
          smx_logsumexp_f32(1, n, tu_row(&X, r), n, &alone[r]);
        }
        cr_expect_eq(smx_logsumexp_f32(rows, n, X.m, ld, L.m), SMX_OK);
        size_t first;
        long where;
        cr_expect(tu_bits_equal(L.m, alone, rows, &first), "logsumexp layout n=%zu ld=%zu: row %zu differs; seed 0x%llx",
                  n, ld, first, (unsigned long long)seed);
        cr_expect(tu_mat_canaries_ok(&X, &where), "logsumexp layout n=%zu: x canary %ld", n, where);
        cr_expect(tu_mat_canaries_ok(&L, &where), "logsumexp layout n=%zu: lse canary %ld", n, where);
        tu_mat_free(&X);
        tu_mat_free(&L);
      }
  }
}
