/* The stablemax family written once over an ISA vocabulary: stablemax, log-stablemax, the backward pass
   and the stablemax cross-entropy, bit-identical to kernels/ref/stablemax.c. */
#include "isa/vmath.h"
#include "stablemax_common.h"

/* smx_tree_sum16d in registers: the level h = 8 is the add of the two halves, dhsum the levels 4, 2, 1
   (no store and no call per row; the same adds in the same order). */
static inline double stable_sum16d(vd a0, vd a1) { return dhsum(dadd(a0, a1)); }

/* smx_stable_c as vectors, and smx_stable_p */
typedef struct { vf ch, cl, nch, ncl, ic, K; } vstable_c;
static inline vstable_c vstable_consts(const smx_stable_c *c) {
  vstable_c v = {vset(c->ch), vset(c->cl), vset(c->nch), vset(c->ncl), vset(c->ic), vset(c->K)};
  return v;
}
/* -c / (bc + blc), x < 0: the quotient nq = -c_hi / bc, its exact remainder and one correction */
static inline vf vstable_pn(vf bc, vf blc, vstable_c c) {
  vf nq = vdiv(c.nch, bc), rho = vfma(nq, bc, c.ch), t = vfma(nq, blc, vadd(rho, c.cl));
  return vfma(vmul(t, c.ic), nq, nq);
}
/* also *b1 = bh = 1 + |x| rounded (the cross-entropy's divisor). Where predicates are mask registers
   (SMX_MASK_REGS), a step whose lanes all have bh < K and none flushed (the usual case) skips the clamp's two selects
   and the flush's one, the same bits (Zen 4: stablemax 0.93-0.97x the time, f32 and 16-bit; on AVX2 the test's
   compares, or and movemask cost what the selects did, 1.04-1.15x). */
static inline vf vstable_pb(vf x, vstable_c c, vf *b1) {
  const vf one = vset(1.0f);
  vf a = vabs(x), big = vmax(a, one), sml = vmin(one, a);
  vf bh = vadd(big, sml), bl = vsub(sml, vsub(bh, big));
  *b1 = bh;
  const vf p_min = vset(-0x1p-62f), unscale = vset(-0x1p-64f); /* -p 2^64 at FLT_MIN; the scale back */
  vf pp = vfma(bh, c.nch, vfma(bl, c.nch, vmul(bh, c.ncl))), p;
#ifdef SMX_MASK_REGS
  p = vsel(vge(x, vzero()), pp, vstable_pn(bh, bl, c));
  if (!many(mor(vge(bh, c.K), vlt(p_min, p)))) return vmul(p, unscale); /* (p finite: bh < K) */
#endif
  const vm in = vlt(bh, c.K);
  p = vsel(vge(x, vzero()), pp, vstable_pn(vsel(in, bh, c.K), vsel0(in, bl), c));
  return vmul(vsel(vge(p_min, p), p, vset(-0.0f)), unscale);
}
static inline vf vstable_p(vf x, vstable_c c) {
  vf b1;
  return vstable_pb(x, c, &b1);
}

/* smx_stable_s64 */
static inline vd dstable_s64(vd x) {
  return dsel(dge(x, dset(0.0)), dadd(x, dset(1.0)), ddiv(dset(1.0), dsub(dset(1.0), x)));
}
/* smx_stable_s64 of a step's 16 entries (lo: lanes 0-7; hi too unless hi_needed is 0). Where the vocabulary offers
   SMX_RECIP64_NEWTON and the CPU's double division is slower than it (smx_recip64_newton: AVX-512 on Intel, where
   vdivpd zmm takes 16 cycles; on Zen 4 the Newton form took 1.05-1.22x the division's time, on AVX2 0.97-1.14x):
   1 / (1 - x) as 2^-64 / d', d' = (1 - x) 2^-64, from the float reciprocal of d' (normal for every x <= 0) and two
   Newton steps in double (fma), -inf taken as -FLT_MAX in d' (then 0 x (-d') + 1 = 1: the reciprocal 0 stays +0).
   The division's bits for every float x < 0 and -inf (test_stablemax, both forms, exhaustive with
   SMX_TEST_EXHAUSTIVE=1); NaN stays NaN (a NaN row). */
static inline vd dstable_s64_newton(vd x, vd r) {
  const vd one = dset(1.0), nd = dfma(x, dset(0x1p-64), dset(-0x1p-64)); /* -d' */
  r = dfma(r, dfma(nd, r, one), r);
  r = dfma(r, dfma(nd, r, one), r);
  return dsel(dge(x, dset(0.0)), dadd(x, one), dmul(r, dset(0x1p-64)));
}
static inline void stable_s_step(vf v, vd *lo, vd *hi, int hi_needed) {
#ifdef SMX_RECIP64_NEWTON
  if (smx_recip64_newton) {
    const vf r = vdiv(vset(1.0f), vmul(vsub(vset(1.0f), v), vset(0x1p-64f))), vc = vmax(v, vset(-0x1.fffffep127f));
    *lo = dstable_s64_newton(dlo(vc), dlo(r));
    if (hi_needed) *hi = dstable_s64_newton(dhi(vc), dhi(r));
    return;
  }
#endif
  *lo = dstable_s64(dlo(v));
  if (hi_needed) *hi = dstable_s64(dhi(v));
}

/* smx_log_stable_parts */
static inline vf vlog_stable_parts(vf x, vf *fp, vf *cp) {
  const vf one = vset(1.0f);
  vf a = vabs(x), big = vmax(a, one), sml = vmin(one, a);
  vf bh = vadd(big, sml), bl = vsub(sml, vsub(bh, big));
  vf k, m = vfrexp_half(bh, &k);
  vf f = vsub(m, one), nu = vdiv(f, vsub(vset(-2.0f), f)), s2 = vmul(nu, nu), w = vmul(nu, s2);
  vf q = vfma(vfma(vfma(vset(SMX_LOGS_C9), s2, vset(SMX_LOGS_C7)), s2, vset(SMX_LOGS_C5)), s2, vset(SMX_LOGS_C3));
  vf c = vadd(vfma(f, nu, vmul(w, q)), vdiv(bl, vmin(bh, vset(0x1p100f))));
  vf sg = vsignor(one, x);
  *fp = vmul(f, sg), *cp = vmul(c, sg);
  return vmul(k, sg);
}
/* smx_log_stable64 for 8 lanes (dlo or dhi of the parts) */
static inline vd dlog_stable64(vd x, vd k, vd f, vd c) {
  vd r = dadd(dadd(dmul(k, dset(SMX_LN2_D)), f), c);
  return dsel(deq(x, dset(-INFINITY)), dset(-INFINITY), r);
}
/* smx_log_stable_y */
static inline vf vlog_stable_y(vf x, vf nlh, vf ll) {
  vf fp, cp, kp = vlog_stable_parts(x, &fp, &cp);
  vf fh = vsub(vadd(fp, vset(0x1.8p10f)), vset(0x1.8p10f)), fl = vsub(fp, fh);
  vf A = vfma(kp, vset(SMX_LN2_HI13), vadd(nlh, fh));
  return vadd(A, vadd(fl, vfma(kp, vset(SMX_LN2_LO13), vsub(cp, ll))));
}

/* ---- stablemax ---- */
/* adds s(v) of a step of c valid lanes (the others -inf) to the 16 double lanes (s64(-inf) = +0): with c <= 8 the
   upper half would add +0 to lanes that are +0 or positive, so it is left out */
