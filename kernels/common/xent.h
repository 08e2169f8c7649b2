/* The fused cross-entropy's shared pieces: per-row and per-call arguments, the rows loop, the per-row
   double arithmetic and the rows every implementation hands to common code (kernels/common/xent_*.c). */
#ifndef SMX_XENT_H
#define SMX_XENT_H

#include "rowstate.h"
#include "stablemax_common.h"

typedef struct smx_xent_row {
  int64_t target;            /* in [0, n) */
  float label_smoothing;
  double z_loss;             /* with class weights and MEAN: scaled to average over the counted rows */
  float softcap;
  const float *class_weight; /* NULL or n weights */
  double weight_sum;         /* sum of class_weight, or n */
  double grad_coef;          /* multiplies this row's gradient (grad_scale / mean denominator) */
} smx_xent_row;

/* A block of rows: their targets (int64 or int32; a row whose target is ignore_index gets loss 0 and a zero
   gradient), the options every row shares (row.target is set per row) and, for an upstream gradient per
   row, grad_rows: row r's grad_coef is grad_rows[r * grad_stride] (NULL: row.grad_coef for every row). */
typedef struct smx_xent_args {
  const void *targets;
  int targets_i32;
  int64_t ignore_index;
  smx_xent_row row;
  const float *grad_rows;
  size_t grad_stride;
  double *row_loss; /* NULL or one double per row: each row's loss (a split call adds them in row order) */
} smx_xent_args;

static inline int64_t smx_xent_target(const smx_xent_args *a, size_t r) {
  return a->targets_i32 ? (int64_t)((const int32_t *)a->targets)[r] : ((const int64_t *)a->targets)[r];
}

/* One row's loss; writes its gradient to dx unless dx is NULL (dx may be x). */
typedef double smx_xent_row_fn(size_t n, const float *x, const smx_xent_row *row, float *dx);

/* Row r of a block: 0 if its target is ignore_index (its gradient row d, if any, zeroed), else 1 with
   row->target and row->grad_coef set; then smx_xent_row_end records its loss lr and returns total + lr (a value,
   not through a pointer that row_loss might alias: a caller's running sum stays in a register). */
static inline int smx_xent_row_begin(const smx_xent_args *a, size_t r, size_t n, smx_xent_row *row, float *d) {
  const int64_t t = smx_xent_target(a, r);
  if (t == a->ignore_index) {
    if (d) smx_fill(n, d, 0.0f);
    return 0;
  }
  row->target = t;
  if (a->grad_rows) row->grad_coef = (double)a->grad_rows[r * a->grad_stride];
  return 1;
}
static inline double smx_xent_row_end(const smx_xent_args *a, float *loss_rows, size_t r, double lr, double total) {
  if (a->row_loss) a->row_loss[r] = lr;
  if (loss_rows) loss_rows[r] = smx_loss_value(lr);
  return total + lr;
}
/* The targets of rows r0 .. r0 + g - 1 of a group into tg; 1 when the group is plain: no class weights, no per-row
   gradients, every row counted and fast (fast NULL: all), so that each row's begin would only give its target, weight
   1 and the call's grad_coef (the common call, whose group then gathers its target logits alone) */
static inline int smx_xent_group_targets(const smx_xent_args *a, size_t r0, size_t g, const float *fast, int64_t *tg) {
  int plain = !a->row.class_weight && !a->grad_rows;
  for (size_t r = 0; r < g; r++) {
    tg[r] = smx_xent_target(a, r0 + r);
    plain &= tg[r] != a->ignore_index && (!fast || fast[r] != 0.0f);
  }
  return plain;
}
/* Rows [r0, r1) of a block through one row function (x, dx: the block's first row): loss_rows[r] (if given)
   = each row's loss (also a->row_loss); returns total plus the losses, added in row order. */
