/* Row states as public values (smx_row_state_*), the cross-entropy of one vocabulary shard from merged states, and
   long cross-entropy rows split into such shards across threads. */
#include <stdlib.h>

#include "dispatch.h"
#include "fpenv.h"
#include "parallel.h"

/* The stablemax normalizer's state of a row's columns: the exact sum of its blocks' S_b (kernels/common/xent.h;
   its value gives the row's kind, smx_stable_kind) and the +inf count (the special rule's share). */
typedef struct {
  double kinf;
  smx_exsum S;
} stable_state;
/* What a public state holds: a tag, the softcap it was made with (its bits), the normalizer's row state (softmax:
   smx_lse; stablemax: stable_state) and, when made for label smoothing, the sum of its columns' w_j z_j (softmax) or
   w_j log s(z_j) (stablemax) and whether one of them has a nonzero weight and is not +inf. */
typedef struct {
  uint64_t tag;
  uint32_t softcap;
  int32_t smoothing; /* made with label smoothing: wz and weighted_other hold the columns' parts */
  union {
    smx_lse s;
    stable_state sm;
  };
  smx_wzsum wz;
  int32_t weighted_other, normalizer; /* (normalizer: 0 in states of softmax-only builds, the same layout) */
} state_bytes;
_Static_assert(sizeof(state_bytes) <= sizeof(smx_row_state), "SMX_ROW_STATE_DOUBLES too small");
_Static_assert(sizeof(stable_state) <= sizeof(smx_lse), "the softmax state's layout must not move");
#define STATE_TAG 0x3230305354534d53ull /* "SMSTS002" */

/* canonical bytes: zero padding, empty binned sums zeroed, so that equal states are equal bytes */
static void canon_bins(smx_binsum *b) {
  smx_binsum c;
  memset(&c, 0, sizeof c);
  if (b->any) {
    c.any = 1, c.top = b->top;
    for (int i = 0; i <= SMX_BINS; i++) c.b[i] = b->b[i];
  }
  *b = c;
}
static void put(smx_row_state *st, const state_bytes *from) {
  const smx_lse *s = &from->s;
  state_bytes b;
  memset(&b, 0, sizeof b);
  b.tag = STATE_TAG, b.softcap = from->softcap, b.smoothing = from->smoothing, b.normalizer = from->normalizer;
  if (b.normalizer == SMX_NORM_STABLEMAX) {
    b.sm.kinf = from->sm.kinf, b.sm.S = from->sm.S;
  } else {
    b.s.m = s->m, b.s.nan = s->nan, b.s.plain = s->plain, b.s.in = s->in, b.s.k = s->k;
    b.s.R = s->R, b.s.Mex = s->Mex, b.s.Mall = s->Mall;
    canon_bins(&b.s.R), canon_bins(&b.s.Mex), canon_bins(&b.s.Mall);
    b.s.p.m = s->p.m, b.s.p.k = s->p.k, b.s.p.r = s->p.r;
  }
  if (b.smoothing) {
    b.wz.pos = from->wz.pos, b.wz.neg = from->wz.neg, b.wz.inf = from->wz.inf;
    canon_bins(&b.wz.pos), canon_bins(&b.wz.neg);
    b.weighted_other = from->weighted_other;
  }
  memset(st, 0, sizeof *st);
  memcpy(st, &b, sizeof b);
}
static int get(const smx_row_state *st, state_bytes *b) {
  memcpy(b, st, sizeof *b);
  return b->tag == STATE_TAG;
}

/* one row's columns folded into b (after state_begin, b->normalizer set): the active ISA's blocks, softcapped
   block by block first when cap > 0 (as the cross-entropy does); with b->smoothing also each block's sum of w_j z_j
   or w_j log s(z_j) (w: the columns' weights or NULL) */
static void state_begin(state_bytes *b) {
  if (b->normalizer == SMX_NORM_STABLEMAX) {
    memset(&b->sm, 0, sizeof b->sm);
  } else {
    smx_lse_init(&b->s);
  }
  memset(&b->wz, 0, sizeof b->wz);
  b->weighted_other = 0;
}
/* the blocks' sums; a block's S_b is +inf if it holds a +inf and no NaN: only such blocks are scanned for the +inf
   count (a NaN makes the row NaN) */
