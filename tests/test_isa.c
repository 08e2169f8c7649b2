/* Every ISA this CPU supports against the scalar reference, by memcmp: every kernel, every size
   class and tail, every input regime, leading dimensions > n, misaligned pointers, in place, and
   canaries around every row. Only scalar supported: the loop runs and says so. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_list.h"
#include "smx_internal.h"
#include "testutil.h"

/* Regimes beyond tu_fill's: ties (few distinct values), huge (|x| ~ 1e30), tiny stablemax sums
   (all x < -2^62), one finite entry among -inf, subnormal logits, confident rows, a dense support with ties, a
   few ties of the max with a support below them, ties of the max at every other entry, a subnormal max whose
   probability is within 2^-126 of 1. */
enum { R_TIES = TU_NREGIMES, R_HUGE, R_VERYNEG, R_ONEFINITE, R_SUBNORMAL, R_CONFIDENT, R_DENSE, R_TIEBAND, R_EVENTIES,
       R_NEARONE, R_COUNT };
static const char *regime_name(int g) {
  static const char *const extra[] = {"ties",      "huge",  "veryneg", "onefinite", "subnormal",
                                      "confident", "dense", "tieband", "eventies", "nearone"};
  return g < TU_NREGIMES ? tu_regime_name(g) : extra[g - TU_NREGIMES];
}
static void fill(tu_rng *r, int g, size_t n, float *x) {
  if (g < TU_NREGIMES) {
    tu_fill(r, g, n, x);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    switch (g) {
    case R_TIES: x[i] = (float)(tu_below(r, 3)) * 0.5f; break;
    case R_HUGE: x[i] = (float)(tu_uniform(r, -1.0, 1.0) * 1e30); break;
    case R_VERYNEG: x[i] = (float)(-tu_uniform(r, 1.0, 100.0) * 0x1p62); break;
    /* subnormal logits (a few distinct values: ties and maxima that DAZ would merge) among zeros */
    case R_SUBNORMAL: x[i] = (float)((double)tu_below(r, 7) * 0x1p-140 * (tu_below(r, 2) ? 1.0 : -1.0)); break;
    /* a confident row (make_inputs makes its max the target): one entry 0, about one in eight just above -1 (within
       2^-10: sparsemax's support ends among them, its loss near 0), the rest in [-40, -6] (exp of 2^-58..2^-9: the
       softmax's double sums round, and the order of their adds shows in the loss, log S, which no m - z_t hides) */
    case R_CONFIDENT: x[i] = tu_below(r, 8) ? (float)tu_uniform(r, -40.0, -6.0) : (float)(-1.0 + tu_uniform(r, 0.0, 0x1p-10)); break;
    /* 256 values 2^-14 apart, n / 256 entries at each: sparsemax's support is the top quarter (past ~4000 entries it
       takes the threshold over the whole row), each step holding ties of the max and other entries of the support */
    case R_DENSE: x[i] = (float)tu_below(r, 256) * 0x1p-14f; break;
    /* 24 ties of the max 0 (most in lanes of their own: sparsemax counts them where a quarter of its 64 lanes' maxima
       tie), one in 16 entries at -1/32 (in the support with so few ties: the count alone is not the threshold),
       the rest in [-3, -1] */
    case R_TIEBAND: x[i] = tu_below(r, 16) ? (float)tu_uniform(r, -3.0, -1.0) : -0x1p-5f; break;
    /* the max 1 at the even entries, -2 at the odd ones (sparsemax's support: the n / 2 ties, in half its index
       lanes, at moderate magnitudes, unlike the alternating +-1e30) */
    case R_EVENTIES: x[i] = (i & 1) ? -2.0f : 1.0f; break;
    /* one subnormal entry (set below), the rest 92..100 below -log n: the others' exp sum, the log l = log1p of it,
       between 2^-145 and 2^-132, and the max's log-softmax output m - (m + l) below FLT_MIN (the rule of
       smx_log_softmax_flush) */
    case R_NEARONE: x[i] = (float)(-tu_uniform(r, 92.0, 100.0) - log((double)n)); break;
    default: x[i] = -INFINITY; break;
    }
  }
  if (g == R_ONEFINITE) x[tu_below(r, n)] = (float)tu_normal(r);
  if (g == R_CONFIDENT) x[tu_below(r, n)] = 0.0f;
  if (g == R_NEARONE) x[tu_below(r, n)] = (float)(tu_below(r, 7) + 1) * 0x1p-140f;
  for (int j = 0; g == R_TIEBAND && j < 24; j++) x[tu_below(r, n)] = 0.0f;
}

