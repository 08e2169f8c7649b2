/* Backward kernels (softmax, log_softmax, sparsemax, stablemax): error <= 8 ulp of the sum of the
   magnitudes of the terms (mag_i of the oracle, e.g. softmax: |y_i dy_i| + |y_i| sum_j |y_j dy_j|),
   over every size and input regime; special values; every memory layout incl. in place. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define BOUND 8.0

typedef smx_status (*bw_fn)(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                            const float *dy, size_t lddy, float *dx, size_t lddx);
typedef void (*bw_ref)(size_t n, const float *x, const float *y, const float *dy, double *dx, double *mag);

static smx_status w_softmax(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                            const float *dy, size_t lddy, float *dx, size_t lddx) {
  (void)x, (void)ldx;
  return smx_softmax_backward_f32(rows, n, y, ldy, dy, lddy, dx, lddx);
}
static smx_status w_log_softmax(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                                const float *dy, size_t lddy, float *dx, size_t lddx) {
  (void)x, (void)ldx;
  return smx_log_softmax_backward_f32(rows, n, y, ldy, dy, lddy, dx, lddx);
}
static smx_status w_sparsemax(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                              const float *dy, size_t lddy, float *dx, size_t lddx) {
  (void)x, (void)ldx;
  return smx_sparsemax_backward_f32(rows, n, y, ldy, dy, lddy, dx, lddx);
}
static smx_status w_stablemax(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                              const float *dy, size_t lddy, float *dx, size_t lddx) {
  return smx_stablemax_backward_f32(rows, n, x, ldx, y, ldy, dy, lddy, dx, lddx);
}
static void r_softmax(size_t n, const float *x, const float *y, const float *dy, double *dx, double *mag) {
  (void)x;
  oracle_softmax_backward(n, y, dy, dx, mag);
}
static void r_log_softmax(size_t n, const float *x, const float *y, const float *dy, double *dx, double *mag) {
  (void)x;
  oracle_log_softmax_backward(n, y, dy, dx, mag);
}
static void r_sparsemax(size_t n, const float *x, const float *y, const float *dy, double *dx, double *mag) {
  (void)x;
  oracle_sparsemax_backward(n, y, dy, dx, mag);
}
static void f_sparsemax(size_t n, const float *x, double *y) { (void)oracle_sparsemax(n, x, y); }

typedef struct {
  const char *name;
  bw_fn fn;
  bw_ref ref;
  tu_fwd_ref fwd; /* the forward oracle that makes y from x (rounded to float) */
  int uses_x;
  int skip_posinf; /* +inf logits: backward behaviour not specified by the header */
} bw_kernel;

static const bw_kernel K_SOFTMAX = {"softmax_backward", w_softmax, r_softmax, oracle_softmax, 0, 0};
static const bw_kernel K_LOG_SOFTMAX = {"log_softmax_backward", w_log_softmax, r_log_softmax, oracle_log_softmax, 0, 0};
static const bw_kernel K_SPARSEMAX = {"sparsemax_backward", w_sparsemax, r_sparsemax, f_sparsemax, 0, 0};
static const bw_kernel K_STABLEMAX = {"stablemax_backward", w_stablemax, oracle_stablemax_backward, oracle_stablemax,
                                      1, 1};

/* x from the regime, y = float(forward oracle(x)), dy ~ N(0, 1) (for the NaN regime half the
   cases put the NaN into dy instead of x). */
static void make_inputs(const bw_kernel *k, tu_rng *rng, int g, size_t n, float *x, float *y, float *dy, double *tmp) {
  int nan_in_dy = g == TU_NAN && (tu_next(rng) & 1);
  tu_fill(rng, nan_in_dy ? TU_NARROW : g, n, x);
  k->fwd(n, x, tmp);
  for (size_t i = 0; i < n; i++) y[i] = (float)tmp[i];
  for (size_t i = 0; i < n; i++) dy[i] = (float)tu_normal(rng);
  if (nan_in_dy) dy[tu_below(rng, n)] = NAN;
}

