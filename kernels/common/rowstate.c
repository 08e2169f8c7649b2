/* The softmax family's per-row state (max, ties, sum below the max) and non-finite rows. */
#include "smx_internal.h"

void smx_lse_init(smx_lse *s) {
  s->m = -INFINITY;
  s->k = 0.0;
  s->r = 0.0;
  s->nan = 0;
}

void smx_lse_add_block(smx_lse *s, float m_b, double k_b, double r_b, int nan_b) {
  s->nan |= nan_b;
  if (m_b == -INFINITY) return; /* an all -inf block adds nothing */
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

void smx_lse_finish(const smx_lse *s, smx_lse_final *f) {
  memset(f, 0, sizeof *f);
  f->m = s->m;
  f->k = s->k;
  if (s->nan) f->kind = SMX_ROW_NAN;
  else if (s->m == INFINITY) f->kind = SMX_ROW_POSINF;
  else if (s->m == -INFINITY) f->kind = SMX_ROW_ALLNEGINF;
  else f->kind = SMX_ROW_FINITE;
  if (f->kind != SMX_ROW_FINITE) {
    f->lse = f->kind == SMX_ROW_NAN ? smx_qnan() : s->m;
    return;
  }
  f->l = smx_log64(s->k) + smx_log1p64(s->r / s->k);
  double c = (double)s->m + f->l;
  f->lse = (float)c;
  f->c_hi = f->lse == INFINITY ? 0x1.fffffep127f : f->lse;
  f->c_lo = (float)(((double)s->m - (double)f->c_hi) + f->l);
}

double smx_count_posinf(size_t n, const float *x) {
  double k = 0.0;
  for (size_t i = 0; i < n; i++) k += x[i] == INFINITY;
  return k;
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
    float on = log_out ? (float)-smx_log64(k) : (float)(1.0 / k);
    float off = log_out ? -INFINITY : 0.0f;
    for (size_t i = 0; i < n; i++) y[i] = x[i] == INFINITY ? on : off;
  }
}