static void stable_fold(const smx_kernels *k, size_t n, const float *x, float cap, const float *w, state_bytes *b) {
  stable_state *s = &b->sm;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    const float *xb = x + o, *wb = w ? w + o : NULL;
    double out[3];
    k->xent_stable_block(len, xb, SMX_ELEM_F32, SIZE_MAX, cap, b->smoothing ? 1.0f : 0.0f, wb, out);
    smx_exsum_add(&s->S, out[0], 1);
    if (b->smoothing) smx_wzsum_add(&b->wz, out[2]);
    if (out[0] == INFINITY) s->kinf += smx_count_posinf(len, xb);
    if (b->smoothing && !b->weighted_other) b->weighted_other = smx_xent_weighted_other(len, xb, wb); /* (stops early) */
  }
}
static void state_fold(const smx_kernels *k, size_t n, const float *x, float cap, const float *w, state_bytes *b) {
  if (b->normalizer == SMX_NORM_STABLEMAX) {
    stable_fold(k, n, x, cap, w, b);
    return;
  }
  k->xent_fold(n, x, cap, w, &b->s, b->smoothing ? &b->wz : NULL);
  if (b->smoothing) b->weighted_other |= smx_xent_weighted_other(n, x, w);
}

/* 16-bit tensors (T16_BF16, T16_F16; T32 for float) go through the f32 code in whole blocks widened on the
   stack: every result is the f32 function's on the widened values (rounded once for a 16-bit gradient) */
enum { T16_F16 = 0, T16_BF16 = 1, T32 = 2 };
static size_t esize(int t) { return t == T32 ? sizeof(float) : sizeof(uint16_t); }
static const void *elem(const void *p, size_t i, int t) { return (const char *)p + i * esize(t); }
/* bytes of a rows x n matrix (leading dimension ld) of type t (the f32 span, which smx_check_matrix checked, halved) */
static size_t span_t(size_t rows, size_t n, size_t ld, int t) { return smx_span_bytes(rows, n, ld) / sizeof(float) * esize(t); }
/* one row of type t: folded in chunks of whole blocks (the same blocks, so the same state as in one go) */
static void row_state(const smx_kernels *k, int t, size_t n, const void *x, float cap, const float *w, state_bytes *b) {
  state_begin(b);
  if (t == T32) {
    state_fold(k, n, x, cap, w, b);
    return;
  }
  float buf[SMX_CHUNK16];
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, elem(x, c, t), buf);
    state_fold(k, len, buf, cap, w ? w + c : NULL, b);
  }
}

/* a := a's columns followed by b's (the same normalizer, softcap and smoothing) */
static void state_merge(state_bytes *a, const state_bytes *b) {
  if (a->normalizer == SMX_NORM_STABLEMAX) {
    a->sm.kinf += b->sm.kinf;
    smx_exsum_merge(&a->sm.S, &b->sm.S);
  } else {
    smx_lse_merge(&a->s, &b->s);
  }
  smx_wzsum_merge(&a->wz, &b->wz);
  a->weighted_other |= b->weighted_other;
}

/* options of the row-state functions: the softmax and stablemax normalizers (the rest as smx_cross_entropy_f32) */
static smx_status check_opts(const char *fn, const smx_xent_options *o, size_t n) {
  smx_status s = smx_xent_check_options(fn, o, n, 0);
  if (s) return s;
  if (o->normalizer == SMX_NORM_SPARSEMAX)
    return smx_fail(SMX_ERR_ARG, "%s: opts->normalizer = SMX_NORM_SPARSEMAX: sparsemax's threshold has no mergeable "
                    "row state (row states exist for the softmax and stablemax normalizers)", fn);
  return SMX_OK;
}
static const char *norm_name(int normalizer) { return normalizer == SMX_NORM_STABLEMAX ? "stablemax" : "softmax"; }

