/* Stablemax, sparsemax, their backward passes and cross-entropies written once over the ISA layer
   that kernels/avx2/normalizers_avx2.c and kernels/avx512/normalizers_avx512.c define before including it. */
#define VW 16

/* ---- shared vector pieces, each mirroring one scalar helper operation for operation ---- */

/* smx_row_max_scalar: 64 lanes (element i -> lane i % 64), the same tree, NaN flag. */
static float row_max(size_t n, const float *x, int *nan) {
  vf m0 = vset(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  vm bad = mzero();
  size_t i = 0;
  for (; i + 4 * VW <= n; i += 4 * VW) {
    vf a0 = vld(x + i), a1 = vld(x + i + VW), a2 = vld(x + i + 2 * VW), a3 = vld(x + i + 3 * VW);
    m0 = vmax(a0, m0);
    m1 = vmax(a1, m1);
    m2 = vmax(a2, m2);
    m3 = vmax(a3, m3);
    bad = mor(bad, mor(mor(vnan(a0), vnan(a1)), mor(vnan(a2), vnan(a3))));
  }
  float l[SMX_LANES];
  vst(l, m0);
  vst(l + VW, m1);
  vst(l + 2 * VW, m2);
  vst(l + 3 * VW, m3);
  for (; i + VW <= n; i += VW) {
    vf a = vld(x + i);
    vst(l + i % SMX_LANES, vmax(a, vld(l + i % SMX_LANES)));
    bad = mor(bad, vnan(a));
  }
  if (i < n) {
    vf a = vld_tail(x + i, n - i, -INFINITY);
    vst(l + i % SMX_LANES, vmax(a, vld(l + i % SMX_LANES)));
    bad = mor(bad, vnan(a));
  }
  *nan = many(bad);
  return smx_tree_max64(l);
}

/* smx_stable_s */
static inline vf vstable_s(vf x) {
  vf b = vsub(vset(1.0f), x);
  vf r = vsel(vgt(b, vset(0x1p126f)), vset(0.0f), vdiv(vset(1.0f), b));
  return vsel(vge(x, vset(0.0f)), vadd(x, vset(1.0f)), r);
}

/* smx_stable_p */
static inline vf vstable_p(vf x, vf c, vf den_f) {
  vm pos = vge(x, vset(0.0f));
  vf a = vsel(pos, vadd(x, vset(1.0f)), vset(1.0f));
  vf b = vsel(pos, vset(1.0f), vsub(vset(1.0f), x));
  vf num = vmul(a, c), den = vmul(b, den_f);
  return vsel(vlt(vmul(num, vset(0x1p126f)), den), vset(0.0f), vdiv(num, den));
}

/* smx_stable_s64 */
static inline vd dstable_s64(vd x) {
  return dsel(dge(x, dset(0.0)), dadd(x, dset(1.0)), ddiv(dset(1.0), dsub(dset(1.0), x)));
}

/* smx_log64 (kernels/common/dmath.c), its poly13 in the same order */
static inline vd dlog64(vd x) {
  vd k = dsub(dexpfield(x), dset(1023.0)), m = dmant1(x);
  vdm big = dgt(m, dset(0x1.6a09e667f3bcdp0));
  m = dsel(big, dmul(m, dset(0.5)), m);
  k = dsel(big, dadd(k, dset(1.0)), k);
  vd f = ddiv(dsub(m, dset(1.0)), dadd(m, dset(1.0))), s = dmul(f, f);
  const double *c = SMX_LOG_C;
  vd s2 = dmul(s, s), s4 = dmul(s2, s2), s8 = dmul(s4, s4), a[6];
  for (int i = 0; i < 6; i++) a[i] = dadd(dset(c[2 * i]), dmul(dset(c[2 * i + 1]), s));
  vd b0 = dadd(a[0], dmul(a[1], s2)), b1 = dadd(a[2], dmul(a[3], s2)), b2 = dadd(a[4], dmul(a[5], s2));
  vd q = dadd(dadd(b0, dmul(b1, s4)), dmul(dadd(b2, dmul(dset(c[12]), s4)), s8));
  vd p = dadd(dset(2.0), dmul(s, q));
  vd r = dadd(dmul(k, dset(0x1.62e42fee00000p-1)), dadd(dmul(f, p), dmul(k, dset(0x1.a39ef35793c76p-33))));
  r = dsel(deq(x, dset(HUGE_VAL)), x, r);
  r = dsel(deq(x, dset(0.0)), dset(-HUGE_VAL), r);
  return dsel(dnan_or_neg(x), dset(NAN), r);
}

/* smx_log1p64 */
static inline vd dlog1p64(vd x) {
  vd u = dadd(dset(1.0), x);
  vd r = dmul(dlog64(u), ddiv(x, dsub(u, dset(1.0))));
  r = dsel(deq(u, dset(HUGE_VAL)), u, r);
  return dsel(deq(u, dset(1.0)), x, r);
}

/* smx_softcap: z = cap tanh(x / cap), *dz = dz/dx */
static inline vf vsoftcap(vf x, vf cap, vf inv_cap, vf *dz) {
  vf u = vmul(x, inv_cap);
  vf a = vabs(u);
  vm over = vgt(a, vset(43.0f));
  vf ac = vsel(over, vset(43.0f), a);
  vf v = vmul(vset(-2.0f), ac);
  vf t = vfma(v, vset(SMX_LOG2E), vset(SMX_MAGIC));
  vf nf = vsub(t, vset(SMX_MAGIC));
  vf r = vfma(nf, vset(-SMX_LN2_HI), v);
  r = vfma(nf, vset(-SMX_LN2_LO), r);
  vf p = vset(SMX_EXP_C6);
  p = vfma(p, r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  p = vfma(p, r, vset(1.0f));
  vf rq = vmul(p, r);
  vf sc = vexp2add(vset(1.0f), t);
  vf E = vfma(rq, sc, sc);
  vf e = vfma(rq, sc, vsub(sc, vset(1.0f)));
  vf q = vadd(vset(2.0f), e);
  vf th = vdiv(vneg(e), q);
  th = vsignor(th, u);
  *dz = vsel(over, vset(0.0f), vdiv(vmul(vset(4.0f), E), vmul(q, q)));
  return vmul(cap, th);
}

/* smx_blocked_dot_scalar(n, a, b) with b != NULL */
static double blocked_dot(size_t n, const float *a, const float *b) {
  double total = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, i = 0;
    const float *pa = a + o, *pb = b + o;
    vf l0 = vset(0.0f), l1 = l0, l2 = l0, l3 = l0;
    for (; i + 4 * VW <= len; i += 4 * VW) {
      l0 = vfma(vld(pa + i), vld(pb + i), l0);
      l1 = vfma(vld(pa + i + VW), vld(pb + i + VW), l1);
      l2 = vfma(vld(pa + i + 2 * VW), vld(pb + i + 2 * VW), l2);
      l3 = vfma(vld(pa + i + 3 * VW), vld(pb + i + 3 * VW), l3);
    }
    float l[SMX_LANES];
    vst(l, l0);
    vst(l + VW, l1);
    vst(l + 2 * VW, l2);
    vst(l + 3 * VW, l3);
    for (; i + VW <= len; i += VW) vst(l + i % SMX_LANES, vfma(vld(pa + i), vld(pb + i), vld(l + i % SMX_LANES)));
    if (i < len) {
      size_t c = len - i;
      vf acc = vld(l + i % SMX_LANES);
      vst(l + i % SMX_LANES, vsel(vtail(c), vfma(vld_tail(pa + i, c, 0.0f), vld_tail(pb + i, c, 0.0f), acc), acc));
    }
    total += smx_tree_sum64(l);
  }
  return total;
}

/* ---- stablemax ---- */
static double stable_sum(size_t n, const float *x) {
  vd a0 = dset(0.0), a1 = a0;
  size_t i = 0;
  /* two steps per iteration (independent divisions); both go to the same lanes in sequence */
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf s0 = vstable_s(vld(x + i)), s1 = vstable_s(vld(x + i + VW));
    a0 = dadd(a0, dlo(s0));
    a1 = dadd(a1, dhi(s0));
    a0 = dadd(a0, dlo(s1));
    a1 = dadd(a1, dhi(s1));
  }
  for (; i < n; i += VW) {
    vf s = n - i >= VW ? vstable_s(vld(x + i)) : vstable_s(vld_tail(x + i, n - i, -INFINITY)); /* s(-inf) = +0 */
    a0 = dadd(a0, dlo(s));
    a1 = dadd(a1, dhi(s));
  }
  double l[SMX_DLANES];
  dst(l, a0);
  dst(l + 8, a1);
  return smx_tree_sum16d(l);
}

