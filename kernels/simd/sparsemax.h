/* The sparsemax family written once over an ISA vocabulary: sparsemax, its backward pass and the sparsemax
   cross-entropy, bit-identical to kernels/ref/sparsemax.c. */
#include "isa/vmath.h"
#include "sparsemax_common.h"

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

static void sparsemax_row(size_t n, const float *x, float *y) {
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
  float buf[SMX_SPARSE_BUF + VW];
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
    const float lo = smx_below_minus_one(st.m);
    size_t nc;
    if (!capped) nc = sparse_candidates(n, x, lo, buf);
    else {
      const vf vlo = vset(lo);
      nc = 0;
      for (size_t j = 0; j < n && nc <= SMX_SPARSE_BUF; j += VW) {
        const size_t c = step_count(n, j);
        vf vdz, z = step_logits(x + j, c, -INFINITY, capped, vcap, vinv, &vdz);
        if (c < VW) z = vsel(vtail(c), z, vset(-INFINITY));
        nc += vcompress(buf + nc, vgt(z, vlo), z);
      }
    }
    st.loss = smx_xent_sparsemax_loss(n, x, buf, nc, lo, st.m, st.zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, st.wt,
                                      st.qq, row, &st.pt, &st.tau);
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