static void accuracy(const bw_kernel *k) {
  size_t ns, *sizes = tu_sizes(TU_HUGE, &ns), nmax = 0;
  for (size_t i = 0; i < ns; i++)
    if (sizes[i] > nmax) nmax = sizes[i];
  float *x = malloc(nmax * 4), *y = malloc(nmax * 4), *dy = malloc(nmax * 4), *dx = malloc(nmax * 4);
  double *ref = malloc(nmax * 8), *mag = malloc(nmax * 8);
  char ctx[256], title[128];
  for (int g = 0; g < TU_NREGIMES; g++) {
    if (k->skip_posinf && g == TU_POSINF) continue;
    tu_stat st = TU_STAT_INIT;
    for (size_t s = 0; s < ns; s++) {
      size_t n = sizes[s];
      uint64_t seed = tu_case_seed(k->name, n, g);
      tu_rng rng;
      tu_rng_seed(&rng, seed);
      make_inputs(k, &rng, g, n, x, y, dy, ref);
      smx_status rc = k->fn(1, n, x, n, y, n, dy, n, dx, n);
      cr_expect_eq(rc, SMX_OK, "%s n=%zu: status %d", k->name, n, (int)rc);
      k->ref(n, x, y, dy, ref, mag);
      tu_fmt(ctx, sizeof ctx, "%s n=%zu regime=%s seed=0x%llx", k->name, n, tu_regime_name(g),
             (unsigned long long)seed);
      tu_check_row(&st, ctx, n, dx, ref, mag, 0.0, BOUND);
    }
    tu_report(tu_fmt(title, sizeof title, "%s/%s (n up to %zu)", k->name, tu_regime_name(g), nmax), &st, BOUND);
  }
  free(x), free(y), free(dy), free(dx), free(ref), free(mag), free(sizes);
}

Test(backward, softmax_accuracy) { accuracy(&K_SOFTMAX); }
Test(backward, log_softmax_accuracy) { accuracy(&K_LOG_SOFTMAX); }
Test(backward, sparsemax_accuracy) { accuracy(&K_SPARSEMAX); }
Test(backward, stablemax_accuracy) { accuracy(&K_STABLEMAX); }

/* Header: a fully masked row (all -inf logits) gives a zero gradient from every backward kernel, one row alone and 17
   in a call (a lane group and a row); stablemax's whatever y is (its s'(x) / s(x) is 0 there), +inf included. */
Test(backward, masked_row_zero_gradient) {
  const size_t ns[] = {1, 3, 15, 64, 65, 1000, 1025}, rowss[] = {1, 17};
  const bw_kernel *ks[] = {&K_SOFTMAX, &K_LOG_SOFTMAX, &K_SPARSEMAX, &K_STABLEMAX};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (size_t b = 0; b < 4; b++)
      for (size_t c = 0; c < 2; c++) {
        const size_t n = ns[a], rows = rowss[c], N = rows * n;
        const bw_kernel *k = ks[b];
        float *x = malloc(N * 4), *y = malloc(N * 4), *dy = malloc(N * 4), *dx = malloc(N * 4);
        double *tmp = malloc(n * 8);
        for (size_t i = 0; i < N; i++) x[i] = -INFINITY, dy[i] = (float)(i % 5) - 1.5f;
        k->fwd(n, x, tmp);
        for (size_t i = 0; i < N; i++) y[i] = (float)tmp[i % n];
        if (k == &K_STABLEMAX) y[N - n] = INFINITY, y[0] = INFINITY;
        cr_expect_eq(k->fn(rows, n, x, n, y, n, dy, n, dx, n), SMX_OK);
        for (size_t i = 0; i < N; i++)
          cr_expect(dx[i] == 0.0f, "%s masked rows %zu x %zu: dx[%zu] = %a, want 0", k->name, rows, n, i, (double)dx[i]);
        free(x), free(y), free(dy), free(dx), free(tmp);
      }
}

/* logits rising from 0 to 7.6 over the row (sparsemax's support: the top entries), dy falling from 1 by 0.01 */
static void ramp_row(size_t n, float *x, float *dy) {
  for (size_t i = 0; i < n; i++) x[i] = (float)i * (7.6f / (float)n), dy[i] = 1.0f - (float)i * 0.01f;
}

/* A NaN anywhere in y or dy makes the row NaN: in short rows and rows of the row path (sparsemax's row path tests a sum
   of y dy, whose inf x 0 and inf - inf it tells apart from a NaN), at an entry off sparsemax's support and at the last,
   apart and in place (dx = dy, dx = y). */
