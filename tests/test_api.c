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
static int outputs_untouched(const bufs *B) {
  return untouched(B->c, SPAN + 64) && untouched(B->d, SPAN + 64) && untouched(B->l, ROWS + 8);
}

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

/* Every failure must also replace smx_last_error_message (primed with smx_set_isa's message first). */
#define EXPECT_ERR(call, want, what)                                                                          \
  do {                                                                                                        \
    reset(&B);                                                                                                \
    smx_set_isa((smx_isa)99);                                                                                 \
    smx_status s_ = (call);                                                                                   \
    const char *m_ = smx_last_error_message();                                                                \
    cr_expect(strncmp(m_, "smx_set_isa", 11) != 0 && strncmp(m_, "smx_", 4) == 0,                             \
              "%s: %s did not set smx_last_error_message (\"%s\")", what, #call, m_);                        \
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

/* The message names the argument, and the row for targets and grad_loss. */
#define EXPECT_MSG(call, want, part)                                                                          \
  do {                                                                                                        \
    EXPECT_ERR(call, want, part);                                                                             \
    cr_expect(strstr(smx_last_error_message(), part) != NULL, "%s: message \"%s\" lacks \"%s\"", #call,       \
              smx_last_error_message(), part);                                                                \
  } while (0)

Test(api, autograd_entry_points_errors) {
  static bufs B;
  static union { smx_xent_options o; float f[SPAN]; } U; /* options inside a writable buffer (aliasing cases) */
  int64_t t[ROWS] = {0, 5, N - 1}, bad[ROWS] = {0, N, 1};
  int32_t bad32[ROWS] = {0, 5, N};
  float g[2 * ROWS] = {1, 1, 1, 1, 1, 1}, gnan[ROWS] = {1, tu_from_bits(0x7fc00000u), 1};
  smx_xent_options o, z, w;
  memset(&z, 0, sizeof z);
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
#define FW(rows, n, x, ldx, tg, op, loss, lse) smx_cross_entropy_forward_f32(rows, n, x, ldx, tg, op, loss, lse)
  EXPECT_MSG(FW(ROWS, N, NULL, LD, t, &o, B.l, B.d), SMX_ERR_NULL, "logits");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, NULL, &o, B.l, B.d), SMX_ERR_NULL, "targets");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &o, NULL, B.d), SMX_ERR_NULL, "loss");
  EXPECT_MSG(FW(ROWS, 0, B.a, LD, t, &o, B.l, B.d), SMX_ERR_SHAPE, "n is 0");
  EXPECT_MSG(FW(ROWS, N, B.a, N - 1, t, &o, B.l, B.d), SMX_ERR_SHAPE, "logits");
  EXPECT_MSG(FW(SIZE_MAX / 4, N, B.a, LD, t, &o, B.l, B.d), SMX_ERR_SHAPE, "overflows");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, bad, &o, B.l, B.d), SMX_ERR_TARGET, "targets[1] = 37");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &z, B.l, B.d), SMX_ERR_ARG, "struct_size");
  w = o, w.target_type = SMX_TARGET_I32;
  EXPECT_MSG(FW(ROWS, N, B.a, LD, bad32, &w, B.l, B.d), SMX_ERR_TARGET, "targets[2] = 37");
  w = o, w.target_type = (smx_target_type)2;
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &w, B.l, B.d), SMX_ERR_ARG, "target_type");
  static float wneg[N], wone[N];
  for (int j = 0; j < N; j++) wneg[j] = 1.0f, wone[j] = 1.0f;
  wneg[3] = -1.0f;
  w = o, w.class_weight = wneg;
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &w, B.l, B.d), SMX_ERR_ARG, "class_weight[3]");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &o, B.l, B.a + 3), SMX_ERR_ALIAS, "lse overlaps logits");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &o, B.l, B.l + 1), SMX_ERR_ALIAS, "lse overlaps loss");
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &o, B.l, (float *)t), SMX_ERR_ALIAS, "lse overlaps targets");
  U.o = o;
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &U.o, U.f + 2, B.d), SMX_ERR_ALIAS, "loss overlaps opts");
  U.o.class_weight = B.b + 64;
  EXPECT_MSG(FW(ROWS, N, B.a, LD, t, &U.o, B.l, B.b + 62), SMX_ERR_ALIAS, "lse overlaps opts->class_weight");
