/* The kernel table: one function type per signature kind, the table built from SMX_KERNELS, the
   per-ISA symbol names (smx_<kernel>_<isa>) and the row loops that turn a row function into a kernel. */
#ifndef SMX_KERNELS_H
#define SMX_KERNELS_H

#include "xent.h"

#define SMX_CAT2(a, b) a##_##b
#define SMX_CAT(a, b) SMX_CAT2(a, b)

/* Kernels get a validated block of rows (the public entry points check every argument first). */
typedef void smx_MAP_fn(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy);
typedef void smx_LSE_fn(size_t rows, size_t n, const float *x, size_t ldx, float *out);
typedef void smx_BWD_fn(size_t rows, size_t n, const float *y, size_t ldy, const float *dy, size_t lddy, float *dx,
                        size_t lddx);
typedef void smx_BWDX_fn(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                         const float *dy, size_t lddy, float *dx, size_t lddx);
/* loss_rows: NULL or one float per row; returns the sum of the row losses */
typedef double smx_XENT_fn(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a,
                           float *loss_rows, float *dx, size_t ldd);

/* The cross-entropy's parts in common scalar code, the same on every ISA (kernels/common/xent_soft.c):
   each row's normalizer state (smx_cross_entropy_forward_f32's lse; softmax without softcap by the given
   logsumexp kernel), and the loss against probability targets q (loss_rows: NULL or one float per row; dx:
   NULL or the gradient times coef; returns the sum of the row losses). */
void smx_xent_state_rows(smx_LSE_fn *logsumexp, int normalizer, size_t rows, size_t n, const float *x, size_t ldx,
                         float softcap, float *state);
double smx_xent_soft_rows(int normalizer, size_t rows, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                          float label_smoothing, float z_loss, float softcap, const float *class_weight, double coef,
                          float *loss_rows, float *dx, size_t ldd);

typedef void smx_lse_fold_fn(size_t n, const float *x, smx_lse *s);
typedef struct smx_kernels {
#define SMX_TABLE_FIELD_(name, kind, forward) smx_##kind##_fn *name;
  SMX_KERNELS(SMX_TABLE_FIELD_)
#undef SMX_TABLE_FIELD_
  smx_lse_fold_fn *lse_fold; /* the softmax row state of n entries folded into s (smx_lse_block_scalar's blocks) */
} smx_kernels;

/* The table of the ISA of a compilation unit that defines SMX_ISA_NAME; NULL where not compiled in. */
#define SMX_TABLE_EXTERN_(name, NAME, arch, flags) extern const smx_kernels *const smx_table_##name;
SMX_ISAS(SMX_TABLE_EXTERN_)
#undef SMX_TABLE_EXTERN_

/* The active table and the table of one ISA (NULL if unsupported) (dispatch/dispatch.c). */
const smx_kernels *smx_active_kernels(void);
const smx_kernels *smx_kernels_for(smx_isa isa);

/* Kernel `fn` of each kind from a function of one row (name the kernel SMX_KERNEL_NAME(kernel)). */
#define SMX_KERNEL_NAME(kernel) SMX_CAT(smx_##kernel, SMX_ISA_NAME)
#define SMX_ROWS_MAP(fn, row_fn)                                                                     \
  void fn(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {                \
    for (size_t r = 0; r < rows; r++) row_fn(n, x + r * ldx, y + r * ldy);                          \
  }
#define SMX_ROWS_LSE(fn, row_fn)                                                                     \
  void fn(size_t rows, size_t n, const float *x, size_t ldx, float *out) {                          \
    for (size_t r = 0; r < rows; r++) out[r] = row_fn(n, x + r * ldx);                              \
  }
#define SMX_ROWS_BWD(fn, row_fn)                                                                     \
  void fn(size_t rows, size_t n, const float *y, size_t ldy, const float *dy, size_t lddy, float *dx, \
          size_t lddx) {                                                                             \
    for (size_t r = 0; r < rows; r++) row_fn(n, y + r * ldy, dy + r * lddy, dx + r * lddx);         \
  }
#define SMX_ROWS_BWDX(fn, row_fn)                                                                    \
  void fn(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy, const float *dy, \
          size_t lddy, float *dx, size_t lddx) {                                                     \
    for (size_t r = 0; r < rows; r++) row_fn(n, x + r * ldx, y + r * ldy, dy + r * lddy, dx + r * lddx); \
  }
#define SMX_ROWS_XENT(fn, row_fn)                                                                    \
  double fn(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a, float *loss_rows, \
            float *dx, size_t ldd) {                                                                 \
    return smx_xent_rows(rows, n, x, ldx, a, loss_rows, dx, ldd, row_fn);                            \
  }

#endif
