/* The kernel table: one function type per signature kind, the table built from SMX_KERNELS, the
   per-ISA symbol names (smx_<kernel>_<isa>) and the row loops that turn a row function into a kernel. */
#ifndef SMX_KERNELS_H
#define SMX_KERNELS_H

#include "xent.h"

#define SMX_CAT2(a, b) a##_##b
#define SMX_CAT(a, b) SMX_CAT2(a, b)
/* always inlined: the vocabulary's and the bodies' step helpers, and loops specialized by constant arguments
   (ties, store, maxcheck: one copy per combination) */
#define SMX_FLATTEN static inline __attribute__((always_inline))

/* 1 while the calling thread runs a call whose output is to be streamed around the caches (dispatch/parallel.c,
   smx_set_streaming_threshold): the kernels' f32 output passes of rows longer than a block read it once a row
   (initial-exec: a load, not a call to __tls_get_addr from the shared library) */
extern _Thread_local int smx_stream_out __attribute__((tls_model("initial-exec")));

/* Kernels get a validated block of rows (the public entry points check every argument first). */
typedef void smx_MAP_fn(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy);
typedef void smx_LSE_fn(size_t rows, size_t n, const float *x, size_t ldx, float *out);
typedef void smx_BWD_fn(size_t rows, size_t n, const float *y, size_t ldy, const float *dy, size_t lddy, float *dx,
                        size_t lddx);
typedef void smx_BWDX_fn(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                         const float *dy, size_t lddy, float *dx, size_t lddx);
/* loss_rows: NULL or one float per row; returns the sum of the row losses, added in row order from 0 (test_isa) */
typedef double smx_XENT_fn(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a,
                           float *loss_rows, float *dx, size_t ldd);

/* The cross-entropy's parts in common code around the table k's softmax pieces, the same bits on every ISA
   (kernels/common/xent_soft.c), x, q and dx of element type e (SMX_ELEM_*: 16-bit rows get the f32 results on their
   widened entries, the gradient rounded once): each row's normalizer state (smx_cross_entropy_forward_f32's lse; f32
   softmax without softcap by k's logsumexp), and the loss against probability targets q (row r's loss to
   row_losses[r], and returned added to total in row order; dx: NULL or the gradient times coef, dx may be x). */
struct smx_kernels;
void smx_xent_state_rows(const struct smx_kernels *k, int normalizer, size_t rows, size_t n, const void *x,
                         size_t ldx, int e, float softcap, float *state);
double smx_xent_soft_rows(const struct smx_kernels *k, int normalizer, size_t rows, size_t n, const void *x,
                          size_t ldx, const void *q, size_t ldq, int e, float label_smoothing, float z_loss,
                          float softcap, const float *class_weight, double coef, double *row_losses, void *dx,
                          size_t ldd, double total);

/* Where softmax's pass 1 stored its values (at most SMX_STORE_MAX_BLOCKS blocks): per block, the K_b it was
   summed against, or INT32_MIN for an all -inf block (zeros stored), and the block's max. complete = 0 if a
   block was summed in the plain or low state or nothing was stored (pass 2 then starts from x). */
#define SMX_STORE_MAX_BLOCKS 256
typedef struct smx_pass1_store {
  float *y;
  size_t nstore; /* the blocks y has room for: pass 1 stores blocks [0, nstore) there */
  float *y_hi;   /* NULL, or blocks [b_hi, the last] stored from here on (a 16-bit softmax row's own output) */
  size_t b_hi;
  int complete;
  int32_t kb[SMX_STORE_MAX_BLOCKS];
  float mb[SMX_STORE_MAX_BLOCKS];
} smx_pass1_store;
static inline void smx_store_init(smx_pass1_store *st, float *y, size_t nstore) {
  st->y = y, st->nstore = nstore, st->y_hi = NULL, st->b_hi = 0, st->complete = 1;
}
/* where block b's pass-1 values go, or NULL (not kept) */
static inline float *smx_store_block(const smx_pass1_store *st, size_t b) {
  if (b < st->nstore) return st->y + b * SMX_BLOCK;
  return st->y_hi && b >= st->b_hi ? st->y_hi + (b - st->b_hi) * SMX_BLOCK : NULL;
}

/* The softmax family's row pieces, for row states and for one long row split by blocks across threads:
   lse_fold: the row state of n entries folded into s (smx_lse_block_scalar's blocks); with st (n at most
     SMX_STORE_MAX_BLOCKS blocks, st->y set), softmax's pass-1 values stored to st->y where the ISA does so;
   softmax_cols: softmax of n columns of a finite row (state f; shifted: output constants o, smx_softmax_one, from
     the values lse_fold stored (st complete) or from x; else smx_softmax_exp from x);
   log_softmax_cols: log-softmax of n columns of a finite row from its state f (the FLT_MIN rule included). */
