/* smx-validate: the numerics report of simdmax on this CPU.

   For every public kernel and every ISA this CPU supports:
     - bitwise equality with the scalar ISA (the library's contract; exit code 1 if any differs),
     - the max error in ulp against the double-precision oracle (tests/oracle) over a fixed
       seeded corpus, and where it occurs,
     - a SHA-256 digest of all output bytes (floats as little-endian IEEE binary32), so two
       machines can compare results by comparing digests (the corpus is the same bits everywhere:
       see corpus.h; its own digest is printed too),
     - the same for the bfloat16 and binary16 entry points on the corpus rounded to each type (their 16-bit
       outputs and float outputs digested per type, bitwise equality with scalar),
     - with --anchors, the same max ulp for XNNPACK's, oneDNN's, a SLEEF 3-pass and a naive libm
       softmax beside ours (anchor_accuracy.h).
   Usage: smx-validate [--quick] [--anchors] [--json] [--seed N] [--help] */
#define _POSIX_C_SOURCE 200809L

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "anchor_accuracy.h"
#include "corpus.h"
#include "fpmode.h"
#include "kernel_list.h"
#include "oracle.h"
#include "progress.h"
#include "sha256.h"
#include "simdmax.h"

#define DEFAULT_SEED 0x5eed5a1d2025ull
#define NISA SMX_ISA_COUNT

/* ---------------------------------------------------------------- kernels */
/* Every kernel of SMX_KERNELS (tests/kernel_list.h), the XENT ones twice: with the default options and
   with every option (+opts). */
#define V_MAP(name) {SMX_K_##name, 0},
#define V_LSE(name) {SMX_K_##name, 0},
#define V_BWD(name) {SMX_K_##name, 0},
#define V_BWDX(name) {SMX_K_##name, 0},
#define V_XENT(name) {SMX_K_##name, 0}, {SMX_K_##name, 1},
#define V_(name, kind, forward) V_##kind(name)
static const struct { int k, opts; } vlist[] = {SMX_KERNELS(V_)};
#define K_COUNT ((int)(sizeof vlist / sizeof vlist[0]))
static char kname[K_COUNT][48];
#define KIND(v) (smx_kernel_list[vlist[v].k].kind)

/* What the ulp is taken of (see print_legend): the kernel's own error model. */
static const char *kmetric(int v) {
  switch (vlist[v].k) {
  case SMX_K_sparsemax: case SMX_K_xent_sparsemax: return "max|x|";
  case SMX_K_xent_softmax: case SMX_K_xent_stablemax: return vlist[v].opts ? "rel+q" : "rel";
  default: return KIND(v) == SMX_KIND_BWD || KIND(v) == SMX_KIND_BWDX ? "mag" : "rel";
  }
}

static int is_xent(int k) { return KIND(k) == SMX_KIND_XENT; }
static int xent_opts(int k) { return is_xent(k) && vlist[k].opts; }

/* Per case: the backward kernels' inputs (the scalar forward outputs) and the option targets. */
typedef struct {
  const cp_case *c;
  float *y[SMX_K_COUNT]; /* the scalar output of each kernel that is a forward of another (else NULL) */
  int64_t *target_opt;               /* targets with row 1 ignored (rows >= 2) */
} inputs;

#define LS 0.1f
#define SOFTCAP 20.0f
#define ZLOSS 1e-4f
#define GRAD_SCALE_OPT 0.5f

static void make_opts(int k, const inputs *in, smx_xent_options *o, const int64_t **targets, float *grad_scale) {
  smx_xent_options_default(o);
  o->normalizer = smx_kernel_normalizer(vlist[k].k);
  *targets = in->c->target;
  *grad_scale = 1.0f;
  if (xent_opts(k)) {
    o->reduction = SMX_REDUCE_NONE;
    o->label_smoothing = LS;
    o->softcap = SOFTCAP;
    o->class_weight = in->c->weight;
    if (o->normalizer == SMX_NORM_SOFTMAX) o->z_loss = ZLOSS;
    *targets = in->target_opt;
    *grad_scale = GRAD_SCALE_OPT;
  }
}

static size_t loss_len(int k, const cp_case *c) { return xent_opts(k) ? c->rows : 1; }

static size_t out_len(int k, const cp_case *c) {
  if (KIND(k) == SMX_KIND_LSE) return c->rows;
  if (is_xent(k)) return loss_len(k, c) + c->rows * c->n;
  return c->rows * c->n;
}

static smx_status run_kernel(int k, const inputs *in, float *out) {
  const cp_case *c = in->c;
  const smx_kernel_info *K = &smx_kernel_list[vlist[k].k];
  smx_call_args a = {c->rows, c->n, c->x, c->n, NULL, c->n, c->dy, c->n, out, c->n, NULL, NULL, NULL, 1.0f};
  if (K->kind == SMX_KIND_BWD) a.x = in->y[K->forward];
  if (K->kind == SMX_KIND_BWDX) a.y = in->y[K->forward];
  if (is_xent(k)) {
    smx_xent_options o;
    make_opts(k, in, &o, &a.targets, &a.grad_scale);
    a.opts = &o, a.loss = out, a.out = out + loss_len(k, c);
    return smx_call(vlist[k].k, &a);
  }
  return smx_call(vlist[k].k, &a);
}

