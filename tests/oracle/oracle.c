/* simdmax test oracle: see oracle.h. Plain double arithmetic with double-double (TwoSum)
   accumulation; every cancellation-prone quantity comes from a sum of the other terms. */
#include "oracle.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- double-double accumulation ---------------- */
typedef struct { double hi, lo; } dd;

static inline void two_sum(double a, double b, double *s, double *e) {
  double x = a + b, bb = x - a;
  *e = (a - (x - bb)) + (b - bb);
  *s = x;
}
static inline void dd_add(dd *a, double v) {
  double s, e;
  if (!isfinite(v) || !isfinite(a->hi)) { a->hi += v; a->lo = 0; return; }
  two_sum(a->hi, v, &s, &e);
  a->hi = s;
  a->lo += e;
}
static inline double dd_val(dd a) { return isfinite(a.hi) ? a.hi + a.lo : a.hi; }
static inline dd dd_zero(void) { dd z = {0.0, 0.0}; return z; }

/* ---------------- the metric ---------------- */
double oracle_ulp_of(double v) {
  int e;
  v = fabs(v);
  if (isnan(v) || isinf(v)) return INFINITY;
  if (v < FLT_MIN) v = FLT_MIN;
  (void)frexp(v, &e); /* v = m 2^e, m in [0.5, 1): floor(log2 v) = e - 1 */
  return ldexp(1.0, e - 1 - 23);
}

double oracle_ulp_scaled(float y, double ref, double scale) {
  if (isnan(y) || isnan(ref)) return (isnan(y) && isnan(ref)) ? 0.0 : INFINITY;
  /* a finite ref that rounds to float infinity (|ref| >= 2^128 - 2^103): y = that infinity is exact */
  if (isinf(y) && isfinite(ref) && fabs(ref) >= 0x1p128 - 0x1p103 && (y > 0) == (ref > 0)) return 0.0;
  if (isinf(y) || isinf(ref)) return ((double)y == ref) ? 0.0 : INFINITY;
  if (y == 0.0f && !signbit(y) && fabs(ref) < 1.001 * (double)FLT_MIN) return 0.0;
  double s = fabs(ref);
  if (isfinite(scale) && fabs(scale) > s) s = fabs(scale);
  return fabs((double)y - ref) / oracle_ulp_of(s);
}

double oracle_ulp(float y, double ref) { return oracle_ulp_scaled(y, ref, 0.0); }

/* ---------------- row classification ---------------- */
static int any_nan_f(size_t n, const float *x) {
  for (size_t i = 0; i < n; i++)
    if (isnan(x[i])) return 1;
  return 0;
}
static size_t count_posinf_f(size_t n, const float *x) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += (isinf(x[i]) && x[i] > 0);
  return k;
}
static int all_neginf_f(size_t n, const float *x) {
  for (size_t i = 0; i < n; i++)
    if (!(isinf(x[i]) && x[i] < 0)) return 0;
  return 1;
}
/* c * v with 0 * inf = 0 (a term with a zero coefficient vanishes) */
static double times(double c, double v) { return c != 0.0 ? c * v : 0.0; }
static size_t count_posinf_d(size_t n, const double *u) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += (isinf(u[i]) && u[i] > 0);
  return k;
}
static int all_neginf_d(size_t n, const double *u) {
  for (size_t i = 0; i < n; i++)
    if (!(isinf(u[i]) && u[i] < 0)) return 0;
  return 1;
}
static void fill(size_t n, double *y, double v) {
  for (size_t i = 0; i < n; i++) y[i] = v;
}
/* a backward oracle's special row: dx and its magnitudes (when asked) all v */
static void fill_bwd(size_t n, double *dx, double *mag, double v) {
  fill(n, dx, v);
  if (mag) fill(n, mag, v);
}

/* ---------------- softmax family ---------------- */
/* Finite-max row: M, the first argmax m0, T = sum exp(x - M), So = T without the m0 term. */
typedef struct { double M; size_t m0; double T, So; } sm_state;

static void sm_reduce_d(size_t n, const double *u, sm_state *st) {
  double M = -INFINITY;
  size_t m0 = 0;
  for (size_t i = 0; i < n; i++)
    if (u[i] > M) { M = u[i]; m0 = i; }
  dd so = dd_zero();
  for (size_t i = 0; i < n; i++)
    if (i != m0) dd_add(&so, exp(u[i] - M));
  st->M = M;
  st->m0 = m0;
  st->So = dd_val(so);
  st->T = 1.0 + st->So;
}

