/* The 16-bit entry points: the conversions (exhaustive for binary16, ties and specials for bfloat16), and for
   every kernel of the registry and every ISA the defining identity K_16(x) == round16(K_f32(widen(x))) by
   memcmp, with ld > n, in place, canaries, special values and the caller's FTZ+DAZ. */
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "half.h" /* the portable definitions (kernels/common): the oracle of every ISA's converters */
#include "kernel_list.h"
#include "testutil.h"

typedef smx_status map16(size_t, size_t, const uint16_t *, size_t, uint16_t *, size_t);
typedef smx_status lse16(size_t, size_t, const uint16_t *, size_t, float *);
typedef smx_status bwd16(size_t, size_t, const uint16_t *, size_t, const uint16_t *, size_t, uint16_t *, size_t);
typedef smx_status bwdx16(size_t, size_t, const uint16_t *, size_t, const uint16_t *, size_t, const uint16_t *, size_t,
                          uint16_t *, size_t);
typedef struct {
  int k;
  void (*fn[2])(void); /* _bf16, _f16 */
} entry16;
#define E16_MAP(name) {SMX_K_##name, {(void (*)(void))smx_##name##_bf16, (void (*)(void))smx_##name##_f16}},
#define E16_LSE E16_MAP
#define E16_BWD E16_MAP
#define E16_BWDX E16_MAP
#define E16_XENT(name)
#define E16_(name, kind, forward) E16_##kind(name)
static const entry16 entries[] = {SMX_KERNELS(E16_)};
#define NENTRIES (sizeof entries / sizeof entries[0])

static float widen(int t, uint16_t h) {
  float f;
  if (t) smx_f32_from_f16(1, 1, &h, 1, &f, 1);
  else smx_f32_from_bf16(1, 1, &h, 1, &f, 1);
  return f;
}
static uint16_t narrow(int t, float f) {
  uint16_t h;
  if (t) smx_f16_from_f32(1, 1, &f, 1, &h, 1);
  else smx_bf16_from_f32(1, 1, &f, 1, &h, 1);
  return h;
}
/* an input entry: f rounded, a NaN as one of the type's NaN patterns by i (signaling ones and payloads included: the
   kernels' outputs must not depend on which) */
static uint16_t narrow_input(int t, float f, size_t i) {
  static const uint16_t nans[2][4] = {{0x7fc0, 0x7f81, 0xffa5, 0x7fff}, {0x7e00, 0x7c01, 0xfd55, 0x7fff}};
  return f == f ? narrow(t, f) : nans[t][i % 4];
}

static float smx_u2f_test(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

Test(half, f16_roundtrip_exhaustive) {
  long bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    uint16_t b = narrow(1, widen(1, (uint16_t)h));
    int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    bad += nan ? b != 0x7e00 : b != h;
  }
  cr_expect_eq(bad, 0, "%ld binary16 values do not survive widen + round (NaN -> 0x7e00)", bad);
}

Test(half, rounding_rules) {
  /* bfloat16: ties to even, overflow to inf, NaN canonical, subnormals by the same rule */
  cr_expect_eq(narrow(0, smx_u2f_test(0x3f808000u)), 0x3f80); /* tie, even below */
  cr_expect_eq(narrow(0, smx_u2f_test(0x3f818000u)), 0x3f82); /* tie, even above */
  cr_expect_eq(narrow(0, smx_u2f_test(0x3f808001u)), 0x3f81);
  cr_expect_eq(narrow(0, smx_u2f_test(0x7f7fffffu)), 0x7f80); /* FLT_MAX rounds to inf */
  cr_expect_eq(narrow(0, smx_u2f_test(0xffc12345u)), 0x7fc0);
  cr_expect_eq(narrow(0, smx_u2f_test(0x00018000u)), 0x0002); /* subnormal tie, even above */
  /* binary16 */
  cr_expect_eq(narrow(1, 65504.0f), 0x7bff);
  cr_expect_eq(narrow(1, 65519.99f), 0x7bff);
  cr_expect_eq(narrow(1, 65520.0f), 0x7c00); /* rounds up to inf */
  cr_expect_eq(narrow(1, 0x1p-24f), 0x0001);   /* smallest subnormal kept */
  cr_expect_eq(narrow(1, 0x1p-25f), 0x0000);   /* a tie to even: 0 */
  cr_expect_eq(narrow(1, 0x1.8p-25f), 0x0001);
  cr_expect_eq(narrow(1, 0x1.8p-24f), 0x0002); /* 1.5 units: tie, even above */
  cr_expect_eq(narrow(1, -0.0f), 0x8000);
  cr_expect_eq(narrow(1, NAN), 0x7e00);
}

/* Every ISA's array converters against the portable definitions: all 65536 patterns widened, and rounded:
   every f32 high half with low halves at and around the bfloat16 tie, plus random and f16 tie patterns in
   every binade from the f16 subnormals up; odd lengths (tails), caller's FTZ+DAZ and round-toward-zero. */