#define K(k) (smx_kernel_list[k])
static int is_backward(int k) { return K(k).kind == SMX_KIND_BWD || K(k).kind == SMX_KIND_BWDX; }

/* One case: rows x n inputs (contiguous copies in x, dy), the same targets/options, run on the
   active ISA into canary-guarded outputs with the given layout. out gets rows*n (+ rows losses)
   floats, contiguous, for the comparison. Returns 0 if a canary was hit or the status failed. */
typedef struct {
  size_t rows, n, pad;
  int misalign, inplace, option_set;
  int mixed; /* row r in regime (g + r) % R_COUNT, not all rows in g */
} layout;

static int run(int k, const layout *L, const float *x, const float *dy, const int64_t *targets, const float *w,
               float *out) {
  const size_t rows = L->rows, n = L->n, ld = n + L->pad;
  const smx_kind kind = K(k).kind;
  tu_mat X, D, Y, LS, S;
  int ok = 1;
  long where;
  tu_mat_alloc(&X, rows, n, ld, L->misalign);
  tu_mat_alloc(&D, rows, n, ld + 3, !L->misalign);
  for (size_t r = 0; r < rows; r++) {
    memcpy(tu_row(&X, r), x + r * n, n * 4);
    memcpy(tu_row(&D, r), dy + r * n, n * 4);
  }
  int inplace = L->inplace && kind != SMX_KIND_LSE;
  if (!inplace) tu_mat_alloc(&Y, rows, n, ld + 1, !L->misalign);
  tu_mat_alloc(&LS, 1, rows, rows, L->misalign);
  /* in place: a backward kernel writes over dy, the others over x */
  tu_mat *y = inplace ? (is_backward(k) ? &D : &X) : &Y;
  smx_status s = SMX_OK;
  smx_call_args a = {rows, n, X.m, X.ld, NULL, 0, D.m, D.ld, kind == SMX_KIND_LSE ? LS.m : y->m, y->ld, targets,
                     NULL, LS.m, 1.0f};
  if (kind == SMX_KIND_BWDX) {
    /* x = the logits (X), y = their forward output computed here with the active ISA (the forward
       is compared on its own), dy = D */
    tu_mat_alloc(&S, rows, n, ld, 0);
    smx_call_args f = {rows, n, X.m, X.ld, NULL, 0, NULL, 0, S.m, S.ld, NULL, NULL, NULL, 0.0f};
    s = smx_call(K(k).forward, &f);
    a.y = S.m, a.ldy = S.ld;
  }
  smx_xent_options o;
  if (kind == SMX_KIND_XENT) {
    smx_xent_options_default(&o);
    o.reduction = SMX_REDUCE_NONE;
    int stablemax_or_sparse = k != SMX_K_xent_softmax;
    switch (L->option_set) {
    case 1: o.label_smoothing = 0.1f; break;
    case 2: o.class_weight = w; a.grad_scale = 0.5f; break;
    case 3: o.softcap = 20.0f; break;
    case 4: o.softcap = 2.5f; o.label_smoothing = 0.3f; o.class_weight = w; break;
    case 5: if (!stablemax_or_sparse) o.z_loss = 1e-3f; o.label_smoothing = 1.0f; break;
    case 7: o.label_smoothing = 0.2f; o.class_weight = w; break; /* uncapped: the lane and register groups */
    }
    a.opts = &o;
    if (L->option_set == 6) a.out = NULL; /* loss only */
  }
  if (s == SMX_OK) s = smx_call(k, &a);
  if (kind == SMX_KIND_BWDX) tu_mat_free(&S);
  if (kind == SMX_KIND_XENT && L->option_set == 6)
    for (size_t r = 0; r < rows; r++) memset(tu_row(y, r), 0, n * 4);
  if (s != SMX_OK) {
    cr_log_error("%s: status %d", K(k).name, (int)s);
    ok = 0;
  }
  if (!tu_mat_canaries_ok(&X, &where) || !tu_mat_canaries_ok(&D, &where) || !tu_mat_canaries_ok(&LS, &where) ||
      (!inplace && !tu_mat_canaries_ok(&Y, &where))) {
    cr_log_error("%s n=%zu ld=%zu misalign=%d inplace=%d: canary at %ld overwritten", K(k).name, n, ld,
                 L->misalign, inplace, where);
    ok = 0;
  }
  int has_rows = kind != SMX_KIND_LSE, has_loss = kind == SMX_KIND_LSE || kind == SMX_KIND_XENT;
  for (size_t r = 0; r < rows; r++) {
    if (has_rows) memcpy(out + r * n, tu_row(y, r), n * 4);
    else memset(out + r * n, 0, n * 4);
  }
  if (has_loss) memcpy(out + rows * n, LS.m, rows * 4);
  else memset(out + rows * n, 0, rows * 4);
  tu_mat_free(&X), tu_mat_free(&D), tu_mat_free(&LS);
  if (!inplace) tu_mat_free(&Y);
  return ok;
}

