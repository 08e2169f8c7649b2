/* Scalar reference: softmax, log-softmax, logsumexp (blocked online normalizer, 64 lanes). */
#include "smx_internal.h"

/* One block: lane maxima -> m_b; then, in the shifted state, the lanes of exp(x) 2^(64 - K) over the
   entries below the running max, ties counted; in the plain state the TwoSum sums of rowstate.c. */
void smx_lse_block_scalar(const float *x, size_t len, smx_lse *s) {
  float lm[SMX_LANES], ls[SMX_LANES];
  int nan = 0;
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY, ls[l] = 0.0f;
  for (size_t i = 0; i < len; i++) {
    lm[i % SMX_LANES] = smx_maxf(x[i], lm[i % SMX_LANES]);
    nan |= x[i] != x[i];
  }
  const float m_b = smx_tree_max64(lm);
  const int mode = smx_lse_begin_block(s, m_b, nan);
  double k = 0.0, r;
  if (mode == 1) {
    const float magic = smx_shift_magic(s->K - SMX_SUM_BIAS);
    for (size_t i = 0; i < len; i++) {
      int tie = x[i] == s->m;
      k += tie;
      ls[i % SMX_LANES] += tie ? 0.0f : smx_exp_shift(x[i], magic, SMX_KEEP_SUM);
    }
    smx_lse_end_block(s, k, smx_tree_sum64(ls));
  } else if (mode == 0) {
    smx_lse_block_plain(x, len, m_b, &k, &r);
    smx_lse_add_block(s, m_b, k, r);
  }
}

void smx_lse_row_scalar(size_t n, const float *x, smx_lse_final *f, int need_log) {
  smx_lse s;
  smx_lse_init(&s);
  for (size_t b = 0; b < n; b += SMX_BLOCK) smx_lse_block_scalar(x + b, n - b < SMX_BLOCK ? n - b : SMX_BLOCK, &s);
  smx_lse_finish(&s, f, need_log);
}

static void softmax_scalar(size_t n, const float *x, float *y) {
  smx_lse_final f;
  smx_lse_row_scalar(n, x, &f, 0);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 0);
    return;
  }
  if (!f.shifted) {
    for (size_t i = 0; i < n; i++) y[i] = smx_softmax_exp(x[i], &f);
    return;
  }
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  for (size_t i = 0; i < n; i++) y[i] = smx_softmax_one(x[i], &o);
}

static void log_softmax_scalar(size_t n, const float *x, float *y) {
  smx_lse_final f;
  smx_lse_row_scalar(n, x, &f, 1);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 1);
    return;
  }
  for (size_t i = 0; i < n; i++) y[i] = smx_log_softmax_one(x[i], f.c_hi, f.c_lo);
}

static float logsumexp_scalar(size_t n, const float *x) {
  smx_lse_final f;
  smx_lse_row_scalar(n, x, &f, 1);
  return f.lse;
}

/* Backward: row sums in 64 float lanes per block, blocks combined in double. */
double smx_blocked_dot_scalar(size_t n, const float *a, const float *b) {
  double total = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    float l[SMX_LANES] = {0};
    for (size_t i = 0; i < len; i++)
      l[i % SMX_LANES] = b ? fmaf(a[o + i], b[o + i], l[i % SMX_LANES]) : l[i % SMX_LANES] + a[o + i];
    total += smx_tree_sum64(l);
  }
  return total;
}

/* Backward rows follow the header: any NaN input gives the NaN row, a fully masked row (all -inf)
   a zero row. A NaN reduction means a NaN input; other NaN or -inf inputs are flagged while the
   row is written, and the row is then overwritten (dx may be dy: only the fill needs no input). */
static void softmax_backward_scalar(size_t n, const float *y, const float *dy, float *dx) {
  float dot = (float)smx_blocked_dot_scalar(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  for (size_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

static void log_softmax_backward_scalar(size_t n, const float *y, const float *dy, float *dx) {
  float sum = (float)smx_blocked_dot_scalar(n, dy, NULL);
  if (sum != sum) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  int nan = 0, live = 0;
  for (size_t i = 0; i < n; i++) {
    float v = y[i] > SMX_EXP_MAX ? SMX_EXP_MAX : y[i];
    nan |= v != v;
    live |= v != -INFINITY;
    float p = smx_exp_core(v, 0.0f, 0.0f);
    dx[i] = fmaf(-p, sum, dy[i]);
  }
  if (nan || !live) smx_fill(n, dx, nan ? smx_qnan() : 0.0f);
}

void smx_kernels_scalar_softmax(smx_kernels *k) {
  k->softmax = softmax_scalar;
  k->log_softmax = log_softmax_scalar;
  k->logsumexp = logsumexp_scalar;
  k->softmax_backward = softmax_backward_scalar;
  k->log_softmax_backward = log_softmax_backward_scalar;
}
