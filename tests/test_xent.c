/* Fused cross-entropy against oracle_cross_entropy (the header formula of smx_cross_entropy_f32).

   Bounds:
   - no options (softmax and stablemax normalizers): loss <= 4 ulp (library promise).
     Gradient (my choice, derived from the promises): softmax normalizer <= 4 ulp of |ref| per
     element (non-target entries are p_j, the softmax (4 ulp); the target entry is -(1 - p_t),
     which the no-collapse promise puts at 4 ulp); stablemax normalizer <= 4 ulp of |ref| (p_j to
     0.5 ulp from float pairs, then A p_j - b, / (1 + |z_j|); 1 - p_t comes from the others).
   - no softmax collapse: target 25 above 999 others (and variants): loss and target gradient
     within 4 ulp.
   - options (and the sparsemax normalizer): relative error <= 1e-5 of max(|ref|, scale), with
     scale = for the loss the sum of the magnitudes of the loss terms (oracle_xent_row's scale:
     |row loss| for softmax/stablemax, whose terms are all >= 0; w_t (sum |u_i||p_i - q_i| +
     |p|^2/2 + |q|^2/2) for sparsemax), summed over rows (divided by the mean denominator for
     MEAN); for the gradient the largest |ref| of that gradient row (its infinity norm), or the
     magnitude of the terms that cancel in the element when larger (grad_term_scale: the label
     smoothing term q_j; for sparsemax max(1, max|u|), its bound being absolute). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ULP_LOSS 4.0
#define ULP_GRAD_SOFTMAX 4.0
#define ULP_GRAD_STABLEMAX 4.0
#define REL_BOUND 1e-5

static const char *const norm_names[] = {"softmax", "stablemax", "sparsemax"};
static const char *const red_names[] = {"none", "sum", "mean"};

/* ---- relative-error statistics for the options ---- */
typedef struct {
  double max;
  size_t fails, checked, printed;
} rel_stat;

static void rel_check(rel_stat *st, const char *ctx, const char *what, size_t i, float y, double ref, double scale) {
  double err;
  st->checked++;
  if (isnan(ref)) err = isnan(y) ? 0.0 : INFINITY;
  else if (isinf(ref) || isinf(y)) err = ((double)y == ref) ? 0.0 : INFINITY;
  else {
    double s = fabs(ref) > scale ? fabs(ref) : scale;
    if (s < (double)FLT_MIN) s = FLT_MIN; /* below FLT_MIN floats have no relative precision (as oracle_ulp) */
    if (s == 0.0) err = y == 0.0f ? 0.0 : INFINITY;
    else if (y == 0.0f && fabs(ref) < 1.001 * (double)FLT_MIN) err = 0.0; /* flush rule */
    else err = fabs((double)y - ref) / s;
  }
  if (err > st->max || isnan(err)) st->max = isnan(err) ? INFINITY : err;
  if (!(err <= REL_BOUND)) {
    st->fails++;
    if (st->printed++ < 8)
      cr_log_error("%s: %s[%zu] got %a (%.9g) ref %.17g scale %.6g: rel err %.3g > %g", ctx, what, i, (double)y,
                   (double)y, ref, scale, err, REL_BOUND);
  }
}
static void rel_report(const char *name, const rel_stat *st) {
  fprintf(stderr, "[simdmax] %-40s max rel err %10.4g over %9zu values (bound %g)%s\n", name, st->max, st->checked,
          REL_BOUND, st->fails ? "  FAILED" : "");
  cr_expect(st->fails == 0, "%s: %zu values over the relative bound %g (max %.4g)", name, st->fails, REL_BOUND, st->max);
}

/* The scale of gradient element j: the row's largest |ref| (m), or the magnitude of the terms
   that cancel in it when that is larger: label smoothing subtracts the target term q_j from p_j
   (softmax, stablemax), and a sparsemax probability u_j - tau carries an absolute error of the
   order of ulp(max(1, max|u|)) (the sparsemax bound is absolute). c_j = d softcap / dx. */
static double row_umax(const smx_xent_options *o, size_t n, const float *x) { /* max(1, max |u|) */
  double umax = 1.0;
  for (size_t i = 0; i < n; i++) {
    double u = isfinite(x[i]) ? fabs((double)x[i]) : 0.0;
    if (o->softcap > 0 && u > o->softcap) u = o->softcap;
    if (u > umax) umax = u;
  }
  return umax;
}
static double grad_term_scale(const smx_xent_options *o, size_t n, const float *x, int64_t t, size_t j, double coef,
                              double m, double umax) {
  const double e = o->label_smoothing, cap = o->softcap;
  const double wt = o->class_weight ? o->class_weight[t] : 1.0, wj = o->class_weight ? o->class_weight[j] : 1.0;
  double cj = 1.0, uj = x[j];
  if (cap > 0 && isfinite(x[j])) {
    double th = tanh((double)x[j] / cap), a = exp(-2.0 * fabs((double)x[j] / cap));
    uj = cap * th;
    cj = 4.0 * a / ((1.0 + a) * (1.0 + a));
  }
  double sc = 0.0;
  if (o->normalizer == SMX_NORM_SPARSEMAX) {
    double q = ((size_t)t == j ? 1.0 - e : 0.0) + e / (double)n;
    sc = fabs(coef) * wt * cj * (q + umax);
  } else if (e > 0) {
    double q = ((size_t)t == j ? (1.0 - e) * wt : 0.0) + e / (double)n * wj;
    double rj = o->normalizer == SMX_NORM_STABLEMAX ? 1.0 / (1.0 + fabs(uj)) : 1.0;
    sc = fabs(coef) * cj * rj * q;
  }
  return sc > m ? sc : m;
}