typedef void smx_lse_fold_fn(size_t n, const float *x, smx_lse *s, smx_pass1_store *st);
/* xent_fold: the softmax cross-entropy's row state of n columns, capped first when softcap > 0, and with wz (NULL:
   no label smoothing) its smoothing sum by blocks (w: the columns' weights or NULL), as its pass 1 folds them */
typedef void smx_xent_fold_fn(size_t n, const float *x, float softcap, const float *w, smx_lse *s, smx_wzsum *wz);
typedef void smx_softmax_cols_fn(size_t n, const float *x, float *y, const smx_pass1_store *st, const smx_lse_final *f,
                                 const smx_softmax_out *o);
typedef void smx_log_softmax_cols_fn(size_t n, const float *x, float *y, const smx_lse_final *f);
/* xent_softmax_cols: the softmax cross-entropy's gradient over n columns of a finite shifted row from its output
   constants o: flush(fma(Af, p_j, -Bf w_j) dz_j/dx_j) (w: the columns' class weights or NULL; dz = 1 without a
   softcap; dx may be x) */
typedef void smx_xent_softmax_cols_fn(size_t n, const float *x, const float *w, float softcap, const smx_softmax_out *o,
                                      float Af, float Bf, float *dx);
/* xent_soft_sums: the probability-target softmax cross-entropy's loss sums over the n columns of a finite row that
   is not special (max m, -log p_j = (m - z_j) + l, z capped first when softcap > 0), continued in 16 double lanes
   (entry j in lane j % 16): Ql += wq_j, ll += smx_times(wq_j, -log p_j), wq_j = w_j q'_j (w NULL: q'_j),
   q'_j = (1 - e) q_j + off where e > 0, else q_j */
typedef void smx_xent_soft_sums_fn(size_t n, const float *x, const float *q, const float *w, float softcap, double m,
                                   double l, double e, double off, double Ql[SMX_DLANES], double ll[SMX_DLANES]);
/* xent_soft_q: their sum Ql += wq_j, continued in the same 16 double lanes;
   xent_soft_tail: over the n columns of such a row that is shifted (output constants o), ll as xent_soft_sums's with
   the gradient dx_j = xent_softmax_cols's value with b_j = (float)(coef wq_j) as its class weights and Bf = 1 */
typedef void smx_xent_soft_q_fn(size_t n, const float *q, const float *w, double e, double off, double Ql[SMX_DLANES]);
typedef void smx_xent_soft_tail_fn(size_t n, const float *x, const float *q, const float *w, float softcap, double e,
                                   double off, double coef, double m, double l, const smx_softmax_out *o, float Af,
                                   double ll[SMX_DLANES], float *dx);
/* xent_soft_group, xent_soft_stable_group: the probability-target softmax and stablemax cross-entropies (no
   softcap) of rows [0, g), g <= SMX_SOFT_GROUP, n <= SMX_BLOCK: the rows they take (done[r] = 1: a finite row,
   softmax with |max| <= 2^16, stablemax with S >= SMX_STABLE_TINY) get their loss in lr[r] and (dx not NULL) their
   gradient, the bits of xent_soft.c's row code; the others done[r] = 0, untouched. The scalar table's take none
   (the row code is the definition). z_loss: softmax only. */
#define SMX_SOFT_GROUP 16
typedef void smx_xent_soft_group_fn(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                                    const float *w, double e, float z_loss, double coef, double *lr, float *done,
                                    float *dx, size_t ldd);
typedef smx_xent_soft_group_fn smx_xent_soft_stable_group_fn;
/* sparse_group_state: sparse_row_state's m, tau and fy (no softcap) of rows [0, g), g <= SMX_SOFT_GROUP,
   n <= SMX_SPARSE_GROUP_MAX, one row per lane, for the rows it takes (fast[r] = 1: finite, and exact as the short
   rows' sums are; none on an ISA whose rows in lanes stop short of n); fast[r] = 0 for the others. The scalar
   table's takes none. */
#define SMX_SPARSE_GROUP_MAX 64
typedef void smx_sparse_group_state_fn(size_t g, size_t n, const float *x, size_t ldx, float *m, double *tau,
                                       double *fy, float *fast);
