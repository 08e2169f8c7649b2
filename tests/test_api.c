/* The API contract: every error code of every function, nothing written on error (also with
   rows == 0), exact in-place vs. partial overlap, version and strerror, thread safety. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ROWS 3
#define N 37
#define LD 40
#define SPAN (ROWS * LD)

/* Buffers: a (input), b (second input), c (output), l (loss/lse), all canary-filled. */
typedef struct {
  float a[SPAN + 64], b[SPAN + 64], c[SPAN + 64], d[SPAN + 64], l[ROWS + 8];
} bufs;

static void canary(float *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = tu_from_bits(TU_CANARY_BITS);
}
static int untouched(const float *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tu_bits(p[i]) != TU_CANARY_BITS) return 0;
  return 1;
}
static void reset(bufs *B) {
  canary(B->c, SPAN + 64);
  canary(B->d, SPAN + 64);
  canary(B->l, ROWS + 8);
  for (size_t i = 0; i < SPAN + 64; i++) B->a[i] = (float)(i % 13) * 0.25f, B->b[i] = 0.01f * (float)(i % 7);
}
static int outputs_untouched(const bufs *B) { return untouched(B->c, SPAN + 64) && untouched(B->l, ROWS + 8); }

/* The MAP and BWD kernels of SMX_KERNELS (LSE, BWDX and XENT have their own tests below). */
typedef smx_status (*fwd_fn)(size_t, size_t, const float *, size_t, float *, size_t);
#define SMX_API_MAP_MAP(name) {#name, smx_##name##_f32},
#define SMX_API_MAP_LSE(name)
#define SMX_API_MAP_BWD(name)
#define SMX_API_MAP_BWDX(name)
#define SMX_API_MAP_XENT(name)
#define SMX_API_MAP_(name, kind, forward) SMX_API_MAP_##kind(name)
static const struct { const char *name; fwd_fn f; } fwd[] = {SMX_KERNELS(SMX_API_MAP_)};
typedef smx_status (*bwd_fn)(size_t, size_t, const float *, size_t, const float *, size_t, float *, size_t);
#define SMX_API_BWD_MAP(name)
#define SMX_API_BWD_LSE(name)
#define SMX_API_BWD_BWD(name) {#name, smx_##name##_f32},
#define SMX_API_BWD_BWDX(name)
#define SMX_API_BWD_XENT(name)
#define SMX_API_BWD_(name, kind, forward) SMX_API_BWD_##kind(name)
static const struct { const char *name; bwd_fn f; } bwd[] = {SMX_KERNELS(SMX_API_BWD_)};

#define EXPECT_ERR(call, want, what)                                                                          \
  do {                                                                                                        \
    reset(&B);                                                                                                \
    smx_status s_ = (call);                                                                                   \
    cr_expect_eq(s_, (want), "%s: %s returned %d (%s), want %d", what, #call, (int)s_, smx_strerror(s_),     \
                 (int)(want));                                                                                \
    cr_expect(outputs_untouched(&B), "%s: %s wrote to an output on error", what, #call);                    \
  } while (0)

Test(api, forward_errors) {
  static bufs B;
  const size_t huge = SIZE_MAX / 2;
  for (size_t k = 0; k < sizeof fwd / sizeof fwd[0]; k++) {
    const char *w = fwd[k].name;
    fwd_fn f = fwd[k].f;
    EXPECT_ERR(f(ROWS, N, NULL, LD, B.c, LD), SMX_ERR_NULL, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, NULL, LD), SMX_ERR_NULL, w);
    EXPECT_ERR(f(0, N, NULL, LD, B.c, LD), SMX_ERR_NULL, w); /* validated even when rows == 0 */
    EXPECT_ERR(f(ROWS, 0, B.a, LD, B.c, LD), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(ROWS, N, B.a, N - 1, B.c, LD), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.c, N - 1), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(0, N, B.a, N - 1, B.c, LD), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(huge, N, B.a, LD, B.c, LD), SMX_ERR_SHAPE, w);     /* rows * ld overflows */
    EXPECT_ERR(f(2, huge, B.a, huge, B.c, huge), SMX_ERR_SHAPE, w); /* bytes overflow */
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.a + 5, LD), SMX_ERR_ALIAS, w); /* partial overlap */
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.a, LD + 1), SMX_ERR_ALIAS, w); /* same start, other ld */
    /* rows == 0 with valid arguments: OK, nothing written */
    reset(&B);
    cr_expect_eq(f(0, N, B.a, LD, B.c, LD), SMX_OK, "%s rows=0", w);
    cr_expect(outputs_untouched(&B), "%s rows=0 wrote", w);
    /* exact in place and disjoint: OK; only [0, n) of each row written */
    reset(&B);
    cr_expect_eq(f(ROWS, N, B.a, LD, B.c, LD), SMX_OK, "%s", w);
    for (size_t r = 0; r < ROWS; r++) cr_expect(untouched(B.c + r * LD + N, LD - N), "%s wrote in the ld gap", w);
    cr_expect(untouched(B.c + (ROWS - 1) * LD + N, 64 + LD - N), "%s wrote past the last row", w);
    cr_expect_eq(f(ROWS, N, B.a, LD, B.a, LD), SMX_OK, "%s in place", w);
  }
}

