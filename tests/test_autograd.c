/* The cross-entropy API for autograd: forward + backward bit-identical to the fused call (every ISA, normalizer,
   reduction, option set, per-row upstream gradients), int32 targets, the forward's per-row state (lse), and the
   probability-target loss against a double reference (bound 1e-5 relative, as the fused loss with options). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numerics.h"
#include "testutil.h"

#define ROWS 4
#define REL_BOUND 1e-5
#define NSETS 6
static const char *const set_names[NSETS] = {"defaults", "smoothing", "weights", "softcap", "all", "zloss"};

static size_t sizes_list(const size_t **out) {
  static const size_t full[] = {1, 2, 3, 7, 16, 63, 64, 65, 200, 1000, 1024, 1025, 4097, 32000};
  static const size_t quick[] = {1, 2, 7, 64, 65, 1025};
  const int q = getenv("SMX_TEST_QUICK") != NULL;
  *out = q ? quick : full;
  return q ? sizeof quick / sizeof quick[0] : sizeof full / sizeof full[0];
}

static void set_options(smx_xent_options *o, int set, smx_normalizer norm, smx_reduction red, const float *w) {
  smx_xent_options_default(o);
  o->normalizer = norm, o->reduction = red;
  switch (set) {
  case 1: o->label_smoothing = 0.1f; break;
  case 2: o->class_weight = w; break;
  case 3: o->softcap = 20.0f; break;
  case 4: o->label_smoothing = 0.3f, o->softcap = 2.5f, o->class_weight = w; break;
  case 5: if (norm == SMX_NORM_SOFTMAX) o->z_loss = 1e-3f; break;
  }
}

static void fill_rows(tu_rng *rng, size_t n, float *x, int r0) {
  for (int r = 0; r < ROWS; r++) tu_fill(rng, (r0 + r) % TU_NREGIMES, n, x + (size_t)r * n);
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }
static const char *norm_name(int norm) { return (const char *[]){"softmax", "stablemax", "sparsemax"}[norm]; }

/* forward == fused loss, backward == fused gradient, bit for bit; int32 targets == int64 */
static void identity_case(smx_normalizer norm, smx_reduction red, int set, size_t n, tu_rng *rng, int r0,
                          const char *isa) {
  float *x = malloc(ROWS * n * 4), *w = malloc(n * 4), *df = malloc(ROWS * n * 4), *db = malloc(ROWS * n * 4);
  int64_t t[ROWS];
  int32_t t32[ROWS];
  fill_rows(rng, n, x, r0);
  for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(rng, 0.0, 2.0);
  for (int r = 0; r < ROWS; r++) t[r] = (r == 2 && n > 1) ? -100 : (int64_t)tu_below(rng, n), t32[r] = (int32_t)t[r];
  smx_xent_options o;
  set_options(&o, set, norm, red, w);
  char ctx[160];
  snprintf(ctx, sizeof ctx, "%s %s %s %s n=%zu regimes %d..", isa, (const char *[]){"softmax", "stablemax", "sparsemax"}[norm],
           (const char *[]){"none", "sum", "mean"}[red], set_names[set], n, r0);
  const float g = 0.75f;
  float lf[ROWS], lb[ROWS], lse[ROWS];
  cr_assert_eq(smx_cross_entropy_f32(ROWS, n, x, n, t, &o, lf, df, n, g), SMX_OK, "%s", ctx);
  cr_assert_eq(smx_cross_entropy_forward_f32(ROWS, n, x, n, t, &o, lb, lse), SMX_OK, "%s", ctx);
  const size_t nl = red == SMX_REDUCE_NONE ? ROWS : 1;
  cr_expect(same(lf, lb, nl), "%s: forward loss differs from the fused loss", ctx);
  cr_assert_eq(smx_cross_entropy_backward_f32(ROWS, n, x, n, t, &o, lse, &g, 0, db, n), SMX_OK, "%s", ctx);
  cr_expect(same(df, db, ROWS * n), "%s: backward (stride 0) differs from the fused gradient", ctx);
  if (red == SMX_REDUCE_NONE) {
    float gs[2 * ROWS];
    for (int r = 0; r < 2 * ROWS; r++) gs[r] = g;
    cr_assert_eq(smx_cross_entropy_backward_f32(ROWS, n, x, n, t, &o, NULL, gs, 2, db, n), SMX_OK, "%s", ctx);
    cr_expect(same(df, db, ROWS * n), "%s: backward (per row, all = grad_scale) differs", ctx);
    /* distinct upstream gradients: row r equals the fused call on that row with grad_scale g_r */
    for (int r = 0; r < ROWS; r++) gs[2 * r] = (float)tu_uniform(rng, -3.0, 3.0);
    cr_assert_eq(smx_cross_entropy_backward_f32(ROWS, n, x, n, t, &o, NULL, gs, 2, db, n), SMX_OK, "%s", ctx);
    for (int r = 0; r < ROWS; r++) {
      float l1;
      cr_assert_eq(smx_cross_entropy_f32(1, n, x + r * n, n, t + r, &o, &l1, df + r * n, n, gs[2 * r]), SMX_OK);
      cr_expect(same(df + r * n, db + r * n, n), "%s: row %d with grad_loss %g differs from the fused row", ctx, r,
                (double)gs[2 * r]);
    }
    cr_assert_eq(smx_cross_entropy_f32(ROWS, n, x, n, t, &o, lf, df, n, g), SMX_OK);
  }
  smx_xent_options o32 = o;
  o32.target_type = SMX_TARGET_I32;
  cr_assert_eq(smx_cross_entropy_f32(ROWS, n, x, n, t32, &o32, lb, db, n, g), SMX_OK, "%s", ctx);
  cr_expect(same(lf, lb, nl) && same(df, db, ROWS * n), "%s: int32 targets differ from int64", ctx);
  free(x), free(w), free(df), free(db);
}

