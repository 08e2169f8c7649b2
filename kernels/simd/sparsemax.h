/* The sparsemax family written once over an ISA vocabulary: sparsemax, its backward pass and the sparsemax
   cross-entropy, bit-identical to kernels/ref/sparsemax.c. */
#include "isa/vmath.h"
#include "sparsemax_common.h"

/* ---- sparsemax ---- */
/* The entries i .. i + c - 1 of a row of element e as the threshold sees them: x, or softcap(x) (capped); lanes
   >= c are -inf. */
SMX_FLATTEN vf sparse_step_e(const void *x, size_t i, size_t c, int capped, vf vcap, vf vinv, const int e) {
  vf dz, z = step_logits_e(x, i, c, -INFINITY, capped, vcap, vinv, &dz, e);
  return capped && c < VW ? vsel(vtail(c), z, vset(-INFINITY)) : z;
}

/* 16 double lanes += (double)v - m where v > t, else +0 (v = m adds +0.0, as the reference's 0.0) */
static inline void sparse_acc(vf v, vm in, vf vmx, vd vmd, vd *a0, vd *a1) {
  v = vsel(in, v, vmx);
  *a0 = dadd(*a0, dsub(dlo(v), vmd));
  *a1 = dadd(*a1, dsub(dhi(v), vmd));
}

/* sparse_at_max: a step whose entries all equal the max m (ties, an all-equal row) or are out of the set adds
   (double)m - m = +0 to each lane, which leaves it as it is (a lane sum is +0 or negative, never -0): the sums skip
   such steps. 1 when a lane of z (at is z == m) is above t and not at the max. */
static inline int sparse_inner(vf z, vm at, vf t) { return many(vgt(vsel(at, vset(-INFINITY), z), t)); }

/* 1 when every lane of lo (a Michelot set's least entries) is above the new filter tn: the next set is the same
   one, so the reference's next iteration would find the same tau and filter and stop; the loops stop here */
static inline int sparse_above(vf lo, float tn) { return -vhmax(vneg(lo)) > tn; }

/* smx_sparsemax_tau_buf */
static double FN(sparse_tau_buf)(float *v, size_t *nv, float *t, float m) {
  const vd vmd = dset((double)m);
  size_t k = *nv;
  double tau;
  for (;;) {
    vd a0 = dset(0.0), a1 = a0;
    vf lo = vset(m); /* the set's least entry */
    for (size_t p = 0; p < k; p += VW) {
      vf a = vld_n(v + p, step_count(k, p), m);
      if (!many(vne(a, vset(m)))) continue; /* at the max: sparse_at_max */
      lo = vmin(lo, a);
      a0 = dadd(a0, dsub(dlo(a), vmd));
      a1 = dadd(a1, dsub(dhi(a), vmd));
    }
    tau = (tree_sum16d(a0, a1) - 1.0) / (double)k;
    float tn = smx_sparse_filter(m, tau, *t);
    if (!(tn > *t)) break;
    *t = tn;
    if (sparse_above(lo, tn)) break;
    const vf vt = vset(tn);
    size_t kk = 0;
    for (size_t i = 0; i < k; i += VW) {
      vf a = vld_n(v + i, step_count(k, i), -INFINITY);
      kk += vcompress(v + kk, vgt(a, vt), a); /* writes below i + VW: a is loaded */
    }
    k = kk; /* >= 1: the filter stays below m */
  }
  *nv = k;
  return tau;
}

/* smx_sparsemax_tau_row */
SMX_FLATTEN double sparse_tau_row_e(const void *x, size_t n, float t, float m, int capped, vf vcap, vf vinv, const int e) {
  const vf vmx = vset(m);
  const vd vmd = dset((double)m);
  for (;;) {
    const vf vt = vset(t);
    vd a0 = dset(0.0), a1 = a0;
    vf lo = vmx; /* the set's least entry */
    size_t k = 0;
    for (size_t i = 0; i < n; i += VW) {
      vf z = sparse_step_e(x, i, step_count(n, i), capped, vcap, vinv, e);
      vm in = vgt(z, vt);
      k += mcount(in);
      if (!sparse_inner(z, veq(z, vmx), vt)) continue; /* at the max or out: sparse_at_max */
      lo = vmin(lo, vsel(in, z, vmx));
      sparse_acc(z, in, vmx, vmd, &a0, &a1);
    }
    double tau = (tree_sum16d(a0, a1) - 1.0) / (double)k;
    float tn = smx_sparse_filter(m, tau, t);
    if (!(tn > t) || sparse_above(lo, tn)) return tau;
    t = tn;
  }
}

/* smx_sparsemax_collect (from the filter *t): groups of SMX_SPARSE_GROUP entries, appended with vcompress */
SMX_FLATTEN size_t sparse_collect_e(size_t n, const void *x, float m, int capped, vf vcap, vf vinv, float *buf, float *t,
                                    const int e) {
  size_t nb = 0;
  vf vt = vset(*t);
  th16 t16 = th16_of(*t, e);
  int quiet = 1; /* the last group had no candidate: a 16-bit group is tested unwidened first */
  for (size_t o = 0; o < n; o += SMX_SPARSE_GROUP) {
    if (!capped && n - o >= SMX_SPARSE_GROUP) {
      if (e != SMX_ELEM_F32 && quiet && !any16_above(x, o, t16) && !any16_above(x, o + 2 * VW, t16)) continue;
      vf a0 = ld_e(x, o, e), a1 = ld_e(x, o + VW, e), a2 = ld_e(x, o + 2 * VW, e), a3 = ld_e(x, o + 3 * VW, e);
      vm k0 = vgt(a0, vt), k1 = vgt(a1, vt), k2 = vgt(a2, vt), k3 = vgt(a3, vt);
      quiet = !many(mor(mor(k0, k1), mor(k2, k3)));
      if (quiet) continue;
      nb += vcompress(buf + nb, k0, a0);
      nb += vcompress(buf + nb, k1, a1);
      nb += vcompress(buf + nb, k2, a2);
      nb += vcompress(buf + nb, k3, a3);
    } else {
      const size_t end = n - o < SMX_SPARSE_GROUP ? n : o + SMX_SPARSE_GROUP;
      for (size_t i = o; i < end; i += VW) {
        vf z = sparse_step_e(x, i, step_count(end, i), capped, vcap, vinv, e);
        nb += vcompress(buf + nb, vgt(z, vt), z);
      }
    }
    if (nb > SMX_SPARSE_BUF - SMX_SPARSE_GROUP) {
      FN(sparse_tau_buf)(buf, &nb, t, m);
      if (nb > SMX_SPARSE_BUF / 2) return SMX_SPARSE_ROW;
      vt = vset(*t);
      t16 = th16_of(*t, e);
    }
  }
  return nb;
}

/* 16 double lanes += term where at (a float-lane predicate), else +0 */
static inline void dadd_at(vm at, vd term, vd *a0, vd *a1) {
  *a0 = dadd(*a0, dsel(mlo(at), term, dset(0.0))), *a1 = dadd(*a1, dsel(mhi(at), term, dset(0.0)));
}
/* smx_sparsemax_fy's term of zr = z - m: ((zr)^2 - tau^2) / 2 where zr > tau, else +0 */
static inline vd sparse_fy_term(vd zr, vd vtau) {
  return dsel(dgt(zr, vtau), dmul(dsub(dmul(zr, zr), dmul(vtau, vtau)), dset(0.5)), dset(0.0));
}
/* 16 double lanes += the terms of a step z */
static inline void sparse_fy_acc(vf z, vd vmd, vd vtau, vd *a0, vd *a1) {
  *a0 = dadd(*a0, sparse_fy_term(dsub(dlo(z), vmd), vtau));
  *a1 = dadd(*a1, sparse_fy_term(dsub(dhi(z), vmd), vtau));
}
/* smx_sparsemax_fy over the buffer (positions) or the row (indices, capped; of element e) */
SMX_FLATTEN double sparse_fy_e(const void *v, size_t nv, float m, double tau, int capped, vf vcap, vf vinv,
                               const int e) {
  const vd vmd = dset((double)m), vtau = dset(tau);
  vd a0 = dset(0.0), a1 = a0;
  for (size_t i = 0; i < nv; i += VW)
    sparse_fy_acc(sparse_step_e(v, i, step_count(nv, i), capped, vcap, vinv, e), vmd, vtau, &a0, &a1);
  return tree_sum16d(a0, a1);
}
static inline double sparse_fy(const float *v, size_t nv, float m, double tau) {
  const vf one = vset(1.0f);
  return sparse_fy_e(v, nv, m, tau, 0, one, one, SMX_ELEM_F32);
}

/* y = smx_sparse_p(x, m, tau_rel) for one step: d = (x - m) - tau_rel in double (m, tau per lane: lanes 0-7 in m0,
   tau0, 8-15 in m1, tau1) */
SMX_FLATTEN vf vsparse_p2(vf v, vd m0, vd m1, vd tau0, vd tau1) {
  vd dl = dsub(dsub(dlo(v), m0), tau0), dh = dsub(dsub(dhi(v), m1), tau1);
  vdm okl = dge(dl, dset(0x1p-126)), okh = dge(dh, dset(0x1p-126));
  return dpack(dsel(okl, dl, dset(0.0)), dsel(okh, dh, dset(0.0))); /* (float)+0.0 = +0 */
}
SMX_FLATTEN vf vsparse_p(vf v, vd vm_, vd vtau) { return vsparse_p2(v, vm_, vm_, vtau, vtau); }

/* A float tf with smx_sparse_p(x, m, tau) = +0 for every x <= tf (d is monotone in x), or -inf. */
static float FN(sparse_zero_below)(float m, double tau) {
  double c = (double)m + tau;
  float tf = (float)c;
  for (int i = 0; i < 8; i++, tf = smx_next_down(tf))
    if (!(((double)tf - (double)m) - tau >= 0x1p-126)) return tf;
  return -INFINITY;
}