static inline double smx_xent_rows_range(size_t r0, size_t r1, size_t n, const float *x, size_t ldx,
                                         const smx_xent_args *a, float *loss_rows, float *dx, size_t ldd,
                                         smx_xent_row_fn *f, double total) {
  smx_xent_row row = a->row;
  for (size_t r = r0; r < r1; r++) {
    float *d = dx ? dx + r * ldd : NULL;
    total = smx_xent_row_end(a, loss_rows, r, smx_xent_row_begin(a, r, n, &row, d) ? f(n, x + r * ldx, &row, d) : 0.0,
                             total);
  }
  return total;
}
/* All rows of a block: returns the sum of their losses. */
static inline double smx_xent_rows(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a,
                                   float *loss_rows, float *dx, size_t ldd, smx_xent_row_fn *f) {
  return smx_xent_rows_range(0, rows, n, x, ldx, a, loss_rows, dx, ldd, f, 0.0);
}

/* The logit as the loss sees it: softcapped when row->softcap > 0 (*dz = dz/dx), else as is (*dz = 1). */
static inline float smx_xent_logit(const smx_xent_row *row, float inv_cap, float x, float *dz) {
  if (row->softcap > 0.0f) return smx_softcap(x, row->softcap, inv_cap, dz);
  *dz = 1.0f;
  return x;
}
static inline double smx_xent_weight(const smx_xent_row *row, size_t j) {
  return row->class_weight ? row->class_weight[j] : 1.0;
}
/* A row with a NaN: NaN gradient row (if any) and NaN loss. */
static inline double smx_xent_nan_row(size_t n, float *dx) {
  if (dx) smx_fill(n, dx, smx_qnan());
  return NAN;
}

/* ---- label smoothing's sum_j w_j z_j (softmax normalizer; kernels/common/xent_terms.c) ----
   Per block of SMX_BLOCK entries: 16 double lanes (entry i of the block in lane i % 16, the products w z exact in
   double, w == 0 skipped) tree-summed (smx_tree_sum16d); the blocks' values added exactly (their positive and
   negative parts in two binned sums), so the sum is a function of the set of blocks: a row of one block keeps its
   block's value, and the sums of column ranges merge exactly (the row states). Zero-initialized = empty. */
typedef struct smx_wzsum {
  smx_binsum pos, neg;
  int32_t inf; /* a block's value was 1: +inf, 2: -inf, 4: NaN */
  int32_t pad;
} smx_wzsum;
void smx_wzsum_add(smx_wzsum *s, double block);
void smx_wzsum_merge(smx_wzsum *a, const smx_wzsum *b);
double smx_wzsum_value(const smx_wzsum *s);
/* One block's lanes (z: len <= SMX_BLOCK capped logits, w: their weights or NULL), in scalar code. */
double smx_wz_block_scalar(size_t len, const float *z, const float *w);
/* The scalar table's xent_fold piece (kernels.h): per block the capped logits, their smoothing sum, their state */
void smx_xent_fold_scalar(size_t n, const float *x, float softcap, const float *w, smx_lse *s, smx_wzsum *wz);
/* The probability-target softmax row's z-loss terms (lse = m + l; z_loss 0: none), for xent_soft.c's row code and
   the vector groups alike: the gradient's A = Q + 2 z_loss lse and the loss + z_loss lse^2 */
static inline double smx_soft_z_A(double Q, float z_loss, double lse) {
  return z_loss > 0.0f ? Q + 2.0 * z_loss * lse : Q;
}
static inline double smx_soft_z_loss(double loss, float z_loss, double lse) {
  return z_loss > 0.0f ? loss + z_loss * lse * lse : loss;
}
/* The scalar table's xent_soft_sums, xent_soft_q, xent_soft_tail, xent_soft_b, xent_soft_stable_sums,
   xent_soft_sparse, xent_soft_group and xent_soft_stable_group pieces (kernels.h; kernels/common/xent_soft.c) */
void smx_xent_soft_q_scalar(size_t n, const float *q, const float *w, double e, double off, double Ql[SMX_DLANES]);
void smx_xent_soft_tail_scalar(size_t n, const float *x, const float *q, const float *w, float softcap, double e,
                               double off, double coef, double m, double l, const smx_softmax_out *o, float Af,
                               double ll[SMX_DLANES], float *dx);