static double max_abs_finite(size_t n, const float *x) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]) && fabs((double)x[i]) > m) m = fabs((double)x[i]);
  return m;
}

/* The oracle's reference of kernel k (ref) and per element the scale of the ulp (0: plain
   relative ulp) and whether the element is exempt (sparsemax ties at the threshold). */
static void reference(int k, const inputs *in, double *ref, double *scale, unsigned char *skip) {
  const cp_case *c = in->c;
  size_t R = c->rows, n = c->n, len = out_len(k, c);
  memset(skip, 0, len);
  for (size_t i = 0; i < len; i++) scale[i] = 0.0;
  for (size_t r = 0; r < R && !is_xent(k); r++) {
    const float *x = c->x + r * n, *dy = c->dy + r * n;
    double *y = ref + r * n, *s = scale + r * n;
    switch (vlist[k].k) {
    case SMX_K_softmax: oracle_softmax(n, x, y); break;
    case SMX_K_log_softmax: oracle_log_softmax(n, x, y); break;
    case SMX_K_logsumexp: ref[r] = oracle_logsumexp(n, x); break;
    case SMX_K_softmax_backward: oracle_softmax_backward(n, in->y[SMX_K_softmax] + r * n, dy, y, s); break;
    case SMX_K_log_softmax_backward: oracle_log_softmax_backward(n, in->y[SMX_K_log_softmax] + r * n, dy, y, s); break;
    case SMX_K_sparsemax: {
      double tau = oracle_sparsemax(n, x, y), xs = max_abs_finite(n, x);
      for (size_t i = 0; i < n; i++) {
        s[i] = xs;
        skip[r * n + i] = (unsigned char)oracle_sparsemax_tie(x[i], tau, xs);
      }
      break;
    }
    case SMX_K_sparsemax_backward: oracle_sparsemax_backward(n, in->y[SMX_K_sparsemax] + r * n, dy, y, s); break;
    case SMX_K_stablemax: oracle_stablemax(n, x, y); break;
    case SMX_K_log_stablemax: oracle_log_stablemax(n, x, y); break;
    case SMX_K_stablemax_backward: oracle_stablemax_backward(n, x, in->y[SMX_K_stablemax] + r * n, dy, y, s); break;
    }
  }
  if (!is_xent(k)) return;

  smx_xent_options o;
  const int64_t *t;
  float gs;
  make_opts(k, in, &o, &t, &gs);
  size_t L = loss_len(k, c);
  double *grad = ref + L, *gscale = scale + L;
  double denom = oracle_cross_entropy(R, n, c->x, n, t, &o, ref, grad, n, gs);
  double coef = o.reduction == SMX_REDUCE_MEAN ? (denom > 0 ? gs / denom : 0.0) : gs;
  double e = o.label_smoothing, lscale_sum = 0.0;
  for (size_t r = 0; r < R; r++) {
    if (t[r] == o.ignore_index) continue;
    const float *x = c->x + r * n;
    size_t tt = (size_t)t[r];
    double wt = o.class_weight ? o.class_weight[tt] : 1.0;
    double umax = 0.0;
    if (o.normalizer == SMX_NORM_SPARSEMAX) {
      /* sparsemax: p_j = u_j - tau carries an absolute error of the order of ulp(max|u|) */
      double ls;
      (void)oracle_xent_row(n, x, t[r], &o, 0.0, NULL, &ls);
      if (L == R) scale[r] = ls; else lscale_sum += ls;
      umax = max_abs_finite(n, x);
      if (o.softcap > 0 && umax > o.softcap) umax = o.softcap;
    }
    for (size_t j = 0; j < n; j++) {
      double g = grad[r * n + j], xj = x[j];
      double cj = 1.0, uj = xj;
      if (o.softcap > 0 && isfinite(xj)) {
        double th = tanh(xj / o.softcap);
        uj = o.softcap * th;
        cj = 1.0 - th * th;
      }
      double wj = o.class_weight ? o.class_weight[j] : 1.0;
      double q = (j == tt ? (1.0 - e) * wt : 0.0) + e / (double)n * wj; /* the target term */
      double sc = fabs(g);
      if (o.normalizer == SMX_NORM_SPARSEMAX) {
        double qs = (j == tt ? 1.0 - e : 0.0) + e / (double)n;
        sc += fabs(coef) * wt * cj * (qs + umax);
      } else if (e > 0) {
        /* with label smoothing p_j - q_j cancels where p_j ~ q_j: scale by the q term */
        double rj = o.normalizer == SMX_NORM_STABLEMAX ? 1.0 / (1.0 + fabs(uj)) : 1.0;
        sc += fabs(coef) * cj * rj * q;
      }
      gscale[r * n + j] = sc;
    }
  }
  if (o.normalizer == SMX_NORM_SPARSEMAX && L == 1)
    scale[0] = o.reduction == SMX_REDUCE_MEAN ? (denom > 0 ? lscale_sum / denom : 0.0) : lscale_sum;
}

