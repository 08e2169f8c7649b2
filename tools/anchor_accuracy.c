/* smx-validate --anchors: XNNPACK, oneDNN, SLEEF 3-pass and naive libm softmax on the corpus, measured like ours. */
#include "anchor_accuracy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "simdmax.h"

#ifdef SMX_VALIDATE_ANCHORS
#include "anchors.h" /* bench/: the same anchor code smx-bench times (library smx_anchors) */
#endif

#define NOT_BUILT "smx-bench's anchors were not built (SMX_BUILD_BENCH=OFF or cross-compiling)"

double aa_max_ulp(size_t len, const float *y, const double *ref, const double *scale, const unsigned char *skip,
                  size_t *worst, size_t *ninf) {
  double m = 0.0;
  size_t w = 0, inf = 0;
  for (size_t i = 0; i < len; i++) {
    if (skip && skip[i]) continue;
    double u = oracle_ulp_scaled(y[i], ref[i], scale ? scale[i] : 0.0);
    if (isnan(u) || isinf(u)) u = INFINITY, inf++;
    if (u > m) m = u, w = i;
  }
  if (worst) *worst = w;
  if (ninf) *ninf = inf;
  return m;
}

/* Textbook softmax in float only: max, expf(x - max), the sum in order, a division per element. */
static void naive_softmax(size_t rows, size_t n, const float *x, float *y) {
  for (size_t r = 0; r < rows; r++, x += n, y += n) {
    float m = -INFINITY, s = 0.0f;
    for (size_t i = 0; i < n; i++)
      if (x[i] > m) m = x[i];
    for (size_t i = 0; i < n; i++) s += y[i] = expf(x[i] - m);
    for (size_t i = 0; i < n; i++) y[i] /= s;
  }
}

enum { A_OURS, A_XNNPACK, A_ONEDNN, A_SLEEF, A_NAIVE, A_COUNT };
enum { MAX_SIZES = 16 };
static const char *const aname[A_COUNT] = {"simdmax", "xnnpack", "onednn", "sleef-3pass", "naive-libm"};

static struct {
  char detail[96]; /* what ran ("" when skipped) */
  const char *why; /* why it was skipped (NULL: it runs) */
  const char *error; /* the first run-time failure */
  int ran[MAX_SIZES][CP_NREGIMES];
  double ulp[MAX_SIZES][CP_NREGIMES];
  size_t ninf[MAX_SIZES][CP_NREGIMES];
  struct { double ulp, ref; float y; size_t n, row, col; int regime; } worst; /* the largest finite error */
} A[A_COUNT];
static size_t aa_nsizes;
static size_t aa_sizes[MAX_SIZES];
#ifdef SMX_BENCH_HAVE_SLEEF
static int sleef_isa; /* 512 or 2 */
#endif

void aa_init(size_t nsizes, const size_t *sizes) {
  aa_nsizes = nsizes < MAX_SIZES ? nsizes : MAX_SIZES;
  memcpy(aa_sizes, sizes, aa_nsizes * sizeof *sizes);
  snprintf(A[A_OURS].detail, sizeof A[A_OURS].detail, "simdmax %s softmax (every ISA: bit-identical)", smx_version());
  snprintf(A[A_NAIVE].detail, sizeof A[A_NAIVE].detail, "float only: expf(x - max) / sum, sum in order");
#ifdef SMX_VALIDATE_ANCHORS
#ifdef SMX_BENCH_HAVE_XNNPACK
  snprintf(A[A_XNNPACK].detail, sizeof A[A_XNNPACK].detail, "XNNPACK softmax_nc_f32, single-threaded");
#else
  A[A_XNNPACK].why = SMX_BENCH_WHY_XNNPACK;
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
  const char *why = NULL;
  anchor_dnnl *d = anchor_dnnl_create(1, 64, &why); /* to name the implementation oneDNN chooses */
  if (d) {
    snprintf(A[A_ONEDNN].detail, sizeof A[A_ONEDNN].detail, "oneDNN %s softmax accurate, %s", anchor_dnnl_version(),
             anchor_dnnl_impl(d));
    anchor_dnnl_destroy(d);
  } else {
    A[A_ONEDNN].why = why;
  }
#else
  A[A_ONEDNN].why = SMX_BENCH_WHY_ONEDNN;
#endif
#ifdef SMX_BENCH_HAVE_SLEEF
  sleef_isa = anchor_sleef_avx512_ok() ? 512 : anchor_sleef_avx2_ok() ? 2 : 0;
  if (sleef_isa)
    snprintf(A[A_SLEEF].detail, sizeof A[A_SLEEF].detail, "max, Sleef_expf_u10 %s + sum, scale by 1/sum",
             sleef_isa == 512 ? "avx512" : "avx2");
  else
    A[A_SLEEF].why = "this CPU has no AVX2+FMA";
#else
  A[A_SLEEF].why = SMX_BENCH_WHY_SLEEF;
#endif
#else
  A[A_XNNPACK].why = A[A_ONEDNN].why = A[A_SLEEF].why = NOT_BUILT;
#endif
}

