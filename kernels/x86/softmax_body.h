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

/* smx_exp_arg and smx_exp_q */
static inline V exp_arg_v(V d, V magic, V *t) {
  *t = vfma(d, vset(SMX_LOG2E), magic);
  V nf = vsub(*t, magic);
  V r = vfma(nf, vset(-SMX_LN2_HI), d);
  return vfma(nf, vset(-SMX_LN2_LO), r);
}
static inline V exp_q_v(V r) {
  V p = vfma(vset(SMX_EXP_C6), r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  p = vfma(p, r, vset(1.0f));
  return p;
}
/* smx_exp_shift without its keep test: p, and *t whose bits are bits(SMX_MAGIC) + n - kb. */
static inline V exp_shift_v(V x, V magic, V *t) {
  V r = exp_arg_v(x, magic, t);
  return vfma(exp_q_v(r), r, vset(1.0f));
}

/* smx_softmax_from_e */
typedef struct {
  V chi, clo, emax, ymax;
} outc;
static inline outc outc_init(const smx_softmax_out *o) {
  return (outc){vset(o->c_hi), vset(o->c_lo), vset(o->e_max), vset(o->y_max)};
}
/* maxcheck 0: the caller knows that no e equals e_max */
static inline V out_from_e_if(V e, const outc *c, const int maxcheck) {
  V z = vfma(e, c->chi, vmul(e, c->clo));
  V y = vsel0(cmp_ge(z, vset(SMX_OUT_ZMIN)), vmul(z, vset(SMX_OUT_UNSCALE)));
  return maxcheck ? vsel(cmp_eq(e, c->emax), c->ymax, y) : y;
}
static inline V out_from_e(V e, const outc *c) { return out_from_e_if(e, c, 1); }
/* smx_softmax_one */
static inline V out_one(V x, V magic, const outc *c) {
  V t, p = exp_shift_v(x, magic, &t);
  return out_from_e(vscale0(cmp_bits_ge(t, SMX_KEEP_OUT), p, t), c);
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
  V t, r = exp_arg_v(v, vset(SMX_MAGIC), &t);
  V rq = vmul(exp_q_v(r), r);
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

/* Pass 1 sums of a block in the shifted state (smx_lse_block_scalar): ties x == m counted, the lanes
   of smx_exp_shift(x, magic, SMX_KEEP_SUM) over the others (S_b, in double as the scalar does). With
   ys, the kept values of every entry (ties too) are stored there for softmax's pass 2.
   Meanwhile the first ngn groups of the next block xn (if any) go into its maxima nx. */
static inline void sum_block(const float *x, size_t full, size_t rem, float m, float magic, const int ties, const int store,
                             double *k, double *S, float *ys, const float *xn, size_t ngn, blockmax *nx) {
  const V vm = vset(m), vmagic = vset(magic);
  V ls[NACC];
  VI kc = icount_init();
  size_t lanes = full;
  for (int j = 0; j < NACC; j++) ls[j] = vzero();
  for (size_t i = 0, g = 0; i < full; i += SMX_LANES, g++) {
    for (int j = 0; j < NACC; j++) {
      V v = vload(x + i + j * W), t;
      V p = exp_shift_v(v, vmagic, &t);
      ls[j] = p1_accum(ls[j], v, vm, t, p, ties, &kc, store ? ys + i + j * W : NULL);
    }
    if (g < ngn) {
      bm_group(nx, xn + i);
      /* the block after next, toward the first level of cache (never faults) */
      for (int q = 0; q < SMX_LANES; q += 16) _mm_prefetch((const char *)(xn + SMX_BLOCK + i + q), _MM_HINT_T0);
    }
  }
  /* tail lanes read -inf: not kept, and -inf != m (no tie) */
  for (int j = 0; j < NACC && rem > (size_t)j * W; j++) {
    size_t c = rem - (size_t)j * W;
    c = c < W ? c : W;
    V v = vloadm(x + full + j * W, c, -INFINITY), t;
    V p = exp_shift_v(v, vmagic, &t);
    float tmp[W] = {0};
    ls[j] = p1_accum(ls[j], v, vm, t, p, ties, &kc, store ? tmp : NULL);
    if (store) vstorem(ys + full + j * W, vload(tmp), c);
    lanes += W;
  }
  *S = tree_sum(ls);
  *k = !ties ? 0.0 : (double)(P1_COUNTS_TIES ? icount_sum(kc) : (int64_t)lanes - icount_sum(kc));
}

/* Where softmax's pass 1 stored its values: per block, K of the running max when it was summed,
   or STORE_NONE for an all -inf block (zeros stored), and the block's max. complete = 0 if a block was summed in the
   plain state (nothing stored: pass 2 then starts from x). */
#define STORE_MAX_BLOCKS 256
#define STORE_NONE INT32_MIN
typedef struct {
  float *y;
  int complete;
  int32_t kb[STORE_MAX_BLOCKS];
  float mb[STORE_MAX_BLOCKS];
} pass1_store;

/* One block (max m_b) in the shifted state. Ties x == s->m exist only if m_b is the running max;
   ties: 1 compares bitwise (equal to the float compare for m != +-0; m is never NaN), 2 as floats. */
#define SUM_BLOCK(ties, store) sum_block(x, full, rem, s->m, magic, ties, store, &k, &S, ys, xn, ngn, nx)
static inline void shifted_block(const float *x, size_t full, size_t rem, float m_b, smx_lse *s, float *ys,
                                 const float *xn, size_t ngn, blockmax *nx) {
  const float magic = smx_shift_magic(s->K - SMX_SUM_BIAS);
  const int ties = m_b != s->m ? 0 : s->m != 0.0f ? 1 : 2;
  double k, S;
  if (ys) {
    if (ties == 0) SUM_BLOCK(0, 1);
    else if (ties == 1) SUM_BLOCK(1, 1);
    else SUM_BLOCK(2, 1);
  } else {
    if (ties == 0) SUM_BLOCK(0, 0);
    else if (ties == 1) SUM_BLOCK(1, 0);
    else SUM_BLOCK(2, 0);
  }
  smx_lse_end_block(s, k, S);
}
#undef SUM_BLOCK

/* ---- pass 1 over a row, as smx_lse_row_scalar: block b's sums are interleaved with block
   b + 1's maxima (independent work that hides the latency between the two loops). With st, the
   row-pass values are stored to st->y and each block's K to st->kb. ---- */
static void lse_row(size_t n, const float *x, smx_lse_final *f, pass1_store *st, int need_log) {
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
    const int mode = smx_lse_begin_block(&s, m, nanb);
    if (st) {
      st->kb[b / SMX_BLOCK] = mode == 1 ? s.K : STORE_NONE;
      st->mb[b / SMX_BLOCK] = m;
      if (mode == -1) smx_fill(len, st->y + b, 0.0f);
      if (mode == 0) st->complete = 0;
    }
    if (mode == 1) {
      shifted_block(x + b, full, rem, m, &s, st ? st->y + b : NULL, x + nb, ng, &nxt);
    } else {
      if (mode == 0) {
        double k, r;
        smx_lse_block_plain(x + b, len, m, &k, &r);
        smx_lse_add_block(&s, m, k, r);
      }
      for (size_t g = 0; g < ng; g++) bm_group(&nxt, x + nb + g * SMX_LANES);
    }
    /* a block shorter than SMX_BLOCK is the last one; otherwise all ng groups are done */
    cur = nxt;
    len = nlen;
  }
  smx_lse_finish(&s, f, need_log);
}

/* one block (len <= SMX_BLOCK) folded into s, as smx_lse_block_scalar */
static void lse_block(const float *x, size_t len, smx_lse *s) {
  blockmax a;
  bm_init(&a);
  const size_t full = len / SMX_LANES * SMX_LANES, rem = len - full;
  for (size_t i = 0; i < full; i += SMX_LANES) bm_group(&a, x + i);
  int nanb;
  const float m = bm_finish(&a, x, len, full, &nanb);
  const int mode = smx_lse_begin_block(s, m, nanb);
  if (mode == 1) {
    shifted_block(x, full, rem, m, s, NULL, NULL, 0, &a);
  } else if (mode == 0) {
    double k, r;
    smx_lse_block_plain(x, len, m, &k, &r);
    smx_lse_add_block(s, m, k, r);
  }
}

/* ---- softmax pass 2 (smx_softmax_one), from x ---- */
static void softmax_pass2(size_t n, const float *x, float *y, const smx_softmax_out *o) {
  const outc c = outc_init(o);
  const V magic = vset(o->magic);
  size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a0 = out_one(vload(x + i), magic, &c), a1 = out_one(vload(x + i + W), magic, &c);
    vstore(y + i, a0), vstore(y + i + W, a1);
  }
  for (; i + W <= n; i += W) vstore(y + i, out_one(vload(x + i), magic, &c));
  if (i < n) vstorem(y + i, out_one(vloadm(x + i, n - i, -INFINITY), magic, &c), n - i);
}