/* one step of sparse_write_e with an entry above tf; with dense, entries at the max take ym, their value, without the
   double arithmetic where every other entry is at most tf (+0): ties and all-equal rows (~3 more operations a step,
   1.1-1.3x the time of a sparse row's write) */
static inline vf sparse_write_step(vf v, vf vtf, vf vmx, vf vym, vd vmd, vd vtau, const int dense) {
  if (dense) {
    const vm at = veq(v, vmx);
    if (!sparse_inner(v, at, vtf)) return vsel0(at, vym);
  }
  return vsparse_p(v, vmd, vtau);
}
/* y = smx_sparse_p(x, m, tau) over a row, skipping steps that are all below tf = sparse_zero_below(m, tau) (tensors
   of element e); dense: a support of n / 8 entries or more */
SMX_FLATTEN void sparse_write_part_e(size_t n, const void *x, float m, double tau, float tf, void *y, const int dense,
                                     const int nt, const int e) {
  const vf vtf = vset(tf), vmx = vset(m), vym = vset(smx_sparse_p(m, m, tau));
  const vd vmd = dset((double)m), vtau = dset(tau);
  const th16 tf16 = th16_of(tf, e);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    if (e != SMX_ELEM_F32 && !any16_above(x, i, tf16)) { /* (16-bit steps tested unwidened first) */
      st_num_x_nt(y, i, vzero(), nt, e);
      st_num_x_nt(y, i + VW, vzero(), nt, e);
      continue;
    }
    vf v0 = ld_e_x(x, i, e), v1 = ld_e_x(x, i + VW, e);
    vm h0 = vgt(v0, vtf), h1 = vgt(v1, vtf);
    if (!many(mor(h0, h1))) {
      st_num_x_nt(y, i, vzero(), nt, e);
      st_num_x_nt(y, i + VW, vzero(), nt, e);
      continue;
    }
    st_num_x_nt(y, i, many(h0) ? sparse_write_step(v0, vtf, vmx, vym, vmd, vtau, dense) : vzero(), nt, e);
    st_num_x_nt(y, i + VW, many(h1) ? sparse_write_step(v1, vtf, vmx, vym, vmd, vtau, dense) : vzero(), nt, e);
  }
  for (; i + VW <= n; i += VW) {
    vf v = ld_e_x(x, i, e);
    st_num_x_nt(y, i, many(vgt(v, vtf)) ? sparse_write_step(v, vtf, vmx, vym, vmd, vtau, dense) : vzero(), nt, e);
  }
  if (i < n) st_e_xn_num(y, i, vsparse_p(ld_e_n(x, i, n - i, -INFINITY, e), vmd, vtau), n - i, 0, e);
}
/* (split at y's boundary: f32 rows at +16 bytes 0.82-0.83x the time, Intel Xeon) */
SMX_FLATTEN void sparse_write_e(size_t n, const void *x, float m, double tau, void *y, const int dense, const int e) {
  const size_t h = split_at_boundary(n, y, e);
  const float tf = FN(sparse_zero_below)(m, tau);
  const void *xh = elem_at(x, h, e);
  void *yh = (void *)elem_at(y, h, e);
  if (h) sparse_write_part_e(h, x, m, tau, tf, y, dense, 0, e);
  if (stream_out(n - h, yh, e)) sparse_write_part_e(n - h, xh, m, tau, tf, yh, dense, 1, e);
  else sparse_write_part_e(n - h, xh, m, tau, tf, yh, dense, 0, e);
}

/* y = smx_sparse_p(x, m, tau) over a row whose entries above the filter t are v[0, nv) in index order (the buffer
   after Michelot, whose final filter is t): their outputs are computed in v, then spread into the steps that hold
   them (vexpand); every other entry is at most t, so +0 (steps in the step's order: tensors of element e). With
   grad, y is the cross-entropy's plain gradient p G flushed (G finite: +0 off the support, never NaN) */
SMX_FLATTEN void sparse_write_buf_e(size_t n, const void *x, float t, float *v, size_t nv, float m, double tau,
                                    float G, void *y, const int grad, const int nt, const int e) {
  const vd vmd = dset((double)m), vtau = dset(tau);
  for (size_t p = 0; p < nv; p += VW) {
    const size_t c = step_count(nv, p);
    const vf pv = vsparse_p(vld_n(v + p, c, m), vmd, vtau);
    vst_n(v + p, grad ? vflush(vmul(pv, vset(G))) : pv, c);
  }
  const vf vt = vset(t);
  size_t at = 0, i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) { /* (the test in the vocabulary's order, the spread in the step's) */
    if (!many(mor(vgt(ld_e_x(x, i, e), vt), vgt(ld_e_x(x, i + VW, e), vt)))) {
      st_num_x_nt(y, i, vzero(), nt, e);
      st_num_x_nt(y, i + VW, vzero(), nt, e);
      continue;
    }
    const vm h0 = vgt(ld_e(x, i, e), vt), h1 = vgt(ld_e(x, i + VW, e), vt);
    st_num_step_nt(y, i, vexpand(v + at, h0), nt, e);
    at += mcount(h0);
    st_num_step_nt(y, i + VW, vexpand(v + at, h1), nt, e);
    at += mcount(h1);
  }
  for (; i + VW <= n; i += VW) {
    const vm h = vgt(ld_e(x, i, e), vt);
    st_num_step_nt(y, i, vexpand(v + at, h), nt, e);
    at += mcount(h);
  }
  if (i < n) st_e_xn_num(y, i, vexpand(v + at, vgt(ld_e_n(x, i, n - i, -INFINITY, e), vt)), n - i, 0, e);
}

/* (out of line: inlined, its registers spilled the loops of the rows around it: AVX2's bfloat16 sparsemax 1.6-1.9x the
   time, the f32 cross-entropy 1.1x) */
static __attribute__((noinline)) void FN(sparse_write_buf)(size_t n, const void *x, float t, float *v, size_t nv,
                                                         float m, double tau, float G, void *y, int grad, int e) {
  const int nt = stream_out(n, y, e);
  if (grad) nt ? SMX_ELEM_CALL(e, sparse_write_buf_e, n, x, t, v, nv, m, tau, G, y, 1, 1)
            : SMX_ELEM_CALL(e, sparse_write_buf_e, n, x, t, v, nv, m, tau, G, y, 1, 0);
  else nt ? SMX_ELEM_CALL(e, sparse_write_buf_e, n, x, t, v, nv, m, tau, G, y, 0, 1)
          : SMX_ELEM_CALL(e, sparse_write_buf_e, n, x, t, v, nv, m, tau, G, y, 0, 0);
}

/* Rows whose candidates z > m - 1 are all ties of the max m (all equal, alternating +-1e30): every set the
   collection and Michelot meet holds K' <= K ties alone, whose sum is +0, so each tau is -1 / K' and its filter keeps
   every tie, and the threshold is -1 / K on any path (the buffer's, the whole row's, the reference's). Where a
   quarter of the lane maxima lm[NACC] are ties (sparse_tie_lanes), one pass counts them: K, or 0 where it finds
   another candidate (the general path). */
#define SPARSE_TIE_LANES (SMX_LANES / 4)
static inline int sparse_tie_lanes(const vf *lm, float m) {
  size_t lanes = 0;
  for (int q = 0; q < NACC; q++) lanes += mcount(veq(lm[q], vset(m)));
  return lanes >= SPARSE_TIE_LANES;
}
SMX_FLATTEN size_t sparse_tie_count_e(size_t n, const void *x, float m, int capped, vf vcap, vf vinv, const int e) {
  const vf vmx = vset(m), vt0 = vset(smx_below_minus_one(m));
  size_t k = 0;
  for (size_t i = 0; i < n; i += VW) {
    const vf z = capped        ? sparse_step_e(x, i, step_count(n, i), 1, vcap, vinv, e)
                 : i + VW <= n ? ld_e_x(x, i, e) /* (a count: any lane order) */
                               : ld_e_n(x, i, n - i, -INFINITY, e);
    const vm at = veq(z, vmx);
    if (sparse_inner(z, at, vt0)) return 0;
    k += mcount(at);
  }
  return k;
}
/* a sparsemax forward row by its tie count where it has one (y written: 1), else 0 */
SMX_FLATTEN int sparse_ties_e(size_t n, const void *x, float m, const vf *lm, void *y, const int e) {
  const vf one = vset(1.0f);
  const size_t k = sparse_tie_lanes(lm, m) ? sparse_tie_count_e(n, x, m, 0, one, one, e) : 0;
  if (k) sparse_write_e(n, x, m, -1.0 / (double)k, y, 1, e); /* (the sum +0, less 1, over k) */
  return k != 0;
}

/* ---- short rows (n <= 64): the row in registers ----
   When every candidate z > t0 (t0 = smx_below_minus_one(m), so |z - m| < 1) is 0 or has |z| >= 2^-23, every
   (double)z - m is a multiple of 2^-46 below 1 in magnitude, so each sum of up to 64 of them, and that sum
   minus 1, is exact in double: the buffer's sums by position (smx_sparsemax_tau_buf) equal sums in any
   order. Michelot then runs on the row's lanes (the same filters, the same tau) without collecting a
   buffer; a row with a tiny candidate takes the general path. */
_Static_assert(SMX_SPARSE_SHORT <= SMX_SPARSE_FY_BY_INDEX, "short rows sum fy by index");
#define SPARSE_GROUP_ROWS 8 /* short rows per group (sparsemax_short_rows) */
#define SPARSE_EXACT 0x1p-23f

