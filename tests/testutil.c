#define _POSIX_C_SOURCE 200809L
#include "testutil.h"
#include "fpmode.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- RNG ---- */
static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
void tu_rng_seed(tu_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
uint64_t tu_next(tu_rng *r) {
  uint64_t *s = r->s;
  uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return res;
}
double tu_uniform(tu_rng *r, double a, double b) {
  return a + (b - a) * ((double)(tu_next(r) >> 11) * 0x1p-53);
}
double tu_normal(tu_rng *r) {
  double u1 = ((double)(tu_next(r) >> 11) + 0.5) * 0x1p-53, u2 = (double)(tu_next(r) >> 11) * 0x1p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
size_t tu_below(tu_rng *r, size_t n) { return (size_t)(tu_next(r) % (uint64_t)n); }

unsigned long tu_fp_flush(int on) { return fpmode_flush(on); }
void tu_fp_restore(unsigned long saved) { fpmode_restore(saved); }

static uint64_t random_seed; /* 0: the fixed default */
uint64_t tu_base_seed(void) {
  const char *s = getenv("SMX_TEST_SEED");
  if (s && *s) return strtoull(s, NULL, 0);
  return random_seed ? random_seed : 0x5eed51ad0001ull;
}
uint64_t tu_seed_random(const char *suite) {
  const char *s = getenv("SMX_TEST_SEED");
  if (!(s && *s) && !random_seed) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t h = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 40;
    random_seed = splitmix(&h) | 1;
  }
  fprintf(stderr, "[simdmax] %s: seed 0x%llx (replay: SMX_TEST_SEED=0x%llx)\n", suite,
          (unsigned long long)tu_base_seed(), (unsigned long long)tu_base_seed());
  return tu_base_seed();
}
uint64_t tu_case_seed(const char *tag, size_t n, int regime) {
  uint64_t h = tu_base_seed() ^ 0xcbf29ce484222325ull;
  for (const char *p = tag; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
  h ^= (uint64_t)n * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t)(regime + 1) << 56;
  return splitmix(&h);
}
int tu_quick(void) {
  const char *s = getenv("SMX_TEST_QUICK");
  return s && *s && strcmp(s, "0") != 0;
}

/* ---- regimes ---- */
static const char *const regime_names[TU_NREGIMES] = {"narrow", "wide", "onehot", "large",
                                                      "neginf", "allneginf", "posinf", "nan",
                                                      "steps",  "edge",      "n3",     "ntenth",
                                                      "u17",    "u05",       "equal",  "onehot25",
                                                      "halfneginf", "nanlast", "max1e5", "pm1e30",
                                                      "min1e5"};
const char *tu_regime_name(int g) { return (g >= 0 && g < TU_NREGIMES) ? regime_names[g] : "?"; }

void tu_fill(tu_rng *r, int g, size_t n, float *x) {
  switch (g) {
  case TU_NARROW:
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_normal(r);
    break;
  case TU_WIDE:
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_uniform(r, -80.0, 80.0);
    break;
  case TU_ONEHOT: {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      x[i] = (float)tu_normal(r);
      if (x[i] > m) m = x[i];
    }
    x[tu_below(r, n)] = m + 30.0f;
    break;
  }
  case TU_LARGE:
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_uniform(r, 90.0, 100.0);
    break;
  case TU_NEGINF:
    for (size_t i = 0; i < n; i++) x[i] = (tu_next(r) & 3) == 0 ? -INFINITY : (float)(3.0 * tu_normal(r));
    x[tu_below(r, n)] = (float)tu_normal(r);
    break;
  case TU_ALLNEGINF:
    for (size_t i = 0; i < n; i++) x[i] = -INFINITY;
    break;
  case TU_POSINF: {
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_normal(r);
    size_t k = 1 + tu_below(r, 3);
    for (size_t j = 0; j < k; j++) x[tu_below(r, n)] = INFINITY;
    break;
  }
  case TU_NAN:
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_normal(r);
    if (n > 2 && (tu_next(r) & 1)) {
      x[tu_below(r, n)] = INFINITY;
      x[tu_below(r, n)] = -INFINITY;
    }
    x[tu_below(r, n)] = (tu_next(r) & 1) ? NAN : -NAN;
    break;
  case TU_STEPS: {
    static const float off[8] = {-300, -40, -220, 0, -170, 60, -500, 61};
    for (size_t i = 0; i < n; i++) x[i] = off[(i / 1024) % 8] + (float)tu_uniform(r, -130.0, 0.0);
    break;
  }
  case TU_EDGE: {
    static const float off[4] = {-65545, -65530, -65520, 65540};
    for (size_t i = 0; i < n; i++) x[i] = off[(i / 1024) % 4] + (float)tu_uniform(r, -8.0, 0.0);
    break;
  }
  case TU_N3:
  case TU_NTENTH:
    for (size_t i = 0; i < n; i++) x[i] = (float)((g == TU_N3 ? 3.0 : 0.1) * tu_normal(r));
    break;
  case TU_U17:
  case TU_U05:
    for (size_t i = 0; i < n; i++) x[i] = (float)(g == TU_U17 ? tu_uniform(r, -1.7, 1.7) : tu_uniform(r, 0.0, 0.5));
    break;
  case TU_EQUAL: {
    float v = (float)(3.0 * tu_normal(r));
    for (size_t i = 0; i < n; i++) x[i] = v;
    break;
  }
  case TU_ONEHOT25:
  case TU_HALFNEGINF:
  case TU_NANLAST:
    for (size_t i = 0; i < n; i++) x[i] = g == TU_HALFNEGINF && (i & 1) ? -INFINITY : (float)tu_normal(r);
    if (g == TU_ONEHOT25) x[tu_below(r, n)] = 25.0f;
    if (g == TU_NANLAST) x[n - 1] = NAN;
    break;
  case TU_MAX1E5:
  case TU_MIN1E5:
    for (size_t i = 0; i < n; i++) x[i] = (float)((g == TU_MAX1E5 ? 1e5 : -1e5) + tu_normal(r));
    break;
  case TU_PM1E30:
    for (size_t i = 0; i < n; i++) x[i] = (i & 1) ? -1e30f : 1e30f;
    break;
  default:
    abort();
  }
}