static void sm_reduce_f(size_t n, const float *x, sm_state *st) {
  double M = -INFINITY;
  size_t m0 = 0;
  for (size_t i = 0; i < n; i++)
    if ((double)x[i] > M) { M = x[i]; m0 = i; }
  dd so = dd_zero();
  for (size_t i = 0; i < n; i++)
    if (i != m0) dd_add(&so, exp((double)x[i] - M));
  st->M = M;
  st->m0 = m0;
  st->So = dd_val(so);
  st->T = 1.0 + st->So;
}

void oracle_softmax(size_t n, const float *x, double *y) {
  if (any_nan_f(n, x)) { fill(n, y, NAN); return; }
  size_t k = count_posinf_f(n, x);
  if (k) {
    for (size_t i = 0; i < n; i++) y[i] = (isinf(x[i]) && x[i] > 0) ? 1.0 / (double)k : 0.0;
    return;
  }
  if (all_neginf_f(n, x)) { fill(n, y, 0.0); return; }
  sm_state st;
  sm_reduce_f(n, x, &st);
  for (size_t i = 0; i < n; i++) y[i] = exp((double)x[i] - st.M) / st.T;
}

void oracle_log_softmax(size_t n, const float *x, double *y) {
  if (any_nan_f(n, x)) { fill(n, y, NAN); return; }
  size_t k = count_posinf_f(n, x);
  if (k) {
    for (size_t i = 0; i < n; i++) y[i] = (isinf(x[i]) && x[i] > 0) ? -log((double)k) : -INFINITY;
    return;
  }
  if (all_neginf_f(n, x)) { fill(n, y, -INFINITY); return; }
  sm_state st;
  sm_reduce_f(n, x, &st);
  double L = log1p(st.So);
  for (size_t i = 0; i < n; i++) y[i] = ((double)x[i] - st.M) - L;
}

double oracle_logsumexp(size_t n, const float *x) {
  if (any_nan_f(n, x)) return NAN;
  if (count_posinf_f(n, x)) return INFINITY;
  if (all_neginf_f(n, x)) return -INFINITY;
  sm_state st;
  sm_reduce_f(n, x, &st);
  return st.M + log1p(st.So);
}

void oracle_softmax_backward(size_t n, const float *y, const float *dy, double *dx, double *mag) {
  if (any_nan_f(n, y) || any_nan_f(n, dy)) {
    fill_bwd(n, dx, mag, NAN);
    return;
  }
  dd dot = dd_zero(), adot = dd_zero();
  for (size_t i = 0; i < n; i++) {
    double p = (double)y[i] * (double)dy[i]; /* exact */
    dd_add(&dot, p);
    dd_add(&adot, fabs(p));
  }
  double d = dd_val(dot), ad = dd_val(adot);
  for (size_t i = 0; i < n; i++) {
    dx[i] = (double)y[i] * ((double)dy[i] - d);
    if (mag) mag[i] = fabs((double)y[i] * (double)dy[i]) + fabs((double)y[i]) * ad;
  }
}

void oracle_log_softmax_backward(size_t n, const float *y, const float *dy, double *dx, double *mag) {
  if (any_nan_f(n, y) || any_nan_f(n, dy)) {
    fill_bwd(n, dx, mag, NAN);
    return;
  }
  if (all_neginf_f(n, y)) {
    fill_bwd(n, dx, mag, 0.0);
    return;
  }
  dd s = dd_zero(), as = dd_zero();
  for (size_t i = 0; i < n; i++) {
    dd_add(&s, dy[i]);
    dd_add(&as, fabs((double)dy[i]));
  }
  double sd = dd_val(s), asd = dd_val(as);
  for (size_t i = 0; i < n; i++) {
    double p = exp((double)y[i]);
    dx[i] = (double)dy[i] - p * sd;
    if (mag) mag[i] = fabs((double)dy[i]) + p * asd;
  }
}

