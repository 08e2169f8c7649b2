/* The contract points found from outside (issue 10): results independent of the caller's flush and rounding modes
   and never subnormal or -0, outputs over the options struct rejected, a tiny softcap rejected, rows == 0 shapes
   checked the same way everywhere, the z-loss mean with class weights. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernel_list.h"
#include "testutil.h"

/* An output obeys the FLT_MIN rule: not subnormal, not -0 (NaN and +-inf allowed). */
static int flushed_ok(float v) { return v != v || fabsf(v) >= FLT_MIN || tu_bits(v) == 0u; }

/* Every kernel of the registry on rows x n inputs x (logits) and dy, default modes and FTZ+DAZ: same bits,
   every output obeying the FLT_MIN rule. */
static void check_all_kernels(const char *what, size_t rows, size_t n, const float *x, const float *dy) {
  const size_t len = rows * n + rows;
  float *out[2] = {malloc(len * 4), malloc(len * 4)}, *y = malloc(rows * n * 4), *loss = malloc(rows * 4);
  int64_t *t = malloc(rows * sizeof(int64_t));
  for (size_t r = 0; r < rows; r++) t[r] = 0;
  for (int k = 0; k < SMX_K_COUNT; k++) {
    const smx_kernel_info *K = &smx_kernel_list[k];
    for (int ftz = 0; ftz < 2; ftz++) {
      const unsigned long saved = tu_fp_flush(ftz);
      float *o = out[ftz];
      memset(o, 0, len * 4);
      smx_xent_options opts;
      smx_xent_options_default(&opts);
      opts.reduction = SMX_REDUCE_NONE;
      smx_call_args a = {rows, n, x, n, NULL, n, dy, n, o, n, t, &opts, o + rows * n, 1.0f};
      if (K->forward != SMX_K_none) { /* y = the forward output; BWD reads it as x */
        smx_call_args f = {rows, n, x, n, NULL, 0, NULL, 0, y, n, NULL, NULL, NULL, 0.0f};
        smx_call(K->forward, &f);
        if (K->kind == SMX_KIND_BWD) a.x = y;
        else a.y = y;
      }
      smx_status s = smx_call(k, &a);
      tu_fp_restore(saved);
      cr_expect_eq(s, SMX_OK, "%s %s: status %d", what, K->name, (int)s);
    }
    size_t first;
    cr_expect(tu_bits_equal(out[1], out[0], len, &first), "%s %s: FTZ+DAZ changes output %zu: %a vs %a", what,
              K->name, first, (double)out[1][first], (double)out[0][first]);
    for (size_t i = 0; i < len; i++)
      if (!flushed_ok(out[0][i])) {
        cr_expect(0, "%s %s: output %zu = %a is subnormal or -0", what, K->name, i, (double)out[0][i]);
        break;
      }
  }
  free(out[0]), free(out[1]), free(y), free(loss), free(t);
}

/* x = {0, -90}: log-softmax[0], logsumexp, the loss and dlogits[0] were the subnormal 0x1.1d85p-130 by default
   and 0 under FTZ; softmax backward of softmax({0, -86, 1}) with dy = {0, 0.1, 0} gave three subnormals. */
Test(contract, reproducers) {
  const float x2[2] = {0.0f, -90.0f}, dy2[2] = {0.25f, -0.5f};
  check_all_kernels("{0, -90}", 1, 2, x2, dy2);
  const float x3[3] = {0.0f, -86.0f, 1.0f}, dy3[3] = {0.0f, 0.1f, 0.0f};
  check_all_kernels("{0, -86, 1}", 1, 3, x3, dy3);
  float lsm[2], lse, loss, g[2];
  int64_t t = 0;
  smx_log_softmax_f32(1, 2, x2, 2, lsm, 2);
  smx_logsumexp_f32(1, 2, x2, 2, &lse);
  smx_cross_entropy_f32(1, 2, x2, 2, &t, NULL, &loss, g, 2, 1.0f);
  cr_expect(tu_bits(lsm[0]) == 0 && tu_bits(lse) == 0 && tu_bits(loss) == 0 && tu_bits(g[0]) == 0,
            "below FLT_MIN must be +0: log_softmax %a, lse %a, loss %a, dlogits %a", (double)lsm[0], (double)lse,
            (double)loss, (double)g[0]);
}

/* A grid of rows from N(0, 16) and U(-80, 80) (with subnormal and -0 inputs mixed in): no output of any
   kernel is subnormal or -0, and none moves under FTZ+DAZ. */