#define CONV_N 65536
Test(half, converters_every_isa_against_definition) {
  static uint16_t h[CONV_N], h16[CONV_N + 3];
  static float f[CONV_N], w[CONV_N + 3];
  const smx_isa active = smx_active_isa();
  tu_rng r;
  tu_rng_seed(&r, tu_case_seed("converters", CONV_N, 0));
  long bad = 0, checked = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++) {
      for (uint32_t i = 0; i < CONV_N; i++) h[i] = (uint16_t)i;
      for (size_t len = CONV_N - 3; len <= CONV_N; len += 3) { /* a tail, then whole steps */
        const unsigned long saved = tu_fp_flush(len & 1);
        (t ? smx_f32_from_f16 : smx_f32_from_bf16)(1, len, h, len, w, len);
        tu_fp_restore(saved);
        for (size_t i = 0; i < len; i++) {
          const float d = t ? smx_f32_of_f16(h[i]) : smx_f32_of_bf16(h[i]);
          bad += memcmp(&d, &w[i], 4) != 0, checked++;
        }
      }
      for (int pass = 0; pass < 8; pass++) {
        for (uint32_t i = 0; i < CONV_N; i++) {
          uint32_t lo = (uint32_t)tu_next(&r) & 0xffffu, u;
          if (pass < 4) lo = pass == 0 ? 0x8000u : pass == 1 ? 0x7fffu : pass == 2 ? 0x8001u : 0u;
          if (pass >= 6) { /* f16: binades 2^-26 .. 2^16 with the low 13 bits at / around a tie */
            const uint32_t e = 101 + i % 42, m = (uint32_t)tu_next(&r) & 0x7fe000u;
            u = (i >> 15) << 31 | e << 23 | m | (pass == 6 ? 0x1000u : 0x0fffu + (i & 2u));
          } else {
            u = i << 16 | lo;
          }
          memcpy(&f[i], &u, 4);
        }
        const unsigned long saved = tu_fp_flush(pass & 1);
        if (pass & 2) fesetround(FE_TOWARDZERO); /* the library rounds to nearest whatever the caller set */
        (t ? smx_f16_from_f32 : smx_bf16_from_f32)(1, CONV_N - pass, f, CONV_N, h16, CONV_N);
        fesetround(FE_TONEAREST);
        tu_fp_restore(saved);
        for (size_t i = 0; i < CONV_N - (size_t)pass; i++) {
          const uint16_t d = t ? smx_f16_of_f32(f[i]) : smx_bf16_of_f32(f[i]);
          uint32_t u;
          memcpy(&u, &f[i], 4);
          if (d != h16[i] && bad < 5)
            cr_log_error("%s: %s(0x%08x) = 0x%04x, the definition 0x%04x", smx_isa_name((smx_isa)isa),
                         t ? "f16" : "bf16", (unsigned)u, h16[i], d);
          bad += d != h16[i], checked++;
        }
      }
    }
  }
  smx_set_isa(active);
  cr_expect_eq(bad, 0, "%ld of %ld conversions differ from the portable definition", bad, checked);
}

/* One case: rows x n 16-bit inputs (rows <= MAX_ROWS) in regime g (g < 0: row q in regime q % TU_NREGIMES); the
   16-bit entry point against round16(f32 kernel(widen)). */
enum { MAX_ROWS = 64 };
static int check_case(const entry16 *e, int t, size_t rows, size_t n, size_t pad, int inplace, tu_rng *r, int g,
                      int ftz) {
  const smx_kernel_info *K = &smx_kernel_list[e->k];
  const size_t ld = n + pad, total = rows * ld + 8;
  uint16_t *a = malloc(total * 2), *b = malloc(total * 2), *c = malloc(total * 2), *o = malloc(total * 2);
  float *xa = malloc(rows * n * 4), *xb = malloc(rows * n * 4), *xc = malloc(rows * n * 4), *ref = malloc(rows * n * 4);
  float lse[MAX_ROWS], lse_ref[MAX_ROWS];
  cr_assert_leq(rows, MAX_ROWS);
  for (size_t i = 0; i < total; i++) a[i] = b[i] = c[i] = o[i] = 0xbeef; /* canaries */
  float *tmp = malloc(rows * n * 4);
  if (g >= 0) tu_fill(r, g, rows * n, tmp);
  else
    for (size_t q = 0; q < rows; q++) tu_fill(r, (int)(q % TU_NREGIMES), n, tmp + q * n);
  for (size_t q = 0; q < rows; q++)
    for (size_t i = 0; i < n; i++) {
      const int gq = g >= 0 ? g : (int)(q % TU_NREGIMES);
      a[q * ld + i] = narrow_input(t, tmp[q * n + i], q + i);
      c[q * ld + i] = narrow(t, (float)tu_normal(r));
      if (gq == TU_NANLAST && i == n / 2) c[q * ld + i] = narrow_input(t, NAN, q + i); /* a NaN in dy too */
    }
  /* widened inputs; the backward kernels' y is the 16-bit forward output */
  for (size_t q = 0; q < rows; q++)
    for (size_t i = 0; i < n; i++) xa[q * n + i] = widen(t, a[q * ld + i]), xc[q * n + i] = widen(t, c[q * ld + i]);
  if (K->forward != SMX_K_none) {
    const entry16 *f = NULL;
    for (size_t i = 0; i < NENTRIES; i++)
      if (entries[i].k == K->forward) f = &entries[i];
    ((map16 *)f->fn[t])(rows, n, a, ld, b, ld);
    for (size_t q = 0; q < rows; q++)
      for (size_t i = 0; i < n; i++) xb[q * n + i] = widen(t, b[q * ld + i]);
  }
  /* the reference: the f32 kernel on the widened inputs, rounded */
  smx_call_args ca = {rows, n, xa, n, NULL, n, xc, n, ref, n, NULL, NULL, NULL, 1.0f};
  if (K->kind == SMX_KIND_BWD) ca.x = xb;
  if (K->kind == SMX_KIND_BWDX) ca.y = xb;
  if (K->kind == SMX_KIND_LSE) ca.out = lse_ref;
  cr_assert_eq(smx_call(e->k, &ca), SMX_OK);
  const unsigned long saved = tu_fp_flush(ftz);
  smx_status s;
  uint16_t *out = o;
  switch (K->kind) {
  case SMX_KIND_MAP: out = inplace ? a : o, s = ((map16 *)e->fn[t])(rows, n, a, ld, out, ld); break;
  case SMX_KIND_LSE: s = ((lse16 *)e->fn[t])(rows, n, a, ld, lse); break;
  case SMX_KIND_BWD: out = inplace ? c : o, s = ((bwd16 *)e->fn[t])(rows, n, b, ld, c, ld, out, ld); break;
  default: out = inplace ? c : o, s = ((bwdx16 *)e->fn[t])(rows, n, a, ld, b, ld, c, ld, out, ld); break;
  }
  tu_fp_restore(saved);
  int ok = s == SMX_OK;
  if (K->kind == SMX_KIND_LSE) ok &= memcmp(lse, lse_ref, rows * 4) == 0;
  else
    for (size_t q = 0; q < rows && ok; q++)
      for (size_t i = 0; i < n; i++)
        if (out[q * ld + i] != narrow(t, ref[q * n + i])) {
          cr_log_error("%s_%s n=%zu row %zu [%zu]: 0x%04x, round(f32) 0x%04x", K->name, t ? "f16" : "bf16", n, q, i,
                       out[q * ld + i], narrow(t, ref[q * n + i]));
          ok = 0;
          break;
        }
  for (size_t q = 0; q < rows; q++) /* canaries between and after the rows */
    for (size_t i = n; i < ld; i++) ok &= o[q * ld + i] == 0xbeef && (!inplace || out[q * ld + i] == 0xbeef);
  for (size_t i = rows * ld; i < total; i++) ok &= o[i] == 0xbeef;
  free(a), free(b), free(c), free(o), free(xa), free(xb), free(xc), free(ref), free(tmp);
  return ok;
}