/* every state a row state; with opts given, made with its softcap and, for label smoothing, for it */
static smx_status check_states(const char *fn, const char *what, size_t rows, const smx_row_state *st,
                               const smx_xent_options *opts) {
  state_bytes b;
  for (size_t r = 0; r < rows; r++) {
    if (!get(&st[r], &b)) return smx_fail(SMX_ERR_ARG, "%s: %s[%zu] is not a row state (made by smx_row_state_f32)", fn, what, r);
    if (opts && b.softcap != smx_f2u(opts->softcap))
      return smx_fail(SMX_ERR_ARG, "%s: %s[%zu] was made with softcap %g, not %g", fn, what, r,
                      (double)smx_u2f(b.softcap), (double)opts->softcap);
    if (opts && opts->label_smoothing > 0.0f && !b.smoothing)
      return smx_fail(SMX_ERR_ARG, "%s: %s[%zu] was made without label smoothing (its options need its sums)", fn, what, r);
    if (opts && b.normalizer != (int32_t)opts->normalizer)
      return smx_fail(SMX_ERR_ARG, "%s: %s[%zu] was made for the %s normalizer, opts->normalizer is %s", fn, what, r,
                      norm_name(b.normalizer), norm_name(opts->normalizer));
  }
  return SMX_OK;
}

static smx_status row_states(const char *fn, int t, size_t rows, size_t n, const void *x, size_t ldx,
                             const smx_xent_options *opts, smx_row_state *st) {
  if (!x) return smx_fail(SMX_ERR_NULL, "%s: x is NULL", fn);
  if (!st) return smx_fail(SMX_ERR_NULL, "%s: st is NULL", fn);
  smx_status s = smx_check_matrix(fn, "x", rows, n, ldx);
  if (s) return s;
  if (rows > SIZE_MAX / sizeof(smx_row_state)) return smx_fail(SMX_ERR_SHAPE, "%s: rows = %zu overflows size_t", fn, rows);
  if (opts && (s = check_opts(fn, opts, n))) return s;
  const size_t sbytes = rows * sizeof *st;
  if (smx_overlap(st, sbytes, x, span_t(rows, n, ldx, t))) return smx_fail(SMX_ERR_ALIAS, "%s: st overlaps x", fn);
  if (opts && smx_overlap(st, sbytes, opts, sizeof *opts)) return smx_fail(SMX_ERR_ALIAS, "%s: st overlaps opts", fn);
  if (opts && opts->class_weight && smx_overlap(st, sbytes, opts->class_weight, n * sizeof(float)))
    return smx_fail(SMX_ERR_ALIAS, "%s: st overlaps opts->class_weight", fn);
  const float cap = opts ? opts->softcap : 0.0f;
  const smx_kernels *k = smx_active_kernels();
  const smx_fpenv env = smx_fpenv_enter();
  state_bytes b;
  b.softcap = smx_f2u(cap), b.smoothing = opts && opts->label_smoothing > 0.0f;
  b.normalizer = opts ? (int32_t)opts->normalizer : SMX_NORM_SOFTMAX;
  for (size_t r = 0; r < rows; r++) {
    row_state(k, t, n, elem(x, r * ldx, t), cap, opts ? opts->class_weight : NULL, &b);
    put(&st[r], &b);
  }
  smx_fpenv_leave(env);
  return SMX_OK;
}
smx_status smx_row_state_f32(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_options *opts,
                             smx_row_state *st) {
  return row_states("smx_row_state_f32", T32, rows, n, x, ldx, opts, st);
}
smx_status smx_row_state_bf16(size_t rows, size_t n, const smx_bf16 *x, size_t ldx, const smx_xent_options *opts,
                              smx_row_state *st) {
  return row_states("smx_row_state_bf16", T16_BF16, rows, n, x, ldx, opts, st);
}
smx_status smx_row_state_f16(size_t rows, size_t n, const smx_f16 *x, size_t ldx, const smx_xent_options *opts,
                             smx_row_state *st) {
  return row_states("smx_row_state_f16", T16_F16, rows, n, x, ldx, opts, st);
}