/* ---------------- sparsemax ---------------- */
static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* tau of the finite entries of u (at least one finite, none +inf, no NaN). */
static double sparsemax_tau_d(size_t n, const double *u) {
  double M = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (u[i] > M) M = u[i];
  /* tau >= M - 1, so only u_i > M - 1 can be in the support. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += (u[i] > M - 1.0);
  double *z = (double *)malloc(m * sizeof *z);
  if (!z) abort();
  m = 0;
  for (size_t i = 0; i < n; i++)
    if (u[i] > M - 1.0) z[m++] = u[i];
  qsort(z, m, sizeof *z, cmp_desc);
  dd cs = dd_zero(), cs_k = dd_zero();
  size_t K = 0;
  for (size_t k = 1; k <= m; k++) {
    dd_add(&cs, z[k - 1]);
    /* 1 + k z_k > sum_{i <= k} z_i, in double-double */
    dd t = dd_zero();
    double kz = (double)k * z[k - 1];
    dd_add(&t, 1.0);
    dd_add(&t, kz);
    dd_add(&t, -cs.hi);
    dd_add(&t, -cs.lo);
    if (dd_val(t) > 0.0) { K = k; cs_k = cs; } else break;
  }
  free(z);
  dd num = cs_k;
  dd_add(&num, -1.0);
  return dd_val(num) / (double)K;
}

static double sparsemax_d(size_t n, const double *u, double *y) {
  size_t k = 0;
  int allneg = 1;
  for (size_t i = 0; i < n; i++) {
    if (isnan(u[i])) { fill(n, y, NAN); return NAN; }
    k += (isinf(u[i]) && u[i] > 0);
    allneg &= (isinf(u[i]) && u[i] < 0);
  }
  if (k) {
    for (size_t i = 0; i < n; i++) y[i] = (isinf(u[i]) && u[i] > 0) ? 1.0 / (double)k : 0.0;
    return INFINITY;
  }
  if (allneg) { fill(n, y, 0.0); return -INFINITY; }
  /* relative to the max M (u - M is exact here; M - 1 is not for |M| > 2^53, e.g. logits of 1e30) */
  double M = -INFINITY;
  for (size_t i = 0; i < n; i++) M = u[i] > M ? u[i] : M;
  double *v = (double *)malloc(n * sizeof *v);
  if (!v) abort();
  for (size_t i = 0; i < n; i++) v[i] = u[i] - M;
  double tr = sparsemax_tau_d(n, v);
  for (size_t i = 0; i < n; i++) y[i] = v[i] > tr ? v[i] - tr : 0.0;
  free(v);
  return M + tr;
}

double oracle_sparsemax(size_t n, const float *x, double *y) {
  double *u = (double *)malloc(n * sizeof *u);
  if (!u) abort();
  for (size_t i = 0; i < n; i++) u[i] = x[i];
  double tau = sparsemax_d(n, u, y);
  free(u);
  return tau;
}

int oracle_sparsemax_tie(float x_i, double tau, double xscale) {
  if (!isfinite(tau) || !isfinite(x_i)) return 0;
  double s = fabs(xscale) > 1.0 ? fabs(xscale) : 1.0;
  return fabs((double)x_i - tau) <= ldexp(s, -40);
}

void oracle_sparsemax_backward(size_t n, const float *y, const float *dy, double *dx, double *mag) {
  if (any_nan_f(n, y) || any_nan_f(n, dy)) {
    fill_bwd(n, dx, mag, NAN);
    return;
  }
  dd s = dd_zero(), as = dd_zero();
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (y[i] > 0) {
      dd_add(&s, dy[i]);
      dd_add(&as, fabs((double)dy[i]));
      k++;
    }
  double mean = k ? dd_val(s) / (double)k : 0.0, amean = k ? dd_val(as) / (double)k : 0.0;
  for (size_t i = 0; i < n; i++) {
    dx[i] = y[i] > 0 ? (double)dy[i] - mean : 0.0;
    if (mag) mag[i] = y[i] > 0 ? fabs((double)dy[i]) + amean : 0.0;
  }
}

/* ---------------- stablemax ---------------- */
static inline double smax_s(double x) { return x >= 0 ? x + 1.0 : 1.0 / (1.0 - x); }
static inline double smax_r(double x) { return 1.0 / (1.0 + fabs(x)); } /* s'(x) / s(x) */

/* jmax = first argmax, So = sum of s over the others, T = s_jmax + So. */
typedef struct { size_t jmax; double sj, So, T; } st_state;
static void st_reduce_d(size_t n, const double *u, st_state *st) {
  size_t j = 0;
  for (size_t i = 1; i < n; i++)
    if (u[i] > u[j]) j = i;
  dd so = dd_zero();
  for (size_t i = 0; i < n; i++)
    if (i != j) dd_add(&so, smax_s(u[i]));
  st->jmax = j;
  st->sj = smax_s(u[j]);
  st->So = dd_val(so);
  st->T = st->sj + st->So;
}
/* -log p_i for stablemax */
static double st_nll(const st_state *st, size_t i, double ui) {
  if (i == st->jmax) return log1p(st->So / st->sj);
  return -log(smax_s(ui) / st->T);
}