Test(half, identity_every_kernel_every_isa) {
  tu_seed_random("half");
  /* 60: a lone full step after the pairs of steps; 2048: the longest binary16 backward row widened once into shadows
     (SMX_F16_SHADOW_N), 1000 and 1025 shorter ones; 20000 and 40000: rows longer than the scratch, fused on the SIMD
     tables, on the scalar table the softmax and stablemax families' by chunks of 8192, every regime */
  static const size_t sizes[] = {1, 2, 7, 16, 31, 60, 64, 100, 1000, 1025, 2048, 5000, 8193, 20000, 40000};
  size_t cases = 0, fails = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (size_t ei = 0; ei < NENTRIES; ei++)
      for (int t = 0; t < 2; t++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
          for (int g = 0; g < TU_NREGIMES; g++) {
            const size_t n = sizes[si];
            if (tu_quick() && n > 5000) continue;
            const int k = entries[ei].k,
                      family = k == SMX_K_softmax || k == SMX_K_log_softmax || k == SMX_K_logsumexp || k == SMX_K_stablemax ||
                               k == SMX_K_log_stablemax;
            if (n > 5000 && g % 3 && !family) continue;
            tu_rng r;
            tu_rng_seed(&r, tu_case_seed(smx_kernel_list[entries[ei].k].name, n * 2 + (size_t)t, g));
            const size_t rows = 1 + (n + (size_t)g) % 3;
            cases++;
            /* in place and under the caller's FTZ+DAZ: each in half the regimes of every n */
            fails += !check_case(&entries[ei], t, rows, n, (n + (size_t)g) % 4, (int)((n + (size_t)g) & 1), &r, g,
                                 (int)(((n >> 1) + (size_t)g) & 1));
          }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  cr_expect_eq(fails, 0, "%zu of %zu 16-bit cases differ from round16(f32 kernel(widen(x))) (seed 0x%llx)", fails, cases,
               (unsigned long long)tu_base_seed());
  fprintf(stderr, "[simdmax] 16-bit entry points: %zu cases, %zu differ\n", cases, fails);
}

/* Many short rows in one call, each row in its own regime: the kernels' lane groups and groups of rows (the fused
   16-bit softmax family's lane groups widen in their column loads; rows with a NaN or |max| > 2^16 leave a group
   for the row path), ld > n, in place, every ISA, both types */
Test(half, identity_many_short_rows) {
  tu_seed_random("half_rows");
  static const size_t sizes[] = {1, 5, 8, 12, 16, 33, 64, 100, 128, 129, 300, 1000};
  static const size_t row_counts[] = {8, 21, 40};
  size_t cases = 0, fails = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (size_t ei = 0; ei < NENTRIES; ei++)
      for (int t = 0; t < 2; t++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
          for (size_t ri = 0; ri < sizeof row_counts / sizeof row_counts[0]; ri++) {
            const size_t n = sizes[si], rows = row_counts[ri];
            tu_rng r;
            tu_rng_seed(&r, tu_case_seed(smx_kernel_list[entries[ei].k].name, n * 2 + (size_t)t, (int)rows));
            cases++;
            fails += !check_case(&entries[ei], t, rows, n, (n + ri) % 3, (int)((n + ri) & 1), &r, -1, (int)(ri & 1));
          }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  cr_expect_eq(fails, 0, "%zu of %zu 16-bit cases differ from round16(f32 kernel(widen(x))) (seed 0x%llx)", fails, cases,
               (unsigned long long)tu_base_seed());
  fprintf(stderr, "[simdmax] 16-bit short rows: %zu cases, %zu differ\n", cases, fails);
}

/* Calls of the softmax family and of stablemax large enough (>= 1 MiB of 16-bit input) that their rows (of more
   than one block: the softmax family) take the fused kernels (half.c): the same identity, every ISA, both types, rows
   in several regimes */
Test(half, identity_large_calls) {
  tu_seed_random("half_large");
  enum { ROWS = 300, N = 7003 };
  const int kernels[] = {SMX_K_softmax, SMX_K_log_softmax, SMX_K_logsumexp, SMX_K_stablemax, SMX_K_log_stablemax};
  float *x = malloc((size_t)ROWS * N * 4), *ref = malloc((size_t)ROWS * N * 4), lref[ROWS], lgot[ROWS];
  uint16_t *h = malloc((size_t)ROWS * N * 2), *o = malloc((size_t)ROWS * N * 2);
  size_t cases = 0, fails = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++)
      for (size_t ki = 0; ki < sizeof kernels / sizeof kernels[0]; ki++) {
        const smx_kernel_info *K = &smx_kernel_list[kernels[ki]];
        tu_rng r;
        tu_rng_seed(&r, tu_case_seed(K->name, (size_t)t, isa));
        for (size_t q = 0; q < ROWS; q++) tu_fill(&r, (int)(q % TU_NREGIMES), N, x + q * N);
        cr_assert_eq((t ? smx_f16_from_f32 : smx_bf16_from_f32)(ROWS, N, x, N, h, N), SMX_OK);
        for (size_t i = 0; i < (size_t)ROWS * N; i++)
          if ((h[i] & 0x7fffu) > (t ? 0x7c00u : 0x7f80u)) h[i] = narrow_input(t, NAN, i);
        cr_assert_eq((t ? smx_f32_from_f16 : smx_f32_from_bf16)(ROWS, N, h, N, x, N), SMX_OK);
        smx_call_args ca = {ROWS, N, x, N, NULL, 0, NULL, 0, K->kind == SMX_KIND_LSE ? lref : ref, N, NULL, NULL, NULL, 0.0f};
        cr_assert_eq(smx_call(kernels[ki], &ca), SMX_OK);
        const entry16 *e = NULL;
        for (size_t i = 0; i < NENTRIES; i++)
          if (entries[i].k == kernels[ki]) e = &entries[i];
        int ok;
        if (K->kind == SMX_KIND_LSE) {
          cr_assert_eq(((lse16 *)e->fn[t])(ROWS, N, h, N, lgot), SMX_OK);
          ok = memcmp(lgot, lref, sizeof lref) == 0;
        } else {
          cr_assert_eq(((map16 *)e->fn[t])(ROWS, N, h, N, o, N), SMX_OK);
          ok = 1;
          for (size_t i = 0; i < (size_t)ROWS * N && ok; i++) ok = o[i] == narrow(t, ref[i]);
        }
        cases++, fails += !ok;
        if (!ok) cr_log_error("%s_%s, %d x %d on ISA %d differs from round16(f32 kernel(widen(x)))", K->name,
                              t ? "f16" : "bf16", ROWS, N, isa);
      }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  free(x), free(ref), free(h), free(o);
  cr_expect_eq(fails, 0);
  fprintf(stderr, "[simdmax] 16-bit large calls (%d x %d, fused rows): %zu cases, %zu differ\n", ROWS, N, cases, fails);
}

/* Rows longer than SMX_STORE_MAX_BLOCKS blocks (vocabularies over 2^18): the fused 16-bit softmax and softmax
   cross-entropy keep the pass-1 values of the first entries only (once wrote a block record per block past the
   store's 256, out of bounds); the same identity, every ISA, both types, with and without the gradient */
Test(half, identity_vocabulary_rows) {
  enum { ROWS = 2, N = 263000 };
  float *x = malloc((size_t)ROWS * N * 4), *ref = malloc((size_t)ROWS * N * 4), l32[ROWS], l16[ROWS];
  uint16_t *h = malloc((size_t)ROWS * N * 2), *o = malloc((size_t)ROWS * N * 2);
  const int64_t tg[ROWS] = {7, N - 3};
  smx_xent_options opt;
  smx_xent_options_default(&opt);
  opt.reduction = SMX_REDUCE_NONE;
  size_t cases = 0, fails = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++) {
      tu_rng r;
      tu_rng_seed(&r, tu_case_seed("half-vocab", (size_t)t, isa));
      for (size_t i = 0; i < (size_t)ROWS * N; i++) x[i] = (float)(3.0 * tu_normal(&r));
      cr_assert_eq((t ? smx_f16_from_f32 : smx_bf16_from_f32)(ROWS, N, x, N, h, N), SMX_OK);
      cr_assert_eq((t ? smx_f32_from_f16 : smx_f32_from_bf16)(ROWS, N, h, N, x, N), SMX_OK);
      for (int k = 0; k < 3; k++) { /* softmax, the cross-entropy with its gradient, its loss alone */
        int ok = 1;
        if (k == 0) {
          cr_assert_eq(smx_softmax_f32(ROWS, N, x, N, ref, N), SMX_OK);
          cr_assert_eq((t ? smx_softmax_f16 : smx_softmax_bf16)(ROWS, N, h, N, o, N), SMX_OK);
        } else {
          float *g32 = k == 1 ? ref : NULL;
          uint16_t *g16 = k == 1 ? o : NULL;
          cr_assert_eq(smx_cross_entropy_f32(ROWS, N, x, N, tg, &opt, l32, g32, N, 1.0f), SMX_OK);
          cr_assert_eq((t ? smx_cross_entropy_f16 : smx_cross_entropy_bf16)(ROWS, N, h, N, tg, &opt, l16, g16, N, 1.0f),
                       SMX_OK);
          ok = memcmp(l16, l32, sizeof l32) == 0;
        }
        for (size_t i = 0; i < (size_t)ROWS * N && ok && k < 2; i++) ok = o[i] == narrow(t, ref[i]);
        cases++, fails += !ok;
        if (!ok) cr_log_error("%s %s, %d x %d on ISA %s differs from the f32 call rounded", k ? "cross-entropy" : "softmax",
                              t ? "f16" : "bf16", ROWS, N, smx_isa_name((smx_isa)isa));
      }
    }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  free(x), free(ref), free(h), free(o);
  cr_expect_eq(fails, 0);
  fprintf(stderr, "[simdmax] 16-bit rows of %d: %zu cases, %zu differ\n", N, cases, fails);
}

