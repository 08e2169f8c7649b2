/* The cross-entropy against probability targets and the per-row normalizer state (the forward's lse), on f32 or
   16-bit rows: scalar code shared by every ISA around the active table's pieces (softmax: rows of up to 1024 entries
   by xent_soft_group, the others' state by xent_fold, the loss sums and gradient by xent_soft_q and xent_soft_tail,
   xent_soft_sums without a gradient; stablemax: xent_soft_stable_group, max_nan, stable_lanes, xent_soft_stable_sums
   and xent_stablemax_grad; sparsemax: sparse_group_state or sparse_row_state, and xent_soft_sparse), which give every
   ISA the scalar reference's bits. */
#include "smx_internal.h"

typedef struct soft_args {
  int norm;
  float eps, z_loss, cap, inv_cap;
  const float *w;
  double coef;
  const struct smx_kernels *k; /* the table whose pieces run */
} soft_args;

/* A row's normalizer over the capped logits z: its kind and the constants of p and -log p. */
typedef struct soft_state {
  int nan;
  size_t ninf, nneg; /* +inf and -inf entries */
  float m;           /* max z */
  smx_lse_final f;   /* softmax */
  smx_softmax_out o;
  double S, log_S;   /* stablemax: S = K s(m) + O (K entries equal to m, O the s-sum of the others) */
  double top_nl;     /* stablemax: -log p of the entries equal to m, log K + log1p(O / (K s(m))) */
  smx_stable_c c;    /* stablemax: the row's constants from S */
  int tiny;
  double tau, fy;    /* sparsemax, relative to m (sparse_row_state) */
} soft_state;

#define SOFT_CHUNK SMX_BLOCK /* the passes' columns a chunk at a time (whole blocks: softmax's state as in one go) */

/* A row's logits x, targets q and gradient dx (NULL: none), of element type e (SMX_ELEM_*): the passes take them a
   chunk at a time, f32 columns in place and 16-bit ones widened into the buffers (the gradient computed in db, then
   rounded into dx), so that a 16-bit row gets exactly the f32 row's results on its widened entries (the passes' 16
   lanes and softmax's whole-block fold do not see the blocks) */
typedef struct soft_cols {
  const void *x, *q;
  void *dx;
  int e;
  float xb[SOFT_CHUNK], qb[SOFT_CHUNK], db[SOFT_CHUNK];
} soft_cols;

static size_t chunk_len(size_t n, size_t c) { return n - c < SOFT_CHUNK ? n - c : SOFT_CHUNK; }
/* the columns from c that a pass without buffers of its own takes at once: an f32 row whole (in blocks the pieces'
   calls cost 6% at n = 32000), a 16-bit one a block */
static size_t pass_len(const soft_cols *r, size_t n, size_t c) {
  return r->e == SMX_ELEM_F32 ? n - c : chunk_len(n, c);
}
/* columns [c, c + len) of p (x or q) as floats */
static const float *cols_of(const soft_args *a, const soft_cols *r, const void *p, size_t c, size_t len, float *buf) {
  if (r->e == SMX_ELEM_F32) return (const float *)p + c;
  a->k->widen16(r->e == SMX_ELEM_BF16, len, (const uint16_t *)p + c, buf);
  return buf;
}
static const float *x_cols(const soft_args *a, soft_cols *r, size_t c, size_t len) {
  return cols_of(a, r, r->x, c, len, r->xb);
}
static const float *q_cols(const soft_args *a, soft_cols *r, size_t c, size_t len) {
  return cols_of(a, r, r->q, c, len, r->qb);
}
/* where the gradient of columns [c, c + len) goes, and (d_put) its rounding into dx once computed */
static float *d_cols(soft_cols *r, size_t c) { return r->e == SMX_ELEM_F32 ? (float *)r->dx + c : r->db; }
static void d_put(const soft_args *a, soft_cols *r, size_t c, size_t len) {
  if (r->e != SMX_ELEM_F32) a->k->narrow16(r->e == SMX_ELEM_BF16, len, r->db, (uint16_t *)r->dx + c);
}
static double nan_row(size_t n, soft_cols *r) {
  if (r->dx) smx_fill_elem(n, r->dx, smx_qnan(), r->e);
  return NAN;
}

