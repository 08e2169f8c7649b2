/* The stablemax family written once over an ISA vocabulary: stablemax, log-stablemax, the backward pass
   and the stablemax cross-entropy, bit-identical to kernels/ref/stablemax.c. */
#include "isa/vmath.h"
#include "stablemax_common.h"

/* smx_stable_pair */
static inline vf vstable_pair(vf x, vf *lo) {
  const vf one = vset(1.0f);
  vf a = vabs(x), big = vmax(a, one), sml = vmin(one, a);
  vf bh = vadd(big, sml), bl = vsub(sml, vsub(bh, big));
  vf r = vdiv(one, bh), e = vfma(vneg(r), bl, vfma(vneg(r), bh, one));
  vm pos = vge(x, vset(0.0f));
  *lo = vsel(pos, bl, vsel(vlt(bh, vset(0x1p64f)), vmul(r, e), vset(0.0f)));
  return vsel(pos, bh, vsel(vgt(bh, vset(0x1p126f)), vset(0.0f), r));
}

/* smx_stable_p */
static inline vf vstable_p(vf hi, vf lo, vf c_hi, vf c_lo) {
  vf t = vmul(hi, c_hi), e = vfma(hi, c_hi, vneg(t));
  vf p = vadd(t, vfma(hi, c_lo, vfma(lo, c_hi, e)));
  return vsel(vge(p, vset(0x1p-62f)), vmul(p, vset(0x1p-64f)), vset(0.0f));
}
static inline vf vstable_px(vf x, vf c_hi, vf c_lo) {
  vf lo, hi = vstable_pair(x, &lo);
  return vstable_p(hi, lo, c_hi, c_lo);
}

/* (double)hi + (double)lo added to 16 double lanes */
static inline void stable_acc(vf hi, vf lo, vd *a0, vd *a1) {
  *a0 = dadd(*a0, dadd(dlo(hi), dlo(lo)));
  *a1 = dadd(*a1, dadd(dhi(hi), dhi(lo)));
}

/* smx_stable_s64 */
static inline vd dstable_s64(vd x) {
  return dsel(dge(x, dset(0.0)), dadd(x, dset(1.0)), ddiv(dset(1.0), dsub(dset(1.0), x)));
}

/* ---- stablemax ---- */
static double stable_sum(size_t n, const float *x) {
  vd a0 = dset(0.0), a1 = a0;
  size_t i = 0;
  /* two steps per iteration (independent divisions); both go to the same lanes in sequence */
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf l0, h0 = vstable_pair(vld(x + i), &l0), l1, h1 = vstable_pair(vld(x + i + VW), &l1);
    stable_acc(h0, l0, &a0, &a1);
    stable_acc(h1, l1, &a0, &a1);
  }
  for (; i < n; i += VW) { /* s(-inf) = +0 + +0 */
    vf l, h = vstable_pair(vld_n(x + i, step_count(n, i), -INFINITY), &l);
    stable_acc(h, l, &a0, &a1);
  }
  return tree_sum16d(a0, a1);
}

static void stablemax_row(size_t n, const float *x, float *y) {
  float c_hi, c_lo;
  if (!smx_stablemax_begin(n, x, y, stable_sum(n, x), &c_hi, &c_lo)) return;
  const vf vch = vset(c_hi), vcl = vset(c_lo);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf p0 = vstable_px(vld(x + i), vch, vcl), p1 = vstable_px(vld(x + i + VW), vch, vcl);
    vst(y + i, p0);
    vst(y + i + VW, p1);
  }
  for (; i + VW <= n; i += VW) vst(y + i, vstable_px(vld(x + i), vch, vcl));
  if (i < n) vst_tail(y + i, vstable_px(vld_tail(x + i, n - i, 0.0f), vch, vcl), n - i);
}

static void log_stablemax_row(size_t n, const float *x, float *y) {
  int nan;
  float m = row_max(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 1);
    return;
  }
  const vf vmx = vset(m);
  vd a0 = dset(0.0), a1 = a0;
  size_t K = 0;
  for (size_t i = 0; i < n; i += VW) {
    vf v = n - i >= VW ? vld(x + i) : vld_tail(x + i, n - i, -INFINITY);
    vm tie = veq(v, vmx);
    K += mcount(tie);
    v = vsel(tie, vset(-INFINITY), v); /* s64(-inf) = +0: a tie adds 0.0 */
    a0 = dadd(a0, dstable_s64(dlo(v)));
    a1 = dadd(a1, dstable_s64(dhi(v)));
  }
  double l[SMX_DLANES];
  dst(l, a0);
  dst(l + 8, a1);
  double Kd = (double)K;
  double O = smx_tree_sum16d(l), sm = smx_stable_s64(m), S = Kd * sm + O;
  float top = smx_flush((float)-(smx_log64(Kd) + smx_log1p64(O / (Kd * sm))));
  const vf vtop = vset(top);
  const vd vS = dset(S);
  for (size_t i = 0; i < n; i += VW) {
    size_t c = n - i;
    vf v = c >= VW ? vld(x + i) : vld_tail(x + i, c, 0.0f);
    vf r = dpack(dlog64(ddiv(dstable_s64(dlo(v)), vS)), dlog64(ddiv(dstable_s64(dhi(v)), vS)));
    r = vsel(veq(v, vmx), vtop, r);
    if (c >= VW) vst(y + i, r);
    else vst_tail(y + i, r, c);
  }
}

