/* Anchors of the simdmax benchmark: other implementations and memory-bandwidth loops, timed in
   the same binary as the library (bench_main.cpp). All single-threaded. */
#ifndef SMX_BENCH_ANCHORS_H
#define SMX_BENCH_ANCHORS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SLEEF 3-pass softmax: max pass, exp (Sleef_expf16_u10 / Sleef_expf8_u10) + sum pass storing
   the exps in y, scale pass. rows x n, contiguous. Available only if the CPU has the ISA. */
int anchor_sleef_avx512_ok(void);
void anchor_sleef_softmax_avx512(size_t rows, size_t n, const float *x, float *y);
int anchor_sleef_avx2_ok(void);
void anchor_sleef_softmax_avx2(size_t rows, size_t n, const float *x, float *y);

/* XNNPACK softmax_nc_f32 (no thread pool: single-threaded). create() sets up the operator for
   rows x n contiguous at x -> y; NULL on failure (*why says why). */
typedef struct anchor_xnn anchor_xnn;
anchor_xnn *anchor_xnn_create(size_t rows, size_t n, const float *x, float *y, const char **why);
int anchor_xnn_run(anchor_xnn *a); /* 0 on success */
void anchor_xnn_destroy(anchor_xnn *a);

/* oneDNN softmax v2 forward inference, accurate algorithm, over the last axis of rows x n
   (OpenMP limited to one thread). impl: the implementation oneDNN chose (e.g. "jit:avx512_core"). */
typedef struct anchor_dnnl anchor_dnnl;
anchor_dnnl *anchor_dnnl_create(size_t rows, size_t n, const float *x, float *y, const char **why);
int anchor_dnnl_run(anchor_dnnl *a);
const char *anchor_dnnl_impl(const anchor_dnnl *a);
void anchor_dnnl_destroy(anchor_dnnl *a);
/* The ISA oneDNN uses (it honours ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA). */
const char *anchor_dnnl_isa(void);

/* Sort-based sparsemax: qsort of a copy (descending), prefix scan for the support size k and
   tau, then y = max(x - tau, 0). scratch: n floats. */
void anchor_sparsemax_sort(size_t rows, size_t n, const float *x, float *y, float *scratch);

/* Memory bandwidth: a read-only sum and a copy, over count floats. */
float bw_read_sum(size_t count, const float *x);
void bw_copy(size_t count, const float *x, float *y);

#ifdef __cplusplus
}
#endif
#endif