Test(api, logsumexp_errors) {
  static bufs B;
  const char *w = "logsumexp";
  EXPECT_ERR(smx_logsumexp_f32(ROWS, N, NULL, LD, B.l), SMX_ERR_NULL, w);
  EXPECT_ERR(smx_logsumexp_f32(ROWS, N, B.a, LD, NULL), SMX_ERR_NULL, w);
  EXPECT_ERR(smx_logsumexp_f32(ROWS, 0, B.a, LD, B.l), SMX_ERR_SHAPE, w);
  EXPECT_ERR(smx_logsumexp_f32(ROWS, N, B.a, N - 1, B.l), SMX_ERR_SHAPE, w);
  EXPECT_ERR(smx_logsumexp_f32(SIZE_MAX / 2, N, B.a, LD, B.l), SMX_ERR_SHAPE, w);
  EXPECT_ERR(smx_logsumexp_f32(ROWS, N, B.a, LD, B.a + 3), SMX_ERR_ALIAS, w);
  reset(&B);
  cr_expect_eq(smx_logsumexp_f32(ROWS, N, B.a, LD, B.l), SMX_OK);
  cr_expect(untouched(B.l + ROWS, 8), "logsumexp wrote past lse[rows]");
}

Test(api, backward_errors) {
  static bufs B;
  for (size_t k = 0; k < sizeof bwd / sizeof bwd[0]; k++) {
    const char *w = bwd[k].name;
    bwd_fn f = bwd[k].f;
    EXPECT_ERR(f(ROWS, N, NULL, LD, B.b, LD, B.c, LD), SMX_ERR_NULL, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, NULL, LD, B.c, LD), SMX_ERR_NULL, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.b, LD, NULL, LD), SMX_ERR_NULL, w);
    EXPECT_ERR(f(ROWS, 0, B.a, LD, B.b, LD, B.c, LD), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.b, N - 1, B.c, LD), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.b, LD, B.c, 1), SMX_ERR_SHAPE, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.b, LD, B.b + 1, LD), SMX_ERR_ALIAS, w);
    EXPECT_ERR(f(ROWS, N, B.a, LD, B.b, LD, B.a + LD, LD), SMX_ERR_ALIAS, w);
    reset(&B);
    cr_expect_eq(f(ROWS, N, B.a, LD, B.b, LD, B.b, LD), SMX_OK, "%s: dx == dy in place", w);
  }
  const char *w = "stablemax_backward";
  EXPECT_ERR(smx_stablemax_backward_f32(ROWS, N, NULL, LD, B.a, LD, B.b, LD, B.c, LD), SMX_ERR_NULL, w);
  EXPECT_ERR(smx_stablemax_backward_f32(ROWS, N, B.d, LD, B.a, LD, B.b, LD, NULL, LD), SMX_ERR_NULL, w);
  EXPECT_ERR(smx_stablemax_backward_f32(ROWS, N, B.d, N - 2, B.a, LD, B.b, LD, B.c, LD), SMX_ERR_SHAPE, w);
  EXPECT_ERR(smx_stablemax_backward_f32(ROWS, 0, B.d, LD, B.a, LD, B.b, LD, B.c, LD), SMX_ERR_SHAPE, w);
  EXPECT_ERR(smx_stablemax_backward_f32(ROWS, N, B.d, LD, B.a, LD, B.b, LD, B.d + 2, LD), SMX_ERR_ALIAS, w);
}