/* One iteration on the set z > t: tau - m of the set, and *tn the next filter */
SMX_FLATTEN double sparse_iter_short(const vf *z, size_t ns, float m, float t, float *tn) {
  const vf vmx = vset(m), vt = vset(t);
  const vd vmd = dset((double)m);
  vd a0 = dset(0.0), a1 = a0;
  size_t k = 0;
  for (size_t j = 0; j < ns; j++) {
    vm in = vgt(z[j], vt);
    k += mcount(in);
    sparse_acc(z[j], in, vmx, vmd, &a0, &a1);
  }
  double tau = (tree_sum16d(a0, a1) - 1.0) / (double)k; /* k >= 1: the max is above t */
  *tn = smx_sparse_filter(m, tau, t);
  return tau;
}
/* smx_sparse_start from the lane maxima lm[NACC] in registers: one iteration on them from m - 1 */
static inline float sparse_start(size_t n, const vf *lm, float m) {
  const float t0 = smx_below_minus_one(m);
  if (n < SMX_SPARSE_START_MIN) return t0;
  float unused;
  return smx_sparse_filter(m, sparse_iter_short(lm, NACC, m, t0, &unused) - SMX_SPARSE_START_SLACK, t0);
}
static inline size_t sparse_count_short(const vf *z, size_t ns, float t) {
  size_t k = 0;
  for (size_t j = 0; j < ns; j++) k += mcount(vgt(z[j], vset(t)));
  return k;
}

/* tau - m of the steps z[0, ns) of a row (lanes past n are -inf) with max m, and *tf a filter of the final
   set; 0 if a candidate is tiny (not exact). The reference returns the tau of the first set S_j (S_j = {z >
   t_j}, t_{j+1} = filter(tau(S_j)), the t_j rising) with S_{j+1} = S_j: when the set stays, the filter
   stays too (the same tau gives the same threshold). So two iterations run without a branch and the
   loop goes on only when S_2 != S_1 (fewer entries: the sets only shrink). */
/* 1 when no candidate z > t0 has |z| in (0, 2^-23) (the sums are exact) */
SMX_FLATTEN int sparse_exact_short(const vf *z, size_t ns, float t0) {
  const vf zero = vzero(), one = vset(1.0f);
  vm tiny = mzero();
  for (size_t j = 0; j < ns; j++) {
    vf a = vsel0(vgt(z[j], vset(t0)), vabs(z[j]));
    tiny = mor(tiny, vlt(vsel(vgt(a, zero), a, one), vset(SPARSE_EXACT)));
  }
  return !many(tiny);
}
/* After the two branch-free iterations (t1 -> tau, t2): the loop while S_2 != S_1, as the reference */
SMX_FLATTEN double sparse_tau_finish(const vf *z, size_t ns, float m, float t1, float *t2, double tau) {
  if (__builtin_expect(sparse_count_short(z, ns, *t2) == sparse_count_short(z, ns, t1), 1)) return tau;
  float t = *t2;
  for (;;) {
    float tn;
    tau = sparse_iter_short(z, ns, m, t, &tn);
    if (!(tn > t)) break;
    t = tn;
  }
  *t2 = t;
  return tau;
}
SMX_FLATTEN int sparse_tau_short(const vf *z, size_t ns, float m, double *tau, float *tf) {
  const float t0 = smx_below_minus_one(m);
  if (!sparse_exact_short(z, ns, t0)) return 0;
  float t1, t2;
  sparse_iter_short(z, ns, m, t0, &t1);
  double tu = sparse_iter_short(z, ns, m, t1, &t2);
  *tau = sparse_tau_finish(z, ns, m, t1, &t2, tu);
  *tf = t2;
  return 1;
}

/* a finite row with max m by the buffer from the filter t (its own frame: the short rows do not set up the
   buffer), of element e */
SMX_FLATTEN void sparsemax_general_e(size_t n, const void *x, float m, float t, void *y, const int e) {
  float buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP + VW];
  const vf one = vset(1.0f);
  size_t nb = sparse_collect_e(n, x, m, 0, one, one, buf, &t, e);
  double tau = nb != SMX_SPARSE_ROW ? FN(sparse_tau_buf)(buf, &nb, &t, m) : sparse_tau_row_e(x, n, t, m, 0, one, one, e);
  if (nb == SMX_SPARSE_ROW) sparse_write_e(n, x, m, tau, y, 1, e);
  else if (nb < VW) sparse_write_e(n, x, m, tau, y, 0, e); /* (spreading a step or less: 1.06x the time at n = 256) */
  else FN(sparse_write_buf)(n, x, t, buf, nb, m, tau, 0.0f, y, 0, e);
}
static __attribute__((noinline)) void FN(sparsemax_general)(size_t n, const float *x, float m, float t, float *y) {
  sparsemax_general_e(n, x, m, t, y, SMX_ELEM_F32);
}

/* smx_row_kind_of(m, nan) == SMX_ROW_FINITE without the call */
static inline int sparse_finite(float m, int nan) { return !nan && m > -INFINITY && m < INFINITY; }

SMX_FLATTEN void sparsemax_short(size_t n, size_t ns, const float *x, float *y) {
  int nan;
  float m = FN(row_max)(n, x, &nan);
  if (!sparse_finite(m, nan)) {
    smx_special_row(smx_row_kind_of(m, nan), n, x, y, 0);
    return;
  }
  vf z[4];
  for (size_t j = 0; j < ns; j++) z[j] = vld_n(x + j * VW, step_count(n, j * VW), -INFINITY);
  double tau;
  float t;
  if (!sparse_tau_short(z, ns, m, &tau, &t)) {
    FN(sparsemax_general)(n, x, m, smx_below_minus_one(m), y);
    return;
  }
  const vd vmd = dset((double)m), vtau = dset(tau);
  for (size_t j = 0; j < ns; j++) vst_n(y + j * VW, vsparse_p(z[j], vmd, vtau), step_count(n, j * VW));
}

static void FN(sparsemax_row)(size_t n, const float *x, float *y) {
  _Static_assert(SMX_SPARSE_SHORT >= 4 * VW, "the short rows' 4 steps");
  switch ((n + VW - 1) / VW) {
  case 1: sparsemax_short(n, 1, x, y); return;
  case 2: sparsemax_short(n, 2, x, y); return;
  case 3: sparsemax_short(n, 3, x, y); return;
  case 4: sparsemax_short(n, 4, x, y); return;
  default: break;
  }
  int nan;
  vf lm[NACC];
  float m = row_max_lanes_e(n, x, &nan, lm, SMX_ELEM_F32);
  if (!sparse_finite(m, nan)) {
    smx_special_row(smx_row_kind_of(m, nan), n, x, y, 0);
    return;
  }
  if (!sparse_ties_e(n, x, m, lm, y, SMX_ELEM_F32)) FN(sparsemax_general)(n, x, m, sparse_start(n, lm, m), y);
}

/* dx = dy - v on the support (y > 0), +0 elsewhere (stored flushed) */
static inline vf sparse_bwd(vf y, vf dy, vf v) { return vsel0(vgt(y, vzero()), vsub(dy, v)); }
/* dx = sparse_bwd(y, dy, v) of a row, stored flushed; returns whether y or dy holds a NaN. Where |v| >= 2^-100 the flush
   changes nothing (flush 0 skips it): dy - v is then never -0, and never subnormal (where |dy| >= 2^-103 both are
   multiples of 2^-126, else |dy - v| > 2^-101). The NaN test (dx apart from y and dy: apart 1) is a sum of y dy in two
   vectors (NaN where y or dy holds one; also where a product or a sum is inf - inf or inf x 0, the cases the compares
   after tell apart): FMAs on both vector ports, where a compare a step loads AVX-512's one port that compares
   (bfloat16 rows of 4096 in cache 0.89x the time on the Intel Xeon); in place a compare a step. The second step is
   loaded after the first one's output (as log_softmax_backward_row_e). */
SMX_FLATTEN int sparse_bwd_out_io(size_t n, const void *y, const void *dy, void *dx, float v, const int flush,
                                  const int apart, const int nt, const int ein, const int e) {
  const vf vv = vset(v);
  vm bad = mzero();
  vf chk0 = vzero(), chk1 = vzero();
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    const vf y0 = ld_e_x(y, i, ein), d0 = ld_e_x(dy, i, ein);
    if (apart) chk0 = vfma(y0, d0, chk0);
    else bad = mor(bad, vunord(y0, d0));
    const vf o0 = sparse_bwd(y0, d0, vv), y1 = ld_e_x(y, i + VW, ein), d1 = ld_e_x(dy, i + VW, ein);
    if (apart) chk1 = vfma(y1, d1, chk1);
    else bad = mor(bad, vunord(y1, d1));
    const vf o1 = sparse_bwd(y1, d1, vv);
    if (flush) st_e_x_flush_nt(dx, i, o0, nt, e), st_e_x_flush_nt(dx, i + VW, o1, nt, e);
    else st_e_x_nt(dx, i, o0, nt, e), st_e_x_nt(dx, i + VW, o1, nt, e);
  }
  for (; i < n; i += VW) {
    const size_t c = step_count(n, i);
    vf vy = ld_e_n(y, i, c, 0.0f, ein), vd_ = ld_e_n(dy, i, c, 0.0f, ein);
    bad = mor(bad, vunord(vy, vd_));
    if (flush) st_e_flush_n(dx, i, sparse_bwd(vy, vd_, vv), c, e);
    else st_e_n(dx, i, sparse_bwd(vy, vd_, vv), c, e);
  }
  if (apart && many(vnan(vadd(chk0, chk1))))
    for (i = 0; i + VW <= n; i += VW) bad = mor(bad, vunord(ld_e_x(y, i, ein), ld_e_x(dy, i, ein)));
  return many(bad);
}
/* sparse_bwd_out_io with the flush its v needs and its NaN test (nt: streamed, where apart) */
SMX_FLATTEN int sparse_bwd_out(size_t n, const void *y, const void *dy, void *dx, float v, const int nt, const int ein,
                               const int e) {
  const int flush = fabsf(v) < 0x1p-100f, apart = dx != y && dx != dy;
#define SPARSE_BWD_OUT(flush, apart, nt) sparse_bwd_out_io(n, y, dy, dx, v, flush, apart, nt, ein, e)
  if (apart && nt) return flush ? SPARSE_BWD_OUT(1, 1, 1) : SPARSE_BWD_OUT(0, 1, 1);
  if (apart) return flush ? SPARSE_BWD_OUT(1, 1, 0) : SPARSE_BWD_OUT(0, 1, 0);
  return flush ? SPARSE_BWD_OUT(1, 0, 0) : SPARSE_BWD_OUT(0, 0, 0);
#undef SPARSE_BWD_OUT
}
/* The fused 16-bit sparsemax (the rows longer than the 16-bit scratch: no heap; the reference's buffer and
   Michelot on the widened row, its output rounded, so exactly the f32 kernel's bits rounded) */