/* q'_j = (1 - e) q_j + off with label smoothing e > 0 (off = e / n), else q_j; and w_j q'_j (w NULL: q'_j) */
static inline double smoothed(double e, double off, float q) {
  return e > 0.0 ? (1.0 - e) * (double)q + off : (double)q;
}
static inline double weighted(const float *w, size_t j, double qj) { return w ? (double)w[j] * qj : qj; }

/* a call's arguments, with the table k's pieces */
static soft_args args_of(const struct smx_kernels *k, int norm, float eps, float z_loss, float cap, const float *w,
                         double coef) {
  return (soft_args){norm, eps, z_loss, cap, cap > 0.0f ? 1.0f / cap : 0.0f, w, coef, k};
}

/* z = softcap(x) where cap > 0, else x; dz = dz/dx */
static inline float logit_z(float x, float cap, float inv_cap, float *dz) {
  if (cap > 0.0f) return smx_softcap(x, cap, inv_cap, dz);
  *dz = 1.0f;
  return x;
}
static inline float capped(const soft_args *a, float x, float *dz) { return logit_z(x, a->cap, a->inv_cap, dz); }

static int special(size_t n, const soft_state *s) { return s->ninf > 0 || s->nneg == n; }

/* The +inf and -inf counts that special() needs, from the row max m of a row without NaN (no capped logit is
   infinite); whether the row is special */
static int special_of(size_t n, const soft_cols *r, soft_state *s) {
  if (s->m == INFINITY)
    for (size_t i = 0; i < n; i++) s->ninf += smx_elem_get(r->x, i, r->e) == INFINITY;
  if (s->m == -INFINITY) s->nneg = n;
  return special(n, s);
}

/* z of columns [c, c + len) (len <= SOFT_CHUNK): x itself, or capped into buf */
static const float *chunk_z(const soft_args *a, const float *x, size_t len, float *buf) {
  if (a->cap == 0.0f) return x;
  float dz;
  for (size_t i = 0; i < len; i++) buf[i] = capped(a, x[i], &dz);
  return buf;
}

/* The stablemax row state as log-stablemax's (kernels/ref/stablemax.c) over z, by the table's pieces (chunks of the
   capped logits with a softcap): -log p_j is then log1p-accurate at the max (p may be within 1e-12 of one there) and
   log S - log s(z_j) elsewhere, where p_j < 1/2 (no cancellation). */
static void stable_state(const soft_args *a, size_t n, soft_cols *r, soft_state *s) {
  float buf[SOFT_CHUNK];
  for (size_t c = 0; c < n; c += SOFT_CHUNK) {
    const size_t len = chunk_len(n, c);
    int nan;
    const float m = a->k->max_nan(len, chunk_z(a, x_cols(a, r, c, len), len, buf), &nan);
    s->nan |= nan;
    if (m > s->m) s->m = m;
  }
  if (s->nan || special_of(n, r, s)) return;
  double l[SMX_DLANES] = {0}, K = 0.0;
  for (size_t c = 0; c < n; c += SOFT_CHUNK) {
    const size_t len = chunk_len(n, c);
    a->k->stable_lanes(len, chunk_z(a, x_cols(a, r, c, len), len, buf), s->m, l, &K);
  }
  const double O = smx_tree_sum16d(l), sm = smx_stable_s64(s->m);
  s->S = K * sm + O, s->log_S = smx_log64(s->S);
  s->top_nl = smx_log64(K) + smx_log1p64(O / (K * sm));
  s->tiny = s->S < SMX_STABLE_TINY;
  if (!s->tiny) smx_stable_scale(s->S, &s->c);
}

/* The row's normalizer and its constants: softmax by the table's xent_fold (the capped logits' state, its kind giving
   the NaN flag and the +inf and -inf counts that special() needs), stablemax by stable_state, sparsemax by the
   table's sparse_row_state. */
static void scan_row(const soft_args *a, size_t n, soft_cols *r, soft_state *s) {
  *s = (soft_state){.m = -INFINITY}; /* (every field set: the gradient's constants copy the stablemax ones) */
  if (a->norm == SMX_NORM_STABLEMAX) {
    stable_state(a, n, r, s);
    return;
  }
  if (a->norm == SMX_NORM_SOFTMAX) {
    smx_lse st;
    smx_lse_init(&st);
    for (size_t c = 0, len; c < n; c += len) {
      len = pass_len(r, n, c);
      a->k->xent_fold(len, x_cols(a, r, c, len), a->cap, NULL, &st, NULL);
    }
    smx_lse_finish(&st, &s->f, 1);
    s->nan = s->f.kind == SMX_ROW_NAN;
    s->ninf = s->f.kind == SMX_ROW_POSINF ? (size_t)s->f.k : 0;
    s->nneg = s->f.kind == SMX_ROW_ALLNEGINF ? n : 0;
    if (s->f.kind == SMX_ROW_FINITE && s->f.shifted) smx_softmax_out_init(&s->f, &s->o);
    return;
  }
  s->nan = a->k->sparse_row_state(n, r->x, r->e, a->cap, &s->m, &s->tau, &s->fy) == SMX_ROW_NAN;
  if (!s->nan) special_of(n, r, s);
}