smx_status smx_row_state_merge(size_t rows, smx_row_state *acc, const smx_row_state *next) {
  const char *fn = "smx_row_state_merge";
  if (!acc) return smx_fail(SMX_ERR_NULL, "%s: acc is NULL", fn);
  if (!next) return smx_fail(SMX_ERR_NULL, "%s: next is NULL", fn);
  if (rows > SIZE_MAX / sizeof(smx_row_state)) return smx_fail(SMX_ERR_SHAPE, "%s: rows = %zu overflows size_t", fn, rows);
  if (smx_overlap(acc, rows * sizeof *acc, next, rows * sizeof *next))
    return smx_fail(SMX_ERR_ALIAS, "%s: acc overlaps next", fn);
  smx_status s;
  if ((s = check_states(fn, "acc", rows, acc, NULL)) || (s = check_states(fn, "next", rows, next, NULL))) return s;
  state_bytes a, b;
  for (size_t r = 0; r < rows; r++) {
    get(&acc[r], &a), get(&next[r], &b);
    if (a.softcap != b.softcap)
      return smx_fail(SMX_ERR_ARG, "%s: acc[%zu] and next[%zu] were made with different softcaps (%g, %g)", fn, r, r,
                      (double)smx_u2f(a.softcap), (double)smx_u2f(b.softcap));
    if (a.smoothing != b.smoothing)
      return smx_fail(SMX_ERR_ARG, "%s: acc[%zu] and next[%zu]: one was made for label smoothing, the other not", fn, r, r);
    if (a.normalizer != b.normalizer)
      return smx_fail(SMX_ERR_ARG, "%s: acc[%zu] was made for the %s normalizer, next[%zu] for %s", fn, r,
                      norm_name(a.normalizer), r, norm_name(b.normalizer));
  }
  const smx_fpenv env = smx_fpenv_enter();
  for (size_t r = 0; r < rows; r++) {
    get(&acc[r], &a), get(&next[r], &b);
    state_merge(&a, &b);
    put(&acc[r], &a);
  }
  smx_fpenv_leave(env);
  return SMX_OK;
}

smx_status smx_row_state_logsumexp(size_t rows, const smx_row_state *st, float *lse) {
  const char *fn = "smx_row_state_logsumexp";
  if (!st) return smx_fail(SMX_ERR_NULL, "%s: st is NULL", fn);
  if (!lse) return smx_fail(SMX_ERR_NULL, "%s: lse is NULL", fn);
  if (rows > SIZE_MAX / sizeof(smx_row_state)) return smx_fail(SMX_ERR_SHAPE, "%s: rows = %zu overflows size_t", fn, rows);
  if (smx_overlap(lse, rows * sizeof *lse, st, rows * sizeof *st)) return smx_fail(SMX_ERR_ALIAS, "%s: lse overlaps st", fn);
  smx_status s = check_states(fn, "st", rows, st, NULL);
  if (s) return s;
  const smx_fpenv env = smx_fpenv_enter();
  for (size_t r = 0; r < rows; r++) {
    state_bytes b;
    smx_lse_final f;
    get(&st[r], &b);
    if (b.normalizer == SMX_NORM_STABLEMAX) { /* log S */
      const double S = smx_exsum_value(&b.sm.S);
      lse[r] = S > 0.0 && S < INFINITY ? (float)smx_log64(S) : S == 0.0 ? -INFINITY : (float)S;
      continue;
    }
    smx_lse_finish(&b.s, &f, 1);
    lse[r] = f.lse;
  }
  smx_fpenv_leave(env);
  return SMX_OK;
}

/* One row of a shard: smx_xent_softmax_row's formulas on the columns [col0, col0 + n) of a row of n_total classes,
   from the row's full state b; returns the row's loss if its target is here, else 0. */