SMX_FLATTEN void sparsemax_row16(size_t n, const uint16_t *x, uint16_t *y, const int e) {
  int nan;
  vf lm[NACC];
  const float m = row_max_lanes_e(n, x, &nan, lm, e);
  if (!sparse_finite(m, nan)) smx_special_row_elem(smx_row_kind_of(m, nan), n, x, y, 0, e);
  else if (!sparse_ties_e(n, x, m, lm, y, e)) sparsemax_general_e(n, x, m, sparse_start(n, lm, m), y, e);
}
SMX_ROWS_MAP16(FN(sparsemax16), sparsemax_row16)

/* (of tensors of element e: the f32 kernel and the fused 16-bit ones) */
/* the mean v of dy over the support (y > 0); shadows ys, ds as blocked_dot_sh_e's */
SMX_FLATTEN float sparse_bwd_mean_e(size_t n, const void *y, const void *dy, float *ys, float *ds, const int e) {
  double sum = 0.0;
  size_t k = 0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) { /* lane i % 64 of each block in registers */
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK;
    const void *py = elem_at(y, o, e), *pd = elem_at(dy, o, e);
    vf l[NACC];
    for (int q = 0; q < NACC; q++) l[q] = vzero();
    size_t i = 0;
    for (; i + SMX_LANES <= len; i += SMX_LANES)
      for (int q = 0; q < NACC; q++) {
        const size_t at = i + (size_t)q * VW;
        const vf vy = ld_e_x(py, at, e), vd_ = ld_e_x(pd, at, e);
        if (ys) vst(ys + o + at, vy), vst(ds + o + at, vd_);
        vm in = vgt(vy, vzero());
        k += mcount(in);
        l[q] = vadd_if(l[q], in, vd_);
      }
    for (int q = 0; q < NACC && i; q++) l[q] = vorder_e(l[q], e);
    for (int q = 0; i < len; i += VW, q++) { /* tail lanes read y = 0: they add +0 */
      const size_t c = step_count(len, i);
      const vf vy = ld_e_n(py, i, c, 0.0f, e), vd_ = ld_e_n(pd, i, c, 0.0f, e);
      if (ys) vst(ys + o + i, vy), vst(ds + o + i, vd_);
      vm in = vgt(vy, vzero());
      k += mcount(in);
      l[q] = vadd_if(l[q], in, vd_);
    }
    sum += FN(tree_sum_used)(l, steps_used(len));
  }
  return k > 0 ? (float)(sum / (double)k) : 0.0f;
}
SMX_FLATTEN void sparsemax_backward_row_e(size_t n, const void *y, const void *dy, void *dx, const int e) {
  _Alignas(64) float ys[SHADOW_CAP], ds[SHADOW_CAP];
  const int sh = shadowed(n, e);
  const float v = sh ? sparse_bwd_mean_e(n, y, dy, ys, ds, e) : sparse_bwd_mean_e(n, y, dy, NULL, NULL, e);
  int bad;
  if (sh) {
    bad = sparse_bwd_out(n, ys, ds, dx, v, 0, SMX_ELEM_F32, e);
  } else {
    const size_t h = split_at_boundary(n, dx, e);
    void *dxh = (void *)elem_at(dx, h, e);
    bad = h && sparse_bwd_out(h, y, dy, dx, v, 0, e, e);
    bad |= sparse_bwd_out(n - h, elem_at(y, h, e), elem_at(dy, h, e), dxh, v, stream_out(n - h, dxh, e), e, e);
  }
  if (bad) fill_e(n, dx, smx_qnan(), e);
  else if (!(fabsf(v) < INFINITY)) nan_canon_e(n, dx, e); /* (a finite v: dy - v is never NaN) */
}

/* a row in s steps (ld_row_short_e); dy held as the terms l (dy on the support, +0 off it: the sum's terms, whose
   +0 start short_dot_e adds, and the output's dy - v there). The output's support: where predicates are mask
   registers (SMX_MASK_REGS) the masks of the sum, else y loaded again (holding y too spilled AVX2's registers:
   bfloat16 1.2x the time) */
SMX_FLATTEN void sparsemax_backward_short_e(size_t n, const void *y, const void *dy, void *dx, const int s,
                                            const int e) {
  vf Y[NACC], l[NACC]; /* (s <= NACC) */
  vm in[NACC];
  ld_row_short_e(dy, n, 0.0f, l, s, e);
  size_t k = 0;
  vm bad = mzero();
  ld_row_short_e(y, n, 0.0f, Y, s, e);
  for (int j = 0; j < s; j++) {
    in[j] = vgt(Y[j], vzero());
    k += mcount(in[j]);
    bad = mor(bad, vunord(Y[j], l[j]));
    l[j] = vsel0(in[j], l[j]);
  }
  if (many(bad)) {
    fill_e(n, dx, smx_qnan(), e);
    return;
  }
  const float v = k > 0 ? (float)(short_dot_e(l, NULL, n, s, e) / (double)k) : 0.0f;
#ifndef SMX_MASK_REGS
  ld_row_short_e(y, n, 0.0f, Y, s, e);
  for (int j = 0; j < s; j++) in[j] = vgt(Y[j], vzero());
#endif
  for (int j = 0; j < s; j++) Y[j] = vsel0(in[j], vsub(l[j], vset(v)));
  st_row_short_e(dx, n, Y, s, fabsf(v) < 0x1p-100f, e); /* (as sparse_bwd_out_io's flush) */
  if (!(fabsf(v) < INFINITY)) nan_canon_e(n, dx, e);    /* (as sparsemax_backward_row_e) */
}

/* ---- fused cross-entropy, sparsemax ---- */
/* sparse_fy over a buffer of k ties of the max: the term (0 - tau^2) / 2 at every position */
static inline double sparse_fy_ties(size_t k, double tau) {
  const vd term = sparse_fy_term(dset(0.0), dset(tau));
  vd a0 = dset(0.0), a1 = a0;
  for (size_t p = 0; p < k; p += VW) dadd_at(vtail(step_count(k, p)), term, &a0, &a1);
  return tree_sum16d(a0, a1);
}
/* tau and the Fenchel-Young sum *fy of a finite row of element e by the buffer from the filter t (its own frame, as
   sparsemax_general), and *k the support's size (n for a whole-row threshold); fy by index (SMX_SPARSE_FY_BY_INDEX)
   is left to the gradient pass where there is one. ties (sparse_tie_lanes, n > SMX_SPARSE_FY_BY_INDEX): a row whose
   candidates are K ties (sparse_tie_count_e) takes -1 / K, and the reference's buffer of K ties, or its whole-row
   threshold where they overflow it (more than SMX_SPARSE_BUF - SMX_SPARSE_GROUP), without collecting them; with dx
   (a plain gradient p G) *spread is 1 where the gradient was written from the buffer (sparse_write_buf_e) */
SMX_FLATTEN double xent_sparse_general_e(size_t n, const void *x, float m, float t, int ties, int capped, vf vcap,
                                         vf vinv, double *fy, int *fy_left, size_t *k, void *dx, float G, int *spread,
                                         const int e) {
  float buf[SMX_SPARSE_BUF + SMX_SPARSE_GROUP + VW];
  const size_t kt = ties ? sparse_tie_count_e(n, x, m, capped, vcap, vinv, e) : 0;
  size_t nb = !kt                                          ? sparse_collect_e(n, x, m, capped, vcap, vinv, buf, &t, e)
              : kt > SMX_SPARSE_BUF - SMX_SPARSE_GROUP ? SMX_SPARSE_ROW
                                                         : kt;
  const int by_buf = nb != SMX_SPARSE_ROW;
  const double tau = kt       ? -1.0 / (double)kt /* (the sum +0, less 1, over kt) */
                     : by_buf ? FN(sparse_tau_buf)(buf, &nb, &t, m)
                              : sparse_tau_row_e(x, n, t, m, capped, vcap, vinv, e);
  *k = by_buf ? nb : n;
  if (by_buf && n > SMX_SPARSE_FY_BY_INDEX) *fy = kt ? sparse_fy_ties(kt, tau) : sparse_fy(buf, nb, m, tau);
  else if (fy_left) *fy_left = 1;
  else *fy = sparse_fy_e(x, n, m, tau, capped, vcap, vinv, e);
  /* the plain gradient from the buffer as sparsemax's output, where its fy is taken (a support of a step or more,
     fewer than n / 8 entries, as the gradient pass's few) */
  *spread = dx && by_buf && !kt && n > SMX_SPARSE_FY_BY_INDEX && nb >= VW && nb < n / 8;
  if (*spread) FN(sparse_write_buf)(n, x, t, buf, nb, m, tau, G, dx, 1, e);
  return tau;
}
/* (out of line: its buffer is on the stack only on this path; of element e, a variable) */
static __attribute__((noinline)) double FN(xent_sparse_general)(size_t n, const void *x, float m, float t, int ties,
                                                            int capped, vf vcap, vf vinv, double *fy, int *fy_left,
                                                            size_t *k, void *dx, float G, int *spread, int e) {
  return SMX_ELEM_CALL(e, xent_sparse_general_e, n, x, m, t, ties, capped, vcap, vinv, fy, fy_left, k, dx, G, spread);
}