/* ---------------------------------------------------------------- results */
typedef struct {
  size_t n;
  int regime;
  size_t index; /* into the case's output */
  float y;
  double ref;
  uint32_t ybits, sbits; /* for a bitwise difference: this ISA and scalar */
} loc;

typedef struct {
  int ran, equal, error;
  int ftz_differs; /* the output under the caller's FTZ+DAZ / FPCR.FZ differs from the default modes' */
  smx_status status;
  double max_ulp;
  loc worst, diff;
  size_t values;
  sha256_ctx h;
  char hex[65];
} kres;

static kres res[K_COUNT][NISA];
static sha256_ctx all_h[NISA], corpus_h;
static char all_hex[NISA][65], corpus_hex[65];

static void hash_floats(sha256_ctx *h, const float *v, size_t n) {
  unsigned char buf[4096];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    buf[k++] = (unsigned char)u; buf[k++] = (unsigned char)(u >> 8);
    buf[k++] = (unsigned char)(u >> 16); buf[k++] = (unsigned char)(u >> 24);
    if (k == sizeof buf) { sha256_update(h, buf, k); k = 0; }
  }
  sha256_update(h, buf, k);
}

static void hash_i64(sha256_ctx *h, const int64_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char b[8];
    for (int j = 0; j < 8; j++) b[j] = (unsigned char)((uint64_t)v[i] >> (8 * j));
    sha256_update(h, b, 8);
  }
}

static void merge(kres *kr, double m, const loc *w) {
  if (m > kr->max_ulp) { kr->max_ulp = m; kr->worst = *w; }
}

static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static void describe(char *buf, size_t len, int k, const loc *l) {
  if (l->n == 0) { snprintf(buf, len, "-"); return; }
  size_t R = cp_rows(l->n, l->regime), L = is_xent(k) ? loss_len(k, &(cp_case){.rows = R}) : 0;
  if (KIND(k) == SMX_KIND_LSE)
    snprintf(buf, len, "n=%zu %s lse[%zu]", l->n, cp_regime_name(l->regime), l->index);
  else if (is_xent(k) && l->index < L)
    snprintf(buf, len, "n=%zu %s loss[%zu]", l->n, cp_regime_name(l->regime), l->index);
  else
    snprintf(buf, len, "n=%zu %s %s[%zu][%zu]", l->n, cp_regime_name(l->regime), is_xent(k) ? "grad" : "y",
             (l->index - L) / l->n, (l->index - L) % l->n);
}

/* ---------------------------------------------------------------- cpu */
static void cpu_model(char *buf, size_t len) {
  buf[0] = 0;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d, brand[12];
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000004u) {
    for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
    char s[49];
    memcpy(s, brand, 48);
    s[48] = 0;
    const char *p = s;
    while (*p == ' ') p++;
    for (size_t l = strlen(s); l && s[l - 1] == ' ';) s[--l] = 0;
    /* the family and model name the core where a hypervisor shortens the brand string */
    __get_cpuid(1, &a, &b, &c, &d);
    unsigned fam = (a >> 8) & 15, model = (a >> 4) & 15;
    if (fam == 15) fam += (a >> 20) & 255;
    if (fam >= 6) model |= ((a >> 16) & 15) << 4;
    snprintf(buf, len, "%s (family %u model %u stepping %u)", p, fam, model, a & 15);
  }
#endif
  if (!buf[0]) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], impl[64] = "", part[64] = "";
    while (f && fgets(line, sizeof line, f)) {
      char *colon = strchr(line, ':');
      if (!colon) continue;
      char *v = colon + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = 0;
      if (!strncmp(line, "model name", 10) || !strncmp(line, "Hardware", 8)) { snprintf(buf, len, "%s", v); break; }
      if (!strncmp(line, "CPU implementer", 15) && !impl[0]) snprintf(impl, sizeof impl, "%s", v);
      if (!strncmp(line, "CPU part", 8) && !part[0]) snprintf(part, sizeof part, "%s", v);
    }
    if (f) fclose(f);
    if (!buf[0] && impl[0]) snprintf(buf, len, "CPU implementer %s part %s", impl, part);
  }
  size_t l = strlen(buf);
  while (l && buf[l - 1] == ' ') buf[--l] = 0;
  if (!buf[0]) snprintf(buf, len, "unknown");
}