static inline void stable_acc_n(vf v, size_t c, vd *a0, vd *a1) {
  vd lo, hi;
  stable_s_step(v, &lo, &hi, c > 8);
  *a0 = dadd(*a0, lo);
  if (c > 8) *a1 = dadd(*a1, hi);
}
static inline void stable_acc(vf v, vd *a0, vd *a1) { stable_acc_n(v, VW, a0, a1); }
SMX_FLATTEN void stable_acc_row_e(size_t n, const void *x, vd *a0, vd *a1, const int e) {
  size_t i = 0;
  for (; i + VW <= n; i += VW) stable_acc(ld_e(x, i, e), a0, a1);
  if (i < n) stable_acc_n(ld_e_n(x, i, n - i, -INFINITY, e), n - i, a0, a1);
}
SMX_FLATTEN void stable_acc_row(size_t n, const float *x, vd *a0, vd *a1) {
  stable_acc_row_e(n, x, a0, a1, SMX_ELEM_F32);
}

/* (tensors of element e: the f32 kernel and the fused 16-bit one) */
SMX_FLATTEN void stablemax_cols_e(size_t n, const void *x, void *y, const smx_stable_c *c, const int e) {
  const vstable_c vc = vstable_consts(c);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf p0 = vstable_p(ld_e_x(x, i, e), vc), p1 = vstable_p(ld_e_x(x, i + VW, e), vc);
    st_e_xn_num(y, i, p0, VW, 1, e);
    st_e_xn_num(y, i + VW, p1, VW, 1, e);
  }
  for (; i + VW <= n; i += VW) st_e_xn_num(y, i, vstable_p(ld_e_x(x, i, e), vc), VW, 1, e);
  if (i < n) st_e_xn_num(y, i, vstable_p(ld_e_n(x, i, n - i, 0.0f, e), vc), n - i, 0, e);
}
void FN(stablemax_cols)(size_t n, const float *x, float *y, const smx_stable_c *c) {
  stablemax_cols_e(n, x, y, c, SMX_ELEM_F32);
}
SMX_FLATTEN void stablemax_row_e(size_t n, const void *x, void *y, const int e) {
  vd a0 = dset(0.0), a1 = a0;
  stable_acc_row_e(n, x, &a0, &a1, e);
  const double S = stable_sum16d(a0, a1);
  smx_stable_c c;
  if (smx_stablemax_begin(n, x, y, S, &c, e)) stablemax_cols_e(n, x, y, &c, e);
}
SMX_ROWS_MAP16(FN(stablemax16), stablemax_row_e)
static void FN(stablemax_row)(size_t n, const float *x, float *y) { stablemax_row_e(n, x, y, SMX_ELEM_F32); }

/* ---- log-stablemax ----
   A row's state is its max m, tie count K, O (the s-sum below the max) and s(m); the per-row double logs
   (log K + log1p(O / (K s(m))) and log S) run for SMX_LOGS_ROWS rows at once in double lanes (dlog64,
   dlog1p64: smx_log64 and smx_log1p64 operation for operation), then each row is written. */
#define SMX_LOGS_ROWS 8 /* the double lanes of a vd */
static const float stable_lane_ids[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
/* the s-sum's lanes of n entries but those equal to m (counted in the returned ties; each adds 0.0) */
SMX_FLATTEN double stable_acc_ties_e(size_t n, const void *x, float m, vd *a0, vd *a1, const int e) {
  const vf vmx = vset(m), ninf = vset(-INFINITY);
  vi K = vcount_zero();
  size_t i = 0;
  for (; i + VW <= n; i += VW) {
    vf v = ld_e(x, i, e);
    vm tie = veq(v, vmx);
    K = vcount_add(K, tie);
    stable_acc(vsel(tie, ninf, v), a0, a1); /* a tie adds 0.0 */
  }
  if (i < n) {
    vf v = ld_e_n(x, i, n - i, -INFINITY, e);
    vm tie = veq(v, vmx);
    K = vcount_add(K, tie);
    stable_acc_n(vsel(tie, ninf, v), n - i, a0, a1);
  }
  return (double)vcount_sum(K);
}
/* The state of a row, or 0 for a row that is not finite (then written by the special rule). */
static inline int log_stable_state_e(size_t n, const void *x, void *y, float *mp, double *Kp, double *Op, double *smp,
                                     const int e) {
  int nan;
  float m = row_max_e(n, x, &nan, e);
  if (nan || !(m > -INFINITY && m < INFINITY)) {
    smx_special_row_elem(smx_row_kind_of(m, nan), n, x, y, 1, e);
    return 0;
  }
  vd a0 = dset(0.0), a1 = a0;
  *Kp = stable_acc_ties_e(n, x, m, &a0, &a1, e);
  *mp = m, *Op = stable_sum16d(a0, a1), *smp = smx_stable_s64(m);
  return 1;
}
/* the pieces of rows taken in chunks (kernels.h) */
void FN(stable_lanes)(size_t n, const float *x, float tie, double lanes[SMX_DLANES], double *ties) {
  vd a0 = dld(lanes), a1 = dld(lanes + 8);
  if (tie != tie) stable_acc_row(n, x, &a0, &a1);
  else *ties += stable_acc_ties_e(n, x, tie, &a0, &a1, SMX_ELEM_F32);
  dst(lanes, a0), dst(lanes + 8, a1);
}
float FN(max_nan)(size_t n, const float *x, int *nan) { return FN(row_max)(n, x, nan); }
SMX_FLATTEN void log_stable_write_e(size_t n, const void *x, float m, float top, float nlh, float ll, void *y,
                                    const int e) {
  const vf vmx = vset(m), ninf = vset(-INFINITY), vtop = vset(top), vnlh = vset(nlh), vll = vset(ll);
  for (size_t i = 0; i < n; i += VW) {
    size_t c = step_count(n, i);
    vf v = ld_e_n(x, i, c, 0.0f, e), r = vlog_stable_y(v, vnlh, vll);
    const vm top = veq(v, vmx), neg_inf = veq(v, ninf);
#ifdef SMX_MASK_REGS
    if (many(mor(top, neg_inf)))
#endif
      r = vsel(top, vtop, vsel(neg_inf, ninf, r));
    st_e_n(y, i, r, c, e);
  }
}
void FN(log_stablemax_cols)(size_t n, const float *x, float *y, float m, float top, float nlh, float ll) {
  log_stable_write_e(n, x, m, top, nlh, ll, y, SMX_ELEM_F32);
}
/* one row of element e, its double logs by smx_log_stable_consts (the lanes' operations, one row): the fused 16-bit
   kernel (the f32 kernel takes its rows' logs SMX_LOGS_ROWS at a time) */
SMX_FLATTEN void log_stablemax_row_e(size_t n, const void *x, void *y, const int e) {
  float m, top, nlh, ll;
  double K, O, sm;
  if (!log_stable_state_e(n, x, y, &m, &K, &O, &sm, e)) return;
  smx_log_stable_consts(m, K, O, &top, &nlh, &ll);
  log_stable_write_e(n, x, m, top, nlh, ll, y, e);
}
SMX_ROWS_MAP16(FN(log_stablemax16), log_stablemax_row_e)

/* ---- log-stablemax on short rows in lanes (n <= LOGS_LANES_MAX, at least LOGS_LANES_MIN_ROWS rows in the call): 16
   rows transposed, row r in lane r of each column; log_stable_state_e's max, tie count and s-sum (entry i in double
   lane i % 16, stable_sum16d's tree over the columns), the double logs and smx_log_stable_L one row per lane, the
   output lane-wise. Rows with a NaN or an infinite max take the row path. ---- */
#define LOGS_LANES_MAX 48 /* (Zen 4, rows x n = 2^16, lanes over the row path at 33 / 40 / 47 / 64: avx512 0.74 / 0.85 /
                             0.91 / 1.20x, avx2 at 33 / 40 / 48 0.67 / 0.70 / 0.89x) */