static double *to_double(size_t n, const float *x) {
  double *u = (double *)malloc((n ? n : 1) * sizeof *u);
  if (!u) abort();
  for (size_t i = 0; i < n; i++) u[i] = x[i];
  return u;
}

void oracle_stablemax(size_t n, const float *x, double *y) {
  if (any_nan_f(n, x)) { fill(n, y, NAN); return; }
  size_t k = count_posinf_f(n, x);
  if (k) {
    for (size_t i = 0; i < n; i++) y[i] = (isinf(x[i]) && x[i] > 0) ? 1.0 / (double)k : 0.0;
    return;
  }
  if (all_neginf_f(n, x)) { fill(n, y, 0.0); return; }
  double *u = to_double(n, x);
  st_state st;
  st_reduce_d(n, u, &st);
  for (size_t i = 0; i < n; i++) y[i] = smax_s(u[i]) / st.T;
  free(u);
}

void oracle_log_stablemax(size_t n, const float *x, double *y) {
  if (any_nan_f(n, x)) { fill(n, y, NAN); return; }
  size_t k = count_posinf_f(n, x);
  if (k) {
    for (size_t i = 0; i < n; i++) y[i] = (isinf(x[i]) && x[i] > 0) ? -log((double)k) : -INFINITY;
    return;
  }
  if (all_neginf_f(n, x)) { fill(n, y, -INFINITY); return; }
  double *u = to_double(n, x);
  st_state st;
  st_reduce_d(n, u, &st);
  for (size_t i = 0; i < n; i++) y[i] = -st_nll(&st, i, u[i]);
  free(u);
}

void oracle_stablemax_backward(size_t n, const float *x, const float *y, const float *dy, double *dx,
                               double *mag) {
  if (any_nan_f(n, x) || any_nan_f(n, y) || any_nan_f(n, dy)) {
    fill_bwd(n, dx, mag, NAN);
    return;
  }
  if (all_neginf_f(n, x)) {
    fill_bwd(n, dx, mag, 0.0);
    return;
  }
  dd dot = dd_zero(), adot = dd_zero();
  for (size_t i = 0; i < n; i++) {
    double p = (double)y[i] * (double)dy[i];
    dd_add(&dot, p);
    dd_add(&adot, fabs(p));
  }
  double d = dd_val(dot), ad = dd_val(adot);
  for (size_t i = 0; i < n; i++) {
    double r = smax_r(x[i]), ry = r * (double)y[i];
    dx[i] = ry * ((double)dy[i] - d);
    if (mag) mag[i] = fabs(ry * (double)dy[i]) + fabs(ry) * ad;
  }
}

/* ---------------- cross-entropy ---------------- */
static void xent_defaults(smx_xent_options *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->normalizer = SMX_NORM_SOFTMAX;
  o->reduction = SMX_REDUCE_MEAN;
  o->ignore_index = -100;
  o->label_smoothing = 0.0f;
  o->z_loss = 0.0f;
  o->softcap = 0.0f;
  o->class_weight = NULL;
}

/* sech^2(a) = 4 e^{-2|a|} / (1 + e^{-2|a|})^2, accurate for large |a| */
static double sech2(double a) {
  double t = exp(-2.0 * fabs(a));
  return 4.0 * t / ((1.0 + t) * (1.0 + t));
}

/* one row with the z-loss weight zl (the option's, or its MEAN-with-weights scaling) */
static double xent_row_z(size_t n, const float *x, int64_t target, const smx_xent_options *opts, double coef,
                         double *grad, double *scale, double zl);