Test(backward, nan_rows) {
  const bw_kernel *ks[] = {&K_SOFTMAX, &K_LOG_SOFTMAX, &K_SPARSEMAX, &K_STABLEMAX};
  const size_t ns[] = {77, 1000, 4099};
  for (size_t b = 0; b < 4; b++)
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
      for (int where = 0; where < 4; where++)
        for (int ip = 0; ip < 3; ip++) {
          const bw_kernel *k = ks[b];
          const size_t n = ns[a], at = where < 2 ? 40 : n - 1;
          float *x = malloc(n * 4), *y = malloc(n * 4), *dy = malloc(n * 4), *dx = malloc(n * 4);
          double *tmp = malloc(n * 8);
          ramp_row(n, x, dy);
          k->fwd(n, x, tmp);
          for (size_t i = 0; i < n; i++) y[i] = (float)tmp[i];
          if (where & 1) y[at] = NAN; /* a NaN among the given probabilities */
          else dy[at] = -NAN;
          float *out = ip == 1 ? dy : ip == 2 ? y : dx;
          cr_expect_eq(k->fn(1, n, x, n, y, n, dy, n, out, n), SMX_OK);
          size_t bad = n;
          for (size_t i = n; i-- > 0;)
            if (tu_bits(out[i]) != 0x7fc00000u) bad = i;
          cr_expect(bad == n, "%s n=%zu NaN in %s[%zu] (%s): dx[%zu] bits 0x%08x, want 0x7fc00000", k->name, n,
                    where & 1 ? "y" : "dy", at, ip == 1 ? "dx=dy" : ip == 2 ? "dx=y" : "apart", bad,
                    bad < n ? tu_bits(out[bad]) : 0u);
          free(x), free(y), free(dy), free(dx), free(tmp);
        }
}

/* Sparsemax: infinite dy are not NaNs. dy = +inf and -inf off the support leave dx as dy = 0 there gives (+0 off the
   support); +inf and -inf on it make the mean NaN and so the support's dx NaN, the rest +0. Apart and in place. */
Test(backward, sparsemax_infinite_dy) {
  const size_t ns[] = {77, 1000, 4099};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (int on = 0; on < 2; on++)
      for (int inplace = 0; inplace < 2; inplace++) {
        const size_t n = ns[a];
        float *x = malloc(n * 4), *y = malloc(n * 4), *dy = malloc(n * 4), *dx = malloc(n * 4), *want = malloc(n * 4);
        double *tmp = malloc(n * 8);
        ramp_row(n, x, dy);
        oracle_sparsemax(n, x, tmp);
        for (size_t i = 0; i < n; i++) y[i] = (float)tmp[i];
        cr_assert(y[0] == 0.0f && y[1] == 0.0f && y[n - 1] > 0.0f && y[n - 2] > 0.0f, "n=%zu: the support", n);
        const size_t i0 = on ? n - 1 : 0, i1 = on ? n - 2 : 1;
        dy[i0] = 0.0f, dy[i1] = 0.0f;
        cr_expect_eq(smx_sparsemax_backward_f32(1, n, y, n, dy, n, want, n), SMX_OK);
        dy[i0] = INFINITY, dy[i1] = -INFINITY;
        float *out = inplace ? dy : dx;
        cr_expect_eq(smx_sparsemax_backward_f32(1, n, y, n, dy, n, out, n), SMX_OK);
        size_t bad = n;
        for (size_t i = n; i-- > 0;) {
          const int nan_wanted = on && y[i] > 0.0f;
          if (nan_wanted ? out[i] == out[i] : tu_bits(out[i]) != tu_bits(want[i])) bad = i;
        }
        cr_expect(bad == n, "sparsemax_backward n=%zu, +-inf dy %s the support (%s): dx[%zu] = %a", n,
                  on ? "on" : "off", inplace ? "dx=dy" : "apart", bad, bad < n ? (double)out[bad] : 0.0);
        free(x), free(y), free(dy), free(dx), free(want), free(tmp);
      }
}

/* A NaN the arithmetic makes is the quiet NaN 0x7fc00000 on every ISA and CPU (it would be the CPU's default NaN,
   -NaN on x86): on every other row of 16, 0 x inf where y = 0 and dy - dot passes FLT_MAX (softmax, stablemax),
   -0 x inf and inf - inf under an infinite sum of dy (log-softmax) or mean of dy (sparsemax); rows of lane groups,
   in registers and long (3001: also with their outputs streamed), apart and in place. */
