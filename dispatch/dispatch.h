/* Dispatch internals: CPU feature bits and argument checks shared by the entry points. */
#ifndef SMX_DISPATCH_H
#define SMX_DISPATCH_H
#include "kernels.h"

/* Bit (1 << isa) for every ISA of SMX_ISAS that this CPU and OS support (scalar always). */
unsigned smx_cpu_features(void);
/* The x86 vendor (cpuid's string) and family (base + extended: 0x19 Zen 3 and Zen 4, 0x1a Zen 5); zeros elsewhere. */
typedef struct {
  int intel, amd;
  unsigned family;
} smx_cpu_id;
smx_cpu_id smx_cpu_identify(void);
/* 1 where table k's fused 16-bit softmax family is faster than the f32 scratch also for rows in cache
   (dispatch/half.c says where it was measured): the AVX-512 tables on Intel and on Zen 4. */
int smx_fused16_in_cache(const smx_kernels *k);
/* the softmax family's 16-bit rows of more entries than this go fused in cache where smx_fused16_in_cache holds (the
   forward kernels, half.c, and the cross-entropy, xent.c: measured there) */
#define SMX_FUSED16_CACHE_MIN_N (3 * SMX_BLOCK / 4)

/* Bytes spanned by a rows x n matrix with leading dimension ld; 0 on overflow. */
size_t smx_span_bytes(size_t rows, size_t n, size_t ld);
/* 1 if byte ranges [a, a+na) and [b, b+nb) overlap. */
int smx_overlap(const void *a, size_t na, const void *b, size_t nb);
/* An output (o, ldo) against an input (i, ldi), both rows x n: OK when disjoint or exactly the same. */
smx_status smx_check_alias(const float *o, size_t ldo, const float *i, size_t ldi, size_t rows, size_t n);
/* Record "fmt" (printf-style) as this thread's smx_last_error_message and return s. */
smx_status smx_fail(smx_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Shape of one matrix argument named `what` of function `fn`: n > 0, ld >= n, the span fits in size_t. */
smx_status smx_check_matrix(const char *fn, const char *what, size_t rows, size_t n, size_t ld);
/* An output (o, ldo) named `what` against an input (i, ldi) named `in`: OK when disjoint or exactly the same. */
smx_status smx_check_out(const char *fn, const char *what, const float *o, size_t ldo, const char *in, const float *i,
                         size_t ldi, size_t rows, size_t n);
/* The cross-entropy options of function fn for rows of n classes (soft: probability targets) (dispatch/xent.c). */
smx_status smx_xent_check_options(const char *fn, const smx_xent_options *o, size_t n, int soft);
/* The sum of the class weights w[0 .. n) in the cross-entropy's fixed order, or n without weights (dispatch/xent.c). */
double smx_xent_weight_sum(size_t n, const float *w);
/* rows x n 16-bit values (bf16 or f16) at stride ld16 widened into floats at stride ld32, or floats rounded into
   16-bit values, by the table's pieces: one call when both sides are contiguous (dispatch/half.c; a call per short
   row cost about 5 ns a row). */
void smx_widen16_rows(const smx_kernels *k, int bf16, size_t rows, size_t n, const uint16_t *x, size_t ld16, float *y,
                      size_t ld32);
void smx_narrow16_rows(const smx_kernels *k, int bf16, size_t rows, size_t n, const float *x, size_t ld32, uint16_t *y,
                       size_t ld16);
/* 16-bit rows taken in chunks: SMX_CHUNK16 entries (whole blocks, so multiples of the 16 lanes) widened at a time
   into float buffers on the stack (dispatch/half.c, longrow.c, shard.c); the length of the chunk at c < n. */
#define SMX_CHUNK16 (8 * SMX_BLOCK)
static inline size_t smx_chunk16_len(size_t n, size_t c) { return n - c < SMX_CHUNK16 ? n - c : SMX_CHUNK16; }
/* n 16-bit entries folded into the row state s by chunks widened into S (SMX_CHUNK16 floats): the state lse_fold
   gives the widened entries in one go (dispatch/half.c). */
void smx_lse_fold16(const smx_kernels *k, int bf16, size_t n, const uint16_t *x, smx_lse *s, float *S);
/* The softmax (log_out 0) or log-softmax of n 16-bit entries of a row with state f (o: softmax's output constants
   when f is finite and shifted; kinf: the +inf count of a POSINF row), by chunks widened into S and computed into
   Y (SMX_CHUNK16 floats each), rounded into y (dispatch/half.c). */
void smx_family16_cols(const smx_kernels *k, int bf16, size_t n, const uint16_t *x, uint16_t *y, const smx_lse_final *f,
                       const smx_softmax_out *o, int log_out, double kinf, float *S, float *Y);
/* One softmax or stablemax cross-entropy row of n 16-bit logits (bf16 or f16) on the stack, any n: its row state
   folded over widened chunks, then the row as a shard of itself (dispatch/shard.c): exactly the f32 kernel's row on
   the widened logits, the gradient dx (or NULL; may be x) rounded once. Returns the row's loss. */
double smx_xent16_row_chunked(const smx_kernels *k, int normalizer, int bf16, size_t n, const uint16_t *x,
                              const smx_xent_row *row, uint16_t *dx);
/* One long cross-entropy row (the softmax or stablemax normalizer, row: its arguments, target not ignored; t16: -1
   for f32 logits and gradient, else 16-bit ones, 1 bfloat16, 0 binary16) split by whole blocks into about `tasks`
   tasks (at most 32) run by smx_run_tasks (dispatch/parallel.h): each task's row state (16-bit columns widened by
   chunks), the states merged left to right, then each task's columns as a shard of the row (dispatch/shard.c). The
   bits of the fused kernel on one thread; no heap; returns 0, having written nothing, where the merged state would
   not give them (a softmax row whose max is finite and beyond 2^16). */
int smx_xent_long_row(const smx_kernels *k, int normalizer, int t16, size_t n, const void *x, const smx_xent_row *row,
                      void *dx, size_t tasks, double *loss);
#endif