/* ---- one call against the oracle ----
   mode 0: ulp bounds (no options); mode 1: relative bound. */
typedef struct {
  tu_stat loss_ulp, grad_ulp;
  rel_stat loss_rel, grad_rel;
} xstats;

static void run_case(xstats *S, int mode, const char *ctx, size_t rows, size_t n, const float *x,
                     const int64_t *targets, const smx_xent_options *o, float grad_scale) {
  const size_t nloss = o->reduction == SMX_REDUCE_NONE ? rows : 1;
  float *loss = malloc(nloss * 4), *g = malloc(rows * n * 4);
  double *rl = malloc(nloss * 8), *rg = malloc(rows * n * 8);
  smx_status rc = smx_cross_entropy_f32(rows, n, x, n, targets, o, loss, g, n, grad_scale);
  cr_expect_eq(rc, SMX_OK, "%s: status %d", ctx, (int)rc);
  double D = oracle_cross_entropy(rows, n, x, n, targets, o, rl, rg, n, grad_scale);
  if (mode == 0) {
    double gb = o->normalizer == SMX_NORM_STABLEMAX ? ULP_GRAD_STABLEMAX : ULP_GRAD_SOFTMAX;
    tu_check_row(&S->loss_ulp, ctx, nloss, loss, rl, NULL, 0.0, ULP_LOSS);
    tu_check_row(&S->grad_ulp, ctx, rows * n, g, rg, NULL, 0.0, gb);
  } else {
    /* loss scales */
    double tot = 0.0;
    for (size_t r = 0; r < rows; r++) {
      double sc = 0.0;
      if (targets[r] != o->ignore_index) (void)oracle_xent_row(n, x + r * n, targets[r], o, 1.0, NULL, &sc);
      if (o->reduction == SMX_REDUCE_NONE) rel_check(&S->loss_rel, ctx, "loss", r, loss[r], rl[r], sc);
      tot += sc;
    }
    if (o->reduction == SMX_REDUCE_SUM) rel_check(&S->loss_rel, ctx, "loss", 0, loss[0], rl[0], tot);
    if (o->reduction == SMX_REDUCE_MEAN) rel_check(&S->loss_rel, ctx, "loss", 0, loss[0], rl[0], D > 0 ? tot / D : 0.0);
    const double coef = o->reduction == SMX_REDUCE_MEAN ? (D > 0 ? grad_scale / D : 0.0) : grad_scale;
    for (size_t r = 0; r < rows; r++) {
      double m = 0.0;
      for (size_t j = 0; j < n; j++)
        if (fabs(rg[r * n + j]) > m) m = fabs(rg[r * n + j]);
      const double umax = row_umax(o, n, x + r * n);
      for (size_t j = 0; j < n; j++) {
        double sc = targets[r] == o->ignore_index ? m : grad_term_scale(o, n, x + r * n, targets[r], j, coef, m, umax);
        if (isnan(rg[r * n + j])) {
          S->grad_rel.checked++;
          if (tu_bits(g[r * n + j]) != 0x7fc00000u) {
            S->grad_rel.fails++;
            if (S->grad_rel.printed++ < 8)
              cr_log_error("%s: grad[%zu][%zu] bits 0x%08x, want the NaN 0x7fc00000", ctx, r, j, tu_bits(g[r * n + j]));
          }
          continue;
        }
        rel_check(&S->grad_rel, ctx, "grad", r * n + j, g[r * n + j], rg[r * n + j], sc);
      }
    }
  }
  free(loss), free(g), free(rl), free(rg);
}

static void default_opts(smx_xent_options *o, smx_normalizer norm, smx_reduction red) {
  smx_xent_options_default(o);
  o->normalizer = norm;
  o->reduction = red;
}

/* a target whose logit is finite (an infinite loss is not what we measure) */
static int64_t pick_target(tu_rng *rng, size_t n, const float *x) {
  for (int tries = 0; tries < 64; tries++) {
    size_t t = tu_below(rng, n);
    if (isfinite(x[t])) return (int64_t)t;
  }
  for (size_t t = 0; t < n; t++)
    if (isfinite(x[t])) return (int64_t)t;
  return 0;
}
static size_t argmax(size_t n, const float *x) {
  size_t m = 0;
  for (size_t i = 1; i < n; i++)
    if (x[i] > x[m]) m = i;
  return m;
}

