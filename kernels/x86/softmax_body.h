/* The softmax family and softmax cross-entropy written once over the ISA layer that
   kernels/avx2/softmax_avx2.c and kernels/avx512/softmax_avx512.c define before including it. */
#define SMX_CAT2(a, b) a##_##b
#define SMX_CAT(a, b) SMX_CAT2(a, b)
#define FN(name) SMX_CAT(name, ISA_NAME)

/* The scalar entries this file replaces, kept for the rare rows handed back to them. */
static double (*xent_softmax_ref)(size_t n, const float *x, const smx_xent_row *row, float *dx);

static inline V vneg(V a) { return vxor(a, vset(-0.0f)); }

/* smx_two_diff(x, c) with nc = -c: d + lo = x - c exactly. */
static inline V two_diff_v(V x, V c, V nc, V *lo) {
  V d = vsub(x, c);
  V bb = vsub(d, x);
  *lo = vadd(vsub(x, vsub(d, bb)), vsub(nc, bb));
  return d;
}

/* The reduction and polynomial of smx_exp_reduced: p, and *t whose low bits hold n. */
static inline V exp_poly_v(V d, V lo, float magic, V *t) {
  *t = vfma(d, vset(SMX_LOG2E), vset(magic));
  V nf = vsub(*t, vset(magic));
  V r = vfma(nf, vset(-SMX_LN2_HI), d);
  r = vfma(nf, vset(-SMX_LN2_LO), r);
  r = vadd(r, lo);
  V p = vfma(vset(SMX_EXP_C6), r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  p = vfma(p, r, vset(1.0f));
  return vfma(p, r, vset(1.0f));
}

/* smx_exp_sum(x, m) for pass 1 (exp(x - m) 2^64, without the cut); *d = x - m. */
static inline V exp_p1(V x, V m, V nm, V *dout) {
  V lo, t, d = two_diff_v(x, m, nm, &lo);
  V p = exp_poly_v(d, lo, SMX_SUM_MAGIC, &t);
  *dout = d;
  return vscale(p, t);
}

/* smx_exp_core(x, c_hi, c_lo) including the final select (d >= SMX_EXP_CUT ? e : +0). */
static inline V exp_p2(V x, V ch, V nch, V clo) {
  V lo, t, d = two_diff_v(x, ch, nch, &lo);
  V p = exp_poly_v(d, vsub(lo, clo), SMX_MAGIC, &t);
  return vscale0(cmp_ge(d, vset(SMX_EXP_CUT)), p, t);
}

/* smx_log_softmax_one */
static inline V logsm(V x, V ch, V nch, V clo) {
  V lo, d = two_diff_v(x, ch, nch, &lo);
  return vsel(cmp_eq(d, vset(-INFINITY)), d, vadd(d, vsub(lo, clo)));
}

/* smx_softcap (value and derivative) */
static inline V softcap_v(V x, V cap, V inv_cap, V *dz) {
  V u = vmul(x, inv_cap);
  V a = vandn(vset(-0.0f), u);
  V ac = vmin(vset(43.0f), a); /* a > 43 ? 43 : a */
  V v = vmul(vset(-2.0f), ac);
  V t = vfma(v, vset(SMX_LOG2E), vset(SMX_MAGIC));
  V nf = vsub(t, vset(SMX_MAGIC));
  V r = vfma(nf, vset(-SMX_LN2_HI), v);
  r = vfma(nf, vset(-SMX_LN2_LO), r);
  V p = vfma(vset(SMX_EXP_C6), r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  p = vfma(p, r, vset(1.0f));
  V rq = vmul(p, r);
  V sc = vscale(vset(1.0f), t);
  V E = vfma(rq, sc, sc);
  V e = vfma(rq, sc, vsub(sc, vset(1.0f)));
  V q = vadd(vset(2.0f), e);
  V th = vdiv(vneg(e), q);
  th = vor(th, vand(u, vset(-0.0f)));
  *dz = vsel(cmp_gt(a, vset(43.0f)), vzero(), vdiv(vmul(vset(4.0f), E), vmul(q, q)));
  return vmul(cap, th);
}

/* smx_tree_max64 and smx_tree_sum64 over the NACC accumulators (lane 16 j + i = a[j][i] for
   AVX-512, 8 j + i for AVX2): the levels above the vector width combine whole accumulators,
   the rest is hmax_v / hsum_dv; every level is l[i] op l[i + h] as in kernels/common/lanes.c. */
static inline float tree_max(V *a) {
  for (int h = NACC / 2; h >= 1; h /= 2)
    for (int j = 0; j < h; j++) a[j] = vmax(a[j], a[j + h]);
  return hmax_v(a[0]);
}
static inline double tree_sum(const V *a) {
  DV d[2 * NACC];
  for (int j = 0; j < NACC; j++) cvt_pd(a[j], &d[2 * j], &d[2 * j + 1]);
  for (int h = NACC; h >= 1; h /= 2)
    for (int q = 0; q < h; q++) d[q] = dadd(d[q], d[q + h]);
  return hsum_dv(d[0]);
}

/* Block maxima: 64 lanes, and a NaN screen (a NaN entry makes its screen sum NaN; so do
   inf - inf and overflow, then the block is checked entry by entry). */
#define NSX 2
typedef struct {
  V mx[NACC], sx[NSX];
} blockmax;
static inline void bm_init(blockmax *a) {
  for (int j = 0; j < NACC; j++) a->mx[j] = vset(-INFINITY);
  for (int j = 0; j < NSX; j++) a->sx[j] = vzero();
}
static inline void bm_group(blockmax *a, const float *p) { /* 64 entries */
  for (int j = 0; j < NACC; j++) {
    V v = vload(p + j * W);
    a->mx[j] = vmax(v, a->mx[j]);
    a->sx[j % NSX] = vadd(a->sx[j % NSX], v);
  }
}
/* the rest of a block after its full groups: rem < 64 entries (-inf keeps the lane max);
   then the block max m and its NaN flag */
static inline float bm_finish(blockmax *a, const float *x, size_t len, size_t full, int *nanb) {
  const size_t rem = len - full;
  for (int j = 0; j < NACC && rem > (size_t)j * W; j++) {
    size_t c = rem - (size_t)j * W;
    V v = vloadm(x + full + j * W, c < W ? c : W, -INFINITY);
    a->mx[j] = vmax(v, a->mx[j]);
    a->sx[0] = vadd(a->sx[0], v);
  }
  M nan = mzero();
  for (int j = 0; j < NSX; j++) nan = mor(nan, cmp_unord(a->sx[j]));
  *nanb = 0;
  if (many(nan))
    for (size_t i = 0; i < len; i++) *nanb |= x[i] != x[i];
  return tree_max(a->mx);
}

/* Pass 1 sums of a block with max m (not -inf): ties K and the lanes of exp(x - m) 2^64 over the
   other entries with x - m >= SMX_SUM_CUT (smx_exp_sum), unscaled in double as the scalar does. x <= m, so d = x - m <= 0, and d = +-0 only for ties:
   the cut may be taken on the bits of d (signed integer order, see p1_accum).
   Meanwhile the first ngn groups of the next block xn (if any) go into its maxima nx. */
static inline void sum_block(const float *x, size_t full, size_t rem, float m, const int ic, double *k, double *r,
                             const float *xn, size_t ngn, blockmax *nx) {
  const V vm = vset(m), nm = vset(-m), cut = vset(SMX_SUM_CUT);
  V ls[NACC];
  VI kc = icount_init();
  size_t lanes = full;
  for (int j = 0; j < NACC; j++) ls[j] = vzero();
  for (size_t i = 0, g = 0; i < full; i += SMX_LANES, g++) {
    for (int j = 0; j < NACC; j++) {
      V v = vload(x + i + j * W), d;
      V e = exp_p1(v, vm, nm, &d);
      ls[j] = p1_accum(ls[j], v, vm, d, cut, e, ic, &kc);
    }
    if (g < ngn) {
      bm_group(nx, xn + i);
      /* the block after next, toward the first level of cache (never faults) */
      for (int q = 0; q < SMX_LANES; q += 16) _mm_prefetch((const char *)(xn + SMX_BLOCK + i + q), _MM_HINT_T0);
    }
  }
  /* tail lanes read -inf: d = -inf (not kept), and -inf != m (no tie) */
  for (int j = 0; j < NACC && rem > (size_t)j * W; j++) {
    size_t c = rem - (size_t)j * W;
    V v = vloadm(x + full + j * W, c < W ? c : W, -INFINITY), d;
    V e = exp_p1(v, vm, nm, &d);
    ls[j] = p1_accum(ls[j], v, vm, d, cut, e, ic, &kc);
    lanes += W;
  }
  *r = tree_sum(ls) * SMX_SUM_UNSCALE;
  *k = (double)(P1_COUNTS_TIES ? icount_sum(kc) : (int64_t)lanes - icount_sum(kc));
}

/* ---- pass 1 over a row, as smx_lse_row_scalar: block b's sums are interleaved with block
   b + 1's maxima (independent work that hides the latency between the two loops) ---- */
static void lse_row(size_t n, const float *x, smx_lse_final *f) {
  smx_lse s;
  smx_lse_init(&s);
  blockmax cur, nxt;
  size_t len = n < SMX_BLOCK ? n : SMX_BLOCK, ng = 0;
  bm_init(&cur);
  for (size_t i = 0; i + SMX_LANES <= len; i += SMX_LANES) bm_group(&cur, x + i);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    const size_t full = len / SMX_LANES * SMX_LANES, rem = len - full;
    int nanb;
    const float m = bm_finish(&cur, x + b, len, full, &nanb);
    const size_t nb = b + SMX_BLOCK, nlen = nb < n ? (n - nb < SMX_BLOCK ? n - nb : SMX_BLOCK) : 0;
    ng = nlen / SMX_LANES; /* full groups of the next block */
    bm_init(&nxt);
    double k = 0.0, r = 0.0;
    if (m != -INFINITY) {
      /* bitwise tie compare where it equals x == m (m != +-0; m is never NaN) */
      if (m != 0.0f) sum_block(x + b, full, rem, m, 1, &k, &r, x + nb, ng, &nxt);
      else sum_block(x + b, full, rem, m, 0, &k, &r, x + nb, ng, &nxt);
    } else {
      for (size_t g = 0; g < ng; g++) bm_group(&nxt, x + nb + g * SMX_LANES);
    }
    /* a block shorter than SMX_BLOCK is the last one; otherwise all ng groups are done */
    smx_lse_add_block(&s, m, k, r, nanb);
    cur = nxt;
    len = nlen;
  }
  smx_lse_finish(&s, f);
}

/* one block (len <= SMX_BLOCK) folded into s, as smx_lse_block_scalar */
static void lse_block(const float *x, size_t len, smx_lse *s) {
  blockmax a;
  bm_init(&a);
  const size_t full = len / SMX_LANES * SMX_LANES, rem = len - full;
  for (size_t i = 0; i < full; i += SMX_LANES) bm_group(&a, x + i);
  int nanb;
  const float m = bm_finish(&a, x, len, full, &nanb);
  double k = 0.0, r = 0.0;
  if (m != -INFINITY) {
    if (m != 0.0f) sum_block(x, full, rem, m, 1, &k, &r, NULL, 0, &a);
    else sum_block(x, full, rem, m, 0, &k, &r, NULL, 0, &a);
  }
  smx_lse_add_block(s, m, k, r, nanb);
}

static int clo_small(const smx_lse_final *f) { return f->c_lo <= SMX_CLO_SMALL && f->c_lo >= -SMX_CLO_SMALL; }

/* ---- pass 2 ---- */
static void softmax_pass2(size_t n, const float *x, float *y, float c_hi, float c_lo) {
  const V ch = vset(c_hi), nch = vset(-c_hi), clo = vset(c_lo);
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    vstore(y + i, exp_p2(vload(x + i), ch, nch, clo));
    vstore(y + i + W, exp_p2(vload(x + i + W), ch, nch, clo));
    vstore(y + i + 2 * W, exp_p2(vload(x + i + 2 * W), ch, nch, clo));
    vstore(y + i + 3 * W, exp_p2(vload(x + i + 3 * W), ch, nch, clo));
  }
  for (; i + W <= n; i += W) vstore(y + i, exp_p2(vload(x + i), ch, nch, clo));
  if (i < n) vstorem(y + i, exp_p2(vloadm(x + i, n - i, 0.0f), ch, nch, clo), n - i);
}