static void stablemax_k(size_t n, const float *x, float *y) {
  double S = stable_sum(n, x);
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y);
    return;
  }
  float c, den;
  smx_stable_scale(S, &c, &den);
  const vf vc = vset(c), vden = vset(den);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf p0 = vstable_p(vld(x + i), vc, vden), p1 = vstable_p(vld(x + i + VW), vc, vden);
    vst(y + i, p0);
    vst(y + i + VW, p1);
  }
  for (; i + VW <= n; i += VW) vst(y + i, vstable_p(vld(x + i), vc, vden));
  if (i < n) vst_tail(y + i, vstable_p(vld_tail(x + i, n - i, 0.0f), vc, vden), n - i);
}

static void log_stablemax_k(size_t n, const float *x, float *y) {
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
  float top = (float)-(smx_log64(Kd) + smx_log1p64(O / (Kd * sm)));
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

static void stablemax_backward_k(size_t n, const float *x, const float *y, const float *dy, float *dx) {
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
    vst(dx + i, vdiv(vmul(vld(y + i), vsub(vld(dy + i), vdot)), vadd(vset(1.0f), vabs(vx))));
  }
  if (i < n) {
    size_t c = n - i;
    vf vx = vld_tail(x + i, c, -INFINITY);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    vf r = vdiv(vmul(vld_tail(y + i, c, 0.0f), vsub(vld_tail(dy + i, c, 0.0f), vdot)), vadd(vset(1.0f), vabs(vx)));
    vst_tail(dx + i, r, c);
  }
  if (many(bad) || !many(live)) smx_fill(n, dx, many(bad) ? smx_qnan() : 0.0f);
}