/* ---- no options: 4 ulp (loss), every size, regimes narrow/wide/onehot/large/neginf ---- */
static void no_options(smx_normalizer norm) {
  size_t ns, *sizes = tu_sizes(TU_HUGE, &ns), nmax = 0;
  for (size_t i = 0; i < ns; i++)
    if (sizes[i] > nmax) nmax = sizes[i];
  float *x = malloc(3 * nmax * 4);
  char ctx[256], title[128];
  static const int regs[] = {TU_NARROW, TU_WIDE, TU_ONEHOT, TU_LARGE, TU_NEGINF};
  for (size_t gi = 0; gi < sizeof regs / sizeof regs[0]; gi++) {
    int g = regs[gi];
    xstats S;
    memset(&S, 0, sizeof S);
    for (size_t k = 0; k < ns; k++) {
      size_t n = sizes[k];
      uint64_t seed = tu_case_seed(norm_names[norm], n, g);
      tu_rng rng;
      tu_rng_seed(&rng, seed);
      /* rows = 1, NONE, grad_scale 1: the per-row loss and gradient */
      tu_fill(&rng, g, n, x);
      int64_t t = (g == TU_ONEHOT && (tu_next(&rng) & 1)) ? (int64_t)argmax(n, x) : pick_target(&rng, n, x);
      smx_xent_options o;
      default_opts(&o, norm, SMX_REDUCE_NONE);
      tu_fmt(ctx, sizeof ctx, "xent %s none n=%zu regime=%s target=%lld seed=0x%llx", norm_names[norm], n,
             tu_regime_name(g), (long long)t, (unsigned long long)seed);
      run_case(&S, 0, ctx, 1, n, x, &t, &o, 1.0f);
      /* rows = 3 with the defaults (MEAN), opts NULL, on sizes up to 4097 */
      if (n <= 4097) {
        int64_t ts[3];
        for (int r = 0; r < 3; r++) {
          tu_fill(&rng, g, n, x + (size_t)r * n);
          ts[r] = pick_target(&rng, n, x + (size_t)r * n);
        }
        default_opts(&o, norm, SMX_REDUCE_MEAN);
        tu_fmt(ctx, sizeof ctx, "xent %s mean rows=3 n=%zu regime=%s seed=0x%llx", norm_names[norm], n,
               tu_regime_name(g), (unsigned long long)seed);
        run_case(&S, 0, ctx, 3, n, x, ts, &o, 1.0f);
        default_opts(&o, norm, SMX_REDUCE_SUM);
        run_case(&S, 0, ctx, 3, n, x, ts, &o, 1.0f);
      }
    }
    tu_report(tu_fmt(title, sizeof title, "xent_%s loss/%s", norm_names[norm], tu_regime_name(g)), &S.loss_ulp,
              ULP_LOSS);
    tu_report(tu_fmt(title, sizeof title, "xent_%s grad/%s", norm_names[norm], tu_regime_name(g)), &S.grad_ulp,
              norm == SMX_NORM_STABLEMAX ? ULP_GRAD_STABLEMAX : ULP_GRAD_SOFTMAX);
  }
  free(x), free(sizes);
}

Test(xent, softmax_no_options) { no_options(SMX_NORM_SOFTMAX); }
Test(xent, stablemax_no_options) { no_options(SMX_NORM_STABLEMAX); }

/* ---- no softmax collapse ---- */
Test(xent, no_softmax_collapse) {
  tu_stat sl = TU_STAT_INIT, sg = TU_STAT_INIT, sall = TU_STAT_INIT;
  char ctx[200];
  const size_t ns[] = {1000, 1001, 4096, 32000, 128256};
  const float gaps[] = {25.0f, 20.0f, 30.0f, 40.0f};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (size_t b = 0; b < sizeof gaps / sizeof gaps[0]; b++)
      for (int variant = 0; variant < 3; variant++) {
        size_t n = ns[a];
        if (tu_quick() && n > 32000) continue;
        float *x = malloc(n * 4), *g = malloc(n * 4), loss;
        double *rg = malloc(n * 8), rl;
        tu_rng rng;
        uint64_t seed = tu_case_seed("collapse", n * 10 + b, variant);
        tu_rng_seed(&rng, seed);
        for (size_t i = 0; i < n; i++)
          x[i] = variant == 0 ? 0.0f : variant == 1 ? (float)(0.1 * tu_normal(&rng)) : -5.0f + (float)(i % 3);
        int64_t t = variant == 0 ? 0 : (int64_t)tu_below(&rng, n);
        float base = -INFINITY;
        for (size_t i = 0; i < n; i++) base = x[i] > base ? x[i] : base;
        x[t] = base + gaps[b];
        smx_xent_options o;
        default_opts(&o, SMX_NORM_SOFTMAX, SMX_REDUCE_NONE);
        cr_expect_eq(smx_cross_entropy_f32(1, n, x, n, &t, &o, &loss, g, n, 1.0f), SMX_OK);
        oracle_cross_entropy(1, n, x, n, &t, &o, &rl, rg, n, 1.0);
        tu_fmt(ctx, sizeof ctx, "collapse n=%zu gap=%g variant=%d target=%lld seed=0x%llx", n, (double)gaps[b], variant,
               (long long)t, (unsigned long long)seed);
        tu_check_one(&sl, ctx, loss, rl, 0.0, ULP_LOSS);
        tu_check_one(&sg, ctx, g[t], rg[t], 0.0, ULP_LOSS);
        tu_check_row(&sall, ctx, n, g, rg, NULL, 0.0, ULP_GRAD_SOFTMAX);
        if (n == 1000 && b == 0 && variant == 0)
          fprintf(stderr, "[simdmax] collapse case (target 25 above 999 zeros): loss %.9g (ref %.9g), grad_t %.9g (ref %.9g)\n",
                  (double)loss, rl, (double)g[t], rg[t]);
        free(x), free(g), free(rg);
      }
  tu_report("xent collapse: loss", &sl, ULP_LOSS);
  tu_report("xent collapse: target gradient", &sg, ULP_LOSS);
  tu_report("xent collapse: whole gradient", &sall, ULP_GRAD_SOFTMAX);
}