Test(autograd, backward_bit_identical_to_fused) {
  const size_t *sz;
  const size_t ns = sizes_list(&sz);
  tu_rng rng;
  tu_rng_seed(&rng, tu_seed_random("autograd"));
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (!smx_isa_supported((smx_isa)isa)) continue;
    smx_set_isa((smx_isa)isa);
    for (int norm = 0; norm < 3; norm++)
      for (int red = 0; red < 3; red++)
        for (int set = 0; set < NSETS; set++)
          for (size_t i = 0; i < ns; i++)
            identity_case((smx_normalizer)norm, (smx_reduction)red, set, sz[i], &rng, (int)(i + set) % TU_NREGIMES,
                          smx_isa_name((smx_isa)isa));
  }
  smx_set_isa(SMX_ISA_SCALAR);
}

/* The 16-bit backward: smx_cross_entropy_backward_f32 on the widened logits, the gradient rounded once (per-row
   upstream gradients, every ISA, normalizer and option set; in place too), and with one grad_loss value the fused
   16-bit call's gradient; the 16-bit forward: the f32 forward's loss and lse on the widened logits. */
typedef smx_status (*to16_fn)(size_t, size_t, const float *, size_t, uint16_t *, size_t);
typedef smx_status (*from16_fn)(size_t, size_t, const uint16_t *, size_t, float *, size_t);
typedef smx_status (*bwd16_fn)(size_t, size_t, const uint16_t *, size_t, const void *, const smx_xent_options *,
                               const float *, const float *, size_t, uint16_t *, size_t);
typedef smx_status (*fwd16_fn)(size_t, size_t, const uint16_t *, size_t, const void *, const smx_xent_options *,
                               float *, float *);
typedef smx_status (*xent16_fn)(size_t, size_t, const uint16_t *, size_t, const void *, const smx_xent_options *,
                                float *, uint16_t *, size_t, float);
