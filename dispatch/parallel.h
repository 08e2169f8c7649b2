/* Rows of one validated call on several threads: the calling thread's setting (smx_set_num_threads or
   smx_set_parallel_for), contiguous tasks of whole rows, each row computed by exactly one task. */
#ifndef SMX_PARALLEL_H
#define SMX_PARALLEL_H
#include "dispatch.h"

typedef struct smx_rows_job smx_rows_job;
struct smx_rows_job {
  void (*run)(const smx_rows_job *j, size_t r0, size_t r1); /* the kernel on rows [r0, r1) */
  enum smx_kernel_id id;
  const smx_kernels *k;
  size_t rows, n;
  const float *x, *y, *dy;
  size_t ldx, ldy, lddy;
  float *out;
  size_t ldo;
  const smx_xent_args *xa; /* XENT: the rows' arguments, row r's loss in row_losses[r - losses_row0] */
  float *loss_rows;
  double *row_losses;
  size_t losses_row0;
  smx_XENT_fn *xent; /* the normalizer's XENT kernel */
  const uint16_t *x16; /* 16-bit rows of the softmax family (dispatch/half.c): x16, out16 at ldx, ldo, in place of x, */
  uint16_t *out16;     /* out (logsumexp's out stays float); bf16: bfloat16, else binary16 */
  int bf16;
};

/* Runs job->run over all rows (in the FP environment of fpenv.h on every thread); fewer long rows of the
   softmax family than threads go one at a time, each split by blocks (smx_run_long_rows). */
void smx_run_rows(const smx_rows_job *job);
/* whether smx_run_rows splits a job of rows x n across threads (the calling thread's setting) */
int smx_rows_threaded(size_t rows, size_t n);
/* task(ctx, i) for i in [0, count) on the calling thread's setting, each task in the FP environment of fpenv.h. */
void smx_run_tasks(smx_task_fn task, void *ctx, size_t count);
/* The rows of a softmax, log-softmax or logsumexp job (f32 or 16-bit) or of an f32 softmax or stablemax
   cross-entropy one by one, each split by blocks across the tasks with the bits of one thread
   (dispatch/longrow.c); returns 0, having done nothing, for any other job. */
int smx_run_long_rows(const smx_rows_job *job);

#endif