/* The same for stablemax: one dominant logit (its -log p_t = log1p(others / s_t)). */
Test(xent, stablemax_dominant) {
  tu_stat sl = TU_STAT_INIT, sg = TU_STAT_INIT;
  char ctx[200];
  const size_t ns[] = {1000, 32000};
  const float tops[] = {1e6f, 1e9f, 3e12f};
  for (size_t a = 0; a < 2; a++)
    for (size_t b = 0; b < 3; b++) {
      size_t n = ns[a];
      float *x = malloc(n * 4), *g = malloc(n * 4), loss;
      double *rg = malloc(n * 8), rl;
      for (size_t i = 0; i < n; i++) x[i] = (float)(i % 7) - 3.0f;
      int64_t t = (int64_t)(n / 3);
      x[t] = tops[b];
      smx_xent_options o;
      default_opts(&o, SMX_NORM_STABLEMAX, SMX_REDUCE_NONE);
      cr_expect_eq(smx_cross_entropy_f32(1, n, x, n, &t, &o, &loss, g, n, 1.0f), SMX_OK);
      oracle_cross_entropy(1, n, x, n, &t, &o, &rl, rg, n, 1.0);
      tu_fmt(ctx, sizeof ctx, "stablemax dominant n=%zu top=%g", n, (double)tops[b]);
      tu_check_one(&sl, ctx, loss, rl, 0.0, ULP_LOSS);
      tu_check_row(&sg, ctx, n, g, rg, NULL, 0.0, ULP_GRAD_STABLEMAX);
      free(x), free(g), free(rg);
    }
  tu_report("xent stablemax dominant: loss", &sl, ULP_LOSS);
  tu_report("xent stablemax dominant: gradient", &sg, ULP_GRAD_STABLEMAX);
}

/* ---- options ---- */
#define NSETS 11
static const char *const set_names[NSETS] = {"defaults",     "smoothing0.1", "smoothing1",  "zloss",
                                             "softcap30",    "softcap2.5",   "classweight", "ignore",
                                             "ignore=3",     "all",          "weights0"};

/* Fill the options of set s; returns 0 if the set does not apply (z_loss off softmax, smoothing
   with -inf logits). weights: n floats of storage. targets[rows] are adjusted for the ignore sets. */
static int make_set(int s, smx_normalizer norm, smx_reduction red, int g, tu_rng *rng, size_t rows, size_t n,
                    const float *x, float *weights, int64_t *targets, smx_xent_options *o, float *grad_scale) {
  static const float scales[] = {1.0f, 0.5f, -2.0f, 0x1p-10f};
  default_opts(o, norm, red);
  *grad_scale = scales[tu_below(rng, 4)];
  int smoothing = s == 1 || s == 2 || s == 9;
  if (smoothing && g == TU_NEGINF) return 0;
  if (norm == SMX_NORM_SPARSEMAX && g == TU_NEGINF) return 0; /* FY loss: -inf * 0 terms */
  for (size_t r = 0; r < rows; r++) targets[r] = pick_target(rng, n, x + r * n);
  switch (s) {
  case 0: break;
  case 1: o->label_smoothing = 0.1f; break;
  case 2: o->label_smoothing = 1.0f; break;
  case 3:
    if (norm != SMX_NORM_SOFTMAX) return 0;
    o->z_loss = 1e-4f;
    break;
  case 4: o->softcap = 30.0f; break;
  case 5: o->softcap = 2.5f; break;
  case 6:
  case 10:
    for (size_t j = 0; j < n; j++) weights[j] = (float)tu_uniform(rng, 0.25, 2.0);
    if (s == 10)
      for (size_t j = 0; j < n; j++)
        if (j != (size_t)targets[0] && tu_below(rng, 3) == 0) weights[j] = 0.0f;
    o->class_weight = weights;
    break;
  case 7:
    if (rows > 1) targets[1] = -100;
    break;
  case 8:
    o->ignore_index = 3;
    if (n > 3 && rows > 1) targets[rows - 1] = 3;
    if (n > 3) /* row 0 must stay counted */
      while (targets[0] == 3) targets[0] = pick_target(rng, n, x);
    break;
  case 9:
    o->label_smoothing = 0.2f;
    if (norm == SMX_NORM_SOFTMAX) o->z_loss = 1e-3f;
    o->softcap = 15.0f;
    for (size_t j = 0; j < n; j++) weights[j] = (float)tu_uniform(rng, 0.25, 2.0);
    o->class_weight = weights;
    if (rows > 1) targets[1] = -100;
    *grad_scale = 0.37f;
    break;
  }
  return 1;
}