static void stablemax_backward_row(size_t n, const float *x, const float *y, const float *dy, float *dx) {
  float dot = (float)blocked_dot(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const vf vdot = vset(dot);
  vm bad = mzero(), live = mzero();
  size_t i = 0;
  for (; i + VW <= n; i += VW) {
    vf vx = vld(x + i);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    vst(dx + i, vflush(vdiv(vmul(vld(y + i), vsub(vld(dy + i), vdot)), vadd(vset(1.0f), vabs(vx)))));
  }
  if (i < n) {
    size_t c = n - i;
    vf vx = vld_tail(x + i, c, -INFINITY);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    vf r = vdiv(vmul(vld_tail(y + i, c, 0.0f), vsub(vld_tail(dy + i, c, 0.0f), vdot)), vadd(vset(1.0f), vabs(vx)));
    vst_tail(dx + i, vflush(r), c);
  }
  if (many(bad) || !many(live)) smx_fill(n, dx, many(bad) ? smx_qnan() : 0.0f);
}

/* ---- fused cross-entropy, stablemax ---- */
static inline void xs_pass1_step(const float *x, size_t j, size_t c, size_t t, float eps, const float *cw, int capped,
                                 vf vcap, vf vinv, vd *o0, vd *o1, vd *w0, vd *w1) {
  vf dz, z = step_logits(x + j, c, 0.0f, capped, vcap, vinv, &dz);
  vf sl, sh = vstable_pair(z, &sl);
  if (t - j < VW) sh = vsel(mlane(t - j), vset(0.0f), sh), sl = vsel(mlane(t - j), vset(0.0f), sl); /* j == t adds 0.0 */
  if (c < VW) sh = vsel(vtail(c), sh, vset(0.0f)), sl = vsel(vtail(c), sl, vset(0.0f));
  stable_acc(sh, sl, o0, o1);
  if (eps > 0.0f) {
    vf w = cw ? (c >= VW ? vld(cw + j) : vld_tail(cw + j, c, 0.0f)) : vset(1.0f);
    if (c < VW) w = vsel(vtail(c), w, vset(0.0f)); /* w == 0 adds 0.0 */
    vd zl = dlo(z), zh = dhi(z), wl = dlo(w), wh = dhi(w);
    vd ll = dlog1p64(dabs(zl)), lh = dlog1p64(dabs(zh));
    ll = dsel(dlt(zl, dset(0.0)), dneg(ll), ll);
    lh = dsel(dlt(zh, dset(0.0)), dneg(lh), lh);
    *w0 = dadd(*w0, dsel(deq(wl, dset(0.0)), dset(0.0), dmul(wl, ll)));
    *w1 = dadd(*w1, dsel(deq(wh, dset(0.0)), dset(0.0), dmul(wh, lh)));
  }
}

static double xent_stablemax_row(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  vd o0 = dset(0.0), o1 = o0, w0 = o0, w1 = o0;
  size_t j = 0;
  for (; j + VW <= n; j += VW) xs_pass1_step(x, j, VW, t, eps, cw, capped, vcap, vinv, &o0, &o1, &w0, &w1);
  if (j < n) xs_pass1_step(x, j, n - j, t, eps, cw, capped, vcap, vinv, &o0, &o1, &w0, &w1);
  double lo[SMX_DLANES], lw[SMX_DLANES];
  dst(lo, o0);
  dst(lo + 8, o1);
  dst(lw, w0);
  dst(lw + 8, w1);

  smx_xent_stable st;
  if (!smx_xent_stablemax_begin(n, x, row, smx_tree_sum16d(lo), smx_tree_sum16d(lw), dx, &st) || !dx) return st.loss;
  if (st.kind != SMX_ROW_FINITE || st.tiny) { /* rare rows: the reference loop */
    smx_xent_stablemax_grad_scalar(n, x, row, &st, dx);
  } else {
    const vf vch = vset(st.c_hi), vcl = vset(st.c_lo), vA = vset(st.Af), vB = vset(st.Bf);
    for (size_t i = 0; i < n; i += VW) {
      const size_t cnt = step_count(n, i);
      vf vdz, z = step_logits(x + i, cnt, 0.0f, capped, vcap, vinv, &vdz);
      vf p = vstable_px(z, vch, vcl);
      vf b = cw ? vmul(vB, vld_n(cw + i, cnt, 0.0f)) : vB;
      vst_n(dx + i, vflush(vmul(vdiv(vfma(vA, p, vneg(b)), vadd(vset(1.0f), vabs(z))), vdz)), cnt);
    }
  }
  smx_xent_stablemax_target(n, row, &st, dx);
  return st.loss;
}

SMX_ROWS_MAP(FN(stablemax), stablemax_row)
SMX_ROWS_MAP(FN(log_stablemax), log_stablemax_row)
SMX_ROWS_BWDX(FN(stablemax_backward), stablemax_backward_row)
SMX_ROWS_XENT(FN(xent_stablemax), xent_stablemax_row)
