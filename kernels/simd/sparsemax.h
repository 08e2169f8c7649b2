/* The sparsemax family written once over an ISA vocabulary: sparsemax, its backward pass and the sparsemax
   cross-entropy, bit-identical to kernels/ref/sparsemax.c. */
#include "isa/vmath.h"
#include "sparsemax_common.h"

/* ---- sparsemax ---- */
/* The entries of one step as the threshold sees them: x, or softcap(x) (capped); lanes >= c are -inf. */
static inline vf sparse_step(const float *x, size_t c, int capped, vf vcap, vf vinv) {
  vf dz, z = step_logits(x, c, -INFINITY, capped, vcap, vinv, &dz);
  return capped && c < VW ? vsel(vtail(c), z, vset(-INFINITY)) : z;
}

/* 16 double lanes += (double)v - m where v > t, else +0 (v = m adds +0.0, as the reference's 0.0) */
static inline void sparse_acc(vf v, vm in, vf vmx, vd vmd, vd *a0, vd *a1) {
  v = vsel(in, v, vmx);
  *a0 = dadd(*a0, dsub(dlo(v), vmd));
  *a1 = dadd(*a1, dsub(dhi(v), vmd));
}

/* smx_sparsemax_tau_buf */
static double sparse_tau_buf(float *v, size_t *nv, float *t, float m) {
  const vd vmd = dset((double)m);
  size_t k = *nv;
  double tau = (double)*t - (double)m;
  for (;;) {
    const vf vt = vset(*t);
    size_t kk = 0;
    for (size_t i = 0; i < k; i += VW) {
      vf a = vld_n(v + i, step_count(k, i), -INFINITY);
      kk += vcompress(v + kk, vgt(a, vt), a); /* writes below i + VW: a is loaded */
    }
    k = kk;
    if (k == 0) break;
    vd a0 = dset(0.0), a1 = a0;
    for (size_t p = 0; p < k; p += VW) {
      vf a = vld_n(v + p, step_count(k, p), m);
      a0 = dadd(a0, dsub(dlo(a), vmd));
      a1 = dadd(a1, dsub(dhi(a), vmd));
    }
    tau = (tree_sum16d(a0, a1) - 1.0) / (double)k;
    float tn = smx_sparse_filter(m, tau, *t);
    if (!(tn > *t)) break;
    *t = tn;
  }
  *nv = k;
  return tau;
}

/* smx_sparsemax_tau_row */
static double sparse_tau_row(const float *x, size_t n, float t, float m, int capped, vf vcap, vf vinv) {
  const vf vmx = vset(m);
  const vd vmd = dset((double)m);
  for (;;) {
    const vf vt = vset(t);
    vd a0 = dset(0.0), a1 = a0;
    size_t k = 0;
    for (size_t i = 0; i < n; i += VW) {
      vf z = sparse_step(x + i, step_count(n, i), capped, vcap, vinv);
      vm in = vgt(z, vt);
      k += mcount(in);
      sparse_acc(z, in, vmx, vmd, &a0, &a1);
    }
    double tau = (tree_sum16d(a0, a1) - 1.0) / (double)k;
    float tn = smx_sparse_filter(m, tau, t);
    if (!(tn > t)) return tau;
    t = tn;
  }
}

/* smx_sparsemax_collect: groups of SMX_SPARSE_GROUP entries, appended with vcompress */
static size_t sparse_collect(size_t n, const float *x, float m, int capped, vf vcap, vf vinv, float *buf, float *t) {
  size_t nb = 0;
  *t = smx_below_minus_one(m);
  vf vt = vset(*t);
  for (size_t o = 0; o < n; o += SMX_SPARSE_GROUP) {
    if (!capped && n - o >= SMX_SPARSE_GROUP) {
      vf a0 = vld(x + o), a1 = vld(x + o + VW), a2 = vld(x + o + 2 * VW), a3 = vld(x + o + 3 * VW);
      vm k0 = vgt(a0, vt), k1 = vgt(a1, vt), k2 = vgt(a2, vt), k3 = vgt(a3, vt);
      if (!many(mor(mor(k0, k1), mor(k2, k3)))) continue;
      nb += vcompress(buf + nb, k0, a0);
      nb += vcompress(buf + nb, k1, a1);
      nb += vcompress(buf + nb, k2, a2);
      nb += vcompress(buf + nb, k3, a3);
    } else {
      const size_t end = n - o < SMX_SPARSE_GROUP ? n : o + SMX_SPARSE_GROUP;
      for (size_t i = o; i < end; i += VW) {
        vf z = sparse_step(x + i, step_count(end, i), capped, vcap, vinv);
        nb += vcompress(buf + nb, vgt(z, vt), z);
      }
    }
    if (nb > SMX_SPARSE_BUF - SMX_SPARSE_GROUP) {
      sparse_tau_buf(buf, &nb, t, m);
      if (nb > SMX_SPARSE_BUF / 2) return SMX_SPARSE_ROW;
      vt = vset(*t);
    }
  }
  return nb;
}

