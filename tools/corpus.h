/* The validation corpus of smx-validate: a seeded, platform-independent set of inputs.

   Every value comes from integer arithmetic (xoshiro256** seeded by splitmix64) and IEEE double
   +, -, *, /, sqrt with a fixed order of operations, plus our own log for the normal deviates
   (no libm call), so the corpus is the same bits on every CPU, OS and compiler that honours
   -ffp-contract=off (the build sets it everywhere). */
#ifndef SMX_TOOLS_CORPUS_H
#define SMX_TOOLS_CORPUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t s[4]; } cp_rng;

void cp_seed(cp_rng *r, uint64_t seed);
uint64_t cp_next(cp_rng *r);
double cp_uniform(cp_rng *r);           /* [0, 1), 53 random bits */
uint64_t cp_below(cp_rng *r, uint64_t n); /* [0, n), unbiased */
double cp_normal(cp_rng *r);            /* N(0, 1): Marsaglia polar method, deterministic */
double cp_log(double x);                /* natural log of a positive normal double, no libm */

enum {
  CP_NORMAL = 0, /* N(0, 1) */
  CP_WIDE,       /* uniform +-80 */
  CP_ONEHOT,     /* N(0, 1) with one logit 30 above the rest (the target, on even rows) */
  CP_LARGE,      /* uniform 90..100 */
  CP_NEGINF,     /* N(0, 1) with about a quarter -inf */
  CP_SPECIAL,    /* rows cycling: one NaN; one or two +inf; all -inf */
  CP_NREGIMES
};
const char *cp_regime_name(int regime);

/* One corpus case: rows x n contiguous (leading dimension n). */
typedef struct {
  size_t n, rows;
  int regime;
  uint64_t seed;   /* the case seed (derived from the corpus seed, n and the regime) */
  float *x;        /* logits, rows x n */
  float *dy;       /* upstream gradient N(0, 1), rows x n */
  int64_t *target; /* rows targets in [0, n) */
  float *weight;   /* n class weights in [0.5, 2) */
} cp_case;

/* Fill a case (allocates; cp_case_free releases). Returns 0 on allocation failure. */
int cp_case_make(cp_case *c, uint64_t corpus_seed, size_t n, int regime);
void cp_case_free(cp_case *c);
/* How many rows a case of this size and regime has. */
size_t cp_rows(size_t n, int regime);

#endif