static void FN(softmax)(size_t n, const float *x, float *y) {
  smx_lse_final f;
  lse_row(n, x, &f);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 0);
    return;
  }
  if (!clo_small(&f)) { /* |max| >~ 8192: the scalar formula */
    for (size_t i = 0; i < n; i++) y[i] = smx_exp_core_wide(x[i], f.c_hi, f.c_lo);
    return;
  }
  softmax_pass2(n, x, y, f.c_hi, f.c_lo);
}

static void FN(log_softmax)(size_t n, const float *x, float *y) {
  smx_lse_final f;
  lse_row(n, x, &f);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 1);
    return;
  }
  const V ch = vset(f.c_hi), nch = vset(-f.c_hi), clo = vset(f.c_lo);
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    vstore(y + i, logsm(vload(x + i), ch, nch, clo));
    vstore(y + i + W, logsm(vload(x + i + W), ch, nch, clo));
    vstore(y + i + 2 * W, logsm(vload(x + i + 2 * W), ch, nch, clo));
    vstore(y + i + 3 * W, logsm(vload(x + i + 3 * W), ch, nch, clo));
  }
  for (; i + W <= n; i += W) vstore(y + i, logsm(vload(x + i), ch, nch, clo));
  if (i < n) vstorem(y + i, logsm(vloadm(x + i, n - i, 0.0f), ch, nch, clo), n - i);
}