/* smx_sparsemax_fy over the buffer (positions) or the row (indices, capped) */
static double sparse_fy(const float *v, size_t nv, float m, double tau, int capped, vf vcap, vf vinv) {
  const vd vmd = dset((double)m), vtau = dset(tau), tt = dmul(vtau, vtau), half = dset(0.5), zero = dset(0.0);
  vd a0 = zero, a1 = zero;
  for (size_t i = 0; i < nv; i += VW) {
    vf z = sparse_step(v + i, step_count(nv, i), capped, vcap, vinv);
    vd zl = dsub(dlo(z), vmd), zh = dsub(dhi(z), vmd);
    a0 = dadd(a0, dsel(dgt(zl, vtau), dmul(dsub(dmul(zl, zl), tt), half), zero));
    a1 = dadd(a1, dsel(dgt(zh, vtau), dmul(dsub(dmul(zh, zh), tt), half), zero));
  }
  return tree_sum16d(a0, a1);
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

static void sparsemax_row(size_t n, const float *x, float *y) {
  int nan;
  float m = row_max(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  float t, buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP + VW];
  const vf one = vset(1.0f);
  size_t nb = sparse_collect(n, x, m, 0, one, one, buf, &t);
  double tau = nb != SMX_SPARSE_ROW ? sparse_tau_buf(buf, &nb, &t, m) : sparse_tau_row(x, n, t, m, 0, one, one);
  sparse_write(n, x, m, tau, y);
}

static void sparsemax_backward_row(size_t n, const float *y, const float *dy, float *dx) {
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
    vst_n(dx + i, vsel(vgt(vy, vset(0.0f)), vflush(vsub(vd_, vv)), vset(0.0f)), c);
  }
  if (many(bad)) smx_fill(n, dx, smx_qnan());
}

/* ---- fused cross-entropy, sparsemax ---- */
static double xent_sparsemax_row(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  float buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP + VW];
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
  smx_xent_sparse st;
  if (!smx_xent_sparsemax_begin(n, x, row, smx_tree_max64(lm), many(bad), dx, &st)) return st.loss;
  if (st.kind == SMX_ROW_FINITE) {
    float t;
    size_t nb = sparse_collect(n, x, st.m, capped, vcap, vinv, buf, &t);
    double fy;
    if (nb != SMX_SPARSE_ROW) {
      st.tau = sparse_tau_buf(buf, &nb, &t, st.m);
      fy = sparse_fy(buf, nb, st.m, st.tau, 0, vcap, vinv);
    } else {
      st.tau = sparse_tau_row(x, n, t, st.m, capped, vcap, vinv);
      fy = sparse_fy(x, n, st.m, st.tau, capped, vcap, vinv);
    }
    st.loss = smx_xent_sparsemax_loss(n, st.tau, fy, st.m, st.zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, st.wt, st.qq,
                                      row, &st.pt);
  }
  if (!dx) return st.loss;
  if (st.kind != SMX_ROW_FINITE) {
    smx_xent_sparsemax_grad_scalar(n, x, row, &st, dx);
  } else {
    const vd vtau = dset(st.tau), vmd = dset((double)st.m);
    const vf vq = vset(st.qf), vG = vset(st.Gf);
    for (size_t j = 0; j < n; j += VW) {
      const size_t c = step_count(n, j);
      vf vdz, z = step_logits(x + j, c, 0.0f, capped, vcap, vinv, &vdz);
      vst_n(dx + j, vflush(vmul(vmul(vsub(vsparse_p(z, vmd, vtau), vq), vG), vdz)), c);
    }
  }
  smx_xent_sparsemax_target(row, &st, dx);
  return st.loss;
}

SMX_ROWS_MAP(FN(sparsemax), sparsemax_row)
SMX_ROWS_BWD(FN(sparsemax_backward), sparsemax_backward_row)
SMX_ROWS_XENT(FN(xent_sparsemax), xent_sparsemax_row)