Test(contract, grid) {
  tu_rng r;
  tu_rng_seed(&r, tu_case_seed("contract-grid", 0, 0));
  const size_t rows = 64, n = 37;
  float *x = malloc(rows * n * 4), *dy = malloc(rows * n * 4);
  for (size_t i = 0; i < rows * n; i++) {
    x[i] = (i / n) % 2 ? (float)tu_uniform(&r, -80.0, 80.0) : (float)(4.0 * tu_normal(&r));
    dy[i] = (float)tu_normal(&r) * (tu_below(&r, 4) ? 1.0f : 1e-30f);
    if (tu_below(&r, 50) == 0) x[i] = tu_below(&r, 2) ? 0x1p-140f : -0.0f;
  }
  check_all_kernels("grid", rows, n, x, dy);
  free(x), free(dy);
}

/* An output placed over the options struct is an input overlap: SMX_ERR_ALIAS, nothing written. */
Test(contract, outputs_over_options) {
  union {
    smx_xent_options o;
    float f[64];
  } u;
  float x[16], g[16], loss;
  int64_t t[2] = {1, 2};
  for (int i = 0; i < 16; i++) x[i] = (float)i * 0.1f;
  smx_xent_options_default(&u.o);
  smx_xent_options before = u.o;
  cr_expect_eq(smx_cross_entropy_f32(2, 8, x, 8, t, &u.o, &loss, u.f, 8, 1.0f), SMX_ERR_ALIAS);
  cr_expect(memcmp(&before, &u.o, sizeof before) == 0, "the options were written");
  u.o.reduction = SMX_REDUCE_SUM;
  before = u.o;
  float *inside = (float *)((char *)&u.o + offsetof(smx_xent_options, class_weight));
  cr_expect_eq(smx_cross_entropy_f32(2, 8, x, 8, t, &u.o, inside, g, 8, 1.0f), SMX_ERR_ALIAS);
  cr_expect(memcmp(&before, &u.o, sizeof before) == 0, "the options were written");
}

/* softcap 2^-149: 1/cap overflows (0 * inf was NaN, with different NaN bits per ISA); rejected. The smallest
   accepted caps give finite results for finite logits, also exactly 0. */
Test(contract, tiny_softcap) {
  float x[2] = {1.0f, 0.0f}, g[2], loss;
  int64_t t = 0;
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.softcap = 0x1p-149f;
  cr_expect_eq(smx_cross_entropy_f32(1, 2, x, 2, &t, &o, &loss, g, 2, 1.0f), SMX_ERR_ARG);
  o.softcap = 0x1p-126f;
  for (int nz = 0; nz < 3; nz++) {
    o.normalizer = (smx_normalizer)nz;
    cr_expect_eq(smx_cross_entropy_f32(1, 2, x, 2, &t, &o, &loss, g, 2, 1.0f), SMX_OK);
    cr_expect(isfinite(loss) && isfinite(g[0]) && isfinite(g[1]), "normalizer %d: loss %a grad %a %a", nz,
              (double)loss, (double)g[0], (double)g[1]);
  }
}

/* rows == 0 still validates the shape: n that overflows a row's byte size is SMX_ERR_SHAPE for every kernel. */
Test(contract, rows_zero_shapes) {
  float buf[4] = {0};
  int64_t t = 0;
  for (int k = 0; k < SMX_K_COUNT; k++) {
    smx_call_args a = {0, SIZE_MAX, buf, SIZE_MAX, buf, SIZE_MAX, buf, SIZE_MAX, buf + 2, SIZE_MAX, &t, NULL, buf + 3,
                       1.0f};
    cr_expect_eq(smx_call(k, &a), SMX_ERR_SHAPE, "%s", smx_kernel_list[k].name);
  }
}

/* z-loss with class weights and MEAN: the cross-entropy term is averaged over the target weights, the z-loss
   (a per-token regularizer) over the counted rows, as PaLM-style implementations do. */