/* p_j of one capped logit z where the gradient pieces do not run: special rows, softmax rows that are not shifted,
   sparsemax */
static float prob(const soft_args *a, size_t n, const soft_state *s, float z) {
  if (special(n, s)) return z == INFINITY ? (float)(1.0 / (double)s->ninf) : 0.0f;
  if (a->norm == SMX_NORM_SOFTMAX) return smx_softmax_exp(z, &s->f);
  return smx_sparse_p(z, s->m, s->tau);
}

/* -log p_j of a special row (softmax, stablemax) */
static double special_neg_log_p(const soft_state *s, float z) {
  return z == INFINITY ? smx_log64((double)s->ninf) : INFINITY;
}

void smx_xent_soft_sums_scalar(size_t n, const float *x, const float *q, const float *w, float softcap, double m,
                               double l, double e, double off, double Ql[SMX_DLANES], double ll[SMX_DLANES]) {
  const float inv_cap = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz;
    const float z = logit_z(x[j], softcap, inv_cap, &dz);
    const double qj = smoothed(e, off, q[j]);
    const double wq = weighted(w, j, qj);
    Ql[j % SMX_DLANES] += wq;
    ll[j % SMX_DLANES] += smx_times(wq, (m - (double)z) + l); /* (+inf at z = -inf) */
  }
}

void smx_xent_soft_q_scalar(size_t n, const float *q, const float *w, double e, double off, double Ql[SMX_DLANES]) {
  for (size_t j = 0; j < n; j++) Ql[j % SMX_DLANES] += weighted(w, j, smoothed(e, off, q[j]));
}

void smx_xent_soft_tail_scalar(size_t n, const float *x, const float *q, const float *w, float softcap, double e,
                               double off, double coef, double m, double l, const smx_softmax_out *o, float Af,
                               double ll[SMX_DLANES], float *dx) {
  const float inv_cap = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz;
    const float z = logit_z(x[j], softcap, inv_cap, &dz);
    const double wq = weighted(w, j, smoothed(e, off, q[j]));
    ll[j % SMX_DLANES] += smx_times(wq, (m - (double)z) + l);
    const float b = (float)(coef * wq); /* xent_soft_b's, then xent_softmax_cols's value with w = b and Bf = 1 */
    dx[j] = smx_flush_nan(fmaf(Af, smx_softmax_one(z, o), -(1.0f * b)) * dz);
  }
}

void smx_xent_soft_b_scalar(size_t n, const float *q, const float *w, double e, double off, double coef, float *b) {
  for (size_t j = 0; j < n; j++) b[j] = (float)(coef * weighted(w, j, smoothed(e, off, q[j])));
}

void smx_xent_soft_sparse_scalar(size_t n, const float *x, const float *q, float softcap, float m, double tau, double e,
                                 double off, float G, float *dx, double Ql[SMX_DLANES], double qql[SMX_DLANES],
                                 double ll[SMX_DLANES]) {
  const float inv_cap = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz;
    const float z = logit_z(x[j], softcap, inv_cap, &dz);
    const double qj = smoothed(e, off, q[j]);
    Ql[j % SMX_DLANES] += qj;
    qql[j % SMX_DLANES] += qj * qj;
    ll[j % SMX_DLANES] += smx_times(qj, (double)z - (double)m);
    if (dx) dx[j] = smx_flush_nan(((float)((double)smx_sparse_p(z, m, tau) - qj) * G) * dz);
  }
}

void smx_xent_soft_stable_sums_scalar(size_t n, const float *x, const float *q, const float *w, float softcap, float top,
                                      double top_nl, double L, double e, double off, double Ql[SMX_DLANES],
                                      double ll[SMX_DLANES]) {
  const float inv_cap = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz;
    const float z = logit_z(x[j], softcap, inv_cap, &dz);
    const double wq = weighted(w, j, smoothed(e, off, q[j]));
    Ql[j % SMX_DLANES] += wq;
    ll[j % SMX_DLANES] += smx_times(wq, z == top ? top_nl : L - smx_log_stable64(z)); /* (+inf at z = -inf) */
  }
}