/* ---- fused cross-entropy, stablemax ---- */
static inline double weight_of(const smx_xent_row *row, size_t j) { return row->class_weight ? row->class_weight[j] : 1.0; }
static inline float logit_of(const smx_xent_row *row, float inv_cap, float x, float *dz) {
  if (row->softcap > 0.0f) return smx_softcap(x, row->softcap, inv_cap, dz);
  *dz = 1.0f;
  return x;
}
static double nan_row(size_t n, float *dx) {
  if (dx) smx_fill(n, dx, smx_qnan());
  return NAN;
}

/* The logits of one step (c lanes valid) as the loss sees them, and dz/dx (1 without softcap). */
static inline vf step_logits(const float *x, size_t c, float fill, int capped, vf vcap, vf vinv, vf *dz) {
  vf v = c >= VW ? vld(x) : vld_tail(x, c, fill);
  if (!capped) {
    *dz = vset(1.0f);
    return v;
  }
  return vsoftcap(v, vcap, vinv, dz);
}

static inline void xs_pass1_step(const float *x, size_t j, size_t c, size_t t, float eps, const float *cw, int capped,
                                 vf vcap, vf vinv, vd *o0, vd *o1, vd *w0, vd *w1) {
  vf dz, z = step_logits(x + j, c, 0.0f, capped, vcap, vinv, &dz);
  vf s = vstable_s(z);
  if (t - j < VW) s = vsel(mlane(t - j), vset(0.0f), s); /* j == t adds 0.0 */
  if (c < VW) s = vsel(vtail(c), s, vset(0.0f));
  *o0 = dadd(*o0, dlo(s));
  *o1 = dadd(*o1, dhi(s));
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

static double xent_stablemax_k(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  vd o0 = dset(0.0), o1 = o0, w0 = o0, w1 = o0;
  float dz;
  size_t j = 0;
  for (; j + VW <= n; j += VW) xs_pass1_step(x, j, VW, t, eps, cw, capped, vcap, vinv, &o0, &o1, &w0, &w1);
  if (j < n) xs_pass1_step(x, j, n - j, t, eps, cw, capped, vcap, vinv, &o0, &o1, &w0, &w1);
  double lo[SMX_DLANES], lw[SMX_DLANES];
  dst(lo, o0);
  dst(lo + 8, o1);
  dst(lw, w0);
  dst(lw + 8, w1);

  const float zt = logit_of(row, inv_cap, x[t], &dz), dzt = dz;
  const double O = smx_tree_sum16d(lo), st = smx_stable_s64(zt), S = O + st;
  const double wt = weight_of(row, t), W = row->weight_sum, g = row->grad_coef;
  int nan;
  enum smx_row_kind kind = SMX_ROW_FINITE;
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    float m = row_max(n, x, &nan);
    kind = smx_row_kind_of(m, nan);
  }
  if (kind == SMX_ROW_NAN) return nan_row(n, dx);
  double pt;
  float pinf;
  const double loss = smx_xent_stablemax_row(n, x, row, kind, zt, st, O, S, eps > 0.0f ? smx_tree_sum16d(lw) : 0.0, wt, &pt, &pinf);
  if (!dx) return loss;
  const double A = (1.0 - eps) * wt + eps * W / (double)n;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  const int tiny = kind == SMX_ROW_FINITE && S < SMX_STABLE_TINY;
  float c = 1.0f, den = 1.0f;
  if (kind == SMX_ROW_FINITE) smx_stable_scale(S, &c, &den);
  if (kind != SMX_ROW_FINITE || tiny) { /* rare rows: the reference loop */
    for (size_t i = 0; i < n; i++) {
      float z = logit_of(row, inv_cap, x[i], &dz), p;
      if (kind != SMX_ROW_FINITE) p = x[i] == INFINITY ? pinf : 0.0f;
      else p = smx_stable_p_tiny(z, S);
      float b = cw ? Bf * cw[i] : Bf;
      dx[i] = (fmaf(Af, p, -b) / (1.0f + fabsf(z))) * dz;
    }
  } else {
    const vf vc = vset(c), vden = vset(den), vA = vset(Af), vB = vset(Bf);
    for (size_t i = 0; i < n; i += VW) {
      size_t cnt = n - i;
      vf vdz, z = step_logits(x + i, cnt, 0.0f, capped, vcap, vinv, &vdz);
      vf p = vstable_p(z, vc, vden);
      vf b = cw ? vmul(vB, cnt >= VW ? vld(cw + i) : vld_tail(cw + i, cnt, 0.0f)) : vB;
      vf r = vmul(vdiv(vfma(vA, p, vneg(b)), vadd(vset(1.0f), vabs(z))), vdz);
      if (cnt >= VW) vst(dx + i, r);
      else vst_tail(dx + i, r, cnt);
    }
  }
  const double pt_m1 = kind == SMX_ROW_FINITE ? -O / S : pt - 1.0;
  const double gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (W * pt - wt);
  dx[t] = ((float)(g * gt) / (1.0f + fabsf(zt))) * dzt;
  return loss;
}