static float FN(logsumexp)(size_t n, const float *x) {
  smx_lse_final f;
  lse_row(n, x, &f);
  return f.lse;
}

/* ---- backward ---- */
/* smx_blocked_dot_scalar: sum a_i b_i (b NULL: sum a_i), 64 float lanes per block, blocks in double.
   Tail lanes read 0: fmaf(0, 0, l) = l + 0 = l, since a lane is never -0 (it starts at +0). */
static double blocked_dot(size_t n, const float *a, const float *b) {
  double total = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, full = len / SMX_LANES * SMX_LANES, rem = len - full;
    const float *pa = a + o, *pb = b ? b + o : NULL;
    V l[NACC];
    for (int j = 0; j < NACC; j++) l[j] = vzero();
    if (pb) {
      for (size_t i = 0; i < full; i += SMX_LANES)
        for (int j = 0; j < NACC; j++) l[j] = vfma(vload(pa + i + j * W), vload(pb + i + j * W), l[j]);
      for (int j = 0; j < NACC && rem > (size_t)j * W; j++) {
        size_t c = rem - (size_t)j * W;
        c = c < W ? c : W;
        l[j] = vfma(vloadm(pa + full + j * W, c, 0.0f), vloadm(pb + full + j * W, c, 0.0f), l[j]);
      }
    } else {
      for (size_t i = 0; i < full; i += SMX_LANES)
        for (int j = 0; j < NACC; j++) l[j] = vadd(l[j], vload(pa + i + j * W));
      for (int j = 0; j < NACC && rem > (size_t)j * W; j++) {
        size_t c = rem - (size_t)j * W;
        l[j] = vadd(l[j], vloadm(pa + full + j * W, c < W ? c : W, 0.0f));
      }
    }
    total += tree_sum(l);
  }
  return total;
}