/* ---- sizes ---- */
size_t *tu_sizes(unsigned flags, size_t *count) {
  const int q = tu_quick();
  const size_t small = q ? 80 : 200, maxpow = q ? 12 : 16;
  size_t *v = (size_t *)malloc(512 * sizeof *v), k = 0;
  for (size_t n = 1; n <= small; n++) v[k++] = n;
  for (size_t p = 1; p <= maxpow; p++) {
    size_t b = (size_t)1 << p;
    for (size_t n = b - 1; n <= b + 1; n++)
      if (n > small) v[k++] = n;
  }
  v[k++] = 32000;
  if (!q) v[k++] = 128256;
  if ((flags & TU_HUGE) && (!q || (flags & TU_HUGE_QUICK))) v[k++] = TU_HUGE_N;
  *count = k;
  return v;
}

/* ---- matrices ---- */
float *tu_row(const tu_mat *a, size_t r) { return a->m + r * a->ld; }

void tu_mat_alloc(tu_mat *a, size_t rows, size_t n, size_t ld, int misalign) {
  a->rows = rows;
  a->n = n;
  a->ld = ld;
  a->off = TU_FRONT + (misalign ? 1 : 0);
  size_t body = rows ? (rows - 1) * ld + n : 0;
  a->total = a->off + body + (ld - n) + TU_BACK;
  size_t bytes = (a->total * sizeof(float) + 63) & ~(size_t)63;
  a->alloc = (float *)aligned_alloc(64, bytes);
  if (!a->alloc) abort();
  float c = tu_from_bits(TU_CANARY_BITS);
  for (size_t i = 0; i < a->total; i++) a->alloc[i] = c;
  a->m = a->alloc + a->off;
}
void tu_mat_free(tu_mat *a) {
  free(a->alloc);
  a->alloc = a->m = NULL;
}
int tu_mat_canaries_ok(const tu_mat *a, long *where) {
  for (size_t i = 0; i < a->total; i++) {
    long rel = (long)i - (long)a->off;
    int inside = 0;
    if (rel >= 0) {
      size_t r = (size_t)rel / a->ld, c = (size_t)rel % a->ld;
      inside = r < a->rows && c < a->n;
    }
    if (!inside && tu_bits(a->alloc[i]) != TU_CANARY_BITS) {
      if (where) *where = rel;
      return 0;
    }
  }
  return 1;
}
int tu_mat_untouched(const tu_mat *a) {
  for (size_t r = 0; r < a->rows; r++)
    for (size_t c = 0; c < a->n; c++)
      if (tu_bits(tu_row(a, r)[c]) != TU_CANARY_BITS) return 0;
  return 1;
}