double oracle_xent_row(size_t n, const float *x, int64_t target, const smx_xent_options *opts, double coef,
                       double *grad, double *scale) {
  return xent_row_z(n, x, target, opts, coef, grad, scale, opts ? opts->z_loss : 0.0);
}
static double xent_row_z(size_t n, const float *x, int64_t target, const smx_xent_options *opts, double coef,
                         double *grad, double *scale, double zl) {
  smx_xent_options o;
  if (opts) o = *opts; else xent_defaults(&o);
  if (any_nan_f(n, x)) {
    if (grad) fill(n, grad, NAN);
    if (scale) *scale = NAN;
    return NAN;
  }
  const size_t t = (size_t)target;
  const double e = o.label_smoothing, c = o.softcap;
  double *u = to_double(n, x);
  double *chain = NULL;
  if (c > 0) {
    chain = (double *)malloc(n * sizeof *chain);
    if (!chain) abort();
    for (size_t i = 0; i < n; i++) {
      double a = (double)x[i] / c;
      u[i] = c * tanh(a);
      chain[i] = sech2(a);
    }
  }
#define W_(j) (o.class_weight ? (double)o.class_weight[(j)] : 1.0)
  dd Wd = dd_zero();
  for (size_t j = 0; j < n; j++) dd_add(&Wd, W_(j));
  const double W = dd_val(Wd), wt = W_(t);
  double loss = 0.0, sc = 0.0;

  if (count_posinf_d(n, u) || all_neginf_d(n, u)) {
    /* +inf logits (k of them) or only -inf: p_j = 1/k on the +inf entries, else 0 (the forward
       rule); the loss is the formula with -log 0 = +inf, the gradient r_j (p - q)_j, r_j = 1
       for softmax and 1/(1 + |u_j|) for stablemax (0 at an infinite logit) */
    size_t k = count_posinf_d(n, u);
    const double pk = k ? 1.0 / (double)k : 0.0;
    double sm = 0.0;
    for (size_t j = 0; j < n; j++) {
      double pj = isinf(u[j]) && u[j] > 0 ? pk : 0.0;
      if (W_(j) != 0.0) sm += W_(j) * (pj > 0 ? -log(pj) : INFINITY);
    }
    double pt = isinf(u[t]) && u[t] > 0 ? pk : 0.0;
    loss = times((1.0 - e) * wt, pt > 0 ? -log(pt) : INFINITY) + (e != 0.0 ? (e / (double)n) * sm : 0.0);
    if (o.normalizer == SMX_NORM_SPARSEMAX) { /* the limit of the FY loss: see the header */
      double qq = 0.0;
      for (size_t j = 0; j < n; j++) {
        double q = e / (double)n + (j == t ? 1.0 - e : 0.0);
        qq += q * q;
      }
      loss = pt > 0 && (e == 0.0 || k == n) ? times(wt, 0.5 * (qq - 1.0 / (double)k)) : INFINITY;
    }
    sc = fabs(loss);
    if (grad)
      for (size_t j = 0; j < n; j++) {
        double pj = isinf(u[j]) && u[j] > 0 ? pk : 0.0;
        double g = (1.0 - e) * wt * (pj - (j == t ? 1.0 : 0.0));
        if (e != 0.0) g += (e / (double)n) * (pj * W - W_(j));
        double r = o.normalizer == SMX_NORM_STABLEMAX ? (isinf(u[j]) ? 0.0 : smax_r(u[j])) : 1.0;
        if (o.normalizer == SMX_NORM_SPARSEMAX) g = wt * (pj - (e / (double)n + (j == t ? 1.0 - e : 0.0)));
        grad[j] = coef * r * g;
      }
  } else if (o.normalizer == SMX_NORM_SPARSEMAX) {
    double *p = (double *)malloc(n * sizeof *p);
    if (!p) abort();
    (void)sparsemax_d(n, u, p);
    dd inner = dd_zero(), pp = dd_zero(), qq = dd_zero(), mag = dd_zero();
    for (size_t i = 0; i < n; i++) {
      double q = e / (double)n + (i == t ? 1.0 - e : 0.0);
      double pq = p[i] - q;
      if (pq != 0.0) {
        dd_add(&inner, u[i] * pq);
        dd_add(&mag, fabs(u[i] * pq));
      }
      dd_add(&pp, p[i] * p[i]);
      dd_add(&qq, q * q);
      if (grad) grad[i] = coef * wt * pq;
    }
    double P = dd_val(pp), Q = dd_val(qq);
    dd l = inner;
    dd_add(&l, -0.5 * P);
    dd_add(&l, 0.5 * Q);
    loss = times(wt, dd_val(l));
    sc = wt * (dd_val(mag) + 0.5 * P + 0.5 * Q);
    free(p);
  } else if (o.normalizer == SMX_NORM_STABLEMAX) {
    st_state st;
    st_reduce_d(n, u, &st);
    double Sot = (t == st.jmax) ? st.So : st.T - smax_s(u[t]); /* T - s_t, s_t <= T/2 there */
    dd sm = dd_zero();
    if (e != 0.0)
      for (size_t j = 0; j < n; j++)
        if (W_(j) != 0.0) dd_add(&sm, W_(j) * st_nll(&st, j, u[j]));
    loss = times((1.0 - e) * wt, st_nll(&st, t, u[t])) + (e / (double)n) * dd_val(sm);
    sc = fabs(loss);
    if (grad)
      for (size_t j = 0; j < n; j++) {
        double r = smax_r(u[j]), p = smax_s(u[j]) / st.T;
        double g = (j == t) ? -r * (Sot / st.T) : r * p; /* d nll_t / du_j */
        g = (1.0 - e) * wt * g;
        if (e != 0.0) g += (e / (double)n) * r * (p * W - W_(j));
        grad[j] = coef * g;
      }
  } else { /* softmax */
    sm_state st;
    sm_reduce_d(n, u, &st);
    const double L = log1p(st.So), lse = st.M + L;
    double et = exp(u[t] - st.M);
    double Sot = (t == st.m0) ? st.So : st.T - et; /* sum of the other terms */
    dd sm = dd_zero();
    if (e != 0.0)
      for (size_t j = 0; j < n; j++)
        if (W_(j) != 0.0) dd_add(&sm, W_(j) * ((st.M - u[j]) + L));
    loss = times((1.0 - e) * wt, (st.M - u[t]) + L) + (e / (double)n) * dd_val(sm) + zl * lse * lse;
    sc = fabs(loss);
    if (grad)
      for (size_t j = 0; j < n; j++) {
        double p = exp(u[j] - st.M) / st.T;
        double g = (j == t) ? -(Sot / st.T) : p; /* p_j - [j == t] */
        g = (1.0 - e) * wt * g;
        if (e != 0.0) g += (e / (double)n) * (p * W - W_(j));
        if (zl != 0.0) g += 2.0 * zl * lse * p;
        grad[j] = coef * g;
      }
  }
#undef W_
  if (grad && chain)
    for (size_t j = 0; j < n; j++) grad[j] *= chain[j];
  free(chain);
  free(u);
  if (scale) *scale = sc;
  return loss;
}

