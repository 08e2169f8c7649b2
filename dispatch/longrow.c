/* Long rows of softmax, log-softmax, logsumexp (f32 and 16-bit) and the f32 softmax and stablemax cross-entropies
   split by blocks across the calling thread's tasks, with the bits of one thread: the tasks' row states merge
   exactly into the whole row's (smx_lse_merge), and the output pass is split by columns (the cross-entropy's as
   shards of the row, dispatch/shard.c). */
#include <stdlib.h>

#include "fpenv.h"
#include "parallel.h"

#define SMX_LONG_ROW ((size_t)1 << 16) /* rows this long are split by blocks (shorter: not worth two dispatches) */
#define SMX_LONG_TASKS_PER_THREAD 2
#define LONG16_MAX_TASKS 64 /* 16-bit rows: the tasks' states on the stack (no heap), 168 bytes each */

typedef struct {
  const smx_kernels *k;
  size_t n, cols; /* entries, columns per task (whole blocks) */
  const float *x;
  float *y;
  const uint16_t *x16; /* 16-bit rows (then x and y are NULL): widened and rounded by chunks in each task */
  uint16_t *y16;
  int bf16;
  smx_lse *st;           /* one state per task */
  smx_pass1_store *store; /* softmax with y != x and few enough blocks per task: one per task, else NULL */
  const smx_softmax_out *o; /* softmax: the output constants, else log-softmax from f */
  const smx_lse_final *f;
} long_row;

static void fold_task(void *ctx, size_t t) {
  const long_row *l = ctx;
  const size_t c0 = t * l->cols, len = l->n - c0 < l->cols ? l->n - c0 : l->cols;
  smx_pass1_store *st = l->store ? &l->store[t] : NULL;
  if (st) smx_store_init(st, l->y + c0, SMX_STORE_MAX_BLOCKS);
  smx_lse_init(&l->st[t]);
  if (!l->x16) {
    l->k->lse_fold(len, l->x + c0, &l->st[t], st);
    return;
  }
  float S[SMX_CHUNK16];
  smx_lse_fold16(l->k, l->bf16, len, l->x16 + c0, &l->st[t], S);
}

static void out_task(void *ctx, size_t t) {
  const long_row *l = ctx;
  const size_t c0 = t * l->cols, len = l->n - c0 < l->cols ? l->n - c0 : l->cols;
  if (!l->x16) {
    if (l->o) l->k->softmax_cols(len, l->x + c0, l->y + c0, l->store ? &l->store[t] : NULL, l->f, l->o);
    else l->k->log_softmax_cols(len, l->x + c0, l->y + c0, l->f);
    return;
  }
  float S[SMX_CHUNK16], Y[SMX_CHUNK16]; /* (f: finite and shifted) */
  smx_family16_cols(l->k, l->bf16, len, l->x16 + c0, l->y16 + c0, l->f, l->o, l->o == NULL, 0.0, S, Y);
}

/* the tasks' states merged left to right and finished; 0 for a row whose merged state is not exactly the
   one-thread state (a max beyond SMX_SHIFT_MAX or no block in range: plain states fold in order) or whose
   output is not by the split passes (NaN, +inf, all -inf, not shifted) */
static int merge_finish(const long_row *l, size_t tasks, smx_lse_final *f, int need_log) {
  smx_lse s = l->st[0];
  for (size_t t = 1; t < tasks; t++) smx_lse_merge(&s, &l->st[t]);
  if (s.nan || s.plain || !s.in) return 0;
  smx_lse_finish(&s, f, need_log);
  return f->kind == SMX_ROW_FINITE && f->shifted;
}

/* cross-entropy rows (f32 or 16-bit) one by one, each split by blocks as shards of itself (smx_xent_long_row);
   ignored rows and the rows it leaves by the kernel on this thread */
static void xent_long_rows(const smx_rows_job *j, size_t want) {
  const int norm = j->id == SMX_KERNEL_ID_xent_stablemax ? SMX_NORM_STABLEMAX : SMX_NORM_SOFTMAX;
  const int half = j->x16 != NULL;
  for (size_t r = 0; r < j->rows; r++) {
    smx_xent_row row = j->xa->row;
    double lr;
    const void *x = half ? (const void *)(j->x16 + r * j->ldx) : (const void *)(j->x + r * j->ldx);
    void *d = half ? (j->out16 ? (void *)(j->out16 + r * j->ldo) : NULL) : (j->out ? (void *)(j->out + r * j->ldo) : NULL);
    if (smx_xent_row_begin(j->xa, r, j->n, &row, NULL) &&
        smx_xent_long_row(j->k, norm, half ? j->bf16 : -1, j->n, x, &row, d, want, &lr)) {
      j->row_losses[r - j->losses_row0] = lr;
      if (j->loss_rows) j->loss_rows[r] = smx_loss_value(lr);
    } else {
      SMX_IN_FPENV(j->run(j, r, r + 1));
    }
  }
}

int smx_run_long_rows(const smx_rows_job *j) {
  const int softmax = j->id == SMX_KERNEL_ID_softmax, lse = j->id == SMX_KERNEL_ID_logsumexp;
  const int xent = j->id == SMX_KERNEL_ID_xent_softmax || j->id == SMX_KERNEL_ID_xent_stablemax;
  if (!(softmax || lse || xent || j->id == SMX_KERNEL_ID_log_softmax) || j->n < SMX_LONG_ROW) return 0;
  const int half = j->x16 != NULL;
  const size_t blocks = (j->n + SMX_BLOCK - 1) / SMX_BLOCK;
  size_t want = smx_get_num_threads() * SMX_LONG_TASKS_PER_THREAD;
  if (xent) {
    xent_long_rows(j, want);
    return 1;
  }
  if (half && want > LONG16_MAX_TASKS) want = LONG16_MAX_TASKS;
  long_row l = {.k = j->k, .n = j->n, .cols = (blocks + want - 1) / want * SMX_BLOCK, .bf16 = j->bf16};
  const size_t tasks = (j->n + l.cols - 1) / l.cols;
  /* f32 softmax out of place keeps its pass-1 values in y (a store per task); 16-bit rows compute them again */
  const int store = !half && softmax && j->out != j->x && l.cols <= SMX_STORE_MAX_BLOCKS * SMX_BLOCK;
  smx_lse states16[LONG16_MAX_TASKS];
  if (half) l.st = states16;
  else if (!(l.st = malloc(tasks * (sizeof *l.st + (store ? sizeof *l.store : 0))))) return 0;
  if (store) l.store = (smx_pass1_store *)(l.st + tasks);
  for (size_t r = 0; r < j->rows; r++) {
    if (half) l.x16 = j->x16 + r * j->ldx, l.y16 = lse ? NULL : j->out16 + r * j->ldo;
    else l.x = j->x + r * j->ldx, l.y = lse ? NULL : j->out + r * j->ldo;
    smx_run_tasks(fold_task, &l, tasks);
    smx_lse_final f;
    smx_softmax_out o;
    int split;
    const smx_fpenv env = smx_fpenv_enter();
    if ((split = merge_finish(&l, tasks, &f, !softmax)) && softmax) smx_softmax_out_init(&f, &o);
    smx_fpenv_leave(env);
    if (!split) { /* the rare rows: the kernel on this thread */
      SMX_IN_FPENV(j->run(j, r, r + 1));
    } else if (lse) {
      j->out[r] = f.lse;
    } else {
      l.o = softmax ? &o : NULL, l.f = &f;
      smx_run_tasks(out_task, &l, tasks);
    }
  }
  if (!half) free(l.st);
  return 1;
}