#define LOGS_LANES_MIN_ROWS 8
_Static_assert(SMX_XENT_STABLE_LANES_MAX <= LOGS_LANES_MAX, "the stablemax cross-entropy's lane columns");
/* s(v) of every entry of a column */
static inline lane_dsum stable_s_col(vf v) {
  lane_dsum s;
  stable_s_step(v, &s.lo, &s.hi, 1);
  return s;
}
/* smx_stable_scale of each lane's S (lo: rows 0-7, hi: 8-15) */
static inline vstable_c vstable_scale(vd lo, vd hi) {
  const vd clo = ddiv(dset(0x1p64), lo), chi = ddiv(dset(0x1p64), hi);
  const vf ch = dpack(clo, chi);
  const vf cl = vsel(vge(ch, vset(0x1p-100f)), dpack(dsub(clo, dlo(ch)), dsub(chi, dhi(ch))), vzero());
  return (vstable_c){ch, cl, vneg(ch), vneg(cl), vdiv(vset(1.0f), ch), vmul(ch, vset(0x1p63f))};
}
/* stablemax on rows of at most SMX_STABLE_LANES_MAX entries, 16 at a time (stablemax_row lane-wise); rows whose S is
   not in [SMX_STABLE_TINY, inf) by the row */
SMX_FLATTEN void stablemax_lanes(size_t g, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  vf col[LOGS_LANES_MAX];
  vload_columns(g, n, x, ldx, col);
  lane_dsum T[SMX_DLANES];
  for (size_t i = 0; i < n; i++) lane_leaf_add(T, i, stable_s_col(col[i]));
  const lane_dsum S = lane_tree16d(T, n);
  const vd tiny = dset(SMX_STABLE_TINY), inf = dset(INFINITY), one = dset(1.0), zero = dset(0.0);
  float fast[VW]; /* S in [SMX_STABLE_TINY, inf) */
  vst(fast, dpack(dsel(dge(S.lo, tiny), dsel(dlt(S.lo, inf), one, zero), zero),
                  dsel(dge(S.hi, tiny), dsel(dlt(S.hi, inf), one, zero), zero)));
  const vstable_c c = vstable_scale(S.lo, S.hi);
  for (size_t i = 0; i < n; i++) col[i] = vstable_p(col[i], c);
  vstore_columns(g, n, col, fast, y, ldy);
  for (size_t r = 0; r < g; r++)
    if (fast[r] == 0.0f) FN(stablemax_row)(n, x + r * ldx, y + r * ldy);
}
void FN(stablemax)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  size_t r = 0;
  if (n >= 1 && n <= SMX_STABLE_LANES_MAX)
    LANE_GROUPS(r, g, rows, LOGS_LANES_MIN_ROWS) stablemax_lanes(g, n, x + r * ldx, ldx, y + r * ldy, ldy);
  for (; r < rows; r++) FN(stablemax_row)(n, x + r * ldx, y + r * ldy);
}

/* s(v) of the entries but the ties (adding +0 there), and their count */
static inline lane_dsum stable_s_lanes(vf v, vf m, vf *K) {
  const vm tie = veq(v, m);
  *K = vadd(*K, vsel0(tie, vset(1.0f)));
  v = vsel(tie, vset(-INFINITY), v);
  return stable_s_col(v);
}
/* smx_log_stable_L of a lane's L (rows 0-7 or 8-15) */
static inline vd log_stable_lh(vd L) {
  return dmul(dsub(dadd(dmul(L, dset(0x1p13)), dset(0x1.8p52)), dset(0x1.8p52)), dset(0x1p-13));
}
void FN(log_stablemax)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy);
SMX_FLATTEN void log_stablemax_lanes(size_t g, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  vf col[LOGS_LANES_MAX];
  vload_columns(g, n, x, ldx, col);
  vf m = vset(-INFINITY), K = vzero();
  vm nan = mzero();
  for (size_t i = 0; i < n; i++) m = vmax(m, col[i]), nan = mor(nan, vnan(col[i]));
  const vm slow = mor(nan, vge(vabs(m), vset(INFINITY)));
  m = vsel(slow, vzero(), m); /* a finite stand-in */
  lane_dsum T[SMX_DLANES];
  for (size_t i = 0; i < n; i++) lane_leaf_add(T, i, stable_s_lanes(col[i], m, &K));
  lane_tree16d(T, n);
  const int ties = many(vgt(K, vset(1.0f))); /* else log K = +0 */
  vd top[2], nlh[2], ll[2];
  for (int q = 0; q < 2; q++) { /* smx_log_stable_consts */
    const vd vK = q ? dhi(K) : dlo(K), vO = q ? T[0].hi : T[0].lo, Ks = dmul(vK, dstable_s64(q ? dhi(m) : dlo(m)));
    const vd L = dlog64_pos(dadd(Ks, vO)), lh = log_stable_lh(L); /* (K s(m) > 0 and O >= 0 finite) */
    top[q] = dneg(dadd(ties ? dlog64_pos(vK) : dset(0.0), dlog1p64_pos(ddiv(vO, Ks))));
    nlh[q] = dneg(lh), ll[q] = dsub(L, lh);
  }
  const vf vtop = vflush(dpack(top[0], top[1])), vnlh = dpack(nlh[0], nlh[1]), vll = dpack(ll[0], ll[1]);
  const vf ninf = vset(-INFINITY);
  for (size_t i = 0; i < n; i++)
    col[i] = vsel(veq(col[i], m), vtop, vsel(veq(col[i], ninf), ninf, vlog_stable_y(col[i], vnlh, vll)));
  float fast[VW];
  vst(fast, vsel(slow, vzero(), vset(1.0f)));
  vstore_columns(g, n, col, fast, y, ldy);
  for (size_t r = 0; r < g; r++)
    if (fast[r] == 0.0f) FN(log_stablemax)(1, n, x + r * ldx, ldx, y + r * ldy, ldy);
}