/* Kernel k (0 softmax, 1 log-softmax, 2 logsumexp, 3 the cross-entropy with its gradient, target tg) of the 16-bit row
   h (type t) against the f32 call on its widening x, rounded: 1 where every output bit agrees. ref, o: n scratch. */
static const char *const kernel16_names[] = {"softmax", "log-softmax", "logsumexp", "cross-entropy"};
static int row16_is_f32_rounded(int k, int t, size_t n, const float *x, const uint16_t *h, int64_t tg, float *ref,
                                uint16_t *o) {
  smx_xent_options opt;
  smx_xent_options_default(&opt);
  float l32 = 0.0f, l16 = 0.0f;
  if (k == 0) {
    cr_assert_eq(smx_softmax_f32(1, n, x, n, ref, n), SMX_OK);
    cr_assert_eq((t ? smx_softmax_f16 : smx_softmax_bf16)(1, n, h, n, o, n), SMX_OK);
  } else if (k == 1) {
    cr_assert_eq(smx_log_softmax_f32(1, n, x, n, ref, n), SMX_OK);
    cr_assert_eq((t ? smx_log_softmax_f16 : smx_log_softmax_bf16)(1, n, h, n, o, n), SMX_OK);
  } else if (k == 2) {
    cr_assert_eq(smx_logsumexp_f32(1, n, x, n, &l32), SMX_OK);
    cr_assert_eq((t ? smx_logsumexp_f16 : smx_logsumexp_bf16)(1, n, h, n, &l16), SMX_OK);
    return memcmp(&l16, &l32, sizeof l32) == 0;
  } else {
    cr_assert_eq(smx_cross_entropy_f32(1, n, x, n, &tg, &opt, &l32, ref, n, 1.0f), SMX_OK);
    cr_assert_eq((t ? smx_cross_entropy_f16 : smx_cross_entropy_bf16)(1, n, h, n, &tg, &opt, &l16, o, n, 1.0f), SMX_OK);
  }
  int ok = memcmp(&l16, &l32, sizeof l32) == 0;
  for (size_t i = 0; i < n && ok; i++) ok = o[i] == narrow(t, ref[i]);
  return ok;
}

