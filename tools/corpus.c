/* The validation corpus: see corpus.h. No libm function but sqrt (correctly rounded by IEEE 754):
   the same bits on every platform. */
#include "corpus.h"

#include <math.h> /* sqrt only: IEEE correctly rounded on every platform */
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void cp_seed(cp_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cp_next(cp_rng *r) { /* xoshiro256** */
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double cp_uniform(cp_rng *r) { return (double)(cp_next(r) >> 11) * 0x1p-53; }

uint64_t cp_below(cp_rng *r, uint64_t n) {
  uint64_t lim = (0 - n) % n; /* reject the first 2^64 mod n values */
  for (;;) {
    uint64_t v = cp_next(r);
    if (v >= lim) return v % n;
  }
}

double cp_log(double x) {
  uint64_t b;
  memcpy(&b, &x, 8);
  int e = (int)((b >> 52) & 0x7ff) - 1023;
  b = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
  double m;
  memcpy(&m, &b, 8);
  if (m > 0x1.6a09e667f3bcdp+0) { m *= 0.5; e += 1; } /* m in [sqrt(1/2), sqrt(2)] */
  double f = (m - 1.0) / (m + 1.0), s = f * f;      /* |f| <= 0.1716, s <= 0.0295 */
  double p = 1.0 / 23;
  for (int k = 21; k >= 1; k -= 2) p = p * s + 1.0 / k; /* 1 + s/3 + ... + s^11/23 */
  return (double)e * 0x1.62e42fefa39efp-1 + 2.0 * f * p;
}

double cp_normal(cp_rng *r) {
  for (;;) {
    double u = 2.0 * cp_uniform(r) - 1.0, v = 2.0 * cp_uniform(r) - 1.0;
    double s = u * u + v * v;
    if (s >= 1.0 || s < 0x1p-60) continue;
    return u * sqrt(-2.0 * cp_log(s) / s);
  }
}

const char *cp_regime_name(int regime) {
  static const char *const names[CP_NREGIMES] = {"normal", "wide", "onehot", "large", "neginf", "special"};
  return regime >= 0 && regime < CP_NREGIMES ? names[regime] : "?";
}

size_t cp_rows(size_t n, int regime) {
  if (regime == CP_SPECIAL) return 3;
  return n < 1000 ? 4 : n <= 32000 ? 2 : 1;
}

static float f_neginf(void) { uint32_t u = 0xff800000u; float f; memcpy(&f, &u, 4); return f; }
static float f_posinf(void) { uint32_t u = 0x7f800000u; float f; memcpy(&f, &u, 4); return f; }
static float f_nan(void) { uint32_t u = 0x7fc00000u; float f; memcpy(&f, &u, 4); return f; }

int cp_case_make(cp_case *c, uint64_t corpus_seed, size_t n, int regime) {
  memset(c, 0, sizeof *c);
  c->n = n;
  c->regime = regime;
  c->rows = cp_rows(n, regime);
  uint64_t mix = corpus_seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(regime + 1) << 56);
  c->seed = splitmix64(&mix);
  size_t total = c->rows * n;
  c->x = malloc(total * sizeof(float));
  c->dy = malloc(total * sizeof(float));
  c->target = malloc(c->rows * sizeof(int64_t));
  c->weight = malloc(n * sizeof(float));
  if (!c->x || !c->dy || !c->target || !c->weight) { cp_case_free(c); return 0; }

  cp_rng r;
  cp_seed(&r, c->seed);
  for (size_t row = 0; row < c->rows; row++) {
    float *x = c->x + row * n;
    int64_t t = (int64_t)cp_below(&r, n);
    switch (regime) {
    case CP_NORMAL:
      for (size_t i = 0; i < n; i++) x[i] = (float)cp_normal(&r);
      break;
    case CP_WIDE:
      for (size_t i = 0; i < n; i++) x[i] = (float)(160.0 * cp_uniform(&r) - 80.0);
      break;
    case CP_ONEHOT: {
      for (size_t i = 0; i < n; i++) x[i] = (float)cp_normal(&r);
      size_t h = (size_t)cp_below(&r, n);
      x[h] = (float)((double)x[h] + 30.0);
      if (row % 2 == 0) t = (int64_t)h; /* the collapse case: the target is the dominant logit */
      break;
    }
    case CP_LARGE:
      for (size_t i = 0; i < n; i++) x[i] = (float)(90.0 + 10.0 * cp_uniform(&r));
      break;
    case CP_NEGINF:
      for (size_t i = 0; i < n; i++) {
        double v = cp_normal(&r);
        x[i] = cp_below(&r, 4) == 0 ? f_neginf() : (float)v;
      }
      break;
    default: /* CP_SPECIAL */
      for (size_t i = 0; i < n; i++) x[i] = (float)cp_normal(&r);
      if (row % 3 == 0) {
        x[cp_below(&r, n)] = f_nan();
      } else if (row % 3 == 1) {
        x[cp_below(&r, n)] = f_posinf();
        x[cp_below(&r, n)] = f_posinf(); /* possibly the same entry: one or two +inf */
      } else {
        for (size_t i = 0; i < n; i++) x[i] = f_neginf();
      }
      break;
    }
    c->target[row] = t;
  }
  for (size_t i = 0; i < total; i++) c->dy[i] = (float)cp_normal(&r);
  for (size_t i = 0; i < n; i++) c->weight[i] = (float)(0.5 + 1.5 * cp_uniform(&r));
  return 1;
}

void cp_case_free(cp_case *c) {
  free(c->x);
  free(c->dy);
  free(c->target);
  free(c->weight);
  memset(c, 0, sizeof *c);
}