void FN(log_stablemax)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  enum { G = SMX_LOGS_ROWS };
  size_t r_first = 0;
  if (n >= 1 && n <= LOGS_LANES_MAX)
    LANE_GROUPS(r_first, g, rows, LOGS_LANES_MIN_ROWS)
      log_stablemax_lanes(g, n, x + r_first * ldx, ldx, y + r_first * ldy, ldy);
  const size_t group = n <= 4096 ? G : 1; /* long rows: each row's two passes back to back (in cache) */
  for (size_t r0 = r_first; r0 < rows; r0 += group) {
    const size_t g_n = rows - r0 < group ? rows - r0 : group;
    double K[G], O[G], sm[G], top[G], L[G];
    float m[G];
    int live[G];
    for (int g = 0; g < G; g++) K[g] = 1.0, O[g] = 0.0, sm[g] = 1.0, live[g] = 0; /* idle lanes: log 1 */
    for (size_t g = 0; g < g_n; g++) {
      const size_t r = r0 + g;
      live[g] = log_stable_state_e(n, x + r * ldx, y + r * ldy, &m[g], &K[g], &O[g], &sm[g], SMX_ELEM_F32);
      if (!live[g]) K[g] = 1.0, O[g] = 0.0, sm[g] = 1.0;
    }
    /* smx_log64(S) and -(smx_log64(K) + smx_log1p64(O / (K s(m)))), S = K s(m) + O, row g in lane g */
    const vd lane = dlo(vld(stable_lane_ids));
    vd vK = dset(1.0), vO = dset(0.0), vs = dset(1.0);
    for (int g = 0; g < G; g++) {
      const vdm at = deq(lane, dset((double)g));
      vK = dsel(at, dset(K[g]), vK), vO = dsel(at, dset(O[g]), vO), vs = dsel(at, dset(sm[g]), vs);
    }
    const vd Ks = dmul(vK, vs);
    dst(L, dlog64_pos(dadd(Ks, vO))); /* (K s(m) > 0 and O >= 0 finite) */
    dst(top, dneg(dadd(dlog64_pos(vK), dlog1p64_pos(ddiv(vO, Ks)))));
    for (size_t g = 0; g < g_n; g++) {
      if (!live[g]) continue;
      const size_t r = r0 + g;
      float nlh, ll;
      smx_log_stable_L(L[g], &nlh, &ll);
      log_stable_write_e(n, x + r * ldx, m[g], smx_flush((float)top[g]), nlh, ll, y + r * ldy, SMX_ELEM_F32);
    }
  }
}

/* (of tensors of element e: the f32 kernel and the fused 16-bit ones) */
SMX_FLATTEN void stablemax_backward_row_e(size_t n, const void *x, const void *y, const void *dy, void *dx, const int e) {
  float dot = (float)blocked_dot_e(n, y, dy, e);
  if (dot != dot) {
    fill_e(n, dx, smx_qnan(), e);
    return;
  }
  const vf vdot = vset(dot);
  vm bad = mzero(), live = mzero();
  size_t i = 0;
  for (; i + VW <= n; i += VW) {
    vf vx = ld_e_x(x, i, e);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    st_e_x_flush_nan(dx, i, vdiv(vmul(ld_e_x(y, i, e), vsub(ld_e_x(dy, i, e), vdot)), vadd(vset(1.0f), vabs(vx))), e);
  }
  if (i < n) { /* tail lanes x = -inf: neither NaN nor live */
    const size_t c = n - i;
    vf vx = ld_e_n(x, i, c, -INFINITY, e);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    vf r = vdiv(vmul(ld_e_n(y, i, c, 0.0f, e), vsub(ld_e_n(dy, i, c, 0.0f, e), vdot)), vadd(vset(1.0f), vabs(vx)));
    st_e_flush_nan_n(dx, i, r, c, e);
  }
  if (many(bad) || !many(live)) fill_e(n, dx, many(bad) ? smx_qnan() : 0.0f, e);
}
/* a row in s steps (ld_row_short_e) */
SMX_FLATTEN void stablemax_backward_short_e(size_t n, const void *x, const void *y, const void *dy, void *dx,
                                            const int s, const int e) {
  vf X[SMX_BWD_SHORT_STEPS], Y[SMX_BWD_SHORT_STEPS], D[SMX_BWD_SHORT_STEPS];
  ld_row_short_e(x, n, -INFINITY, X, s, e), ld_row_short_e(y, n, 0.0f, Y, s, e), ld_row_short_e(dy, n, 0.0f, D, s, e);
  const float dot = (float)short_dot_e(Y, D, n, s, e);
  vm bad = mzero(), live = mzero();
  for (int j = 0; j < s; j++) {
    bad = mor(bad, vnan(X[j]));
    live = mor(live, vne(X[j], vset(-INFINITY)));
    Y[j] = vdiv(vmul(Y[j], vsub(D[j], vset(dot))), vadd(vset(1.0f), vabs(X[j])));
  }
  if (dot != dot || many(bad) || !many(live)) fill_e(n, dx, dot != dot || many(bad) ? smx_qnan() : 0.0f, e);
  else st_row_short_nan_e(dx, n, Y, s, e);
}

/* ---- fused cross-entropy, stablemax ---- */
/* A step of a block's sums (kernels/common/xent.h): S lanes s0, s1, with eps > 0 the W lanes w0, w1, and with
   o (from the target's step on) O's half holding the target's lane: only that lane differs from S's (the step
   of j == t adds +0 there), and only from that step on; the half is s1's if oh, else s0's. */
SMX_FLATTEN void xs_step(const void *x, size_t j, size_t c, size_t t, vd *o, int oh, float eps, const float *cw,
                         int capped, vf vcap, vf vinv, vd *s0, vd *s1, vd *w0, vd *w1, const int e) {
  vf dz, z = step_logits_e(x, j, c, 0.0f, capped, vcap, vinv, &dz, e);
  vf zs = c < VW ? vsel(vtail(c), z, vset(-INFINITY)) : z;
  vd lo, hi = dset(0.0);
  stable_s_step(zs, &lo, &hi, c > 8); /* (c <= 8: hi would add +0) */
  *s0 = dadd(*s0, lo);
  if (c > 8) *s1 = dadd(*s1, hi);
  if (o) {
    vd h = oh ? hi : lo;
    if (t - j < VW) h = dsel(deq(dlo(vld(stable_lane_ids)), dset((double)(t - j - 8 * (size_t)oh))), dset(0.0), h);
    *o = dadd(*o, h);
  }
  if (eps > 0.0f) {
    vf w = cw ? (c >= VW ? vld(cw + j) : vld_tail(cw + j, c, 0.0f)) : vset(1.0f);
    if (c < VW) w = vsel(vtail(c), w, vset(0.0f)); /* w == 0 adds 0.0 */
    vd zl = dlo(z), zh = dhi(z), wl = dlo(w), wh = dhi(w);
    vf fp, cp, kp = vlog_stable_parts(z, &fp, &cp);
    vd ll = dlog_stable64(zl, dlo(kp), dlo(fp), dlo(cp)), lh = dlog_stable64(zh, dhi(kp), dhi(fp), dhi(cp));
    *w0 = dadd(*w0, dsel(deq(wl, dset(0.0)), dset(0.0), dmul(wl, ll)));
    *w1 = dadd(*w1, dsel(deq(wh, dset(0.0)), dset(0.0), dmul(wh, lh)));
  }
}
/* smx_xent_stable_block_scalar: the steps before the target's, then the rest with O's half (x of element e) */
SMX_FLATTEN void xs_block(size_t len, const void *x, size_t t, float softcap, float eps, const float *cw, double out[3],
                          const int e) {
  const int capped = softcap > 0.0f;
  const vf vcap = vset(softcap), vinv = vset(capped ? 1.0f / softcap : 0.0f);
  vd s0 = dset(0.0), s1 = s0, w0 = s0, w1 = s0;
  const size_t jt = t < len ? t / VW * VW : len;
  size_t j = 0;
  for (; j < jt; j += VW)
    xs_step(x, j, step_count(len, j), t, NULL, 0, eps, cw, capped, vcap, vinv, &s0, &s1, &w0, &w1, e);
  if (t < len) {
    const int oh = t - jt >= 8;
    vd o = oh ? s1 : s0;
    if (oh)
      for (; j < len; j += VW)
        xs_step(x, j, step_count(len, j), t, &o, 1, eps, cw, capped, vcap, vinv, &s0, &s1, &w0, &w1, e);
    else
      for (; j < len; j += VW)
        xs_step(x, j, step_count(len, j), t, &o, 0, eps, cw, capped, vcap, vinv, &s0, &s1, &w0, &w1, e);
    out[1] = oh ? stable_sum16d(s0, o) : stable_sum16d(o, s1);
  }
  out[0] = stable_sum16d(s0, s1);
  if (t >= len) out[1] = out[0];
  out[2] = eps > 0.0f ? stable_sum16d(w0, w1) : 0.0;
}
void FN(xent_stable_block)(size_t len, const void *x, int e, size_t t, float softcap, float eps, const float *w,
                           double out[3]) {
  SMX_ELEM_CALL(e, xs_block, len, x, t, softcap, eps, w, out);
}
/* A row's S, and O and, with label smoothing, sum_j w_j log s(z_j) in *wls (a row of one block inline) */
SMX_FLATTEN double xs_sums_e(size_t n, const void *x, const smx_xent_row *row, double *O, double *wls, const int e) {
  if (n > SMX_BLOCK) return smx_xent_stable_sums(n, x, e, row, FN(xent_stable_block), O, wls);
  double out[3];
  xs_block(n, x, (size_t)row->target, row->softcap, row->label_smoothing, row->class_weight, out, e);
  *O = out[1], *wls = out[2];
  return out[0];
}
static inline double xs_sums(size_t n, const float *x, const smx_xent_row *row, double *O, double *wls) {
  return xs_sums_e(n, x, row, O, wls, SMX_ELEM_F32);
}