/* Rows of a few blocks (every block's max first, each entry widened once into the pass-1 store as the max is taken)
   and of more than MF_BLOCKS (the row pass, block maxima beside the previous block's sums), holding a block that
   pass 1 does not sum against its shift: all -inf (its store cleared), or all near -1e5 (beyond -2^16 while the row
   max is not: the output then starts again from x). The same identity, every ISA, both types, softmax and the
   cross-entropy with its gradient. */
Test(half, identity_blocks_off_the_shift) {
  enum { B = 1024 };
  static const size_t lens[] = {4 * B - 5, 17 * B + 300};
  static const struct { size_t block; float level; } odd[] = {{0, -INFINITY}, {2, -1e5f}, {3, -INFINITY}, {16, -INFINITY}};
  float *x = malloc(17 * B * 2 * 4), *ref = malloc(17 * B * 2 * 4);
  uint16_t *h = malloc(17 * B * 2 * 2), *o = malloc(17 * B * 2 * 2);
  size_t cases = 0, fails = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++)
      for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (size_t oi = 0; oi < sizeof odd / sizeof odd[0]; oi++) {
          const size_t n = lens[li], b0 = odd[oi].block * B, b1 = b0 + B < n ? b0 + B : n;
          if (b0 >= n) continue;
          tu_rng r;
          tu_rng_seed(&r, tu_case_seed("half-off-shift", n + (size_t)t, (int)oi));
          for (size_t i = 0; i < n; i++) x[i] = (float)(3.0 * tu_normal(&r));
          for (size_t i = b0; i < b1; i++) x[i] = odd[oi].level + (odd[oi].level > -INFINITY ? x[i] : 0.0f);
          cr_assert_eq((t ? smx_f16_from_f32 : smx_bf16_from_f32)(1, n, x, n, h, n), SMX_OK);
          cr_assert_eq((t ? smx_f32_from_f16 : smx_f32_from_bf16)(1, n, h, n, x, n), SMX_OK);
          for (int k = 0; k < 4; k += 3) { /* softmax, the cross-entropy with its gradient */
            const int ok = row16_is_f32_rounded(k, t, n, x, h, B + 3, ref, o);
            cases++, fails += !ok;
            if (!ok)
              cr_log_error("%s %s, n = %zu with block %zu at %g, on ISA %s differs from the f32 call rounded",
                           kernel16_names[k], t ? "f16" : "bf16", n, odd[oi].block, (double)odd[oi].level,
                           smx_isa_name((smx_isa)isa));
          }
        }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  free(x), free(ref), free(h), free(o);
  cr_expect_eq(fails, 0);
  fprintf(stderr, "[simdmax] 16-bit rows with a block off the shift: %zu cases, %zu differ\n", cases, fails);
}

/* Rows of 4 full groups and more, whose block maxima are taken on the 16-bit patterns (a signed max, an unsigned min
   and max): maxima of either sign, a zero of either or both signs, a subnormal, +-inf, all equal, and NaN patterns
   (quiet, signaling, a negative one alone) in a full group. The same identity, every ISA, both types, softmax,
   log-softmax, logsumexp and the cross-entropy with its gradient. */
Test(half, identity_block_max_patterns) {
  enum { B = 1024, KINDS = 12 };
  static const size_t lens[] = {256, 1000, 4 * B - 5, 17 * B + 300};
  static const uint16_t nans[2][3] = {{0x7fc0, 0xff81, 0x7f81}, {0x7e00, 0xfc01, 0x7c01}};
  const size_t nmax = 17 * B + 300;
  float *x = malloc(nmax * 4), *ref = malloc(nmax * 4);
  uint16_t *h = malloc(nmax * 2), *o = malloc(nmax * 2);
  size_t cases = 0, fails = 0;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++)
      for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int kind = 0; kind < KINDS; kind++) {
          const size_t n = lens[li], p = n / 3 + 7, q = n - n / 5; /* two places in full groups */
          tu_rng r;
          tu_rng_seed(&r, tu_case_seed("half-patterns", n + (size_t)t, kind));
          for (size_t i = 0; i < n; i++) x[i] = (float)(-0.5 - fabs(3.0 * tu_normal(&r))); /* all negative */
          if (kind == 1) x[p] = -0.25f;                                 /* the least magnitude */
          if (kind == 2) x[p] = -0.0f, x[q] = 0.0f, x[n - 1] = -0.0f;   /* zeros of both signs */
          if (kind == 3) x[p] = -0.0f, x[q] = -0.0f;                    /* -0 only */
          if (kind == 4) x[q] = 0x1p-130f;                              /* a subnormal (f16: rounds to +0) */
          if (kind == 5) x[p] = INFINITY;
          if (kind == 6)
            for (size_t i = 0; i + 1 < n; i++) x[i] = -INFINITY;        /* the groups all -inf, the last entry not */
          if (kind == 7)
            for (size_t i = 0; i < n; i++) x[i] = -3.0f;
          if (kind == 8) x[p] = 2.0f * (float)tu_normal(&r) + 1.0f;     /* a sign-clear entry among negatives */
          if (kind == 11) /* a spread a wrong shift cannot sum (the greatest magnitude for the max overflows) */
            for (size_t i = 0; i < n; i++) x[i] = i == q ? -0.5f : (float)tu_uniform(&r, -100.0, -90.0);
          cr_assert_eq((t ? smx_f16_from_f32 : smx_bf16_from_f32)(1, n, x, n, h, n), SMX_OK);
          if (kind == 9) h[p] = nans[t][li % 3], h[q] = nans[t][(li + 1) % 3];
          if (kind == 10) h[q] = nans[t][1]; /* a negative NaN alone */
          cr_assert_eq((t ? smx_f32_from_f16 : smx_f32_from_bf16)(1, n, h, n, x, n), SMX_OK);
          for (int k = 0; k < 4; k++) {
            const int ok = row16_is_f32_rounded(k, t, n, x, h, (int64_t)(p + 1), ref, o);
            cases++, fails += !ok;
            if (!ok)
              cr_log_error("%s %s, n = %zu, row kind %d, on ISA %s differs from the f32 call rounded",
                           kernel16_names[k], t ? "f16" : "bf16", n, kind, smx_isa_name((smx_isa)isa));
          }
        }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  free(x), free(ref), free(h), free(o);
  cr_expect_eq(fails, 0);
  fprintf(stderr, "[simdmax] 16-bit rows with block maxima on their patterns: %zu cases, %zu differ\n", cases, fails);
}