static void options_case(xstats *S, int s, smx_normalizer norm, smx_reduction red, int g, size_t n) {
  const size_t rows = 3;
  char ctx[256];
  uint64_t seed = tu_case_seed(set_names[s], n * 16 + (size_t)norm * 4 + (size_t)red, g);
  tu_rng rng;
  tu_rng_seed(&rng, seed);
  float *x = malloc(rows * n * 4), *w = malloc(n * 4), gs;
  int64_t t[3];
  for (size_t r = 0; r < rows; r++) tu_fill(&rng, g, n, x + r * n);
  smx_xent_options o;
  if (make_set(s, norm, red, g, &rng, rows, n, x, w, t, &o, &gs)) {
    tu_fmt(ctx, sizeof ctx, "xent %s %s %s n=%zu regime=%s targets=%lld,%lld,%lld grad_scale=%g seed=0x%llx",
           norm_names[norm], red_names[red], set_names[s], n, tu_regime_name(g), (long long)t[0], (long long)t[1],
           (long long)t[2], (double)gs, (unsigned long long)seed);
    run_case(S, 1, ctx, rows, n, x, t, &o, gs);
  }
  free(x), free(w);
}

static void options_for(smx_normalizer norm) {
  static const size_t subset[] = {1, 2, 3, 5, 8, 16, 17, 31, 64, 65, 100, 127, 200, 1000, 1025, 4097, 32000};
  static const int regs[] = {TU_NARROW, TU_WIDE, TU_ONEHOT, TU_LARGE, TU_NEGINF};
  char title[128];
  for (int s = 0; s < NSETS; s++) {
    xstats S;
    memset(&S, 0, sizeof S);
    for (int red = 0; red < 3; red++)
      for (size_t gi = 0; gi < 5; gi++)
        for (size_t k = 0; k < sizeof subset / sizeof subset[0]; k++)
          if (!tu_quick() || subset[k] <= 1025) /* quick (qemu): the large sizes come below, once each */
            options_case(&S, s, norm, (smx_reduction)red, regs[gi], subset[k]);
    if (!S.loss_rel.checked) continue;
    rel_report(tu_fmt(title, sizeof title, "xent_%s %s: loss", norm_names[norm], set_names[s]), &S.loss_rel);
    rel_report(tu_fmt(title, sizeof title, "xent_%s %s: grad", norm_names[norm], set_names[s]), &S.grad_rel);
  }
  /* every size of the standard list, one rotating (set, reduction, regime) per size */
  size_t ns, *sizes = tu_sizes(0, &ns);
  xstats S;
  memset(&S, 0, sizeof S);
  for (size_t k = 0; k < ns; k++) {
    size_t h = sizes[k] * 2654435761u;
    options_case(&S, (int)(h % NSETS), norm, (smx_reduction)((h >> 8) % 3), regs[(h >> 12) % 5], sizes[k]);
  }
  rel_report(tu_fmt(title, sizeof title, "xent_%s all sizes: loss", norm_names[norm]), &S.loss_rel);
  rel_report(tu_fmt(title, sizeof title, "xent_%s all sizes: grad", norm_names[norm]), &S.grad_rel);
  free(sizes);
}

Test(xent, softmax_options) { options_for(SMX_NORM_SOFTMAX); }
Test(xent, stablemax_options) { options_for(SMX_NORM_STABLEMAX); }
Test(xent, sparsemax_all) { options_for(SMX_NORM_SPARSEMAX); }

/* ---- special cases ---- */
Test(xent, nan_rows) {
  for (int norm = 0; norm < 3; norm++)
    for (int red = 0; red < 3; red++) {
      const size_t rows = 3, n = 37;
      float x[3 * 37], g[3 * 37], loss[3];
      int64_t t[3] = {4, 5, 6};
      for (size_t i = 0; i < rows * n; i++) x[i] = (float)(i % 11) * 0.3f;
      x[n + 20] = -NAN;
      smx_xent_options o;
      default_opts(&o, (smx_normalizer)norm, (smx_reduction)red);
      cr_expect_eq(smx_cross_entropy_f32(rows, n, x, n, t, &o, loss, g, n, 1.0f), SMX_OK);
      if (red == SMX_REDUCE_NONE) {
        cr_expect(isnan(loss[1]) && !isnan(loss[0]) && !isnan(loss[2]), "%s none: NaN row loss %g %g %g", norm_names[norm],
                  (double)loss[0], (double)loss[1], (double)loss[2]);
      } else {
        cr_expect(isnan(loss[0]), "%s %s: NaN row must give a NaN loss, got %g", norm_names[norm], red_names[red],
                  (double)loss[0]);
      }
      for (size_t j = 0; j < n; j++) {
        cr_expect(tu_bits(g[n + j]) == 0x7fc00000u, "%s %s: NaN row gradient [%zu] bits 0x%08x", norm_names[norm],
                  red_names[red], j, tu_bits(g[n + j]));
        cr_expect(!isnan(g[j]) && !isnan(g[2 * n + j]), "%s %s: NaN leaked into another row's gradient",
                  norm_names[norm], red_names[red]);
      }
    }
}