static double shard_row(const smx_kernels *k, size_t n, const float *x, size_t col0, size_t n_total,
                        const smx_xent_row *row, const state_bytes *b, float *dx) {
  const smx_lse *s = &b->s;
  const size_t t = (size_t)row->target;
  const int here = t >= col0 && t - col0 < n;
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const float *cw = row->class_weight;
  float dz;
  smx_lse_final f;
  smx_lse_finish(s, &f, 1);
  if (f.kind == SMX_ROW_NAN) {
    smx_xent_nan_row(n, dx);
    return here ? NAN : 0.0;
  }
  const float zt = here ? smx_xent_logit(row, inv_cap, x[t - col0], &dz) : f.m;
  const double wt = smx_xent_weight(row, t), g = row->grad_coef, eps = row->label_smoothing;
  double loss, gt, A;
  float pinf = 0.0f;
  if (f.kind == SMX_ROW_FINITE) {
    const double sum_wz = eps > 0.0 ? smx_wzsum_value(&b->wz) : 0.0;
    smx_xent_softmax_terms(n_total, &f, zt, wt, sum_wz, smx_xent_pt_m1(&f, zt, dx != NULL), row, &loss, &A, &gt);
  } else { /* +inf entries (f.k of them) or all -inf: the special rule, as smx_xent_softmax_row */
    pinf = f.kind == SMX_ROW_POSINF ? (float)(1.0 / f.k) : 0.0f;
    const double pt = here && x[t - col0] == INFINITY ? pinf : 0.0;
    loss = smx_xent_special_loss_of(n_total, row, wt, pt, pinf, b->weighted_other);
    A = (1.0 - eps) * wt + eps * row->weight_sum / (double)n_total;
    gt = (1.0 - eps) * wt * (pt - 1.0) + eps / (double)n_total * (row->weight_sum * pt - wt);
  }
  if (dx) {
    const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n_total);
    /* the target's dz/dx before the loop: dx may be x */
    const float dzt = here && row->softcap > 0.0f ? (smx_softcap(x[t - col0], row->softcap, inv_cap, &dz), dz) : 1.0f;
    if (f.kind == SMX_ROW_FINITE && f.shifted) {
      smx_softmax_out o;
      smx_softmax_out_init(&f, &o);
      k->xent_softmax_cols(n, x, cw ? cw + col0 : NULL, row->softcap, &o, Af, Bf, dx);
    } else if (f.kind == SMX_ROW_FINITE) { /* |max| > 2^16 */
      for (size_t j = 0; j < n; j++) {
        const float z = smx_xent_logit(row, inv_cap, x[j], &dz), b = cw ? Bf * cw[col0 + j] : Bf;
        dx[j] = smx_flush_nan(fmaf(Af, smx_softmax_exp(z, &f), -b) * dz);
      }
    } else {
      for (size_t j = 0; j < n; j++) {
        const float b = cw ? Bf * cw[col0 + j] : Bf;
        dx[j] = smx_flush_nan(fmaf(Af, x[j] == INFINITY ? pinf : 0.0f, -b));
      }
    }
    if (here) dx[t - col0] = smx_flush_nan((float)(g * gt) * dzt);
  }
  return here ? loss : 0.0;
}

/* The same for the stablemax normalizer: the kernels' formulas (kernels/common/xent.h) with S from the full state
   and, in the shard holding the target, O from S's exact sum with the target's block (of this shard's blocks, so
   the unsharded one where the boundaries are block multiples) taken out and its O_b put in. */
static double shard_row_stable(const smx_kernels *k, size_t n, const float *x, size_t col0, size_t n_total,
                               const smx_xent_row *row, const state_bytes *b, float *dx) {
  const stable_state *ss = &b->sm;
  const size_t t = (size_t)row->target;
  const int here = t >= col0 && t - col0 < n;
  const double S = smx_exsum_value(&ss->S);
  smx_xent_stable st;
  st.kind = smx_stable_kind(S);
  if (st.kind == SMX_ROW_NAN) {
    smx_xent_nan_row(n, dx);
    return here ? NAN : 0.0;
  }
  double O = 0.0;
  st.zt = 0.0f, st.dzt = 1.0f;
  smx_xent_row local = *row; /* the shard's columns */
  local.class_weight = row->class_weight ? row->class_weight + col0 : NULL, local.target = here ? t - col0 : 0;
  if (here) {
    const size_t tl = t - col0, o = tl / SMX_BLOCK * SMX_BLOCK, len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    double out[3];
    k->xent_stable_block(len, x + o, SMX_ELEM_F32, tl - o, row->softcap, 0.0f, NULL, out);
    O = smx_xent_stable_other(&ss->S, out[0], out[1]);
    st.zt = smx_xent_logit(row, row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f, x[tl], &st.dzt);
  }
  const double wls = row->label_smoothing > 0.0f ? smx_wzsum_value(&b->wz) : 0.0;
  smx_xent_stablemax_terms(n_total, row, S, O, wls, ss->kinf, here && x[t - col0] == INFINITY, b->weighted_other, &st);
  if (dx) { /* (z_t and its dz/dx taken before: dx may be x) */
    k->xent_stablemax_grad(n, x, &local, &st, dx);
    if (here) smx_xent_stablemax_target(n_total, &local, &st, dx);
  }
  return here ? st.loss : 0.0;
}
static double shard_row_norm(const smx_kernels *k, size_t n, const float *x, size_t col0, size_t n_total,
                             const smx_xent_row *row, const state_bytes *b, float *dx) {
  return b->normalizer == SMX_NORM_STABLEMAX ? shard_row_stable(k, n, x, col0, n_total, row, b, dx)
                                             : shard_row(k, n, x, col0, n_total, row, b, dx);
}