/* The sparsemax cross-entropy of a row in phases, so that short rows can run in groups: begin (the logits
   pass, the row's scalar state, and for short exact rows the branch-free iterations' start t0), then the
   two iterations (sparse_iter_short), then finish (the loss, the gradient). Rows of up to ns steps keep
   their logits z and dz/dx in registers (ns = 0: none). */
typedef struct {
  smx_xent_sparse st;
  vf z[4], dz[4];
  double sum_z;
  float t0, t1, t2; /* t0: the short rows' first filter, or the collection's (smx_sparse_start) */
  double tau;
  int live, fast, ties; /* live: the row continues after begin; fast: short and exact; ties: sparse_tie_lanes */
} xent_sparse_state;

/* one step of the logits pass at j (c entries from j): its lanes' maxima lm, NaN screen, sum of z (smoothing) and for
   short rows z and dz/dx kept */
SMX_FLATTEN void xent_sparse_begin_step(const void *x, size_t j, size_t c, int capped, vf vcap, vf vinv, float eps,
                                        size_t ns, xent_sparse_state *s, vf *lm, vm *bad, vd *z0, vd *z1, const int e) {
  vf vdz, z = step_logits_e(x, j, c, -INFINITY, capped, vcap, vinv, &vdz, e);
  if (c < VW) z = vsel(vtail(c), z, vset(-INFINITY));
  *lm = vmax(z, *lm);
  *bad = mor(*bad, vnan(z));
  if (eps > 0.0f) {
    vf zz = c < VW ? vsel(vtail(c), z, vset(0.0f)) : z;
    *z0 = dadd(*z0, dlo(zz));
    *z1 = dadd(*z1, dhi(zz));
  }
  if (ns) s->z[j / VW] = z, s->dz[j / VW] = vdz;
}
/* the logits pass of a row (xent_sparse_begin_step's): its lane maxima lm, the sum of z (eps > 0) in z0, z1 and short
   rows' z and dz/dx kept in s (ns > 0); returns the NaN flag */
SMX_FLATTEN int xent_sparse_lanes_e(size_t n, const void *x, int capped, vf vcap, vf vinv, float eps, size_t ns,
                                    xent_sparse_state *s, vf *lm, vd *z0, vd *z1, const int e) {
  int nan = 0;
  if (!capped && !(eps > 0.0f) && !ns) {
    row_max_lanes_e(n, x, &nan, lm, e);
    return nan;
  }
  vm bad = mzero();
  for (int q = 0; q < NACC; q++) lm[q] = vset(-INFINITY);
  size_t j = 0;
  for (; j + SMX_LANES <= n; j += SMX_LANES) /* lane j % 64 */
    for (int q = 0; q < NACC; q++)
      xent_sparse_begin_step(x, j + (size_t)q * VW, VW, capped, vcap, vinv, eps, ns, s, &lm[q], &bad, z0, z1, e);
  for (int q = 0; j < n; j += VW, q++)
    xent_sparse_begin_step(x, j, n - j, capped, vcap, vinv, eps, ns, s, &lm[q], &bad, z0, z1, e);
  return many(bad);
}
SMX_FLATTEN void xent_sparse_begin_e(size_t n, const void *x, const smx_xent_row *row, void *dx, size_t ns,
                                     xent_sparse_state *s, const int e) {
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  vf lm[NACC];
  vd z0 = dset(0.0), z1 = z0;
  const int nan = xent_sparse_lanes_e(n, x, capped, vcap, vinv, eps, ns, s, lm, &z0, &z1, e);
  s->sum_z = eps > 0.0f ? tree_sum16d(z0, z1) : 0.0;
  s->live = smx_xent_sparsemax_begin(n, x, e, row, FN(tree_max)(lm), nan, &s->st);
  if (!s->live && dx) fill_e(n, dx, smx_qnan(), e);
  s->fast = s->ties = 0;
  s->t0 = 0.0f;
  if (s->live && s->st.kind == SMX_ROW_FINITE) {
    s->t0 = sparse_start(n, lm, s->st.m);
    if (ns) s->fast = sparse_exact_short(s->z, ns, s->t0);
    s->ties = n > SMX_SPARSE_FY_BY_INDEX && sparse_tie_lanes(lm, s->st.m);
  }
}

/* a step of the gradient (p - q) G dz/dx, before the flush (its store's, st_e_flush_n); without the softcap (dz/dx =
   1) and without smoothing (q = 0) those operations, which change no bit, are skipped */
static inline vf xent_sparse_g(vf p, vf vq, vf vG, vf vdz, const int capped, const int smooth) {
  const vf g = vmul(smooth ? vsub(p, vq) : p, vG);
  return capped ? vmul(g, vdz) : g;
}
/* the gradient (p - q) G dz/dx of a finite row from its tau, stored flushed; with fy_left also its fy (sparse_fy_e's
   sum), else 0; few: a support of fewer than n / 8 entries */
SMX_FLATTEN double xent_sparse_grad_row_e(size_t n, const void *x, const int capped, const int smooth, vf vcap, vf vinv,
                                          float m, double tau, vf vq, vf vG, int fy_left, int few, void *dx,
                                          const int e) {
  const vd vmd = dset((double)m), vtau = dset(tau);
  vd a0 = dset(0.0), a1 = a0;
  /* with few, steps whose entries are all out of the set (z <= tz: (double)z - m <= tau, p and the term +0) store
     the gradient of p = +0 without the double arithmetic (the test costs rows of many ties 4-7%: not there); with a
     whole-row threshold (a dense support), steps whose entries are all at the max m or out, with the max's p = -tau
     and term ((double)m - m = +0: (0 - tau^2) / 2) */
  const int dense = !few && fy_left && n > SMX_SPARSE_FY_BY_INDEX; /* (few: never dense; no dense code in its loop) */
  const float tz = smx_sparse_filter(m, tau, -INFINITY);
  const vf vmx = vset(m), vtz = vset(tz);
  const th16 tz16 = th16_of(tz, e);
  const vf p_at = vsparse_p(vmx, vmd, vtau);
  const vd fy_at = sparse_fy_term(dset(0.0), vtau);
  const vf g_out = const_e(vhmax(vflush(xent_sparse_g(vzero(), vq, vG, vset(1.0f), 0, smooth))), e); /* (equal lanes) */
  for (size_t j = 0; j < n; j += VW) {
    if (few && !capped) { /* (runs of steps all out in a loop of their own: N(0, 3) rows 0.73-0.95x the time) */
      for (; e != SMX_ELEM_F32 && j + 2 * VW <= n && !any16_above(x, j, tz16); j += 2 * VW)
        st_const_n(dx, j, g_out, VW, e), st_const_n(dx, j + VW, g_out, VW, e);
      for (; j + VW <= n && !many(vgt(ld_e_x(x, j, e), vtz)); j += VW) st_const_n(dx, j, g_out, VW, e);
    }
    if (j >= n) break;
    const size_t c = step_count(n, j);
    vf vdz, z = step_logits_e(x, j, c, 0.0f, capped, vcap, vinv, &vdz, e);
    if (few && c == VW && !many(vgt(z, vtz))) { /* all out */
      if (capped) st_e_flush_n(dx, j, xent_sparse_g(vzero(), vq, vG, vdz, 1, smooth), c, e);
      else st_const_n(dx, j, g_out, c, e);
      continue;
    }
    if (dense && c == VW) {
      if (!many(vne(z, vmx))) { /* all at the max */
        a0 = dadd(a0, fy_at), a1 = dadd(a1, fy_at);
        st_e_flush_n(dx, j, xent_sparse_g(p_at, vq, vG, vdz, capped, smooth), c, e);
        continue;
      }
      const vm at = veq(z, vmx);
      if (!sparse_inner(z, at, vtz)) {
        dadd_at(at, fy_at, &a0, &a1);
        st_e_flush_n(dx, j, xent_sparse_g(vsel0(at, p_at), vq, vG, vdz, capped, smooth), c, e);
        continue;
      }
    }
    if (fy_left) sparse_fy_acc(c < VW ? vsel(vtail(c), z, vset(-INFINITY)) : z, vmd, vtau, &a0, &a1);
    st_e_flush_n(dx, j, xent_sparse_g(vsparse_p(z, vmd, vtau), vq, vG, vdz, capped, smooth), c, e);
  }
  return fy_left ? tree_sum16d(a0, a1) : 0.0;
}
/* a finite row's loss (and p_t) from its Fenchel-Young sum fy */
static inline void xent_sparse_loss(size_t n, const smx_xent_row *row, double fy, xent_sparse_state *s) {
  smx_xent_sparse *st = &s->st;
  st->loss = smx_xent_sparsemax_loss(n, st->tau, fy, st->m, st->zt, s->sum_z, st->wt, st->qq, row, &st->pt);
}
SMX_FLATTEN double xent_sparse_finish_e(size_t n, const void *x, const smx_xent_row *row, void *dx, size_t ns,
                                        xent_sparse_state *s, const int e) {
  smx_xent_sparse *st = &s->st;
  if (!s->live) return st->loss;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  int fy_left = 0; /* a row-path fy, summed in the gradient pass */
  int spread = 0;  /* the gradient written from the buffer (xent_sparse_general_e) */
  size_t k = n;    /* the support's size */
  if (st->kind == SMX_ROW_FINITE) {
    double fy = 0.0;
    if (s->fast) { /* the loop beyond the two iterations where needed; fy by index (SMX_SPARSE_FY_BY_INDEX) */
      st->tau = sparse_tau_finish(s->z, ns, st->m, s->t1, &s->t2, s->tau);
      const vd vmd = dset((double)st->m), vtau = dset(st->tau);
      vd a0 = dset(0.0), a1 = a0;
      for (size_t j = 0; j < ns; j++) /* (a step without a candidate adds +0 to every lane) */
        if (many(vgt(s->z[j], vset(s->t0)))) sparse_fy_acc(s->z[j], vmd, vtau, &a0, &a1);
      fy = tree_sum16d(a0, a1);
    } else {
      const int plain = !capped && st->qf == 0.0f && st->Gf - st->Gf == 0.0f; /* (G finite: p = 0 gives +0) */
      st->tau = FN(xent_sparse_general)(n, x, st->m, s->t0, s->ties, capped, vcap, vinv, &fy, dx ? &fy_left : NULL,
                                        &k, plain ? dx : NULL, st->Gf, &spread, e);
    }
    if (!fy_left) xent_sparse_loss(n, row, fy, s);
  }
  (void)eps;
  if (!dx) return st->loss;
  if (st->kind != SMX_ROW_FINITE) {
    smx_xent_sparsemax_grad_elem(n, x, e, row, st, dx);
  } else {
    const vd vtau = dset(st->tau), vmd = dset((double)st->m);
    const vf vq = vset(st->qf), vG = vset(st->Gf);
    if (s->fast) {
      for (size_t j = 0; j < ns; j++)
        st_e_flush_n(dx, j * VW, xent_sparse_g(vsparse_p(s->z[j], vmd, vtau), vq, vG, s->dz[j], 1, 1),
                     step_count(n, j * VW), e);
    } else if (!spread) {
      const int few = k < n / 8;
      const double fy = !capped && st->qf == 0.0f && few
                          ? xent_sparse_grad_row_e(n, x, 0, 0, vcap, vinv, st->m, st->tau, vq, vG, fy_left, 1, dx, e)
                        : !capped && st->qf == 0.0f
                          ? xent_sparse_grad_row_e(n, x, 0, 0, vcap, vinv, st->m, st->tau, vq, vG, fy_left, 0, dx, e)
                          : xent_sparse_grad_row_e(n, x, capped, 1, vcap, vinv, st->m, st->tau, vq, vG, fy_left, few, dx,
                                                   e);
      if (fy_left) xent_sparse_loss(n, row, fy, s);
    }
  }
  st_e_n(dx, (size_t)row->target, vset(smx_xent_sparsemax_dxt(row, st)), 1, e);
  return st->loss;
}
SMX_FLATTEN void xent_sparse_begin(size_t n, const float *x, const smx_xent_row *row, float *dx, size_t ns,
                                   xent_sparse_state *s) {
  xent_sparse_begin_e(n, x, row, dx, ns, s, SMX_ELEM_F32);
}
SMX_FLATTEN double xent_sparse_finish(size_t n, const float *x, const smx_xent_row *row, float *dx, size_t ns,
                                      xent_sparse_state *s) {
  return xent_sparse_finish_e(n, x, row, dx, ns, s, SMX_ELEM_F32);
}

