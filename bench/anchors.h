/* Anchors of the simdmax benchmark: other implementations and memory-bandwidth loops, timed in
   the same binary as the library (bench_main.cpp). All single-threaded; all rows x n contiguous
   (leading dimension n). Each optional anchor's file is compiled only when its library is found
   (SMX_BENCH_HAVE_XNNPACK, SMX_BENCH_HAVE_ONEDNN, SMX_BENCH_HAVE_SLEEF). */
#ifndef SMX_BENCH_ANCHORS_H
#define SMX_BENCH_ANCHORS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SLEEF 3-pass softmax: max pass, exp (Sleef_expf16_u10 / Sleef_expf8_u10) + sum pass storing
   the exps in y, scale pass. The *_ok() checks (in baselines.c, compiled without ISA flags) say
   whether this CPU and OS can run the file compiled with that ISA's flags; call the softmax only
   if it returns 1. */
int anchor_sleef_avx512_ok(void);
void anchor_sleef_softmax_avx512(size_t rows, size_t n, const float *x, float *y);
int anchor_sleef_avx2_ok(void);
void anchor_sleef_softmax_avx2(size_t rows, size_t n, const float *x, float *y);

/* XNNPACK softmax_nc_f32 (no thread pool: single-threaded). create() makes the operator for rows
   of n channels; NULL on failure (*why says why). run() sets it up for (rows, x, y) when they
   differ from the previous call (setup is cheap, but skipped when nothing changed) and runs it. */
typedef struct anchor_xnn anchor_xnn;
anchor_xnn *anchor_xnn_create(size_t n, const char **why);
int anchor_xnn_run(anchor_xnn *a, size_t rows, const float *x, float *y); /* 0 on success */
void anchor_xnn_destroy(anchor_xnn *a);

/* oneDNN softmax forward inference, accurate algorithm, over the last axis of rows x n (OpenMP
   limited to one thread). run() points the memory objects at x and y when they changed (cheap)
   and executes. impl: the implementation oneDNN chose (e.g. "jit:avx512_core"). */
typedef struct anchor_dnnl anchor_dnnl;
anchor_dnnl *anchor_dnnl_create(size_t rows, size_t n, const char **why);
/* The same on bfloat16 (type 1) or binary16 (type 2) tensors (type 0: f32); NULL, with why, where this oneDNN or
   this CPU has no such softmax. */
anchor_dnnl *anchor_dnnl_create_typed(size_t rows, size_t n, int type, const char **why);
int anchor_dnnl_run(anchor_dnnl *a, const void *x, void *y); /* 0 on success */
const char *anchor_dnnl_impl(const anchor_dnnl *a);
void anchor_dnnl_destroy(anchor_dnnl *a);
/* The ISA oneDNN uses (it honours ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA), and its version. */
const char *anchor_dnnl_isa(void);
const char *anchor_dnnl_version(void);
/* 1 if oneDNN's OpenMP runtime was limited to one thread (omp_set_num_threads found). */
int anchor_dnnl_single_thread(void);

/* Sort-based sparsemax: qsort of a copy (descending), prefix scan for the support size k and
   tau, then y = max(x - tau, 0). scratch: n floats. */
void anchor_sparsemax_sort(size_t rows, size_t n, const float *x, float *y, float *scratch);

/* Memory bandwidth: a read-only sum and a copy (ordinary loads and stores, like the kernels),
   over count floats, with the widest vectors this CPU has (bw_isa() names them). */
float bw_read_sum(size_t count, const float *x);
void bw_copy(size_t count, const float *x, float *y);
const char *bw_isa(void);

#ifdef __cplusplus
}
#endif
#endif