void smx_xent_soft_group_scalar(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                                const float *w, double e, float z_loss, double coef, double *lr, float *done,
                                float *dx, size_t ldd) {
  (void)n, (void)x, (void)ldx, (void)q, (void)ldq, (void)w, (void)e, (void)z_loss, (void)coef, (void)lr, (void)dx,
      (void)ldd;
  for (size_t r = 0; r < g; r++) done[r] = 0.0f;
}
void smx_sparse_group_state_scalar(size_t g, size_t n, const float *x, size_t ldx, float *m, double *tau, double *fy,
                                   float *fast) {
  (void)n, (void)x, (void)ldx, (void)m, (void)tau, (void)fy;
  for (size_t r = 0; r < g; r++) fast[r] = 0.0f;
}
void smx_xent_soft_stable_group_scalar(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                                       const float *w, double e, float z_loss, double coef, double *lr, float *done,
                                       float *dx, size_t ldd) {
  smx_xent_soft_group_scalar(g, n, x, ldx, q, ldq, w, e, z_loss, coef, lr, done, dx, ldd);
}

/* A finite shifted softmax row with a gradient (soft_row's loss and gradient): Q first (A needs it), then the loss
   lanes and the gradient in one pass; with a NaN q'_j (Af NaN) the loss sums and every entry the quiet NaN */
static double softmax_tail(const soft_args *a, size_t n, soft_cols *r, const soft_state *s) {
  const double e = a->eps, off = e / (double)n, m = (double)s->f.m, l = s->f.l, lse = m + l;
  double lanes[2][SMX_DLANES] = {{0}}, *Ql = lanes[0], *ll = lanes[1];
  for (size_t c = 0, len; c < n; c += len) {
    len = pass_len(r, n, c);
    a->k->xent_soft_q(len, q_cols(a, r, c, len), a->w ? a->w + c : NULL, e, off, Ql);
  }
  const float Af = (float)(a->coef * smx_soft_z_A(smx_tree_sum16d(Ql), a->z_loss, lse));
  for (size_t c = 0, len; c < n; c += len) {
    len = pass_len(r, n, c);
    const float *x = x_cols(a, r, c, len), *q = q_cols(a, r, c, len), *w = a->w ? a->w + c : NULL;
    if (Af == Af) {
      a->k->xent_soft_tail(len, x, q, w, a->cap, e, off, a->coef, m, l, &s->o, Af, ll, d_cols(r, c));
      d_put(a, r, c, len);
    } else {
      a->k->xent_soft_sums(len, x, q, w, a->cap, m, l, e, off, Ql, ll);
    }
  }
  if (Af != Af) smx_fill_elem(n, r->dx, smx_qnan(), r->e);
  return smx_soft_z_loss(smx_tree_sum16d(ll), a->z_loss, lse);
}

/* The loss of one row and, where r->dx, its gradient, from its state s (scan_row's, or given: sparsemax's nan, ninf,
   nneg, m, tau and fy set; out of line: the driver's loop over the rows stays in registers, 2% of the time at n = 8) */