Test(backward, arithmetic_nans_canonical) {
  const bw_kernel *const ks[] = {&K_SOFTMAX, &K_LOG_SOFTMAX, &K_SPARSEMAX, &K_STABLEMAX};
  const size_t ns[] = {8, 24, 100, 1000, 3001}, rows = 16, stream_min = smx_get_streaming_threshold();
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
    const size_t n = ns[a], len = rows * n;
    float *x = malloc(len * 4), *y = malloc(len * 4), *dy = malloc(len * 4), *dx = malloc(len * 4);
    for (size_t k = 0; k < 4; k++)
      for (int isa = 0; isa < SMX_ISA_COUNT; isa++)
        for (int v = 0; v < 4 && smx_set_isa((smx_isa)isa) == SMX_OK; v++) {
          const int inplace = v & 1;
          smx_set_streaming_threshold(v >= 2 ? 0 : stream_min);
          const int lsm = ks[k] == &K_LOG_SOFTMAX, sparse = ks[k] == &K_SPARSEMAX;
          for (size_t i = 0; i < len; i++) x[i] = 0.0f, y[i] = lsm ? -1.0f : 0.0f, dy[i] = 0.5f;
          for (size_t r = 0; r < rows; r += 2) {
            float *yr = y + r * n, *dr = dy + r * n;
            if (lsm) yr[2] = -INFINITY, dr[0] = INFINITY;
            else if (sparse) yr[0] = yr[1] = 0.5f, dr[0] = INFINITY;
            else yr[0] = 1.0f, dr[0] = -0x1p120f, dr[2] = FLT_MAX;
          }
          float *out = inplace ? dy : dx;
          cr_assert_eq(ks[k]->fn(rows, n, x, n, y, n, dy, n, out, n), SMX_OK);
          size_t other;
          const size_t nans = tu_nans(out, len, &other);
          cr_expect(other == len, "%s %s n=%zu %s%s: dx[%zu] bits 0x%08x", ks[k]->name, smx_isa_name((smx_isa)isa), n,
                    inplace ? "in place" : "apart", v >= 2 ? ", streamed" : "", other,
                    other < len ? tu_bits(out[other]) : 0u);
          cr_expect(nans >= rows / 2, "%s %s n=%zu: %zu NaNs (the inputs no longer make them)", ks[k]->name,
                    smx_isa_name((smx_isa)isa), n, nans);
        }
    free(x), free(y), free(dy), free(dx);
  }
  smx_set_streaming_threshold(stream_min);
  smx_set_isa(SMX_ISA_SCALAR);
}

Test(backward, n1) {
  const bw_kernel *ks[] = {&K_SOFTMAX, &K_LOG_SOFTMAX, &K_SPARSEMAX, &K_STABLEMAX};
  const float xs[] = {0.0f, 3.0f, -1e30f, 1e30f};
  for (size_t b = 0; b < 4; b++)
    for (size_t j = 0; j < 4; j++) {
      const bw_kernel *k = ks[b];
      float x = xs[j], y, dy = 2.5f, dx = -1.0f;
      double t, mag;
      k->fwd(1, &x, &t);
      y = (float)t;
      cr_expect_eq(k->fn(1, 1, &x, 1, &y, 1, &dy, 1, &dx, 1), SMX_OK);
      k->ref(1, &x, &y, &dy, &t, &mag);
      double e = oracle_ulp_scaled(dx, t, mag);
      cr_expect(e <= BOUND, "%s n=1 x=%g: dx %a ref %.17g (%.3g ulp of %.3g)", k->name, (double)x, (double)dx, t, e, mag);
    }
}

/* ---- layouts: rows > 1, distinct leading dimensions, canaries, misalignment, in place ---- */
enum { INPLACE_NONE, INPLACE_DY, INPLACE_Y, INPLACE_X, INPLACE_MODES };
static const char *const inplace_names[] = {"none", "dx=dy", "dx=y", "dx=x"};