/* Run anchor a on the case into y; 0 on success (else *err says why). */
static int run_anchor(int a, const cp_case *c, float *y, const char **err) {
  size_t R = c->rows, n = c->n;
  switch (a) {
  case A_NAIVE: naive_softmax(R, n, c->x, y); return 0;
#ifdef SMX_BENCH_HAVE_XNNPACK
  case A_XNNPACK: {
    anchor_xnn *x = anchor_xnn_create(n, err);
    if (!x) return -1;
    int st = anchor_xnn_run(x, R, c->x, y);
    anchor_xnn_destroy(x);
    if (st) *err = "xnn_setup/run failed";
    return st;
  }
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
  case A_ONEDNN: {
    anchor_dnnl *d = anchor_dnnl_create(R, n, err);
    if (!d) return -1;
    int st = anchor_dnnl_run(d, c->x, y);
    anchor_dnnl_destroy(d);
    if (st) *err = "dnnl_primitive_execute failed";
    return st;
  }
#endif
#ifdef SMX_BENCH_HAVE_SLEEF
  case A_SLEEF:
    if (sleef_isa == 512) anchor_sleef_softmax_avx512(R, n, c->x, y);
    else anchor_sleef_softmax_avx2(R, n, c->x, y);
    return 0;
#endif
  default: *err = "not built"; return -1;
  }
}

void aa_case(const cp_case *c, size_t si, const float *ours, const double *ref, const double *scale,
             const unsigned char *skip) {
  size_t len = c->rows * c->n;
  if (si >= aa_nsizes) return;
  float *y = malloc(len * sizeof *y);
  for (int a = 0; a < A_COUNT; a++) {
    if (A[a].why) continue;
    const float *out = ours;
    if (a != A_OURS) {
      const char *err = NULL;
      for (size_t i = 0; i < len && y; i++) y[i] = -12345.0f;
      if (!y || run_anchor(a, c, y, &err)) {
        if (!A[a].error) A[a].error = y ? err : "out of memory";
        continue;
      }
      out = y;
    }
    size_t w;
    double u = aa_max_ulp(len, out, ref, scale, skip, &w, &A[a].ninf[si][c->regime]);
    A[a].ulp[si][c->regime] = u;
    if (isfinite(u) && u > A[a].worst.ulp)
      A[a].worst.ulp = u, A[a].worst.ref = ref[w], A[a].worst.y = out[w], A[a].worst.n = c->n,
      A[a].worst.row = w / c->n, A[a].worst.col = w % c->n, A[a].worst.regime = c->regime;
    A[a].ran[si][c->regime] = 1;
  }
  free(y);
}

/* Max over the sizes (regime r >= 0) or over everything (r < 0); -1 when nothing ran. */
static double agg(int a, int r, size_t *ninf) {
  double m = -1.0;
  *ninf = 0;
  for (size_t s = 0; s < aa_nsizes; s++)
    for (int q = 0; q < CP_NREGIMES; q++)
      if ((r < 0 || q == r) && A[a].ran[s][q]) {
        if (A[a].ulp[s][q] > m) m = A[a].ulp[s][q];
        *ninf += A[a].ninf[s][q];
      }
  return m;
}

static void cell(FILE *f, double v) {
  if (v < 0) fprintf(f, " %12s", "-");
  else if (isinf(v)) fprintf(f, " %12s", "inf");
  else fprintf(f, " %12.3f", v);
}