Test(api, cross_entropy_errors) {
  static bufs B;
  int64_t t[ROWS] = {0, 5, N - 1}, bad[ROWS] = {0, N, 1}, neg[ROWS] = {0, -1, 1}, ign[ROWS] = {0, -100, 1};
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
  const char *w = "cross_entropy";
#define XE(rows, n, x, ldx, tg, opts, loss, g, ldd, gs) smx_cross_entropy_f32(rows, n, x, ldx, tg, opts, loss, g, ldd, gs)
  EXPECT_ERR(XE(ROWS, N, NULL, LD, t, &o, B.l, B.c, LD, 1.0f), SMX_ERR_NULL, w);
  EXPECT_ERR(XE(ROWS, N, B.a, LD, NULL, &o, B.l, B.c, LD, 1.0f), SMX_ERR_NULL, w);
  EXPECT_ERR(XE(ROWS, 0, B.a, LD, t, &o, B.l, B.c, LD, 1.0f), SMX_ERR_SHAPE, w);
  EXPECT_ERR(XE(ROWS, N, B.a, N - 1, t, &o, B.l, B.c, LD, 1.0f), SMX_ERR_SHAPE, w);
  EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &o, B.l, B.c, N - 1, 1.0f), SMX_ERR_SHAPE, w);
  EXPECT_ERR(XE(SIZE_MAX / 4, N, B.a, LD, t, &o, B.l, B.c, LD, 1.0f), SMX_ERR_SHAPE, w);
  EXPECT_ERR(XE(ROWS, N, B.a, LD, bad, &o, B.l, B.c, LD, 1.0f), SMX_ERR_TARGET, w);
  EXPECT_ERR(XE(ROWS, N, B.a, LD, neg, &o, B.l, B.c, LD, 1.0f), SMX_ERR_TARGET, w);
  reset(&B);
  cr_expect_eq(XE(ROWS, N, B.a, LD, ign, &o, B.l, B.c, LD, 1.0f), SMX_OK, "the ignore_index is not out of range");
  cr_expect(untouched(B.l + ROWS, 8), "NONE loss wrote past loss[rows]");
  /* options out of range */
  smx_xent_options e;
  const float nan = tu_from_bits(0x7fc00000u), inf = tu_from_bits(0x7f800000u);
  float wbad[N];
  for (int i = 0; i < N; i++) wbad[i] = 1.0f;
  wbad[7] = -1.0f;
  for (int c = 0; c < 12; c++) {
    e = o;
    switch (c) {
    case 0: e.normalizer = (smx_normalizer)3; break;
    case 1: e.reduction = (smx_reduction)3; break;
    case 2: e.label_smoothing = -0.1f; break;
    case 3: e.label_smoothing = 1.5f; break;
    case 4: e.label_smoothing = nan; break;
    case 5: e.z_loss = -1.0f; break;
    case 6: e.z_loss = 0.1f; e.normalizer = SMX_NORM_STABLEMAX; break;
    case 7: e.z_loss = 0.1f; e.normalizer = SMX_NORM_SPARSEMAX; break;
    case 8: e.softcap = -1.0f; break;
    case 9: e.softcap = inf; break;
    case 10: e.class_weight = wbad; break;
    case 11: e.z_loss = nan; break;
    }
    char what[64];
    snprintf(what, sizeof what, "cross_entropy option case %d", c);
    EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &e, B.l, B.c, LD, 1.0f), SMX_ERR_ARG, what);
  }
  EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &o, B.l, B.c, LD, nan), SMX_ERR_ARG, "grad_scale NaN");
  EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &o, B.l, B.c, LD, -inf), SMX_ERR_ARG, "grad_scale -inf");
  /* aliasing: gradient partially over the logits, loss inside the logits or the gradient */
  EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &o, B.l, B.a + 1, LD, 1.0f), SMX_ERR_ALIAS, w);
  EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &o, B.a + 2, B.c, LD, 1.0f), SMX_ERR_ALIAS, w);
  EXPECT_ERR(XE(ROWS, N, B.a, LD, t, &o, B.c + 2, B.c, LD, 1.0f), SMX_ERR_ALIAS, w);
  /* in place is allowed */
  reset(&B);
  cr_expect_eq(XE(ROWS, N, B.a, LD, t, &o, B.l, B.a, LD, 1.0f), SMX_OK, "dlogits == logits");
#undef XE
}

Test(api, version_and_strings) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", SMX_VERSION_MAJOR, SMX_VERSION_MINOR, SMX_VERSION_PATCH);
  cr_expect_str_eq(smx_version(), want);
  const smx_status all[] = {SMX_OK, SMX_ERR_NULL, SMX_ERR_SHAPE, SMX_ERR_TARGET, SMX_ERR_ARG, SMX_ERR_ISA, SMX_ERR_ALIAS};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *s = smx_strerror(all[i]);
    cr_expect(s && *s, "strerror(%d) empty", (int)all[i]);
    for (size_t j = 0; j < i; j++) cr_expect(strcmp(s, smx_strerror(all[j])) != 0, "strerror(%d) not distinct", (int)all[i]);
  }
  cr_expect_str_eq(smx_strerror((smx_status)-42), "unknown status");
  cr_expect_str_eq(smx_isa_name(SMX_ISA_SCALAR), "scalar");
  cr_expect_str_eq(smx_isa_name(SMX_ISA_AVX2), "avx2");
  cr_expect_str_eq(smx_isa_name(SMX_ISA_AVX512), "avx512");
  cr_expect_str_eq(smx_isa_name(SMX_ISA_NEON), "neon");
}

/* Several threads call the entry points at once (first use included): every result equals the
   single-threaded one. */
#define THREADS 4
#define TN 3000
static float tx[TN], ty_ref[TN];
static void *worker(void *arg) {
  float *y = malloc(TN * sizeof *y);
  long bad = 0;
  for (int it = 0; it < 40; it++) {
    smx_softmax_f32(1, TN, tx, TN, y, TN);
    bad += !tu_bits_equal(y, ty_ref, TN, NULL);
  }
  free(y);
  *(long *)arg = bad;
  return NULL;
}
Test(api, threads) {
  tu_rng r;
  tu_rng_seed(&r, tu_case_seed("threads", TN, 0));
  tu_fill(&r, TU_WIDE, TN, tx);
  smx_softmax_f32(1, TN, tx, TN, ty_ref, TN);
  pthread_t th[THREADS];
  long bad[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, &bad[i]);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    cr_expect_eq(bad[i], 0, "thread %d: %ld results differ", i, bad[i]);
  }
}