Test(half, errors_write_nothing) {
  uint16_t x[8] = {0}, y[8];
  for (int i = 0; i < 8; i++) y[i] = 0xbeef;
  cr_expect_eq(smx_softmax_bf16(1, 8, NULL, 8, y, 8), SMX_ERR_NULL);
  cr_expect_eq(smx_softmax_f16(1, 8, x, 7, y, 8), SMX_ERR_SHAPE);
  cr_expect_eq(smx_softmax_bf16(1, 8, x, 8, x + 1, 8), SMX_ERR_ALIAS);
  cr_expect_eq(smx_bf16_from_f32(1, 4, (const float *)x, 4, x + 1, 4), SMX_ERR_ALIAS);
  /* the 16-bit cross-entropy backward: its checks on 16-bit spans */
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
  const int64_t t[2] = {3, 1}, bad[2] = {3, 7};
  const float g[2] = {1.0f, 0.5f}, ginf[2] = {1.0f, INFINITY};
  cr_expect_eq(smx_cross_entropy_backward_bf16(2, 4, x, 4, t, &o, NULL, NULL, 1, y, 4), SMX_ERR_NULL);
  cr_expect_eq(smx_cross_entropy_backward_f16(2, 4, x, 4, t, &o, NULL, ginf, 1, y, 4), SMX_ERR_ARG);
  cr_expect_eq(smx_cross_entropy_backward_f16(2, 4, x, 4, t, &o, NULL, g, 1, y, 3), SMX_ERR_SHAPE);
  cr_expect_eq(smx_cross_entropy_backward_bf16(2, 4, x, 4, bad, &o, NULL, g, 1, y, 4), SMX_ERR_TARGET);
  cr_expect_eq(smx_cross_entropy_backward_bf16(1, 4, x, 4, t, &o, NULL, g, 1, x + 1, 4), SMX_ERR_ALIAS);
  cr_expect_eq(smx_cross_entropy_backward_f16(1, 4, x, 4, t, &o, NULL, (const float *)(const void *)y, 1, y, 4),
               SMX_ERR_ALIAS);
  /* the 16-bit probability-target cross-entropy: q beside the logits, of their type and 16-bit spans */
  uint16_t q[8] = {0};
  float l[2] = {-1.0f, -1.0f};
  cr_expect_eq(smx_cross_entropy_soft_bf16(2, 4, x, 4, NULL, 4, &o, l, y, 4, 1.0f), SMX_ERR_NULL);
  cr_expect_eq(smx_cross_entropy_soft_f16(2, 4, x, 4, q, 3, &o, l, y, 4, 1.0f), SMX_ERR_SHAPE);
  cr_expect_eq(smx_cross_entropy_soft_f16(2, 4, x, 4, q, 4, &o, l, y, 4, NAN), SMX_ERR_ARG);
  cr_expect_eq(smx_cross_entropy_soft_bf16(2, 4, x, 4, q, 4, &o, l, q + 3, 4, 1.0f), SMX_ERR_ALIAS);
  cr_expect_eq(smx_cross_entropy_soft_bf16(2, 4, x, 4, q, 4, &o, l, x + 1, 4, 1.0f), SMX_ERR_ALIAS);
  cr_expect_eq(smx_cross_entropy_soft_f16(2, 4, x, 4, q, 4, &o, (float *)(void *)(y + 6), y, 4, 1.0f), SMX_ERR_ALIAS);
  cr_expect_eq(smx_cross_entropy_soft_f16(1, 4, x, 4, y + 4, 4, &o, l, y, 4, 1.0f), SMX_OK); /* 16-bit spans: disjoint */
  cr_expect(l[0] != -1.0f && l[1] == -1.0f);
  for (int i = 0; i < 4; i++) y[i] = 0xbeef;
  for (int i = 0; i < 8; i++) cr_expect_eq(y[i], 0xbeef);
  cr_expect_eq(smx_cross_entropy_backward_bf16(1, 4, x + 4, 4, t, &o, NULL, g, 1, x + 4, 4), SMX_OK); /* in place */
  for (int i = 0; i < 4; i++) cr_expect_eq(x[i], 0);
}

/* Row k of a cross-entropy test (type t, n entries, N(0, 3) already) made one the kernels hand to the scalar code,
   by k % 9: +inf twice, a NaN pattern, |max| > 2^16 in bf16 (f16 tops at 65504), all -inf, U(0, 0.5) (sparsemax's
   support most of the row: Michelot over the row); returns the entry those rows change */
static size_t special_row16(tu_rng *r, int t, size_t k, size_t n, uint16_t *xr) {
  const size_t j = tu_below(r, n);
  if (k % 9 == 2) xr[j] = narrow(t, INFINITY), xr[n - 1] = narrow(t, INFINITY);
  if (k % 9 == 5) xr[j] = narrow_input(t, NAN, k / 9);
  if (k % 9 == 7) xr[j] = narrow(t, t ? 60000.0f : 3e5f);
  if (k % 9 == 8 && n > 5)
    for (size_t i = 0; i < n; i++) xr[i] = narrow(t, -INFINITY);
  if (k % 9 == 1)
    for (size_t i = 0; i < n; i++) xr[i] = narrow(t, (float)tu_uniform(r, 0.0, 0.5));
  return j;
}

/* The 16-bit cross-entropy: loss bits equal to the f32 call's on the widened logits, gradient = round16 of its
   gradient, for every normalizer, reduction and option set, every ISA, in place too; rows through the scratch (the
   f32 kernel's lane groups at 5..33, register groups at 100) and the softmax's fused groups of rows of one block (300,
   1000), with rows they leave (a NaN, an infinity, |max| > 2^16) and ignored rows among them, and without either
   (set 0's second half: the plain groups). */