static void backward16_case(int bf16, smx_normalizer norm, smx_reduction red, int set, size_t n, tu_rng *rng, int r0,
                            const char *isa) {
  const to16_fn to16 = bf16 ? smx_bf16_from_f32 : smx_f16_from_f32;
  const from16_fn from16 = bf16 ? smx_f32_from_bf16 : smx_f32_from_f16;
  const bwd16_fn bwd16 = bf16 ? smx_cross_entropy_backward_bf16 : smx_cross_entropy_backward_f16;
  const xent16_fn xent16 = bf16 ? smx_cross_entropy_bf16 : smx_cross_entropy_f16;
  float *x = malloc(ROWS * n * 4), *w = malloc(n * 4), *dw = malloc(ROWS * n * 4);
  uint16_t *x16 = malloc(ROWS * n * 2), *want = malloc(ROWS * n * 2), *got = malloc(ROWS * n * 2);
  int64_t t[ROWS];
  fill_rows(rng, n, x, r0);
  for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(rng, 0.0, 2.0);
  for (int r = 0; r < ROWS; r++) t[r] = (r == 2 && n > 1) ? -100 : (int64_t)tu_below(rng, n);
  to16(ROWS, n, x, n, x16, n);
  from16(ROWS, n, x16, n, x, n); /* the widened logits */
  smx_xent_options o;
  set_options(&o, set, norm, red, w);
  char ctx[160];
  snprintf(ctx, sizeof ctx, "%s %s %s %s %s n=%zu regimes %d..", bf16 ? "bf16" : "f16", isa,
           (const char *[]){"softmax", "stablemax", "sparsemax"}[norm], (const char *[]){"none", "sum", "mean"}[red],
           set_names[set], n, r0);
  float gs[ROWS];
  for (int r = 0; r < ROWS; r++) gs[r] = red == SMX_REDUCE_NONE ? (float)tu_uniform(rng, -3.0, 3.0) : 0.75f;
  cr_assert_eq(smx_cross_entropy_backward_f32(ROWS, n, x, n, t, &o, NULL, gs, red == SMX_REDUCE_NONE, dw, n), SMX_OK,
               "%s", ctx);
  to16(ROWS, n, dw, n, want, n);
  cr_assert_eq(bwd16(ROWS, n, x16, n, t, &o, NULL, gs, red == SMX_REDUCE_NONE, got, n), SMX_OK, "%s", ctx);
  cr_expect(memcmp(want, got, ROWS * n * 2) == 0, "%s: differs from the f32 backward on the widened logits", ctx);
  memcpy(got, x16, ROWS * n * 2);
  cr_assert_eq(bwd16(ROWS, n, got, n, t, &o, NULL, gs, red == SMX_REDUCE_NONE, got, n), SMX_OK, "%s", ctx);
  cr_expect(memcmp(want, got, ROWS * n * 2) == 0, "%s: in place differs", ctx);
  float loss[ROWS];
  cr_assert_eq(xent16(ROWS, n, x16, n, t, &o, loss, want, n, 0.75f), SMX_OK, "%s", ctx);
  cr_assert_eq(bwd16(ROWS, n, x16, n, t, &o, NULL, (const float[]){0.75f}, 0, got, n), SMX_OK, "%s", ctx);
  cr_expect(memcmp(want, got, ROWS * n * 2) == 0, "%s: one grad_loss differs from the fused call's gradient", ctx);
  /* the 16-bit forward: loss and lse those of the f32 forward on the widened logits */
  const fwd16_fn fwd16 = bf16 ? smx_cross_entropy_forward_bf16 : smx_cross_entropy_forward_f16;
  float l32[ROWS], s32[ROWS], s16[ROWS];
  cr_assert_eq(smx_cross_entropy_forward_f32(ROWS, n, x, n, t, &o, l32, s32), SMX_OK, "%s", ctx);
  cr_assert_eq(fwd16(ROWS, n, x16, n, t, &o, loss, s16), SMX_OK, "%s", ctx);
  cr_expect(same(loss, l32, red == SMX_REDUCE_NONE ? ROWS : 1) && same(s16, s32, ROWS),
            "%s: the 16-bit forward's loss or lse differs from the f32 forward on the widened logits", ctx);
  free(x), free(w), free(dw), free(x16), free(want), free(got);
}
Test(autograd, backward16_is_rounded_f32) {
  const size_t *sz;
  const size_t ns = sizes_list(&sz);
  tu_rng rng;
  tu_rng_seed(&rng, tu_seed_random("autograd16"));
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (!smx_isa_supported((smx_isa)isa)) continue;
    smx_set_isa((smx_isa)isa);
    for (int bf16 = 0; bf16 < 2; bf16++)
      for (int norm = 0; norm < 3; norm++)
        for (int red = 0; red < 3; red++)
          for (int set = 0; set < NSETS; set += red == SMX_REDUCE_NONE ? 1 : 2)
            for (size_t i = 0; i < ns; i++)
              backward16_case(bf16, (smx_normalizer)norm, (smx_reduction)red, set, sz[i], &rng,
                              (int)(i + set) % TU_NREGIMES, smx_isa_name((smx_isa)isa));
  }
  smx_set_isa(SMX_ISA_SCALAR);
}