static void FN(softmax_backward)(size_t n, const float *y, const float *dy, float *dx) {
  float dot = (float)blocked_dot(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const V vd = vset(dot);
  size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a0 = vmul(vload(y + i), vsub(vload(dy + i), vd));
    V a1 = vmul(vload(y + i + W), vsub(vload(dy + i + W), vd));
    vstore(dx + i, a0), vstore(dx + i + W, a1);
  }
  for (; i + W <= n; i += W) vstore(dx + i, vmul(vload(y + i), vsub(vload(dy + i), vd)));
  if (i < n) vstorem(dx + i, vmul(vloadm(y + i, n - i, 0.0f), vsub(vloadm(dy + i, n - i, 0.0f), vd)), n - i);
}

/* v = min(y, 88); p = smx_exp_core(v, 0, 0): there x - 0.0f == x, and lo is +0 for finite v,
   so r + lo only turns r = -0 into +0, which leaves p = 1 unchanged: lo is dropped. */
static inline V lsm_bwd(V y, V dy, V vs, M *nan, M *live) {
  V v = vmin(vset(SMX_EXP_MAX), y); /* y > 88 ? 88 : y */
  *nan = mor(*nan, cmp_unord(v));
  *live = mor(*live, cmp_neq(v, vset(-INFINITY)));
  V t = vfma(v, vset(SMX_LOG2E), vset(SMX_MAGIC));
  V nf = vsub(t, vset(SMX_MAGIC));
  V r = vfma(nf, vset(-SMX_LN2_HI), v);
  r = vfma(nf, vset(-SMX_LN2_LO), r);
  V p = vfma(vset(SMX_EXP_C6), r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  p = vfma(p, r, vset(1.0f));
  p = vfma(p, r, vset(1.0f));
  p = vscale0(cmp_ge(v, vset(SMX_EXP_CUT)), p, t);
  return vfma(vneg(p), vs, dy);
}

static void FN(log_softmax_backward)(size_t n, const float *y, const float *dy, float *dx) {
  float sum = (float)blocked_dot(n, dy, NULL);
  if (sum != sum) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const V vs = vset(sum);
  M nan = mzero(), live = mzero();
  size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a0 = lsm_bwd(vload(y + i), vload(dy + i), vs, &nan, &live);
    V a1 = lsm_bwd(vload(y + i + W), vload(dy + i + W), vs, &nan, &live);
    vstore(dx + i, a0), vstore(dx + i + W, a1);
  }
  for (; i + W <= n; i += W) vstore(dx + i, lsm_bwd(vload(y + i), vload(dy + i), vs, &nan, &live));
  if (i < n) /* tail lanes y = -inf: neither NaN nor live */
    vstorem(dx + i, lsm_bwd(vloadm(y + i, n - i, -INFINITY), vloadm(dy + i, n - i, 0.0f), vs, &nan, &live), n - i);
  if (many(nan) || !many(live)) smx_fill(n, dx, many(nan) ? smx_qnan() : 0.0f);
}

