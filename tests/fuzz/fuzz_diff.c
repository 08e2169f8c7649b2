/* libFuzzer target: every kernel of the registry on fuzzed shapes, layouts, options and float bits (the
   cross-entropies also against probability targets, q the fuzzed dy: smx_cross_entropy_soft_f32), every ISA
   this CPU has against scalar by memcmp (also under FTZ+DAZ, and with rounding toward +inf), canaries around every
   row, and for invalid arguments an error with nothing written. Any difference or hit canary aborts (libFuzzer
   saves the input).
   tests/fuzz/replay.c runs it over the corpus without libFuzzer (ctest's fuzz_corpus, also on AArch64). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpmode.h"
#include "kernel_list.h"

#define CANARY 0x7fbadbadu /* a signalling NaN no kernel writes */
#define MAXN 300
#define MAXROWS 4
#define PAD 8

/* The fuzz input, consumed byte by byte (zeros once it runs out). */
typedef struct {
  const uint8_t *p;
  size_t n;
} src;
static unsigned u8(src *s) { return s->n ? (s->n--, *s->p++) : 0u; }
static uint32_t u32(src *s) { return u8(s) | u8(s) << 8 | u8(s) << 16 | (uint32_t)u8(s) << 24; }
/* A float: raw bits (any NaN, inf, subnormal, -0) or a value in a regime the kernels care about. */
static float value(src *s) {
  const unsigned kind = u8(s) % 8;
  const uint32_t b = u32(s);
  float f;
  switch (kind) {
  case 0: memcpy(&f, &b, 4); return f;
  case 1: return (float)((int32_t)b % 2000) * 0.05f;         /* narrow */
  case 2: return (float)((int32_t)b % 200000) * 0.001f;      /* wide, up to +-200 */
  case 3: return (float)(b % 4) * 0.5f;                      /* ties */
  case 4: return (float)((int32_t)b % 1000) * 0x1p-140f;     /* subnormal */
  case 5: return (b & 1) ? -INFINITY : (float)((int32_t)b % 100);
  case 6: return (float)((int32_t)b % 1000) + 65536.0f;      /* beyond the shifted range */
  default: return (float)((int32_t)b % 64) - 30.0f;
  }
}

typedef struct {
  float *base, *m; /* base: whole allocation with canaries; m: the matrix start */
  size_t rows, n, ld, total;
} mat;
static void mat_init(mat *a, size_t rows, size_t n, size_t ld, size_t off) {
  a->rows = rows, a->n = n, a->ld = ld, a->total = off + rows * ld + PAD;
  a->base = malloc(a->total * 4);
  for (size_t i = 0; i < a->total; i++) memcpy(&a->base[i], &(uint32_t){CANARY}, 4);
  a->m = a->base + off;
}
/* 1 when every float outside the rows' [0, n) still holds the canary */
static int canaries_ok(const mat *a) {
  for (size_t i = 0; i < a->total; i++) {
    size_t o = (size_t)(&a->base[i] - a->m);
    int inside = &a->base[i] >= a->m && o / a->ld < a->rows && o % a->ld < a->n;
    uint32_t u;
    memcpy(&u, &a->base[i], 4);
    if (!inside && u != CANARY) return 0;
  }
  return 1;
}
static int untouched(const mat *a) {
  for (size_t i = 0; i < a->total; i++) {
    uint32_t u;
    memcpy(&u, &a->base[i], 4);
    if (u != CANARY) return 0;
  }
  return 1;
}
static void gather(const mat *a, float *out) {
  for (size_t r = 0; r < a->rows; r++) memcpy(out + r * a->n, a->m + r * a->ld, a->n * 4);
}

typedef struct {
  int k, inplace, bad, soft;
  size_t rows, n, ld, off;
  smx_xent_options o;
  float grad_scale;
} plan;