/* The references' row loops, with early exits (the aarch64 cross GCC 12 crashed vectorizing them inline). */
static double stable_sum_ref(const float *z, size_t n) { /* NaN for a row with a NaN */
  double S = 0.0;
  for (size_t j = 0; j < n; j++) {
    if (z[j] != z[j]) return NAN;
    S += z[j] >= 0 ? z[j] + 1.0 : 1.0 / (1.0 - z[j]);
  }
  return S;
}
static int finite_row_umax(const float *z, size_t n, double *um) { /* 0 for a non-finite row */
  *um = 1.0;
  for (size_t j = 0; j < n; j++) {
    if (!isfinite(z[j])) return 0;
    if (fabs(z[j]) > *um) *um = fabs(z[j]);
  }
  return 1;
}

/* lse: softmax = smx_logsumexp_f32 of the (capped) logits bit for bit; stablemax log sum s(z) within 4 ulp;
   sparsemax tau: max(z - tau, 0) = smx_sparsemax_f32 within 4 ulp of max(1, max|z|). */
Test(autograd, forward_state) {
  const size_t *sz;
  const size_t ns = sizes_list(&sz);
  tu_rng rng;
  tu_rng_seed(&rng, tu_seed_random("autograd_state"));
  tu_stat st = TU_STAT_INIT;
  for (size_t i = 0; i < ns; i++) {
    const size_t n = sz[i];
    float *x = malloc(ROWS * n * 4), *z = malloc(ROWS * n * 4), *p = malloc(n * 4), dz;
    int64_t t[ROWS] = {0, 0, 0, 0};
    float loss[ROWS], lse[ROWS], ref[ROWS];
    for (int cap = 0; cap < 2; cap++) {
      fill_rows(&rng, n, x, (int)i);
      const float c = cap ? 5.0f : 0.0f;
      for (size_t k = 0; k < ROWS * n; k++) z[k] = cap ? smx_softcap(x[k], c, 1.0f / c, &dz) : x[k];
      smx_xent_options o;
      smx_xent_options_default(&o);
      o.reduction = SMX_REDUCE_NONE, o.softcap = c;
      cr_assert_eq(smx_cross_entropy_forward_f32(ROWS, n, x, n, t, &o, loss, lse), SMX_OK);
      cr_assert_eq(smx_logsumexp_f32(ROWS, n, z, n, ref), SMX_OK);
      for (int r = 0; r < ROWS; r++)
        cr_expect(tu_bits(lse[r]) == tu_bits(ref[r]), "softmax lse n=%zu cap=%g row %d: %a vs logsumexp %a", n,
                  (double)c, r, (double)lse[r], (double)ref[r]);
      o.normalizer = SMX_NORM_STABLEMAX;
      cr_assert_eq(smx_cross_entropy_forward_f32(ROWS, n, x, n, t, &o, loss, lse), SMX_OK);
      for (int r = 0; r < ROWS; r++) {
        const double S = stable_sum_ref(z + r * n, n);
        tu_check_one(&st, "stablemax lse", lse[r], log(S), S == S ? fmax(1.0, fabs(log(S))) : 1.0, 4.0);
      }
      o.normalizer = SMX_NORM_SPARSEMAX;
      cr_assert_eq(smx_cross_entropy_forward_f32(ROWS, n, x, n, t, &o, loss, lse), SMX_OK);
      for (int r = 0; r < ROWS; r++) {
        const float *zr = z + r * n;
        cr_assert_eq(smx_sparsemax_f32(1, n, zr, n, p, n), SMX_OK);
        double um;
        if (!finite_row_umax(zr, n, &um)) continue;
        for (size_t j = 0; j < n; j++)
          tu_check_one(&st, "sparsemax tau", p[j], fmax((double)zr[j] - (double)lse[r], 0.0), um, 4.0);
      }
    }
    free(x), free(z), free(p);
  }
  tu_report("forward state (stablemax lse, sparsemax tau)", &st, 4.0);
}

/* ---- probability targets against a double reference ---- */
static double dz_of(double x, double cap) { return cap > 0 ? 1.0 - tanh(x / cap) * tanh(x / cap) : 1.0; }