static void layouts(const bw_kernel *k) {
  static const size_t pads[] = {0, 1, 7, 64};
  const size_t rows = 3;
  size_t cases = 0, fails = 0;
  for (size_t si = 0; si < tu_layout_nsizes; si++) {
    size_t n = tu_layout_sizes[si];
    float *x = malloc(rows * n * 4), *y = malloc(rows * n * 4), *dy = malloc(rows * n * 4), *want = malloc(rows * n * 4);
    double *tmp = malloc(n * 8);
    for (size_t pi = 0; pi < 4; pi++)
      for (int mis = 0; mis < 2; mis++)
        for (int ip = 0; ip < INPLACE_MODES; ip++) {
          if (ip == INPLACE_X && !k->uses_x) continue;
          uint64_t seed = tu_case_seed(k->name, n * 100 + pi * 10 + (size_t)mis * 5 + (size_t)ip, 77);
          tu_rng rng;
          tu_rng_seed(&rng, seed);
          const int regs[3] = {TU_NARROW, k->skip_posinf ? TU_NEGINF : TU_POSINF, TU_WIDE};
          for (size_t r = 0; r < rows; r++) {
            make_inputs(k, &rng, regs[r], n, x + r * n, y + r * n, dy + r * n, tmp);
            k->fn(1, n, x + r * n, n, y + r * n, n, dy + r * n, n, want + r * n, n);
          }
          size_t ld = n + pads[pi];
          tu_mat X, Y, DY, DX;
          tu_mat_alloc(&X, rows, n, ld, mis);
          tu_mat_alloc(&Y, rows, n, n + pads[(pi + 1) % 4], !mis);
          tu_mat_alloc(&DY, rows, n, n + pads[(pi + 2) % 4], mis);
          for (size_t r = 0; r < rows; r++) {
            memcpy(tu_row(&X, r), x + r * n, n * 4);
            memcpy(tu_row(&Y, r), y + r * n, n * 4);
            memcpy(tu_row(&DY, r), dy + r * n, n * 4);
          }
          const tu_mat *out;
          if (ip == INPLACE_DY) out = &DY;
          else if (ip == INPLACE_Y) out = &Y;
          else if (ip == INPLACE_X) out = &X;
          else {
            tu_mat_alloc(&DX, rows, n, n + pads[(pi + 3) % 4], !mis);
            out = &DX;
          }
          smx_status rc = k->fn(rows, n, X.m, X.ld, Y.m, Y.ld, DY.m, DY.ld, out->m, out->ld);
          int ok = rc == SMX_OK;
          size_t first = 0;
          long where = 0;
          for (size_t r = 0; r < rows && ok; r++) {
            if (!tu_bits_equal(tu_row(out, r), want + r * n, n, &first)) {
              ok = 0;
              cr_log_error("%s layout n=%zu ld=%zu/%zu/%zu/%zu misalign=%d inplace=%s: row %zu [%zu] %a != %a alone; seed 0x%llx",
                           k->name, n, X.ld, Y.ld, DY.ld, out->ld, mis, inplace_names[ip], r, first,
                           (double)tu_row(out, r)[first], (double)want[r * n + first], (unsigned long long)seed);
            }
            if ((k->uses_x && out != &X && !tu_bits_equal(tu_row(&X, r), x + r * n, n, &first)) ||
                (out != &Y && !tu_bits_equal(tu_row(&Y, r), y + r * n, n, &first)) ||
                (out != &DY && !tu_bits_equal(tu_row(&DY, r), dy + r * n, n, &first))) {
              ok = 0;
              cr_log_error("%s layout n=%zu inplace=%s: an input row %zu was modified", k->name, n, inplace_names[ip], r);
            }
          }
          const tu_mat *all[4] = {&X, &Y, &DY, ip == INPLACE_NONE ? &DX : NULL};
          for (int m = 0; m < 4; m++)
            if (all[m] && !tu_mat_canaries_ok(all[m], &where)) {
              ok = 0;
              cr_log_error("%s layout n=%zu inplace=%s: canary %ld of matrix %d overwritten", k->name, n,
                           inplace_names[ip], where, m);
            }
          cases++;
          fails += !ok;
          tu_mat_free(&X), tu_mat_free(&Y), tu_mat_free(&DY);
          if (ip == INPLACE_NONE) tu_mat_free(&DX);
        }
    free(x), free(y), free(dy), free(want), free(tmp);
  }
  fprintf(stderr, "[simdmax] %-40s %zu layout cases, %zu failed\n", k->name, cases, fails);
  cr_expect(fails == 0, "%s: %zu of %zu layout cases failed", k->name, fails, cases);
}

Test(backward, softmax_layouts) { layouts(&K_SOFTMAX); }
Test(backward, log_softmax_layouts) { layouts(&K_LOG_SOFTMAX); }
Test(backward, sparsemax_layouts) { layouts(&K_SPARSEMAX); }
Test(backward, stablemax_layouts) { layouts(&K_STABLEMAX); }