/* ---- softmax pass 2 from the stored row-pass values s = e 2^-d of smx_softmax_one, d = K_b - K + 36:
   e = s 2^d is exact wherever smx_softmax_one keeps e (there n - K >= -160, so e is normal); where it
   does not, s 2^d < 2^-59.5 gives z < 2^-26, the same +0. For d >= -60 the factor goes into the
   constants instead (c_hi 2^d, c_lo 2^d stay normal, and e_max 2^-d is exact, or +inf for d < -27,
   where every s 2^d is far below e_max); a block with d < -126 holds only n - K < -160: zeros. ---- */
/* With xg, the cross-entropy gradient fma(A, p, -B w_j) (xent_softmax_scalar before the target entry). */
typedef struct {
  V va, vb;
  const float *cw;
} xgrad;
static inline V rescale_out(V s, const outc *c, const xgrad *xg, const float *cw, size_t cnt, const int maxcheck) {
  V p = out_from_e_if(s, c, maxcheck);
  if (!xg) return p;
  V nb = vneg(xg->cw ? vmul(xg->vb, cnt == W ? vload(cw) : vloadm(cw, cnt, 0.0f)) : xg->vb);
  return vfma(xg->va, p, nb);
}
/* one block of len stored values at p, with its constants cb (d >= -60) */
static inline void rescale_block(float *p, size_t len, const outc *cb, const xgrad *xg, const float *cw, const int maxcheck) {
  size_t i = 0;
  for (; i + 2 * W <= len; i += 2 * W) {
    V a0 = rescale_out(vload(p + i), cb, xg, cw + i, W, maxcheck);
    V a1 = rescale_out(vload(p + i + W), cb, xg, cw + i + W, W, maxcheck);
    vstore(p + i, a0), vstore(p + i + W, a1);
  }
  for (; i + W <= len; i += W) vstore(p + i, rescale_out(vload(p + i), cb, xg, cw + i, W, maxcheck));
  if (i < len) vstorem(p + i, rescale_out(vloadm(p + i, len - i, 0.0f), cb, xg, cw + i, len - i, maxcheck), len - i);
}
/* A block whose max m_b is below m - 2^-8 (m the row max) has no e equal to e_max: every e there
   is at most e(m_b) (1 + 2^-22) < e(m) exp(-2^-8) (1 + 2^-22) < e_max, so its pass skips that test
   (two of its operations per vector); d < -60 blocks (e < 2^-60 e_max) never need it. */