double oracle_cross_entropy(size_t rows, size_t n, const float *logits, size_t ldx, const int64_t *targets,
                            const smx_xent_options *opts, double *loss, double *dlogits, size_t ldd,
                            double grad_scale) {
  smx_xent_options o;
  if (opts) o = *opts; else xent_defaults(&o);
  double D = 0.0, C = 0.0;
  if (o.reduction == SMX_REDUCE_MEAN) {
    dd d = dd_zero();
    for (size_t r = 0; r < rows; r++)
      if (targets[r] != o.ignore_index) dd_add(&d, o.class_weight ? (double)o.class_weight[targets[r]] : 1.0), C++;
    D = dd_val(d);
  }
  /* MEAN: sum_r w_t ce_r / sum_r w_t + sum_r z_r / (counted rows): each row's z-loss weight is z D / C */
  const double zl = o.reduction == SMX_REDUCE_MEAN && o.class_weight && C > 0 ? o.z_loss * (D / C) : o.z_loss;
  double coef = grad_scale;
  if (o.reduction == SMX_REDUCE_MEAN) coef = D > 0 ? grad_scale / D : 0.0;
  dd total = dd_zero();
  for (size_t r = 0; r < rows; r++) {
    double *g = dlogits ? dlogits + r * ldd : NULL;
    double lr;
    if (targets[r] == o.ignore_index) {
      lr = 0.0;
      if (g) fill(n, g, 0.0);
    } else {
      lr = xent_row_z(n, logits + r * ldx, targets[r], &o, coef, g, NULL, zl);
      if (o.reduction == SMX_REDUCE_MEAN && !(D > 0) && g) fill(n, g, 0.0);
    }
    if (o.reduction == SMX_REDUCE_NONE) {
      if (loss) loss[r] = lr;
    } else {
      dd_add(&total, lr);
    }
  }
  if (loss && o.reduction == SMX_REDUCE_SUM) loss[0] = dd_val(total);
  if (loss && o.reduction == SMX_REDUCE_MEAN) loss[0] = D > 0 ? dd_val(total) / D : 0.0;
  return D;
}