/* loss and gradient (times coef) of one row in double; returns the loss, *scale = the sum of |loss terms| */
static double soft_ref(smx_normalizer norm, size_t n, const float *x, const float *q, const smx_xent_options *o,
                       double coef, double *grad, double *gscale) {
  const double cap = o->softcap, e = o->label_smoothing;
  double *z = malloc(n * 8), *p = malloc(n * 8), *qq = malloc(n * 8);
  double m = -INFINITY, Q = 0.0, loss = 0.0;
  for (size_t j = 0; j < n; j++) {
    z[j] = cap > 0 ? cap * tanh(x[j] / cap) : x[j], m = fmax(m, z[j]);
    qq[j] = (1.0 - e) * q[j] + e / (double)n;
    Q += (o->class_weight ? o->class_weight[j] : 1.0) * qq[j];
  }
  double lse = 0.0, S = 0.0;
  if (norm == SMX_NORM_SOFTMAX) {
    for (size_t j = 0; j < n; j++) S += exp(z[j] - m);
    lse = m + log(S);
    for (size_t j = 0; j < n; j++) p[j] = exp(z[j] - lse);
  } else if (norm == SMX_NORM_STABLEMAX) {
    for (size_t j = 0; j < n; j++) S += z[j] >= 0 ? z[j] + 1.0 : 1.0 / (1.0 - z[j]);
    for (size_t j = 0; j < n; j++) p[j] = (z[j] >= 0 ? z[j] + 1.0 : 1.0 / (1.0 - z[j])) / S;
  } else { /* tau by sorting */
    double *s = malloc(n * 8), cum = 0.0, tau = 0.0;
    memcpy(s, z, n * 8);
    for (size_t a = 1; a < n; a++)
      for (size_t b = a; b > 0 && s[b - 1] < s[b]; b--) { double tmp = s[b]; s[b] = s[b - 1], s[b - 1] = tmp; }
    for (size_t k = 0; k < n; k++) {
      cum += s[k];
      if (s[k] > (cum - 1.0) / (double)(k + 1)) tau = (cum - 1.0) / (double)(k + 1);
    }
    for (size_t j = 0; j < n; j++) p[j] = fmax(z[j] - tau, 0.0);
    free(s);
  }
  double A = Q;
  *gscale = 0.0;
  if (norm == SMX_NORM_SPARSEMAX) {
    double zp = 0, pp = 0, zq = 0, q2 = 0;
    for (size_t j = 0; j < n; j++) zp += z[j] * p[j], pp += p[j] * p[j], zq += z[j] * qq[j], q2 += qq[j] * qq[j];
    loss = (zp - zq) - pp / 2 + q2 / 2;
    for (size_t j = 0; j < n; j++) grad[j] = coef * (p[j] - qq[j]) * dz_of(x[j], cap);
    *gscale = fabs(coef) * fmax(1.0, 0.0);
  } else {
    for (size_t j = 0; j < n; j++) {
      double wq = (o->class_weight ? o->class_weight[j] : 1.0) * qq[j];
      loss += wq == 0.0 ? 0.0 : wq * -log(p[j]);
    }
    if (norm == SMX_NORM_SOFTMAX) loss += o->z_loss * lse * lse, A += 2.0 * o->z_loss * lse;
    for (size_t j = 0; j < n; j++) {
      double wq = (o->class_weight ? o->class_weight[j] : 1.0) * qq[j];
      double r = norm == SMX_NORM_STABLEMAX ? 1.0 / (1.0 + fabs(z[j])) : 1.0;
      grad[j] = coef * (A * p[j] - wq) * r * dz_of(x[j], cap);
      *gscale = fmax(*gscale, fabs(coef) * fmax(fabs(A * p[j]), wq));
    }
  }
  free(z), free(p), free(qq);
  return loss;
}