/* The gradient of a finite row with S in [SMX_STABLE_TINY, inf): (A p - b) / (1 + |z|) dz, -b = -B w exactly,
   dz = 1 uncapped (the target entry is written after; x and dx of element e) */
SMX_FLATTEN void xs_grad_e(size_t n, const void *x, const smx_xent_row *row, const vstable_c vc, float Af, float Bf,
                           void *dx, const int e) {
  const float inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap), vA = vset(Af), vnB = vset(-Bf);
  for (size_t i = 0; i < n; i += VW) {
    const size_t cnt = step_count(n, i);
    vf vdz, b1, z = step_logits_e(x, i, cnt, 0.0f, capped, vcap, vinv, &vdz, e);
    vf p = vstable_pb(z, vc, &b1);
    vf nb = cw ? vmul(vnB, vld_n(cw + i, cnt, 0.0f)) : vnB;
    vf g = vdiv(vfma(vA, p, nb), b1);
    st_e_flush_nan_n(dx, i, capped ? vmul(g, vdz) : g, cnt, e);
  }
}
static inline void xs_grad(size_t n, const float *x, const smx_xent_row *row, const vstable_c vc, float Af, float Bf,
                           float *dx) {
  xs_grad_e(n, x, row, vc, Af, Bf, dx, SMX_ELEM_F32);
}

void FN(xent_stablemax_grad)(size_t n, const float *x, const smx_xent_row *row, const smx_xent_stable *s, float *dx) {
  if (s->kind != SMX_ROW_FINITE || s->tiny) smx_xent_stablemax_grad_scalar(n, x, row, s, dx); /* rare rows */
  else xs_grad(n, x, row, vstable_consts(&s->c), s->Af, s->Bf, dx);
}

/* xent_soft_stable_sums's steps over n entries, continuing its 16 double lanes in Q and A (lanes 0-7, 8-15) */
SMX_FLATTEN void soft_stable_sums(size_t n, const float *x, const float *q, const float *w, float softcap, float top,
                                  vd vtn, vd vL, double e, vd ve, vd voff, vd Q[2], vd A[2]) {
  const vf vcap = vset(softcap), vinv = vset(softcap > 0.0f ? 1.0f / softcap : 0.0f), vtop = vset(top);
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    vf dz, fp, cp;
    const vf z = step_logits(x + i, c, 0.0f, softcap > 0.0f, vcap, vinv, &dz), vq = vld_n(q + i, c, 0.0f);
    const vf vw = w ? vld_n(w + i, c, 0.0f) : vzero(), kp = vlog_stable_parts(z, &fp, &cp);
    const vf at_top = vsel0(veq(z, vtop), vset(1.0f));
    for (int h = 0; h < 2; h++) {
      const vd zh = h ? dhi(z) : dlo(z);
      const vd nl = dsub(vL, dlog_stable64(zh, h ? dhi(kp) : dlo(kp), h ? dhi(fp) : dlo(fp), h ? dhi(cp) : dlo(cp)));
      const vd top_h = h ? dhi(at_top) : dlo(at_top);
      const vd wq = soft_wq(vq, vw, w != NULL, c, e, ve, voff, h);
      Q[h] = dadd(Q[h], wq), soft_acc(wq, dsel(deq(top_h, dset(0.0)), nl, vtn), &A[h]);
    }
  }
}
/* The table piece xent_soft_stable_sums (kernels.h): the scalar piece's operations lane-wise, as xent_soft_sums */
void FN(xent_soft_stable_sums)(size_t n, const float *x, const float *q, const float *w, float softcap, float top,
                               double top_nl, double L, double e, double off, double Ql[SMX_DLANES],
                               double ll[SMX_DLANES]) {
  vd Q[2] = {dld(Ql), dld(Ql + 8)}, A[2] = {dld(ll), dld(ll + 8)};
  soft_stable_sums(n, x, q, w, softcap, top, dset(top_nl), dset(L), e, dset(1.0 - e), dset(off), Q, A);
  dst(Ql, Q[0]), dst(Ql + 8, Q[1]), dst(ll, A[0]), dst(ll + 8, A[1]);
}

/* The table piece xent_soft_stable_group (kernels.h): each row's max, tie count K and s-sum O of the others as
   log-stablemax's state, then the row constants lane-wise (S = K s(m) + O, log S, log K + log1p(O / (K s(m))) and
   smx_stable_scale, one row per double lane: the scalar operations), then row by row xent_soft.c's soft_row: the
   loss sums (xent_soft_stable_sums's steps) and the gradient (xent_soft_b's weights, xent_stablemax_grad's steps);
   the rows whose S is below SMX_STABLE_TINY left to the row code */