Test(half, cross_entropy_identity) {
  size_t cases = 0, fails = 0;
  /* 9000: the logits and the gradient no longer fit the stack scratch together (the long rows go fused on the SIMD
     tables, the rows those leave and the scalar table's softmax and stablemax by chunks of 8192: 20000 has three; the
     scalar table's sparsemax into a heap buffer); 20000 without a gradient (set 0) too */
  static const size_t sizes[] = {1, 5, 8, 33, 100, 300, 1000, 3000, 9000, 20000};
  static float w[20000];
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++)
      for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int norm = 0; norm < 3; norm++)
          for (int set = 0; set < 5; set++) { /* 4: grad_scale 2^-118, most gradients below FLT_MIN (flushed) */
            const size_t n = sizes[si], rows = n > 9000 ? 12 : n > 3000 ? 20 : 70; /* two chunks of rows: the SUM/MEAN order */
            tu_rng r;
            tu_rng_seed(&r, tu_case_seed("half-xent", n * 8 + (size_t)set, norm + 3 * t));
            uint16_t *x = malloc(rows * n * 2), *g = malloc(rows * n * 2);
            float *xw = malloc(rows * n * 4), *gw = malloc(rows * n * 4), loss16[70], loss32[70];
            int64_t tg[70];
            for (size_t i = 0; i < rows * n; i++) x[i] = narrow(t, (float)(3.0 * tu_normal(&r)));
            for (size_t q = 0; q < rows; q++)
              if (set || q < rows / 2) special_row16(&r, t, q, n, x + q * n);
            for (size_t i = 0; i < rows * n; i++) xw[i] = widen(t, x[i]);
            for (size_t q = 0; q < rows; q++)
              tg[q] = (set || q < rows / 2) && q % 9 == 4 ? -100 : (int64_t)tu_below(&r, n);
            for (size_t j = 0; j < n; j++) w[j] = 0.5f + (float)(j % 5) * 0.25f;
            smx_xent_options o;
            smx_xent_options_default(&o);
            o.normalizer = (smx_normalizer)norm;
            o.reduction = (smx_reduction)(set % 3);
            if (set == 1) o.label_smoothing = 0.1f, o.class_weight = w;
            if (set == 2) o.softcap = 15.0f;
            if (set == 3 && norm == 0) o.z_loss = 1e-3f;
            const int inplace = set == 3;
            const float gs = set == 4 ? 0x1p-118f : 0.5f;
            smx_status s16 = t ? smx_cross_entropy_f16(rows, n, x, n, tg, &o, loss16, inplace ? x : g, n, gs)
                               : smx_cross_entropy_bf16(rows, n, x, n, tg, &o, loss16, inplace ? x : g, n, gs);
            smx_status s32 = smx_cross_entropy_f32(rows, n, xw, n, tg, &o, loss32, gw, n, gs);
            int ok = s16 == SMX_OK && s32 == SMX_OK;
            const size_t nl = o.reduction == SMX_REDUCE_NONE ? rows : 1;
            ok &= memcmp(loss16, loss32, nl * 4) == 0;
            const uint16_t *gg = inplace ? x : g;
            for (size_t i = 0; i < rows * n && ok; i++) ok &= gg[i] == narrow(t, gw[i]);
            if (set == 0 && ok) { /* the loss alone (rows of 20000 do not fit the scratch either) */
              float loss_only[70];
              s16 = t ? smx_cross_entropy_f16(rows, n, x, n, tg, &o, loss_only, NULL, 0, gs)
                      : smx_cross_entropy_bf16(rows, n, x, n, tg, &o, loss_only, NULL, 0, gs);
              ok = s16 == SMX_OK && memcmp(loss_only, loss32, nl * 4) == 0;
            }
            cases++;
            fails += !ok;
            if (!ok && fails < 5)
              cr_log_error("xent %s norm %d set %d n=%zu isa %s differs", t ? "f16" : "bf16", norm, set, n,
                           smx_isa_name((smx_isa)isa));
            free(x), free(g), free(xw), free(gw);
          }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  cr_expect_eq(fails, 0, "%zu of %zu 16-bit cross-entropy cases differ from the f32 call", fails, cases);
}

/* The 16-bit probability-target cross-entropy: loss bits equal to smx_cross_entropy_soft_f32's on the widened
   logits and targets, gradient = round16 of its gradient, for every normalizer, reduction and option set, every ISA:
   rows through the stack scratch (groups of rows, several batches: the SUM and MEAN order) and rows of more than 8192
   entries a block at a time, with special rows, targets with a NaN, ld > n, canaries between the gradient's rows and
   in place. */