static void soft_case(tu_stat *st, smx_normalizer norm, int set, size_t n, tu_rng *rng) {
  float *x = malloc(ROWS * n * 4), *q = malloc(ROWS * n * 4), *w = malloc(n * 4), *d = malloc(ROWS * n * 4);
  float *d0 = malloc(ROWS * n * 4);
  double *g = malloc(n * 8);
  for (int r = 0; r < ROWS; r++) tu_fill(rng, r % TU_FINITE_REGIMES, n, x + (size_t)r * n);
  for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(rng, 0.0, 2.0);
  for (int r = 0; r < ROWS; r++) { /* row 0 one-hot, the others random distributions */
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) sum += (q[r * n + j] = r == 0 ? (j == n / 2) : (float)tu_uniform(rng, 0.0, 1.0));
    for (size_t j = 0; j < n; j++) q[r * n + j] = (float)(q[r * n + j] / sum);
  }
  smx_xent_options o;
  set_options(&o, set, norm, SMX_REDUCE_NONE, norm == SMX_NORM_SPARSEMAX ? NULL : w);
  if (norm == SMX_NORM_SPARSEMAX) o.class_weight = NULL;
  char ctx[128];
  snprintf(ctx, sizeof ctx, "soft %s %s n=%zu", (const char *[]){"softmax", "stablemax", "sparsemax"}[norm],
           set_names[set], n);
  float loss[ROWS], loss0[ROWS];
  const float gs = 0.5f;
  smx_set_isa(SMX_ISA_SCALAR);
  cr_assert_eq(smx_cross_entropy_soft_f32(ROWS, n, x, n, q, n, &o, loss0, d0, n, gs), SMX_OK, "%s: %s", ctx,
               smx_last_error_message());
  for (int isa = 1; isa < SMX_ISA_COUNT; isa++) { /* common code: the same bits on every ISA */
    if (!smx_isa_supported((smx_isa)isa)) continue;
    smx_set_isa((smx_isa)isa);
    cr_assert_eq(smx_cross_entropy_soft_f32(ROWS, n, x, n, q, n, &o, loss, d, n, gs), SMX_OK);
    cr_expect(same(loss, loss0, ROWS) && same(d, d0, ROWS * n), "%s: %s differs from scalar", ctx,
              smx_isa_name((smx_isa)isa));
  }
  for (int r = 0; r < ROWS; r++) {
    double gscale, ref = soft_ref(norm, n, x + r * n, q + r * n, &o, gs, g, &gscale);
    double lscale = norm == SMX_NORM_SPARSEMAX ? fmax(1.0, fabs(ref)) : fabs(ref);
    double err = fabs((double)loss0[r] - ref) / fmax(lscale, FLT_MIN);
    st->checked++;
    if (err > st->max) st->max = err;
    if (!(err <= REL_BOUND)) st->fails++, cr_log_error("%s row %d: loss %.9g ref %.17g rel %.3g", ctx, r, (double)loss0[r], ref, err);
    double gmax = gscale;
    for (size_t j = 0; j < n; j++) gmax = fmax(gmax, fabs(g[j]));
    for (size_t j = 0; j < n; j++) {
      double ge = fabs((double)d0[r * n + j] - g[j]) / fmax(gmax, FLT_MIN);
      st->checked++;
      if (ge > st->max) st->max = ge;
      if (!(ge <= REL_BOUND) && st->fails++ < 8)
        cr_log_error("%s row %d: grad[%zu] %.9g ref %.17g rel %.3g", ctx, r, j, (double)d0[r * n + j], g[j], ge);
    }
  }
  /* one-hot q = the class-index loss (within the bound): same formulas, different code */
  int64_t t = (int64_t)(n / 2);
  float lh, dh[32000 + 1];
  if (n <= 32000) {
    cr_assert_eq(smx_cross_entropy_f32(1, n, x, n, &t, &o, &lh, dh, n, gs), SMX_OK);
    cr_expect(fabs((double)lh - loss0[0]) <= REL_BOUND * fmax(1.0, fabs((double)lh)), "%s: one-hot %.9g vs class index %.9g",
              ctx, (double)loss0[0], (double)lh);
  }
  smx_set_isa(SMX_ISA_SCALAR);
  free(x), free(q), free(w), free(d), free(d0), free(g);
}

Test(autograd, soft_targets) {
  const size_t *sz;
  const size_t ns = sizes_list(&sz);
  tu_rng rng;
  tu_rng_seed(&rng, tu_seed_random("autograd_soft"));
  tu_stat st = TU_STAT_INIT;
  for (int norm = 0; norm < 3; norm++)
    for (int set = 0; set < NSETS; set++)
      for (size_t i = 0; i < ns; i++)
        if (sz[i] <= 4097) soft_case(&st, (smx_normalizer)norm, set, sz[i], &rng);
  fprintf(stderr, "[simdmax] soft targets: max rel error %.3g over %zu values (bound %g), %zu failures\n", st.max,
          st.checked, REL_BOUND, st.fails);
  cr_expect_eq(st.fails, 0);
}