void FN(xent_soft_stable_group)(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq,
                                const float *w, double e, float z_loss, double coef, double *lr, float *done, float *dx,
                                size_t ldd) {
  (void)z_loss;
  float m[VW], c[6][VW];
  double K[VW], O[VW], S[VW], logS[VW], top_nl[VW];
  for (size_t r = 0; r < VW; r++) m[r] = 0.0f, K[r] = 1.0, O[r] = 0.0; /* idle lanes */
  for (size_t r = 0; r < g; r++) {
    const float *xr = x + r * ldx;
    int nan;
    const float mr = FN(row_max)(n, xr, &nan);
    done[r] = !nan && mr > -INFINITY && mr < INFINITY ? 1.0f : 0.0f;
    if (done[r] == 0.0f) continue;
    vd a0 = dset(0.0), a1 = a0;
    K[r] = stable_acc_ties_e(n, xr, mr, &a0, &a1, SMX_ELEM_F32), O[r] = stable_sum16d(a0, a1), m[r] = mr;
  }
  const vf vmx = vld(m);
  for (int h = 0; h < 2; h++) {
    const vd vK = dld(K + 8 * h), vO = dld(O + 8 * h), Ks = dmul(vK, dstable_s64(h ? dhi(vmx) : dlo(vmx)));
    const vd vS = dadd(Ks, vO);
    dst(S + 8 * h, vS), dst(logS + 8 * h, dlog64(vS)), dst(top_nl + 8 * h, dadd(dlog64(vK), dlog1p64(ddiv(vO, Ks))));
  }
  const vstable_c vc = vstable_scale(dld(S), dld(S + 8));
  vst(c[0], vc.ch), vst(c[1], vc.cl), vst(c[2], vc.nch), vst(c[3], vc.ncl), vst(c[4], vc.ic), vst(c[5], vc.K);
  const vd ve = dset(1.0 - e), voff = dset(e / (double)n), vcoef = dset(coef);
  for (size_t r = 0; r < g; r++) {
    if (done[r] != 0.0f && !(S[r] >= SMX_STABLE_TINY)) done[r] = 0.0f;
    if (done[r] == 0.0f) continue;
    const float *xr = x + r * ldx, *qr = q + r * ldq;
    vd Q[2] = {dset(0.0), dset(0.0)}, A[2] = {dset(0.0), dset(0.0)};
    soft_stable_sums(n, xr, qr, w, 0.0f, m[r], dset(top_nl[r]), dset(logS[r]), e, ve, voff, Q, A);
    lr[r] = stable_sum16d(A[0], A[1]);
    if (!dx) continue;
    float *d = dx + r * ldd;
    const float Af = (float)(coef * stable_sum16d(Q[0], Q[1]));
    if (Af != Af) { /* a NaN q'_j: every entry the quiet NaN, as the row code */
      smx_fill(n, d, smx_qnan());
      continue;
    }
    float b[SMX_BLOCK];
    soft_b_row(n, qr, w, e, ve, voff, vcoef, b);
    const smx_xent_row row = {.class_weight = b};
    const vstable_c cr = {vset(c[0][r]), vset(c[1][r]), vset(c[2][r]), vset(c[3][r]), vset(c[4][r]), vset(c[5][r])};
    xs_grad(n, xr, &row, cr, Af, 1.0f, d);
  }
}

/* One row by the scalar parts around its lane sums and the vector gradient (a row alone, or longer than
   4096: there the 8 lanes' latency costs more than the scalar logs) */
static double FN(xent_stablemax_row)(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  double O, wls, S = xs_sums(n, x, row, &O, &wls);
  smx_xent_stable st;
  if (!smx_xent_stablemax_begin(n, x, row, S, O, wls, dx, &st) || !dx) return st.loss;
  FN(xent_stablemax_grad)(n, x, row, &st, dx);
  smx_xent_stablemax_target(n, row, &st, dx);
  return st.loss;
}

/* The fused 16-bit stablemax cross-entropy of one row (the f32 row's passes over loads that widen, its gradient
   rounded in the stores); 0, having written nothing, for the rows it leaves to the caller: not finite, or with a
   gradient and S below SMX_STABLE_TINY (smx_xent_stablemax_begin's finite rows, whose z_t is finite) */
SMX_FLATTEN int xent_stablemax_row16(size_t n, const uint16_t *x, const smx_xent_row *row, uint16_t *dx, double *loss,
                                     const int e) {
  double O, wls, S = xs_sums_e(n, x, row, &O, &wls, e);
  smx_xent_stable st;
  st.kind = smx_stable_kind(S);
  if (st.kind != SMX_ROW_FINITE) return 0;
  st.zt = smx_xent_logit(row, row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f, smx_elem_get(x, (size_t)row->target, e),
                         &st.dzt);
  smx_xent_stablemax_terms(n, row, S, O, wls, 0.0, 0, 0, &st);
  if (dx && st.tiny) return 0;
  *loss = st.loss;
  if (dx) {
    xs_grad_e(n, x, row, vstable_consts(&st.c), st.Af, st.Bf, dx, e);
    st_e_n(dx, (size_t)row->target, vset(smx_xent_stablemax_dxt(n, row, &st)), 1, e);
  }
  return 1;
}
int FN(xent_stablemax16)(int bf16, size_t n, const uint16_t *x, const smx_xent_row *row, uint16_t *dx, double *loss) {
  return bf16 ? xent_stablemax_row16(n, x, row, dx, loss, SMX_ELEM_BF16)
              : xent_stablemax_row16(n, x, row, dx, loss, SMX_ELEM_F16);
}

/* The gradient's per-row constants in double for 8 rows, one per vd lane (S for smx_stable_scale, A, B and
   smx_xent_stablemax_target's unscaled dx_t: p_t - 1 = -O / S, p_t = s_t / S), from each row's O, S, w_t, grad_coef g
   and s_t; the row-independent e1 = 1 - eps, eWn = eps W / n, en = eps / n. */
typedef struct {
  vd S, gA, B, ggt;
} xs_dconsts;
static inline xs_dconsts xs_dconsts_of(vd vO, vd vS, vd vw, vd vg, vd s_t, double eps, double W, double nd) {
  const double e1 = 1.0 - eps, en = eps / nd, eWn = eps * W / nd;
  const vd A = dadd(dmul(dset(e1), vw), dset(eWn));
  const vd gt = dadd(dmul(dmul(dset(e1), vw), ddiv(dneg(vO), vS)),
                     dmul(dset(en), dsub(dmul(dset(W), ddiv(s_t, vS)), vw)));
  return (xs_dconsts){vS, dmul(vg, A), dsmooth_coef(vg, eps, nd), dmul(vg, gt)};
}
/* their float forms for 16 rows (lo: rows 0-7, hi: 8-15) with the targets' logits z_t and dz_t: vstable_c's c_hi,
   c_lo, 1 / c_hi, K, the gradient's A and B, and dx_t */
typedef struct {
  vstable_c c;
  vf af, bf, dxt;
} xs_fconsts;
static inline xs_fconsts xs_fconsts_of(xs_dconsts lo, xs_dconsts hi, vf vz, vf vdzt) {
  xs_fconsts f;
  f.c = vstable_scale(lo.S, hi.S);
  f.af = dpack(lo.gA, hi.gA), f.bf = dpack(lo.B, hi.B);
  f.dxt = vflush_nan(vmul(vdiv(dpack(lo.ggt, hi.ggt), vadd(vset(1.0f), vabs(vz))), vdzt));
  return f;
}

/* The kernel: a row alone (also the last row of a call after groups) and rows longer than 4096 by
   xent_stablemax_row, the others in groups of SMX_LOGS_ROWS (the last one of 2 to 8 rows) in three phases.
   1: each row's begin (smx_xent_row_begin), sums, z_t, w_t. 2: the per-row double arithmetic in one vd
   lane per row, the operations of the scalar parts (kernels/common/xent_terms.c): smx_xent_stablemax_terms'
   s_t, smx_xent_stablemax_logs' log1p(O / s_t) and log S (dlog1p64, dlog64), smx_xent_stablemax_post's
   gradient constants (smx_stable_scale, A, B) and smx_xent_stablemax_target's dx_t. 3: each row's loss
   (smx_xent_stablemax_loss) and gradient; a row whose S is not in [SMX_STABLE_TINY, inf) (NaN, infinite
   logits, tiny sums) by the scalar parts from its sums. The losses are recorded in row order
   (smx_xent_row_end). */