/* A loss is NaN as one quiet NaN (0x7fc00000) on every ISA: a row NaN by its input, a row NaN by its arithmetic (label
   smoothing 1 over -inf logits: inf - inf, the CPU's default NaN, -NaN on x86), and their SUM / MEAN, whose adds
   would keep whichever NaN they meet first (the fuzz target found avx2's sum -NaN where scalar's was +NaN). */
Test(xent, nan_losses_canonical) {
  enum { N = 24 };
  float x[3 * N], g[3 * N], loss[3];
  int64_t t[3] = {0, 0, 0};
  for (int j = 0; j < N; j++) x[j] = (float)j * 0.25f, x[N + j] = -INFINITY, x[2 * N + j] = 0.5f - (float)j;
  x[5] = -NAN, x[N + 20] = 0x1p-63f, x[N + 21] = 0.0f;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int norm = 0; norm < 3; norm++)
      for (int red = 0; red < 3; red++) {
        smx_xent_options o;
        default_opts(&o, (smx_normalizer)norm, (smx_reduction)red);
        o.label_smoothing = 1.0f;
        cr_assert_eq(smx_cross_entropy_f32(3, N, x, N, t, &o, loss, g, N, 1.0f), SMX_OK);
        for (int r = 0; r < (red == SMX_REDUCE_NONE ? 3 : 1); r++)
          if (isnan(loss[r]))
            cr_expect(tu_bits(loss[r]) == 0x7fc00000u, "%s %s %s: loss[%d] bits 0x%08x", smx_isa_name((smx_isa)isa),
                      norm_names[norm], red_names[red], r, tu_bits(loss[r]));
        cr_expect(isnan(loss[0]), "%s %s %s: the NaN row's loss %g", smx_isa_name((smx_isa)isa), norm_names[norm],
                  red_names[red], (double)loss[0]);
      }
  }
  smx_set_isa(SMX_ISA_SCALAR);
}

/* The gradient's NaNs that the arithmetic makes (A = (1 - e) w_t + e W / n past FLT_MAX: inf x 0 where p = 0, and
   inf - inf; probability targets of +-inf) are the quiet NaN 0x7fc00000 on every ISA and CPU, not the CPU's default
   NaN (-NaN on x86), and so is a NaN target's, whatever its payload: rows of lane groups, register groups and long
   rows, softmax and stablemax (and sparsemax's NaN target). */
static void expect_canonical_nans(const float *v, size_t count, const char *what, size_t n, int norm, int isa) {
  size_t other;
  const size_t nans = tu_nans(v, count, &other);
  cr_expect(other == count, "%s %s %s n=%zu: [%zu] bits 0x%08x", what, norm_names[norm], smx_isa_name((smx_isa)isa),
            n, other, other < count ? tu_bits(v[other]) : 0u);
  cr_expect(nans > 0, "%s %s %s n=%zu: no NaN (the inputs no longer make one)", what, norm_names[norm],
            smx_isa_name((smx_isa)isa), n);
}
Test(xent, arithmetic_nan_gradients_canonical) {
  enum { R = 16 };
  const size_t ns[] = {8, 40, 1000};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
    const size_t n = ns[a];
    float *x = malloc(R * n * 4), *q = malloc(R * n * 4), *g = malloc(R * n * 4), *w = malloc(n * 4), loss[R];
    int64_t t[R];
    for (size_t i = 0; i < R * n; i++) x[i] = 30.0f * (float)(i % 7) - 90.0f, q[i] = 1.0f / (float)n;
    for (size_t j = 0; j < n; j++) w[j] = FLT_MAX;
    for (size_t r = 0; r < R; r++) t[r] = (int64_t)(r % n), q[r * n + 1] = r % 2 ? INFINITY : -INFINITY;
    for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
      if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
      for (int norm = 0; norm < 3; norm++) {
        smx_xent_options o;
        default_opts(&o, (smx_normalizer)norm, SMX_REDUCE_NONE);
        if (norm != SMX_NORM_SPARSEMAX) { /* (sparsemax: no class weights; p - q' is +-inf at an infinite target) */
          o.class_weight = w, o.label_smoothing = 0.5f;
          cr_assert_eq(smx_cross_entropy_f32(R, n, x, n, t, &o, loss, g, n, 1e30f), SMX_OK);
          expect_canonical_nans(g, R * n, "class weights FLT_MAX", n, norm, isa);
          o.class_weight = NULL, o.label_smoothing = 0.0f;
          cr_assert_eq(smx_cross_entropy_soft_f32(R, n, x, n, q, n, &o, loss, g, n, 1.0f), SMX_OK);
          expect_canonical_nans(g, R * n, "targets +-inf", n, norm, isa);
        }
        const uint32_t payload = 0xffc12345u; /* a NaN target with a sign and a payload: its row NaN, canonical */
        float keep = q[1];
        memcpy(&q[1], &payload, 4);
        cr_assert_eq(smx_cross_entropy_soft_f32(R, n, x, n, q, n, &o, loss, g, n, 1.0f), SMX_OK);
        expect_canonical_nans(g, R * n, "a target NaN 0xffc12345", n, norm, isa);
        q[1] = keep;
      }
    }
    free(x), free(q), free(g), free(w);
  }
  smx_set_isa(SMX_ISA_SCALAR);
}