/* Probability targets: reductions (MEAN divides by rows), special rows, in place. */
Test(autograd, soft_reductions_and_special_rows) {
  enum { N = 5 };
  float x[2 * N] = {1, 2, 3, 4, 5, 0, -1, 2, 0.5f, 3}, q[2 * N] = {0, 0, 0.5f, 0, 0.5f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f};
  float ln[2], ls, lm, d[2 * N], dm[2 * N];
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
  cr_assert_eq(smx_cross_entropy_soft_f32(2, N, x, N, q, N, &o, ln, NULL, 0, 1.0f), SMX_OK);
  o.reduction = SMX_REDUCE_SUM;
  cr_assert_eq(smx_cross_entropy_soft_f32(2, N, x, N, q, N, &o, &ls, d, N, 1.0f), SMX_OK);
  cr_expect_eq(ls, (float)((double)ln[0] + ln[1]));
  o.reduction = SMX_REDUCE_MEAN;
  cr_assert_eq(smx_cross_entropy_soft_f32(2, N, x, N, q, N, &o, &lm, dm, N, 1.0f), SMX_OK);
  cr_expect_eq(lm, (float)(((double)ln[0] + ln[1]) / 2.0), "mean divides by rows");
  for (int j = 0; j < 2 * N; j++) cr_expect(fabsf(dm[j] - d[j] / 2) <= 1e-7f);
  /* +inf logits: q on the +inf entries gives log k, elsewhere +inf; a NaN row is NaN */
  float xs[3 * N] = {INFINITY, 0, INFINITY, 1, 2, INFINITY, 0, 0, 0, 0, 1, NAN, 0, 0, 0};
  float qs[3 * N] = {0.5f, 0, 0.5f, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, l3[3], d3[3 * N];
  o.reduction = SMX_REDUCE_NONE;
  cr_assert_eq(smx_cross_entropy_soft_f32(3, N, xs, N, qs, N, &o, l3, d3, N, 1.0f), SMX_OK);
  cr_expect_eq(l3[0], (float)log(2.0));
  cr_expect(isinf(l3[1]) && l3[1] > 0);
  cr_expect(isnan(l3[2]) && isnan(d3[2 * N]));
  cr_expect(d3[0] == 0.0f && d3[1] == 0.0f, "p = q on the +inf entries: zero gradient");
  /* in place */
  float xi[N] = {1, 2, 3, 4, 5}, ref[N], l1;
  cr_assert_eq(smx_cross_entropy_soft_f32(1, N, xi, N, q, N, &o, &l1, ref, N, 1.0f), SMX_OK);
  cr_assert_eq(smx_cross_entropy_soft_f32(1, N, xi, N, q, N, &o, &l1, xi, N, 1.0f), SMX_OK);
  cr_expect(same(xi, ref, N), "in place");
}

/* Probability targets where p_t is within 1e-12 of one: the one-hot loss -log p_t (about 1e-12) within 4 ulp of the
   double reference, on every ISA (stablemax: log1p(O / s_t) at the row max, not log S - log s_t, which cancels), with
   the max taken once and twice (p = 1/2 each: -log p = log 2). */
Test(autograd, soft_targets_near_one) {
  enum { N = 1000 };
  static float x[N], q[N];
  for (int norm = 0; norm < 2; norm++)
    for (int twice = 0; twice < 2; twice++) {
      const float top = norm == SMX_NORM_SOFTMAX ? 30.0f : 1e15f;
      for (int j = 0; j < N; j++) x[j] = 0.0f, q[j] = 0.0f;
      x[N / 3] = top, q[N / 3] = 1.0f;
      if (twice) x[N - 1] = top;
      const double others = N - 1 - twice, s_t = norm == SMX_NORM_SOFTMAX ? exp(30.0) : 1e15 + 1.0;
      const double ref = twice ? log1p((double)(1 + others / s_t)) : log1p(others / s_t);
      smx_xent_options o;
      smx_xent_options_default(&o);
      o.normalizer = (smx_normalizer)norm, o.reduction = SMX_REDUCE_NONE;
      for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
        if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
        float loss;
        cr_assert_eq(smx_cross_entropy_soft_f32(1, N, x, N, q, N, &o, &loss, NULL, 0, 1.0f), SMX_OK);
        const double ulps = fabs((double)loss - ref) / ldexp(1.0, ilogb(ref) - 23);
        cr_expect(ulps <= 4.0, "%s %s, max %s: loss %.9g, reference %.17g (%.2f ulp)",
                  norm ? "stablemax" : "softmax", smx_isa_name((smx_isa)isa), twice ? "twice" : "once", (double)loss,
                  ref, ulps);
      }
    }
  smx_set_isa(SMX_ISA_SCALAR);
}