#undef FW
#define BW(rows, n, x, ldx, tg, op, lse, gl, gs, d, ldd) \
  smx_cross_entropy_backward_f32(rows, n, x, ldx, tg, op, lse, gl, gs, d, ldd)
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, NULL, 1, B.c, LD), SMX_ERR_NULL, "grad_loss");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, g, 1, NULL, LD), SMX_ERR_NULL, "dlogits");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, g, 1, B.c, N - 1), SMX_ERR_SHAPE, "dlogits");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &z, NULL, g, 1, B.c, LD), SMX_ERR_ARG, "struct_size");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, gnan, 1, B.c, LD), SMX_ERR_ARG, "row 1");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, g, SIZE_MAX / 2, B.c, LD), SMX_ERR_SHAPE, "grad_loss");
  w = o, w.reduction = SMX_REDUCE_MEAN;
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &w, NULL, g, 1, B.c, LD), SMX_ERR_ARG, "grad_loss_stride");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, B.c + 5, 1, B.c, LD), SMX_ERR_ALIAS, "dlogits overlaps grad_loss");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, B.c + 7, g, 1, B.c, LD), SMX_ERR_ALIAS, "dlogits overlaps lse");
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &o, NULL, g, 1, B.a + 1, LD), SMX_ERR_ALIAS, "dlogits overlaps logits");
  static union { int64_t t[ROWS]; float f[SPAN]; } V = {{0, 5, N - 1}};
  EXPECT_MSG(BW(ROWS, N, B.a, LD, V.t, &o, NULL, g, 1, V.f + 2, LD), SMX_ERR_ALIAS, "dlogits overlaps targets");
  U.o = o;
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &U.o, NULL, g, 1, U.f, LD), SMX_ERR_ALIAS, "dlogits overlaps opts");
  U.o.class_weight = B.b;
  for (int j = 0; j < N; j++) B.b[j] = 1.0f;
  EXPECT_MSG(BW(ROWS, N, B.a, LD, t, &U.o, NULL, g, 1, B.b + 3, LD), SMX_ERR_ALIAS, "dlogits overlaps opts->class_weight");
  reset(&B);
  cr_expect_eq(BW(ROWS, N, B.a, LD, t, &o, NULL, g, 1, B.a, LD), SMX_OK, "dlogits == logits (in place)");
#undef BW
#define SF(rows, n, x, ldx, q, ldq, op, loss, d, ldd, gs) smx_cross_entropy_soft_f32(rows, n, x, ldx, q, ldq, op, loss, d, ldd, gs)
  for (int j = 0; j < SPAN; j++) B.b[j] = 1.0f / N;
  EXPECT_MSG(SF(ROWS, N, B.a, LD, NULL, LD, &o, B.l, B.c, LD, 1.0f), SMX_ERR_NULL, "q is NULL");
  EXPECT_MSG(SF(ROWS, N, NULL, LD, B.b, LD, &o, B.l, B.c, LD, 1.0f), SMX_ERR_NULL, "logits");
  EXPECT_MSG(SF(ROWS, N, B.a, LD, B.b, N - 1, &o, B.l, B.c, LD, 1.0f), SMX_ERR_SHAPE, "of q");
  EXPECT_MSG(SF(ROWS, N, B.a, LD, B.b, LD, &z, B.l, B.c, LD, 1.0f), SMX_ERR_ARG, "struct_size");
  EXPECT_MSG(SF(ROWS, N, B.a, LD, B.b, LD, &o, B.l, B.c, LD, tu_from_bits(0x7f800000u)), SMX_ERR_ARG, "grad_scale");
  w = o, w.normalizer = SMX_NORM_SPARSEMAX, w.class_weight = wone;
  EXPECT_ERR(SF(ROWS, N, B.a, LD, B.b, LD, &w, B.l, B.c, LD, 1.0f), SMX_ERR_ARG, "sparsemax soft with class_weight");
  EXPECT_MSG(SF(ROWS, N, B.a, LD, B.b, LD, &o, B.b + 2, B.c, LD, 1.0f), SMX_ERR_ALIAS, "loss overlaps q");
  EXPECT_MSG(SF(ROWS, N, B.a, LD, B.b, LD, &o, B.l, B.b + 1, LD, 1.0f), SMX_ERR_ALIAS, "dlogits overlaps q");
  EXPECT_MSG(SF(ROWS, N, B.a, LD, B.b, LD, &o, B.c + 1, B.c, LD, 1.0f), SMX_ERR_ALIAS, "loss overlaps dlogits");
  reset(&B);
  for (int j = 0; j < SPAN; j++) B.b[j] = 1.0f / N;
  cr_expect_eq(SF(ROWS, N, B.a, LD, B.b, LD, &o, B.l, B.a, LD, 1.0f), SMX_OK, "soft in place");