Test(xent, mean_over_zero_rows) {
  /* every row ignored: MEAN gives 0 and a zero gradient; SUM gives 0 */
  for (int norm = 0; norm < 3; norm++)
    for (int red = 1; red < 3; red++) {
      float x[2 * 10], g[2 * 10], loss = -1.0f;
      int64_t t[2] = {-100, -100};
      for (int i = 0; i < 20; i++) x[i] = (float)i, g[i] = 7.0f;
      smx_xent_options o;
      default_opts(&o, (smx_normalizer)norm, (smx_reduction)red);
      o.label_smoothing = 0.3f;
      cr_expect_eq(smx_cross_entropy_f32(2, 10, x, 10, t, &o, &loss, g, 10, 1.0f), SMX_OK);
      cr_expect(loss == 0.0f, "%s %s all ignored: loss %g", norm_names[norm], red_names[red], (double)loss);
      for (int i = 0; i < 20; i++)
        cr_expect(g[i] == 0.0f, "%s %s all ignored: grad[%d] = %g", norm_names[norm], red_names[red], i, (double)g[i]);
    }
}

Test(xent, null_outputs_and_null_opts) {
  const size_t rows = 4, n = 300;
  float *x = malloc(rows * n * 4), *g1 = malloc(rows * n * 4), *g2 = malloc(rows * n * 4), l1, l2;
  int64_t t[4] = {0, 299, 150, 7};
  tu_rng rng;
  tu_rng_seed(&rng, tu_case_seed("nullopts", n, 0));
  tu_fill(&rng, TU_WIDE, rows * n, x);
  smx_xent_options o;
  smx_xent_options_default(&o);
  cr_expect_eq(o.normalizer, SMX_NORM_SOFTMAX);
  cr_expect_eq(o.reduction, SMX_REDUCE_MEAN);
  cr_expect_eq(o.ignore_index, -100);
  cr_expect(o.label_smoothing == 0.0f && o.z_loss == 0.0f && o.softcap == 0.0f && o.class_weight == NULL);
  cr_expect_eq(smx_cross_entropy_f32(rows, n, x, n, t, &o, &l1, g1, n, 1.0f), SMX_OK);
  cr_expect_eq(smx_cross_entropy_f32(rows, n, x, n, t, NULL, &l2, g2, n, 1.0f), SMX_OK);
  cr_expect(tu_bits(l1) == tu_bits(l2) && tu_bits_equal(g1, g2, rows * n, NULL), "opts NULL differs from the defaults");
  /* loss only / gradient only give the same bits */
  float l3;
  cr_expect_eq(smx_cross_entropy_f32(rows, n, x, n, t, &o, &l3, NULL, 0, 1.0f), SMX_OK);
  cr_expect(tu_bits(l3) == tu_bits(l1), "loss without gradient differs: %a vs %a", (double)l3, (double)l1);
  cr_expect_eq(smx_cross_entropy_f32(rows, n, x, n, t, &o, NULL, g2, n, 1.0f), SMX_OK);
  cr_expect(tu_bits_equal(g1, g2, rows * n, NULL), "gradient without loss differs");
  free(x), free(g1), free(g2);
}

/* ---- layouts: ldx/ldd > n with canaries, misaligned, in place (dlogits == logits), loss
   buffer canaries; NONE and SUM gradients are per row, so each row must equal the row alone. ---- */