void smx_xent_soft_group_scalar(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                                const float *w, double e, float z_loss, double coef, double *lr, float *done,
                                float *dx, size_t ldd);
void smx_xent_soft_stable_group_scalar(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                                       const float *w, double e, float z_loss, double coef, double *lr, float *done,
                                       float *dx, size_t ldd);
void smx_xent_soft_b_scalar(size_t n, const float *q, const float *w, double e, double off, double coef, float *b);
void smx_xent_soft_sums_scalar(size_t n, const float *x, const float *q, const float *w, float softcap, double m,
                               double l, double e, double off, double Ql[SMX_DLANES], double ll[SMX_DLANES]);
void smx_xent_soft_stable_sums_scalar(size_t n, const float *x, const float *q, const float *w, float softcap, float top,
                                      double top_nl, double L, double e, double off, double Ql[SMX_DLANES],
                                      double ll[SMX_DLANES]);
void smx_xent_soft_sparse_scalar(size_t n, const float *x, const float *q, float softcap, float m, double tau, double e,
                                 double off, float G, float *dx, double Ql[SMX_DLANES], double qql[SMX_DLANES],
                                 double ll[SMX_DLANES]);

/* The softmax cross-entropy of one row in scalar code (kernels/common/xent_softmax_row.c): the reference,
   and the SIMD kernels' path for rows with NaN, infinite logits or |max| > 2^16. */
double smx_xent_softmax_row(size_t n, const float *x, const smx_xent_row *row, float *dx);

/* Softmax cross-entropy of a finite row from its state f, the (capped) target logit zt, its weight
   wt, sum_j w_j z_j (label smoothing) and pt_m1 = p_t - 1 (smx_xent_pt_m1): the row loss and
   the gradient coefficients dx_j = A p_j - (eps/n) w_j (j != t), dx_t = gt, before grad_coef and softcap
   (kernels/common/xent_terms.c). */
void smx_xent_softmax_terms(size_t n, const smx_lse_final *f, float zt, double wt, double sum_wz, double pt_m1,
                            const smx_xent_row *row, double *loss, double *A, double *gt);
/* p_t - 1 = expm1(z_t - m - l) where a gradient is wanted (grad), else 0: only the gradient's gt uses it (the SIMD
   kernels' short rows take it in one vd lane per row) */
static inline double smx_xent_pt_m1(const smx_lse_final *f, float zt, int grad) {
  return grad ? smx_expm1_64(((double)zt - (double)f->m) - f->l) : 0.0;
}
/* Stablemax cross-entropy loss of a finite row from its double logs l1p = log1p(O / s_t) = -log p_t and
   log_s = log S (label smoothing only; smx_xent_stablemax_logs), s_t = s(zt), O the sum of the other s(z_j),
   S = O + s_t, sum_wlog_s = sum_j w_j log s(z_j) (used with label smoothing only). */
double smx_xent_stablemax_loss(size_t n, double l1p, double log_s, double sum_wlog_s, double wt,
                               const smx_xent_row *row);
/* Loss of a softmax/stablemax row with +inf logits (p = pinf on them) or only -inf logits (p = 0):
   the formula with -log 0 = +inf and zero-coefficient terms vanishing (smx_times). Label smoothing's
   -sum_j w_j log p_j is +inf when an entry of nonzero weight is not +inf (weighted_other), else
   W (-log pinf) (every weight then sits on a +inf entry; 0 when W = 0): smx_xent_special_smoothing. */
double smx_xent_special_loss(size_t n, const float *x, const smx_xent_row *row, double wt, float pinf);
/* the same from p_t (pinf where the target's logit is +inf, else 0) and weighted_other, which the row states carry */
double smx_xent_special_loss_of(size_t n, const smx_xent_row *row, double wt, double pt, float pinf, int weighted_other);
/* whether an entry of x is not +inf and has a nonzero weight (w: n class weights, or NULL: all 1) */
int smx_xent_weighted_other(size_t n, const float *x, const float *w);
double smx_xent_special_smoothing(size_t n, const smx_xent_row *row, float pinf, int weighted_other);
/* A row with +inf logits (POSINF) or only -inf ones: k = the +inf count, pinf = 1 / k (0 if none), the p of
   each +inf logit; returns p_t */