#undef SF
}

/* A zero-initialized options struct is rejected (it used to mean ignore_index = 0), by every entry point. */
Test(api, zero_initialized_options) {
  static bufs B;
  smx_xent_options z;
  memset(&z, 0, sizeof z);
  int64_t t[ROWS] = {0, 0, 0};
  EXPECT_MSG(smx_cross_entropy_f32(ROWS, N, B.a, LD, t, &z, B.l, B.c, LD, 1.0f), SMX_ERR_ARG,
             "initialize the options with smx_xent_options_default");
  smx_xent_options o;
  smx_xent_options_default(&o);
  cr_expect_eq(o.struct_size, sizeof o);
  o.struct_size = sizeof o + 8;
  EXPECT_MSG(smx_cross_entropy_f32(ROWS, N, B.a, LD, t, &o, B.l, B.c, LD, 1.0f), SMX_ERR_ARG, "struct_size");
}

static void *fail_in_thread(void *arg) {
  (void)arg;
  smx_softmax_f32(1, 0, NULL, 0, NULL, 0);
  return (void *)(uintptr_t)(strstr(smx_last_error_message(), "smx_softmax_f32: x is NULL") != NULL);
}

Test(api, last_error_message_is_thread_local) {
  static bufs B;
  EXPECT_MSG(smx_logsumexp_f32(ROWS, N, B.a, N - 2, B.l), SMX_ERR_SHAPE,
             "smx_logsumexp_f32: the leading dimension of x (35) is below n = 37");
  pthread_t th;
  void *ok;
  pthread_create(&th, NULL, fail_in_thread, NULL);
  pthread_join(th, &ok);
  cr_expect(ok != NULL, "the other thread saw its own message");
  cr_expect(strstr(smx_last_error_message(), "smx_logsumexp_f32") != NULL, "this thread's message changed: \"%s\"",
            smx_last_error_message());
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
  cr_expect_str_eq(smx_isa_name(SMX_ISA_AVX512BF16), "avx512bf16");
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

/* smx_set_streaming_threshold: this thread's setting (a new thread starts at the default, the last-level cache's
   size: neither 0 nor SIZE_MAX), 0 and SIZE_MAX kept as given; a streamed call's bits are test_isa's */
static void *default_threshold(void *arg) {
  *(size_t *)arg = smx_get_streaming_threshold();
  return NULL;
}
Test(api, streaming_threshold) {
  const size_t def = smx_get_streaming_threshold();
  cr_expect(def > 0 && def < SIZE_MAX, "default threshold %zu", def);
  smx_set_streaming_threshold(0);
  cr_expect_eq(smx_get_streaming_threshold(), 0);
  size_t other = 0;
  pthread_t t;
  pthread_create(&t, NULL, default_threshold, &other);
  pthread_join(t, NULL);
  cr_expect_eq(other, def, "another thread's threshold %zu, not the default %zu", other, def);
  smx_set_streaming_threshold(SIZE_MAX);
  cr_expect_eq(smx_get_streaming_threshold(), SIZE_MAX);
  smx_set_streaming_threshold(def);
}