static __attribute__((noinline)) double soft_row(const soft_args *a, size_t n, soft_cols *r, soft_state *s,
                                                 int given) {
  if (!given) scan_row(a, n, r, s);
  if (s->nan) return nan_row(n, r);
  const int sp = special(n, s);
  if (a->norm == SMX_NORM_SOFTMAX && !sp && r->dx && s->f.shifted) return softmax_tail(a, n, r, s);
  const double e = a->eps, off = e / (double)n;
  double lanes[3][SMX_DLANES] = {{0}}, *ll = lanes[0], *Ql = lanes[1], *qql = lanes[2]; /* (one zeroing, not three) */
  const float G = (float)a->coef;
  int mass_off_inf = 0; /* sparsemax special rows: q' has mass on an entry that is not +inf */
  float dz;
  for (size_t c = 0, len; c < n; c += len) {
    len = pass_len(r, n, c);
    const float *x = x_cols(a, r, c, len), *q = q_cols(a, r, c, len), *w = a->w ? a->w + c : NULL;
    if (a->norm == SMX_NORM_SOFTMAX && !sp) {
      a->k->xent_soft_sums(len, x, q, w, a->cap, (double)s->f.m, s->f.l, e, off, Ql, ll);
    } else if (a->norm == SMX_NORM_STABLEMAX && !sp) {
      a->k->xent_soft_stable_sums(len, x, q, w, a->cap, s->m, s->top_nl, s->log_S, e, off, Ql, ll);
    } else if (a->norm == SMX_NORM_SPARSEMAX && !sp) { /* with the gradient */
      a->k->xent_soft_sparse(len, x, q, a->cap, s->m, s->tau, e, off, G, r->dx ? d_cols(r, c) : NULL, Ql, qql, ll);
      if (r->dx) d_put(a, r, c, len);
    } else {
      for (size_t i = 0; i < len; i++) {
        const float z = capped(a, x[i], &dz);
        const double qj = smoothed(e, off, q[i]);
        const double wq = weighted(w, i, qj);
        Ql[(c + i) % SMX_DLANES] += wq;
        if (a->norm != SMX_NORM_SPARSEMAX) {
          ll[(c + i) % SMX_DLANES] += smx_times(wq, special_neg_log_p(s, z));
        } else {
          qql[(c + i) % SMX_DLANES] += qj * qj;
          mass_off_inf |= qj != 0.0 && z != INFINITY;
        }
      }
    }
  }
  const double Q = smx_tree_sum16d(Ql);
  double loss, A = Q;
  if (a->norm == SMX_NORM_SPARSEMAX) { /* <z, q'> - m = sum q'_j (z_j - m) + m (sum q' - 1) */
    const double qq = smx_tree_sum16d(qql);
    if (!sp) loss = s->fy - (smx_tree_sum16d(ll) + smx_times((double)s->m, Q - 1.0)) + 0.5 * qq;
    else loss = mass_off_inf ? INFINITY : (s->ninf ? 0.5 * (qq - 1.0 / (double)s->ninf) : 0.0);
  } else {
    loss = smx_tree_sum16d(ll);
    if (a->norm == SMX_NORM_SOFTMAX && !sp) {
      const double lse = (double)s->f.m + s->f.l;
      loss = smx_soft_z_loss(loss, a->z_loss, lse), A = smx_soft_z_A(A, a->z_loss, lse);
    }
  }
  if (!r->dx) return loss;
  if (a->norm == SMX_NORM_SPARSEMAX && !sp) { /* the piece's gradient; a NaN of q (Q holds their sum) made quiet (the
                                                 16-bit rounding made it the type's one NaN already) */
    if (Q != Q && r->e == SMX_ELEM_F32)
      for (float *dx = r->dx, *end = dx + n; dx < end; dx++) *dx = *dx != *dx ? smx_qnan() : *dx;
    return loss;
  }
  const float Af = (float)(a->coef * A);
  if (!sp && a->norm == SMX_NORM_STABLEMAX && Af != Af) { /* a NaN q'_j (A holds their sum): every entry the quiet
                                                              NaN, as smx_flush_nan gives it (the pieces would keep the
                                                              NaN's payload) */
    smx_fill_elem(n, r->dx, smx_qnan(), r->e);
    return loss;
  }
  float b[SOFT_CHUNK];
  smx_xent_row row = {.softcap = a->cap, .class_weight = b};
  const smx_xent_stable st = {.kind = SMX_ROW_FINITE, .Af = Af, .Bf = 1.0f, .c = s->c, .tiny = s->tiny, .S = s->S};
  for (size_t c = 0; c < n; c += SOFT_CHUNK) {
    const size_t len = chunk_len(n, c);
    const float *x = x_cols(a, r, c, len), *q = q_cols(a, r, c, len), *w = a->w ? a->w + c : NULL;
    float *dx = d_cols(r, c);
    if (!sp && a->norm == SMX_NORM_STABLEMAX) { /* the gradient piece with b_j as its class weights, Bf = 1 */
      a->k->xent_soft_b(len, q, w, e, off, a->coef, b);
      a->k->xent_stablemax_grad(len, x, &row, &st, dx);
    } else {
      for (size_t i = 0; i < len; i++) {
        const float z = capped(a, x[i], &dz), p = prob(a, n, s, z);
        const double qj = smoothed(e, off, q[i]);
        if (a->norm == SMX_NORM_SPARSEMAX) {
          dx[i] = smx_flush_nan(((float)((double)p - qj) * G) * dz);
          continue;
        }
        const float g = fmaf(Af, p, -(float)(a->coef * weighted(w, i, qj)));
        dx[i] = smx_flush_nan((a->norm == SMX_NORM_STABLEMAX ? g / (1.0f + fabsf(z)) : g) * dz);
      }
    }
    d_put(a, r, c, len);
  }
  return loss;
}