typedef struct {
  size_t cases, fails, printed;
} isa_stat;

/* Inputs of kernel k for regime g: logits, or for backward kernels the scalar forward output. */
static void make_inputs(int k, int g, int mixed, tu_rng *rng, size_t rows, size_t n, float *x, float *dy, int64_t *t,
                        float *w) {
  for (size_t r = 0; r < rows; r++) {
    const int gr = mixed ? (g + (int)r) % R_COUNT : r == 1 && rows > 2 ? TU_NARROW : g;
    fill(rng, gr, n, x + r * n);
    for (size_t i = 0; i < n; i++) dy[r * n + i] = (float)tu_normal(rng);
    t[r] = (int64_t)tu_below(rng, n);
    if (gr == R_CONFIDENT) /* the target is the max */
      for (size_t i = 0; i < n; i++) t[r] = x[r * n + i] == 0.0f ? (int64_t)i : t[r];
  }
  if (rows > 2) t[2] = -100; /* an ignored row */
  if (g == TU_NAN && n > 1) dy[tu_below(rng, n)] = NAN; /* a NaN upstream gradient too */
  if (g == R_SUBNORMAL) /* subnormal upstream gradients too */
    for (size_t i = 0; i < rows * n; i++) dy[i] = (float)((double)tu_below(rng, 9) * 0x1p-138) - 0x1p-136f;
  for (size_t j = 0; j < n; j++) w[j] = (float)tu_uniform(rng, 0.25, 2.0);
  smx_isa isa = smx_active_isa();
  smx_set_isa(SMX_ISA_SCALAR);
  float *tmp = malloc(rows * n * 4);
  if (K(k).kind == SMX_KIND_BWD) { /* y = the scalar forward output */
    smx_call_args f = {rows, n, x, n, NULL, 0, NULL, 0, tmp, n, NULL, NULL, NULL, 0.0f};
    smx_call(K(k).forward, &f);
    memcpy(x, tmp, rows * n * 4);
  }
  free(tmp);
  smx_set_isa(isa);
}