/* The compiler of this build, from its predefined macros. */
static const char *compiler(void) {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  static char b[64];
  snprintf(b, sizeof b, "gcc %d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
  return b;
#elif defined(_MSC_VER)
  static char b[64];
  snprintf(b, sizeof b, "msvc %d", _MSC_FULL_VER);
  return b;
#else
  return "unknown";
#endif
}

/* ---- the 16-bit entry points: every kernel on the corpus rounded to bfloat16 / binary16 (t = 0 / 1), its
   16-bit outputs and float outputs (logsumexp, losses) hashed per ISA and compared with scalar's bytes ---- */
static sha256_ctx half_h[NISA][2];
static char half_hex[NISA][2][65];
static int half_bad[NISA][2];
typedef struct {
  uint16_t *x, *dy, *y[SMX_K_COUNT];
} inputs16;
static uint16_t *round16(int t, const float *x, size_t len) {
  uint16_t *h = malloc(len * 2);
  if (h) (t ? smx_f16_from_f32 : smx_bf16_from_f32)(1, len, x, len, h, len);
  return h;
}
/* kernel k into o16 (rows x n) and of (rows floats); the counts of each written, or an error */
static smx_status run_kernel16(int k, int t, const inputs *in, const inputs16 *h, uint16_t *o16, float *of, size_t *n16,
                               size_t *nf) {
  const cp_case *c = in->c;
  const smx_kernel_info *K = &smx_kernel_list[vlist[k].k];
  smx_call16_args a = {c->rows, c->n, h->x, c->n, NULL, c->n, h->dy, c->n, o16, c->n, of, NULL, NULL, NULL, 1.0f};
  smx_xent_options o;
  if (K->kind == SMX_KIND_BWD) a.x = h->y[K->forward];
  if (K->kind == SMX_KIND_BWDX) a.y = h->y[K->forward];
  if (is_xent(k)) make_opts(k, in, &o, &a.targets, &a.grad_scale), a.opts = &o, a.loss = of;
  *n16 = K->kind == SMX_KIND_LSE ? 0 : c->rows * c->n;
  *nf = K->kind == SMX_KIND_LSE ? c->rows : is_xent(k) ? loss_len(k, c) : 0;
  return smx_call16(vlist[k].k, t, &a);
}
static int half_case(const inputs *in, const int *isas, int nisa) {
  const cp_case *c = in->c;
  const size_t total = c->rows * c->n;
  int failed = 0;
  for (int t = 0; t < 2; t++) {
    smx_set_isa(SMX_ISA_SCALAR); /* the inputs by the definitions, whatever the ISAs' converters do */
    inputs16 h = {round16(t, c->x, total), round16(t, c->dy, total), {NULL}};
    for (int k = 0; k < SMX_K_COUNT; k++)
      if (in->y[k]) h.y[k] = round16(t, in->y[k], total);
    uint16_t *o16 = malloc(total * 2), *r16 = malloc(total * 2);
    float *of = malloc(c->rows * 4), *rf = malloc(c->rows * 4);
    if (!h.x || !h.dy || !o16 || !r16 || !of || !rf) { fprintf(stderr, "smx-validate: out of memory\n"); exit(1); }
    for (int k = 0; k < K_COUNT; k++)
      for (int ii = 0; ii < nisa; ii++) {
        const int isa = isas[ii];
        size_t n16, nf;
        smx_set_isa((smx_isa)isa);
        smx_status st = run_kernel16(k, t, in, &h, ii ? o16 : r16, ii ? of : rf, &n16, &nf);
        if (st != SMX_OK) {
          half_bad[isa][t] = 1, failed = 1;
          continue;
        }
        sha256_update(&half_h[isa][t], (const uint8_t *)(ii ? o16 : r16), n16 * 2); /* little-endian hosts */
        hash_floats(&half_h[isa][t], ii ? of : rf, nf);
        if (ii && (memcmp(o16, r16, n16 * 2) || memcmp(of, rf, nf * 4))) half_bad[isa][t] = 1, failed = 1;
      }
    for (int k = 0; k < SMX_K_COUNT; k++) free(h.y[k]);
    free(h.x), free(h.dy), free(o16), free(r16), free(of), free(rf);
  }
  return failed;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
  fputs("usage: smx-validate [--quick] [--anchors] [--json] [--seed N] [--expect FILE]\n"
        "  Checks every simdmax kernel on every ISA this CPU supports: bitwise equality with the\n"
        "  scalar ISA, max ulp against the double-precision oracle, SHA-256 digests of the outputs.\n"
        "  --quick   smaller corpus (sizes up to 4099; for emulators such as qemu)\n"
        "  --anchors also XNNPACK's, oneDNN's (when installed), a SLEEF 3-pass and a naive libm softmax:\n"
        "            their max ulp per regime and n beside ours, from the same oracle and metric\n"
        "  --json    machine-readable report on stdout\n"
        "  --seed N  another corpus (digests then differ from the published ones)\n"
        "  --expect FILE  the f32, bf16 and f16 digests this corpus must give (three hex words, as\n"
        "            tools/validate-quick.sha256 holds for --quick): another CPU's bits checked here\n"
        "  Progress on stderr: in place with the time left on a terminal, a line per size otherwise\n"
        "  (SMX_PROGRESS=tty|lines|off overrides).\n"
        "  Exit status: 0 all ISAs bit-identical to scalar (and the digests --expect gives), 1 a\n"
        "  difference or a kernel error, 2 usage.\n",
        f);
}

/* --expect: 1 when FILE's three digests (f32, bf16, f16; '#' starts a comment line) are the scalar ones, else 0
   with the difference on stderr; -1 when FILE cannot be read */
static int expected_digests(const char *file, const char *got[3]) {
  FILE *f = fopen(file, "r");
  char want[3][65], line[256];
  int k = 0;
  while (f && k < 3 && fgets(line, sizeof line, f))
    if (line[0] != '#' && sscanf(line, "%64s", want[k]) == 1) k++;
  if (f) fclose(f);
  if (k < 3) {
    fprintf(stderr, "smx-validate: %s: three digests (f32, bf16, f16) expected\n", file);
    return -1;
  }
  static const char *const what[3] = {"f32", "bf16", "f16"};
  int same = 1;
  for (int i = 0; i < 3; i++)
    if (strcmp(want[i], got[i])) {
      fprintf(stderr, "smx-validate: %s outputs' digest %s, %s expects %s\n", what[i], got[i], file, want[i]);
      same = 0;
    }
  if (!same)
    fprintf(stderr, "smx-validate: this CPU's bits differ from the ones recorded in %s (or a change altered them:\n"
                    "then record the new digests there and in the README)\n", file);
  return same;
}

static void print_legend(FILE *f) {
  fputs("ulp metric: rel    |y - ref| / ulp(max(|ref|, FLT_MIN)) (oracle_ulp; results flushed to +0 below\n"
        "                    1.001 FLT_MIN count as exact)\n"
        "            mag    ulp of max(|ref|, sum of the magnitudes of the terms of dx_i) (backward kernels)\n"
        "            max|x| ulp of max(|ref|, max |x| of the row) (sparsemax: tau is an absolute quantity);\n"
        "                   ties at the threshold exempt\n"
        "            rel+q  rel, but the label-smoothing target term q_j is added to the scale of the\n"
        "                   gradient (p_j - q_j cancels where p_j ~ q_j)\n"
        "xent: default options (MEAN); +opts: NONE, label smoothing 0.1, softcap 20, class weights,\n"
        "      one ignored row, grad_scale 0.5, z_loss 1e-4 (softmax only)\n",
        f);
}

int main(int argc, char **argv) {
  for (int v = 0; v < K_COUNT; v++)
    snprintf(kname[v], sizeof kname[v], "%s%s", smx_kernel_list[vlist[v].k].name, vlist[v].opts ? "+opts" : "");
  int quick = 0, json = 0, anchors = 0;
  const char *expect = NULL;
  uint64_t seed = DEFAULT_SEED;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--anchors")) anchors = 1;
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--expect") && i + 1 < argc) expect = argv[++i];
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
    else { usage(stderr); return 2; }
  }
  static const size_t full_sizes[] = {1, 7, 64, 1000, 4099, 32000, 128256, ((size_t)1 << 20) + 1};
  static const size_t quick_sizes[] = {1, 7, 64, 1000, 4099};
  const size_t *sizes = quick ? quick_sizes : full_sizes;
  size_t nsizes = quick ? sizeof quick_sizes / sizeof *quick_sizes : sizeof full_sizes / sizeof *full_sizes;
  const size_t special_max = 32000; /* the special regime (3 rows) stops here */

  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  struct utsname un;
  const char *arch = uname(&un) == 0 ? un.machine : "unknown";
  smx_isa start_isa = smx_active_isa();
  int sup[NISA], isas[NISA], nisa = 0;
  for (int i = 0; i < NISA; i++) {
    sup[i] = smx_isa_supported((smx_isa)i);
    if (sup[i]) isas[nisa++] = i;
  }
  if (!sup[SMX_ISA_SCALAR]) { fprintf(stderr, "smx-validate: the scalar ISA is not available\n"); return 1; }

  if (!json) {
    printf("simdmax %s   smx-validate%s, corpus seed 0x%llx\n", smx_version(), quick ? " --quick" : "",
           (unsigned long long)seed);
    printf("cpu:  %s (%s)\ncompiler: %s\n", cpu, arch, compiler());
    printf("isas:");
    for (int i = 0; i < NISA; i++) printf(" %s=%s", smx_isa_name((smx_isa)i), sup[i] ? "yes" : "no");
    printf("   (default: %s)\n", smx_isa_name(start_isa));
    fflush(stdout);
  }

  for (int k = 0; k < K_COUNT; k++)
    for (int i = 0; i < NISA; i++) {
      res[k][i].equal = 1;
      sha256_init(&res[k][i].h);
    }
  for (int i = 0; i < NISA; i++) sha256_init(&all_h[i]), sha256_init(&half_h[i][0]), sha256_init(&half_h[i][1]);
  sha256_init(&corpus_h);

  if (anchors) aa_init(nsizes, sizes);
  /* Progress: a step per size; the work of a case taken as its element count (+ a fixed cost). */
  double work = 0.0, done = 0.0;
  for (size_t si = 0; si < nsizes; si++)
    for (int regime = 0; regime < CP_NREGIMES; regime++)
      if (regime != CP_SPECIAL || sizes[si] <= special_max) work += (double)(cp_rows(sizes[si], regime) * sizes[si]) + 4096;
  smx_progress prog;
  smx_progress_begin(&prog, quick ? "smx-validate --quick" : "smx-validate");

  double t0 = now();
  size_t ncases = 0, nvalues = 0;
  int failed = 0;
  for (size_t si = 0; si < nsizes; si++) {
    char step[32];
    snprintf(step, sizeof step, "n=%zu", sizes[si]);
    smx_progress_step(&prog, step, done / work);
    for (int regime = 0; regime < CP_NREGIMES; regime++) {
      size_t n = sizes[si];
      if (regime == CP_SPECIAL && n > special_max) continue;
      cp_case c;
      if (!cp_case_make(&c, seed, n, regime)) { fprintf(stderr, "smx-validate: out of memory\n"); return 1; }
      ncases++;
      hash_floats(&corpus_h, c.x, c.rows * n);
      hash_floats(&corpus_h, c.dy, c.rows * n);
      hash_i64(&corpus_h, c.target, c.rows);
      hash_floats(&corpus_h, c.weight, n);

      size_t total = c.rows * n, maxlen = c.rows + total;
      inputs in = {&c, {NULL}, malloc(c.rows * sizeof(int64_t))};
      float *out0 = malloc(maxlen * 4), *out1 = malloc(maxlen * 4), *out_ftz = malloc(maxlen * 4);
      double *ref = malloc(maxlen * 8), *scale = malloc(maxlen * 8);
      unsigned char *skip = malloc(maxlen);
      if (!in.target_opt || !out0 || !out1 || !out_ftz || !ref || !scale || !skip) {
        fprintf(stderr, "smx-validate: out of memory\n");
        return 1;
      }
      memcpy(in.target_opt, c.target, c.rows * sizeof(int64_t));
      if (c.rows >= 2) in.target_opt[1] = -100;
      /* The backward kernels' inputs: the scalar forward outputs (the same bits on every CPU). */
      smx_set_isa(SMX_ISA_SCALAR);
      for (int k = 0; k < SMX_K_COUNT; k++) {
        int f = smx_kernel_list[k].forward;
        if (f == SMX_K_none || in.y[f]) continue;
        smx_call_args a = {c.rows, n, c.x, n, NULL, 0, NULL, 0, in.y[f] = malloc(total * 4), n, NULL, NULL, NULL, 0.0f};
        if (!in.y[f] || smx_call(f, &a)) {
          fprintf(stderr, "smx-validate: the scalar %s failed (n=%zu)\n", smx_kernel_list[f].name, n);
          return 1;
        }
      }

      for (int k = 0; k < K_COUNT; k++) {
        size_t len = out_len(k, &c);
        double case_max = 0.0;
        loc case_worst = {0};
        reference(k, &in, ref, scale, skip);
        for (int ii = 0; ii < nisa; ii++) {
          int isa = isas[ii];
          kres *kr = &res[k][isa];
          float *out = ii == 0 ? out0 : out1;
          for (size_t i = 0; i < len; i++) out[i] = -12345.0f;
          smx_status st = smx_set_isa((smx_isa)isa);
          if (st == SMX_OK) st = run_kernel(k, &in, out);
          kr->ran = 1;
          if (st != SMX_OK) {
            if (!kr->error) { kr->error = 1; kr->status = st; }
            failed = 1;
            continue;
          }
          { /* the same call under the caller's flush modes: the bits must not move */
            const unsigned long saved = fpmode_flush(1);
            smx_status sf = run_kernel(k, &in, out_ftz);
            fpmode_restore(saved);
            if (sf != st || memcmp(out, out_ftz, len * 4) != 0) kr->ftz_differs = 1, failed = 1;
          }
          hash_floats(&kr->h, out, len);
          hash_floats(&all_h[isa], out, len);
          kr->values += len;
          int need_ulp = ii == 0;
          if (ii > 0 && memcmp(out0, out1, len * 4) != 0) {
            size_t i = 0;
            while (bits(out0[i]) == bits(out1[i])) i++;
            if (kr->equal) kr->diff = (loc){n, regime, i, out1[i], ref[i], bits(out1[i]), bits(out0[i])};
            kr->equal = 0;
            failed = 1;
            need_ulp = 1;
          }
          if (need_ulp) { /* this ISA's own errors (scalar, or an ISA that differs) */
            size_t i;
            double m = aa_max_ulp(len, out, ref, scale, skip, &i, NULL);
            loc w = m > 0 ? (loc){n, regime, i, out[i], ref[i], 0, 0} : (loc){0};
            if (ii == 0) { case_max = m; case_worst = w; }
            merge(kr, m, &w);
          } else { /* bitwise equal to scalar in this case: the same errors */
            merge(kr, case_max, &case_worst);
          }
        }
        nvalues += len;
        /* The anchors beside the scalar softmax (= every ISA's), with the same reference. */
        if (anchors && vlist[k].k == SMX_K_softmax && !res[k][SMX_ISA_SCALAR].error)
          aa_case(&c, si, out0, ref, scale, skip);
        smx_progress_update(&prog, (done + (double)(k + 1) / K_COUNT * ((double)(c.rows * n) + 4096)) / work);
      }
      failed |= half_case(&in, isas, nisa);
      done += (double)(c.rows * n) + 4096;
      for (int k = 0; k < SMX_K_COUNT; k++) free(in.y[k]);
      free(in.target_opt);
      free(out0); free(out1); free(out_ftz); free(ref); free(scale); free(skip);
      cp_case_free(&c);
    }
  }
  double elapsed = now() - t0;
  smx_progress_end(&prog);
  smx_set_isa(start_isa);

  uint8_t d[32];
  sha256_final(&corpus_h, d);
  sha256_hex(d, corpus_hex);
  for (int k = 0; k < K_COUNT; k++)
    for (int i = 0; i < NISA; i++)
      if (res[k][i].ran) { sha256_final(&res[k][i].h, d); sha256_hex(d, res[k][i].hex); }
  for (int ii = 0; ii < nisa; ii++) { sha256_final(&all_h[isas[ii]], d); sha256_hex(d, all_hex[isas[ii]]); }
  for (int ii = 0; ii < nisa; ii++)
    for (int t = 0; t < 2; t++) sha256_final(&half_h[isas[ii]][t], d), sha256_hex(d, half_hex[isas[ii]][t]);
  if (expect) {
    const char *got[3] = {all_hex[SMX_ISA_SCALAR], half_hex[SMX_ISA_SCALAR][0], half_hex[SMX_ISA_SCALAR][1]};
    const int same = expected_digests(expect, got);
    if (same < 0) return 2;
    if (!same) failed = 1;
  }

  if (json) {
    printf("{\n  \"tool\": \"smx-validate\",\n  \"version\": ");
    json_str(stdout, smx_version());
    printf(",\n  \"cpu\": ");
    json_str(stdout, cpu);
    printf(",\n  \"arch\": ");
    json_str(stdout, arch);
    printf(",\n  \"compiler\": ");
    json_str(stdout, compiler());
    printf(",\n  \"isas\": {");
    for (int i = 0; i < NISA; i++) printf("%s\"%s\": %s", i ? ", " : "", smx_isa_name((smx_isa)i), sup[i] ? "true" : "false");
    printf("},\n  \"default_isa\": \"%s\",\n", smx_isa_name(start_isa));
    printf("  \"corpus\": {\"quick\": %s, \"seed\": %llu, \"cases\": %zu, \"sizes\": [", quick ? "true" : "false",
           (unsigned long long)seed, ncases);
    for (size_t i = 0; i < nsizes; i++) printf("%s%zu", i ? ", " : "", sizes[i]);
    printf("], \"regimes\": [");
    for (int r = 0; r < CP_NREGIMES; r++) printf("%s\"%s\"", r ? ", " : "", cp_regime_name(r));
    printf("], \"digest\": \"%s\"},\n  \"kernels\": [\n", corpus_hex);
    for (int k = 0; k < K_COUNT; k++) {
      printf("    {\"name\": \"%s\", \"metric\": \"%s\", \"values\": %zu, \"digest\": \"%s\", \"isa\": {",
             kname[k], kmetric(k), res[k][SMX_ISA_SCALAR].values, res[k][SMX_ISA_SCALAR].hex);
      for (int ii = 0; ii < nisa; ii++) {
        kres *kr = &res[k][isas[ii]];
        char where[128];
        describe(where, sizeof where, k, &kr->worst);
        printf("%s\n      \"%s\": {\"status\": %d, \"bitwise_equal_scalar\": %s, \"same_under_ftz_daz\": %s, "
               "\"max_ulp\": ", ii ? "," : "", smx_isa_name((smx_isa)isas[ii]), kr->error ? (int)kr->status : 0,
               kr->equal && !kr->error ? "true" : "false", kr->ftz_differs ? "false" : "true");
        json_num(stdout, kr->max_ulp);
        printf(", \"worst\": ");
        json_str(stdout, where);
        printf(", \"worst_y\": ");
        json_num(stdout, kr->worst.y);
        printf(", \"worst_ref\": ");
        json_num(stdout, kr->worst.ref);
        printf(", \"digest\": \"%s\"", kr->hex);
        if (!kr->equal) {
          describe(where, sizeof where, k, &kr->diff);
          printf(", \"first_difference\": ");
          json_str(stdout, where);
          printf(", \"bits\": \"0x%08x\", \"scalar_bits\": \"0x%08x\"", kr->diff.ybits, kr->diff.sbits);
        }
        printf("}");
      }
      printf("\n    }}%s\n", k + 1 < K_COUNT ? "," : "");
    }
    printf("  ],\n  \"digest\": {");
    for (int ii = 0; ii < nisa; ii++) printf("%s\"%s\": \"%s\"", ii ? ", " : "", smx_isa_name((smx_isa)isas[ii]), all_hex[isas[ii]]);
    printf("},\n");
    printf("  \"digest16\": {");
    for (int ii = 0; ii < nisa; ii++)
      printf("%s\"%s\": {\"bf16\": \"%s\", \"f16\": \"%s\", \"bitwise_equal_scalar\": %s}", ii ? ", " : "",
             smx_isa_name((smx_isa)isas[ii]), half_hex[isas[ii]][0], half_hex[isas[ii]][1],
             half_bad[isas[ii]][0] || half_bad[isas[ii]][1] ? "false" : "true");
    printf("},\n");
    if (anchors) {
      printf("  \"anchors\": ");
      aa_print_json(stdout);
      printf(",\n");
    }
    printf("  \"seconds\": %.2f,\n  \"pass\": %s\n}\n", elapsed, failed ? "false" : "true");
    return failed ? 1 : 0;
  }

  printf("corpus: %zu cases (sizes", ncases);
  for (size_t i = 0; i < nsizes; i++) printf(" %zu", sizes[i]);
  printf("; regimes");
  for (int r = 0; r < CP_NREGIMES; r++) printf(" %s", cp_regime_name(r));
  printf("), %zu output values per ISA\ncorpus digest: %s\n\n", nvalues, corpus_hex);

  printf("%-22s %-6s %10s", "kernel", "metric", "max ulp");
  for (int ii = 1; ii < nisa; ii++) printf(" %-8s", smx_isa_name((smx_isa)isas[ii]));
  printf("  %-16s  %s\n", "digest", "worst case (scalar)");
  for (int k = 0; k < K_COUNT; k++) {
    kres *k0 = &res[k][SMX_ISA_SCALAR];
    char where[128];
    describe(where, sizeof where, k, &k0->worst);
    if (k0->error) printf("%-22s %-6s %10s", kname[k], kmetric(k), "ERROR");
    else printf("%-22s %-6s %10.3f", kname[k], kmetric(k), k0->max_ulp);
    for (int ii = 1; ii < nisa; ii++) {
      kres *kr = &res[k][isas[ii]];
      printf(" %-8s", kr->error ? "ERROR" : kr->equal ? "same" : "DIFFERS");
    }
    printf("  %.16s  %s\n", k0->hex, k0->max_ulp > 0 ? where : "-");
  }
  printf("\n");
  for (int k = 0; k < K_COUNT; k++)
    for (int ii = 0; ii < nisa; ii++) {
      kres *kr = &res[k][isas[ii]];
      char where[128];
      if (kr->error)
        printf("ERROR %s on %s: %s\n", kname[k], smx_isa_name((smx_isa)isas[ii]), smx_strerror(kr->status));
      if (kr->ftz_differs)
        printf("FTZ %s on %s: the output under the caller's FTZ+DAZ / FPCR.FZ differs from the default modes'\n", kname[k],
               smx_isa_name((smx_isa)isas[ii]));
      if (!kr->equal) {
        describe(where, sizeof where, k, &kr->diff);
        printf("DIFFERS %s on %s: first at %s: 0x%08x (%.9g), scalar 0x%08x; max ulp %.3f; digest %.16s\n", kname[k],
               smx_isa_name((smx_isa)isas[ii]), where, kr->diff.ybits, kr->diff.y, kr->diff.sbits, kr->max_ulp, kr->hex);
      }
    }
  for (int ii = 0; ii < nisa; ii++) printf("all outputs, %-7s %s\n", smx_isa_name((smx_isa)isas[ii]), all_hex[isas[ii]]);
  for (int ii = 0; ii < nisa; ii++)
    for (int t = 0; t < 2; t++)
      printf("%s outputs, %-7s %s%s\n", t ? "f16 " : "bf16", smx_isa_name((smx_isa)isas[ii]), half_hex[isas[ii]][t],
             half_bad[isas[ii]][t] ? "  DIFFERS from scalar (or a call failed)" : "");
  printf("\n");
  if (anchors) {
    aa_print_text(stdout);
    printf("\n");
  }
  print_legend(stdout);
  printf("\n%s in %.1f s: %s\n", failed ? "FAIL" : "PASS", elapsed,
         failed ? "some ISA differs from scalar (or under FTZ+DAZ), a kernel failed, or --expect's digests differ"
         : expect ? "every ISA is bit-identical to scalar, also under the caller's FTZ+DAZ / FPCR.FZ, and to --expect's"
                  : "every ISA is bit-identical to scalar, also under the caller's FTZ+DAZ / FPCR.FZ");
  return failed ? 1 : 0;
}