static void softmax_rescale(size_t n, float *y, const pass1_store *st, float m, int32_t K, const smx_softmax_out *o,
                            const xgrad *xg) {
  const outc c = outc_init(o);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
    const int32_t kb = st->kb[b / SMX_BLOCK], d = kb == STORE_NONE ? -1000 : kb - K + 36;
    const float *cw = xg && xg->cw ? xg->cw + b : NULL;
    float *p = y + b;
    if (d >= -60) {
      const float f = (float)smx_pow2(d);
      const outc cb = {vset(o->c_hi * f), vset(o->c_lo * f), vset(d >= -27 ? o->e_max / f : INFINITY), c.ymax};
      if (st->mb[b / SMX_BLOCK] >= m - 0x1p-8f) rescale_block(p, len, &cb, xg, cw, 1);
      else rescale_block(p, len, &cb, xg, cw, 0);
    } else {
      const V fb = vset(d >= -126 ? (float)smx_pow2(d) : 0.0f);
      size_t i = 0;
      for (; i + W <= len; i += W) vstore(p + i, rescale_out(vmul(vload(p + i), fb), &c, xg, cw + i, W, 0));
      if (i < len) vstorem(p + i, rescale_out(vmul(vloadm(p + i, len - i, 0.0f), fb), &c, xg, cw + i, len - i, 0), len - i);
    }
  }
}