/* ---- sparsemax ---- */
/* Candidates x_i > lo in index order into buf (SMX_SPARSE_BUF + VW floats); stops once more than
   SMX_SPARSE_BUF were found. Returns the count (> SMX_SPARSE_BUF: use the whole row). */
static size_t sparse_candidates(size_t n, const float *x, float lo, float *buf) {
  const vf vlo = vset(lo);
  size_t nc = 0, i = 0;
  for (; i + 4 * VW <= n && nc <= SMX_SPARSE_BUF; i += 4 * VW) {
    vf a0 = vld(x + i), a1 = vld(x + i + VW), a2 = vld(x + i + 2 * VW), a3 = vld(x + i + 3 * VW);
    vm k0 = vgt(a0, vlo), k1 = vgt(a1, vlo), k2 = vgt(a2, vlo), k3 = vgt(a3, vlo);
    if (!many(mor(mor(k0, k1), mor(k2, k3)))) continue;
    nc += vcompress(buf + nc, k0, a0);
    if (nc > SMX_SPARSE_BUF) break;
    nc += vcompress(buf + nc, k1, a1);
    if (nc > SMX_SPARSE_BUF) break;
    nc += vcompress(buf + nc, k2, a2);
    if (nc > SMX_SPARSE_BUF) break;
    nc += vcompress(buf + nc, k3, a3);
  }
  for (; i < n && nc <= SMX_SPARSE_BUF; i += VW) {
    vf a = n - i >= VW ? vld(x + i) : vld_tail(x + i, n - i, -INFINITY);
    nc += vcompress(buf + nc, vgt(a, vlo), a);
  }
  return nc;
}