/* Runs the plan on the active ISA; out gets rows * n outputs + rows losses. Aborts on a canary hit. */
static smx_status run(const plan *P, const float *x, const float *dy, const float *w, const int64_t *t, float *out) {
  const smx_kernel_info *K = &smx_kernel_list[P->k];
  const size_t rows = P->rows, n = P->n;
  mat X, D, Y, L, F;
  mat_init(&X, rows, n, P->ld, P->off);
  mat_init(&D, rows, n, P->ld + 1, 1);
  mat_init(&Y, rows, n, P->ld + 2, P->off ^ 1);
  mat_init(&L, 1, rows, rows, 0);
  mat_init(&F, rows, n, n, 0);
  for (size_t r = 0; r < rows; r++) {
    memcpy(X.m + r * X.ld, x + r * n, n * 4);
    memcpy(D.m + r * D.ld, dy + r * n, n * 4);
  }
  const int bwd = K->kind == SMX_KIND_BWD || K->kind == SMX_KIND_BWDX;
  mat *y = P->inplace && K->kind != SMX_KIND_LSE ? (bwd ? &D : &X) : &Y;
  smx_xent_options o = P->o;
  o.class_weight = P->o.class_weight ? w : NULL;
  smx_call_args a = {rows, n, X.m, X.ld, NULL, 0, D.m, D.ld, K->kind == SMX_KIND_LSE ? L.m : y->m, y->ld, t, &o,
                     L.m, P->grad_scale};
  if (K->forward != SMX_K_none) { /* the forward output, on this ISA */
    smx_call_args f = {rows, n, X.m, X.ld, NULL, 0, NULL, 0, F.m, F.ld, NULL, NULL, NULL, 0.0f};
    if (smx_call(K->forward, &f) != SMX_OK) abort();
    if (K->kind == SMX_KIND_BWD) a.x = F.m, a.ldx = F.ld;
    else a.y = F.m, a.ldy = F.ld;
  }
  if (P->bad == 1) a.ldo = n - 1; /* invalid arguments: nothing may be written */
  if (P->bad == 2 && n > 1) a.out = (float *)(uintptr_t)(a.x + 1), a.ldo = a.ldx; /* partial overlap with an input */
  if (P->bad == 3) a.targets = NULL;
  if (K->kind == SMX_KIND_XENT) o.normalizer = smx_kernel_normalizer(P->k);
  const smx_xent_options o_before = o;
  /* the gradient over the options struct itself (an input): a direct call, smx_call copies the options */
  const float *q = P->bad == 3 ? NULL : D.m; /* probability targets */
  smx_status s;
  if (P->bad == 4 && K->kind == SMX_KIND_XENT)
    s = P->soft ? smx_cross_entropy_soft_f32(rows, n, X.m, X.ld, q, D.ld, &o, L.m, (float *)(void *)&o, n, P->grad_scale)
                : smx_cross_entropy_f32(rows, n, X.m, X.ld, t, &o, L.m, (float *)(void *)&o, n, P->grad_scale);
  else if (P->soft)
    s = smx_cross_entropy_soft_f32(rows, n, a.x, a.ldx, q, D.ld, &o, L.m, a.out, a.ldo, P->grad_scale);
  else
    s = smx_call(P->k, &a);
  if (!canaries_ok(&X) || !canaries_ok(&D) || !canaries_ok(&Y) || !canaries_ok(&L)) {
    fprintf(stderr, "fuzz: %s wrote outside its rows\n", K->name);
    abort();
  }
  if (s != SMX_OK) { /* nothing written: outputs untouched, inputs (and the options) unchanged */
    int same = untouched(&Y) && untouched(&L) && !memcmp(&o, &o_before, sizeof o);
    for (size_t r = 0; r < rows && same; r++)
      same = !memcmp(X.m + r * X.ld, x + r * n, n * 4) && !memcmp(D.m + r * D.ld, dy + r * n, n * 4);
    if (!same) {
      fprintf(stderr, "fuzz: %s returned %d but wrote something\n", K->name, (int)s);
      abort();
    }
  }
  memset(out, 0, (rows * n + rows) * 4);
  if (s == SMX_OK) {
    if (K->kind != SMX_KIND_LSE) gather(y, out);
    if (K->kind == SMX_KIND_LSE || K->kind == SMX_KIND_XENT) memcpy(out + rows * n, L.m, rows * 4);
  }
  free(X.base), free(D.base), free(Y.base), free(L.base), free(F.base);
  return s;
}