Test(contract, z_loss_mean_with_weights) {
  enum { R = 5, N = 7 };
  float x[R * N], w[N], none[R], mean, plain[R];
  int64_t t[R] = {0, 3, -100, 6, 2};
  tu_rng r;
  tu_rng_seed(&r, tu_case_seed("zloss", N, 0));
  for (int i = 0; i < R * N; i++) x[i] = (float)(3.0 * tu_normal(&r));
  for (int j = 0; j < N; j++) w[j] = 0.5f + (float)j * 0.25f;
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.class_weight = w;
  o.z_loss = 1e-2f;
  o.reduction = SMX_REDUCE_NONE;
  cr_assert_eq(smx_cross_entropy_f32(R, N, x, N, t, &o, none, NULL, N, 1.0f), SMX_OK);
  o.z_loss = 0.0f;
  cr_assert_eq(smx_cross_entropy_f32(R, N, x, N, t, &o, plain, NULL, N, 1.0f), SMX_OK);
  o.z_loss = 1e-2f;
  o.reduction = SMX_REDUCE_MEAN;
  cr_assert_eq(smx_cross_entropy_f32(R, N, x, N, t, &o, &mean, NULL, N, 1.0f), SMX_OK);
  double ce = 0.0, z = 0.0, D = 0.0, C = 0.0;
  for (int i = 0; i < R; i++) {
    if (t[i] == -100) continue;
    ce += plain[i], z += (double)none[i] - plain[i], D += w[t[i]], C += 1.0;
  }
  double want = ce / D + z / C;
  cr_expect(fabs(mean - want) <= 1e-5 * fabs(want), "mean %.9g, want sum(ce)/sum(w_t) + sum(z)/count = %.9g", (double)mean,
            want);
}

/* The caller's rounding mode (toward +inf, -inf, zero) changes no bit of the cross-entropy's outputs: the class-index
   call's reduced loss (its row losses' sum, the weights' sum, the mean's division), the forward's lse, the backward
   and the probability-target call, every normalizer and reduction, with class weights and label smoothing, on every
   ISA. (They ran their sums and roundings outside the library's FP environment, in the caller's mode.) */
static void xent_outputs(int norm, int red, int soft, const float *x, const float *q, const float *w, const int64_t *t,
                         float *out, size_t rows, size_t n) {
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.normalizer = (smx_normalizer)norm, o.reduction = (smx_reduction)red, o.label_smoothing = 0.1f;
  o.class_weight = norm == SMX_NORM_SPARSEMAX ? NULL : w;
  float *loss = out, *lse = out + rows, *d = out + 2 * rows, *d2 = d + rows * n;
  const float g = 0.7f;
  if (soft) {
    cr_assert_eq(smx_cross_entropy_soft_f32(rows, n, x, n, q, n, &o, loss, d, n, g), SMX_OK);
    return;
  }
  cr_assert_eq(smx_cross_entropy_f32(rows, n, x, n, t, &o, loss, d, n, g), SMX_OK);
  cr_assert_eq(smx_cross_entropy_forward_f32(rows, n, x, n, t, &o, loss, lse), SMX_OK);
  cr_assert_eq(smx_cross_entropy_backward_f32(rows, n, x, n, t, &o, lse, &g, 0, d2, n), SMX_OK);
}
Test(contract, caller_rounding_modes) {
  enum { R = 37, N = 100 };
  const int modes[] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  const size_t len = 2 * R + 2 * R * N;
  float *x = malloc(R * N * 4), *q = malloc(R * N * 4), *w = malloc(N * 4);
  float *ref = malloc(len * 4), *got = malloc(len * 4);
  int64_t t[R];
  tu_rng r;
  tu_rng_seed(&r, tu_case_seed("contract-rounding", 0, 0));
  for (size_t i = 0; i < R * N; i++) x[i] = (float)tu_uniform(&r, -3.0, 4.0), q[i] = (float)tu_uniform(&r, 0.0, 1.0);
  for (size_t j = 0; j < N; j++) w[j] = (float)tu_uniform(&r, 0.0, 1.3);
  for (size_t i = 0; i < R; i++) t[i] = (int64_t)tu_below(&r, N);
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int norm = 0; norm < 3; norm++)
      for (int red = 0; red < 3; red++)
        for (int soft = 0; soft < 2; soft++) {
          memset(ref, 0, len * 4);
          xent_outputs(norm, red, soft, x, q, w, t, ref, R, N);
          for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            memset(got, 0, len * 4);
            const int saved = fegetround();
            fesetround(modes[m]);
            xent_outputs(norm, red, soft, x, q, w, t, got, R, N);
            fesetround(saved);
            size_t first;
            cr_expect(tu_bits_equal(got, ref, len, &first),
                      "%s norm %d reduction %d%s, rounding mode %zu: output %zu %a vs %a", smx_isa_name((smx_isa)isa),
                      norm, red, soft ? " probability targets" : "", m, first, (double)got[first], (double)ref[first]);
          }
        }
  }
  smx_set_isa(SMX_ISA_SCALAR);
  free(x), free(q), free(w), free(ref), free(got);
}