/* Probability targets over many rows, every ISA against scalar bit for bit: rows of every input regime mixed in the
   vector ISAs' row groups (softmax and stablemax: 16 rows at a time up to n = 1024, the rows with a NaN or an
   infinite logit left to the row code, softmax's with |max| > 2^16, stablemax's with a sum below 2^-60), targets
   with a NaN (its payload not kept), all zero, one-hot, leading dimensions above n, canaries between the gradient's
   rows, in place, every option set and reduction. */
Test(autograd, soft_row_groups_every_isa) {
  enum { R = 37, PAD = 3 };
  static const size_t ns[] = {1, 2, 8, 15, 16, 17, 40, 64, 100, 255, 256, 257, 1000, 1024, 1025};
  const float canary = -7.25f;
  tu_rng rng;
  tu_rng_seed(&rng, tu_seed_random("autograd_soft_groups"));
  for (size_t si = 0; si < sizeof ns / sizeof ns[0]; si++) {
    const size_t n = ns[si], ldx = n + PAD, ldq = n + 2 * PAD, ldd = n + 1;
    float *x = malloc(R * ldx * 4), *q = malloc(R * ldq * 4), *w = malloc(n * 4);
    float *d0 = malloc(R * ldd * 4), *d = malloc(R * ldd * 4), *xi = malloc(R * ldx * 4);
    const int r0 = (int)tu_below(&rng, TU_NREGIMES);
    for (int r = 0; r < R; r++) {
      tu_fill(&rng, (r0 + r) % TU_NREGIMES, n, x + r * ldx);
      if (r % 9 == 8) /* stablemax's sum S below SMX_STABLE_TINY (its double fallback) */
        for (size_t j = 0; j < n; j++) x[r * ldx + j] = j % 3 ? -INFINITY : -1e30f;
      double sum = 0.0;
      for (size_t j = 0; j < n; j++) sum += q[r * ldq + j] = r % 9 == 4 ? (j == n - 1) : (float)tu_uniform(&rng, 0, 1);
      for (size_t j = 0; j < n; j++) q[r * ldq + j] = r % 9 == 7 ? 0.0f : (float)(q[r * ldq + j] / sum);
      if (r % 9 == 2) { /* a NaN with a payload and the sign set: the gradient's NaNs must still be the quiet NaN */
        const uint32_t bits = 0xffc01234u;
        memcpy(q + r * ldq + tu_below(&rng, n), &bits, 4);
      }
    }
    for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(&rng, 0.0, 2.0);
    for (int norm = 0; norm < 3; norm++)
      for (int set = 0; set < NSETS; set++)
        for (int red = 0; red < 3; red++) {
          smx_xent_options o;
          set_options(&o, set, (smx_normalizer)norm, (smx_reduction)red, norm == SMX_NORM_SPARSEMAX ? NULL : w);
          float l0[R], l[R];
          const size_t nl = red == SMX_REDUCE_NONE ? R : 1;
          for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
            if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
            float *dd = isa ? d : d0, *ll = isa ? l : l0;
            for (size_t i = 0; i < R * ldd; i++) dd[i] = canary;
            cr_assert_eq(smx_cross_entropy_soft_f32(R, n, x, ldx, q, ldq, &o, ll, dd, ldd, 0.5f), SMX_OK);
            for (int r = 0; r < R; r++)
              cr_assert(dd[r * ldd + n] == canary, "%s n=%zu: row %d's canary written", smx_isa_name((smx_isa)isa), n, r);
            if (isa)
              cr_assert(same(l, l0, nl) && same(d, d0, R * ldd), "soft %s %s %s n=%zu: %s differs from scalar (seed above)",
                        norm_name(norm), set_names[set], (const char *[]){"none", "sum", "mean"}[red], n,
                        smx_isa_name((smx_isa)isa));
            memcpy(xi, x, R * ldx * 4); /* in place: the same bits */
            cr_assert_eq(smx_cross_entropy_soft_f32(R, n, xi, ldx, q, ldq, &o, l, xi, ldx, 0.5f), SMX_OK);
            for (int r = 0; r < R; r++)
              cr_assert(same(xi + r * ldx, dd + r * ldd, n) && same(xi + r * ldx + n, x + r * ldx + n, PAD),
                        "soft %s n=%zu row %d: in place differs on %s", norm_name(norm), n, r,
                        smx_isa_name((smx_isa)isa));
          }
        }
    free(x), free(q), free(w), free(d0), free(d), free(xi);
  }
  smx_set_isa(SMX_ISA_SCALAR);
}