/* the two branch-free iterations of a fast row */
SMX_FLATTEN void xent_sparse_iter(size_t ns, xent_sparse_state *s, int second) {
  if (!s->fast) return;
  if (!second) sparse_iter_short(s->z, ns, s->st.m, s->t0, &s->t1);
  else s->tau = sparse_iter_short(s->z, ns, s->st.m, s->t1, &s->t2);
}

static double FN(xent_sparsemax_row)(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  xent_sparse_state s;
  xent_sparse_begin(n, x, row, dx, 0, &s);
  return xent_sparse_finish(n, x, row, dx, 0, &s);
}
/* The fused 16-bit sparsemax cross-entropy of one row (the rows longer than the 16-bit scratch: no heap; the f32
   row's passes over loads that widen, its gradient rounded in the stores) */
SMX_FLATTEN double xent_sparsemax_row16(size_t n, const uint16_t *x, const smx_xent_row *row, uint16_t *dx,
                                        const int e) {
  xent_sparse_state s;
  xent_sparse_begin_e(n, x, row, dx, 0, &s, e);
  return xent_sparse_finish_e(n, x, row, dx, 0, &s, e);
}
SMX_ROWS_XENTROW16(FN(xent_sparsemax16), xent_sparsemax_row16)

/* The table pieces of the probability-target cross-entropy (kernels.h): sparse_row_state by the cross-entropy's
   logits pass and xent_sparse_general (the same bits as the reference's collection), xent_soft_sparse the scalar
   piece's operations lane-wise */
SMX_FLATTEN int sparse_row_state_e(size_t n, const void *x, float softcap, float *m, double *tau, double *fy,
                                   const int e) {
  const int capped = softcap > 0.0f;
  const vf vcap = vset(softcap), vinv = vset(capped ? 1.0f / softcap : 0.0f);
  vf lm[NACC];
  vd z0 = dset(0.0), z1 = z0;
  const int nan = xent_sparse_lanes_e(n, x, capped, vcap, vinv, 0.0f, 0, NULL, lm, &z0, &z1, e);
  *m = FN(tree_max)(lm);
  const enum smx_row_kind kind = smx_row_kind_of(*m, nan);
  if (kind != SMX_ROW_FINITE) return kind;
  const int ties = n > SMX_SPARSE_FY_BY_INDEX && sparse_tie_lanes(lm, *m);
  size_t k;
  int spread;
  *tau = FN(xent_sparse_general)(n, x, *m, sparse_start(n, lm, *m), ties, capped, vcap, vinv, fy, NULL, &k, NULL, 0.0f,
                                 &spread, e);
  return kind;
}
int FN(sparse_row_state)(size_t n, const void *x, int e, float softcap, float *m, double *tau, double *fy) {
  return SMX_ELEM_CALL(e, sparse_row_state_e, n, x, softcap, m, tau, fy);
}
void FN(xent_soft_sparse)(size_t n, const float *x, const float *q, float softcap, float m, double tau, double e,
                          double off, float G, float *dx, double Ql[SMX_DLANES], double qql[SMX_DLANES],
                          double ll[SMX_DLANES]) {
  const int capped = softcap > 0.0f;
  const vf vcap = vset(softcap), vinv = vset(capped ? 1.0f / softcap : 0.0f), vG = vset(G);
  const vd vmd = dset((double)m), vtau = dset(tau), ve = dset(1.0 - e), voff = dset(off);
  vd Q[2] = {dld(Ql), dld(Ql + 8)}, QQ[2] = {dld(qql), dld(qql + 8)}, L[2] = {dld(ll), dld(ll + 8)};
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    vf dz;
    const vf z = step_logits(x + i, c, 0.0f, capped, vcap, vinv, &dz), vq = vld_n(q + i, c, 0.0f);
    vd qj[2];
    for (int h = 0; h < 2; h++) {
      qj[h] = soft_wq(vq, vq, 0, c, e, ve, voff, h);
      QQ[h] = dadd(QQ[h], dmul(qj[h], qj[h]));
      Q[h] = dadd(Q[h], qj[h]), soft_acc(qj[h], dsub(h ? dhi(z) : dlo(z), vmd), &L[h]);
    }
    if (dx) {
      const vf p = vsparse_p(z, vmd, vtau), g = dpack(dsub(dlo(p), qj[0]), dsub(dhi(p), qj[1]));
      vst_n(dx + i, vflush_nan(vmul(vmul(g, vG), dz)), c);
    }
  }
  dst(Ql, Q[0]), dst(Ql + 8, Q[1]), dst(qql, QQ[0]), dst(qql + 8, QQ[1]), dst(ll, L[0]), dst(ll + 8, L[1]);
}

/* Short rows in groups (the rows loop of smx_xent_rows, the same order of the losses' sum): every row's
   begin, the groups' iterations row after row, then every row's finish in row order. */
SMX_FLATTEN double xent_sparsemax_short_rows(size_t r_first, size_t rows, size_t n, size_t ns, const float *x,
                                             size_t ldx, const smx_xent_args *a, float *loss_rows, float *dx,
                                             size_t ldd, double total) {
  enum { G = SPARSE_GROUP_ROWS };
  for (size_t r0 = r_first; r0 < rows; r0 += G) {
    const size_t g_n = rows - r0 < G ? rows - r0 : G;
    xent_sparse_state s[G];
    smx_xent_row row[G];
    int skip[G];
    for (size_t g = 0; g < g_n; g++) {
      const size_t r = r0 + g;
      row[g] = a->row;
      skip[g] = !smx_xent_row_begin(a, r, n, &row[g], dx ? dx + r * ldd : NULL); /* an ignored row: zeros */
      if (skip[g]) continue;
      xent_sparse_begin(n, x + r * ldx, &row[g], dx ? dx + r * ldd : NULL, ns, &s[g]);
    }
    for (size_t g = 0; g < g_n; g++)
      if (!skip[g]) xent_sparse_iter(ns, &s[g], 0);
    for (size_t g = 0; g < g_n; g++)
      if (!skip[g]) xent_sparse_iter(ns, &s[g], 1);
    for (size_t g = 0; g < g_n; g++) {
      const size_t r = r0 + g;
      const double lr = skip[g] ? 0.0 : xent_sparse_finish(n, x + r * ldx, &row[g], dx ? dx + r * ldd : NULL, ns, &s[g]);
      total = smx_xent_row_end(a, loss_rows, r, lr, total);
    }
  }
  return total;
}

/* ---- short rows in lanes (n <= SPARSE_FWD_LANES_MAX, the cross-entropy's SMX_XENT_SPARSE_LANES_MAX; at least
   SPARSE_LANES_MIN_ROWS rows): VW rows transposed, entry i of row r in lane r of column i; sparsemax_short's steps
   lane-wise (its sums are exact, so in any order; the filters per lane, as smx_sparse_filter). Rows that are not
   finite or not exact go through sparsemax_row. ---- */
#define SPARSE_LANES_MAX 64 /* the cross-entropy's (SMX_XENT_SPARSE_LANES_MAX); sparsemax's own up to 32 (Zen 4, avx512,
                               lanes over the row groups at 33 / 48 / 64: 0.82-0.84 / 0.95-1.04 / 0.98-1.19x) */