double smx_xent_special_p(size_t n, const float *x, const smx_xent_row *row, enum smx_row_kind kind, float *pinf,
                          double *k);
/* Sparsemax cross-entropy (Fenchel-Young) loss of a finite row with max m from its threshold tau and
   Fenchel-Young sum fy (relative to m, smx_sparsemax_fy); p_t relative to m; sum_z = sum of the logits
   (0 without label smoothing), qq = |q|^2 of the target distribution. */
double smx_xent_sparsemax_loss(size_t n, double tau, double fy, float m, float zt, double sum_z, double wt, double qq,
                               const smx_xent_row *row, double *pt);
/* The sparsemax loss of a row with +inf or only -inf logits (k = the +inf count, xt the target's logit; its limit,
   see the header). */
static inline double smx_xent_sparsemax_special_loss(float xt, const smx_xent_row *row, size_t n, double k, double wt,
                                                     double qq) {
  const int finite = xt == INFINITY && (row->label_smoothing == 0.0f || k == (double)n);
  return finite ? smx_times(wt, 0.5 * (qq - 1.0 / k)) : INFINITY;
}

/* ---- the stablemax cross-entropy's sums (kernels/common/xent_terms.c) ----
   Per block of SMX_BLOCK entries (z = the capped logits), in 16 double lanes (entry i of the block in lane
   i % 16) tree-summed (smx_tree_sum16d): S_b = sum s(z_j), W_b = sum w_j log s(z_j) (w == 0 skipped; label
   smoothing only) and, in the block holding the target t, O_b = the sum without j = t (that step adds +0 in
   its lane). The row's S is the exact sum of the S_b, O that of the S_b of the other blocks and O_b (the
   target block's S_b taken out of S's exact sum again, so that a row state, which knows no target, gives the
   same O), W the blocks' W_b added as label smoothing's smx_wzsum adds them: all functions of the set of
   blocks, so row states of column ranges merge to the whole row's (dispatch/shard.c), and a row of one block
   keeps its block's values. */
/* An exact sum of nonnegative doubles whose bits lie in [2^-192, 2^192) (every S_b: s(z) is in [2^-128.1, 2^128],
   a block of 1024 below 2^138, its lowest bit above 2^-182): 32-bit chunks at fixed absolute positions (bin i
   holds bits [32 (i - 6), 32 (i - 5))) summed in 64-bit integers, so terms can be taken out exactly
   (sign -1); +inf and NaN terms are counted. Zero-initialized = empty. */
#define SMX_EXSUM_BINS 12
typedef struct smx_exsum {
  uint64_t b[SMX_EXSUM_BINS];
  int64_t inf, nan;
} smx_exsum;
void smx_exsum_add(smx_exsum *s, double v, int sign);
void smx_exsum_merge(smx_exsum *a, const smx_exsum *b);
double smx_exsum_value(const smx_exsum *s);
/* One block's sums (len <= SMX_BLOCK raw logits x of element e (SMX_ELEM_*), capped by softcap > 0; t: the target's
   index in the block, or >= len; w: the block's class weights or NULL): out[0] = S_b, out[1] = O_b (S_b without a
   target), out[2] = W_b (0 unless eps > 0). A table piece (kernels.h); this is the scalar one. */
typedef void smx_xent_stable_block_fn(size_t len, const void *x, int e, size_t t, float softcap, float eps,
                                      const float *w, double out[3]);
void smx_xent_stable_block_scalar(size_t len, const void *x, int e, size_t t, float softcap, float eps, const float *w,
                                  double out[3]);
/* A row's S, O and W (*wls) from its blocks (of element e), each by blk */
double smx_xent_stable_sums(size_t n, const void *x, int e, const smx_xent_row *row, smx_xent_stable_block_fn *blk,
                            double *O, double *wls);
