/* Rows of one validated call on several threads: the calling thread's setting (smx_set_num_threads or
   smx_set_parallel_for), contiguous tasks of whole rows, each row computed by exactly one task. */
#ifndef SMX_PARALLEL_H
#define SMX_PARALLEL_H
#include "dispatch.h"

typedef struct smx_rows_job smx_rows_job;
struct smx_rows_job {
  void (*run)(const smx_rows_job *j, size_t r0, size_t r1); /* the kernel on rows [r0, r1) */
  const smx_kernels *k;
  size_t rows, n;
  const float *x, *y, *dy;
  size_t ldx, ldy, lddy;
  float *out;
  size_t ldo;
  const smx_xent_args *xa; /* XENT: the rows' arguments, each row's loss in row_losses */
  float *loss_rows;
  double *row_losses;
  smx_XENT_fn *xent; /* the normalizer's XENT kernel */
};

/* Runs job->run over all rows (in the FP environment of fpenv.h on every thread). */
void smx_run_rows(const smx_rows_job *job);

#endif
