/* The softmax family's per-row state (max, ties, sum below the max) and non-finite rows. */
#include "smx_internal.h"

void smx_lse_init(smx_lse *s) {
  memset(s, 0, sizeof *s);
  s->m = -INFINITY, s->p.m = -INFINITY;
}

static void plain_add(smx_lse_plain *s, float m_b, double k_b, double r_b) {
  if (m_b == -INFINITY) return;
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

/* T = 2^64 exp(m - K ln2) of an in-range max m */
static double shift_T(float m, int32_t K) { return 0x1p64 * smx_exp64_shifted(m, K); }

/* S = the sum below m of exp(x) 2^(64 - K): R and the max blocks without their ties (each rounded to double,
   then added: a function of the state, so of the set of blocks) */
static double shifted_S(const smx_lse *s, int32_t K) {
  return smx_binsum_value(&s->R, SMX_SUM_BIAS - K) + smx_binsum_value(&s->Mex, SMX_SUM_BIAS - K);
}

/* the state as a plain one (m, k, r) */
static smx_lse_plain as_plain(const smx_lse *s) {
  if (s->plain || !s->in) return s->p;
  const int32_t K = smx_exp_k(s->m);
  smx_lse_plain p = {s->m, s->k, shifted_S(s, K) / shift_T(s->m, K)};
  return p;
}

static void to_plain(smx_lse *s) {
  if (s->plain) return;
  smx_lse_plain p = as_plain(s);
  const int32_t nan = s->nan;
  smx_lse_init(s);
  s->nan = nan, s->plain = 1, s->p = p, s->m = p.m;
}

int smx_lse_begin_block(smx_lse *s, float m_b, int nan_b) {
  s->nan |= nan_b;
  if (m_b == -INFINITY) return SMX_BLK_NONE;
  if (s->plain) return SMX_BLK_PLAIN;
  if (!(m_b <= SMX_SHIFT_MAX)) { /* beyond the range, or +inf */
    to_plain(s);
    return SMX_BLK_PLAIN;
  }
  if (m_b < -SMX_SHIFT_MAX) return SMX_BLK_LOW;
  return !s->in || m_b >= s->m ? SMX_BLK_MAX : SMX_BLK_REST;
}

static void binsum_set(smx_binsum *a, double v, int32_t e2) {
  a->any = 0;
  smx_binsum_add(a, v, e2);
}

void smx_lse_end_max(smx_lse *s, float m_b, int32_t K_b, double k_b, double S_ex, double S_all) {
  if (s->in && m_b == s->m) { /* more ties of the max */
    s->k += k_b;
    smx_binsum_add(&s->Mex, S_ex, K_b - SMX_SUM_BIAS);
    smx_binsum_add(&s->Mall, S_all, K_b - SMX_SUM_BIAS);
    return;
  }
  if (s->in) smx_binsum_merge(&s->R, &s->Mall); /* the old max blocks are below the new max */
  s->in = 1, s->m = m_b, s->k = k_b;
  binsum_set(&s->Mex, S_ex, K_b - SMX_SUM_BIAS);
  binsum_set(&s->Mall, S_all, K_b - SMX_SUM_BIAS);
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
  plain_add(&s->p, m_b, k_b, r_b);
  s->m = s->p.m;
}

/* the lanes of smx_exp_shift(x, magic(K_b - 64), SMX_KEEP_SUM): with ties, the others into ls_ex, all into ls */
static void shifted_sums(const float *x, size_t len, float m_b, int32_t K_b, int ties, double *k, double *S_ex,
                         double *S_all) {
  float ls[SMX_LANES], le[SMX_LANES];
  const float magic = smx_shift_magic(K_b - SMX_SUM_BIAS);
  double kk = 0.0;
  for (int l = 0; l < SMX_LANES; l++) ls[l] = 0.0f, le[l] = 0.0f;
  for (size_t i = 0; i < len; i++) {
    const float e = smx_exp_shift(x[i], magic, SMX_KEEP_SUM);
    ls[i % SMX_LANES] += e;
    if (ties) {
      const int tie = x[i] == m_b;
      kk += tie;
      le[i % SMX_LANES] += tie ? 0.0f : e;
    }
  }
  *k = kk;
  *S_all = smx_tree_sum64(ls);
  *S_ex = ties ? smx_tree_sum64(le) : 0.0;
}

void smx_lse_add_low(smx_lse *s, float m_b, double S_in, double k_b, double r_b) {
  smx_lse_end_rest(s, smx_exp_k(-SMX_SHIFT_MAX), S_in);
  plain_add(&s->p, m_b, k_b, r_b);
  if (!s->in) s->m = s->p.m;
}
void smx_lse_block_low(const float *x, size_t len, float m_b, smx_lse *s) {
  double k, r, ke, Se, Sa;
  shifted_sums(x, len, m_b, smx_exp_k(-SMX_SHIFT_MAX), 0, &ke, &Se, &Sa);
  smx_lse_block_plain(x, len, m_b, &k, &r);
  smx_lse_add_low(s, m_b, Sa, k, r);
}

/* One block: lane maxima -> m_b; then its sums by the mode smx_lse_begin_block gives. */
void smx_lse_block_scalar(const float *x, size_t len, smx_lse *s) {
  float lm[SMX_LANES];
  int nan = 0;
  for (int l = 0; l < SMX_LANES; l++) lm[l] = -INFINITY;
  for (size_t i = 0; i < len; i++) {
    lm[i % SMX_LANES] = smx_maxf(x[i], lm[i % SMX_LANES]);
    nan |= x[i] != x[i];
  }
  const float m_b = smx_tree_max64(lm);
  const int32_t K_b = smx_exp_k(m_b >= -SMX_SHIFT_MAX && m_b <= SMX_SHIFT_MAX ? m_b : 0.0f);
  const int mode = smx_lse_begin_block(s, m_b, nan);
  double k, r, Se, Sa;
  if (mode == SMX_BLK_MAX) {
    shifted_sums(x, len, m_b, K_b, 1, &k, &Se, &Sa);
    smx_lse_end_max(s, m_b, K_b, k, Se, Sa);
  } else if (mode == SMX_BLK_REST) {
    shifted_sums(x, len, m_b, K_b, 0, &k, &Se, &Sa);
    smx_lse_end_rest(s, K_b, Sa);
  } else if (mode == SMX_BLK_LOW) {
    smx_lse_block_low(x, len, m_b, s);
  } else if (mode == SMX_BLK_PLAIN) {
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

void smx_lse_merge(smx_lse *a, const smx_lse *b) {
  const int32_t nan = a->nan | b->nan;
  if (a->plain || b->plain || a->m > SMX_SHIFT_MAX || b->m > SMX_SHIFT_MAX) {
    smx_lse_plain pb = as_plain(b);
    to_plain(a);
    plain_add(&a->p, pb.m, pb.k, pb.r);
    a->m = a->p.m, a->nan = nan;
    return;
  }
  a->nan = nan;
  smx_binsum_merge(&a->R, &b->R);
  plain_add(&a->p, b->p.m, b->p.k, b->p.r);
  if (b->in) {
    if (a->in && a->m == b->m) {
      a->k += b->k;
      smx_binsum_merge(&a->Mex, &b->Mex);
      smx_binsum_merge(&a->Mall, &b->Mall);
    } else if (a->in && a->m > b->m) {
      smx_binsum_merge(&a->R, &b->Mall);
    } else {
      if (a->in) smx_binsum_merge(&a->R, &a->Mall);
      a->in = 1, a->m = b->m, a->k = b->k, a->Mex = b->Mex, a->Mall = b->Mall;
    }
  } else if (!a->in) {
    a->m = a->p.m;
  }
}

/* l = log(k + r), lse and c_hi + c_lo of a finite row (m, k set) */
static void finish_log(smx_lse_final *f, double r) {
  f->l = smx_log64(f->k) + smx_log1p64(r / f->k);
  double c = (double)f->m + f->l;
  f->lse = smx_flush((float)c);
  f->c_hi = f->lse == INFINITY ? 0x1.fffffep127f : f->lse;
  f->c_lo = smx_flush((float)(((double)f->m - (double)f->c_hi) + f->l));
}
/* T, D (and the log) of a shifted row (m, k, K set) whose sum below m is S 2^(64 - K) */
static void finish_shifted(smx_lse_final *f, double S, int need_log) {
  f->T = shift_T(f->m, f->K);
  f->D = f->k * f->T + S;
  if (need_log) finish_log(f, S / f->T);
}

void smx_lse_finish(const smx_lse *s, smx_lse_final *f, int need_log) {
  memset(f, 0, sizeof *f);
  const int shifted = !s->plain && s->in;
  smx_lse_plain p = s->p;
  if (shifted) p.m = s->m, p.k = s->k;
  f->m = p.m;
  f->k = p.k;
  if (s->nan) f->kind = SMX_ROW_NAN;
  else if (p.m == INFINITY) f->kind = SMX_ROW_POSINF;
  else if (p.m == -INFINITY) f->kind = SMX_ROW_ALLNEGINF;
  else f->kind = SMX_ROW_FINITE;
  if (f->kind != SMX_ROW_FINITE) {
    f->lse = f->kind == SMX_ROW_NAN ? smx_qnan() : p.m;
    return;
  }
  f->shifted = shifted;
  if (shifted) {
    f->K = smx_exp_k(p.m);
    finish_shifted(f, shifted_S(s, f->K), need_log);
    return;
  }
  finish_log(f, p.r);
}
void smx_lse_finish_block(float m, double k, double S, smx_lse_final *f, int need_log) {
  memset(f, 0, sizeof *f);
  f->kind = SMX_ROW_FINITE, f->m = m, f->k = k, f->shifted = 1, f->K = smx_exp_k(m);
  finish_shifted(f, S, need_log);
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

SMX_FLATTEN double count_posinf(size_t n, const void *x, const int e) {
  double k = 0.0;
  for (size_t i = 0; i < n; i++) k += smx_elem_get(x, i, e) == INFINITY;
  return k;
}
double smx_count_posinf(size_t n, const float *x) { return count_posinf(n, x, SMX_ELEM_F32); }
double smx_count_posinf_elem(size_t n, const void *x, int e) { return SMX_ELEM_CALL(e, count_posinf, n, x); }

void smx_log_softmax_flush(const smx_lse_final *f, size_t n, float *y) {
  if (f->l < 0x1p-125) /* the entries at the max are -l, below FLT_MIN */
    for (size_t i = 0; i < n; i++) y[i] = smx_flush(y[i]);
}

void smx_fill(size_t n, float *y, float v) {
  for (size_t i = 0; i < n; i++) y[i] = v;
}
void smx_fill_elem(size_t n, void *y, float v, int e) {
  for (size_t i = 0; i < n; i++) smx_elem_set(y, i, v, e);
}

SMX_FLATTEN void special_cols(enum smx_row_kind kind, double kinf, size_t n, const void *x, void *y, int log_out,
                              const int e) {
  const int posinf = kind == SMX_ROW_POSINF; /* the kinf entries at +inf share the mass */
  const float on = !posinf ? 0.0f : log_out ? smx_flush((float)-smx_log64(kinf)) /* kinf = 1: +0, not -0 */
                                             : (float)(1.0 / kinf);
  const float off = kind == SMX_ROW_NAN ? smx_qnan() : log_out ? -INFINITY : 0.0f;
  for (size_t i = 0; i < n; i++) smx_elem_set(y, i, posinf && smx_elem_get(x, i, e) == INFINITY ? on : off, e);
}
void smx_special_cols(enum smx_row_kind kind, double kinf, size_t n, const float *x, float *y, int log_out) {
  special_cols(kind, kinf, n, x, y, log_out, SMX_ELEM_F32);
}
void smx_special_row_elem(enum smx_row_kind kind, size_t n, const void *x, void *y, int log_out, int e) {
  const double kinf = kind == SMX_ROW_POSINF ? smx_count_posinf_elem(n, x, e) : 0.0;
  SMX_ELEM_CALL(e, special_cols, kind, kinf, n, x, y, log_out);
}
void smx_special_row(enum smx_row_kind kind, size_t n, const float *x, float *y, int log_out) {
  smx_special_row_elem(kind, n, x, y, log_out, SMX_ELEM_F32);
}