static __attribute__((noinline)) double FN(xs_groups)(size_t r_first, size_t rows, size_t n, const float *x,
                                                  size_t ldx, const smx_xent_args *a, float *loss_rows, float *dx,
                                                  size_t ldd, double total) {
  enum { G = SMX_LOGS_ROWS };
  const float feps = a->row.label_smoothing;
  const int smoothing = feps > 0.0f;
  const double eps = feps, W = a->row.weight_sum, nd = (double)n;
  const float inv_cap = a->row.softcap > 0.0f ? 1.0f / a->row.softcap : 0.0f;
  for (size_t r0 = r_first; r0 < rows; r0 += G) {
    const size_t g_n = rows - r0 < G ? rows - r0 : G;
    if (g_n == 1) { /* the last row alone */
      total = smx_xent_rows_range(r0, r0 + 1, n, x, ldx, a, loss_rows, dx, ldd, FN(xent_stablemax_row), total);
      break;
    }
    smx_xent_row row[G];
    double O[G], wt[G], gc[G], wls[G], S[G], l1p[G], log_s[G];
    float zt[VW], dzt[VW], ch[VW], cl[VW], ic[VW], K[VW], af[VW], bf[VW], dxt[VW];
    int live[G], alt = 0;
    for (size_t g = 0; g < G; g++) O[g] = 0.0, S[g] = 1.0, wt[g] = 0.0, gc[g] = 0.0, log_s[g] = 0.0; /* idle lanes */
    for (size_t g = 0; g < VW; g++) zt[g] = 0.0f, dzt[g] = 1.0f;
    for (size_t g = 0; g < g_n; g++) {
      const size_t r = r0 + g;
      const float *xr = x + r * ldx;
      row[g] = a->row;
      live[g] = smx_xent_row_begin(a, r, n, &row[g], dx ? dx + r * ldd : NULL);
      if (!live[g]) continue; /* ignored: loss 0 */
      const size_t t = (size_t)row[g].target;
      S[g] = xs_sums(n, xr, &row[g], &O[g], &wls[g]);
      zt[g] = smx_xent_logit(&row[g], inv_cap, xr[t], &dzt[g]);
      wt[g] = smx_xent_weight(&row[g], t), gc[g] = row[g].grad_coef;
      alt |= zt[g] == -INFINITY; /* s_t = 0 */
    }
    const vf vz = vld(zt);
    const vd vO = dld(O), vS = dld(S), vw = dld(wt), vg = dld(gc), s_t = dstable_s64(dlo(vz));
    const vd l = dlog1p64(ddiv(vO, s_t));
    dst(l1p, l);
    if (smoothing) { /* log S = log s_t + l1p, or log S itself where s_t = 0 */
      vf fp, cp, kp = vlog_stable_parts(vz, &fp, &cp);
      vd ls = dadd(dlog_stable64(dlo(vz), dlo(kp), dlo(fp), dlo(cp)), l);
      if (alt) ls = dsel(dgt(s_t, dset(0.0)), ls, dlog64(vS));
      dst(log_s, ls);
    }
    if (dx) {
      const xs_dconsts dc = xs_dconsts_of(vO, vS, vw, vg, s_t, eps, W, nd);
      const xs_fconsts fc = xs_fconsts_of(dc, dc, vz, vld(dzt));
      vst(ch, fc.c.ch), vst(cl, fc.c.cl), vst(ic, fc.c.ic), vst(K, fc.c.K);
      vst(af, fc.af), vst(bf, fc.bf), vst(dxt, fc.dxt);
    }
    for (size_t g = 0; g < g_n; g++) {
      const size_t r = r0 + g;
      const float *xr = x + r * ldx;
      float *d = dx ? dx + r * ldd : NULL;
      double lr = 0.0; /* an ignored row */
      if (live[g] && S[g] >= SMX_STABLE_TINY && S[g] < INFINITY) {
        lr = smx_xent_stablemax_loss(n, l1p[g], log_s[g], smoothing ? wls[g] : 0.0, wt[g], &row[g]);
        if (d) {
          const vstable_c vc = {vset(ch[g]), vset(cl[g]), vset(-ch[g]), vset(-cl[g]), vset(ic[g]), vset(K[g])};
          xs_grad(n, xr, &row[g], vc, af[g], bf[g], d);
          d[row[g].target] = dxt[g];
        }
      } else if (live[g]) { /* NaN, infinite logits or a tiny sum: the scalar parts */
        smx_xent_stable st;
        if (smx_xent_stablemax_begin(n, xr, &row[g], S[g], O[g], wls[g], d, &st) && d) {
          smx_xent_stablemax_grad_scalar(n, xr, &row[g], &st, d);
          smx_xent_stablemax_target(n, &row[g], &st, d);
        }
        lr = st.loss;
      }
      total = smx_xent_row_end(a, loss_rows, r, lr, total);
    }
  }
  return total;
}

/* Rows r0 .. r0 + g - 1 (g <= VW, n <= SMX_XENT_STABLE_LANES_MAX <= LOGS_LANES_MAX) without softcap or label smoothing, one
   per lane: the sums S and O of xs_block (entry i in double lane i % 16, O without the target's entry, stable_sum16d's
   tree over the columns), the double arithmetic of xs_groups and each row's loss for both halves, the gradient
   lane-wise; the rows whose S is not in [SMX_STABLE_TINY, inf) by the scalar parts from their sums. Returns total plus
   the losses. */