/* y = smx_sparse_p(x, m, tau_rel) for one step: d = (x - m) - tau_rel in double */
static inline vf vsparse_p(vf v, vd vm_, vd vtau) {
  vd dl = dsub(dsub(dlo(v), vm_), vtau), dh = dsub(dsub(dhi(v), vm_), vtau);
  vdm okl = dge(dl, dset(0x1p-126)), okh = dge(dh, dset(0x1p-126));
  return dpack(dsel(okl, dl, dset(0.0)), dsel(okh, dh, dset(0.0))); /* (float)+0.0 = +0 */
}

/* A float tf with smx_sparse_p(x, m, tau) = +0 for every x <= tf (d is monotone in x), or -inf. */
static float sparse_zero_below(float m, double tau) {
  double c = (double)m + tau;
  float tf = (float)c;
  for (int i = 0; i < 8; i++, tf = nextafterf(tf, -INFINITY))
    if (!(((double)tf - (double)m) - tau >= 0x1p-126)) return tf;
  return -INFINITY;
}

/* y = smx_sparse_p(x, m, tau) over a row, skipping steps that are all below tf */
static void sparse_write(size_t n, const float *x, float m, double tau, float *y) {
  const vf vtf = vset(sparse_zero_below(m, tau));
  const vd vmd = dset((double)m), vtau = dset(tau);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf v0 = vld(x + i), v1 = vld(x + i + VW);
    vm h0 = vgt(v0, vtf), h1 = vgt(v1, vtf);
    if (!many(mor(h0, h1))) {
      vst(y + i, vset(0.0f));
      vst(y + i + VW, vset(0.0f));
      continue;
    }
    vst(y + i, many(h0) ? vsparse_p(v0, vmd, vtau) : vset(0.0f));
    vst(y + i + VW, many(h1) ? vsparse_p(v1, vmd, vtau) : vset(0.0f));
  }
  for (; i + VW <= n; i += VW) {
    vf v = vld(x + i);
    vst(y + i, many(vgt(v, vtf)) ? vsparse_p(v, vmd, vtau) : vset(0.0f));
  }
  if (i < n) vst_tail(y + i, vsparse_p(vld_tail(x + i, n - i, -INFINITY), vmd, vtau), n - i);
}

static void sparsemax_k(size_t n, const float *x, float *y) {
  int nan;
  float m = row_max(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  float lo = smx_below_minus_one(m), buf[SMX_SPARSE_BUF + VW];
  size_t nc = sparse_candidates(n, x, lo, buf), k;
  double tau = nc <= SMX_SPARSE_BUF ? smx_sparsemax_tau(buf, nc, lo, m, 0.0f, &k)
                                    : smx_sparsemax_tau(x, n, lo, m, 0.0f, &k);
  sparse_write(n, x, m, tau, y);
}

static void sparsemax_backward_k(size_t n, const float *y, const float *dy, float *dx) {
  double sum = 0.0;
  size_t k = 0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, i = 0;
    const float *py = y + o, *pd = dy + o;
    float l[SMX_LANES];
    for (int q = 0; q < 4; q++) vst(l + q * VW, vset(0.0f));
    for (; i < len; i += VW) {
      size_t c = len - i;
      vf vy = c >= VW ? vld(py + i) : vld_tail(py + i, c, 0.0f);
      vf vd_ = c >= VW ? vld(pd + i) : vld_tail(pd + i, c, 0.0f);
      vm in = vgt(vy, vset(0.0f));
      k += mcount(in);
      vf acc = vld(l + i % SMX_LANES);
      vf s = vadd(acc, vsel(in, vd_, vset(0.0f)));
      vst(l + i % SMX_LANES, c >= VW ? s : vsel(vtail(c), s, acc));
    }
    sum += smx_tree_sum64(l);
  }
  float v = k > 0 ? (float)(sum / (double)k) : 0.0f;
  const vf vv = vset(v);
  vm bad = mzero();
  for (size_t i = 0; i < n; i += VW) {
    size_t c = n - i;
    vf vy = c >= VW ? vld(y + i) : vld_tail(y + i, c, 0.0f);
    vf vd_ = c >= VW ? vld(dy + i) : vld_tail(dy + i, c, 0.0f);
    bad = mor(bad, mor(vnan(vy), vnan(vd_)));
    vf r = vsel(vgt(vy, vset(0.0f)), vsub(vd_, vv), vset(0.0f));
    if (c >= VW) vst(dx + i, r);
    else vst_tail(dx + i, r, c);
  }
  if (many(bad)) smx_fill(n, dx, smx_qnan());
}