/* ---- checks ---- */
uint32_t tu_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
float tu_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

size_t tu_nans(const float *v, size_t n, size_t *other) {
  size_t count = 0;
  *other = n;
  for (size_t i = 0; i < n; i++) {
    if (v[i] == v[i]) continue;
    count++;
    if (*other == n && tu_bits(v[i]) != 0x7fc00000u) *other = i;
  }
  return count;
}

int tu_bits_equal(const float *a, const float *b, size_t n, size_t *first) {
  for (size_t i = 0; i < n; i++)
    if (tu_bits(a[i]) != tu_bits(b[i])) {
      if (first) *first = i;
      return 0;
    }
  return 1;
}

const char *tu_fmt(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return buf;
}

#define TU_MAX_PRINTED 8
static size_t printed_total;

static double check_one(tu_stat *st, const char *ctx, size_t i, float y, double ref, double scale, double bound) {
  double err;
  if (isnan(ref)) err = tu_bits(y) == 0x7fc00000u ? 0.0 : INFINITY;
  else err = oracle_ulp_scaled(y, ref, scale);
  st->checked++;
  if (!(err <= bound)) {
    st->fails++;
    if (printed_total < TU_MAX_PRINTED) {
      printed_total++;
      cr_log_error("%s: [%zu] got %a (%.9g, bits 0x%08x) ref %.17g scale %.6g: %.3f ulp > %.1f", ctx, i,
                   (double)y, (double)y, tu_bits(y), ref, scale, err, bound);
    }
  }
  if (err > st->max || isnan(err)) st->max = isnan(err) ? INFINITY : err;
  return err;
}

double tu_check_row(tu_stat *st, const char *ctx, size_t n, const float *y, const double *ref,
                    const double *scale, double scale0, double bound) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = check_one(st, ctx, i, y[i], ref[i], scale ? scale[i] : scale0, bound);
    if (e > m) m = e;
  }
  return m;
}

double tu_check_one(tu_stat *st, const char *ctx, float y, double ref, double scale, double bound) {
  return check_one(st, ctx, 0, y, ref, scale, bound);
}

void tu_report(const char *name, const tu_stat *st, double bound) {
  fprintf(stderr, "[simdmax] %-40s max %10.4g ulp over %9zu values (bound %g)%s\n", name, st->max, st->checked,
          bound, st->fails ? "  FAILED" : "");
  if (st->fails)
    cr_expect(0, "%s: %zu values over the bound of %g ulp (max %.4g ulp); seed base 0x%llx", name, st->fails,
              bound, st->max, (unsigned long long)tu_base_seed());
}

/* ---- forward drivers ---- */
static size_t max_size(const size_t *v, size_t k) {
  size_t m = 0;
  for (size_t i = 0; i < k; i++)
    if (v[i] > m) m = v[i];
  return m;
}

void tu_forward_accuracy(const char *name, tu_fwd_fn fn, tu_fwd_ref ref, double bound, unsigned size_flags) {
  size_t ns, *sizes = tu_sizes(size_flags, &ns), nmax = max_size(sizes, ns);
  float *x = (float *)malloc(nmax * sizeof *x), *y = (float *)malloc(nmax * sizeof *y);
  double *r = (double *)malloc(nmax * sizeof *r);
  tu_stat st[TU_NREGIMES];
  char ctx[256], title[128];
  for (int g = 0; g < TU_NREGIMES; g++) {
    if (g == TU_PM1E30 && (size_flags & TU_NO_PM1E30)) continue;
    tu_stat z = TU_STAT_INIT;
    st[g] = z;
    for (size_t k = 0; k < ns; k++) {
      size_t n = sizes[k];
      uint64_t seed = tu_case_seed(name, n, g);
      tu_rng rng;
      tu_rng_seed(&rng, seed);
      tu_fill(&rng, g, n, x);
      smx_status s = fn(1, n, x, n, y, n);
      cr_expect(s == SMX_OK, "%s n=%zu regime=%s: status %d", name, n, tu_regime_name(g), (int)s);
      ref(n, x, r);
      tu_fmt(ctx, sizeof ctx, "%s n=%zu regime=%s seed=0x%llx", name, n, tu_regime_name(g),
             (unsigned long long)seed);
      tu_check_row(&st[g], ctx, n, y, r, NULL, 0.0, bound);
    }
    tu_report(tu_fmt(title, sizeof title, "%s/%s (n up to %zu)", name, tu_regime_name(g), nmax), &st[g], bound);
  }
  free(x);
  free(y);
  free(r);
  free(sizes);
}