static double FN(xs_lanes)(size_t r0, size_t g, size_t n, const float *x, size_t ldx, const smx_xent_args *a,
                           float *loss_rows, float *dx, size_t ldd, double total) {
  vf col[LOGS_LANES_MAX];
  vload_columns(g, n, x + r0 * ldx, ldx, col);
  smx_xent_row row = a->row;
  float tg[VW], zt[VW], fast[VW];
  double wt[VW], gc[VW];
  int live[VW];
  int64_t ti[VW];
  const int plain = smx_xent_group_targets(a, r0, g, NULL, ti);
  for (size_t r = 0; r < VW; r++) tg[r] = -1.0f, zt[r] = 0.0f, wt[r] = 0.0, gc[r] = 0.0, live[r] = 0;
  for (size_t r = 0; r < g; r++) { /* (ignored rows: loss 0) */
    if (!plain && !smx_xent_row_begin(a, r0 + r, n, &row, dx ? dx + (r0 + r) * ldd : NULL)) continue;
    const size_t t = (size_t)ti[r];
    tg[r] = (float)t, zt[r] = x[(r0 + r) * ldx + t], wt[r] = smx_xent_weight(&row, t), gc[r] = row.grad_coef;
    live[r] = 1;
  }
  /* O: +0 for the target's entry */
  const vf vt = vld(tg);
  const lane_dsum tl = {dlo(vt), dhi(vt)};
  lane_dsum S[SMX_DLANES], O[SMX_DLANES];
  for (size_t i = 0; i < n; i++) {
    const lane_dsum si = stable_s_col(col[i]);
    const vd vi = dset((double)i);
    lane_leaf_add(S, i, si);
    lane_leaf_add(O, i, (lane_dsum){dsel(deq(vi, tl.lo), dset(0.0), si.lo), dsel(deq(vi, tl.hi), dset(0.0), si.hi)});
  }
  lane_tree16d(S, n), lane_tree16d(O, n);
  double Sd[VW], Od[VW], lr[VW];
  dst(Sd, S[0].lo), dst(Sd + VW / 2, S[0].hi), dst(Od, O[0].lo), dst(Od + VW / 2, O[0].hi);
  const vf vz = vld(zt);
  xs_dconsts dc[2];
  for (int q = 0; q < 2; q++) { /* the loss smx_xent_stablemax_loss (no smoothing): smx_times(w_t, log1p(O / s_t)) */
    const vd s_t = dstable_s64(q ? dhi(vz) : dlo(vz)), vO = q ? O[0].hi : O[0].lo, vS = q ? S[0].hi : S[0].lo;
    const vd vw = dld(wt + 8 * q);
    dst(lr + 8 * q, dsel(deq(vw, dset(0.0)), dset(0.0), dmul(vw, dlog1p64(ddiv(vO, s_t)))));
    if (dx) dc[q] = xs_dconsts_of(vO, vS, vw, dld(gc + 8 * q), s_t, 0.0, a->row.weight_sum, (double)n);
  }
  for (size_t r = 0; r < VW; r++) {
    fast[r] = live[r] && Sd[r] >= SMX_STABLE_TINY && Sd[r] < INFINITY ? 1.0f : 0.0f;
    if (!live[r]) lr[r] = 0.0;
  }
  for (size_t r = 0; r < g; r++) { /* NaN, infinite logits or a tiny sum: the scalar parts */
    if (!live[r] || fast[r] != 0.0f) continue;
    const float *xr = x + (r0 + r) * ldx;
    float *d = dx ? dx + (r0 + r) * ldd : NULL;
    smx_xent_stable st;
    smx_xent_row_begin(a, r0 + r, n, &row, NULL);
    if (smx_xent_stablemax_begin(n, xr, &row, Sd[r], Od[r], 0.0, d, &st) && d) {
      smx_xent_stablemax_grad_scalar(n, xr, &row, &st, d);
      smx_xent_stablemax_target(n, &row, &st, d);
    }
    lr[r] = st.loss;
  }
  if (dx) { /* xs_grad lane-wise: (A p - B w) / (1 + |z|) */
    const xs_fconsts fc = xs_fconsts_of(dc[0], dc[1], vz, vset(1.0f));
    float dxt[VW];
    vst(dxt, fc.dxt);
    const float *cw = a->row.class_weight;
    const vf vnB = vneg(fc.bf);
    for (size_t i = 0; i < n; i++) {
      vf b1, p = vstable_pb(col[i], fc.c, &b1);
      col[i] = vflush_nan(vdiv(vfma(fc.af, p, cw ? vmul(vnB, vset(cw[i])) : vnB), b1));
    }
    vstore_columns(g, n, col, fast, dx + r0 * ldd, ldd);
    for (size_t r = 0; r < g; r++)
      if (fast[r] != 0.0f) dx[(r0 + r) * ldd + (size_t)tg[r]] = dxt[r];
  }
  for (size_t r = 0; r < g; r++) total = smx_xent_row_end(a, loss_rows, r0 + r, lr[r], total);
  return total;
}

double FN(xent_stablemax)(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a,
                          float *loss_rows, float *dx, size_t ldd) {
  size_t r0 = 0;
  double total = 0.0;
  if (n >= 1 && n <= SMX_XENT_STABLE_LANES_MAX && !(a->row.softcap > 0.0f) && !(a->row.label_smoothing > 0.0f))
    LANE_GROUPS(r0, g, rows, LOGS_LANES_MIN_ROWS) total = FN(xs_lanes)(r0, g, n, x, ldx, a, loss_rows, dx, ldd, total);
  if (n > 4096 || rows - r0 == 1)
    return smx_xent_rows_range(r0, rows, n, x, ldx, a, loss_rows, dx, ldd, FN(xent_stablemax_row), total);
  return FN(xs_groups)(r0, rows, n, x, ldx, a, loss_rows, dx, ldd, total);
}

/* backward rows [0, g) of at most BWD_LANES_MAX entries in a lane group (vmath.h): the dot by lane_dot, the step
   lane-wise; the rows with a NaN dot or x, or no finite x, by the row path after */
SMX_FLATTEN void stablemax_backward_lanes_e(size_t g, size_t n, const void *x, size_t ldx, const void *y, size_t ldy,
                                            const void *dy, size_t lddy, void *dx, size_t lddx, const int e) {
  vf X[BWD_COLS], Y[BWD_COLS], D[BWD_COLS], T[BWD_COLS];
  float fast[VW];
  vload_columns_e(g, n, x, ldx, X, e);
  vload_columns_e(g, n, y, ldy, Y, e);
  vload_columns_e(g, n, dy, lddy, D, e);
  for (size_t i = 0; i < n; i++) T[i] = vfma(Y[i], D[i], vzero()); /* into +0 lanes */
  const lane_dsum d = lane_dot(T, n);
  const vf dot = dpack(d.lo, d.hi);
  vm bad = vnan(dot), live = mzero();
  for (size_t i = 0; i < n; i++) {
    bad = mor(bad, vnan(X[i]));
    live = mor(live, vne(X[i], vset(-INFINITY)));
    Y[i] = vflush_nan_e(vdiv(vmul(Y[i], vsub(D[i], dot)), vadd(vset(1.0f), vabs(X[i]))), e);
  }
  vst(fast, vsel(bad, vzero(), vsel(live, vset(1.0f), vzero())));
  vstore_columns_e(g, n, Y, fast, dx, lddx, e);
  for (size_t r = 0; r < g; r++)
    if (fast[r] == 0.0f)
      stablemax_backward_row_e(n, elem_at(x, r * ldx, e), elem_at(y, r * ldy, e), elem_at(dy, r * lddy, e),
                               (void *)elem_at(dx, r * lddx, e), e);
}
#define STABLE_BWD_ROWS(e)                                                                                      \
  BWD_ROWS(stablemax_backward_lanes_e(g, n, x + r * ldx, ldx, y + r * ldy, ldy, dy + r * lddy, lddy, dx + r * lddx, \
                                      lddx, e),                                                                 \
           stablemax_backward_short_e(n, x + r * ldx, y + r * ldy, dy + r * lddy, dx + r * lddx, s, e),           \
           SMX_BWD_SHORT_STEPS,                                                                                \
           stablemax_backward_row_e(n, x + r * ldx, y + r * ldy, dy + r * lddy, dx + r * lddx, e))
void FN(stablemax_backward)(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy,
                            const float *dy, size_t lddy, float *dx, size_t lddx) {
  STABLE_BWD_ROWS(SMX_ELEM_F32)
}
void FN(stablemax_backward16)(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, const uint16_t *y,
                              size_t ldy, const uint16_t *dy, size_t lddy, uint16_t *dx, size_t lddx) {
  if (bf16) {
    STABLE_BWD_ROWS(SMX_ELEM_BF16)
  } else {
    STABLE_BWD_ROWS(SMX_ELEM_F16)
  }
}
#undef STABLE_BWD_ROWS