/* ---- fused cross-entropy, sparsemax ---- */
static double xent_sparsemax_k(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  float dz, buf[SMX_SPARSE_BUF + VW];
  float lm[SMX_LANES];
  for (int q = 0; q < 4; q++) vst(lm + q * VW, vset(-INFINITY));
  vd z0 = dset(0.0), z1 = z0;
  vm bad = mzero();
  for (size_t j = 0; j < n; j += VW) {
    size_t c = n - j;
    vf vdz, z = step_logits(x + j, c, -INFINITY, capped, vcap, vinv, &vdz);
    if (c < VW) z = vsel(vtail(c), z, vset(-INFINITY));
    vst(lm + j % SMX_LANES, vmax(z, vld(lm + j % SMX_LANES)));
    bad = mor(bad, vnan(z));
    if (eps > 0.0f) {
      vf zz = c < VW ? vsel(vtail(c), z, vset(0.0f)) : z;
      z0 = dadd(z0, dlo(zz));
      z1 = dadd(z1, dhi(zz));
    }
  }
  double lz[SMX_DLANES];
  dst(lz, z0);
  dst(lz + 8, z1);
  const float m = smx_tree_max64(lm), zt = logit_of(row, inv_cap, x[t], &dz), dzt = dz;
  const enum smx_row_kind kind = smx_row_kind_of(m, many(bad));
  if (kind == SMX_ROW_NAN) return nan_row(n, dx);
  const double wt = weight_of(row, t), G = row->grad_coef * wt, q_off = eps / (double)n;
  const double q_t = 1.0 - eps + q_off, qq = q_t * q_t + (double)(n - 1) * q_off * q_off;
  double loss, pt, tau = 0.0; /* tau relative to m */
  float pinf = 0.0f;
  if (kind == SMX_ROW_FINITE) {
    float lo = smx_below_minus_one(m);
    size_t nc;
    if (!capped) nc = sparse_candidates(n, x, lo, buf);
    else {
      const vf vlo = vset(lo);
      nc = 0;
      for (size_t j = 0; j < n && nc <= SMX_SPARSE_BUF; j += VW) {
        size_t c = n - j;
        vf vdz, z = step_logits(x + j, c, -INFINITY, capped, vcap, vinv, &vdz);
        if (c < VW) z = vsel(vtail(c), z, vset(-INFINITY));
        nc += vcompress(buf + nc, vgt(z, vlo), z);
      }
    }
    loss = smx_xent_sparsemax_loss(n, x, buf, nc, lo, m, zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, wt, qq, row, &pt, &tau);
  } else {
    double k;
    pt = smx_xent_special_p(n, x, row, kind, &pinf, &k);
    loss = x[t] == INFINITY && (eps == 0.0f || k == (double)n) ? smx_times(wt, 0.5 * (qq - 1.0 / k)) : INFINITY;
  }
  if (!dx) return loss;
  const float Gf = (float)G, qf = (float)q_off;
  if (kind != SMX_ROW_FINITE) {
    for (size_t j = 0; j < n; j++) {
      (void)logit_of(row, inv_cap, x[j], &dz);
      float p = x[j] == INFINITY ? pinf : 0.0f;
      dx[j] = ((p - qf) * Gf) * dz;
    }
  } else {
    const vd vtau = dset(tau), vmd = dset((double)m);
    const vf vq = vset(qf), vG = vset(Gf);
    for (size_t j = 0; j < n; j += VW) {
      size_t c = n - j;
      vf vdz, z = step_logits(x + j, c, 0.0f, capped, vcap, vinv, &vdz);
      vf r = vmul(vmul(vsub(vsparse_p(z, vmd, vtau), vq), vG), vdz);
      if (c >= VW) vst(dx + j, r);
      else vst_tail(dx + j, r, c);
    }
  }
  dx[t] = (float)(G * (pt - q_t)) * dzt;
  return loss;
}

void SMX_NZ_FILL(smx_kernels *k) {
  k->stablemax = stablemax_k;
  k->log_stablemax = log_stablemax_k;
  k->stablemax_backward = stablemax_backward_k;
  k->sparsemax = sparsemax_k;
  k->sparsemax_backward = sparsemax_backward_k;
  k->xent[SMX_NORM_STABLEMAX] = xent_stablemax_k;
  k->xent[SMX_NORM_SPARSEMAX] = xent_sparsemax_k;
}