Test(xent, layouts) {
  static const size_t pads[] = {0, 1, 7, 64};
  size_t cases = 0, fails = 0;
  for (size_t si = 0; si < tu_layout_nsizes; si++) {
    size_t n = tu_layout_sizes[si];
    const size_t rows = 3;
    float *xr = malloc(rows * n * 4), *gr = malloc(rows * n * 4), lr[3];
    for (int norm = 0; norm < 3; norm++)
      for (int red = 0; red < 2; red++)
        for (size_t pi = 0; pi < 4; pi++)
          for (int mis = 0; mis < 2; mis++)
            for (int ip = 0; ip < 2; ip++) {
              uint64_t seed = tu_case_seed("xent-layout", n * 1000 + (size_t)norm * 100 + (size_t)red * 50 + pi * 4 + (size_t)mis * 2 + (size_t)ip, 5);
              tu_rng rng;
              tu_rng_seed(&rng, seed);
              int64_t t[3];
              smx_xent_options o;
              default_opts(&o, (smx_normalizer)norm, (smx_reduction)red);
              o.softcap = (pi & 1) ? 20.0f : 0.0f;
              o.label_smoothing = (pi & 2) ? 0.05f : 0.0f;
              for (size_t r = 0; r < rows; r++) {
                tu_fill(&rng, r == 1 ? TU_ONEHOT : TU_NARROW, n, xr + r * n);
                t[r] = (int64_t)tu_below(&rng, n);
              }
              t[2] = (ip && pi == 3) ? -100 : t[2];
              smx_xent_options o1 = o;
              o1.reduction = SMX_REDUCE_NONE;
              for (size_t r = 0; r < rows; r++)
                smx_cross_entropy_f32(1, n, xr + r * n, n, &t[r], &o1, &lr[r], gr + r * n, n, 0.75f);
              tu_mat X, G, L;
              size_t ld = n + pads[pi];
              tu_mat_alloc(&X, rows, n, ld, mis);
              for (size_t r = 0; r < rows; r++) memcpy(tu_row(&X, r), xr + r * n, n * 4);
              if (!ip) tu_mat_alloc(&G, rows, n, n + pads[(pi + 1) % 4], !mis);
              size_t nl = red == SMX_REDUCE_NONE ? rows : 1;
              tu_mat_alloc(&L, 1, nl, nl, mis);
              const tu_mat *out = ip ? &X : &G;
              smx_status rc = smx_cross_entropy_f32(rows, n, X.m, ld, t, &o, L.m, out->m, out->ld, 0.75f);
              int ok = rc == SMX_OK;
              size_t first = 0;
              long where = 0;
              for (size_t r = 0; r < rows && ok; r++)
                if (!tu_bits_equal(tu_row(out, r), gr + r * n, n, &first)) {
                  ok = 0;
                  cr_log_error("xent layout %s %s n=%zu ld=%zu/%zu mis=%d inplace=%d: row %zu [%zu] %a != %a alone; seed 0x%llx",
                               norm_names[norm], red_names[red], n, ld, out->ld, mis, ip, r, first,
                               (double)tu_row(out, r)[first], (double)gr[r * n + first], (unsigned long long)seed);
                }
              if (ok && red == SMX_REDUCE_NONE && !tu_bits_equal(L.m, lr, rows, &first)) {
                ok = 0;
                cr_log_error("xent layout %s none n=%zu: loss[%zu] %a != %a alone", norm_names[norm], n, first,
                             (double)L.m[first], (double)lr[first]);
              }
              if (!ip)
                for (size_t r = 0; r < rows; r++)
                  if (!tu_bits_equal(tu_row(&X, r), xr + r * n, n, NULL)) {
                    ok = 0;
                    cr_log_error("xent layout n=%zu: logits row %zu modified", n, r);
                  }
              if (!tu_mat_canaries_ok(&X, &where) || (!ip && !tu_mat_canaries_ok(&G, &where)) ||
                  !tu_mat_canaries_ok(&L, &where)) {
                ok = 0;
                cr_log_error("xent layout %s %s n=%zu ld=%zu mis=%d inplace=%d: canary %ld overwritten", norm_names[norm],
                             red_names[red], n, ld, mis, ip, where);
              }
              cases++;
              fails += !ok;
              tu_mat_free(&X), tu_mat_free(&L);
              if (!ip) tu_mat_free(&G);
            }
    free(xr), free(gr);
  }
  fprintf(stderr, "[simdmax] %-40s %zu layout cases, %zu failed\n", "cross_entropy", cases, fails);
  cr_expect(fails == 0, "cross_entropy: %zu of %zu layout cases failed", fails, cases);
}

/* Rows with +inf logits (p = 1/k on them) or only -inf logits (p = 0), every normalizer, with and
   without label smoothing and class weights: the loss (+inf where some p is 0 under a nonzero
   coefficient) and the gradient r_j (p - q)_j as the header states. */
Test(xent, infinite_rows) {
  tu_stat sl = TU_STAT_INIT, sg = TU_STAT_INIT;
  char ctx[160];
  float w[9] = {1, 0.5f, 2, 1, 0, 1, 1.5f, 1, 1};
  const float rows[][9] = {{1, INFINITY, 3, -INFINITY, 0, INFINITY, 2, 1, 0},
                           {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},
                           {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY},
                           {0, -INFINITY, 2, 1, -INFINITY, 3, 0.5f, -1, 4}};
  for (int norm = 0; norm < 3; norm++)
    for (size_t r = 0; r < 4; r++)
      for (int64_t t = 0; t < 9; t += 4)
        for (int opt = 0; opt < 3; opt++) {
          smx_xent_options o;
          default_opts(&o, (smx_normalizer)norm, SMX_REDUCE_NONE);
          if (opt >= 1) o.label_smoothing = 0.2f;
          if (opt == 2) o.class_weight = w;
          float loss, g[9];
          double rl, rg[9];
          cr_expect_eq(smx_cross_entropy_f32(1, 9, rows[r], 9, &t, &o, &loss, g, 9, 1.0f), SMX_OK);
          oracle_cross_entropy(1, 9, rows[r], 9, &t, &o, &rl, rg, 9, 1.0);
          tu_fmt(ctx, sizeof ctx, "xent %s infinite row %zu target %lld options %d", norm_names[norm], r, (long long)t, opt);
          tu_check_one(&sl, ctx, loss, rl, 0.0, ULP_LOSS);
          tu_check_row(&sg, ctx, 9, g, rg, NULL, 1.0, ULP_LOSS);
        }
  tu_report("xent infinite rows: loss", &sl, ULP_LOSS);
  tu_report("xent infinite rows: gradient (ulp of max(|ref|, 1))", &sg, ULP_LOSS);
}