/* a row of a shard of type t: f32 as it is, 16-bit in chunks of whole blocks widened on the stack (each chunk a
   shard of its own columns: its gradient, and the loss if the target is there), the gradient rounded back */
static double shard_row_t(const smx_kernels *k, int t, size_t n, const void *x, size_t col0, size_t n_total,
                          const smx_xent_row *row, const state_bytes *b, void *dx) {
  if (t == T32) return shard_row_norm(k, n, x, col0, n_total, row, b, dx);
  float buf[SMX_CHUNK16];
  double loss = 0.0;
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, elem(x, c, t), buf);
    loss += shard_row_norm(k, len, buf, col0 + c, n_total, row, b, dx ? buf : NULL); /* one chunk holds the target */
    if (dx) k->narrow16(t, len, buf, (uint16_t *)dx + c);
  }
  return loss;
}

double smx_xent16_row_chunked(const smx_kernels *k, int normalizer, int bf16, size_t n, const uint16_t *x,
                              const smx_xent_row *row, uint16_t *dx) {
  const int t = bf16 ? T16_BF16 : T16_F16;
  state_bytes b;
  b.softcap = smx_f2u(row->softcap), b.smoothing = row->label_smoothing > 0.0f, b.normalizer = normalizer;
  row_state(k, t, n, x, row->softcap, row->class_weight, &b);
  return shard_row_t(k, t, n, x, 0, n, row, &b, dx);
}