void aa_print_text(FILE *f) {
  fprintf(f, "anchors: softmax, max ulp against the same oracle and metric (rel) as ours, same corpus\n");
  for (int a = 0; a < A_COUNT; a++) {
    fprintf(f, "  %-12s ", aname[a]);
    if (A[a].why) fprintf(f, "skipped: %s\n", A[a].why);
    else if (A[a].error) fprintf(f, "%s; ERROR in some cases: %s\n", A[a].detail, A[a].error);
    else fprintf(f, "%s\n", A[a].detail);
  }
  fprintf(f, "\n%-8s %-8s", "n", "regime");
  for (int a = 0; a < A_COUNT; a++) fprintf(f, " %12s", aname[a]);
  fprintf(f, "\n");
  size_t ninf;
  for (int r = -1; r < CP_NREGIMES; r++) {
    fprintf(f, "%-8s %-8s", "all", r < 0 ? "all" : cp_regime_name(r));
    for (int a = 0; a < A_COUNT; a++) cell(f, agg(a, r, &ninf));
    fprintf(f, "\n");
  }
  for (size_t s = 0; s < aa_nsizes; s++)
    for (int r = 0; r < CP_NREGIMES; r++) {
      int any = 0;
      for (int a = 0; a < A_COUNT; a++) any |= A[a].ran[s][r];
      if (!any) continue;
      fprintf(f, "%-8zu %-8s", aa_sizes[s], cp_regime_name(r));
      for (int a = 0; a < A_COUNT; a++) cell(f, A[a].ran[s][r] ? A[a].ulp[s][r] : -1.0);
      fprintf(f, "\n");
    }
  for (int a = 0; a < A_COUNT; a++)
    if (A[a].worst.ulp > 0)
      fprintf(f, "worst finite: %-12s %.3f ulp at n=%zu %s y[%zu][%zu] = %.9g, oracle %.9g\n", aname[a], A[a].worst.ulp,
              A[a].worst.n, cp_regime_name(A[a].worst.regime), A[a].worst.row, A[a].worst.col, (double)A[a].worst.y,
              A[a].worst.ref);
  for (int a = 0; a < A_COUNT; a++) {
    agg(a, -1, &ninf);
    if (!ninf) continue;
    fprintf(f, "inf: %s has %zu outputs with an infinite error (NaN or inf where the oracle is finite, or the"
               " reverse) in:", aname[a], ninf);
    for (int r = 0; r < CP_NREGIMES; r++)
      if (agg(a, r, &ninf), ninf) fprintf(f, " %s (%zu)", cp_regime_name(r), ninf);
    fprintf(f, "\n");
  }
}

static void jnum(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

void aa_print_json(FILE *f) {
  fprintf(f, "{\"kernel\": \"softmax\", \"metric\": \"rel\", \"null_ulp\": \"an infinite error (see inf_outputs)\",\n"
             "    \"implementations\": [");
  for (int a = 0; a < A_COUNT; a++) {
    fprintf(f, "%s\n      {\"name\": \"%s\", ", a ? "," : "", aname[a]);
    if (A[a].why) {
      fprintf(f, "\"status\": \"skipped\", \"why\": \"%s\"}", A[a].why);
      continue;
    }
    size_t ninf;
    fprintf(f, "\"status\": \"%s\", \"detail\": \"%s\", ", A[a].error ? "error" : "ok", A[a].detail);
    if (A[a].error) fprintf(f, "\"error\": \"%s\", ", A[a].error);
    fprintf(f, "\"max_ulp\": ");
    jnum(f, agg(a, -1, &ninf));
    fprintf(f, ", \"inf_outputs\": %zu, \"worst_finite\": {\"ulp\": ", ninf);
    jnum(f, A[a].worst.ulp);
    fprintf(f, ", \"n\": %zu, \"regime\": \"%s\", \"row\": %zu, \"col\": %zu, \"y\": ", A[a].worst.n,
            cp_regime_name(A[a].worst.regime), A[a].worst.row, A[a].worst.col);
    jnum(f, A[a].worst.y);
    fprintf(f, ", \"oracle\": ");
    jnum(f, A[a].worst.ref);
    fprintf(f, "}, \"regimes\": {");
    for (int r = 0, first = 1; r < CP_NREGIMES; r++) {
      double v = agg(a, r, &ninf);
      if (v < 0) continue;
      fprintf(f, "%s\"%s\": ", first ? "" : ", ", cp_regime_name(r));
      jnum(f, v);
      first = 0;
    }
    fprintf(f, "},\n       \"cases\": [");
    for (size_t s = 0, first = 1; s < aa_nsizes; s++)
      for (int r = 0; r < CP_NREGIMES; r++) {
        if (!A[a].ran[s][r]) continue;
        fprintf(f, "%s{\"n\": %zu, \"regime\": \"%s\", \"max_ulp\": ", first ? "" : ", ", aa_sizes[s], cp_regime_name(r));
        jnum(f, A[a].ulp[s][r]);
        fprintf(f, ", \"inf_outputs\": %zu}", A[a].ninf[s][r]);
        first = 0;
      }
    fprintf(f, "]}");
  }
  fprintf(f, "\n    ]}");
}