Test(half, cross_entropy_soft_identity) {
  enum { PAD = 3 };
  static const size_t sizes[] = {1, 5, 33, 1000, 3000, 8192, 8193, 20000};
  static float w[20000];
  const uint16_t canary = 0x3c01;
  size_t cases = 0, fails = 0;
  for (size_t j = 0; j < 20000; j++) w[j] = 0.5f + (float)(j % 5) * 0.25f;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++)
      for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int norm = 0; norm < 3; norm++)
          for (int set = 0; set < 5; set++) {
            const size_t n = sizes[si], rows = n > 8192 ? 9 : n > 1000 ? 12 : 70, ldx = n + PAD, ldq = n + 1;
            const size_t ldd = n + 2;
            tu_rng r;
            tu_rng_seed(&r, tu_case_seed("half-xent-soft", n * 8 + (size_t)set, norm + 3 * t));
            uint16_t *x = malloc(rows * ldx * 2), *q = malloc(rows * ldq * 2), *g = malloc(rows * ldd * 2);
            float *xw = malloc(rows * n * 4), *qw = malloc(rows * n * 4), *gw = malloc(rows * n * 4);
            float loss16[70], loss32[70];
            for (size_t i = 0; i < rows * ldx; i++) x[i] = narrow(t, (float)(3.0 * tu_normal(&r)));
            for (size_t k = 0; k < rows; k++) {
              uint16_t *xr = x + k * ldx, *qr = q + k * ldq;
              const size_t j = special_row16(&r, t, k, n, xr);
              for (size_t i = 0; i < n; i++) qr[i] = narrow(t, k % 9 == 4 ? (i == j) : (float)(2.0 * tu_uniform(&r, 0, 1) / n));
              if (k % 9 == 6) qr[j] = narrow_input(t, NAN, k / 9);
              for (size_t i = 0; i < n; i++) xw[k * n + i] = widen(t, xr[i]), qw[k * n + i] = widen(t, qr[i]);
            }
            smx_xent_options o;
            smx_xent_options_default(&o);
            o.normalizer = (smx_normalizer)norm;
            o.reduction = (smx_reduction)(set % 3);
            if (set == 1) o.label_smoothing = 0.1f, o.class_weight = norm == SMX_NORM_SPARSEMAX ? NULL : w;
            if (set == 2) o.softcap = 15.0f;
            if (set == 3 && norm == 0) o.z_loss = 1e-3f;
            const int inplace = set == 3;
            const float gs = set == 4 ? 0x1p-118f : 0.5f;
            for (size_t i = 0; i < rows * ldd; i++) g[i] = canary;
            uint16_t *gg = inplace ? x : g;
            const size_t ldg = inplace ? ldx : ldd;
            smx_status s16 = t ? smx_cross_entropy_soft_f16(rows, n, x, ldx, q, ldq, &o, loss16, gg, ldg, gs)
                               : smx_cross_entropy_soft_bf16(rows, n, x, ldx, q, ldq, &o, loss16, gg, ldg, gs);
            smx_status s32 = smx_cross_entropy_soft_f32(rows, n, xw, n, qw, n, &o, loss32, gw, n, gs);
            int ok = s16 == SMX_OK && s32 == SMX_OK;
            const size_t nl = o.reduction == SMX_REDUCE_NONE ? rows : 1;
            ok &= memcmp(loss16, loss32, nl * 4) == 0;
            for (size_t k = 0; k < rows && ok; k++) {
              for (size_t i = 0; i < n; i++) ok &= gg[k * ldg + i] == narrow(t, gw[k * n + i]);
              if (!inplace) ok &= g[k * ldd + n] == canary && g[k * ldd + n + 1] == canary;
            }
            if (set == 0 && ok) { /* the loss alone */
              float loss_only[70];
              s16 = t ? smx_cross_entropy_soft_f16(rows, n, x, ldx, q, ldq, &o, loss_only, NULL, 0, gs)
                      : smx_cross_entropy_soft_bf16(rows, n, x, ldx, q, ldq, &o, loss_only, NULL, 0, gs);
              ok = s16 == SMX_OK && memcmp(loss_only, loss32, nl * 4) == 0;
            }
            cases++;
            fails += !ok;
            if (!ok && fails < 5)
              cr_log_error("soft xent %s norm %d set %d n=%zu isa %s differs", t ? "f16" : "bf16", norm, set, n,
                           smx_isa_name((smx_isa)isa));
            free(x), free(q), free(g), free(xw), free(qw), free(gw);
          }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  cr_expect_eq(fails, 0, "%zu of %zu 16-bit probability-target cases differ from the f32 call", fails, cases);
}

/* The sparsemax kernels test 16-bit steps against their float thresholds without widening them (vmath.h's
   any16_above): a probe entry swept over the patterns around the threshold, alone in its two steps, beside K ties of
   the max m (the probe is in the support above m - 1 / K), the row shifted so that the threshold is positive, near
   zero and negative and K in 3, 4, 7 (thresholds on and between the patterns), so that some probe is the least
   pattern above the threshold, the one an off-by-one range would miss. Every ISA, the forward kernel and the
   cross-entropy's gradient, by the identity. */
Test(half, sparsemax_unwidened_threshold) {
  enum { N = 1024, PROBE = 700 };
  static const size_t ks[] = {3, 4, 7};
  static const float shifts[] = {0.0f, -0.75f, -1.0f, -3.0f, 2.0f};
  size_t cases = 0, fails = 0;
  uint16_t x[N], y[N];
  float xw[N], yw[N], loss16, loss32;
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int t = 0; t < 2; t++)
      for (size_t s = 0, K = ks[0]; s < sizeof shifts / sizeof shifts[0] * 3; s++, K = ks[s % 3]) {
        const uint16_t mid = narrow(t, shifts[s / 3] + 1.0f - 1.0f / (float)K);
        const int at = mid & 0x8000 ? -(int)(mid & 0x7fff) : (int)mid; /* patterns in value order */
        for (int d = -40; d <= 40; d++) {
          for (size_t i = 0; i < N; i++) x[i] = narrow(t, i < K ? shifts[s / 3] + 1.0f : shifts[s / 3] - 8.0f);
          x[PROBE] = (uint16_t)(at + d < 0 ? 0x8000 | -(at + d) : at + d);
          for (size_t i = 0; i < N; i++) xw[i] = widen(t, x[i]);
          int ok = (t ? smx_sparsemax_f16(1, N, x, N, y, N) : smx_sparsemax_bf16(1, N, x, N, y, N)) == SMX_OK &&
                   smx_sparsemax_f32(1, N, xw, N, yw, N) == SMX_OK;
          for (size_t i = 0; i < N && ok; i++) ok &= y[i] == narrow(t, yw[i]);
          smx_xent_options o;
          smx_xent_options_default(&o);
          o.normalizer = SMX_NORM_SPARSEMAX;
          const int64_t tg = 1;
          ok &= (t ? smx_cross_entropy_f16(1, N, x, N, &tg, &o, &loss16, y, N, 1.0f)
                   : smx_cross_entropy_bf16(1, N, x, N, &tg, &o, &loss16, y, N, 1.0f)) == SMX_OK &&
                smx_cross_entropy_f32(1, N, xw, N, &tg, &o, &loss32, yw, N, 1.0f) == SMX_OK && loss16 == loss32;
          for (size_t i = 0; i < N && ok; i++) ok &= y[i] == narrow(t, yw[i]);
          cases++;
          fails += !ok;
          if (!ok && fails < 5)
            cr_log_error("%s %s shift %g K %zu probe 0x%04x differs", smx_isa_name((smx_isa)isa), t ? "f16" : "bf16",
                         (double)shifts[s / 3], K, x[PROBE]);
        }
      }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  cr_expect_eq(fails, 0, "%zu of %zu probe rows differ from round16(f32 kernel(widen(x)))", fails, cases);
}