static smx_status shard(const char *fn, int t, size_t rows, size_t n_shard, const void *logits, size_t ldx,
                        size_t col0, size_t n_total, const int64_t *targets, const smx_xent_options *opts,
                        const smx_row_state *full, float *loss_part, void *dlogits, size_t ldd, float grad_scale) {
  smx_xent_options defaults;
  if (!opts) smx_xent_options_default(&defaults), opts = &defaults;
  if (!logits) return smx_fail(SMX_ERR_NULL, "%s: logits is NULL", fn);
  if (!targets) return smx_fail(SMX_ERR_NULL, "%s: targets is NULL", fn);
  if (!full) return smx_fail(SMX_ERR_NULL, "%s: full is NULL", fn);
  smx_status s = smx_check_matrix(fn, "logits", rows, n_shard, ldx);
  if (s) return s;
  if (dlogits && (s = smx_check_matrix(fn, "dlogits", rows, n_shard, ldd))) return s;
  if (rows > SIZE_MAX / sizeof(smx_row_state)) return smx_fail(SMX_ERR_SHAPE, "%s: rows = %zu overflows size_t", fn, rows);
  if (n_total > SIZE_MAX / sizeof(float) || col0 > n_total || n_shard > n_total - col0)
    return smx_fail(SMX_ERR_SHAPE, "%s: the shard [col0, col0 + n_shard) = [%zu, %zu + %zu) is not inside [0, n_total = %zu)",
                    fn, col0, col0, n_shard, n_total);
  if ((s = check_opts(fn, opts, n_total))) return s;
  if (opts->target_type != SMX_TARGET_I64)
    return smx_fail(SMX_ERR_ARG, "%s: opts->target_type must be SMX_TARGET_I64 (targets is const int64_t *)", fn);
  if (!(grad_scale == grad_scale && grad_scale != INFINITY && grad_scale != -INFINITY))
    return smx_fail(SMX_ERR_ARG, "%s: grad_scale = %g is not finite", fn, (double)grad_scale);
  for (size_t r = 0; r < rows; r++) {
    const int64_t t = targets[r];
    if (t != opts->ignore_index && (t < 0 || (uint64_t)t >= n_total))
      return smx_fail(SMX_ERR_TARGET, "%s: targets[%zu] = %lld is in no shard of [0, n_total) = [0, %zu) and not the ignore_index %lld",
                      fn, r, (long long)t, n_total, (long long)opts->ignore_index);
  }
  if ((s = check_states(fn, "full", rows, full, opts))) return s;
  /* aliasing: dlogits is exactly logits or disjoint from it, and disjoint from every other input; loss_part from all */
  const size_t xbytes = span_t(rows, n_shard, ldx, t), dbytes = dlogits ? span_t(rows, n_shard, ldd, t) : 0;
  const size_t lbytes = loss_part ? (opts->reduction == SMX_REDUCE_NONE ? rows : 1) * sizeof(float) : 0;
  const void *in[4] = {targets, full, opts, opts->class_weight};
  const size_t inb[4] = {rows * sizeof *targets, rows * sizeof *full, sizeof *opts,
                         opts->class_weight ? n_total * sizeof(float) : 0};
  const char *inn[4] = {"targets", "full", "opts", "opts->class_weight"};
  if (dlogits && !(dlogits == logits && ldd == ldx) && smx_overlap(dlogits, dbytes, logits, xbytes))
    return smx_fail(SMX_ERR_ALIAS, "%s: dlogits overlaps logits without being exactly the same matrix", fn);
  if (smx_overlap(loss_part, lbytes, logits, xbytes) || smx_overlap(loss_part, lbytes, dlogits, dbytes))
    return smx_fail(SMX_ERR_ALIAS, "%s: loss_part overlaps logits or dlogits", fn);
  for (int i = 0; i < 4; i++)
    if (smx_overlap(dlogits, dbytes, in[i], inb[i]) || smx_overlap(loss_part, lbytes, in[i], inb[i]))
      return smx_fail(SMX_ERR_ALIAS, "%s: an output overlaps %s", fn, inn[i]);
  /* the row coefficients exactly as smx_cross_entropy_f32 sets them */
  const float *w = opts->class_weight;
  double denom = 0.0, total = 0.0;
  size_t counted = 0;
  const smx_fpenv env = smx_fpenv_enter(); /* (the sums and coefficients too) */
  for (size_t r = 0; r < rows; r++)
    if (targets[r] != opts->ignore_index) denom += w ? w[targets[r]] : 1.0, counted++;
  smx_xent_row row = {0, opts->label_smoothing, opts->z_loss, opts->softcap, w, smx_xent_weight_sum(n_total, w), grad_scale};
  if (opts->reduction == SMX_REDUCE_MEAN) row.grad_coef = denom > 0.0 ? grad_scale / denom : 0.0;
  if (opts->reduction == SMX_REDUCE_MEAN && w && counted) row.z_loss *= denom / (double)counted;
  for (size_t r = 0; r < rows; r++) {
    void *d = dlogits ? (char *)dlogits + r * ldd * esize(t) : NULL;
    double lr = 0.0;
    if (targets[r] == opts->ignore_index) {
      if (d) memset(d, 0, n_shard * esize(t)); /* +0 in every type */
    } else {
      state_bytes b;
      get(&full[r], &b);
      row.target = targets[r];
      lr = shard_row_t(smx_active_kernels(), t, n_shard, elem(logits, r * ldx, t), col0, n_total, &row, &b, d);
    }
    if (loss_part && opts->reduction == SMX_REDUCE_NONE) loss_part[r] = smx_loss_value(lr);
    total += lr;
  }
  if (loss_part && opts->reduction == SMX_REDUCE_SUM) loss_part[0] = smx_loss_value(total);
  if (loss_part && opts->reduction == SMX_REDUCE_MEAN) loss_part[0] = denom > 0.0 ? smx_loss_value(total / denom) : 0.0f;
  smx_fpenv_leave(env);
  return SMX_OK;
}
smx_status smx_cross_entropy_shard_f32(size_t rows, size_t n_shard, const float *logits, size_t ldx, size_t col0,
                                       size_t n_total, const int64_t *targets, const smx_xent_options *opts,
                                       const smx_row_state *full, float *loss_part, float *dlogits, size_t ldd,
                                       float grad_scale) {
  return shard("smx_cross_entropy_shard_f32", T32, rows, n_shard, logits, ldx, col0, n_total, targets, opts, full,
               loss_part, dlogits, ldd, grad_scale);
}
smx_status smx_cross_entropy_shard_bf16(size_t rows, size_t n_shard, const smx_bf16 *logits, size_t ldx, size_t col0,
                                        size_t n_total, const int64_t *targets, const smx_xent_options *opts,
                                        const smx_row_state *full, float *loss_part, smx_bf16 *dlogits, size_t ldd,
                                        float grad_scale) {
  return shard("smx_cross_entropy_shard_bf16", T16_BF16, rows, n_shard, logits, ldx, col0, n_total, targets, opts, full,
               loss_part, dlogits, ldd, grad_scale);
}
smx_status smx_cross_entropy_shard_f16(size_t rows, size_t n_shard, const smx_f16 *logits, size_t ldx, size_t col0,
                                       size_t n_total, const int64_t *targets, const smx_xent_options *opts,
                                       const smx_row_state *full, float *loss_part, smx_f16 *dlogits, size_t ldd,
                                       float grad_scale) {
  return shard("smx_cross_entropy_shard_f16", T16_F16, rows, n_shard, logits, ldx, col0, n_total, targets, opts, full,
               loss_part, dlogits, ldd, grad_scale);
}

