/* Row states and the sharded cross-entropy: merged shard states against the unsharded calls on every ISA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const size_t sizes[] = {1, 100, 1023, 1024, 1025, 2048, 3000, 5000, 9000, 32000};
/* SMX_TEST_QUICK (qemu): the sizes up to 5000 */
#define NSIZES (tu_quick() ? 8 : sizeof sizes / sizeof sizes[0])

/* The row's bits are those of the unsharded call when its max is in [-65536, 65536], or the row is special
   (a NaN, +inf entries, all -inf); other rows (the plain state) are deterministic and within the bounds. The
   stablemax normalizer's state has no such exception. */
static int exact_expected_norm(int norm, size_t n, const float *x) {
  if (norm == SMX_NORM_STABLEMAX) return 1;
  float m = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != x[i]) return 1;
    if (x[i] > m) m = x[i];
  }
  return m == INFINITY || m == -INFINITY || (m >= -65536.0f && m <= 65536.0f);
}
static int exact_expected(size_t n, const float *x) { return exact_expected_norm(SMX_NORM_SOFTMAX, n, x); }

/* no finite entry below -65536 (blocks there also keep a plain state, merged inexactly but never used) */
static int no_low(size_t n, const float *x) {
  for (size_t i = 0; i < n; i++)
    if (x[i] < -65536.0f && x[i] != -INFINITY) return 0;
  return 1;
}

/* Random shard boundaries: 0 = c[0] < c[1] < ... < c[k] = n; aligned: inner boundaries multiples of 1024. */
static size_t random_cuts(tu_rng *r, size_t n, int aligned, size_t *c) {
  size_t k = 1 + tu_below(r, 5), m = 1;
  c[0] = 0;
  for (size_t i = 1; i < k; i++) {
    size_t b = aligned ? 1024 * (1 + tu_below(r, (n + 1023) / 1024)) : 1 + tu_below(r, n);
    if (b < n && b > c[m - 1]) c[m++] = b;
  }
  c[m] = n;
  return m;
}

/* states of the shards of one row, merged left to right (grouping 0: ((s0 s1) s2) ..., 1: s0 (s1 (s2 ...))) */
static void merged_state(size_t n, const float *x, const size_t *c, size_t k, const smx_xent_options *o, int grouping,
                         smx_row_state *out) {
  smx_row_state st[8];
  for (size_t i = 0; i < k; i++) cr_assert_eq(smx_row_state_f32(1, c[i + 1] - c[i], x + c[i], n, o, &st[i]), SMX_OK);
  if (grouping == 0) {
    for (size_t i = 1; i < k; i++) cr_assert_eq(smx_row_state_merge(1, &st[0], &st[i]), SMX_OK);
    *out = st[0];
  } else {
    for (size_t i = k - 1; i >= 1; i--) cr_assert_eq(smx_row_state_merge(1, &st[i - 1], &st[i]), SMX_OK);
    *out = st[0];
  }
}