static void compare_case(isa_stat *st, smx_isa isa, int k, int g, const layout *L) {
  const size_t rows = L->rows, n = L->n, len = rows * n + rows;
  uint64_t seed = tu_case_seed(K(k).name, n * 131 + L->pad * 7 + (size_t)L->option_set + rows * 1000003, g);
  tu_rng rng;
  tu_rng_seed(&rng, seed);
  float *x = malloc(rows * n * 4), *dy = malloc(rows * n * 4), *w = malloc(n * 4);
  float *ref = malloc(len * 4), *got = malloc(len * 4);
  int64_t *t = malloc(rows * sizeof *t);
  make_inputs(k, g, L->mixed, &rng, rows, n, x, dy, t, w);
  smx_set_isa(SMX_ISA_SCALAR);
  int ok = run(k, L, x, dy, t, w, ref);
  smx_set_isa(isa);
  /* the ISA also under the caller's flush modes (FTZ + DAZ / FPCR.FZ), and rows longer than a block with their
     outputs streamed (smx_set_streaming_threshold(0): the long rows' streamed output passes): the bits must not move */
  const int streamed = n > 1024;
  const size_t stream_min = smx_get_streaming_threshold();
  for (int pass = 0; pass < 2 + streamed; pass++) {
    const int ftz = pass == 1;
    const unsigned long saved = tu_fp_flush(ftz);
    if (pass == 2) smx_set_streaming_threshold(0);
    ok &= run(k, L, x, dy, t, w, got);
    if (pass == 2) smx_set_streaming_threshold(stream_min);
    tu_fp_restore(saved);
    size_t first = 0;
    if (tu_bits_equal(got, ref, len, &first)) continue;
    ok = 0;
    if (st->printed++ < 12)
      cr_log_error("%s on %s differs from scalar: n=%zu rows=%zu regime=%s pad=%zu misalign=%d inplace=%d options=%d "
                   "%sat %s[%zu]: %a (0x%08x) vs scalar %a (0x%08x); seed 0x%llx",
                   K(k).name, smx_isa_name(isa), n, rows, regime_name(g), L->pad, L->misalign, L->inplace,
                   L->option_set, ftz ? "under FTZ+DAZ " : pass == 2 ? "streamed " : "", first >= rows * n ? "loss" : "y",
                   first >= rows * n ? first - rows * n : first, (double)got[first], tu_bits(got[first]),
                   (double)ref[first], tu_bits(ref[first]), (unsigned long long)seed);
    break;
  }
  st->cases++;
  st->fails += !ok;
  free(x), free(dy), free(w), free(ref), free(got), free(t);
}

/* Every supported ISA, scalar included (scalar against itself under the caller's flush modes). */
static int n_isas(smx_isa *list) {
  int c = 0;
  for (int i = 0; i < SMX_ISA_COUNT; i++)
    if (smx_isa_supported((smx_isa)i)) list[c++] = (smx_isa)i;
  return c;
}

static int option_sets(int k) { return K(k).kind == SMX_KIND_XENT ? 8 : 1; }