const size_t tu_layout_sizes[] = {1,   2,   3,   4,   5,   7,    8,    9,    15,   16,   17,   31,  32,
                                  33,  63,  64,  65,  100, 127,  128,  129,  200,  255,  256,  257, 1000,
                                  1023, 1024, 1025, 2047, 2049, 4097};
const size_t tu_layout_nsizes = sizeof tu_layout_sizes / sizeof tu_layout_sizes[0];

void tu_forward_layouts(const char *name, tu_fwd_fn fn) {
  static const size_t pads[] = {0, 1, 7, 64};
  const size_t rows = 3;
  size_t fails = 0, cases = 0;
  for (size_t si = 0; si < tu_layout_nsizes; si++) {
    size_t n = tu_layout_sizes[si];
    float *xr = (float *)malloc(rows * n * sizeof *xr), *yr = (float *)malloc(rows * n * sizeof *yr);
    for (size_t pi = 0; pi < sizeof pads / sizeof pads[0]; pi++)
      for (int mis = 0; mis < 2; mis++)
        for (int inplace = 0; inplace < 2; inplace++) {
          size_t ld = n + pads[pi];
          uint64_t seed = tu_case_seed(name, n * 1000 + pi * 4 + (size_t)mis * 2 + (size_t)inplace, 99);
          tu_rng rng;
          tu_rng_seed(&rng, seed);
          /* rows of different regimes: narrow, a special one, wide */
          int regs[3] = {TU_NARROW, (int)(TU_ONEHOT + tu_below(&rng, TU_NREGIMES - TU_ONEHOT)), TU_WIDE};
          for (size_t r = 0; r < rows; r++) {
            tu_fill(&rng, regs[r], n, xr + r * n);
            fn(1, n, xr + r * n, n, yr + r * n, n); /* the reference: alone, contiguous */
          }
          tu_mat X, Y;
          tu_mat_alloc(&X, rows, n, ld, mis);
          for (size_t r = 0; r < rows; r++) memcpy(tu_row(&X, r), xr + r * n, n * sizeof(float));
          if (!inplace) tu_mat_alloc(&Y, rows, n, ld + (pi & 1), !mis);
          const tu_mat *out = inplace ? &X : &Y;
          smx_status s = fn(rows, n, X.m, ld, out->m, out->ld);
          cases++;
          long where = 0;
          size_t first = 0;
          int ok = s == SMX_OK;
          for (size_t r = 0; r < rows && ok; r++) {
            if (!tu_bits_equal(tu_row(out, r), yr + r * n, n, &first)) {
              ok = 0;
              cr_log_error("%s layout n=%zu ld=%zu misalign=%d inplace=%d row %zu (%s) [%zu]: %a != %a alone; seed 0x%llx",
                           name, n, out->ld, mis, inplace, r, tu_regime_name(regs[r]), first,
                           (double)tu_row(out, r)[first], (double)yr[r * n + first], (unsigned long long)seed);
            }
            if (!inplace && !tu_bits_equal(tu_row(&X, r), xr + r * n, n, &first)) {
              ok = 0;
              cr_log_error("%s layout n=%zu: input row %zu modified at [%zu]", name, n, r, first);
            }
          }
          if (!tu_mat_canaries_ok(&X, &where)) {
            ok = 0;
            cr_log_error("%s layout n=%zu ld=%zu misalign=%d inplace=%d: x canary at %ld overwritten", name, n, ld,
                         mis, inplace, where);
          }
          if (!inplace && !tu_mat_canaries_ok(&Y, &where)) {
            ok = 0;
            cr_log_error("%s layout n=%zu ldy=%zu misalign=%d: y canary at %ld overwritten", name, n, Y.ld, !mis,
                         where);
          }
          if (!ok) fails++;
          tu_mat_free(&X);
          if (!inplace) tu_mat_free(&Y);
        }
    free(xr);
    free(yr);
  }
  fprintf(stderr, "[simdmax] %-40s %zu layout cases, %zu failed\n", name, cases, fails);
  cr_expect(fails == 0, "%s: %zu of %zu layout cases failed", name, fails, cases);
}