#define SPARSE_FWD_LANES_MAX 32
_Static_assert(SPARSE_LANES_MAX <= SMX_SPARSE_FY_BY_INDEX, "rows in lanes sum fy by index");
_Static_assert(SMX_XENT_SPARSE_LANES_MAX <= SPARSE_LANES_MAX, "the sparsemax cross-entropy's lane columns");
#define SPARSE_LANES_MIN_ROWS 8
/* smx_next_down and smx_next_up lane-wise: the bits -1 or +1 (the other way for the negative) */
static inline vf vnext_down(vf t) {
  const vf d = vbits_add(t, vsel(vlt(t, vzero()), vbits_k(1u), vbits_k(0xffffffffu)));
  return vsel(veq(t, vset(-INFINITY)), t, vsel(veq(t, vzero()), vset(-0x1p-149f), d));
}
static inline vf vnext_up(vf t) {
  const vf d = vbits_add(t, vsel(vlt(t, vzero()), vbits_k(0xffffffffu), vbits_k(1u)));
  return vsel(veq(t, vset(INFINITY)), t, vsel(veq(t, vzero()), vset(0x1p-149f), d));
}
/* a lane group's row maxima, also as doubles (lo: rows 0-7, hi: rows 8-15) */
typedef struct {
  vf m;
  vd lo, hi;
} lanes_m;
/* (double)t - m > tau, lane-wise */
static inline vm lanes_above(vf t, lanes_m m, vd tau0, vd tau1) {
  return mpack(dgt(dsub(dlo(t), m.lo), tau0), dgt(dsub(dhi(t), m.hi), tau1));
}
/* smx_sparse_filter lane-wise */
static inline vf lanes_filter(lanes_m m, vd tau0, vd tau1, vf prev) {
  vf t = dpack(dadd(m.lo, tau0), dadd(m.hi, tau1));
  vm lost = lanes_above(t, m, tau0, tau1); /* after 4 steps down: the filter not found, prev */
  for (int i = 0; i < 4 && many(lost); i++) t = vsel(lost, vnext_down(t), t), lost = lanes_above(t, m, tau0, tau1);
  const vf up = vnext_up(t);
  t = vsel(lanes_above(up, m, tau0, tau1), t, up);
  t = vsel(lost, prev, t);
  return vsel(vgt(t, prev), t, prev);
}
/* smx_below_minus_one lane-wise */
static inline vf lanes_below_minus_one(vf m) {
  const vd t0 = dsub(dlo(m), dset(1.0)), t1 = dsub(dhi(m), dset(1.0));
  vf f = dpack(t0, t1);
  f = vsel(mpack(dgt(dlo(f), t0), dgt(dhi(f), t1)), vnext_down(f), f);
  return vsel(vge(vabs(m), vset(0x1p24f)), vnext_down(m), f);
}
/* one iteration on the sets col > t: their tau (tau0, tau1) and count k; returns the next filter */
SMX_FLATTEN vf lanes_iter(const vf *col, size_t n, lanes_m m, vf t, vd *tau0, vd *tau1, vf *k) {
  vf c = vzero();
  vd a0 = dset(0.0), a1 = a0;
  for (size_t i = 0; i < n; i++) {
    const vm in = vgt(col[i], t);
    const vf v = vsel(in, col[i], m.m);
    c = vadd(c, vsel0(in, vset(1.0f)));
    a0 = dadd(a0, dsub(dlo(v), m.lo));
    a1 = dadd(a1, dsub(dhi(v), m.hi));
  }
  *tau0 = ddiv(dsub(a0, dset(1.0)), dlo(c)), *tau1 = ddiv(dsub(a1, dset(1.0)), dhi(c)), *k = c;
  return lanes_filter(m, *tau0, *tau1, t);
}
static inline vf lanes_count(const vf *col, size_t n, vf t) {
  vf c = vzero();
  for (size_t i = 0; i < n; i++) c = vadd(c, vsel0(vgt(col[i], t), vset(1.0f)));
  return c;
}
/* The state of rows r < g (g <= VW) of n <= SPARSE_LANES_MAX entries: the columns, each row's max, tau
   (sparsemax_short's) and final filter t (its support: col > t); fast[r] = 0 for the rows that are not finite or
   not exact. */
typedef struct {
  vf col[SPARSE_LANES_MAX];
  lanes_m m;
  vd tau0, tau1;
  vf t;
  float fast[VW];
} sparse_lanes;
SMX_FLATTEN void sparse_lanes_state(size_t g, size_t n, const float *x, size_t ldx, sparse_lanes *L) {
  const vf *col = L->col;
  vload_columns(g, n, x, ldx, L->col);
  vf mx = vset(-INFINITY);
  vm nan = mzero();
  for (size_t i = 0; i < n; i++) mx = vmax(mx, col[i]), nan = mor(nan, vnan(col[i]));
  vm slow = mor(nan, vge(vabs(mx), vset(INFINITY)));
  mx = vsel(slow, vzero(), mx); /* the iterations run on a finite stand-in */
  const lanes_m m = L->m = (lanes_m){mx, dlo(mx), dhi(mx)};
  const vf t0 = lanes_below_minus_one(mx), zero = vzero(), one = vset(1.0f);
  for (size_t i = 0; i < n; i++) { /* sparse_exact_short: a candidate in (0, 2^-23) in magnitude */
    const vf a = vsel0(vgt(col[i], t0), vabs(col[i]));
    slow = mor(slow, vlt(vsel(vgt(a, zero), a, one), vset(SPARSE_EXACT)));
  }
  vd tau0, tau1;
  vf k1;
  const vf t1 = lanes_iter(col, n, m, t0, &tau0, &tau1, &k1);
  vf t = lanes_iter(col, n, m, t1, &tau0, &tau1, &k1);
  /* sparse_tau_finish: on while the set shrinks (the sets only shrink: k1 > the count above t) */
  vf active = vsel(slow, zero, vsel0(vgt(k1, lanes_count(col, n, t)), one));
  while (many(vgt(active, zero))) {
    vd u0, u1;
    vf kk;
    const vm on = vgt(active, zero);
    const vf tn = lanes_iter(col, n, m, t, &u0, &u1, &kk);
    tau0 = dsel(mlo(on), u0, tau0), tau1 = dsel(mhi(on), u1, tau1);
    active = vsel(vgt(tn, t), active, zero);
    t = vsel(vgt(active, zero), tn, t);
  }
  L->tau0 = tau0, L->tau1 = tau1, L->t = t;
  vst(L->fast, vsel(slow, zero, one));
}
/* smx_sparse_p of column i */
static inline vf sparse_lanes_p(const sparse_lanes *L, size_t i) {
  return vsparse_p2(L->col[i], L->m.lo, L->m.hi, L->tau0, L->tau1);
}
SMX_FLATTEN void sparsemax_lanes(size_t g, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  sparse_lanes L;
  sparse_lanes_state(g, n, x, ldx, &L);
  VSTORE_COLUMNS_OF(g, n, L.fast, y, ldy, SMX_ELEM_F32, i, sparse_lanes_p(&L, i))
  for (size_t r = 0; r < g; r++)
    if (L.fast[r] == 0.0f) FN(sparsemax_row)(n, x + r * ldx, y + r * ldy);
}

/* Short rows in groups of SPARSE_GROUP_ROWS, each phase over the group's rows in turn: their dependency
   chains (max, two iterations of divisions and filters) are independent and adjacent, so they overlap.
   A row that is not finite or not exact goes through sparsemax_row, after the group's reads. */
SMX_FLATTEN void sparsemax_short_rows(size_t rows, size_t n, size_t ns, const float *x, size_t ldx, float *y,
                                      size_t ldy) {
  enum { G = SPARSE_GROUP_ROWS };
  size_t r0 = 0;
  for (; r0 + G <= rows; r0 += G) {
    vf z[G][4];
    float m[G], t0[G], t1[G], t2[G];
    double tau[G];
    int slow[G];
    for (int g = 0; g < G; g++) {
      const float *xr = x + (r0 + (size_t)g) * ldx;
      int nan;
      m[g] = FN(row_max)(n, xr, &nan);
      for (size_t j = 0; j < ns; j++) z[g][j] = vld_n(xr + j * VW, step_count(n, j * VW), -INFINITY);
      slow[g] = !sparse_finite(m[g], nan);
      if (slow[g]) m[g] = 0.0f; /* the iterations below run on a finite stand-in */
      t0[g] = smx_below_minus_one(m[g]);
      slow[g] |= !sparse_exact_short(z[g], ns, t0[g]);
    }
    for (int g = 0; g < G; g++) sparse_iter_short(z[g], ns, m[g], t0[g], &t1[g]);
    for (int g = 0; g < G; g++) tau[g] = sparse_iter_short(z[g], ns, m[g], t1[g], &t2[g]);
    for (int g = 0; g < G; g++) {
      const size_t r = r0 + (size_t)g;
      if (slow[g]) {
        FN(sparsemax_row)(n, x + r * ldx, y + r * ldy);
        continue;
      }
      const double tu = sparse_tau_finish(z[g], ns, m[g], t1[g], &t2[g], tau[g]);
      const vd vmd = dset((double)m[g]), vtau = dset(tu);
      for (size_t j = 0; j < ns; j++) vst_n(y + r * ldy + j * VW, vsparse_p(z[g][j], vmd, vtau), step_count(n, j * VW));
    }
  }
  for (; r0 < rows; r0++) FN(sparsemax_row)(n, x + r0 * ldx, y + r0 * ldy);
}

