/* smx-validate --anchors: the softmax of other implementations against the same oracle and ulp metric as ours. */
#ifndef SMX_TOOLS_ANCHOR_ACCURACY_H
#define SMX_TOOLS_ANCHOR_ACCURACY_H

#include <stddef.h>
#include <stdio.h>

#include "corpus.h"

/* The max error in ulp of y against ref over len values: oracle_ulp_scaled(y, ref, scale), skip[i]
   exempt, a NaN error counted as infinite (*ninf: how many were infinite; *worst: where the max is).
   smx-validate's own columns use the same function. */
double aa_max_ulp(size_t len, const float *y, const double *ref, const double *scale, const unsigned char *skip,
                  size_t *worst, size_t *ninf);

/* Which anchors this build and CPU can run (XNNPACK, oneDNN, SLEEF 3-pass from bench/'s smx_anchors
   when it was built; the naive libm softmax always); sizes: the corpus sizes, at most 16. */
void aa_init(size_t nsizes, const size_t *sizes);
/* One corpus case: run every anchor on c and record its max ulp against ref (oracle_softmax of each
   row) beside ours (simdmax's softmax output of the same case). */
void aa_case(const cp_case *c, size_t size_index, const float *ours, const double *ref, const double *scale,
             const unsigned char *skip);
/* The table: max ulp per regime (over n), then per n and regime, one column per implementation. */
void aa_print_text(FILE *f);
/* The same as the JSON value of "anchors" (no trailing newline). */
void aa_print_json(FILE *f);

#endif