/* ---- one long row (f32 or 16-bit) split by whole blocks across tasks ---- */
#define LONG_MAX_TASKS 32 /* the tasks' states and losses on the caller's stack (no heap) */
typedef struct {
  const smx_kernels *k;
  int t;          /* T32, T16_BF16, T16_F16 */
  size_t n, cols; /* entries, columns per task */
  const void *x;
  void *dx;
  const smx_xent_row *row;
  state_bytes *st; /* one per task; then the merged state in st[0] */
  double *loss;    /* one per task */
} long_xent;
static void long_fold(void *ctx, size_t t) {
  const long_xent *l = ctx;
  const size_t c0 = t * l->cols, len = l->n - c0 < l->cols ? l->n - c0 : l->cols;
  const float *w = l->row->class_weight;
  row_state(l->k, l->t, len, elem(l->x, c0, l->t), l->row->softcap, w ? w + c0 : NULL, &l->st[t]);
}
static void long_shard(void *ctx, size_t t) {
  const long_xent *l = ctx;
  const size_t c0 = t * l->cols, len = l->n - c0 < l->cols ? l->n - c0 : l->cols;
  l->loss[t] = shard_row_t(l->k, l->t, len, elem(l->x, c0, l->t), c0, l->n, l->row, &l->st[0],
                           l->dx ? (char *)l->dx + c0 * esize(l->t) : NULL);
}
/* whether the merged state gives the one-thread bits: always for stablemax; for softmax unless the row's max is
   finite and beyond 2^16, or no block is in range (plain states, folded in order) */
static int merged_exact(const state_bytes *b) {
  return b->normalizer == SMX_NORM_STABLEMAX || b->s.nan || (b->s.in && !b->s.plain) || isinf(b->s.m);
}
int smx_xent_long_row(const smx_kernels *k, int normalizer, int t16, size_t n, const void *x, const smx_xent_row *row,
                      void *dx, size_t tasks, double *loss) {
  if (tasks > LONG_MAX_TASKS) tasks = LONG_MAX_TASKS;
  const size_t blocks = (n + SMX_BLOCK - 1) / SMX_BLOCK, cols = (blocks + tasks - 1) / tasks * SMX_BLOCK;
  tasks = (n + cols - 1) / cols;
  state_bytes st[LONG_MAX_TASKS];
  double losses[LONG_MAX_TASKS];
  long_xent l = {k, t16 < 0 ? T32 : t16 ? T16_BF16 : T16_F16, n, cols, x, dx, row, st, losses};
  for (size_t t = 0; t < tasks; t++)
    l.st[t].softcap = smx_f2u(row->softcap), l.st[t].smoothing = row->label_smoothing > 0.0f, l.st[t].normalizer = normalizer;
  smx_run_tasks(long_fold, &l, tasks);
  const smx_fpenv env = smx_fpenv_enter();
  for (size_t t = 1; t < tasks; t++) state_merge(&l.st[0], &l.st[t]);
  const int exact = merged_exact(&l.st[0]);
  const size_t target_task = (size_t)row->target / cols;
  if (exact && !dx) long_shard(&l, target_task); /* the loss only: the target's shard */
  smx_fpenv_leave(env);
  if (exact && dx) smx_run_tasks(long_shard, &l, tasks);
  if (exact) *loss = l.loss[target_task];
  return exact;
}