void FN(sparsemax)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  size_t r = 0;
  if (n >= 1 && n <= SPARSE_FWD_LANES_MAX)
    LANE_GROUPS(r, g, rows, SPARSE_LANES_MIN_ROWS) sparsemax_lanes(g, n, x + r * ldx, ldx, y + r * ldy, ldy);
  rows -= r, x += r * ldx, y += r * ldy;
  switch ((n + VW - 1) / VW) {
  case 1: sparsemax_short_rows(rows, n, 1, x, ldx, y, ldy); return;
  case 2: sparsemax_short_rows(rows, n, 2, x, ldx, y, ldy); return;
  case 3: sparsemax_short_rows(rows, n, 3, x, ldx, y, ldy); return;
  case 4: sparsemax_short_rows(rows, n, 4, x, ldx, y, ldy); return;
  default:
    for (size_t i = 0; i < rows; i++) FN(sparsemax_row)(n, x + i * ldx, y + i * ldy);
  }
}
/* backward rows [0, g) of at most BWD_LANES_MAX entries in a lane group (vmath.h): the support's dy summed by lane_dot
   (the row path's lanes hold one term each), its count per lane, the step lane-wise; rows with a NaN by the row path
   after */
SMX_FLATTEN void sparsemax_backward_lanes_e(size_t g, size_t n, const void *y, size_t ldy, const void *dy, size_t lddy,
                                            void *dx, size_t lddx, const int e) {
  vf Y[BWD_COLS], D[BWD_COLS], T[BWD_COLS];
  float fast[VW];
  vload_columns_e(g, n, y, ldy, Y, e);
  vload_columns_e(g, n, dy, lddy, D, e);
  vf k = vzero();
  vm bad = mzero();
  for (size_t i = 0; i < n; i++) {
    const vm in = vgt(Y[i], vzero());
    k = vadd(k, vsel0(in, vset(1.0f)));
    T[i] = vadd(vzero(), vsel0(in, D[i])); /* into +0 lanes */
    bad = mor(bad, vunord(Y[i], D[i]));
  }
  const lane_dsum sum = lane_dot(T, n);
  const vf v = dpack(ddiv(sum.lo, dlo(k)), ddiv(sum.hi, dhi(k))); /* k = 0: NaN, and no entry in the support */
  for (size_t i = 0; i < n; i++) Y[i] = vflush_nan_e(sparse_bwd(Y[i], D[i], v), e);
  vst(fast, vsel(bad, vzero(), vset(1.0f)));
  vstore_columns_e(g, n, Y, fast, dx, lddx, e);
  for (size_t r = 0; r < g; r++)
    if (fast[r] == 0.0f)
      sparsemax_backward_row_e(n, elem_at(y, r * ldy, e), elem_at(dy, r * lddy, e), (void *)elem_at(dx, r * lddx, e), e);
}
/* (short rows of one lane group at most: more took 1.07-1.22x the row path's time in bfloat16 on Zen 4) */
#define SPARSE_BWD_SHORT_MAX (SMX_BWD_SHORT_STEPS < NACC ? SMX_BWD_SHORT_STEPS : NACC)
BWD_KERNELS(sparsemax_backward, sparsemax_backward_lanes_e, sparsemax_backward_short_e, SPARSE_BWD_SHORT_MAX,
            sparsemax_backward_row_e)
#undef SPARSE_BWD_SHORT_MAX
/* smx_sparsemax_fy of each lane's row, by index (n <= SMX_SPARSE_FY_BY_INDEX): column i's term in double lane
   i % 16, +0 off the support, and the 16 lanes' tree */
SMX_FLATTEN lane_dsum lanes_fy(const sparse_lanes *L, size_t n) {
  lane_dsum T[SMX_DLANES];
  for (size_t i = 0; i < n; i++)
    lane_leaf_add(T, i, (lane_dsum){sparse_fy_term(dsub(dlo(L->col[i]), L->m.lo), L->tau0),
                                    sparse_fy_term(dsub(dhi(L->col[i]), L->m.hi), L->tau1)});
  return lane_tree16d(T, n);
}
/* Rows r0 .. r0 + g - 1 (g <= VW, n <= SMX_XENT_SPARSE_LANES_MAX <= SPARSE_LANES_MAX) without softcap or label smoothing,
   one per lane (sparse_lanes_state): smx_xent_sparsemax_begin's and smx_xent_sparsemax_loss's terms (q = the one-hot
   target: q_t = 1, |q|^2 = 1) and the target's gradient lane-wise, fy by lanes_fy, the gradient (p - q) G lane-wise,
   the target entry after the store; the rows that are not finite or not exact by xent_sparsemax_row. Returns total
   plus the losses, added in row order. */
static double FN(xent_sparsemax_lanes)(size_t r0, size_t g, size_t n, const float *x, size_t ldx,
                                   const smx_xent_args *a, float *loss_rows, float *dx, size_t ldd, double total) {
  sparse_lanes L;
  sparse_lanes_state(g, n, x + r0 * ldx, ldx, &L);
  double zt[VW], wt[VW], gc[VW], lr[VW];
  float G[VW], dxt[VW];
  smx_xent_row row = a->row;
  int64_t tg[VW];
  const int plain = smx_xent_group_targets(a, r0, g, L.fast, tg);
  for (size_t r = 0; r < VW; r++) { /* each row's target logit, weight and gradient coefficient (0: not done here) */
    const float *xr = x + (r0 + r) * ldx;
    float *d = dx ? dx + (r0 + r) * ldd : NULL;
    zt[r] = 0.0, wt[r] = 0.0, gc[r] = 0.0, lr[r] = 0.0;
    if (r >= g) continue;
    if (plain) {
      zt[r] = xr[tg[r]], wt[r] = 1.0, gc[r] = row.grad_coef;
    } else if (!smx_xent_row_begin(a, r0 + r, n, &row, d)) { /* ignored: gradient row zeroed */
      L.fast[r] = 0.0f;
    } else if (L.fast[r] == 0.0f) {
      lr[r] = FN(xent_sparsemax_row)(n, xr, &row, d);
    } else {
      zt[r] = xr[row.target], wt[r] = smx_xent_weight(&row, (size_t)row.target), gc[r] = row.grad_coef;
    }
  }
  const lane_dsum fy = lanes_fy(&L, n);
  vd loss[2], Gq[2], dxtq[2];
  for (int q = 0; q < 2; q++) {
    const vd m = q ? L.m.hi : L.m.lo, tau = q ? L.tau1 : L.tau0, w = dld(wt + 8 * q), zero = dset(0.0);
    const vd ztr = dsub(dld(zt + 8 * q), m), pt = dsel(dgt(ztr, tau), dsub(ztr, tau), zero);
    const vd v = dadd(dsub(q ? fy.hi : fy.lo, dadd(ztr, zero)), dset(0.5)); /* fy - ((1 - 0) ztr + 0) + 0.5 |q|^2 */
    loss[q] = dsel(deq(w, zero), zero, dmul(w, v));                         /* smx_times */
    Gq[q] = dmul(dld(gc + 8 * q), w);
    dxtq[q] = dmul(Gq[q], dsub(pt, dset(1.0)));
  }
  vst(G, dpack(Gq[0], Gq[1])), vst(dxt, vflush(dpack(dxtq[0], dxtq[1]))); /* (dz_t = 1) */
  double lf[VW];
  dst(lf, loss[0]), dst(lf + 8, loss[1]);
  for (size_t r = 0; r < g; r++)
    if (L.fast[r] != 0.0f) lr[r] = lf[r];
  if (dx) {
    const vf vG = vld(G); /* q = eps / n = 0 */
    VSTORE_COLUMNS_OF(g, n, L.fast, dx + r0 * ldd, ldd, SMX_ELEM_F32, i, vflush(vmul(sparse_lanes_p(&L, i), vG)))
    for (size_t r = 0; r < g; r++)
      if (L.fast[r] != 0.0f) dx[(r0 + r) * ldd + (size_t)tg[r]] = dxt[r];
  }
  for (size_t r = 0; r < g; r++) total = smx_xent_row_end(a, loss_rows, r0 + r, lr[r], total);
  return total;
}

/* The table piece sparse_group_state (kernels.h): sparse_lanes_state's rows (n <= the ISA's
   SMX_XENT_SPARSE_LANES_MAX), fy by lanes_fy */
void FN(sparse_group_state)(size_t g, size_t n, const float *x, size_t ldx, float *m, double *tau, double *fy,
                            float *fast) {
  _Static_assert(VW == SMX_SOFT_GROUP, "one row per lane");
  if (n > SMX_XENT_SPARSE_LANES_MAX) { /* (where the ISA's rows in lanes stop paying) */
    for (size_t r = 0; r < g; r++) fast[r] = 0.0f;
    return;
  }
  sparse_lanes L;
  sparse_lanes_state(g, n, x, ldx, &L);
  const lane_dsum f = lanes_fy(&L, n);
  vst(m, L.m.m), vst(fast, vld(L.fast));
  dst(tau, L.tau0), dst(tau + 8, L.tau1), dst(fy, f.lo), dst(fy + 8, f.hi);
}

double FN(xent_sparsemax)(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a, float *loss_rows,
                          float *dx, size_t ldd) {
  size_t r0 = 0;
  double total = 0.0;
  if (n >= 1 && n <= SMX_XENT_SPARSE_LANES_MAX && !(a->row.softcap > 0.0f) && !(a->row.label_smoothing > 0.0f))
    LANE_GROUPS(r0, g, rows, SPARSE_LANES_MIN_ROWS)
      total = FN(xent_sparsemax_lanes)(r0, g, n, x, ldx, a, loss_rows, dx, ldd, total);
  switch ((n + VW - 1) / VW) {
  case 1: return xent_sparsemax_short_rows(r0, rows, n, 1, x, ldx, a, loss_rows, dx, ldd, total);
  case 2: return xent_sparsemax_short_rows(r0, rows, n, 2, x, ldx, a, loss_rows, dx, ldd, total);
  case 3: return xent_sparsemax_short_rows(r0, rows, n, 3, x, ldx, a, loss_rows, dx, ldd, total);
  case 4: return xent_sparsemax_short_rows(r0, rows, n, 4, x, ldx, a, loss_rows, dx, ldd, total);
  default: return smx_xent_rows(rows, n, x, ldx, a, loss_rows, dx, ldd, FN(xent_sparsemax_row));
  }
}