#ifdef SMX_FUZZ_REPLAY
void fuzz_replay_observe(const float *out, size_t count, smx_status status); /* replay.c: the cross-CPU digest */
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  src s = {data, size};
  plan P;
  memset(&P, 0, sizeof P);
  P.k = (int)(u8(&s) % SMX_K_COUNT);
  P.rows = 1 + u8(&s) % MAXROWS;
  P.n = 1 + (u8(&s) | u8(&s) << 8) % MAXN;
  P.ld = P.n + u8(&s) % 5;
  P.off = u8(&s) % 3;
  const unsigned flags = u8(&s);
  P.inplace = flags & 1;
  P.bad = flags & 0x80 ? 1 + (flags >> 1) % 4 : 0;
  smx_xent_options_default(&P.o);
  P.o.reduction = (smx_reduction)(u8(&s) % 3);
  const unsigned opt = u8(&s);
  if (opt & 1) P.o.label_smoothing = (float)(u8(&s) % 11) * 0.1f;
  if (opt & 2) P.o.class_weight = (const float *)1; /* replaced by w in run */
  if (opt & 4) P.o.softcap = (float)(1 + u8(&s) % 40) * 0.5f;
  if (opt & 8 && smx_kernel_list[P.k].kind == SMX_KIND_XENT && P.k == SMX_K_xent_softmax) P.o.z_loss = 1e-3f;
  if (opt & 16) P.o.ignore_index = 0;
  P.grad_scale = opt & 32 ? 0.5f : 1.0f;
  const size_t len = P.rows * P.n;
  float *x = malloc(len * 4), *dy = malloc(len * 4), *w = malloc(P.n * 4);
  int64_t t[MAXROWS];
  for (size_t i = 0; i < len; i++) x[i] = value(&s);
  for (size_t i = 0; i < len; i++) dy[i] = value(&s);
  for (size_t j = 0; j < P.n; j++) w[j] = (float)(u8(&s) % 9) * 0.25f;
  for (size_t r = 0; r < P.rows; r++) t[r] = (int64_t)(u8(&s) % P.n);
  P.soft = smx_kernel_list[P.k].kind == SMX_KIND_XENT && (u8(&s) & 1); /* (a byte past the older inputs' ends) */

  float *ref = malloc((len + P.rows) * 4), *got = malloc((len + P.rows) * 4);
  smx_set_isa(SMX_ISA_SCALAR);
  const smx_status s0 = run(&P, x, dy, w, t, ref);
#ifdef SMX_FUZZ_REPLAY
  fuzz_replay_observe(ref, len + P.rows, s0);
#endif
  for (int isa = 0; isa < SMX_ISA_COUNT; isa++) {
    if (smx_set_isa((smx_isa)isa) != SMX_OK) continue;
    for (int ftz = 0; ftz < 3; ftz++) { /* 1: FTZ+DAZ, 2: also rounding toward +inf */
      const unsigned long saved = fpmode_flush(ftz);
      const smx_status s1 = run(&P, x, dy, w, t, got);
      fpmode_restore(saved);
      if (s1 != s0 || memcmp(ref, got, (len + P.rows) * 4) != 0) {
        size_t i = 0;
        while (i < len + P.rows && !memcmp(ref + i, got + i, 4)) i++;
        fprintf(stderr, "fuzz: %s%s on %s%s differs from scalar (status %d vs %d) at %zu: %a vs %a\n",
                smx_kernel_list[P.k].name, P.soft ? " (probability targets)" : "", smx_isa_name((smx_isa)isa),
                ftz == 2 ? " under FTZ+DAZ rounding up" : ftz ? " under FTZ+DAZ" : "", (int)s1, (int)s0,
                i, i < len + P.rows ? (double)got[i] : 0.0, i < len + P.rows ? (double)ref[i] : 0.0);
        abort();
      }
    }
  }
  free(x), free(dy), free(w), free(ref), free(got);
  return 0;
}
