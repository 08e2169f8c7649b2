/* Dispatch internals: CPU feature bits and argument checks shared by the entry points. */
#ifndef SMX_DISPATCH_H
#define SMX_DISPATCH_H
#include "kernels.h"

/* Bit (1 << isa) for every ISA of SMX_ISAS that this CPU and OS support (scalar always). */
unsigned smx_cpu_features(void);

/* Bytes spanned by a rows x n matrix with leading dimension ld; 0 on overflow. */
size_t smx_span_bytes(size_t rows, size_t n, size_t ld);
/* 1 if byte ranges [a, a+na) and [b, b+nb) overlap. */
int smx_overlap(const void *a, size_t na, const void *b, size_t nb);
/* An output (o, ldo) against an input (i, ldi), both rows x n: OK when disjoint or exactly the same. */
smx_status smx_check_alias(const float *o, size_t ldo, const float *i, size_t ldi, size_t rows, size_t n);
#endif