double smx_xent_soft_rows(const struct smx_kernels *k, int normalizer, size_t rows, size_t n, const void *x,
                          size_t ldx, const void *q, size_t ldq, int e, float label_smoothing, float z_loss,
                          float softcap, const float *class_weight, double coef, double *row_losses, void *dx,
                          size_t ldd, double total) {
  const soft_args a = args_of(k, normalizer, label_smoothing, z_loss, softcap, class_weight, coef);
  /* f32 rows without softcap 16 at a time: softmax and stablemax rows of up to a block by the table's groups (their
     per-row double math lane-wise), sparsemax rows of up to SMX_SPARSE_GROUP_MAX with their states from the table's
     sparse_group_state (one row per lane); the rest row by row */
  const int f32 = softcap == 0.0f && e == SMX_ELEM_F32, sparse = normalizer == SMX_NORM_SPARSEMAX;
  const int grouped = f32 && (sparse ? n <= SMX_SPARSE_GROUP_MAX : n <= SMX_BLOCK);
  smx_xent_soft_group_fn *group = normalizer == SMX_NORM_SOFTMAX ? k->xent_soft_group : k->xent_soft_stable_group;
  float done[SMX_SOFT_GROUP] = {0}, m[SMX_SOFT_GROUP];
  double tau[SMX_SOFT_GROUP], fy[SMX_SOFT_GROUP];
  soft_cols r; /* (the buffers left unset) */
  r.e = e;
  soft_state s;
  for (size_t r0 = 0, g; r0 < rows; r0 += g) {
    g = grouped ? (rows - r0 < SMX_SOFT_GROUP ? rows - r0 : SMX_SOFT_GROUP) : 1;
    if (grouped && sparse)
      k->sparse_group_state(g, n, (const float *)x + r0 * ldx, ldx, m, tau, fy, done);
    else if (grouped)
      group(g, n, (const float *)x + r0 * ldx, ldx, (const float *)q + r0 * ldq, ldq, class_weight, label_smoothing,
            z_loss, coef, row_losses + r0, done, dx ? (float *)dx + r0 * ldd : NULL, ldd);
    for (size_t i = r0; i < r0 + g; i++) {
      const int given = sparse && done[i - r0] != 0.0f; /* (a finite max and no NaN: scan_row's state the same) */
      if (done[i - r0] == 0.0f || given) {
        r.x = smx_elem_at(x, i * ldx, e), r.q = smx_elem_at(q, i * ldq, e);
        r.dx = dx ? (void *)smx_elem_at(dx, i * ldd, e) : NULL;
        if (given) s.nan = 0, s.ninf = s.nneg = 0, s.m = m[i - r0], s.tau = tau[i - r0], s.fy = fy[i - r0];
        row_losses[i] = soft_row(&a, n, &r, &s, given);
      }
      total += row_losses[i]; /* (here, not in a loop of its own: the adds' latency hides behind the rows' work) */
    }
  }
  return total;
}

void smx_xent_state_rows(const struct smx_kernels *k, int normalizer, size_t rows, size_t n, const void *x,
                         size_t ldx, int e, float softcap, float *state) {
  if (normalizer == SMX_NORM_SOFTMAX && softcap == 0.0f && e == SMX_ELEM_F32) {
    k->logsumexp(rows, n, x, ldx, state);
    return;
  }
  const soft_args a = args_of(k, normalizer, 0.0f, 0.0f, softcap, NULL, 0.0);
  soft_cols c;
  c.e = e, c.dx = NULL;
  for (size_t r = 0; r < rows; r++) {
    soft_state s;
    c.x = smx_elem_at(x, r * ldx, e);
    scan_row(&a, n, &c, &s);
    float v;
    if (s.nan) v = smx_qnan();
    else if (s.ninf) v = INFINITY;
    else if (s.nneg == n) v = -INFINITY;
    else if (normalizer == SMX_NORM_SOFTMAX) v = s.f.lse;
    else if (normalizer == SMX_NORM_STABLEMAX) v = smx_flush((float)s.log_S);
    else v = smx_flush((float)((double)s.m + s.tau));
    state[r] = v;
  }
}