/* xent_soft_b: the gradient's class weights of probability targets, b_j = (float)(coef wq_j) (wq_j as xent_soft_sums's) */
typedef void smx_xent_soft_b_fn(size_t n, const float *q, const float *w, double e, double off, double coef, float *b);
/* xent_soft_stable_sums: the same sums with the stablemax normalizer over a finite row that is not special, -log p_j
   = top_nl where z_j == top (the row max), else L - log s(z_j) (L = log S, log s(z) by smx_log_stable64) */
typedef void smx_xent_soft_stable_sums_fn(size_t n, const float *x, const float *q, const float *w, float softcap,
                                          float top, double top_nl, double L, double e, double off,
                                          double Ql[SMX_DLANES], double ll[SMX_DLANES]);
/* sparse_row_state: the max m of z (x of element type e, SMX_ELEM_*, widened, or softcap of it where softcap > 0) and
   the row's kind (smx_row_kind_of); for a finite row tau (relative to m) and the Fenchel-Young sum fy as the sparsemax
   cross-entropy takes them (smx_sparse_start, smx_sparsemax_collect, then the buffer's or the whole row's threshold:
   kernels/ref/sparsemax.c);
   xent_soft_sparse: the probability-target sparsemax cross-entropy's sums over n columns of such a row, continued in
   16 double lanes (entry j in lane j % 16, q'_j as xent_soft_sums's): Ql += q'_j, qql += q'_j^2, ll += smx_times(q'_j,
   z_j - m), and where dx is not NULL the gradient dx_j = smx_flush_nan(((float)(p_j - q'_j) G) dz_j/dx_j), p_j =
   smx_sparse_p(z_j, m, tau) (dx may be x; a NaN of q may keep its payload there: the caller makes it quiet) */
typedef int smx_sparse_row_state_fn(size_t n, const void *x, int e, float softcap, float *m, double *tau, double *fy);
typedef void smx_xent_soft_sparse_fn(size_t n, const float *x, const float *q, float softcap, float m, double tau,
                                     double e, double off, float G, float *dx, double Ql[SMX_DLANES],
                                     double qql[SMX_DLANES], double ll[SMX_DLANES]);
/* The 16-bit conversions of n values (kernels/common/half.h defines them): bf16 != 0 bfloat16, else binary16;
   widened exactly, rounded to nearest even with one quiet NaN per type; run in the library's FP environment. */
typedef void smx_widen16_fn(int bf16, size_t n, const uint16_t *s, float *d);
typedef void smx_narrow16_fn(int bf16, size_t n, const float *s, uint16_t *d);
/* The stablemax family's row pieces, for rows taken in chunks (16-bit rows longer than the scratch):
   stable_lanes: the 16 double lanes of the s-sum continued over n entries (entry i in lane i % 16: chunks of
     multiples of 16 give the whole row's lanes); the entries equal to tie are counted in *ties and add +0 there
     (log-stablemax's max; NaN: none);
   stablemax_cols: n probabilities from the row's constants c;
   max_nan: the max of n entries (smx_row_max_scalar) and whether one is NaN;
   log_stablemax_cols: n log-probabilities of a finite row with max m (top: its entries' value; nlh, ll:
     smx_log_stable_L's parts of log S). */
typedef void smx_stable_lanes_fn(size_t n, const float *x, float tie, double lanes[SMX_DLANES], double *ties);
typedef void smx_stablemax_cols_fn(size_t n, const float *x, float *y, const smx_stable_c *c);
typedef float smx_max_nan_fn(size_t n, const float *x, int *nan);
typedef void smx_log_stablemax_cols_fn(size_t n, const float *x, float *y, float m, float top, float nlh, float ll);
/* the table's pieces beside the kernels of SMX_KERNELS (xent_stable_block, xent_stablemax_grad: kernels/common/xent.h) */
#define SMX_PIECES(X)                                                                                                \
  X(lse_fold) X(xent_fold) X(softmax_cols) X(log_softmax_cols) X(xent_softmax_cols) X(xent_soft_sums) X(widen16)      \
  X(narrow16) X(xent_stable_block) X(xent_stablemax_grad) X(stable_lanes) X(stablemax_cols) X(max_nan)               \
  X(log_stablemax_cols) X(xent_soft_b) X(xent_soft_stable_sums) X(sparse_row_state) X(xent_soft_sparse)          \
  X(xent_soft_q) X(xent_soft_tail) X(xent_soft_group) X(xent_soft_stable_group) X(sparse_group_state)