static void FN(softmax)(size_t n, const float *x, float *y) {
  smx_lse_final f;
  pass1_store st;
  /* store when y is not x (pass 2 may need x) and the row has few enough blocks */
  const int store = y != x && n <= (size_t)STORE_MAX_BLOCKS * SMX_BLOCK;
  st.y = y, st.complete = 1;
  lse_row(n, x, &f, store ? &st : NULL, 0);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 0);
    return;
  }
  if (!f.shifted) { /* |max| > 2^16: the scalar formula */
    for (size_t i = 0; i < n; i++) y[i] = smx_softmax_exp(x[i], &f);
    return;
  }
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  if (store && st.complete) softmax_rescale(n, y, &st, f.m, f.K, &o, NULL);
  else softmax_pass2(n, x, y, &o);
}

static void FN(log_softmax)(size_t n, const float *x, float *y) {
  smx_lse_final f;
  lse_row(n, x, &f, NULL, 1);
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
  lse_row(n, x, &f, NULL, 1);
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
  V t, p = exp_shift_v(v, vset(SMX_MAGIC), &t);
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
  /* pass 1 stores its values in dx when dx is not x (the rare rows start again from x) */
  pass1_store st;
  const int store = !capped && dx && dx != x && n <= (size_t)STORE_MAX_BLOCKS * SMX_BLOCK;
  st.y = dx, st.complete = 1;
  if (capped) {
    for (size_t b = 0; b < n; b += SMX_BLOCK) {
      const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
      size_t i = 0;
      for (; i + W <= len; i += W) vstore(buf + i, softcap_v(vload(x + b + i), vcap, vinv, &(V){0}));
      if (i < len) vstore(buf + i, softcap_v(vloadm(x + b + i, len - i, 0.0f), vcap, vinv, &(V){0}));
      if (eps > 0.0f) wz_add(&wz, buf, len, b, cw);
      lse_block(buf, len, &s);
    }
    smx_lse_finish(&s, &f, 1);
  } else {
    if (eps > 0.0f) wz_add(&wz, x, n, 0, cw);
    lse_row(n, x, &f, store ? &st : NULL, 1);
  }
  if (f.kind != SMX_ROW_FINITE || (dx && !f.shifted)) return xent_softmax_ref(n, x, row, dx);
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
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  const outc oc = outc_init(&o);
  const V magic = vset(o.magic), va = vset(Af), vb = vset(Bf), nb = vset(-Bf);
  size_t i = 0;
  if (store && st.complete) {
    const xgrad xg = {va, vb, cw};
    softmax_rescale(n, dx, &st, f.m, f.K, &o, &xg);
    i = n;
  }
  for (; i + W <= n; i += W) { /* from x */
    V dzv = vzero(), xv = vload(x + i);
    V zv = capped ? softcap_v(xv, vcap, vinv, &dzv) : xv;
    V nbv = cw ? vneg(vmul(vb, vload(cw + i))) : nb;
    V g1 = vfma(va, out_one(zv, magic, &oc), nbv);
    vstore(dx + i, capped ? vmul(g1, dzv) : g1); /* without softcap dz = 1: v * 1.0f == v */
  }
  if (i < n) {
    const size_t c = n - i;
    V dzv = vzero(), xv = vloadm(x + i, c, 0.0f);
    V zv = capped ? softcap_v(xv, vcap, vinv, &dzv) : xv;
    V nbv = cw ? vneg(vmul(vb, vloadm(cw + i, c, 0.0f))) : nb;
    V g1 = vfma(va, out_one(zv, magic, &oc), nbv);
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