static void sweep(int k) {
  const uint64_t seed = tu_seed_random(K(k).name);
  smx_isa isas[SMX_ISA_COUNT];
  int ni = n_isas(isas);
  const smx_isa saved = smx_active_isa();
  if (ni == 0) {
    fprintf(stderr, "[simdmax] %-22s only the scalar ISA is supported here: nothing to compare\n", K(k).name);
    return;
  }
  const int q = tu_quick();
  for (int ii = 0; ii < ni; ii++) {
    isa_stat st = {0, 0, 0};
    /* every size 1..(q ? 70 : 140) and the layout sizes, all regimes, one row, rotating layouts */
    size_t nmax = q ? 70 : 140;
    for (size_t n = 1; n <= nmax + tu_layout_nsizes; n++) {
      size_t nn = n <= nmax ? n : tu_layout_sizes[n - nmax - 1];
      for (int g = 0; g < R_COUNT; g++) {
        layout L = {1 + (nn + (size_t)g) % 3, nn, (size_t)((nn + (size_t)g) % 4 == 0 ? 0 : (nn * 7 + (size_t)g) % 17),
                    (int)((nn + (size_t)g) & 1), (int)(((nn >> 1) + (size_t)g) & 1), (int)((nn + (size_t)g) % (size_t)option_sets(k)), 0};
        compare_case(&st, isas[ii], k, g, &L);
      }
    }
    /* every option set on a few sizes */
    for (int o = 1; o < option_sets(k); o++)
      for (size_t nn = 1; nn <= 70; nn += 23)
        for (int g = 0; g < R_COUNT; g++) {
          layout L = {3, nn * 17 + 3, 5, o & 1, (o >> 1) & 1, o, 0};
          compare_case(&st, isas[ii], k, g, &L);
        }
    /* many rows of one block, each in its own regime: the kernels' groups of rows (8 at a time) with special
       rows among ordinary ones, partial last groups, every option set; and 40 rows of one regime (row 1 narrow,
       row 2 ignored), whose later groups are all ordinary rows: the cross-entropies' plain groups */
    static const size_t many[] = {9, 17, 33, 40}, ns[] = {1, 2, 7, 8, 15, 16, 17, 33, 64, 100, 200, 256, 1024, 1025};
    for (size_t m = 0; m < sizeof many / sizeof many[0]; m++)
      for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
        for (int g = 0; g < R_COUNT; g += q ? 3 : 1) {
          const size_t v = m + j + (size_t)g;
          layout L = {many[m], ns[j], v % 3 == 0 ? 0 : v % 5, (int)(v & 1), (int)((v >> 1) & 1),
                      (int)(v % (size_t)option_sets(k)), many[m] != 40};
          compare_case(&st, isas[ii], k, g, &L);
        }
    /* large sizes: powers of two +-1, 32000, 128256, 2^20 + 3 */
    static const size_t big[] = {8191, 8192, 8193, 32000, 65537, 128256, ((size_t)1 << 20) + 3};
    for (size_t b = 0; b < sizeof big / sizeof big[0]; b++) {
      if (q && big[b] > 70000) continue;
      for (int g = 0; g < R_COUNT; g++) {
        if (big[b] > 200000 && g != TU_NARROW && g != TU_WIDE && g != TU_NEGINF) continue;
        layout L = {1, big[b], b & 1 ? 3 : 0, (int)(b & 1), (int)((b >> 1) & 1), (int)(b % (size_t)option_sets(k)), 0};
        compare_case(&st, isas[ii], k, g, &L);
      }
    }
    fprintf(stderr, "[simdmax] %-22s %-7s vs scalar: %zu cases, %zu differ%s\n", K(k).name, smx_isa_name(isas[ii]),
            st.cases, st.fails, st.fails ? "  FAILED" : "");
    cr_expect(st.fails == 0, "%s on %s: %zu of %zu cases differ from scalar (or hit a canary); seed 0x%llx", K(k).name,
              smx_isa_name(isas[ii]), st.fails, st.cases, (unsigned long long)seed);
  }
  smx_set_isa(saved);
}

/* The cross-entropies' row losses in double, as each kernel returns them to the dispatcher (which adds them for the
   mean and the sum), on every ISA bit for bit against scalar: the float losses show a difference in a double sum
   (the Fenchel-Young sum, the loss terms) only where it moves their rounding. Many rows (lane and register groups,
   partial groups), rows of every regime, three option sets (plain; label smoothing with class weights, and z-loss for
   softmax; softcap). */