/* ---- fused cross-entropy, softmax normalizer (xent_softmax_scalar) ---- */
/* Label smoothing's lanes: l[(o + i) % 16] += w == 0 ? 0 : w z for z[0 .. len), o a multiple of 16.
   Tail lanes: z = 0 and w = 0 (or z = 0, w = 1: adds +0 to a lane that is never -0). */
static void wz_add(DL *l, const float *z, size_t len, size_t o, const float *cw) {
  size_t i = 0;
  for (; i + W <= len; i += W) dl_add(l, o + i, vload(z + i), cw ? vload(cw + o + i) : vset(1.0f));
  if (i < len) dl_add(l, o + i, vloadm(z + i, len - i, 0.0f), cw ? vloadm(cw + o + i, len - i, 0.0f) : vset(1.0f));
}

static double FN(xent_softmax)(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const V vcap = vset(row->softcap), vinv = vset(inv_cap);
  float buf[SMX_BLOCK], dz;
  double wzl[SMX_DLANES];
  DL wz;
  dl_init(&wz);
  smx_lse s;
  smx_lse_init(&s);
  smx_lse_final f;
  if (capped) {
    for (size_t b = 0; b < n; b += SMX_BLOCK) {
      const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
      size_t i = 0;
      for (; i + W <= len; i += W) vstore(buf + i, softcap_v(vload(x + b + i), vcap, vinv, &(V){0}));
      if (i < len) vstore(buf + i, softcap_v(vloadm(x + b + i, len - i, 0.0f), vcap, vinv, &(V){0}));
      if (eps > 0.0f) wz_add(&wz, buf, len, b, cw);
      lse_block(buf, len, &s);
    }
    smx_lse_finish(&s, &f);
  } else {
    if (eps > 0.0f) wz_add(&wz, x, n, 0, cw);
    lse_row(n, x, &f);
  }
  if (f.kind != SMX_ROW_FINITE || (dx && !clo_small(&f))) return xent_softmax_ref(n, x, row, dx);
  const float zt = capped ? smx_softcap(x[t], row->softcap, inv_cap, &dz) : x[t];
  const double wt = cw ? cw[t] : 1.0, g = row->grad_coef;
  double sum_wz = 0.0;
  if (eps > 0.0f) {
    dl_store(&wz, wzl);
    sum_wz = smx_tree_sum16d(wzl);
  }
  double loss, gt, A;
  smx_xent_softmax_terms(n, &f, zt, wt, sum_wz, row, &loss, &A, &gt);
  if (!dx) return loss;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  const float dzt = capped ? (smx_softcap(x[t], row->softcap, inv_cap, &dz), dz) : 1.0f;
  const V ch = vset(f.c_hi), nch = vset(-f.c_hi), clo = vset(f.c_lo), va = vset(Af), vb = vset(Bf), nb = vset(-Bf);
  size_t i = 0;
  for (; i + W <= n; i += W) {
    V dzv = vzero(), xv = vload(x + i);
    V zv = capped ? softcap_v(xv, vcap, vinv, &dzv) : xv;
    V nbv = cw ? vneg(vmul(vb, vload(cw + i))) : nb;
    V g1 = vfma(va, exp_p2(zv, ch, nch, clo), nbv);
    vstore(dx + i, capped ? vmul(g1, dzv) : g1); /* without softcap dz = 1: v * 1.0f == v */
  }
  if (i < n) {
    const size_t c = n - i;
    V dzv = vzero(), xv = vloadm(x + i, c, 0.0f);
    V zv = capped ? softcap_v(xv, vcap, vinv, &dzv) : xv;
    V nbv = cw ? vneg(vmul(vb, vloadm(cw + i, c, 0.0f))) : nb;
    V g1 = vfma(va, exp_p2(zv, ch, nch, clo), nbv);
    vstorem(dx + i, capped ? vmul(g1, dzv) : g1, c);
  }
  dx[t] = (float)(g * gt) * dzt;
  return loss;
}

void SMX_CAT(smx_kernels, SMX_CAT(ISA_NAME, softmax))(smx_kernels *k) {
  xent_softmax_ref = k->xent[SMX_NORM_SOFTMAX];
  k->softmax = FN(softmax);
  k->log_softmax = FN(log_softmax);
  k->logsumexp = FN(logsumexp);
  k->softmax_backward = FN(softmax_backward);
  k->log_softmax_backward = FN(log_softmax_backward);
  k->xent[SMX_NORM_SOFTMAX] = FN(xent_softmax);
}