Test(rowstate, logsumexp_aligned_and_unaligned) {
  tu_seed_random("rowstate");
  float *x = malloc(32000 * sizeof *x);
  size_t exact = 0, inexact = 0;
  double worst = 0.0;
  const smx_isa isa0 = smx_active_isa();
  for (int is = 0; is < SMX_ISA_COUNT; is++) {
    if (!smx_isa_supported((smx_isa)is)) continue;
    cr_assert_eq(smx_set_isa((smx_isa)is), SMX_OK);
    for (size_t si = 0; si < NSIZES; si++)
      for (int g = 0; g < TU_NREGIMES; g++) {
        const size_t n = sizes[si];
        tu_rng r;
        tu_rng_seed(&r, tu_case_seed("rowstate", n, g));
        tu_fill(&r, g, n, x);
        float ref, lse, lse2;
        cr_assert_eq(smx_logsumexp_f32(1, n, x, n, &ref), SMX_OK);
        for (int rep = 0; rep < 3; rep++)
          for (int aligned = 0; aligned < 2; aligned++) {
            size_t c[8];
            const size_t k = random_cuts(&r, n, aligned, c);
            smx_row_state st, st2;
            merged_state(n, x, c, k, NULL, rep % 2, &st);
            merged_state(n, x, c, k, NULL, rep % 2, &st2);
            cr_assert_eq(smx_row_state_logsumexp(1, &st, &lse), SMX_OK);
            cr_assert_eq(smx_row_state_logsumexp(1, &st2, &lse2), SMX_OK);
            cr_assert(tu_bits(lse) == tu_bits(lse2), "not deterministic: %s n=%zu regime %s", smx_isa_name((smx_isa)is),
                      n, tu_regime_name(g));
            cr_assert(memcmp(&st, &st2, sizeof st) == 0, "state bytes differ between equal runs");
            if ((aligned || k == 1) && exact_expected(n, x)) {
              cr_assert(tu_bits(lse) == tu_bits(ref),
                        "%s n=%zu regime %s, %zu shards (aligned): lse %a, unsharded %a (seed 0x%llx)",
                        smx_isa_name((smx_isa)is), n, tu_regime_name(g), k, (double)lse, (double)ref,
                        (unsigned long long)tu_base_seed());
              if (no_low(n, x)) { /* the merged state is the whole row's state, byte for byte */
                smx_row_state whole;
                cr_assert_eq(smx_row_state_f32(1, n, x, n, NULL, &whole), SMX_OK);
                cr_assert(memcmp(&whole, &st, sizeof st) == 0, "%s n=%zu regime %s: merged state bytes differ",
                          smx_isa_name((smx_isa)is), n, tu_regime_name(g));
              }
              exact++;
            } else if (ref == ref && isfinite(ref)) { /* within the logsumexp bound of the oracle */
              const double o = oracle_logsumexp(n, x);
              float mx = -INFINITY;
              for (size_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
              tu_stat s = TU_STAT_INIT;
              const double e = tu_check_one(&s, "lse unaligned", lse, o, fmax(fabs(o), fabs((double)mx)), 4.0);
              cr_assert(s.fails == 0, "%s n=%zu regime %s: %g ulp", smx_isa_name((smx_isa)is), n, tu_regime_name(g), e);
              worst = e > worst ? e : worst;
              inexact++;
            } else {
              cr_assert(tu_bits(lse) == tu_bits(ref), "special row: lse %a, unsharded %a", (double)lse, (double)ref);
            }
          }
      }
  }
  smx_set_isa(isa0);
  fprintf(stderr, "[simdmax] row states: %zu merged lse bit-identical, %zu others within %.3f ulp (bound 4)\n", exact,
          inexact, worst);
  free(x);
}

/* one configuration of the sharded cross-entropy against smx_cross_entropy_f32 */
typedef struct {
  float softcap, z_loss;
  int weights, reduction;
  float smoothing;
  int norm; /* smx_normalizer */
} xcfg;

/* close to the unsharded value where other boundaries change the blocks: 16 ulp of |ref|, plus 2^-22 of the row's
   scale (label smoothing's A p_j - b_j can cancel); NaN where it is NaN, infinities equal */
static int close_to(float v, float ref, float scale) {
  if (ref != ref || !isfinite(ref)) return tu_bits(v) == tu_bits(ref) || (v != v && ref != ref);
  return fabsf(v - ref) <= 0x1p-19f * fabsf(ref) + 0x1p-22f * scale;
}

/* variant 0: boundaries at multiples of 1024 (bit-identical to the unsharded call), 1: anywhere (close to it) */
static void check_xent(const char *isa, int variant, size_t n, int regime, const xcfg *cf, tu_rng *r) {
  enum { ROWS = 3 };
  const int aligned = variant == 0;
  float *x = malloc(ROWS * n * sizeof *x), *w = malloc(n * sizeof *w), *dref = malloc(ROWS * n * sizeof *dref);
  for (size_t q = 0; q < ROWS; q++) tu_fill(r, q == 1 ? regime : TU_NARROW + (int)(q % 2) * TU_N3, n, x + q * n);
  for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(r, 0.0, 2.0);
  int64_t t[ROWS] = {(int64_t)tu_below(r, n), (int64_t)tu_below(r, n), n > 2 ? -100 : 0};
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.softcap = cf->softcap, o.z_loss = cf->z_loss, o.class_weight = cf->weights ? w : NULL;
  o.reduction = (smx_reduction)cf->reduction, o.label_smoothing = cf->smoothing, o.normalizer = (smx_normalizer)cf->norm;
  float lref[ROWS];
  cr_assert_eq(smx_cross_entropy_f32(ROWS, n, x, n, t, &o, lref, dref, n, 0.75f), SMX_OK);
  size_t c[8];
  const size_t k = random_cuts(r, n, aligned, c);
  smx_row_state full[ROWS], part[ROWS];
  for (size_t i = 0; i < k; i++) {
    smx_xent_options os = o; /* a slice's states take the slice's weights */
    if (os.class_weight) os.class_weight += c[i];
    cr_assert_eq(smx_row_state_f32(ROWS, c[i + 1] - c[i], x + c[i], n, &os, i ? part : full), SMX_OK);
    if (i) cr_assert_eq(smx_row_state_merge(ROWS, full, part), SMX_OK);
  }
  float lsum[ROWS] = {0};
  for (size_t i = 0; i < k; i++) {
    const size_t ns = c[i + 1] - c[i], ld = ns + 3;
    tu_mat d;
    tu_mat_alloc(&d, ROWS, ns, ld, (int)(i % 2));
    float lp[ROWS];
    if (i % 2) { /* in place: the shard's logits copied into d */
      for (size_t q = 0; q < ROWS; q++) memcpy(tu_row(&d, q), x + q * n + c[i], ns * sizeof *x);
      cr_assert_eq(smx_cross_entropy_shard_f32(ROWS, ns, d.m, ld, c[i], n, t, &o, full, lp, d.m, ld, 0.75f), SMX_OK);
    } else {
      cr_assert_eq(smx_cross_entropy_shard_f32(ROWS, ns, x + c[i], n, c[i], n, t, &o, full, lp, d.m, ld, 0.75f), SMX_OK);
    }
    long where;
    cr_assert(tu_mat_canaries_ok(&d, &where), "canary at %ld", where);
    for (size_t q = 0; q < ROWS; q++) {
      size_t first;
      const float *g = tu_row(&d, q), *gref = dref + q * n;
      if (!aligned && k > 1) {
        float gmax = 0.0f; /* the largest gradient, or of label smoothing's term 0.75 (eps / n) w_j */
        for (size_t j = 0; j < n; j++) {
          const float qj = 0.75f * cf->smoothing / (float)n * (cf->weights ? w[j] : 1.0f);
          gmax = fmaxf(gmax, fmaxf(isfinite(gref[j]) ? fabsf(gref[j]) : 0.0f, qj));
        }
        for (size_t j = 0; j < ns; j++)
          cr_assert(close_to(g[j], gref[c[i] + j], gmax), "%s n=%zu regime %s norm %d cap %g ls %g w %d: row %zu, "
                    "unaligned shard [%zu, %zu): gradient %a, unsharded %a at %zu", isa, n, tu_regime_name(regime),
                    cf->norm, (double)cf->softcap, (double)cf->smoothing, cf->weights, q, c[i], c[i + 1], (double)g[j],
                    (double)gref[c[i] + j], c[i] + j);
        continue;
      }
      const int eq = tu_bits_equal(g, gref + c[i], ns, &first);
      cr_assert(eq || !exact_expected_norm(cf->norm, n, x + q * n),
                "%s n=%zu regime %s norm %d cap %g zl %g w %d red %d ls %g: row %zu shard [%zu, %zu) gradient %a, unsharded %a at %zu",
                isa, n, tu_regime_name(regime), cf->norm, (double)cf->softcap, (double)cf->z_loss, cf->weights,
                cf->reduction, (double)cf->smoothing, q,
                c[i], c[i + 1], (double)tu_row(&d, q)[first], (double)dref[q * n + c[i] + first], c[i] + first);
    }
    for (size_t q = 0; q < (cf->reduction == SMX_REDUCE_NONE ? ROWS : 1); q++) lsum[q] += lp[q];
    tu_mat_free(&d);
  }
  for (size_t q = 0; q < (cf->reduction == SMX_REDUCE_NONE ? ROWS : 1); q++) {
    int ex = 1;
    for (size_t p = 0; p < ROWS; p++)
      if ((cf->reduction != SMX_REDUCE_NONE || p == q) && !exact_expected_norm(cf->norm, n, x + p * n)) ex = 0;
    if (!aligned && k > 1) {
      cr_assert(close_to(lsum[q], lref[q], 0.0f) || (cf->reduction != SMX_REDUCE_NONE &&
                fabsf(lsum[q] - lref[q]) <= 1e-5f * fabsf(lref[q])), "%s n=%zu regime %s norm %d: unaligned shards' "
                "loss %a, unsharded %a", isa, n, tu_regime_name(regime), cf->norm, (double)lsum[q], (double)lref[q]);
    } else if (cf->reduction == SMX_REDUCE_NONE || k == 1) {
      cr_assert(!ex || tu_bits(lsum[q]) == tu_bits(lref[q]), "%s n=%zu regime %s norm %d ls %g w %d: loss %a, unsharded %a",
                isa, n, tu_regime_name(regime), cf->norm, (double)cf->smoothing, cf->weights, (double)lsum[q],
                (double)lref[q]);
    } else if (isfinite(lref[q])) {
      cr_assert(fabsf(lsum[q] - lref[q]) <= 1e-5f * fabsf(lref[q]) + 1e-30f, "loss parts %a vs %a", (double)lsum[q],
                (double)lref[q]);
    }
  }
  free(x), free(w), free(dref);
}

/* every ISA x size x regime x configuration x variant (the 16-bit type), each case seeded from tag; returns the count */
typedef void shard_case_fn(const char *isa, int variant, size_t n, int regime, const xcfg *cf, tu_rng *r);
static size_t run_shard_cases(const char *tag, const xcfg *cfgs, size_t ncfg, int variants, shard_case_fn *check) {
  size_t cases = 0;
  const smx_isa isa0 = smx_active_isa();
  for (int is = 0; is < SMX_ISA_COUNT; is++) {
    if (!smx_isa_supported((smx_isa)is)) continue;
    cr_assert_eq(smx_set_isa((smx_isa)is), SMX_OK);
    for (size_t si = 0; si < NSIZES; si++)
      for (int g = 0; g < TU_NREGIMES; g++)
        for (size_t ci = 0; ci < ncfg; ci++)
          for (int v = 0; v < variants; v++) {
            tu_rng r;
            tu_rng_seed(&r, tu_case_seed(tag, sizes[si], g * 16 + (int)ci * variants + v));
            check(smx_isa_name((smx_isa)is), v, sizes[si], g, &cfgs[ci], &r);
            cases++;
          }
  }
  smx_set_isa(isa0);
  return cases;
}

Test(rowstate, xent_shards) {
  tu_seed_random("rowstate_xent");
  enum { SM = SMX_NORM_SOFTMAX, ST = SMX_NORM_STABLEMAX };
  const xcfg cfgs[] = {{0, 0, 0, SMX_REDUCE_NONE, 0, SM},         {30, 0, 0, SMX_REDUCE_NONE, 0, SM},
                       {0, 1e-3f, 1, SMX_REDUCE_MEAN, 0, SM},     {15, 1e-4f, 1, SMX_REDUCE_SUM, 0, SM},
                       {0, 0, 1, SMX_REDUCE_NONE, 0, SM},         {0, 0, 0, SMX_REDUCE_MEAN, 0, SM},
                       {0, 0, 0, SMX_REDUCE_NONE, 0.1f, SM},      {0, 0, 1, SMX_REDUCE_NONE, 0.05f, SM},
                       {20, 1e-4f, 1, SMX_REDUCE_MEAN, 0.2f, SM}, {0, 1e-3f, 0, SMX_REDUCE_NONE, 1.0f, SM},
                       {0, 0, 0, SMX_REDUCE_NONE, 0, ST},         {30, 0, 1, SMX_REDUCE_NONE, 0, ST},
                       {0, 0, 1, SMX_REDUCE_MEAN, 0.1f, ST},      {15, 0, 0, SMX_REDUCE_SUM, 0.05f, ST}};
  const size_t cases = run_shard_cases("rowstate_xent", cfgs, sizeof cfgs / sizeof cfgs[0], 2, check_xent);
  fprintf(stderr, "[simdmax] sharded cross-entropy: %zu cases, half of them block-aligned: gradients and NONE losses "
          "bit-identical; the others within 16 ulp\n", cases);
}

/* Stablemax with p_t within ~1e-12 of one: the shard holding the target takes its block's S_b out of the state's
   exact sum, so O = sum_{j != t} s(z_j) keeps its accuracy however small against S; any split (aligned: bit-identical
   to the unsharded call) gives the loss log1p(O / s_t) and the target's gradient -O / (S s_t) within 2 ulp */
Test(rowstate, stablemax_shards_near_one) {
  tu_seed_random("rowstate_near_one");
  static const size_t ns[] = {1500, 3000, 9000};
  size_t cases = 0;
  double worst = 0.0;
  for (size_t si = 0; si < sizeof ns / sizeof ns[0]; si++) {
    const size_t n = ns[si];
    float *x = malloc(n * sizeof *x), *d = malloc(n * sizeof *d), *dref = malloc(n * sizeof *dref);
    tu_rng r;
    tu_rng_seed(&r, tu_case_seed("rowstate_near_one", n, 0));
    for (int rep = 0; rep < 8; rep++) {
      for (size_t j = 0; j < n; j++) x[j] = (float)tu_uniform(&r, -2.0, 2.0);
      const int64_t t = (int64_t)tu_below(&r, n);
      x[t] = (float)n * 1e12f * (float)(1 + rep); /* 1 - p_t ~ 1e-12 */
      long double O = 0.0L;
      for (size_t j = 0; j < n; j++)
        if (j != (size_t)t) O += x[j] >= 0.0f ? 1.0L + x[j] : 1.0L / (1.0L - x[j]);
      const long double st = 1.0L + x[t], ref_loss = log1pl(O / st), ref_g = -O / (st + O) / st; /* (p_t - 1) s'/s */
      smx_xent_options o;
      smx_xent_options_default(&o);
      o.normalizer = SMX_NORM_STABLEMAX, o.reduction = SMX_REDUCE_NONE;
      float lref;
      cr_assert_eq(smx_cross_entropy_f32(1, n, x, n, &t, &o, &lref, dref, n, 1.0f), SMX_OK);
      for (int aligned = 0; aligned < 2; aligned++) {
        size_t c[8];
        const size_t k = random_cuts(&r, n, aligned, c);
        smx_row_state full, part;
        for (size_t i = 0; i < k; i++) {
          cr_assert_eq(smx_row_state_f32(1, c[i + 1] - c[i], x + c[i], n, &o, i ? &part : &full), SMX_OK);
          if (i) cr_assert_eq(smx_row_state_merge(1, &full, &part), SMX_OK);
        }
        float loss = 0.0f;
        for (size_t i = 0; i < k; i++) {
          float lp;
          cr_assert_eq(smx_cross_entropy_shard_f32(1, c[i + 1] - c[i], x + c[i], n, c[i], n, &t, &o, &full, &lp, d + c[i],
                                                   n, 1.0f), SMX_OK);
          loss += lp;
        }
        if (aligned || k == 1) {
          cr_assert(tu_bits(loss) == tu_bits(lref), "n=%zu: aligned shards' loss %a, unsharded %a", n, (double)loss,
                    (double)lref);
          cr_assert(memcmp(d, dref, n * sizeof *d) == 0, "n=%zu: aligned shards' gradient differs", n);
        }
        tu_stat sl = TU_STAT_INIT, sg = TU_STAT_INIT;
        const double el = tu_check_one(&sl, "loss", loss, (double)ref_loss, fabs((double)ref_loss), 2.0);
        const double eg = tu_check_one(&sg, "grad_t", d[t], (double)ref_g, fabs((double)ref_g), 2.0);
        cr_assert(sl.fails == 0 && sg.fails == 0, "n=%zu, %zu shards: loss %a (%.2f ulp of %a), dx_t %a (%.2f ulp)", n, k,
                  (double)loss, el, (double)ref_loss, (double)d[t], eg);
        worst = fmax(worst, fmax(el, eg));
        cases++;
      }
    }
    free(x), free(d), free(dref);
  }
  fprintf(stderr, "[simdmax] stablemax shards with 1 - p_t ~ 1e-12: %zu cases, loss and dx_t within %.3f ulp\n", cases,
          worst);
}

/* bfloat16 / binary16 logits: states of the 16-bit slices are those of the widened slices, byte for byte, and the
   16-bit shards give the fused 16-bit call's gradient columns and per-row losses */
static void check_half(const char *isa, int bf16, size_t n, int regime, const xcfg *cf, tu_rng *r) {
  enum { ROWS = 3 };
  const size_t N = ROWS * n;
  float *x = malloc(N * sizeof *x), *xw = malloc(N * sizeof *xw), *w = malloc(n * sizeof *w);
  uint16_t *xh = malloc(N * sizeof *xh), *dref = malloc(N * sizeof *dref), *d = malloc((N + 8) * sizeof *d);
  for (size_t q = 0; q < ROWS; q++) tu_fill(r, q == 1 ? regime : TU_NARROW + (int)(q % 2) * TU_N3, n, x + q * n);
  for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(r, 0.0, 2.0);
  cr_assert_eq((bf16 ? smx_bf16_from_f32 : smx_f16_from_f32)(ROWS, n, x, n, xh, n), SMX_OK);
  cr_assert_eq((bf16 ? smx_f32_from_bf16 : smx_f32_from_f16)(ROWS, n, xh, n, xw, n), SMX_OK);
  int64_t t[ROWS] = {(int64_t)tu_below(r, n), (int64_t)tu_below(r, n), n > 2 ? -100 : 0};
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.softcap = cf->softcap, o.z_loss = cf->z_loss, o.class_weight = cf->weights ? w : NULL;
  o.reduction = SMX_REDUCE_NONE, o.label_smoothing = cf->smoothing, o.normalizer = (smx_normalizer)cf->norm;
  float lref[ROWS], lsum[ROWS] = {0}, lp[ROWS];
  cr_assert_eq((bf16 ? smx_cross_entropy_bf16 : smx_cross_entropy_f16)(ROWS, n, xh, n, t, &o, lref, dref, n, 0.75f), SMX_OK);
  size_t c[8];
  const size_t k = random_cuts(r, n, 1, c);
  smx_row_state full[ROWS], part[ROWS], wide[ROWS];
  for (size_t i = 0; i < k; i++) {
    smx_xent_options os = o;
    if (os.class_weight) os.class_weight += c[i];
    const size_t ns = c[i + 1] - c[i];
    cr_assert_eq((bf16 ? smx_row_state_bf16 : smx_row_state_f16)(ROWS, ns, xh + c[i], n, &os, i ? part : full), SMX_OK);
    cr_assert_eq(smx_row_state_f32(ROWS, ns, xw + c[i], n, &os, wide), SMX_OK);
    cr_assert(memcmp(i ? part : full, wide, sizeof wide) == 0, "16-bit slice states differ from the widened slice's");
    if (i) cr_assert_eq(smx_row_state_merge(ROWS, full, part), SMX_OK);
  }
  for (size_t i = 0; i < k; i++) {
    const size_t ns = c[i + 1] - c[i];
    for (size_t j = 0; j < ROWS * ns + 8; j++) d[j] = 0x7bcd; /* canaries past the last row */
    cr_assert_eq((bf16 ? smx_cross_entropy_shard_bf16 : smx_cross_entropy_shard_f16)(
                     ROWS, ns, xh + c[i], n, c[i], n, t, &o, full, lp, d, ns, 0.75f), SMX_OK);
    for (size_t j = ROWS * ns; j < ROWS * ns + 8; j++) cr_assert(d[j] == 0x7bcd, "canary past the gradient");
    for (size_t q = 0; q < ROWS; q++) {
      cr_assert(memcmp(d + q * ns, dref + q * n + c[i], ns * sizeof *d) == 0 || !exact_expected_norm(cf->norm, n, xw + q * n),
                "%s %s n=%zu regime %s norm %d cap %g ls %g w %d: row %zu shard [%zu, %zu) gradient differs", isa,
                bf16 ? "bf16" : "f16", n, tu_regime_name(regime), cf->norm, (double)cf->softcap, (double)cf->smoothing,
                cf->weights, q, c[i], c[i + 1]);
      lsum[q] += lp[q];
    }
  }
  for (size_t q = 0; q < ROWS; q++)
    cr_assert(!exact_expected_norm(cf->norm, n, xw + q * n) || tu_bits(lsum[q]) == tu_bits(lref[q]),
              "%s %s n=%zu regime %s norm %d: loss %a, fused %a", isa, bf16 ? "bf16" : "f16", n, tu_regime_name(regime),
              cf->norm, (double)lsum[q], (double)lref[q]);
  free(x), free(xw), free(w), free(xh), free(dref), free(d);
}

Test(rowstate, half_shards) {
  tu_seed_random("rowstate_half");
  const xcfg cfgs[] = {{0, 0, 0, SMX_REDUCE_NONE, 0, SMX_NORM_SOFTMAX},    {30, 1e-4f, 1, SMX_REDUCE_NONE, 0, SMX_NORM_SOFTMAX},
                       {0, 0, 1, SMX_REDUCE_NONE, 0.1f, SMX_NORM_SOFTMAX}, {0, 0, 1, SMX_REDUCE_NONE, 0.1f, SMX_NORM_STABLEMAX}};
  const size_t cases = run_shard_cases("rowstate_half", cfgs, sizeof cfgs / sizeof cfgs[0], 2, check_half);
  fprintf(stderr, "[simdmax] 16-bit row states and shards: %zu cases, states, gradients and losses bit-identical\n", cases);
}

Test(rowstate, errors_write_nothing) {
  float x[2048], lse = 7.0f;
  for (int i = 0; i < 2048; i++) x[i] = (float)(i % 13) * 0.25f;
  smx_row_state st, bad, st0;
  memset(&bad, 0, sizeof bad);
  cr_assert_eq(smx_row_state_f32(1, 2048, x, 2048, NULL, &st), SMX_OK);
  st0 = st;
  smx_xent_options o;
  smx_xent_options_default(&o);
  cr_assert_eq(smx_row_state_f32(1, 0, x, 2048, NULL, &st), SMX_ERR_SHAPE);
  cr_assert_eq(smx_row_state_f32(1, 2048, NULL, 2048, NULL, &st), SMX_ERR_NULL);
  o.label_smoothing = 0.1f;
  smx_row_state smooth;
  cr_assert_eq(smx_row_state_f32(1, 2048, x, 2048, &o, &smooth), SMX_OK);
  cr_assert_eq(smx_row_state_merge(1, &st, &smooth), SMX_ERR_ARG); /* one for label smoothing, one not */
  o.label_smoothing = 0.0f, o.normalizer = SMX_NORM_SPARSEMAX;
  cr_assert_eq(smx_row_state_f32(1, 2048, x, 2048, &o, &st), SMX_ERR_ARG);
  o.normalizer = SMX_NORM_STABLEMAX;
  smx_row_state stable;
  cr_assert_eq(smx_row_state_f32(1, 2048, x, 2048, &o, &stable), SMX_OK);
  cr_assert_eq(smx_row_state_merge(1, &st, &stable), SMX_ERR_ARG); /* softmax and stablemax states */
  int64_t t0 = 3;
  float dx0[2048];
  o.normalizer = SMX_NORM_SOFTMAX;
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 2048, x, 2048, 0, 2048, &t0, &o, &stable, NULL, dx0, 2048, 1.0f), SMX_ERR_ARG);
  cr_assert(memcmp(&st, &st0, sizeof st) == 0, "a failing call wrote the state");
  cr_assert_eq(smx_row_state_merge(1, &st, &bad), SMX_ERR_ARG);
  cr_assert(memcmp(&st, &st0, sizeof st) == 0);
  cr_assert_eq(smx_row_state_logsumexp(1, &bad, &lse), SMX_ERR_ARG);
  cr_assert_eq(smx_row_state_merge(1, &st, &st), SMX_ERR_ALIAS);
  cr_assert(lse == 7.0f);
  smx_xent_options_default(&o);
  o.softcap = 20.0f;
  smx_row_state capped;
  cr_assert_eq(smx_row_state_f32(1, 1024, x, 2048, &o, &capped), SMX_OK);
  cr_assert_eq(smx_row_state_merge(1, &st, &capped), SMX_ERR_ARG); /* different softcaps */
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
  float d[1024], lp = 5.0f;
  for (int i = 0; i < 1024; i++) d[i] = 3.0f;
  int64_t t = 4000;
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, &t, &o, &st, &lp, d, 1024, 1.0f), SMX_ERR_TARGET);
  t = 5;
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 1500, 2048, &t, &o, &st, &lp, d, 1024, 1.0f), SMX_ERR_SHAPE);
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, &t, &o, &bad, &lp, d, 1024, 1.0f), SMX_ERR_ARG);
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, &t, &o, &capped, &lp, d, 1024, 1.0f), SMX_ERR_ARG);
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, NULL, &o, &st, &lp, d, 1024, 1.0f), SMX_ERR_NULL);
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, &t, &o, &st, &lp, d, 1024, NAN), SMX_ERR_ARG);
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, &t, &o, &st, &lp, x + 512, 1024, 1.0f), SMX_ERR_ALIAS);
  o.label_smoothing = 0.2f; /* states made without it */
  cr_assert_eq(smx_cross_entropy_shard_f32(1, 1024, x, 2048, 0, 2048, &t, &o, &st, &lp, d, 1024, 1.0f), SMX_ERR_ARG);
  cr_assert(lp == 5.0f, "loss_part written by a failing call");
  for (int i = 0; i < 1024; i++) cr_assert(d[i] == 3.0f, "dlogits written by a failing call");
  cr_assert(strlen(smx_last_error_message()) > 0);
}