static smx_XENT_fn *xent_kernel(const smx_kernels *t, int k) {
  return k == SMX_K_xent_softmax ? t->xent_softmax : k == SMX_K_xent_stablemax ? t->xent_stablemax : t->xent_sparsemax;
}
Test(isa, xent_row_losses) {
  static const size_t ns[] = {1, 3, 8, 13, 16, 17, 31, 32, 33, 40, 41, 64, 65, 100, 128, 200, 256, 1000, 4097};
  enum { ROWS = 37 };
  smx_isa isas[SMX_ISA_COUNT];
  const int ni = n_isas(isas);
  const smx_kernels *ref = smx_kernels_for(SMX_ISA_SCALAR);
  const int q = tu_quick(); /* every third regime, n <= 1000 */
  size_t cases = 0, fails = 0;
  for (int k = 0; k < SMX_K_COUNT; k++) {
    if (K(k).kind != SMX_KIND_XENT) continue;
    for (size_t j = 0; j < sizeof ns / sizeof ns[0] - (size_t)q; j++)
      for (int g = 0; g < R_COUNT; g += q ? 3 : 1)
        for (int v = 0; v < 4; v++) {
          const size_t n = ns[j];
          const int o = v % 3; /* v = 3: the plain set on rows of one regime (the plain groups) */
          tu_rng rng;
          tu_rng_seed(&rng, tu_case_seed(K(k).name, n * 7 + (size_t)v, g));
          float *x = malloc(ROWS * n * 4), *dy = malloc(ROWS * n * 4), *w = malloc(n * 4), *dx = malloc(ROWS * n * 4);
          int64_t t[ROWS];
          double lr_ref[ROWS], lr[ROWS];
          make_inputs(k, g, v < 3, &rng, ROWS, n, x, dy, t, w);
          double wsum = 0.0;
          for (size_t i = 0; i < n; i++) wsum += w[i];
          const double z_loss = o == 1 && k == SMX_K_xent_softmax ? 1e-3 : 0.0;
          smx_xent_args a = {t, 0, -100, {0, o == 1 ? 0.1f : 0.0f, z_loss, o == 2 ? 20.0f : 0.0f, o == 1 ? w : NULL,
                                          o == 1 ? wsum : (double)n, 0.25}, NULL, 0, lr_ref};
          const double total_ref = xent_kernel(ref, k)(ROWS, n, x, n, &a, NULL, dx, n);
          double in_order = 0.0; /* the total the public call reports: the row losses added in row order from 0 */
          for (int r = 0; r < ROWS; r++) in_order += lr_ref[r];
          if (memcmp(&in_order, &total_ref, sizeof in_order) && fails++ < 8)
            cr_log_error("%s on scalar: the total is not the row losses added in row order: n=%zu", K(k).name, n);
          for (int ii = 0; ii < ni; ii++) {
            a.row_loss = NULL; /* (the public call's single-thread form: the total alone) */
            const double alone = xent_kernel(smx_kernels_for(isas[ii]), k)(ROWS, n, x, n, &a, NULL, dx, n);
            a.row_loss = lr;
            const double total = xent_kernel(smx_kernels_for(isas[ii]), k)(ROWS, n, x, n, &a, NULL, dx, n);
            cases++;
            if (!memcmp(lr, lr_ref, sizeof lr) && !memcmp(&total, &total_ref, sizeof total) &&
                !memcmp(&alone, &total_ref, sizeof alone))
              continue;
            if (fails++ < 8)
              cr_log_error("%s on %s: a row loss or the total differs from scalar: n=%zu regime=%s options=%d%s", K(k).name,
                           smx_isa_name(isas[ii]), n, regime_name(g), o, v == 3 ? " (rows of one regime)" : "");
          }
          free(x), free(dy), free(w), free(dx);
        }
  }
  fprintf(stderr, "[simdmax] cross-entropy row losses in double vs scalar: %zu cases, %zu differ%s\n", cases, fails,
          fails ? "  FAILED" : "");
  cr_expect(fails == 0, "%zu of %zu cases: a row loss in double differs from scalar", fails, cases);
}

/* one test per kernel of SMX_KERNELS */
#define SMX_ISA_TEST_(name, kind, forward) \
  Test(isa, name) { sweep(SMX_K_##name); }
SMX_KERNELS(SMX_ISA_TEST_)

/* The active ISA is the best supported one unless SMX_ISA forces another; smx_set_isa refuses
   what this CPU lacks. */
Test(isa, selection) {
  for (int i = 0; i < 4; i++) {
    smx_status s = smx_set_isa((smx_isa)i);
    cr_expect_eq(s == SMX_OK, smx_isa_supported((smx_isa)i) != 0, "smx_set_isa(%s) = %d", smx_isa_name((smx_isa)i), (int)s);
    if (s == SMX_OK) cr_expect_eq(smx_active_isa(), (smx_isa)i);
  }
  cr_expect_eq(smx_set_isa((smx_isa)7), SMX_ERR_ISA);
  cr_expect_str_eq(smx_isa_name((smx_isa)7), "unknown");
  cr_expect(smx_isa_supported(SMX_ISA_SCALAR));
  fprintf(stderr, "[simdmax] supported ISAs:%s%s%s%s\n", smx_isa_supported(SMX_ISA_SCALAR) ? " scalar" : "",
          smx_isa_supported(SMX_ISA_AVX2) ? " avx2" : "", smx_isa_supported(SMX_ISA_AVX512) ? " avx512" : "",
          smx_isa_supported(SMX_ISA_NEON) ? " neon" : "");
}