/* Kernels fused for 16-bit tensors (loads widened and stores rounded in registers): <kernel>16, with the f32
   kernel's arguments after the type flag (bf16 != 0: bfloat16, else binary16). The scalar table has those of
   SMX_FUSED16_REF only, the kernels whose rows longer than the scratch would otherwise need a heap buffer (its
   other 16-bit calls widen into a scratch or by chunks: the definition). */
typedef void smx_MAP16_fn(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, uint16_t *y, size_t ldy);
typedef void smx_LSE16_fn(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, float *out);
typedef void smx_BWD16_fn(int bf16, size_t rows, size_t n, const uint16_t *y, size_t ldy, const uint16_t *dy, size_t lddy,
                          uint16_t *dx, size_t lddx);
typedef void smx_BWDX16_fn(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, const uint16_t *y, size_t ldy,
                           const uint16_t *dy, size_t lddy, uint16_t *dx, size_t lddx);
/* XENTROW: the cross-entropy of one row (row: the f32 kernel's per-row arguments), its loss in *loss and its
   gradient in dx (NULL: none; may be x); returns 0, having written nothing, for the rows it leaves to the
   caller (softmax: a NaN or infinite logit, or |max| > 2^16 with a gradient; stablemax: a NaN or infinite logit,
   or with a gradient a sum S below SMX_STABLE_TINY; sparsemax: none). */
typedef int smx_XENTROW16_fn(int bf16, size_t n, const uint16_t *x, const smx_xent_row *row, uint16_t *dx, double *loss);
/* XENT: the softmax cross-entropy of rows as smx_XENT_fn (without the sum: the caller adds a->row_loss), setting
   left[r] (0 or 1 for each row) for the rows it leaves to the caller as XENTROW's, nothing written there. */
typedef void smx_XENT16_fn(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, const smx_xent_args *a,
                           float *loss_rows, uint16_t *dx, size_t ldd, unsigned char *left);
/* The softmax family's rows of at most smx_lane_rows_max entries run one row per vector lane, in groups while at
   least SMX_LANE_MIN_ROWS rows are left (a lane group costs about as much for 1 row as for 16); SMX_LANE_ROWS_MAX:
   the longest of them rounded up to whole steps of 16 (the groups' column arrays) */
#define SMX_LANE_ROWS_MAX 48
#define SMX_LANE_MIN_ROWS 8
/* stablemax's rows of at most this many entries run in lane groups (avx512 at 33 / 40 / 47: 0.77 / 0.98 / 1.03x the
   row path's time, avx2 at 33 / 40: 0.92 / 1.05x) */
#define SMX_STABLE_LANES_MAX 32
/* sparsemax's rows of at most this many entries (4 steps of 16 on AVX-512; of 8 on AVX2, 32) run in registers */
#define SMX_SPARSE_SHORT 64
/* The softmax family's rows of at most SMX_REG_ROWS_MAX entries (and more than their lane rows) run a row at a time
   in registers, the per-row double math of VW rows in lanes (groups of rows up to 256 entries: Zen 4, f32, 0.87-0.94x
   the time of the groups of rows at n = 160..256, 0.95-1.0x at 384..1024) */
#define SMX_REG_ROWS_MAX 256
/* groups of rows (register groups, short_rows_state) need this many: one row alone is faster by the row path */
#define SMX_GROUP_MIN_ROWS 2
/* The fused 16-bit softmax keeps the pass-1 values of rows up to this many entries in a stack scratch (60 KiB) */
#define SMX_SOFTMAX16_STORE (15 * SMX_BLOCK)
#define SMX_FUSED16(X)                                                                                   \
  X(softmax, MAP) X(log_softmax, MAP) X(logsumexp, LSE) X(softmax_backward, BWD) X(log_softmax_backward, BWD) \
  X(sparsemax, MAP) X(sparsemax_backward, BWD) X(stablemax_backward, BWDX) X(xent_softmax, XENT)     \
  X(xent_sparsemax, XENTROW) X(stablemax, MAP) X(log_stablemax, MAP) X(xent_stablemax, XENTROW)
#define SMX_FUSED16_REF(X)                                                                                 \
  X(softmax_backward, BWD) X(log_softmax_backward, BWD) X(sparsemax, MAP) X(sparsemax_backward, BWD)       \
  X(stablemax_backward, BWDX) X(xent_sparsemax, XENTROW)

/* Kernel ids, for the dispatcher's choices by kernel (SMX_KERNEL_ID_softmax, ...; 0: none named). */
#define SMX_KERNEL_ID_(name, kind, forward) SMX_KERNEL_ID_##name,
enum smx_kernel_id { SMX_KERNEL_ID_NONE, SMX_KERNELS(SMX_KERNEL_ID_) SMX_KERNEL_ID_END };
#undef SMX_KERNEL_ID_

