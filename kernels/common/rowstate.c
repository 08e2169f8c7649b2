/* The softmax family's per-row state (max, ties, sum below the max) and non-finite rows. */
#include "smx_internal.h"

void smx_lse_init(smx_lse *s) { memset(s, 0, sizeof *s), s->m = -INFINITY; }

/* the shifted state to the plain one: R = S / T */
static void to_plain(smx_lse *s) {
  if (s->shifted) s->r = s->S / s->T, s->shifted = 0;
}

int smx_lse_begin_block(smx_lse *s, float m_b, int nan_b) {
  s->nan |= nan_b;
  if (m_b == -INFINITY) return -1;
  const float m = smx_maxf(m_b, s->m);
  if (!(m >= -SMX_SHIFT_MAX && m <= SMX_SHIFT_MAX)) { /* beyond the range, or +inf */
    to_plain(s);
    return 0;
  }
  if (m > s->m || !s->shifted) { /* a new shift; the entries so far, and the old ties, move to it */
    const int32_t K = smx_exp_k(m);
    const double T = 0x1p64 * smx_exp64_shifted(m, K);
    if (s->shifted) s->S = (s->S + s->k * s->T) * smx_pow2(s->K - K);
    else s->S = s->m == -INFINITY ? 0.0 : (s->k + s->r) * smx_exp64((double)s->m - (double)m) * T;
    s->k = 0.0, s->r = 0.0, s->m = m, s->K = K, s->T = T, s->shifted = 1;
  }
  return 1;
}

void smx_lse_block_plain(const float *x, size_t len, float m_b, double *k_b, double *r_b) {
  float ls[SMX_LANES] = {0};
  double k = 0.0;
  for (size_t i = 0; i < len; i++) {
    int tie = x[i] == m_b;
    k += tie;
    ls[i % SMX_LANES] += tie ? 0.0f : smx_exp_sum(x[i], m_b);
  }
  *k_b = k;
  *r_b = smx_tree_sum64(ls) * SMX_SUM_UNSCALE;
}

void smx_lse_add_block(smx_lse *s, float m_b, double k_b, double r_b) {
  if (s->m == -INFINITY || m_b > s->m) {
    double f = s->m == -INFINITY ? 0.0 : smx_exp64((double)s->m - (double)m_b);
    s->r = (s->k + s->r) * f + r_b; /* m_b = +inf: f = 0, r_b = 0 */
    s->k = k_b;
    s->m = m_b;
  } else if (m_b == s->m) {
    s->k += k_b;
    s->r += r_b;
  } else {
    s->r += (k_b + r_b) * smx_exp64((double)m_b - (double)s->m);
  }
}

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

void smx_lse_finish(const smx_lse *s0, smx_lse_final *f, int need_log) {
  smx_lse s = *s0;
  to_plain(&s);
  memset(f, 0, sizeof *f);
  f->m = s.m;
  f->k = s.k;
  if (s.nan) f->kind = SMX_ROW_NAN;
  else if (s.m == INFINITY) f->kind = SMX_ROW_POSINF;
  else if (s.m == -INFINITY) f->kind = SMX_ROW_ALLNEGINF;
  else f->kind = SMX_ROW_FINITE;
  if (f->kind != SMX_ROW_FINITE) {
    f->lse = f->kind == SMX_ROW_NAN ? smx_qnan() : s.m;
    return;
  }
  f->shifted = s0->shifted;
  f->K = s0->K;
  if (f->shifted) f->T = s0->T, f->D = s0->k * s0->T + s0->S;
  if (!need_log && f->shifted) return;
  f->l = smx_log64(s.k) + smx_log1p64(s.r / s.k);
  double c = (double)s.m + f->l;
  f->lse = smx_flush((float)c);
  f->c_hi = f->lse == INFINITY ? 0x1.fffffep127f : f->lse;
  f->c_lo = smx_flush((float)(((double)s.m - (double)f->c_hi) + f->l));
}

/* c = exp(K ln2 - m) / (K + R) = 2^64 / D and y_max = 1 / (K + R) = T / D: divisions, not exps */
void smx_softmax_out_init(const smx_lse_final *f, smx_softmax_out *o) {
  const double c = 0x1p64 / f->D;
  o->magic = smx_shift_magic(f->K - SMX_OUT_BIAS);
  o->c_hi = (float)c;
  o->c_lo = (float)(c - (double)o->c_hi);
  if (fabsf(o->c_lo) < o->c_hi * 0x1p-30f) o->c_lo = 0.0f;
  o->e_max = smx_exp_shift(f->m, o->magic, SMX_KEEP_OUT);
  o->y_max = (float)(f->T / f->D);
}

double smx_count_posinf(size_t n, const float *x) {
  double k = 0.0;
  for (size_t i = 0; i < n; i++) k += x[i] == INFINITY;
  return k;
}

void smx_log_softmax_flush(const smx_lse_final *f, size_t n, float *y) {
  if (f->l < 0x1p-125) /* the entries at the max are -l, below FLT_MIN */
    for (size_t i = 0; i < n; i++) y[i] = smx_flush(y[i]);
}

void smx_fill(size_t n, float *y, float v) {
  for (size_t i = 0; i < n; i++) y[i] = v;
}

void smx_special_row(enum smx_row_kind kind, size_t n, const float *x, float *y, int log_out) {
  if (kind == SMX_ROW_NAN) {
    smx_fill(n, y, smx_qnan());
  } else if (kind == SMX_ROW_ALLNEGINF) {
    smx_fill(n, y, log_out ? -INFINITY : 0.0f);
  } else { /* the k entries at +inf share the mass */
    double k = smx_count_posinf(n, x);
    float on = log_out ? smx_flush((float)-smx_log64(k)) : (float)(1.0 / k); /* k = 1: +0, not -0 */
    float off = log_out ? -INFINITY : 0.0f;
    for (size_t i = 0; i < n; i++) y[i] = x[i] == INFINITY ? on : off;
  }
}