/* O from an exact sum of every block's S_b and the target block's S_b and O_b */
static inline double smx_xent_stable_other(const smx_exsum *all, double S_t, double O_t) {
  smx_exsum e = *all;
  smx_exsum_add(&e, S_t, -1), smx_exsum_add(&e, O_t, 1);
  return smx_exsum_value(&e);
}

/* The per-row scalar parts of the stablemax cross-entropy, around each implementation's sums (above):
   S, O = the sum of s(z_j) over j != t, sum_wlog_s = sum_j w_j log s(z_j) (label smoothing). begin returns 0
   for a NaN row (dx filled, loss NaN); grad_scalar writes every dx_j (the reference; the SIMD kernels'
   non-finite and tiny-sum rows), target the dx_t entry. begin is the row's kind (from x, only where S is not
   in [SMX_STABLE_TINY, inf)) and smx_xent_stablemax_terms: z_t, s_t, logs (log1p(O / s_t), log S) and post
   (smx_xent_stablemax_loss, the gradient's constants) in kernels/common/xent_terms.c; for rows with S in
   [SMX_STABLE_TINY, inf) the SIMD kernels take the double arithmetic of terms and target for 8 rows at once,
   one vd lane per row, with the same operations (kernels/simd/stablemax.h). */
typedef struct smx_xent_stable {
  enum smx_row_kind kind;
  float zt, dzt, pinf, Af, Bf;
  smx_stable_c c;
  int tiny;
  double O, S, st, wt, pt, loss;
} smx_xent_stable;
int smx_xent_stablemax_begin(size_t n, const float *x, const smx_xent_row *row, double S, double O, double sum_wlog_s,
                             float *dx, smx_xent_stable *s);
/* The same for a row whose kind is known (not NaN): s->kind, s->zt and s->dzt set; kinf = the +inf count,
   xt_inf = whether the target's logit is +inf, weighted_other as smx_xent_special_smoothing's (the row
   states' shards) */
void smx_xent_stablemax_terms(size_t n, const smx_xent_row *row, double S, double O, double sum_wlog_s, double kinf,
                              int xt_inf, int weighted_other, smx_xent_stable *s);
/* (grad is a table piece: each ISA's vectors for finite rows with S in [SMX_STABLE_TINY, inf), this otherwise) */
typedef void smx_xent_stablemax_grad_fn(size_t n, const float *x, const smx_xent_row *row, const smx_xent_stable *s,
                                        float *dx);
smx_xent_stablemax_grad_fn smx_xent_stablemax_grad_scalar;
void smx_xent_stablemax_target(size_t n, const smx_xent_row *row, const smx_xent_stable *s, float *dx);
/* that entry's value, flushed (the fused 16-bit row stores it rounded) */
float smx_xent_stablemax_dxt(size_t n, const smx_xent_row *row, const smx_xent_stable *s);

/* The same for the sparsemax cross-entropy around the row max m (of the capped logits) and its NaN flag:
   begin (x of element e, SMX_ELEM_*) sets the loss of non-finite rows and returns 0 for a NaN row (loss NaN; the
   caller fills dx with the quiet NaN); finite rows: s->loss, s->pt, s->tau from smx_xent_sparsemax_loss. */
typedef struct smx_xent_sparse {
  enum smx_row_kind kind;
  float m, zt, dzt, pinf, Gf, qf;
  double wt, q_t, qq, loss, pt, tau;
} smx_xent_sparse;
int smx_xent_sparsemax_begin(size_t n, const void *x, int e, const smx_xent_row *row, float m, int nan,
                             smx_xent_sparse *s);
/* the gradient of every entry (x and dx of element e; the reference, and the SIMD kernels' non-finite rows) */
void smx_xent_sparsemax_grad_elem(size_t n, const void *x, int e, const smx_xent_row *row, const smx_xent_sparse *s,
                                  void *dx);
/* the gradient's target entry dx_t */
static inline float smx_xent_sparsemax_dxt(const smx_xent_row *row, const smx_xent_sparse *s) {
  return smx_flush((float)(row->grad_coef * s->wt * (s->pt - s->q_t)) * s->dzt);
}

#endif