typedef struct smx_kernels {
#define SMX_TABLE_FIELD_(name, kind, forward) smx_##kind##_fn *name;
  SMX_KERNELS(SMX_TABLE_FIELD_)
#undef SMX_TABLE_FIELD_
#define SMX_PIECE_FIELD_(name) smx_##name##_fn *name;
  SMX_PIECES(SMX_PIECE_FIELD_)
#undef SMX_PIECE_FIELD_
#define SMX_FUSED16_FIELD_(name, kind) smx_##kind##16_fn *name##16;
  SMX_FUSED16(SMX_FUSED16_FIELD_)
#undef SMX_FUSED16_FIELD_
} smx_kernels;

/* The table of the ISA of a compilation unit that defines SMX_ISA_NAME; NULL where not compiled in. */
#define SMX_TABLE_EXTERN_(name, NAME, arch, flags) extern const smx_kernels *const smx_table_##name;
SMX_ISAS(SMX_TABLE_EXTERN_)
#undef SMX_TABLE_EXTERN_

/* The active table and the table of one ISA (NULL if unsupported) (dispatch/dispatch.c). */
const smx_kernels *smx_active_kernels(void);
const smx_kernels *smx_kernels_for(smx_isa isa);
/* 1 where the vocabularies that offer one (SMX_RECIP64_NEWTON) take stablemax's 1 / (1 - x) by Newton steps rather
   than a double division: set with the tables, from the CPU (Intel: 1; AMD, whose division is faster: 0); the
   same bits either way (dispatch/dispatch.c). */
extern int smx_recip64_newton;
/* the longest rows kernel id (of the softmax family) takes in lane groups: softmax, logsumexp and the softmax
   cross-entropy 40, log-softmax 32; their longer rows up to SMX_REG_ROWS_MAX go in register groups (faster from
   there: Zen 4, rows x n = 2^16, f32, register groups over lane groups, avx512: softmax 1.08x at n = 40, 0.91x at 48,
   0.81-0.93x at 64..128; log-softmax 0.95-0.96x at 32..40, 0.76-0.86x at 48..128; logsumexp 1.06x at 40, 0.85-1.0x
   at 48..128; the cross-entropy with its gradient 0.90x at 48, 0.78-0.80x at 64..128; avx2 alike) */
static inline size_t smx_lane_rows_max(enum smx_kernel_id id) {
  return id == SMX_KERNEL_ID_log_softmax ? 32 : 40;
}

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
/* The fused 16-bit kernels from a row function over element e (its last argument, SMX_ELEM_BF16 or _F16). */
#define SMX_ROWS16_(row_e, ...)                                                                      \
  if (bf16) row_e(__VA_ARGS__, SMX_ELEM_BF16);                                                        \
  else row_e(__VA_ARGS__, SMX_ELEM_F16)
#define SMX_ROWS_MAP16(fn, row_e)                                                                    \
  void fn(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, uint16_t *y, size_t ldy) {  \
    for (size_t r = 0; r < rows; r++) { SMX_ROWS16_(row_e, n, x + r * ldx, y + r * ldy); }           \
  }
#define SMX_ROWS_BWD16(fn, row_e)                                                                    \
  void fn(int bf16, size_t rows, size_t n, const uint16_t *y, size_t ldy, const uint16_t *dy, size_t lddy, \
          uint16_t *dx, size_t lddx) {                                                               \
    for (size_t r = 0; r < rows; r++) { SMX_ROWS16_(row_e, n, y + r * ldy, dy + r * lddy, dx + r * lddx); } \
  }
#define SMX_ROWS_BWDX16(fn, row_e)                                                                   \
  void fn(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, const uint16_t *y, size_t ldy, \
          const uint16_t *dy, size_t lddy, uint16_t *dx, size_t lddx) {                              \
    for (size_t r = 0; r < rows; r++) {                                                              \
      SMX_ROWS16_(row_e, n, x + r * ldx, y + r * ldy, dy + r * lddy, dx + r * lddx);                 \
    }                                                                                                \
  }
/* (a row function returning its loss) */
#define SMX_ROWS_XENTROW16(fn, row_e)                                                                \
  int fn(int bf16, size_t n, const uint16_t *x, const smx_xent_row *row, uint16_t *dx, double *loss) { \
    *loss = bf16 ? row_e(n, x, row, dx, SMX_ELEM_BF16) : row_e(n, x, row, dx, SMX_ELEM_F16);         \
    return 1;                                                                                        \
  }

#endif
