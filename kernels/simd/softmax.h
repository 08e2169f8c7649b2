/* The softmax family written once over an ISA vocabulary: softmax, log-softmax, logsumexp, their backward
   passes and the softmax cross-entropy, bit-identical to kernels/ref/softmax.c. */
#include "isa/vmath.h"

/* smx_softmax_from_e in registers */
typedef struct {
  vf chi, clo, emax, ymax;
} outc;
static inline outc outc_init(const smx_softmax_out *o) {
  return (outc){vset(o->c_hi), vset(o->c_lo), vset(o->e_max), vset(o->y_max)};
}
/* maxcheck 0: the caller knows that no e equals e_max */
SMX_FLATTEN vf out_from_e_if(vf e, const outc *c, const int maxcheck) {
  vf z = vfma(e, c->chi, vmul(e, c->clo));
  vf y = vsel0(vge(z, vset(SMX_OUT_ZMIN)), vmul(z, vset(SMX_OUT_UNSCALE)));
  return maxcheck ? vsel(veq(e, c->emax), c->ymax, y) : y;
}
/* smx_softmax_one */
SMX_FLATTEN vf out_one(vf x, vf magic, const outc *c) {
  vf t, p = vexp_shift(x, magic, &t);
  return out_from_e_if(vexp2add_if(vbits_ge(t, SMX_KEEP_OUT), p, t), c, 1);
}
/* smx_log_softmax_one */
static inline vf logsm(vf x, vf ch, vf nch, vf clo) {
  vf lo, d = vtwo_diff(x, ch, nch, &lo);
  return vsel(veq(d, vset(-INFINITY)), d, vadd(d, vsub(lo, clo)));
}
/* The same where -c_hi <= x <= c_hi <= 2^100: as |c_hi| >= |x|, Fast2Sum's x - (d + c_hi) (2 operations, where
   TwoSum takes 5) is TwoSum's error term (both the exact x - c_hi - d, but for the sign of a zero, which
   d + (lo - c_lo) does not show), and d is finite (no -inf select). (Rows whose 0 < c_hi <= 2^100 and max
   m <= c_hi: logsm_inner_row.) */
static inline int logsm_inner_row(float c_hi, float m) { return c_hi > 0.0f && c_hi >= m && c_hi <= 0x1p100f; }
static inline vf logsm_inner(vf x, vf ch, vf clo) {
  const vf d = vsub(x, ch);
  return vadd(d, vsub(vsub(x, vadd(d, ch)), clo));
}

/* Block maxima: 64 lanes, and a NaN screen (a NaN entry makes its screen sum NaN; so do inf - inf and
   overflow, then the block is checked entry by entry). A 16-bit block's full groups go in as their patterns
   instead, unwidened: the greatest pattern as int16 (the greatest value where it is >= 0, that is where a value
   has its sign clear) and the least and greatest as uint16 (the greatest value where all are negative: the least
   magnitude; a NaN: a pattern above the infinity's). One integer max or min per 32 entries, where the floats take
   a widening, a max and a screen add per 16. The block max differs from the lanes' only where it is a zero of
   either sign, which no sum or output reads (the ties of a zero max are counted as floats). */
#define NSX SMX_NAN_SCREENS /* the vocabulary says how many steps of independent screen sums pay off */
typedef struct {
  vf mx[NACC], sx[NSX];
  vi ps, pn, px; /* 16-bit groups: the patterns' signed max, unsigned min and max */
} blockmax;
static inline void bm_init(blockmax *a) {
  for (int j = 0; j < NACC; j++) a->mx[j] = vset(-INFINITY);
  for (int j = 0; j < NSX; j++) a->sx[j] = vzero();
  a->ps = vp16_set(0x8000u), a->pn = vp16_set(0xffffu), a->px = vp16_set(0);
}
/* entries i .. i + 63 as floats (with w, also stored to w + i) */
SMX_FLATTEN void bm_group_floats(blockmax *a, const void *p, size_t i, float *w, const int e) {
  for (int j = 0; j < NACC; j++) {
    vf v = ld_e_x(p, i + (size_t)j * VW, e);
    if (w) vst(w + i + (size_t)j * VW, v);
    a->mx[j] = vmax(v, a->mx[j]);
    a->sx[j % NSX] = vadd(a->sx[j % NSX], v);
  }
}
/* entries i .. i + 63 of a 16-bit row as patterns */
SMX_FLATTEN void bm_group_patterns(blockmax *a, const void *p, size_t i) {
  for (int j = 0; j < NACC; j += 2) {
    const vi h = vp16_ld((const uint16_t *)p + i + (size_t)j * VW);
    a->ps = vp16_max_s(a->ps, h), a->pn = vp16_min_u(a->pn, h), a->px = vp16_max_u(a->px, h);
  }
}
/* the groups of the row pass's blocks: floats for f32 rows, else patterns */
SMX_FLATTEN void bm_group_e(blockmax *a, const void *p, size_t i, const int e) {
  if (e == SMX_ELEM_F32) bm_group_floats(a, p, i, NULL, e);
  else bm_group_patterns(a, p, i);
}
/* the full groups' max from their patterns into mx[0]; 1 (and their maxima as floats) where they hold a NaN */
SMX_FLATTEN int bm_patterns_max(blockmax *a, const void *x, size_t full, const int e) {
  const unsigned inf = e == SMX_ELEM_BF16 ? 0x7f80u : 0x7c00u;
  const int smax = (int16_t)(0x7fffu ^ vp16_hmin_u(vp16_xor(a->ps, 0x7fffu)));
  const unsigned umax = 0xffffu ^ vp16_hmin_u(vp16_xor(a->px, 0xffffu));
  if (smax > (int)inf || umax > (0x8000u | inf)) {
    for (size_t g = 0; g < full; g += SMX_LANES) bm_group_floats(a, x, g, NULL, e);
    return 1;
  }
  const uint16_t top = smax >= 0 ? (uint16_t)smax : vp16_hmin_u(a->pn);
  a->mx[0] = vset(smx_elem_get(&top, 0, e));
  return 0;
}
/* the rest of a block after its full groups (< 64 entries; -inf keeps the lane max), then the block
   max m and its NaN flag (the groups' lanes in the vocabulary's order until here; the screen's order does not
   matter: a NaN it misses or an inf - inf it makes is found or cleared entry by entry). patterns: the groups went
   in as patterns. */
SMX_FLATTEN float bm_finish_e(blockmax *a, const void *x, size_t len, size_t full, int patterns, int *nanb,
                              const int e) {
  const int pnan = patterns && full && bm_patterns_max(a, x, full, e);
  for (int j = 0; j < NACC && full; j++) a->mx[j] = vorder_e(a->mx[j], e);
  for (size_t i = full, j = 0; i < len; i += VW, j++) {
    vf v = ld_e_n(x, i, step_count(len, i), -INFINITY, e);
    a->mx[j] = vmax(v, a->mx[j]);
    a->sx[0] = vadd(a->sx[0], v);
  }
  vm nan = mzero();
  for (int j = 0; j < NSX; j++) nan = mor(nan, vnan(a->sx[j]));
  *nanb = 0;
  if (pnan || many(nan))
    for (size_t i = 0; i < len; i++) *nanb |= smx_elem_get(x, i, e) != smx_elem_get(x, i, e);
  return FN(tree_max)(a->mx);
}
/* A block's max and NaN flag (its groups, then bm_finish_e). With w, where a 16-bit block's pass-1 values are to be
   stored, each entry also goes there widened, so that the block's sums read floats and overwrite them: one
   widening an entry, not one for the max and one for the sums. Not where the vocabulary's loads keep a lane order of
   their own (ORDER_X: the floats would hold it). lse_pass_maxfirst_e widens rows of up to WIDEN_ONCE_MAX entries (the
   16-bit softmax and its cross-entropy; Intel Xeon, one row in cache, n = 1025..4096: avx512 bfloat16 0.95-0.97x the
   time, binary16 0.92-0.96x, avx2 binary16 0.93-0.94x). Not longer rows, whose floats leave the first level of cache
   (n = 8192: 1.0-1.04x, 16384: 1.03-1.16x), nor rows of one block, whose sums load what was just stored (n = 256..1000:
   0.96-1.04x). */
#define WIDEN_ONCE_MAX (4 * SMX_BLOCK)
/* (16-bit blocks without w: as patterns from PATTERN_GROUPS_MIN full groups on; fewer do not repay the patterns'
   three reductions) */
#define PATTERN_GROUPS_MIN 4
SMX_FLATTEN float block_max_e(blockmax *a, const void *x, size_t len, float *w, int *nanb, const int e) {
  const size_t full = len / SMX_LANES * SMX_LANES;
  const int patterns = e != SMX_ELEM_F32 && !w && full >= PATTERN_GROUPS_MIN * SMX_LANES;
  bm_init(a);
  if (patterns) {
    for (size_t g = 0; g < full; g += SMX_LANES) bm_group_patterns(a, x, g);
  } else if (w) {
    for (size_t g = 0; g < full; g += SMX_LANES) bm_group_floats(a, x, g, w, e);
    for (size_t i = full; i < len; i += VW) vst_n(w + i, ld_e_n(x, i, step_count(len, i), 0.0f, e), step_count(len, i));
  } else {
    for (size_t g = 0; g < full; g += SMX_LANES) bm_group_floats(a, x, g, NULL, e);
  }
  return bm_finish_e(a, x, len, full, patterns, nanb, e);
}

/* Pass 1, one step: e = the kept smx_exp_shift value (+0 otherwise), stored to ys if given (c lanes);
   acc + e. With ties (1: x == m on the bits, equal to the float compare for m != +-0, m never NaN; 2: as
   floats) also ex + (x == m ? +0 : e) (adding +0 leaves a lane sum unchanged: it is +0 or positive), the
   ties counted in kc; ties 3 (bits), 4 (floats): only acc + (x == m ? +0 : e). */
SMX_FLATTEN vf p1_step(vf acc, vf x, vf m, vf magic, int32_t keep, const int ties, vi *kc, vf *ex, float *ys, size_t c) {
  vf t, p = vexp_shift(x, magic, &t);
  vf e = vexp2add_if(vbits_ge(t, keep), p, t);
  if (ys) vst_n(ys, e, c);
  if (!ties) return vadd(acc, e);
  vm tie = ties == 1 || ties == 3 ? vbits_eq(x, m) : veq(x, m);
  *kc = vcount_add(*kc, tie);
  if (ties >= 3) return vadd_unless(acc, tie, e); /* 3, 4: the sum without the ties only (in acc) */
  *ex = vadd_unless(*ex, tie, e);
  return vadd(acc, e);
}

/* Pass 1 sums of a block summed against its own max m = m_b (smx_lse_block_scalar): the lanes of
   smx_exp_shift(x, magic, SMX_KEEP_SUM) (S_all, in double as the scalar does) and, with ties (a block that
   may hold the row max), also those without the entries x == m (S_ex) and their count. With ys, the kept
   values of every entry (ties too) are stored there for softmax's pass 2. Meanwhile the first ngn groups of
   the next block xn (if any) go into its maxima nx; without nx, xn is the next group's row, hinted to the cache
   (prefetch_e) as this one is summed. With ties the lanes go in P1_PARTS column parts (each
   lane's entries in the same order), so that both sums' accumulators stay in registers. */
#define P1_PARTS (NACC >= 8 ? 2 : 1)
/* the lanes of steps [J0, J0 + JN) of every group */
SMX_FLATTEN void sum_lanes(const void *x, size_t len, size_t full, vf vm_, vf vmagic, int32_t keep, const int ties, const int store,
                           const int J0, const int JN, vf *ls, vf *le, vi *kc, float *ys, const void *xn, size_t ngn,
                           blockmax *nx, const int e) {
  for (size_t i = 0, g = 0; i < full; i += SMX_LANES, g++) {
    for (int j = J0; j < J0 + JN; j++) {
      ls[j] = p1_step(ls[j], ld_e_x(x, i + (size_t)j * VW, e), vm_, vmagic, keep, ties, kc, &le[j],
                      store ? ys + i + j * VW : NULL, VW);
    }
    if (nx && g < ngn) {
      bm_group_e(nx, xn, i, e);
      for (int q = 0; q < SMX_LANES; q += 16) prefetch_e(xn, SMX_BLOCK + i + (size_t)q, e); /* the block after next */
    } else if (xn && !nx) { /* rows of one block: the next group's row (short_rows_state) */
      for (int q = 0; q < SMX_LANES; q += 16) prefetch_e(xn, i + (size_t)q, e);
    }
  }
  if (full) /* the sums' lanes back in the step's order (the values stored stay in the load's: see rescale_block) */
    for (int j = J0; j < J0 + JN; j++) ls[j] = vorder_e(ls[j], e), le[j] = vorder_e(le[j], e);
  /* tail lanes read -inf: not kept, and -inf != m (no tie) */
  for (int j = J0; j < J0 + JN; j++) {
    const size_t i = full + (size_t)j * VW;
    if (i >= len) break;
    const size_t c = step_count(len, i);
    ls[j] = p1_step(ls[j], ld_e_n(x, i, c, -INFINITY, e), vm_, vmagic, keep, ties, kc, &le[j], store ? ys + i : NULL, c);
  }
}
SMX_FLATTEN void sum_block_e(const void *x, size_t len, size_t full, float m, float magic, int32_t keep, const int ties,
                             const int store, double *k, double *S_ex, double *S_all, float *ys, const void *xn,
                             size_t ngn, blockmax *nx, const int e) {
  const vf vm_ = vset(m), vmagic = vset(magic);
  vf ls[NACC], le[NACC];
  vi kc = vcount_zero();
  for (int j = 0; j < NACC; j++) ls[j] = vzero(), le[j] = vzero();
  if (!ties || ties >= 3 || P1_PARTS == 1) {
    sum_lanes(x, len, full, vm_, vmagic, keep, ties, store, 0, NACC, ls, le, &kc, ys, xn, ngn, nx, e);
  } else {
    sum_lanes(x, len, full, vm_, vmagic, keep, ties, store, 0, NACC / 2, ls, le, &kc, ys, xn, ngn, nx, e);
    sum_lanes(x, len, full, vm_, vmagic, keep, ties, store, NACC / 2, NACC / 2, ls, le, &kc, ys, NULL, 0, NULL, e);
  }
  *S_all = FN(tree_sum_used)(ls, steps_used(len));
  *S_ex = ties == 1 || ties == 2 ? FN(tree_sum_used)(le, steps_used(len)) : 0.0;
  *k = ties ? (double)vcount_sum(kc) : 0.0;
}
SMX_FLATTEN void sum_block(const float *x, size_t len, size_t full, float m, float magic, int32_t keep, const int ties,
                           const int store, double *k, double *S_ex, double *S_all, float *ys, const float *xn,
                           size_t ngn, blockmax *nx) {
  sum_block_e(x, len, full, m, magic, keep, ties, store, k, S_ex, S_all, ys, xn, ngn, nx, SMX_ELEM_F32);
}

/* softmax's pass 1 stores its values in a pass1_store (kernels.h) */
typedef smx_pass1_store pass1_store;
#define STORE_MAX_BLOCKS SMX_STORE_MAX_BLOCKS
#define STORE_NONE INT32_MIN

/* One block (max m_b, K_b) summed against its own max: mode SMX_BLK_MAX (ties counted) or SMX_BLK_REST.
   The sums go against K_s = K_g (a guess made before m_b is known) when 0 <= K_b - K_g <= SHIFT_SPAN, else
   against K_b: every value and lane sum is then exactly 2^(K_b - K_s) times the one against K_b (all normal,
   below 2^128; the keep test moved by K_b - K_s keeps the same entries), so the block's S 2^(K_s - 64) is the
   same, and the block's work does not wait for its max (only the keep and tie tests do). */
#define SHIFT_GUESS 30 /* K_g = K(running max) - SHIFT_GUESS: blocks up to 20.8 below to 20.1 above it */
#define SHIFT_SPAN 59
/* SUM(ties, store) for a runtime ties in {0, A, B} and store = whether ys is given, each combination a constant
   (one inlined copy of the block loops per combination) */
#define SUM_SPECIALIZED(SUM, ties, A, B, store)                                          \
  do {                                                                                   \
    if (store) {                                                                         \
      if ((ties) == 0) SUM(0, 1);                                                        \
      else if ((ties) == (A)) SUM(A, 1);                                                 \
      else SUM(B, 1);                                                                    \
    } else {                                                                             \
      if ((ties) == 0) SUM(0, 0);                                                        \
      else if ((ties) == (A)) SUM(A, 0);                                                 \
      else SUM(B, 0);                                                                    \
    }                                                                                    \
  } while (0)
#define SUM_BLOCK(ties, store) sum_block_e(x, len, full, m_b, magic, keep, ties, store, &k, &Se, &Sa, ys, xn, ngn, nx, e)
SMX_FLATTEN int32_t shifted_block_e(const void *x, size_t len, size_t full, float m_b, int32_t K_b, int32_t K_g,
                                    int mode, smx_lse *s, float *ys, const void *xn, size_t ngn, blockmax *nx, const int e) {
  const int32_t K_s = K_b - K_g >= 0 && K_b - K_g <= SHIFT_SPAN ? K_g : K_b;
  const float magic = smx_shift_magic(K_s - SMX_SUM_BIAS);
  const int32_t keep = SMX_KEEP_SUM + (K_b - K_s);
  const int ties = mode != SMX_BLK_MAX ? 0 : m_b != 0.0f ? 1 : 2;
  double k, Se, Sa;
  SUM_SPECIALIZED(SUM_BLOCK, ties, 1, 2, ys);
  if (ties) smx_lse_end_max(s, m_b, K_s, k, Se, Sa);
  else smx_lse_end_rest(s, K_s, Sa);
  return K_s;
}
SMX_FLATTEN int32_t shifted_block(const float *x, size_t len, size_t full, float m_b, int32_t K_b, int32_t K_g,
                                  int mode, smx_lse *s, float *ys, const float *xn, size_t ngn, blockmax *nx) {
  return shifted_block_e(x, len, full, m_b, K_b, K_g, mode, s, ys, xn, ngn, nx, SMX_ELEM_F32);
}
#undef SUM_BLOCK
/* the guess for the next block, from the state so far (none before a block in range: K_b - K_g > SHIFT_SPAN) */
static inline int32_t shift_guess(const smx_lse *s) { return s->in ? smx_exp_k(s->m) - SHIFT_GUESS : -(1 << 30); }

/* ---- rows whose max is beyond +-SMX_SHIFT_MAX: the TwoSum exp of the reference in registers ---- */
/* smx_exp_reduced */
static inline vf vexp_reduced(vf d, vf lo, vf magic, vf cut) {
  vf t, r = vadd(vexp_arg(d, magic, &t), lo);
  return vsel0(vge(d, cut), vexp2add(vfma(vexp_q(r), r, vset(1.0f)), t));
}
/* The TwoSum x - c of these exps where |c| >= 2^16 - 44 (a max, or c_hi = RN(max + log(K + R)), beyond
   +-SMX_SHIFT_MAX): wherever the exp is kept (d >= the cut, so |x - c| < 132 < |c| / 2) x - c is exact (Sterbenz),
   and TwoSum's low part is +0, so the plain difference and a +0 low part give the same bits; elsewhere both give +0. */
/* smx_lse_block_plain (lanes i % 64, the same tree; a tail's -inf lanes add +0); far: |m_b| > SMX_SHIFT_MAX */
SMX_FLATTEN void plain_sums_e(const void *x, size_t len, float m_b, double *k_b, double *r_b, const int far,
                              const int e) {
  const vf vmb = vset(m_b), nmb = vset(-m_b), magic = vset(SMX_SUM_MAGIC), cut = vset(SMX_SUM_CUT);
  vf l[NACC];
  for (int q = 0; q < NACC; q++) l[q] = vzero();
  vi K = vcount_zero();
  for (size_t i = 0; i < len; i += SMX_LANES)
    for (int q = 0; q < NACC && i + (size_t)q * VW < len; q++) {
      const size_t j = i + (size_t)q * VW;
      vf v = ld_e_n(x, j, step_count(len, j), -INFINITY, e), lo = vzero();
      vf d = far ? vsub(v, vmb) : vtwo_diff(v, vmb, nmb, &lo);
      vm tie = veq(v, vmb);
      K = vcount_add(K, tie);
      l[q] = vadd_unless(l[q], tie, vexp_reduced(d, lo, magic, cut));
    }
  *k_b = (double)vcount_sum(K);
  *r_b = FN(tree_sum_used)(l, steps_used(len)) * SMX_SUM_UNSCALE;
}
SMX_FLATTEN void lse_block_plain_e(const void *x, size_t len, float m_b, double *k_b, double *r_b, const int e) {
  if (m_b > SMX_SHIFT_MAX || m_b < -SMX_SHIFT_MAX) plain_sums_e(x, len, m_b, k_b, r_b, 1, e);
  else plain_sums_e(x, len, m_b, k_b, r_b, 0, e);
}
/* smx_lse_block_low (a 16-bit block's values widened in the loads). Its sum against K = K(-2^16) keeps entries with
   n - (K - 64) >= -125 only, x >= about -2^16 - 131.4: below -2^16 - 256 it is +0 (lanes from +0 adding +0) unsummed. */
SMX_FLATTEN void lse_block_low_e(const void *x, size_t len, float m_b, smx_lse *s, const int e) {
  double k, Se, Sa = 0.0, kp, r;
  if (m_b >= -SMX_SHIFT_MAX - 256.0f) {
    const float magic = smx_shift_magic(smx_exp_k(-SMX_SHIFT_MAX) - SMX_SUM_BIAS);
    blockmax a;
    bm_init(&a);
    sum_block_e(x, len, len / SMX_LANES * SMX_LANES, m_b, magic, SMX_KEEP_SUM, 0, 0, &k, &Se, &Sa, NULL, NULL, 0, &a, e);
  }
  lse_block_plain_e(x, len, m_b, &kp, &r, e);
  smx_lse_add_low(s, m_b, Sa, kp, r);
}
/* smx_softmax_exp of a finite row that is not shifted: its constants and one step */
typedef struct {
  vf ch, mclo; /* mclo = +0 - c_lo: TwoSum's low part +0 less c_lo */
  int narrow;  /* |c_lo| <= SMX_CLO_SMALL: smx_exp_core, else smx_exp_core_wide */
} wexp_c;
static inline wexp_c wexp_consts(const smx_lse_final *f) {
  return (wexp_c){vset(f->c_hi), vsub(vzero(), vset(f->c_lo)), f->c_lo <= SMX_CLO_SMALL && f->c_lo >= -SMX_CLO_SMALL};
}
/* (x - c_hi without TwoSum: the row's |max| > SMX_SHIFT_MAX, see plain_sums_e) */
static inline vf vsoftmax_exp(vf v, const wexp_c *w) {
  const vf d = vsub(v, w->ch);
  if (w->narrow) return vexp_reduced(d, w->mclo, vset(SMX_MAGIC), vset(SMX_EXP_CUT));
  vf lo2, s = w->mclo;
  vf d2 = vtwo_diff(d, vneg(s), s, &lo2); /* TwoSum(d, lo - c_lo) */
  /* smx_exp_core(d2, 0, -lo2): its TwoSum of d2 and 0 gives d2 and +0, so its reduced argument gets + (+0 + lo2),
     which is lo2 but where lo2 = -0 and the argument too (-0 + -0 for -0 + +0): exp(+-0) alike */
  return vexp_reduced(d2, lo2, vset(SMX_MAGIC), vset(SMX_EXP_CUT));
}
SMX_FLATTEN void softmax_exp_cols_e(size_t n, const void *x, void *y, const smx_lse_final *f, const int e) {
  const wexp_c w = wexp_consts(f);
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    st_e_n(y, i, vsoftmax_exp(ld_e_n(x, i, c, -INFINITY, e), &w), c, e);
  }
}

/* ---- pass 1 over a row, as smx_lse_row_scalar: block b's sums are interleaved with block b + 1's
   maxima (independent work that hides the latency between the two loops). With st, the row-pass values
   are stored to st->y and the K_s they were summed against to st->kb. ---- */
SMX_FLATTEN void lse_pass_e(size_t n, const void *x, smx_lse *sp, pass1_store *st, const int e) {
  smx_lse s = *sp;
  blockmax cur, nxt;
  size_t len = n < SMX_BLOCK ? n : SMX_BLOCK, ng = 0;
  bm_init(&cur);
  for (size_t i = 0; i + SMX_LANES <= len; i += SMX_LANES) bm_group_e(&cur, x, i, e);
  int32_t K_g = shift_guess(&s);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    const size_t full = len / SMX_LANES * SMX_LANES;
    int nanb;
    const float m = bm_finish_e(&cur, elem_at(x, b, e), len, full, e != SMX_ELEM_F32, &nanb, e);
    const size_t nb = b + SMX_BLOCK, nlen = nb < n ? (n - nb < SMX_BLOCK ? n - nb : SMX_BLOCK) : 0;
    ng = nlen / SMX_LANES; /* full groups of the next block */
    bm_init(&nxt);
    const int32_t K_b = smx_exp_k(m >= -SMX_SHIFT_MAX && m <= SMX_SHIFT_MAX ? m : 0.0f);
    const int mode = smx_lse_begin_block(&s, m, nanb);
    const int shifted = mode == SMX_BLK_MAX || mode == SMX_BLK_REST;
    float *yb = st ? smx_store_block(st, b / SMX_BLOCK) : NULL;
    const int kept = yb != NULL; /* (blocks not kept: nothing stored, no kb or mb) */
    if (kept) st->mb[b / SMX_BLOCK] = m;
    if (mode == SMX_BLK_NONE && yb) smx_fill(len, yb, 0.0f);
    if (st && (mode == SMX_BLK_PLAIN || mode == SMX_BLK_LOW)) st->complete = 0;
    int32_t K_s = STORE_NONE;
    if (shifted) {
      K_s = shifted_block_e(elem_at(x, b, e), len, full, m, K_b, K_g, mode, &s, yb, elem_at(x, nb, e), ng, &nxt, e);
    } else {
      if (mode == SMX_BLK_PLAIN) {
        double k, r;
        lse_block_plain_e(elem_at(x, b, e), len, m, &k, &r, e);
        smx_lse_add_block(&s, m, k, r);
      } else if (mode == SMX_BLK_LOW) {
        lse_block_low_e(elem_at(x, b, e), len, m, &s, e);
      }
      for (size_t g = 0; g < ng; g++) bm_group_e(&nxt, x, nb + g * SMX_LANES, e);
    }
    if (kept) st->kb[b / SMX_BLOCK] = K_s;
    if (mode == SMX_BLK_MAX) K_g = shift_guess(&s); /* the running max moves only here */
    /* a block shorter than SMX_BLOCK is the last one; otherwise all ng groups are done */
    cur = nxt;
    len = nlen;
  }
  *sp = s;
}
static void FN(lse_pass)(size_t n, const float *x, smx_lse *sp, pass1_store *st) {
  lse_pass_e(n, x, sp, st, SMX_ELEM_F32);
}
/* ---- pass 1 of a row of at most MF_BLOCKS blocks (64 KiB) for the kernels, not the public row
   states: every block's max first, so that only the blocks holding the row max count their ties and none
   needs the sum with them (the state's Mall stays empty: smx_lse_finish does not read it). The same bits
   as lse_pass: the same blocks go to R and Mex, each summed the same way (against its own K_b). Returns 0,
   having stored nothing, for rows with a NaN or a max beyond +-SMX_SHIFT_MAX (lse_pass then). Longer rows
   use lse_pass, whose next block's maxima interleave with the sums (a separate max pass cost more there from
   16 blocks on, 6-13% at 32000-128256 on Zen 5 avx512, and over 256 KiB chunks of rows from memory). ---- */
#define MF_BLOCKS 16
#define MF_SUM(ties, store) \
  sum_block_e(xb, len, full, mb[b], magic, SMX_KEEP_SUM, ties, store, &k, &Se, &Sa, yb, NULL, 0, &a, e)
#define MF_SUM_WIDENED(ties, store) \
  sum_block_e(yb, len, full, mb[b], magic, SMX_KEEP_SUM, ties, store, &k, &Se, &Sa, yb, NULL, 0, &a, SMX_ELEM_F32)
SMX_FLATTEN int lse_pass_maxfirst_e(size_t n, const void *x, smx_lse *s, pass1_store *st, const int e) {
  float mb[MF_BLOCKS], M = -INFINITY;
  const int wide = st && n <= WIDEN_ONCE_MAX && e != SMX_ELEM_F32 && !ORDER_X(e);
  for (size_t b = 0, i = 0; i < n; b++, i += SMX_BLOCK) {
    const size_t len = n - i < SMX_BLOCK ? n - i : SMX_BLOCK;
    blockmax a;
    int nanb;
    mb[b] = block_max_e(&a, elem_at(x, i, e), len, wide ? smx_store_block(st, b) : NULL, &nanb, e);
    if (nanb) return 0;
    M = smx_maxf(mb[b], M);
  }
  if (!(M >= -SMX_SHIFT_MAX && M <= SMX_SHIFT_MAX)) return 0;
  double kM = 0.0;
  for (size_t b = 0, i = 0; i < n; b++, i += SMX_BLOCK) {
    const size_t len = n - i < SMX_BLOCK ? n - i : SMX_BLOCK, full = len / SMX_LANES * SMX_LANES;
    const void *xb = elem_at(x, i, e);
    float *yb = st ? smx_store_block(st, b) : NULL;
    if (st) st->mb[b] = mb[b], st->kb[b] = STORE_NONE;
    if (mb[b] == -INFINITY) {
      if (yb) smx_fill(len, yb, 0.0f);
      continue;
    }
    if (mb[b] < -SMX_SHIFT_MAX) {
      lse_block_low_e(xb, len, mb[b], s, e);
      if (st) st->complete = 0;
      continue;
    }
    const int32_t K_b = smx_exp_k(mb[b]);
    const float magic = smx_shift_magic(K_b - SMX_SUM_BIAS);
    const int ties = mb[b] != M ? 0 : mb[b] != 0.0f ? 3 : 4;
    double k, Se, Sa;
    blockmax a;
    if (wide && yb) SUM_SPECIALIZED(MF_SUM_WIDENED, ties, 3, 4, 1);
    else SUM_SPECIALIZED(MF_SUM, ties, 3, 4, yb);
    if (st) st->kb[b] = K_b;
    if (ties) kM += k, smx_binsum_add(&s->Mex, Sa, K_b - SMX_SUM_BIAS); /* ties 3, 4: Sa is the sum without them */
    else smx_lse_end_rest(s, K_b, Sa);
  }
  s->m = M, s->k = kM, s->in = 1;
  return 1;
}
#undef MF_SUM
#undef MF_SUM_WIDENED
static int FN(lse_pass_maxfirst)(size_t n, const float *x, smx_lse *s, pass1_store *st) {
  return lse_pass_maxfirst_e(n, x, s, st, SMX_ELEM_F32);
}
/* A row of one block (n <= SMX_BLOCK) with no NaN and its max m in [-SMX_SHIFT_MAX, SMX_SHIFT_MAX], finished
   without a state: the max, then the sums without the ties against K = smx_exp_k(m) (as lse_pass_maxfirst_e sums
   the block), then smx_lse_finish_block. Returns 0, having done nothing, for other rows. */
#define ONE_SUM(ties, store) sum_block_e(x, n, full, m, magic, SMX_KEEP_SUM, ties, store, &k, &Se, &Sa, ys, NULL, 0, &a, e)
SMX_FLATTEN int lse_one_block_e(size_t n, const void *x, smx_lse_final *f, pass1_store *st, int need_log, const int e) {
  const size_t full = n / SMX_LANES * SMX_LANES;
  blockmax a;
  int nanb;
  const float m = block_max_e(&a, x, n, NULL, &nanb, e);
  if (nanb || !(m >= -SMX_SHIFT_MAX && m <= SMX_SHIFT_MAX)) return 0;
  const float magic = smx_shift_magic(smx_exp_k(m) - SMX_SUM_BIAS);
  const int ties = m != 0.0f ? 3 : 4;
  float *ys = st ? st->y : NULL;
  double k, Se, Sa;
  SUM_SPECIALIZED(ONE_SUM, ties, 3, 4, ys);
  if (st) st->mb[0] = m, st->kb[0] = smx_exp_k(m);
  smx_lse_finish_block(m, k, Sa, f, need_log); /* ties 3, 4: Sa is the sum without them */
  return 1;
}
#undef ONE_SUM
/* A row's pass 1 (max first where it applies), finished. f32 calls the out-of-line passes above (shared with
   lse_fold), the 16-bit rows inline their own copies. */
SMX_FLATTEN void lse_row_e(size_t n, const void *x, smx_lse_final *f, pass1_store *st, int need_log, const int e) {
  if (n <= SMX_BLOCK && lse_one_block_e(n, x, f, st, need_log, e)) return;
  smx_lse s;
  smx_lse_init(&s);
  if (n > (size_t)MF_BLOCKS * SMX_BLOCK ||
      !(e == SMX_ELEM_F32 ? FN(lse_pass_maxfirst)(n, x, &s, st) : lse_pass_maxfirst_e(n, x, &s, st, e))) {
    smx_lse_init(&s);
    if (st) st->complete = 1;
    if (e == SMX_ELEM_F32) FN(lse_pass)(n, x, &s, st);
    else lse_pass_e(n, x, &s, st, e);
  }
  smx_lse_finish(&s, f, need_log);
}
static void FN(lse_row)(size_t n, const float *x, smx_lse_final *f, pass1_store *st, int need_log) {
  lse_row_e(n, x, f, st, need_log, SMX_ELEM_F32);
}
/* the same for a row of 16-bit elements (e: SMX_ELEM_BF16 or SMX_ELEM_F16; st: the f32 pass-1 values to a scratch) */
static void FN(lse_row16)(size_t n, const uint16_t *x, smx_lse_final *f, pass1_store *st, int need_log, const int e) {
  if (e == SMX_ELEM_BF16) lse_row_e(n, x, f, st, need_log, SMX_ELEM_BF16);
  else lse_row_e(n, x, f, st, need_log, SMX_ELEM_F16);
}
/* the row state of x folded into s (the public row states, dispatch/shard.c; a long row's column ranges,
   dispatch/longrow.c, with st: softmax's pass-1 values stored) */
void FN(lse_fold)(size_t n, const float *x, smx_lse *s, pass1_store *st) {
  if (st) st->complete = 1;
  FN(lse_pass)(n, x, s, st);
}

/* one block (len <= SMX_BLOCK) folded into s, as smx_lse_block_scalar */
static void FN(lse_block)(const float *x, size_t len, smx_lse *s) {
  blockmax a;
  const size_t full = len / SMX_LANES * SMX_LANES;
  int nanb;
  const float m = block_max_e(&a, x, len, NULL, &nanb, SMX_ELEM_F32);
  const int32_t K_b = smx_exp_k(m >= -SMX_SHIFT_MAX && m <= SMX_SHIFT_MAX ? m : 0.0f), K_g = shift_guess(s);
  const int mode = smx_lse_begin_block(s, m, nanb);
  if (mode == SMX_BLK_MAX || mode == SMX_BLK_REST) {
    shifted_block(x, len, full, m, K_b, K_g, mode, s, NULL, NULL, 0, &a);
  } else if (mode == SMX_BLK_PLAIN) {
    double k, r;
    lse_block_plain_e(x, len, m, &k, &r, SMX_ELEM_F32);
    smx_lse_add_block(s, m, k, r);
  } else if (mode == SMX_BLK_LOW) {
    lse_block_low_e(x, len, m, s, SMX_ELEM_F32);
  }
}

/* ---- the per-row double math of up to 16 rows of one block, one per lane (rows 0-7 in the low vd, 8-15 in
   the high): from each row's max m (|m| <= 2^16), K = smx_exp_k(m), tie count k and sum S (the shifted state
   after its one block), what smx_lse_begin_block (T), smx_lse_finish (D; need_log: l, lse, c_hi, c_lo) and
   smx_softmax_out_init (out) compute, by the vector copies of dmath.c: the scalar code's operations. ---- */
typedef struct {
  vd T[2], D[2], l[2];
  vf lse, chi, clo;                /* need_log */
  vf magic, ohi, olo, emax, ymax; /* out: smx_softmax_out */
} row_consts;
static void FN(row_consts_of)(vf m, vf K, vf k, const vd *S, int need_log, int out, row_consts *c) {
  const int ties = many(vgt(k, vset(1.0f))); /* else log k = +0 and x / k = x: the same bits without them */
  for (int q = 0; q < 2; q++) {
    const vd mq = q ? dhi(m) : dlo(m), Kq = q ? dhi(K) : dlo(K), kq = q ? dhi(k) : dlo(k);
    c->T[q] = dmul(dset(0x1p64), dexp64_in(dsub(dsub(mq, dmul(Kq, dset(SMX_LN2_HI64))), dmul(Kq, dset(SMX_LN2_LO64)))));
    c->D[q] = dadd(dmul(kq, c->T[q]), S[q]);
    if (need_log) {
      const vd r = ddiv(S[q], c->T[q]);
      c->l[q] = dadd(ties ? dlog64_pos(kq) : dset(0.0), dlog1p64_pos(ties ? ddiv(r, kq) : r));
    }
  }
  if (need_log) {
    c->lse = vflush(dpack(dadd(dlo(m), c->l[0]), dadd(dhi(m), c->l[1])));
    c->chi = vsel(veq(c->lse, vset(INFINITY)), vset(0x1.fffffep127f), c->lse);
    c->clo = vflush(dpack(dadd(dsub(dlo(m), dlo(c->chi)), c->l[0]), dadd(dsub(dhi(m), dhi(c->chi)), c->l[1])));
  }
  if (out) {
    const vd c0 = ddiv(dset(0x1p64), c->D[0]), c1 = ddiv(dset(0x1p64), c->D[1]);
    c->ohi = dpack(c0, c1);
    const vf lo = dpack(dsub(c0, dlo(c->ohi)), dsub(c1, dhi(c->ohi)));
    c->olo = vsel(vlt(vabs(lo), vmul(c->ohi, vset(0x1p-30f))), vzero(), lo);
    c->magic = vsub(vset(SMX_MAGIC), vsub(K, vset((float)SMX_OUT_BIAS)));
    vf t, p = vexp_shift(m, c->magic, &t);
    c->emax = vexp2add_if(vbits_ge(t, SMX_KEEP_OUT), p, t);
    c->ymax = dpack(ddiv(c->T[0], c->D[0]), ddiv(c->T[1], c->D[1]));
  }
}
/* smx_exp_k(m) of each lane, and the magic constant of the row pass (smx_shift_magic(K - SMX_SUM_BIAS)) */
static inline vf vexp_k(vf m) { return vsub(vfma(m, vset(SMX_LOG2E), vset(SMX_MAGIC)), vset(SMX_MAGIC)); }
static inline vf sum_magic(vf K) { return vsub(vset(SMX_MAGIC), vsub(K, vset((float)SMX_SUM_BIAS))); }

/* ---- rows of one block (n <= SMX_BLOCK), SR_ROWS at a time: pass 1 row by row, the double math in one lane
   per row (row_consts_of); rows with a NaN or a max beyond +-SMX_SHIFT_MAX are left to the row path. ---- */
#define SR_ROWS VW
typedef struct {
  float fast[SR_ROWS]; /* 1: row r is done here; 0: the row path */
  smx_lse_final f[SR_ROWS];
  smx_softmax_out o[SR_ROWS]; /* with out */
} short_rows;
/* Rows [0, g) of x (elements e); with ys, each row's pass-1 values are stored in its row of ys (softmax's pass 2
   rescales them); need_log: f's l, lse, c_hi, c_lo; out: o. */
SMX_FLATTEN void short_rows_state_e(size_t g, size_t n, const void *x, size_t ldx, float *ys, size_t ldys, int need_log,
                                    int out, short_rows *sr, const int e) {
  float m[VW], K[VW], k[VW], magic_sum[VW];
  double S[SR_ROWS];
  const size_t full = n / SMX_LANES * SMX_LANES;
  for (size_t r = 0; r < SR_ROWS; r++) m[r] = 0.0f, k[r] = 1.0f, S[r] = 0.0; /* idle lanes */
  blockmax a;
  for (size_t r = 0; r < g; r++) {
    int nan;
    const float mr = block_max_e(&a, elem_at(x, r * ldx, e), n, NULL, &nan, e);
    sr->fast[r] = !nan && mr >= -SMX_SHIFT_MAX && mr <= SMX_SHIFT_MAX ? 1.0f : 0.0f;
    if (sr->fast[r]) m[r] = mr;
  }
  const vf vmx = vld(m), vK = vexp_k(vmx);
  vst(K, vK), vst(magic_sum, sum_magic(vK));
  for (size_t r = 0; r < g; r++) {
    if (!sr->fast[r]) continue;
    /* one block: its own K, its ties counted, S = the sum without them (the binned sum of one term is it) */
    const void *xr = elem_at(x, r * ldx, e);
    const void *xnext = (const void *)elem_addr(xr, g * ldx, e); /* (may point anywhere) */
    const float mr = m[r], magic_r = magic_sum[r];
    float *yr = ys ? ys + r * ldys : NULL;
    double kr, Sa;
#define SR_SUM(ties, store) \
  sum_block_e(xr, n, full, mr, magic_r, SMX_KEEP_SUM, ties, store, &kr, &Sa, &S[r], yr, xnext, 0, NULL, e)
    SUM_SPECIALIZED(SR_SUM, mr != 0.0f ? 3 : 4, 3, 4, yr); /* (never ties 0 here) */
#undef SR_SUM
    k[r] = (float)kr; /* k <= 1024: exact */
  }
  row_consts c;
  const vd Sv[2] = {dld(S), dld(S + 8)};
  FN(row_consts_of)(vmx, vK, vld(k), Sv, need_log, out, &c);
  double T[SR_ROWS], D[SR_ROWS], l[SR_ROWS];
  float lse[VW], chi[VW], clo[VW], magic[VW], ohi[VW], olo[VW], emax[VW], ymax[VW];
  dst(T, c.T[0]), dst(T + 8, c.T[1]), dst(D, c.D[0]), dst(D + 8, c.D[1]);
  if (need_log) dst(l, c.l[0]), dst(l + 8, c.l[1]), vst(lse, c.lse), vst(chi, c.chi), vst(clo, c.clo);
  if (out) vst(magic, c.magic), vst(ohi, c.ohi), vst(olo, c.olo), vst(emax, c.emax), vst(ymax, c.ymax);
  for (size_t r = 0; r < g; r++) {
    if (!sr->fast[r]) continue;
    smx_lse_final *f = &sr->f[r];
    memset(f, 0, sizeof *f);
    f->kind = SMX_ROW_FINITE, f->m = m[r], f->k = k[r], f->shifted = 1, f->K = (int32_t)K[r], f->T = T[r], f->D = D[r];
    if (need_log) f->l = l[r], f->lse = lse[r], f->c_hi = chi[r], f->c_lo = clo[r];
    if (out) sr->o[r] = (smx_softmax_out){magic[r], ohi[r], olo[r], emax[r], ymax[r]};
  }
}

static void FN(short_rows_state16)(size_t g, size_t n, const void *x, size_t ldx, float *ys, size_t ldys, int need_log,
                                   int out, short_rows *sr, int e) {
  if (e == SMX_ELEM_BF16) short_rows_state_e(g, n, x, ldx, ys, ldys, need_log, out, sr, SMX_ELEM_BF16);
  else short_rows_state_e(g, n, x, ldx, ys, ldys, need_log, out, sr, SMX_ELEM_F16);
}
/* (e a variable: the f32 kernel's own copy, and one for the 16-bit types) */
static void FN(short_rows_state)(size_t g, size_t n, const void *x, size_t ldx, float *ys, size_t ldys, int need_log,
                                 int out, short_rows *sr, int e) {
  if (e == SMX_ELEM_F32) short_rows_state_e(g, n, x, ldx, ys, ldys, need_log, out, sr, SMX_ELEM_F32);
  else FN(short_rows_state16)(g, n, x, ldx, ys, ldys, need_log, out, sr, e);
}

/* row_consts_of of the rows of a lane or register group (maxima m, K = vexp_k(m), tie counts k, sums S), with
   need_log the rows whose l < 2^-125 (log-softmax's flush), with out the constants of the stored values
   (rescale_consts(o, 36)) */
static void FN(lanes_consts)(vf m, vf K, vf k, lane_dsum S, int need_log, int out, row_consts *c, vm *lflush,
                             outc *oc) {
  const vd Sv[2] = {S.lo, S.hi};
  FN(row_consts_of)(m, K, k, Sv, need_log, out, c);
  if (need_log) {
    const vd tiny = dset(0x1p-125);
    *lflush = mpack(dlt(c->l[0], tiny), dlt(c->l[1], tiny));
  }
  if (out) {
    const vf f = vset(0x1p36f);
    *oc = (outc){vmul(c->ohi, f), vmul(c->olo, f), vdiv(c->emax, f), c->ymax};
  }
}

/* ---- rows of at most LANE_ROWS_MAX entries, VW rows at a time, one row per lane (the rows transposed into
   columns): the steps of short_rows_state on the same values, entry i in virtual lane i % 64 of its row, each
   lane tree a tree over the columns. ---- */
#define LANE_ROWS_MAX SMX_LANE_ROWS_MAX
typedef struct {
  vf col[LANE_ROWS_MAX]; /* col[i] lane r: entry i of row r (-inf past n or past the rows) */
  vf e[LANE_ROWS_MAX];   /* pass 1 values of column i (ties too), as stored by sum_block */
  float fast[VW];        /* 1: row r is done here; 0: the row path */
  vf m;                  /* the row maxima (0 in the rows left to the row path) */
  row_consts c;
  vm lflush;             /* need_log: rows whose l < 2^-125 */
  outc oc;               /* out: the rescale constants of the stored values (rescale_consts(o, 36)) */
} lane_rows;
/* The lane trees of lane_rows_state, depth first (their nodes stay in registers): level h = 32 at the leaves (lanes
   i and i + 32), then each level h combines node i + h into node i where i + h < nl, as tree_max / tree_sum_used.
   The max tree over the columns (lane j: entries j, then j + 64), and the sum tree in double of the lanes' sums
   without the ties (lo: rows 0-7, hi: rows 8-15). */
SMX_FLATTEN vf lane_max(const lane_rows *L, size_t j, size_t n) {
  return j + SMX_LANES < n ? vmax(L->col[j + SMX_LANES], L->col[j]) : L->col[j];
}
SMX_FLATTEN vf max_tree32(const lane_rows *L, size_t i, size_t n, size_t nl, vf m) {
  (void)m;
  const vf a = lane_max(L, i, n);
  return i + SMX_LANES / 2 < nl ? vmax(a, lane_max(L, i + SMX_LANES / 2, n)) : a;
}
SMX_FLATTEN vf lane_sum(const lane_rows *L, size_t j, size_t n, vf m) {
  const vf a = vadd_unless(vzero(), veq(L->col[j], m), L->e[j]);
  return j + SMX_LANES < n ? vadd_unless(a, veq(L->col[j + SMX_LANES], m), L->e[j + SMX_LANES]) : a;
}
SMX_FLATTEN lane_dsum sum_tree32(const lane_rows *L, size_t i, size_t n, size_t nl, vf m) {
  const vf a = lane_sum(L, i, n, m);
  lane_dsum s = {dlo(a), dhi(a)};
  if (i + SMX_LANES / 2 < nl) {
    const vf b = lane_sum(L, i + SMX_LANES / 2, n, m);
    s = lane_dsum_add(s, (lane_dsum){dlo(b), dhi(b)});
  }
  return s;
}
#define LANE_TREE(T, name, child, h, op)                                                     \
  SMX_FLATTEN T name(const lane_rows *L, size_t i, size_t n, size_t nl, vf m) {              \
    const T a = child(L, i, n, nl, m);                                                       \
    return i + (h) < nl ? op(a, child(L, i + (h), n, nl, m)) : a;                            \
  }
LANE_TREE(vf, max_tree16, max_tree32, 16, vmax)
LANE_TREE(vf, max_tree8, max_tree16, 8, vmax)
LANE_TREE(vf, max_tree4, max_tree8, 4, vmax)
LANE_TREE(vf, max_tree2, max_tree4, 2, vmax)
LANE_TREE(vf, max_tree1, max_tree2, 1, vmax)
LANE_TREE(lane_dsum, sum_tree16, sum_tree32, 16, lane_dsum_add)
LANE_TREE(lane_dsum, sum_tree8, sum_tree16, 8, lane_dsum_add)
LANE_TREE(lane_dsum, sum_tree4, sum_tree8, 4, lane_dsum_add)
LANE_TREE(lane_dsum, sum_tree2, sum_tree4, 2, lane_dsum_add)
LANE_TREE(lane_dsum, sum_tree1, sum_tree2, 1, lane_dsum_add)
#undef LANE_TREE
SMX_FLATTEN void lane_rows_state_e(size_t g, size_t n, const void *x, size_t ldx, int need_log, int out, lane_rows *L,
                                   const int e) {
  vload_columns_e(g, n, x, ldx, L->col, e);
  /* entry i in lane i % 64, as bm_group; the lanes (entries j and j + 64) made where the trees' leaves read them,
     so that no 64-lane array is stored */
  vm nan = mzero();
  const size_t nl = n < SMX_LANES ? n : SMX_LANES;
  for (size_t i = 0; i < n; i++) nan = mor(nan, vnan(L->col[i]));
  const vf mx = max_tree1(L, 0, n, nl, vzero()); /* tree_max; the lanes past n are -inf: max(a, -inf) = a */
  const vm fast = vge(vset(SMX_SHIFT_MAX), vabs(vsel(nan, vset(INFINITY), mx))); /* no NaN, |m| <= 2^16 */
  vst(L->fast, vsel0(fast, vset(1.0f)));
  const vf m = L->m = vsel0(fast, mx), K = vexp_k(m), magic = sum_magic(K);
  vf k = vzero();
  for (size_t i = 0; i < n; i++) { /* p1_step with ties compared as floats (bitwise for m != 0: the same) */
    vf t, p = vexp_shift(L->col[i], magic, &t);
    L->e[i] = vexp2add_if(vbits_ge(t, SMX_KEEP_SUM), p, t);
    k = vadd(k, vsel0(veq(L->col[i], m), vset(1.0f)));
  }
  FN(lanes_consts)(m, K, k, sum_tree1(L, 0, n, nl, m), need_log, out, &L->c, &L->lflush, &L->oc);
}

/* (x of element e: the rows widened in the columns' loads) */
static void FN(lane_rows_state)(size_t g, size_t n, const void *x, size_t ldx, int need_log, int out, lane_rows *L, int e) {
  if (e == SMX_ELEM_F32) lane_rows_state_e(g, n, x, ldx, need_log, out, L, SMX_ELEM_F32);
  else if (e == SMX_ELEM_BF16) lane_rows_state_e(g, n, x, ldx, need_log, out, L, SMX_ELEM_BF16);
  else lane_rows_state_e(g, n, x, ldx, need_log, out, L, SMX_ELEM_F16);
}

/* ---- rows of at most SMX_REG_ROWS_MAX entries, VW rows at a time, each row in registers (no transposes): the values
   of lane_rows_state, virtual lane j of a row in lane j % VW of its step j / VW (its entries j + 64, j + 128, ...
   added in float as lane_sum adds them), the sum tree's levels 32 and 16 across steps, 8 across the halves, 4, 2, 1
   by dhsum (lanes past n hold +0 there, which adds nothing: no sum is -0); the per-row double math in lanes as
   there. The maxima come first, so that a row's steps wait on nothing but their loads. ---- */
typedef struct {
  float e[VW * SMX_REG_ROWS_MAX]; /* out: row r's pass-1 values from e + r * es */
  size_t es;
  float fast[VW];                /* 1: row r is done here; 0: the row path */
  vf m;                          /* the row maxima (0 in the rows left to the row path) */
  row_consts c;
  float lg[3][VW];               /* need_log: row r's c_hi, c_lo and 1 where log-softmax flushes it, in lane r */
  float oc[4][VW];               /* out: row r's outc (chi, clo, emax, ymax) in lane r */
} reg_rows;
SMX_FLATTEN void reg_rows_state_e(size_t g, size_t n, const void *x, size_t ldx, int need_log, int out, reg_rows *R,
                                  const int e) {
  float m[VW], k[VW], magic[VW];
  double S[VW];
  const size_t steps = (n + VW - 1) / VW;
  R->es = steps * VW;
  for (size_t r = 0; r < VW; r++) m[r] = 0.0f, k[r] = 1.0f, S[r] = 0.0, R->fast[r] = 0.0f; /* idle lanes */
  for (size_t r = 0; r < g; r++) {
    vf mx = vset(-INFINITY);
    vm nan = mzero();
    for (size_t q = 0; q < steps; q++) {
      const vf v = ld_e_n(x, r * ldx + q * VW, step_count(n, q * VW), -INFINITY, e);
      mx = vmax(mx, v), nan = mor(nan, vnan(v));
    }
    const float mr = vhmax(mx);
    if (!many(nan) && mr >= -SMX_SHIFT_MAX && mr <= SMX_SHIFT_MAX) R->fast[r] = 1.0f, m[r] = mr;
  }
  const vf vmx = R->m = vld(m), vK = vexp_k(vmx);
  vst(magic, sum_magic(vK));
  for (size_t r = 0; r < g; r++) {
    if (R->fast[r] == 0.0f) continue;
    const vf vmr = vset(m[r]), vmagic = vset(magic[r]);
    vf a[SMX_LANES / VW] = {vzero(), vzero(), vzero(), vzero()}; /* lane_sum's 0 + e for the first entry */
    size_t ties = 0;
    for (size_t q0 = 0; q0 < steps; q0 += SMX_LANES / VW)
      for (size_t j = 0; j < SMX_LANES / VW; j++) { /* (unrolled: a in registers) */
        const size_t q = q0 + j;
        if (q >= steps) break;
        const vf v = ld_e_n(x, r * ldx + q * VW, step_count(n, q * VW), -INFINITY, e);
        prefetch_e(x, (g + r) * ldx + q * VW, e);
        vf t, p = vexp_shift(v, vmagic, &t);
        const vf ev = vexp2add_if(vbits_ge(t, SMX_KEEP_SUM), p, t);
        const vm tie = veq(v, vmr);
        if (out) vst(R->e + r * R->es + q * VW, ev);
        ties += mcount(tie);
        a[j] = vadd_unless(a[j], tie, ev);
      }
    k[r] = (float)ties;
    const vd lo = dadd(dadd(dlo(a[0]), dlo(a[2])), dadd(dlo(a[1]), dlo(a[3])));
    const vd hi = dadd(dadd(dhi(a[0]), dhi(a[2])), dadd(dhi(a[1]), dhi(a[3])));
    S[r] = dhsum(dadd(lo, hi));
  }
  vm lflush;
  outc oc;
  FN(lanes_consts)(vmx, vK, vld(k), (lane_dsum){dld(S), dld(S + VW / 2)}, need_log, out, &R->c, &lflush, &oc);
  if (need_log) vst(R->lg[0], R->c.chi), vst(R->lg[1], R->c.clo), vst(R->lg[2], vsel0(lflush, vset(1.0f)));
  if (out) vst(R->oc[0], oc.chi), vst(R->oc[1], oc.clo), vst(R->oc[2], oc.emax), vst(R->oc[3], oc.ymax);
}
static void FN(reg_rows_state)(size_t g, size_t n, const void *x, size_t ldx, int need_log, int out, reg_rows *R,
                               int e) {
  SMX_ELEM_CALL(e, reg_rows_state_e, g, n, x, ldx, need_log, out, R);
}
/* row r's output constants and pass-1 values */
static inline outc reg_outc(const reg_rows *R, size_t r) {
  return (outc){vset(R->oc[0][r]), vset(R->oc[1][r]), vset(R->oc[2][r]), vset(R->oc[3][r])};
}
static inline const float *reg_e(const reg_rows *R, size_t r) { return R->e + r * R->es; }
/* the outputs of a register group of softmax and of log-softmax (elements e) */
SMX_FLATTEN void softmax_reg_out_e(size_t g, size_t n, const reg_rows *R, void *y, size_t ldy, const int e) {
  for (size_t r = 0; r < g; r++) {
    if (R->fast[r] == 0.0f) continue;
    const outc c = reg_outc(R, r);
    for (size_t i = 0; i < n; i += VW) {
      prefetch_out_e(y, (g + r) * ldy + i, e);
      st_e_xn_num(y, r * ldy + i, out_from_e_if(vld(reg_e(R, r) + i), &c, 1), step_count(n, i), 0, e);
    }
  }
}
SMX_FLATTEN void log_softmax_reg_out_e(size_t g, size_t n, const void *x, size_t ldx, const reg_rows *R, void *y,
                                       size_t ldy, const int e) {
  for (size_t r = 0; r < g; r++) {
    if (R->fast[r] == 0.0f) continue;
    const vf chi = vset(R->lg[0][r]), nch = vneg(chi), clo = vset(R->lg[1][r]);
    const int flush = R->lg[2][r] != 0.0f;
    for (size_t i = 0; i < n; i += VW) {
      const size_t c = step_count(n, i);
      const vf v = logsm(ld_e_n(x, r * ldx + i, c, 0.0f, e), chi, nch, clo);
      prefetch_out_e(y, (g + r) * ldy + i, e);
      if (flush) st_e_n(y, r * ldy + i, vflush(v), c, e); /* smx_log_softmax_flush */
      else st_e_xn_num(y, r * ldy + i, v, c, 0, e);
    }
  }
}

/* ---- softmax pass 2 (smx_softmax_one), from x ---- */
/* its pairs of steps from i on (nt: streamed); returns where they stop */
SMX_FLATTEN size_t softmax_pass2_steps(size_t n, size_t i, const void *x, void *y, vf magic, const outc *c,
                                       const int nt, const int e) {
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf a0 = out_one(ld_e_x(x, i, e), magic, c), a1 = out_one(ld_e_x(x, i + VW, e), magic, c);
    st_num_x_nt(y, i, a0, nt, e), st_num_x_nt(y, i + VW, a1, nt, e);
  }
  return i;
}
SMX_FLATTEN void softmax_pass2_e(size_t n, const void *x, void *y, const smx_softmax_out *o, const int e) {
  const outc c = outc_init(o);
  const vf magic = vset(o->magic);
  const size_t h = split_at_boundary(n, y, e);
  size_t i;
  if (stream_out(n - h, elem_at(y, h, e), e)) { /* streamed: the entries before y's vector boundary first */
    if (h) st_e_xn_num(y, 0, out_one(ld_e_n(x, 0, h, -INFINITY, e), magic, &c), h, 0, e);
    i = softmax_pass2_steps(n, h, x, y, magic, &c, 1, e);
  } else {
    i = softmax_pass2_steps(n, 0, x, y, magic, &c, 0, e);
  }
  for (; i < n; i += VW) {
    const size_t cnt = step_count(n, i);
    st_e_xn_num(y, i, out_one(ld_e_n(x, i, cnt, -INFINITY, e), magic, &c), cnt, 0, e);
  }
}
static void FN(softmax_pass2)(size_t n, const float *x, float *y, const smx_softmax_out *o) {
  softmax_pass2_e(n, x, y, o, SMX_ELEM_F32);
}

/* ---- softmax pass 2 from the stored row-pass values s = e 2^-d of smx_softmax_one, d = K_b - K + 36:
   e = s 2^d is exact wherever smx_softmax_one keeps e (there n - K >= -160, so e is normal); where it
   does not, s 2^d < 2^-59.5 gives z < 2^-26, the same +0. For d >= -60 the factor goes into the
   constants instead (c_hi 2^d, c_lo 2^d stay normal, and e_max 2^-d is exact, or +inf for d < -27,
   where every s 2^d is far below e_max); a block with d < -126 holds only n - K < -160: zeros. ---- */
/* With xg, the cross-entropy gradient fma(A, p, -B w_j) (smx_xent_softmax_row before the target entry), flushed (the
   FLT_MIN rule, the NaN's: st_e_flush_nan_n) by its store, st_out (one test in place of the flush and the 16-bit
   store's own). */
typedef struct {
  vf va, vb;
  const float *cw; /* class weights of the block, or NULL */
} xgrad;
SMX_FLATTEN vf rescale_out(vf s, const outc *c, const xgrad *xg, size_t i, size_t cnt, const int maxcheck, const int xo) {
  vf p = out_from_e_if(s, c, maxcheck);
  if (!xg) return p;
  vf nb = vneg(xg->cw ? vmul(xg->vb, xo ? vld_x(xg->cw + i) : vld_n(xg->cw + i, cnt, 0.0f)) : xg->vb);
  return vfma(xg->va, p, nb);
}
SMX_FLATTEN void st_out(void *q, size_t i, vf v, size_t c, int xo, const xgrad *xg, const int e) {
  if (!xg) st_e_xn_num(q, i, v, c, xo, e);
  else if (xo) st_e_x_flush_nan(q, i, v, e);
  else st_e_flush_nan_n(q, i, v, c, e);
}
/* len stored values at p (blocks of the same d >= -60), with their constants cb, to entries q0.. of q (element e;
   f32: q + q0 == p). Pass 1 stored the first xe of them (the row's full groups of 64) as it loaded them: in the
   vocabulary's order (ld_e_x), so they go out by st_e_x. */
SMX_FLATTEN size_t rescale_pairs(const float *p, void *q, size_t q0, size_t i, size_t end, const outc *cb,
                                 const xgrad *xg, const int maxcheck, const int xo, const int e) {
  for (; i + 2 * VW <= end; i += 2 * VW) {
    vf a0 = rescale_out(vld(p + i), cb, xg, i, VW, maxcheck, xo);
    vf a1 = rescale_out(vld(p + i + VW), cb, xg, i + VW, VW, maxcheck, xo);
    st_out(q, q0 + i, a0, VW, xo, xg, e), st_out(q, q0 + i + VW, a1, VW, xo, xg, e);
  }
  return i;
}
/* rescale_pairs from i in step order, then the tail */
SMX_FLATTEN void rescale_steps(const float *p, void *q, size_t q0, size_t i, size_t len, const outc *cb, const xgrad *xg,
                               const int maxcheck, const int e) {
  i = rescale_pairs(p, q, q0, i, len, cb, xg, maxcheck, 0, e);
  for (; i < len; i += VW) {
    const size_t c = step_count(len, i);
    st_out(q, q0 + i, rescale_out(vld_n(p + i, c, 0.0f), cb, xg, i, c, maxcheck, 0), c, 0, xg, e);
  }
}
SMX_FLATTEN void rescale_block(const float *p, void *q, size_t q0, size_t len, size_t xe, const outc *cb, const xgrad *xg,
                               const int maxcheck, const int e) {
  const size_t i = rescale_pairs(p, q, q0, 0, xe, cb, xg, maxcheck, ORDER_X(e), e); /* xe: a multiple of 64 */
  const size_t h = split_at_boundary(len, p, e);
  if (h == 0) {
    rescale_steps(p, q, q0, i, len, cb, xg, maxcheck, e);
    return;
  }
  /* f32, in place (p = q + q0): the entries before the next vector boundary first */
  st_out(q, q0, rescale_out(vld_n(p, h, 0.0f), cb, xg, 0, h, maxcheck, 0), h, 0, xg, e);
  xgrad xgh;
  if (xg) xgh = (xgrad){xg->va, xg->vb, xg->cw ? xg->cw + h : NULL};
  rescale_steps(p + h, q, q0 + h, 0, len - h, cb, xg ? &xgh : NULL, maxcheck, e);
}
/* the constants of a block stored with d >= -60 */
static inline outc rescale_consts(const smx_softmax_out *o, int32_t d) {
  const float f = smx_u2f((uint32_t)(d + 127) << 23); /* 2^d */
  return (outc){vset(o->c_hi * f), vset(o->c_lo * f), vset(d >= -27 ? o->e_max / f : INFINITY), vset(o->y_max)};
}
/* A block whose max m_b is below m - 2^-8 (m the row max) has no e equal to e_max: every e there
   is at most e(m_b) (1 + 2^-22) < e(m) exp(-2^-8) (1 + 2^-22) < e_max, so its pass skips that test
   (two of its operations per vector); d < -60 blocks (e < 2^-60 e_max) never need it. */
/* block b's d (its K_b against the row's K) and whether its pass needs the max test */
static inline int32_t block_d(const pass1_store *st, size_t b, int32_t K) {
  return st->kb[b] == STORE_NONE ? -1000 : st->kb[b] - K + 36;
}
static inline int block_maxcheck(const pass1_store *st, size_t b, int32_t d, float m) {
  return d >= -60 && st->mb[b] >= m - 0x1p-8f;
}
/* len stored values p of blocks with the same d and max test, to entries i0.. of q (element e; c: outc_init(o));
   down: last step first, each step's loads before its stores in the compiled order too (the 16-bit rows' values
   kept in their own output: store_hi); the row's entries before xend were stored in the vocabulary's order */
SMX_FLATTEN void rescale_span(const float *p, void *q, size_t i0, size_t len, size_t xend, int32_t d, int maxcheck,
                              const smx_softmax_out *o, const outc *c, const xgrad *xg0, const int down, const int e) {
  const size_t xe = !ORDER_X(e) || xend <= i0 ? 0 : xend - i0 < len ? xend - i0 : len;
  xgrad xgb;
  const xgrad *xg = NULL;
  if (xg0) xgb = (xgrad){xg0->va, xg0->vb, xg0->cw ? xg0->cw + i0 : NULL}, xg = &xgb;
  const outc cb = d >= -60 ? rescale_consts(o, d) : *c;
  const vf fb = vset(d >= -126 ? (float)smx_pow2(d) : 0.0f);
  if (down) {
    for (size_t i = (len + VW - 1) / VW * VW; i > 0;) {
      i -= VW;
      const size_t cnt = step_count(len, i);
      /* the float loads and the 16-bit stores share bytes: no store may move above an earlier step's loads, whatever
         the compiler's type-based alias rules say (a compiler barrier, no instruction) */
      __asm__ volatile("" ::: "memory");
      const vf s = vld_n(p + i, cnt, 0.0f);
      const int xo = i < xe;
      const vf v = d < -60 ? rescale_out(vmul(s, fb), c, xg, i, cnt, 0, xo)
                           : maxcheck ? rescale_out(s, &cb, xg, i, cnt, 1, xo) : rescale_out(s, &cb, xg, i, cnt, 0, xo);
      st_out(q, i0 + i, v, cnt, xo, xg, e);
    }
  } else if (d >= -60) {
    if (maxcheck) rescale_block(p, q, i0, len, xe, &cb, xg, 1, e);
    else rescale_block(p, q, i0, len, xe, &cb, xg, 0, e);
  } else {
    for (size_t i = 0; i < len; i += VW) {
      const size_t cnt = step_count(len, i);
      const int xo = i < xe;
      st_out(q, i0 + i, rescale_out(vmul(vld_n(p + i, cnt, 0.0f), fb), c, xg, i, cnt, 0, xo), cnt, xo, xg, e);
    }
  }
}
/* (the stored values ys, the outputs to q of element e: the 16-bit softmax rows keep theirs in a scratch) */
SMX_FLATTEN void softmax_rescale_e(size_t n, const float *ys, void *q, const pass1_store *st, float m, int32_t K,
                                   const smx_softmax_out *o, const xgrad *xg0, const int e) {
  const outc c = outc_init(o);
  const size_t nb = (n + SMX_BLOCK - 1) / SMX_BLOCK;
  for (size_t b = 0, b1; b < nb; b = b1) {
    /* a run of blocks with the same d and the same max test is one span (one loop exit, not one per block) */
    const int32_t d = block_d(st, b, K);
    const int maxcheck = block_maxcheck(st, b, d, m);
    for (b1 = b + 1; b1 < nb && st->kb[b1] == st->kb[b] && (d < -60 || block_maxcheck(st, b1, d, m) == maxcheck); b1++)
      continue;
    const size_t i0 = b * SMX_BLOCK, len = (b1 * SMX_BLOCK < n ? b1 * SMX_BLOCK : n) - i0;
    rescale_span(ys + i0, q, i0, len, n / SMX_LANES * SMX_LANES, d, maxcheck, o, &c, xg0, 0, e);
  }
}
static void FN(softmax_rescale)(size_t n, float *y, const pass1_store *st, float m, int32_t K, const smx_softmax_out *o,
                            const xgrad *xg0) {
  softmax_rescale_e(n, y, y, st, m, K, o, xg0, SMX_ELEM_F32);
}

/* softmax's pass 2 of a shifted row: the stored pass-1 values rescaled (st, complete) or from x */
static void FN(softmax_out)(size_t n, const float *x, float *y, const pass1_store *st, const smx_lse_final *f,
                        const smx_softmax_out *o) {
  if (st && st->complete) FN(softmax_rescale)(n, y, st, f->m, f->K, o, NULL);
  else FN(softmax_pass2)(n, x, y, o);
}
/* the store of a row of one block whose pass 1 (short_rows_state) wrote its values to y against the row's K */
static inline void one_block_store(pass1_store *st, float *y, const smx_lse_final *f) {
  smx_store_init(st, y, 1);
  st->kb[0] = f->K, st->mb[0] = f->m;
}

static void FN(softmax_row)(size_t n, const float *x, float *y) {
  smx_lse_final f;
  pass1_store st;
  /* store when y is not x (pass 2 may need x) and the row has few enough blocks */
  const int store = y != x && n <= (size_t)STORE_MAX_BLOCKS * SMX_BLOCK;
  smx_store_init(&st, y, STORE_MAX_BLOCKS);
  FN(lse_row)(n, x, &f, store ? &st : NULL, 0);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 0);
    return;
  }
  if (!f.shifted) { /* |max| > 2^16 */
    softmax_exp_cols_e(n, x, y, &f, SMX_ELEM_F32);
    return;
  }
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  FN(softmax_out)(n, x, y, store ? &st : NULL, &f, &o);
}

/* log_softmax_out_io's steps from i on, 4 at a time (nt: streamed); returns where they stop */
SMX_FLATTEN size_t log_softmax_steps(size_t n, size_t i, const void *x, void *y, vf ch, vf nch, vf clo, int inner,
                                     const int nt, const int ein, const int e) {
  for (; i + 4 * VW <= n; i += 4 * VW)
    for (size_t j = 0; j < 4; j++) {
      const vf v = ld_e_x(x, i + j * VW, ein);
      const vf r = inner && !many(vlt(v, nch)) ? logsm_inner(v, ch, clo) : logsm(v, ch, nch, clo);
      st_num_x_nt(y, i + j * VW, r, nt, e);
    }
  return i;
}
/* log-softmax of a finite row from its state, for tensors of element e (smx_log_softmax_flush's rule applied
   in registers, before a 16-bit store rounds); x of element ein (e, or a binary16 row widened into f32) */
SMX_FLATTEN void log_softmax_out_io(size_t n, const void *x, void *y, const smx_lse_final *f, const int ein,
                                    const int e) {
  const vf ch = vset(f->c_hi), nch = vset(-f->c_hi), clo = vset(f->c_lo);
  size_t i = 0;
  if (f->l < 0x1p-125) { /* the rare rows whose entries at the max are below FLT_MIN */
    for (; i < n; i += VW) {
      const size_t c = step_count(n, i);
      st_e_n(y, i, vflush(logsm(ld_e_n(x, i, c, 0.0f, ein), ch, nch, clo)), c, e);
    }
    return;
  }
  /* then each step whose entries are all >= -c_hi by logsm_inner (one test a step: on AVX2 one over 4 steps left the
     time as it was at 4096..8192, where per step it is 0.86-0.95x) */
  const int inner = logsm_inner_row(f->c_hi, f->m);
  i = split_at_boundary(n, y, e); /* (f32: the entries before y's next vector boundary first) */
  if (i) st_e_xn_num(y, 0, logsm(ld_e_n(x, 0, i, 0.0f, ein), ch, nch, clo), i, 0, e);
  if (stream_out(n - i, elem_at(y, i, e), e)) i = log_softmax_steps(n, i, x, y, ch, nch, clo, inner, 1, ein, e);
  else i = log_softmax_steps(n, i, x, y, ch, nch, clo, inner, 0, ein, e);
  for (; i < n; i += VW) {
    const size_t c = step_count(n, i);
    st_e_xn_num(y, i, logsm(ld_e_n(x, i, c, 0.0f, ein), ch, nch, clo), c, 0, e);
  }
}
SMX_FLATTEN void log_softmax_out_e(size_t n, const void *x, void *y, const smx_lse_final *f, const int e) {
  log_softmax_out_io(n, x, y, f, e, e);
}
static void FN(log_softmax_out)(size_t n, const float *x, float *y, const smx_lse_final *f) {
  log_softmax_out_e(n, x, y, f, SMX_ELEM_F32);
}

/* the output passes on column ranges of a long row split across threads (dispatch/longrow.c) */
void FN(softmax_cols)(size_t n, const float *x, float *y, const pass1_store *st, const smx_lse_final *f,
                      const smx_softmax_out *o) {
  if (f->shifted) FN(softmax_out)(n, x, y, st, f, o);
  else softmax_exp_cols_e(n, x, y, f, SMX_ELEM_F32);
}
void FN(log_softmax_cols)(size_t n, const float *x, float *y, const smx_lse_final *f) { FN(log_softmax_out)(n, x, y, f); }

static void FN(log_softmax_row)(size_t n, const float *x, float *y) {
  smx_lse_final f;
  FN(lse_row)(n, x, &f, NULL, 1);
  if (f.kind != SMX_ROW_FINITE) smx_special_row(f.kind, n, x, y, 1);
  else FN(log_softmax_out)(n, x, y, &f);
}

static float FN(logsumexp_row)(size_t n, const float *x) {
  smx_lse_final f;
  FN(lse_row)(n, x, &f, NULL, 1);
  return f.lse;
}

/* ---- softmax, log-softmax and logsumexp fused for 16-bit rows (the row path: each row's pass 1 and output read the
   16-bit tensor; rows with NaN, +inf or only -inf by the special rule over widened chunks) ---- */
static void FN(log_softmax_row16)(size_t n, const uint16_t *x, uint16_t *y, const int e) {
  smx_lse_final f;
  /* (a binary16 row of at most SMX_F16_SHADOW_N widened once into a shadow, then the f32 row's passes) */
  if (shadowed(n, e)) {
    _Alignas(64) float buf[SHADOW_CAP];
    const float *xs = block_f32(x, n, buf, SMX_ELEM_F16);
    FN(lse_row)(n, xs, &f, NULL, 1);
    if (f.kind != SMX_ROW_FINITE) smx_special_row_elem(f.kind, n, x, y, 1, e);
    else log_softmax_out_io(n, xs, y, &f, SMX_ELEM_F32, SMX_ELEM_F16);
    return;
  }
  FN(lse_row16)(n, x, &f, NULL, 1, e);
  if (f.kind != SMX_ROW_FINITE) smx_special_row_elem(f.kind, n, x, y, 1, e);
  else if (e == SMX_ELEM_BF16) log_softmax_out_e(n, x, y, &f, SMX_ELEM_BF16);
  else log_softmax_out_e(n, x, y, &f, SMX_ELEM_F16);
}
/* Blocks [st->b_hi, the last] of a 16-bit row whose pass-1 values are in its own output q (st->y_hi: store_hi),
   rescaled into it last block first, each block's steps last first (xg0: as softmax_rescale_e). */
SMX_FLATTEN void softmax_rescale_hi_e(size_t n, void *q, const pass1_store *st, float m, int32_t K,
                                      const smx_softmax_out *o, const xgrad *xg0, const int e) {
  const outc c = outc_init(o);
  for (size_t b = (n + SMX_BLOCK - 1) / SMX_BLOCK; b-- > st->b_hi;) {
    const int32_t d = block_d(st, b, K);
    const size_t i0 = b * SMX_BLOCK, len = n - i0 < SMX_BLOCK ? n - i0 : SMX_BLOCK;
    rescale_span(smx_store_block(st, b), q, i0, len, n / SMX_LANES * SMX_LANES, d, block_maxcheck(st, b, d, m), o, &c,
                 xg0, 1, e);
  }
}
/* A 16-bit row's first SMX_SOFTMAX16_STORE entries keep their pass-1 values in a stack scratch, as the f32 kernels
   keep them in y or dx, and pass 2 rescales them into the 16-bit output. Out of place, a longer row also keeps those
   of its blocks from b_hi on (b_hi SMX_BLOCK > n / 2) in its own output's 2n bytes: entry j >= b_hi SMX_BLOCK at
   float offset j - b_hi SMX_BLOCK from a base at most 4 b_hi SMX_BLOCK - 2n bytes into y (4-aligned), so the floats
   end within y and, rescaled last entry first (softmax_rescale_hi_e), the output y[j] covers only floats of entries
   >= j, read before. The blocks between start again from x (1 x 32000: 1024 of 32000 entries). */
static inline void store_hi(pass1_store *st, size_t n, const void *x, void *y) {
  const size_t nb = (n + SMX_BLOCK - 1) / SMX_BLOCK, half_blocks = n / (2 * SMX_BLOCK) + 1;
  const size_t b_hi = half_blocks > st->nstore ? half_blocks : st->nstore;
  if (x == y || b_hi >= nb || nb > STORE_MAX_BLOCKS) return;
  char *base = (char *)y + 4 * b_hi * SMX_BLOCK - 2 * n; /* >= 2 bytes in: b_hi SMX_BLOCK > n / 2, both even */
  st->y_hi = (float *)(void *)(base - (uintptr_t)base % 4), st->b_hi = b_hi;
}
static void FN(softmax_row16)(size_t n, const uint16_t *x, uint16_t *y, const int e) {
  smx_lse_final f;
  float ys[SMX_SOFTMAX16_STORE];
  pass1_store st;
  smx_store_init(&st, ys, SMX_SOFTMAX16_STORE / SMX_BLOCK); /* (the passes clear complete where they store nothing) */
  store_hi(&st, n, x, y);
  FN(lse_row16)(n, x, &f, &st, 0, e);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row_elem(f.kind, n, x, y, 0, e);
  } else if (!f.shifted) { /* |max| > 2^16 */
    if (e == SMX_ELEM_BF16) softmax_exp_cols_e(n, x, y, &f, SMX_ELEM_BF16);
    else softmax_exp_cols_e(n, x, y, &f, SMX_ELEM_F16);
  } else {
    smx_softmax_out o;
    smx_softmax_out_init(&f, &o);
    const size_t b0 = st.complete ? (n < SMX_SOFTMAX16_STORE ? n : SMX_SOFTMAX16_STORE) : 0; /* done from ys */
    const size_t i_hi = st.complete && st.y_hi ? st.b_hi * SMX_BLOCK : n;                  /* from y_hi */
    if (e == SMX_ELEM_BF16) {
      if (i_hi < n) softmax_rescale_hi_e(n, y, &st, f.m, f.K, &o, NULL, SMX_ELEM_BF16);
      softmax_rescale_e(b0, ys, y, &st, f.m, f.K, &o, NULL, SMX_ELEM_BF16);
      softmax_pass2_e(i_hi - b0, x + b0, y + b0, &o, SMX_ELEM_BF16);
    } else {
      if (i_hi < n) softmax_rescale_hi_e(n, y, &st, f.m, f.K, &o, NULL, SMX_ELEM_F16);
      softmax_rescale_e(b0, ys, y, &st, f.m, f.K, &o, NULL, SMX_ELEM_F16);
      softmax_pass2_e(i_hi - b0, x + b0, y + b0, &o, SMX_ELEM_F16);
    }
  }
}
/* Each kernel's rows in groups r0 .. r0 + g - 1: for rows of one block (n <= SMX_BLOCK) lane groups while at least
   LANE_MIN_ROWS rows are left (n <= lane_max, the kernel's smx_lane_rows_max), then groups of VW rows while at least
   SR_MIN_ROWS are left, in registers (n <= reg_max) or by short_rows_state; the rest, and longer rows, row by row. */
#define LANE_MIN_ROWS SMX_LANE_MIN_ROWS
#define SR_MIN_ROWS SMX_GROUP_MIN_ROWS
enum { PATH_LANES, PATH_REG, PATH_GROUP, PATH_ROW };
static inline int rows_path(size_t n, size_t left, size_t *g, size_t lane_max, size_t reg_max) {
  if (n > SMX_BLOCK) return *g = left, PATH_ROW;
  *g = left < VW ? left : VW;
  if (n <= lane_max && left >= LANE_MIN_ROWS) return PATH_LANES;
  if (left >= SR_MIN_ROWS) return n <= reg_max ? PATH_REG : PATH_GROUP;
  return *g = 1, PATH_ROW;
}
#define ROW_GROUPS(r0, g, path, lane_max, reg_max)                                                                  \
  for (size_t r0 = 0, g = 0, path; r0 < rows && (path = (size_t)rows_path(n, rows - r0, &g, lane_max, reg_max), 1); \
       r0 += g)
/* the outputs of a lane group of softmax and of log-softmax (elements e) */
SMX_FLATTEN void softmax_lanes_out_e(size_t g, size_t n, const lane_rows *L, void *y, size_t ldy, const int e) {
  VSTORE_COLUMNS_OF(g, n, L->fast, y, ldy, e, i, rescale_out(L->e[i], &L->oc, NULL, 0, VW, 1, 0))
}
static inline vf log_softmax_lane_out(const lane_rows *L, size_t i, vf nch) {
  const vf v = logsm(L->col[i], L->c.chi, nch, L->c.clo);
  return vsel(L->lflush, vflush(v), v); /* smx_log_softmax_flush */
}
SMX_FLATTEN void log_softmax_lanes_out_e(size_t g, size_t n, const lane_rows *L, void *y, size_t ldy, const int e) {
  const vf nch = vneg(L->c.chi);
  VSTORE_COLUMNS_OF(g, n, L->fast, y, ldy, e, i, log_softmax_lane_out(L, i, nch))
}
/* A group of each kernel: rows [0, g) of x (elements e), one per lane (lane_rows_state) or with reg in registers
   (reg_rows_state); the rows it leaves (a NaN, |max| > 2^16) by the row path after */
typedef union {
  lane_rows L;
  reg_rows R;
} group_rows;
static const float *FN(group_state)(size_t g, size_t n, const void *x, size_t ldx, int need_log, int out, group_rows *G,
                                    int e, int reg) {
  if (reg) return FN(reg_rows_state)(g, n, x, ldx, need_log, out, &G->R, e), G->R.fast;
  return FN(lane_rows_state)(g, n, x, ldx, need_log, out, &G->L, e), G->L.fast;
}
static void FN(softmax_group)(size_t g, size_t n, const void *x, size_t ldx, void *y, size_t ldy, int e, int reg) {
  group_rows G;
  const float *fast = FN(group_state)(g, n, x, ldx, 0, 1, &G, e, reg);
  if (reg) SMX_ELEM_CALL(e, softmax_reg_out_e, g, n, &G.R, y, ldy);
  else SMX_ELEM_CALL(e, softmax_lanes_out_e, g, n, &G.L, y, ldy);
  for (size_t r = 0; r < g; r++) {
    if (fast[r] != 0.0f) continue;
    if (e == SMX_ELEM_F32) FN(softmax_row)(n, (const float *)x + r * ldx, (float *)y + r * ldy);
    else FN(softmax_row16)(n, (const uint16_t *)x + r * ldx, (uint16_t *)y + r * ldy, e);
  }
}
static void FN(log_softmax_group)(size_t g, size_t n, const void *x, size_t ldx, void *y, size_t ldy, int e, int reg) {
  group_rows G;
  const float *fast = FN(group_state)(g, n, x, ldx, 1, 0, &G, e, reg);
  if (reg) SMX_ELEM_CALL(e, log_softmax_reg_out_e, g, n, x, ldx, &G.R, y, ldy);
  else SMX_ELEM_CALL(e, log_softmax_lanes_out_e, g, n, &G.L, y, ldy);
  for (size_t r = 0; r < g; r++) {
    if (fast[r] != 0.0f) continue;
    if (e == SMX_ELEM_F32) FN(log_softmax_row)(n, (const float *)x + r * ldx, (float *)y + r * ldy);
    else FN(log_softmax_row16)(n, (const uint16_t *)x + r * ldx, (uint16_t *)y + r * ldy, e);
  }
}
static void FN(logsumexp_group)(size_t g, size_t n, const void *x, size_t ldx, float *out, int e, int reg) {
  group_rows G;
  float lse[VW];
  const float *fast = FN(group_state)(g, n, x, ldx, 1, 0, &G, e, reg);
  vst(lse, reg ? G.R.c.lse : G.L.c.lse);
  for (size_t r = 0; r < g; r++) {
    smx_lse_final f;
    if (fast[r] != 0.0f) out[r] = lse[r];
    else if (e == SMX_ELEM_F32) out[r] = FN(logsumexp_row)(n, (const float *)x + r * ldx);
    else FN(lse_row16)(n, (const uint16_t *)x + r * ldx, &f, NULL, 1, e), out[r] = f.lse;
  }
}

/* log-softmax and logsumexp of rows [0, g) of one block (elements e) by short_rows_state (g <= SR_ROWS); the rows it
   leaves (a NaN, |max| > 2^16) by the row path */
static void FN(log_softmax_rows)(size_t g, size_t n, const void *x, size_t ldx, void *y, size_t ldy, int e) {
  short_rows sr;
  FN(short_rows_state)(g, n, x, ldx, NULL, 0, 1, 0, &sr, e);
  for (size_t r = 0; r < g; r++) {
    const void *xr = elem_at(x, r * ldx, e);
    void *yr = (void *)elem_at(y, r * ldy, e);
    if (sr.fast[r]) SMX_ELEM_CALL(e, log_softmax_out_e, n, xr, yr, &sr.f[r]);
    else if (e == SMX_ELEM_F32) FN(log_softmax_row)(n, xr, yr);
    else FN(log_softmax_row16)(n, xr, yr, e);
  }
}
/* softmax on g rows of one block of element e by short_rows_state, their pass-1 values stored at ys (ldys floats
   apart) and rescaled into y; ys NULL (f32 in place): pass 2 from x */
static void FN(softmax_rows)(size_t g, size_t n, const void *x, size_t ldx, void *y, size_t ldy, float *ys, size_t ldys,
                             int e) {
  short_rows sr;
  pass1_store st;
  FN(short_rows_state)(g, n, x, ldx, ys, ldys, 0, 1, &sr, e);
  for (size_t r = 0; r < g; r++) {
    const void *xr = elem_at(x, r * ldx, e);
    void *yr = (void *)elem_at(y, r * ldy, e);
    const smx_lse_final *f = &sr.f[r];
    if (!sr.fast[r]) {
      if (e == SMX_ELEM_F32) FN(softmax_row)(n, xr, yr);
      else FN(softmax_row16)(n, xr, yr, e);
    } else if (!ys) {
      FN(softmax_pass2)(n, xr, yr, &sr.o[r]);
    } else { /* softmax_rescale_e of one block */
      one_block_store(&st, ys + r * ldys, f);
      const int32_t d = block_d(&st, 0, f->K);
      const outc c = outc_init(&sr.o[r]);
      SMX_ELEM_CALL(e, rescale_span, ys + r * ldys, yr, 0, n, n / SMX_LANES * SMX_LANES, d,
                    block_maxcheck(&st, 0, d, f->m), &sr.o[r], &c, NULL, 0);
    }
  }
}
/* the 16-bit softmax's rows of one block in such groups, as many rows at a time as their pass-1 values fit a stack
   scratch of SMX_SOFTMAX16_STORE floats (16 rows up to n = 960) */
static __attribute__((noinline)) void FN(softmax_rows16)(size_t g, size_t n, const uint16_t *x, size_t ldx, uint16_t *y,
                                                         size_t ldy, int e) {
  float ys[SMX_SOFTMAX16_STORE];
  const size_t most = SMX_SOFTMAX16_STORE / n;
  for (size_t r = 0; r < g; r += most)
    FN(softmax_rows)(g - r < most ? g - r : most, n, x + r * ldx, ldx, y + r * ldy, ldy, ys, n, e);
}
static void FN(logsumexp_rows)(size_t g, size_t n, const void *x, size_t ldx, float *out, int e) {
  short_rows sr;
  FN(short_rows_state)(g, n, x, ldx, NULL, 0, 1, 0, &sr, e);
  for (size_t r = 0; r < g; r++) {
    const void *xr = elem_at(x, r * ldx, e);
    smx_lse_final f;
    if (sr.fast[r]) out[r] = sr.f[r].lse;
    else if (e == SMX_ELEM_F32) out[r] = FN(logsumexp_row)(n, xr);
    else FN(lse_row16)(n, xr, &f, NULL, 1, e), out[r] = f.lse;
  }
}

/* The fused 16-bit entry points: rows of at most lane_max entries in lane groups while at least
   SMX_LANE_MIN_ROWS are left, of at most SMX_REG_ROWS_MAX in register groups while at least SR_MIN_ROWS are left
   (no widened copy of the rows: the loads widen them), those of one block in groups too by group_call (break: none),
   the others row by row */
#define ROWS16(lane_max, lanes_call, reg_call, group_call, row_call)                                   \
  const int e = bf16 ? SMX_ELEM_BF16 : SMX_ELEM_F16;                                                  \
  size_t r = 0;                                                                                        \
  if (n <= (lane_max)) LANE_GROUPS(r, g, rows, SMX_LANE_MIN_ROWS) lanes_call;                          \
  if (n <= SMX_REG_ROWS_MAX) LANE_GROUPS(r, g, rows, SR_MIN_ROWS) reg_call;                            \
  if (n <= SMX_BLOCK) LANE_GROUPS(r, g, rows, SR_MIN_ROWS) group_call;                                 \
  for (; r < rows; r++) row_call;
void FN(softmax16)(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, uint16_t *y, size_t ldy) {
  ROWS16(smx_lane_rows_max(SMX_KERNEL_ID_softmax), FN(softmax_group)(g, n, x + r * ldx, ldx, y + r * ldy, ldy, e, 0),
         FN(softmax_group)(g, n, x + r * ldx, ldx, y + r * ldy, ldy, e, 1),
         FN(softmax_rows16)(g, n, x + r * ldx, ldx, y + r * ldy, ldy, e),
         FN(softmax_row16)(n, x + r * ldx, y + r * ldy, e))
}
void FN(log_softmax16)(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, uint16_t *y, size_t ldy) {
  ROWS16(smx_lane_rows_max(SMX_KERNEL_ID_log_softmax),
         FN(log_softmax_group)(g, n, x + r * ldx, ldx, y + r * ldy, ldy, e, 0),
         FN(log_softmax_group)(g, n, x + r * ldx, ldx, y + r * ldy, ldy, e, 1),
         FN(log_softmax_rows)(g, n, x + r * ldx, ldx, y + r * ldy, ldy, e),
         FN(log_softmax_row16)(n, x + r * ldx, y + r * ldy, e))
}
void FN(logsumexp16)(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, float *out) {
  ROWS16(smx_lane_rows_max(SMX_KERNEL_ID_logsumexp), FN(logsumexp_group)(g, n, x + r * ldx, ldx, out + r, e, 0),
         FN(logsumexp_group)(g, n, x + r * ldx, ldx, out + r, e, 1),
         FN(logsumexp_rows)(g, n, x + r * ldx, ldx, out + r, e), {
           smx_lse_final f;
           FN(lse_row16)(n, x + r * ldx, &f, NULL, 1, e);
           out[r] = f.lse;
         })
}
#undef ROWS16
void FN(softmax)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  const int store = y != x;
  ROW_GROUPS(r0, g, path, smx_lane_rows_max(SMX_KERNEL_ID_softmax), SMX_REG_ROWS_MAX) {
    const float *xg = x + r0 * ldx;
    float *yg = y + r0 * ldy;
    if (path == PATH_LANES || path == PATH_REG) {
      FN(softmax_group)(g, n, xg, ldx, yg, ldy, SMX_ELEM_F32, path == PATH_REG);
    } else if (path == PATH_GROUP) {
      FN(softmax_rows)(g, n, xg, ldx, yg, ldy, store ? yg : NULL, ldy, SMX_ELEM_F32);
    } else {
      for (size_t r = 0; r < g; r++) FN(softmax_row)(n, xg + r * ldx, yg + r * ldy);
    }
  }
}
void FN(log_softmax)(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) {
  ROW_GROUPS(r0, g, path, smx_lane_rows_max(SMX_KERNEL_ID_log_softmax), SMX_REG_ROWS_MAX) {
    const float *xg = x + r0 * ldx;
    float *yg = y + r0 * ldy;
    if (path == PATH_LANES || path == PATH_REG) {
      FN(log_softmax_group)(g, n, xg, ldx, yg, ldy, SMX_ELEM_F32, path == PATH_REG);
    } else if (path == PATH_GROUP) {
      FN(log_softmax_rows)(g, n, xg, ldx, yg, ldy, SMX_ELEM_F32);
    } else {
      for (size_t r = 0; r < g; r++) FN(log_softmax_row)(n, xg + r * ldx, yg + r * ldy);
    }
  }
}
void FN(logsumexp)(size_t rows, size_t n, const float *x, size_t ldx, float *out) {
  ROW_GROUPS(r0, g, path, smx_lane_rows_max(SMX_KERNEL_ID_logsumexp), SMX_REG_ROWS_MAX) {
    const float *xg = x + r0 * ldx;
    if (path == PATH_LANES || path == PATH_REG) {
      FN(logsumexp_group)(g, n, xg, ldx, out + r0, SMX_ELEM_F32, path == PATH_REG);
    } else if (path == PATH_GROUP) {
      FN(logsumexp_rows)(g, n, xg, ldx, out + r0, SMX_ELEM_F32);
    } else {
      for (size_t r = 0; r < g; r++) out[r0 + r] = FN(logsumexp_row)(n, xg + r * ldx);
    }
  }
}

/* ---- backward ---- */
/* The backward rows on tensors of element e (the f32 kernels and the fused 16-bit ones, bit for bit the f32
   kernel on the widened tensors, rounded) */
/* a row in s steps (ld_row_short_e) */
SMX_FLATTEN void softmax_backward_short_e(size_t n, const void *y, const void *dy, void *dx, const int s,
                                          const int e) {
  vf Y[SMX_BWD_SHORT_STEPS], D[SMX_BWD_SHORT_STEPS];
  ld_row_short_e(y, n, 0.0f, Y, s, e), ld_row_short_e(dy, n, 0.0f, D, s, e);
  const float dot = (float)short_dot_e(Y, D, n, s, e);
  if (dot != dot) {
    fill_e(n, dx, smx_qnan(), e);
    return;
  }
  for (int j = 0; j < s; j++) Y[j] = vmul(Y[j], vsub(D[j], vset(dot)));
  st_row_short_nan_e(dx, n, Y, s, e);
}
/* the output pass from the row's dot: y and dy of element ein (e, or f32 shadows), dx of e */
SMX_FLATTEN void softmax_backward_out_io(size_t n, const void *y, const void *dy, void *dx, float dot, const int nt,
                                         const int ein, const int e) {
  if (dot != dot) {
    fill_e(n, dx, smx_qnan(), e);
    return;
  }
  const vf vd_ = vset(dot);
  size_t i = 0;
  /* a binary16 y that rounded to 0 (below 2^-25: much of a long row) gives -0 for a negative factor, which the FLT_MIN
     rule makes +0: adding +0 does it before the store, whose test for a step needing the rule then fails only for
     NaNs and subnormals (steps mixing -0 and plain entries made its branch mispredict); a bfloat16 y is 0 only where
     the f32 one is, and vocabularies without the test (SMX_VPLAIN) flush every step */
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf a0 = vmul(ld_e_x(y, i, ein), vsub(ld_e_x(dy, i, ein), vd_));
    vf a1 = vmul(ld_e_x(y, i + VW, ein), vsub(ld_e_x(dy, i + VW, ein), vd_));
#ifdef SMX_VPLAIN
    if (e == SMX_ELEM_F16) a0 = vadd(a0, vzero()), a1 = vadd(a1, vzero());
#endif
    st_e_x_flush_nan_nt(dx, i, a0, nt, e), st_e_x_flush_nan_nt(dx, i + VW, a1, nt, e);
  }
  for (; i < n; i += VW) {
    const size_t c = step_count(n, i);
    st_e_flush_nan_n(dx, i, vmul(ld_e_n(y, i, c, 0.0f, ein), vsub(ld_e_n(dy, i, c, 0.0f, ein), vd_)), c, e);
  }
}
SMX_FLATTEN void softmax_backward_row_e(size_t n, const void *y, const void *dy, void *dx, const int e) {
  if (shadowed(n, e)) {
    _Alignas(64) float ys[SHADOW_CAP], ds[SHADOW_CAP];
    const float dot = (float)blocked_dot_sh_e(n, y, dy, ys, ds, e);
    softmax_backward_out_io(n, ys, ds, dx, dot, 0, SMX_ELEM_F32, e);
  } else {
    const float dot = (float)blocked_dot_e(n, y, dy, e);
    const size_t h = split_at_boundary(n, dx, e);
    const void *yh = elem_at(y, h, e), *dyh = elem_at(dy, h, e);
    void *dxh = (void *)elem_at(dx, h, e);
    if (h) softmax_backward_out_io(h, y, dy, dx, dot, 0, e, e);
    if (stream_out(n - h, dxh, e)) softmax_backward_out_io(n - h, yh, dyh, dxh, dot, 1, e, e);
    else softmax_backward_out_io(n - h, yh, dyh, dxh, dot, 0, e, e);
  }
}
/* dx = dy - exp(v) sum(dy) of v = min(y, 88) (y > 88 ? 88 : y), stored flushed */
static inline vf lsm_bwd_v(vf v, vf dy, vf vs) {
  vf t, p = vexp_shift(v, vset(SMX_MAGIC), &t);
  p = vexp2add_if(vge(v, vset(SMX_EXP_CUT)), p, t);
  return vfma(vneg(p), vs, dy);
}
/* lsm_bwd_v of y, and whether a lane's y is NaN (nan) or not -inf (live) */
static inline vf lsm_bwd(vf y, vf dy, vf vs, vm *nan, vm *live) {
  vf v = vmin(vset(SMX_EXP_MAX), y);
  *nan = mor(*nan, vnan(v));
  *live = mor(*live, vne(v, vset(-INFINITY)));
  return lsm_bwd_v(v, dy, vs);
}

/* log_softmax_backward_row_e's pairs of steps (nt: streamed), their v summed and maxed in sum0 / sum1, top0 / top1;
   returns where they stop */
SMX_FLATTEN size_t lsm_bwd_steps(size_t n, const void *y, const void *dy, void *dx, vf vs, vf *sum0, vf *sum1, vf *top0,
                                 vf *top1, const int nt, const int e) {
  const vf c88 = vset(SMX_EXP_MAX);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    const vf v0 = vmin(c88, ld_e_x(y, i, e));
    *sum0 = vadd(*sum0, v0), *top0 = vmax(*top0, v0);
    const vf a0 = lsm_bwd_v(v0, ld_e_x(dy, i, e), vs), v1 = vmin(c88, ld_e_x(y, i + VW, e));
    *sum1 = vadd(*sum1, v1), *top1 = vmax(*top1, v1);
    const vf a1 = lsm_bwd_v(v1, ld_e_x(dy, i + VW, e), vs);
    st_e_x_flush_nt(dx, i, a0, nt, e), st_e_x_flush_nt(dx, i + VW, a1, nt, e);
  }
  return i;
}
/* its steps from i to n one at a time (tail lanes y = -inf: neither NaN nor above -inf) */
SMX_FLATTEN void lsm_bwd_tail(size_t n, size_t i, const void *y, const void *dy, void *dx, vf vs, vf *sum0, vf *top0,
                              const int e) {
  const vf c88 = vset(SMX_EXP_MAX);
  for (; i < n; i += VW) {
    const size_t c = step_count(n, i);
    const vf v = vmin(c88, ld_e_n(y, i, c, -INFINITY, e));
    *sum0 = vadd(*sum0, v), *top0 = vmax(*top0, v);
    st_e_flush_n(dx, i, lsm_bwd_v(v, ld_e_n(dy, i, c, 0.0f, e), vs), c, e);
  }
}
SMX_FLATTEN void log_softmax_backward_row_e(size_t n, const void *y, const void *dy, void *dx, const int e) {
  float sum = (float)blocked_dot_e(n, dy, NULL, e);
  if (sum != sum) {
    fill_e(n, dx, smx_qnan(), e);
    return;
  }
  /* whether a y is NaN and whether one is not -inf, from the sum and the max of the v (in [-inf, 88]: the sum is NaN
     only where a v is, and the max is defined without NaNs): adds and maxes on both vector ports where two compares a
     step load AVX-512's one port that compares (0.93x the time in cache, bfloat16 0.92x in cache and from memory on
     the Intel Xeon). The second step's y loaded after the first step's exp: both at the top took 1.08-1.12x the time
     from memory. */
  const vf vs = vset(sum);
  vf sum0 = vzero(), sum1 = vzero(), top0 = vset(-INFINITY), top1 = top0;
  /* streamed only for rows longer than softmax's store (2^18 entries): shorter rows' dy stays cached between the
     passes and their output pass waits on its exp, where streamed stores cost time (Zen 4, rows of 4096..128256
     from memory: 1.02-1.10x the time; 0.79-0.88x at 2^20 and 2^24); then the entries before dx's vector boundary
     go first, as a tail does */
  const size_t h = split_at_boundary(n, dx, e);
  const int nt = n > (size_t)STORE_MAX_BLOCKS * SMX_BLOCK && stream_out(n - h, elem_at(dx, h, e), e);
  const size_t s = nt ? h : 0; /* where the pairs of steps start */
  const void *ys = elem_at(y, s, e), *dys = elem_at(dy, s, e);
  void *dxs = (void *)elem_at(dx, s, e);
  lsm_bwd_tail(s, 0, y, dy, dx, vs, &sum0, &top0, e);
  const size_t i = s + (nt ? lsm_bwd_steps(n - s, ys, dys, dxs, vs, &sum0, &sum1, &top0, &top1, 1, e)
                           : lsm_bwd_steps(n - s, ys, dys, dxs, vs, &sum0, &sum1, &top0, &top1, 0, e));
  lsm_bwd_tail(n, i, y, dy, dx, vs, &sum0, &top0, e);
  const int nan = many(vnan(vadd(sum0, sum1)));
  if (nan || !(vhmax(vmax(top0, top1)) > -INFINITY)) fill_e(n, dx, nan ? smx_qnan() : 0.0f, e);
  else if (!(fabsf(sum) < INFINITY)) nan_canon_e(n, dx, e); /* (a finite sum: every dy finite, no NaN made) */
}
SMX_FLATTEN void log_softmax_backward_short_e(size_t n, const void *y, const void *dy, void *dx, const int s,
                                              const int e) {
  vf Y[SMX_BWD_SHORT_STEPS], D[SMX_BWD_SHORT_STEPS];
  ld_row_short_e(y, n, -INFINITY, Y, s, e), ld_row_short_e(dy, n, 0.0f, D, s, e);
  const float sum = (float)short_dot_e(D, NULL, n, s, e);
  const vf vs = vset(sum);
  vm nan = mzero(), live = mzero();
  for (int j = 0; j < s; j++) Y[j] = lsm_bwd(Y[j], D[j], vs, &nan, &live);
  if (sum != sum || many(nan) || !many(live)) fill_e(n, dx, sum != sum || many(nan) ? smx_qnan() : 0.0f, e);
  else st_row_short_nan_e(dx, n, Y, s, e);
}

/* ---- backward rows of at most BWD_LANES_MAX entries in lane groups (vmath.h): blocked_dot's terms column by column,
   its 64-lane tree over the columns (lane_dot), each row's step lane-wise; the rows with a NaN dot or sum, or
   (log-softmax) a NaN or no finite y, by the row path after. All loads come before the stores: in place as the row
   path. ---- */
/* softmax (lsm 0) or log-softmax (lsm 1) backward rows [0, g) */
SMX_FLATTEN void backward_lanes_e(size_t g, size_t n, const void *y, size_t ldy, const void *dy, size_t lddy, void *dx,
                                  size_t lddx, const int lsm, const int e) {
  vf Y[BWD_COLS], D[BWD_COLS], T[BWD_COLS];
  float fast[VW];
  vload_columns_e(g, n, y, ldy, Y, e);
  vload_columns_e(g, n, dy, lddy, D, e);
  for (size_t i = 0; i < n; i++) T[i] = lsm ? vadd(vzero(), D[i]) : vfma(Y[i], D[i], vzero()); /* into +0 lanes */
  const lane_dsum dot = lane_dot(T, n);
  const vf s = dpack(dot.lo, dot.hi);
  vm nan = vnan(s), live = mzero();
  for (size_t i = 0; i < n; i++)
    Y[i] = vflush_nan_e(lsm ? lsm_bwd(Y[i], D[i], s, &nan, &live) : vmul(Y[i], vsub(D[i], s)), e);
  vst(fast, vsel(nan, vzero(), lsm ? vsel(live, vset(1.0f), vzero()) : vset(1.0f)));
  vstore_columns_e(g, n, Y, fast, dx, lddx, e);
  for (size_t r = 0; r < g; r++) {
    if (fast[r] != 0.0f) continue;
    const void *yr = elem_at(y, r * ldy, e), *dyr = elem_at(dy, r * lddy, e);
    void *dxr = (void *)elem_at(dx, r * lddx, e);
    if (lsm) log_softmax_backward_row_e(n, yr, dyr, dxr, e);
    else softmax_backward_row_e(n, yr, dyr, dxr, e);
  }
}
SMX_FLATTEN void softmax_backward_lanes_e(size_t g, size_t n, const void *y, size_t ldy, const void *dy, size_t lddy,
                                          void *dx, size_t lddx, const int e) {
  backward_lanes_e(g, n, y, ldy, dy, lddy, dx, lddx, 0, e);
}
SMX_FLATTEN void log_softmax_backward_lanes_e(size_t g, size_t n, const void *y, size_t ldy, const void *dy, size_t lddy,
                                              void *dx, size_t lddx, const int e) {
  backward_lanes_e(g, n, y, ldy, dy, lddy, dx, lddx, 1, e);
}
BWD_KERNELS(softmax_backward, softmax_backward_lanes_e, softmax_backward_short_e, SMX_BWD_SHORT_STEPS,
            softmax_backward_row_e)
BWD_KERNELS(log_softmax_backward, log_softmax_backward_lanes_e, log_softmax_backward_short_e, SMX_BWD_SHORT_STEPS,
            log_softmax_backward_row_e)

/* ---- fused cross-entropy, softmax normalizer (smx_xent_softmax_row) ---- */
/* Label smoothing's 16 double lanes: l[(o + i) % 16] += w == 0 ? 0 : w z for z[0 .. len), o a multiple of 16.
   Tail lanes: z = 0 and w = 0 (or z = 0, w = 1: adds +0 to a lane that is never -0). A block's value is its
   lanes' tree (smx_wz_block_scalar); rows of one block take it as their sum, longer rows add the blocks' values
   into a smx_wzsum. */
SMX_FLATTEN void wz_add_e(vd *la, vd *lb, const void *z, size_t len, size_t o, const float *cw, const int e) {
  for (size_t i = 0; i < len; i += VW) {
    const size_t c = step_count(len, i);
    vf zv = ld_e_n(z, i, c, 0.0f, e), w = cw ? vld_n(cw + o + i, c, 0.0f) : vset(1.0f);
    vd wl = dlo(w), wh = dhi(w);
    *la = dadd(*la, dsel(deq(wl, dset(0.0)), dset(0.0), dmul(wl, dlo(zv))));
    *lb = dadd(*lb, dsel(deq(wh, dset(0.0)), dset(0.0), dmul(wh, dhi(zv))));
  }
}
/* the blocks of z[0 .. n) (entry j of z is entry o + j of the row) into s */
static void FN(wz_blocks)(smx_wzsum *s, const float *z, size_t n, size_t o, const float *cw) {
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    vd la = dset(0.0), lb = dset(0.0);
    wz_add_e(&la, &lb, z + b, n - b < SMX_BLOCK ? n - b : SMX_BLOCK, o + b, cw, SMX_ELEM_F32);
    smx_wzsum_add(s, tree_sum16d(la, lb));
  }
}

/* The table piece xent_fold (kernels.h): xent_pass1_e's blocks folded into a row state (a row without options by
   lse_pass: a state is a function of its blocks, so the same) */
void FN(xent_fold)(size_t n, const float *x, float softcap, const float *w, smx_lse *s, smx_wzsum *wz) {
  if (softcap == 0.0f && !wz) {
    FN(lse_pass)(n, x, s, NULL);
    return;
  }
  float buf[SMX_BLOCK];
  const vf vcap = vset(softcap), vinv = vset(softcap > 0.0f ? 1.0f / softcap : 0.0f);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
    const float *z = x + b;
    if (softcap > 0.0f) {
      for (size_t i = 0; i < len; i += VW) {
        vf dzv;
        vst(buf + i, vsoftcap(vld_n(x + b + i, step_count(len, i), 0.0f), vcap, vinv, &dzv));
      }
      z = buf;
    }
    if (wz) FN(wz_blocks)(wz, z, len, b, w);
    FN(lse_block)(z, len, s);
  }
}

/* The gradient's constants of a row (xent_softmax_tail) and one step of it from the logits xv (cw: the step's
   class weights or NULL): fma(A, p_j, -B w_j) times dz/dx with softcap, flushed. */
typedef struct {
  vf va, vb, nb, magic, vcap, vinv;
  outc oc;
  int capped;
} xent_grad_c;
SMX_FLATTEN xent_grad_c xent_grad_consts(float Af, float Bf, const smx_softmax_out *o, float softcap) {
  const int capped = softcap > 0.0f;
  const float inv_cap = capped ? 1.0f / softcap : 0.0f;
  return (xent_grad_c){vset(Af), vset(Bf), vset(-Bf), vset(o->magic), vset(softcap), vset(inv_cap), outc_init(o), capped};
}
/* (w: a row that is not shifted, its p by smx_softmax_exp; NULL: by smx_softmax_one) */
SMX_FLATTEN vf xent_grad_step(const xent_grad_c *g, const wexp_c *w, vf xv, const float *cw, size_t c) {
  vf dzv = vzero(), zv = g->capped ? vsoftcap(xv, g->vcap, g->vinv, &dzv) : xv;
  vf nbv = cw ? vneg(vmul(g->vb, vld_n(cw, c, 0.0f))) : g->nb;
  vf g1 = vfma(g->va, w ? vsoftmax_exp(zv, w) : out_one(zv, g->magic, &g->oc), nbv);
  return vflush_nan(g->capped ? vmul(g1, dzv) : g1); /* without softcap dz = 1: v * 1.0f == v */
}
/* The loss of a finite shifted row (or, without a gradient, any finite row) from its state f, its target logit xt,
   pt_m1 = p_t - 1 and the label smoothing sum; with grad also the gradient's constants g (o: the output constants,
   NULL: computed here) and the target's entry *dxt. */
SMX_FLATTEN double xent_tail_consts(size_t n, float xt, const smx_xent_row *row, const smx_lse_final *f,
                                   const smx_softmax_out *o, double pt_m1, double sum_wz, int grad, xent_grad_c *g,
                                   float *dxt) {
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  float dz;
  const float zt = capped ? smx_softcap(xt, row->softcap, inv_cap, &dz) : xt;
  const double wt = row->class_weight ? row->class_weight[row->target] : 1.0, gc = row->grad_coef;
  double loss, gt, A;
  smx_xent_softmax_terms(n, f, zt, wt, sum_wz, pt_m1, row, &loss, &A, &gt);
  if (!grad) return loss;
  const float Af = (float)(gc * A), Bf = (float)(gc * eps / (double)n);
  const float dzt = capped ? (smx_softcap(xt, row->softcap, inv_cap, &dz), dz) : 1.0f;
  smx_softmax_out ol = {0}; /* a row that is not shifted leaves g's output constants unused */
  if (!o && f->shifted) smx_softmax_out_init(f, &ol);
  *g = xent_grad_consts(Af, Bf, o ? o : &ol, row->softcap);
  *dxt = smx_flush_nan((float)(gc * gt) * dzt);
  return loss;
}
/* The loss and gradient of a finite shifted row (or, without dx, any finite row): st the pass-1 values stored in dx
   (NULL: the gradient from x). */
static double FN(xent_softmax_tail)(size_t n, const float *x, const smx_xent_row *row, float *dx, const smx_lse_final *f,
                                const smx_softmax_out *o, double pt_m1, const pass1_store *st, double sum_wz) {
  const size_t t = (size_t)row->target;
  const float *cw = row->class_weight;
  xent_grad_c g;
  float dxt;
  smx_softmax_out ol;
  if (dx && !o && f->shifted) smx_softmax_out_init(f, &ol), o = &ol;
  const double loss = xent_tail_consts(n, x[t], row, f, o, pt_m1, sum_wz, dx != NULL, &g, &dxt);
  if (!dx) return loss;
  if (st) {
    const xgrad xg = {g.va, g.vb, cw};
    FN(softmax_rescale)(n, dx, st, f->m, f->K, o, &xg);
  } else { /* from x (|max| > 2^16: by smx_softmax_exp) */
    const wexp_c w = wexp_consts(f), *wp = f->shifted ? NULL : &w;
    for (size_t i = 0; i < n; i += VW) {
      const size_t c = step_count(n, i);
      vst_n(dx + i, xent_grad_step(&g, wp, vld_n(x + i, c, 0.0f), cw ? cw + i : NULL, c), c);
    }
  }
  dx[t] = dxt;
  return loss;
}

/* The table piece: the gradient of n columns of a finite shifted row (w: their weights or NULL), as
   xent_softmax_tail's from x (the row states' shards) */
void FN(xent_softmax_cols)(size_t n, const float *x, const float *w, float softcap, const smx_softmax_out *o, float Af,
                           float Bf, float *dx) {
  const xent_grad_c g = xent_grad_consts(Af, Bf, o, softcap);
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    vst_n(dx + i, xent_grad_step(&g, NULL, vld_n(x + i, c, 0.0f), w ? w + i : NULL, c), c);
  }
}

/* xent_soft_sums's steps over n entries, continuing its 16 double lanes in Q and L (lanes 0-7, 8-15) */
SMX_FLATTEN void soft_sums(size_t n, const float *x, const float *q, const float *w, float softcap, vd vm, vd vl,
                           double e, vd ve, vd voff, vd Q[2], vd L[2]) {
  const vf vcap = vset(softcap), vinv = vset(softcap > 0.0f ? 1.0f / softcap : 0.0f);
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    vf dz;
    const vf z = step_logits(x + i, c, 0.0f, softcap > 0.0f, vcap, vinv, &dz), vq = vld_n(q + i, c, 0.0f);
    const vf vw = w ? vld_n(w + i, c, 0.0f) : vzero();
    for (int h = 0; h < 2; h++) {
      const vd wq = soft_wq(vq, vw, w != NULL, c, e, ve, voff, h);
      Q[h] = dadd(Q[h], wq), soft_acc(wq, dadd(dsub(vm, h ? dhi(z) : dlo(z)), vl), &L[h]);
    }
  }
}
/* The table piece xent_soft_sums (kernels.h): a step's 16 entries in the 16 double lanes, the scalar piece's
   operations lane-wise */
void FN(xent_soft_sums)(size_t n, const float *x, const float *q, const float *w, float softcap, double m, double l,
                        double e, double off, double Ql[SMX_DLANES], double ll[SMX_DLANES]) {
  vd Q[2] = {dld(Ql), dld(Ql + 8)}, L[2] = {dld(ll), dld(ll + 8)};
  soft_sums(n, x, q, w, softcap, dset(m), dset(l), e, dset(1.0 - e), dset(off), Q, L);
  dst(Ql, Q[0]), dst(Ql + 8, Q[1]), dst(ll, L[0]), dst(ll + 8, L[1]);
}

/* xent_soft_q's steps: Q += wq_j */
SMX_FLATTEN void soft_q(size_t n, const float *q, const float *w, double e, vd ve, vd voff, vd Q[2]) {
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    const vf vq = vld_n(q + i, c, 0.0f), vw = w ? vld_n(w + i, c, 0.0f) : vzero();
    for (int h = 0; h < 2; h++) Q[h] = dadd(Q[h], soft_wq(vq, vw, w != NULL, c, e, ve, voff, h));
  }
}
/* The table piece xent_soft_q (kernels.h) */
void FN(xent_soft_q)(size_t n, const float *q, const float *w, double e, double off, double Ql[SMX_DLANES]) {
  vd Q[2] = {dld(Ql), dld(Ql + 8)};
  soft_q(n, q, w, e, dset(1.0 - e), dset(off), Q);
  dst(Ql, Q[0]), dst(Ql + 8, Q[1]);
}

/* xent_soft_tail's steps over n entries: L += smx_times(wq_j, (m - z_j) + l) and dx_j = xent_grad_step's value with
   b_j as the class weight (Bf = 1): flush(fma(Af, p_j, -b_j) dz_j), p_j from the stored pass-1 values ev with their
   constants eoc (a register group's), or (ev NULL) from z by g's */
SMX_FLATTEN void soft_tail(size_t n, const float *x, const float *ev, const outc *eoc, const xent_grad_c *g,
                           const float *q, const float *w, double e, vd ve, vd voff, vd vc, vd vm, vd vl, vd L[2],
                           float *dx) {
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    vf dz = vzero();
    const vf xv = vld_n(x + i, c, 0.0f), z = g->capped ? vsoftcap(xv, g->vcap, g->vinv, &dz) : xv;
    const vf vq = vld_n(q + i, c, 0.0f), vw = w ? vld_n(w + i, c, 0.0f) : vzero();
    const vd lo = soft_wq(vq, vw, w != NULL, c, e, ve, voff, 0), hi = soft_wq(vq, vw, w != NULL, c, e, ve, voff, 1);
    soft_acc(lo, dadd(dsub(vm, dlo(z)), vl), &L[0]), soft_acc(hi, dadd(dsub(vm, dhi(z)), vl), &L[1]);
    const vf p = ev ? out_from_e_if(vld(ev + i), eoc, 1) : out_one(z, g->magic, &g->oc);
    const vf g1 = vfma(g->va, p, vneg(soft_b(lo, hi, vc)));
    vst_n(dx + i, vflush_nan(g->capped ? vmul(g1, dz) : g1), c);
  }
}
/* The table piece xent_soft_tail (kernels.h) */
void FN(xent_soft_tail)(size_t n, const float *x, const float *q, const float *w, float softcap, double e, double off,
                        double coef, double m, double l, const smx_softmax_out *o, float Af, double ll[SMX_DLANES],
                        float *dx) {
  const xent_grad_c g = xent_grad_consts(Af, 1.0f, o, softcap);
  vd L[2] = {dld(ll), dld(ll + 8)};
  soft_tail(n, x, NULL, NULL, &g, q, w, e, dset(1.0 - e), dset(off), dset(coef), dset(m), dset(l), L, dx);
  dst(ll, L[0]), dst(ll + 8, L[1]);
}

/* The table piece xent_soft_group (kernels.h): the rows' states as the class-index kernel's groups take them (up to
   SMX_REG_ROWS_MAX entries reg_rows_state, its pass-1 values stored; up to a block short_rows_state), then row by row
   as xent_soft.c's soft_row: Q by xent_soft_q's steps, the loss and A, and the loss lanes with the gradient by
   xent_soft_tail's steps, p_j from the stored values or from x */
void FN(xent_soft_group)(size_t g, size_t n, const float *x, size_t ldx, const float *q, size_t ldq, const float *w,
                         double e, float z_loss, double coef, double *lr, float *done, float *dx, size_t ldd) {
  const int reg = n <= SMX_REG_ROWS_MAX;
  union {
    reg_rows R;
    short_rows S;
  } G;
  float m[VW];
  double l[VW];
  if (reg) {
    FN(reg_rows_state)(g, n, x, ldx, 1, dx != NULL, &G.R, SMX_ELEM_F32);
    vst(m, G.R.m), dst(l, G.R.c.l[0]), dst(l + 8, G.R.c.l[1]), memcpy(done, G.R.fast, g * sizeof *done);
  } else {
    FN(short_rows_state)(g, n, x, ldx, NULL, 0, 1, dx != NULL, &G.S, SMX_ELEM_F32);
    for (size_t r = 0; r < g; r++) done[r] = G.S.fast[r], m[r] = G.S.f[r].m, l[r] = G.S.f[r].l;
  }
  const vd ve = dset(1.0 - e), voff = dset(e / (double)n), vc = dset(coef);
  for (size_t r = 0; r < g; r++) {
    if (done[r] == 0.0f) continue;
    const float *xr = x + r * ldx, *qr = q + r * ldq;
    const double lse = (double)m[r] + l[r];
    const vd vm = dset((double)m[r]), vl = dset(l[r]);
    vd Q[2] = {dset(0.0), dset(0.0)}, L[2] = {dset(0.0), dset(0.0)};
    float Af = 0.0f;
    if (dx) {
      soft_q(n, qr, w, e, ve, voff, Q);
      Af = (float)(coef * smx_soft_z_A(tree_sum16d(Q[0], Q[1]), z_loss, lse));
    }
    if (dx && Af == Af && reg) {
      const outc c = reg_outc(&G.R, r);
      const xent_grad_c gc = {.va = vset(Af)};
      soft_tail(n, xr, reg_e(&G.R, r), &c, &gc, qr, w, e, ve, voff, vc, vm, vl, L, dx + r * ldd);
    } else if (dx && Af == Af) {
      const xent_grad_c gc = xent_grad_consts(Af, 1.0f, &G.S.o[r], 0.0f);
      soft_tail(n, xr, NULL, NULL, &gc, qr, w, e, ve, voff, vc, vm, vl, L, dx + r * ldd);
    } else {
      soft_sums(n, xr, qr, w, 0.0f, vm, vl, e, ve, voff, Q, L);
      if (dx) smx_fill(n, dx + r * ldd, smx_qnan()); /* a NaN q'_j: every entry the quiet NaN, as the row code */
    }
    lr[r] = smx_soft_z_loss(tree_sum16d(L[0], L[1]), z_loss, lse);
  }
}

/* The table piece xent_soft_b (kernels.h): the scalar piece's operations lane-wise */
void FN(xent_soft_b)(size_t n, const float *q, const float *w, double e, double off, double coef, float *b) {
  soft_b_row(n, q, w, e, dset(1.0 - e), dset(off), dset(coef), b);
}

/* Pass 1 of a cross-entropy row of element e: its state f and, with label smoothing, the sum wz. Softcapped rows
   block by block (the capped logits in registers, then the block's state); others by the row pass (st: where
   softmax's pass-1 values go, as f32: the f32 row's dx or the 16-bit row's scratch). */
SMX_FLATTEN void xent_pass1_e(size_t n, const void *x, const smx_xent_row *row, smx_lse_final *f, smx_wzsum *wz,
                              pass1_store *st, const int e) {
  const int smooth = row->label_smoothing > 0.0f;
  const float *cw = row->class_weight;
  float buf[SMX_BLOCK];
  memset(wz, 0, sizeof *wz);
  if (row->softcap > 0.0f) {
    const vf vcap = vset(row->softcap), vinv = vset(1.0f / row->softcap);
    smx_lse s;
    smx_lse_init(&s);
    for (size_t b = 0; b < n; b += SMX_BLOCK) {
      const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
      for (size_t i = 0; i < len; i += VW) {
        vf dzv;
        vst(buf + i, vsoftcap(ld_e_n(x, b + i, step_count(len, i), 0.0f, e), vcap, vinv, &dzv));
      }
      if (smooth) FN(wz_blocks)(wz, buf, len, b, cw);
      FN(lse_block)(buf, len, &s);
    }
    smx_lse_finish(&s, f, 1);
    return;
  }
  if (smooth)
    for (size_t b = 0; b < n; b += SMX_BLOCK) {
      const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK;
      FN(wz_blocks)(wz, block_f32(elem_at(x, b, e), len, buf, e), len, b, cw);
    }
  if (e == SMX_ELEM_F32) FN(lse_row)(n, x, f, st, 1);
  else FN(lse_row16)(n, x, f, st, 1, e);
}

static double FN(xent_softmax_row)(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const int capped = row->softcap > 0.0f;
  /* pass 1 stores its values in dx when dx is not x (the rare rows start again from x) */
  pass1_store st;
  const int store = !capped && dx && dx != x && n <= (size_t)STORE_MAX_BLOCKS * SMX_BLOCK;
  smx_store_init(&st, dx, STORE_MAX_BLOCKS);
  smx_lse_final f;
  smx_wzsum wz; /* label smoothing's sum_j w_j z_j */
  xent_pass1_e(n, x, row, &f, &wz, store ? &st : NULL, SMX_ELEM_F32);
  if (f.kind == SMX_ROW_NAN) return smx_xent_nan_row(n, dx); /* (the reference's rule for the state it also finds) */
  if (f.kind != SMX_ROW_FINITE) return smx_xent_softmax_row(n, x, row, dx);
  float dz;
  const float zt = capped ? smx_softcap(x[row->target], row->softcap, 1.0f / row->softcap, &dz) : x[row->target];
  return FN(xent_softmax_tail)(n, x, row, dx, &f, NULL, smx_xent_pt_m1(&f, zt, dx != NULL),
                           store && st.complete ? &st : NULL, row->label_smoothing > 0.0f ? smx_wzsum_value(&wz) : 0.0);
}

/* p_t - 1 (smx_xent_pt_m1) of rows r0 .. r0 + g - 1 (g <= VW) in one vd lane per row, from each row's max m
   and l; rows not done here (fast 0) or ignored get expm1(0); all 0 without grad, as smx_xent_pt_m1 */
static void FN(rows_pt_m1)(size_t r0, size_t g, const void *x, size_t ldx, const smx_xent_args *a, const float *fast,
                           const float *m, const double *l, int grad, double *pt_m1, int e) {
  double u[VW];
  if (!grad) {
    memset(pt_m1, 0, VW * sizeof *pt_m1);
    return;
  }
  for (size_t r = 0; r < VW; r++) {
    const int64_t t = r < g ? smx_xent_target(a, r0 + r) : a->ignore_index;
    u[r] = r < g && fast[r] != 0.0f && t != a->ignore_index
               ? ((double)smx_elem_get(x, (r0 + r) * ldx + (size_t)t, e) - (double)m[r]) - l[r]
               : 0.0;
  }
  dst(pt_m1, dexpm1_64_neg(dld(u))), dst(pt_m1 + 8, dexpm1_64_neg(dld(u + 8)));
}

/* ---- the softmax cross-entropy of 16-bit rows (element e) with a 16-bit gradient, fused: exactly the f32 kernel's
   on the widened logits, the gradient rounded once ---- */
/* The loss and the gradient of a finite shifted row from its state f, output constants o, p_t - 1 and label
   smoothing sum: with st (complete), the entries [0, min(n, SMX_SOFTMAX16_STORE)) from the pass-1 values at ys and
   those from st->b_hi's block on from the ones kept in dx (store_hi); the rest from x */
SMX_FLATTEN double xent16_tail_e(size_t n, const void *x, const smx_xent_row *row, void *dx, const smx_lse_final *f,
                                 const smx_softmax_out *o, double pt_m1, double sum_wz, const pass1_store *st,
                                 const float *ys, const int e) {
  const size_t t = (size_t)row->target;
  xent_grad_c g;
  float dxt;
  const double loss = xent_tail_consts(n, smx_elem_get(x, t, e), row, f, o, pt_m1, sum_wz, dx != NULL, &g, &dxt);
  if (!dx) return loss;
  const float *cw = row->class_weight;
  size_t b0 = 0, i_hi = n; /* the entries done from the stored values: [0, b0) and [i_hi, n) */
  if (st) {
    const xgrad xg = {g.va, g.vb, cw};
    b0 = n < SMX_SOFTMAX16_STORE ? n : SMX_SOFTMAX16_STORE;
    if (st->y_hi) i_hi = st->b_hi * SMX_BLOCK, softmax_rescale_hi_e(n, dx, st, f->m, f->K, o, &xg, e);
    softmax_rescale_e(b0, ys, dx, st, f->m, f->K, o, &xg, e);
  }
  float gb[SMX_BLOCK]; /* a block's f32 gradient, rounded in a loop of its own (the AVX2 registers hold one) */
  for (size_t b = b0; b < i_hi; b += SMX_BLOCK) { /* xent_softmax_tail's pass from x (dx may be x) */
    const size_t len = i_hi - b < SMX_BLOCK ? i_hi - b : SMX_BLOCK;
    for (size_t i = 0; i < len; i += VW) {
      const size_t c = step_count(len, i);
      vst_n(gb + i, xent_grad_step(&g, NULL, ld_e_n(x, b + i, c, 0.0f, e), cw ? cw + b + i : NULL, c), c);
    }
    for (size_t i = 0; i < len; i += VW) st_e_n(dx, b + i, vld_n(gb + i, step_count(len, i), 0.0f), step_count(len, i), e);
  }
  st_e_n(dx, t, vset(dxt), 1, e);
  return loss;
}
/* One row: returns 0, having written nothing, for the rows the f32 kernel hands to the scalar code (a NaN or an
   infinite logit, or |max| > 2^16 with a gradient): the caller takes them. */
SMX_FLATTEN int xent_softmax_row16_e(size_t n, const void *x, const smx_xent_row *row, void *dx, double *loss, const int e) {
  smx_lse_final f;
  smx_wzsum wz;
  /* uncapped rows with a gradient keep their pass-1 values as softmax_row16 (the scratch, and out of place the
     gradient's own bytes) and pass 2 rescales them into the 16-bit gradient; the rest starts again from x */
  float ys[SMX_SOFTMAX16_STORE];
  pass1_store st;
  const int store = row->softcap == 0.0f && dx;
  smx_store_init(&st, ys, SMX_SOFTMAX16_STORE / SMX_BLOCK);
  if (store) store_hi(&st, n, x, dx);
  xent_pass1_e(n, x, row, &f, &wz, store ? &st : NULL, e);
  if (f.kind != SMX_ROW_FINITE || (dx && !f.shifted)) return 0;
  float dz;
  const float xt = smx_elem_get(x, (size_t)row->target, e);
  const float zt = row->softcap > 0.0f ? smx_softcap(xt, row->softcap, 1.0f / row->softcap, &dz) : xt;
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  *loss = xent16_tail_e(n, x, row, dx, &f, &o, smx_xent_pt_m1(&f, zt, dx != NULL),
                        row->label_smoothing > 0.0f ? smx_wzsum_value(&wz) : 0.0, store && st.complete ? &st : NULL,
                        ys, e);
  return 1;
}
/* smx_xent_row_begin with a gradient of element e (an ignored row's: +0 in either type) */
SMX_FLATTEN int xent_row_begin_e(const smx_xent_args *a, size_t r, size_t n, smx_xent_row *row, void *d, const int e) {
  if (e == SMX_ELEM_F32) return smx_xent_row_begin(a, r, n, row, d);
  const int go = smx_xent_row_begin(a, r, n, row, NULL);
  if (!go && d) memset(d, 0, n * sizeof(uint16_t));
  return go;
}
/* Row r by the row path: the f32 kernel's, or the fused 16-bit row, which sets left[r] for the rows it leaves */
SMX_FLATTEN double xent_row_path_e(size_t n, const void *x, const smx_xent_row *row, void *dx, unsigned char *left,
                                   size_t r, const int e) {
  if (e == SMX_ELEM_F32) return FN(xent_softmax_row)(n, x, row, dx);
  double lr = 0.0;
  if (!xent_softmax_row16_e(n, x, row, dx, &lr, e)) left[r] = 1;
  return lr;
}

/* Rows r0 .. r0 + g - 1 of one block without softcap (g <= SR_ROWS), of element e: their states by short_rows_state,
   p_t - 1 in one vd lane per row; returns total plus the losses, added in row order. The pass-1 values go to ys (ldys
   apart: the f32 gradient's own rows out of place, a stack scratch for 16 bits) or, ys NULL, nowhere. */
SMX_FLATTEN double xent_softmax_group_e(size_t r0, size_t g, size_t n, const void *x, size_t ldx, const smx_xent_args *a,
                                        float *loss_rows, void *dx, size_t ldd, double total, float *ys, size_t ldys,
                                        unsigned char *left, const int e) {
  smx_xent_row row = a->row;
  short_rows sr;
  pass1_store st;
  FN(short_rows_state)(g, n, elem_at(x, r0 * ldx, e), ldx, ys, ldys, 1, dx != NULL, &sr, e);
  float m[VW];
  double l[VW], pt_m1[VW];
  for (size_t r = 0; r < g; r++)
    if (sr.fast[r]) m[r] = sr.f[r].m, l[r] = sr.f[r].l;
  FN(rows_pt_m1)(r0, g, x, ldx, a, sr.fast, m, l, dx != NULL, pt_m1, e);
  for (size_t r = 0; r < g; r++) {
    const void *xr = elem_at(x, (r0 + r) * ldx, e);
    void *d = dx ? (void *)elem_at(dx, (r0 + r) * ldd, e) : NULL;
    double lr = 0.0;
    if (xent_row_begin_e(a, r0 + r, n, &row, d, e)) {
      if (!sr.fast[r]) {
        lr = xent_row_path_e(n, xr, &row, d, left, r0 + r, e);
      } else {
        vd wza = dset(0.0), wzb = dset(0.0);
        if (row.label_smoothing > 0.0f) wz_add_e(&wza, &wzb, xr, n, 0, row.class_weight, e);
        const double sum_wz = row.label_smoothing > 0.0f ? tree_sum16d(wza, wzb) : 0.0;
        if (ys) one_block_store(&st, ys + r * ldys, &sr.f[r]);
        lr = e == SMX_ELEM_F32
                 ? FN(xent_softmax_tail)(n, xr, &row, d, &sr.f[r], &sr.o[r], pt_m1[r], ys ? &st : NULL, sum_wz)
                 : xent16_tail_e(n, xr, &row, d, &sr.f[r], &sr.o[r], pt_m1[r], sum_wz, &st, ys + r * ldys, e);
      }
    }
    total = smx_xent_row_end(a, loss_rows, r0 + r, lr, total);
  }
  return total;
}
/* the 16-bit rows of such a group, as many at a time as their pass-1 values fit a stack scratch of
   SMX_SOFTMAX16_STORE floats (as softmax_rows16) */
static __attribute__((noinline)) void FN(xent_softmax_group16)(size_t r0, size_t g, size_t n, const uint16_t *x,
                                                               size_t ldx, const smx_xent_args *a, float *loss_rows,
                                                               uint16_t *dx, size_t ldd, unsigned char *left, int e) {
  float ys[SMX_SOFTMAX16_STORE];
  const size_t most = SMX_SOFTMAX16_STORE / n;
  for (size_t r = r0; r < r0 + g; r += most) {
    const size_t k = r0 + g - r < most ? r0 + g - r : most;
    if (e == SMX_ELEM_BF16) xent_softmax_group_e(r, k, n, x, ldx, a, loss_rows, dx, ldd, 0.0, ys, n, left, SMX_ELEM_BF16);
    else xent_softmax_group_e(r, k, n, x, ldx, a, loss_rows, dx, ldd, 0.0, ys, n, left, SMX_ELEM_F16);
  }
}

/* the gradient fma(A, p_j, -B w_j) of the rows done[r] of a register group, row r's A and B in af[r], nbf[r] */
SMX_FLATTEN void xent_reg_grad(size_t g, size_t n, const reg_rows *R, const float *done, const float *af,
                               const float *nbf, const float *cw, float *dx, size_t ldd) {
  for (size_t r = 0; r < g; r++) {
    if (done[r] == 0.0f) continue;
    const outc c = reg_outc(R, r);
    const vf va = vset(af[r]), nb = vneg(vset(nbf[r]));
    for (size_t i = 0; i < n; i += VW) {
      const size_t cnt = step_count(n, i);
      const vf p = out_from_e_if(vld(reg_e(R, r) + i), &c, 1);
      prefetch_out_e(dx, (g + r) * ldd + i, SMX_ELEM_F32);
      vst_n(dx + r * ldd + i, vflush_nan(vfma(va, p, cw ? vmul(nb, vld_n(cw + i, cnt, 0.0f)) : nb)), cnt);
    }
  }
}

/* Rows r0 .. r0 + g - 1 (g <= VW, n <= SMX_REG_ROWS_MAX) without softcap, one per lane (lane_rows_state) or with
   reg in registers (reg_rows_state): one pass over the rows gathers their targets' terms, then p_t - 1, the loss
   terms and the gradient fma(A, p_j, -B w_j) go lane-wise, the target entry after the store; the rows with a NaN or a max beyond +-2^16 by xent_softmax_row;
   returns total plus the losses, added in row order. */
static double FN(xent_softmax_lanes)(size_t r0, size_t g, size_t n, const float *x, size_t ldx, const smx_xent_args *a,
                                 float *loss_rows, float *dx, size_t ldd, double total, const int reg) {
  smx_xent_row row = a->row;
  const float *cw = row.class_weight;
  const float eps = row.label_smoothing;
  float af[VW], nbf[VW], dxt[VW], done[VW];
  double l[VW], u[VW], pt_m1[VW], lr[VW], zt[VW], wt[VW], sw[VW], gc[VW];
  int64_t tg[VW];
  int rowpath[VW];
  /* A plain group's target terms before its state: the double math loads these scalar stores as vectors, which
     stalls on store forwarding unless they were written long before (perf: 8% of this function's samples at n = 8
     on two such loads; Zen 4, 0.98x the time) */
  int plain = smx_xent_group_targets(a, r0, g, NULL, tg) && !(eps > 0.0f);
  for (size_t r = 0; r < VW; r++) /* the lanes past g and the ignored rows: gradient 0, not stored */
    zt[r] = 0.0, wt[r] = 0.0, sw[r] = 0.0, gc[r] = 0.0, done[r] = 0.0f, rowpath[r] = 0;
  for (size_t r = 0; plain && r < g; r++)
    zt[r] = x[(r0 + r) * ldx + (size_t)tg[r]], wt[r] = 1.0, gc[r] = row.grad_coef, done[r] = 1.0f;
  group_rows G;
  const float *fast = FN(group_state)(g, n, x + r0 * ldx, ldx, 1, dx != NULL, &G, SMX_ELEM_F32, reg);
  const vf vmx = reg ? G.R.m : G.L.m;
  const row_consts *rc = reg ? &G.R.c : &G.L.c;
  dst(l, rc->l[0]), dst(l + 8, rc->l[1]);
  for (size_t r = 0; plain && r < g; r++) plain = fast[r] != 0.0f;
  if (!plain) { /* each row by its begin (the rows left to the row path, NaN or |max| > 2^16, after) */
    for (size_t r = 0; r < g; r++) zt[r] = 0.0, wt[r] = 0.0, gc[r] = 0.0, done[r] = 0.0f;
    for (size_t r = 0; r < g; r++) {
      const float *xr = x + (r0 + r) * ldx;
      if (!smx_xent_row_begin(a, r0 + r, n, &row, dx ? dx + (r0 + r) * ldd : NULL)) continue;
      if (fast[r] == 0.0f) {
        rowpath[r] = 1;
        continue;
      }
      vd wza = dset(0.0), wzb = dset(0.0);
      if (eps > 0.0f) wz_add_e(&wza, &wzb, xr, n, 0, cw, SMX_ELEM_F32);
      const size_t t = (size_t)row.target;
      zt[r] = xr[t], wt[r] = cw ? cw[t] : 1.0, sw[r] = eps > 0.0f ? tree_sum16d(wza, wzb) : 0.0, gc[r] = row.grad_coef;
      done[r] = 1.0f;
    }
  }
  for (int q = 0; q < 2; q++) /* smx_xent_pt_m1's argument (zt - m) - l of the rows done here, else 0 */
    dst(u + 8 * q, dsel(dgt(q ? dhi(vld(done)) : dlo(vld(done)), dset(0.0)),
                        dsub(dsub(dld(zt + 8 * q), q ? dhi(vmx) : dlo(vmx)), dld(l + 8 * q)), dset(0.0)));
  /* (only the gradient needs p_t - 1: loss only, 0.87x the time at n = 8) */
  for (int q = 0; q < 2; q++) dst(pt_m1 + 8 * q, dx ? dexpm1_64_neg(dld(u + 8 * q)) : dset(0.0));
  /* smx_xent_softmax_terms, one row per double lane, and the gradient's constants */
  const double e = eps, nd = (double)n, W = row.weight_sum, z = row.z_loss;
  vd lrq[2], Aq[2], gtq[2], gq[2];
  for (int q = 0; q < 2; q++) {
    const vd vm = q ? dhi(vmx) : dlo(vmx), vl = dld(l + 8 * q), vz = dld(zt + 8 * q), vw = dld(wt + 8 * q);
    const vd lse = dadd(vm, vl), c = dmul(dset(1.0 - e), vw), p1 = dadd(dld(pt_m1 + 8 * q), dset(1.0));
    vd lo = dadd(dsel(deq(c, dset(0.0)), dset(0.0), dmul(c, dadd(dsub(vm, vz), vl))), dmul(dmul(dset(z), lse), lse));
    if (eps > 0.0f) lo = dadd(lo, dmul(dset(e / nd), dsub(dmul(dset(W), lse), dld(sw + 8 * q))));
    lrq[q] = lo, gq[q] = dld(gc + 8 * q);
    Aq[q] = dadd(dadd(c, dset(e * W / nd)), dmul(dset(2.0 * z), lse));
    gtq[q] = dadd(dadd(dmul(c, dld(pt_m1 + 8 * q)), dmul(dset(e / nd), dsub(dmul(dset(W), p1), vw))),
                  dmul(dmul(dset(2.0 * z), lse), p1));
  }
  dst(lr, lrq[0]), dst(lr + 8, lrq[1]);
  const vm live = vgt(vld(done), vzero());
  vst(af, vsel0(live, dpack(dmul(gq[0], Aq[0]), dmul(gq[1], Aq[1]))));
  vst(nbf, vsel0(live, dpack(dsmooth_coef(gq[0], e, nd), dsmooth_coef(gq[1], e, nd))));
  vst(dxt, vflush_nan(dpack(dmul(gq[0], gtq[0]), dmul(gq[1], gtq[1]))));
  for (size_t r = 0; r < VW; r++)
    if (done[r] == 0.0f) lr[r] = 0.0;
  if (dx) {
    const vf va = vld(af), nb = vneg(vld(nbf)); /* -B (w_j = 1), or -B w_j: -(B w_j) exactly */
    if (reg) {
      xent_reg_grad(g, n, &G.R, done, af, nbf, cw, dx + r0 * ldd, ldd);
    } else {
      const lane_rows *L = &G.L;
      VSTORE_COLUMNS_OF(g, n, done, dx + r0 * ldd, ldd, SMX_ELEM_F32, i, /* the rows done here */
                        vflush_nan(vfma(va, out_from_e_if(L->e[i], &L->oc, 1), cw ? vmul(nb, vset(cw[i])) : nb)))
    }
    for (size_t r = 0; r < g; r++)
      if (done[r] != 0.0f) dx[(r0 + r) * ldd + (size_t)tg[r]] = dxt[r];
  }
  for (size_t r = 0; r < g; r++)
    if (rowpath[r] && smx_xent_row_begin(a, r0 + r, n, &row, NULL))
      lr[r] = FN(xent_softmax_row)(n, x + (r0 + r) * ldx, &row, dx ? dx + (r0 + r) * ldd : NULL);
  for (size_t r = 0; r < g; r++) total = smx_xent_row_end(a, loss_rows, r0 + r, lr[r], total);
  return total;
}

/* The kernel: rows of one block without softcap by lanes or groups (ROW_GROUPS), the others by xent_softmax_row. */
double FN(xent_softmax)(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_args *a, float *loss_rows,
                        float *dx, size_t ldd) {
  if (a->row.softcap > 0.0f) return smx_xent_rows(rows, n, x, ldx, a, loss_rows, dx, ldd, FN(xent_softmax_row));
  double total = 0.0;
  ROW_GROUPS(r0, g, path, smx_lane_rows_max(SMX_KERNEL_ID_xent_softmax), SMX_REG_ROWS_MAX) {
    if (path == PATH_LANES || path == PATH_REG)
      total = FN(xent_softmax_lanes)(r0, g, n, x, ldx, a, loss_rows, dx, ldd, total, path == PATH_REG);
    else if (path == PATH_GROUP)
      total = xent_softmax_group_e(r0, g, n, x, ldx, a, loss_rows, dx, ldd, total, dx && dx != x ? dx + r0 * ldd : NULL,
                                   ldd, NULL, SMX_ELEM_F32);
    else total = smx_xent_rows_range(r0, r0 + g, n, x, ldx, a, loss_rows, dx, ldd, FN(xent_softmax_row), total);
  }
  return total;
}

/* rows [r0, r1) of 16-bit logits by the fused row */
SMX_FLATTEN void xent_rows16_range_e(size_t r0, size_t r1, size_t n, const uint16_t *x, size_t ldx, const smx_xent_args *a,
                                     float *loss_rows, uint16_t *dx, size_t ldd, unsigned char *left, const int e) {
  smx_xent_row row = a->row;
  for (size_t r = r0; r < r1; r++) {
    uint16_t *d = dx ? dx + r * ldd : NULL;
    const double lr = xent_row_begin_e(a, r, n, &row, d, e) ? xent_row_path_e(n, x + r * ldx, &row, d, left, r, e) : 0.0;
    smx_xent_row_end(a, loss_rows, r, lr, 0.0);
  }
}
/* XENT16 (kernels.h): rows of one block without softcap in groups of rows by short_rows_state (as the f32 kernel's
   rows of more than SMX_REG_ROWS_MAX entries), over loads that widen, their pass-1 values in a stack scratch
   (xent_softmax_group16); the others by the fused row. (The dispatcher sends rows of more than SMX_REG_ROWS_MAX
   entries: shorter ones in the f32 kernel's lane and register groups over loads that widen were slower for binary16
   and on AVX2 than through the scratch.) */
SMX_FLATTEN void xent_softmax_rows16_e(size_t rows, size_t n, const uint16_t *x, size_t ldx, const smx_xent_args *a,
                                       float *loss_rows, uint16_t *dx, size_t ldd, unsigned char *left, const int e) {
  memset(left, 0, rows);
  if (a->row.softcap > 0.0f) {
    xent_rows16_range_e(0, rows, n, x, ldx, a, loss_rows, dx, ldd, left, e);
    return;
  }
  ROW_GROUPS(r0, g, path, 0, 0) {
    if (path == PATH_GROUP) FN(xent_softmax_group16)(r0, g, n, x, ldx, a, loss_rows, dx, ldd, left, e);
    else xent_rows16_range_e(r0, r0 + g, n, x, ldx, a, loss_rows, dx, ldd, left, e);
  }
}
void FN(xent_softmax16)(int bf16, size_t rows, size_t n, const uint16_t *x, size_t ldx, const smx_xent_args *a,
                        float *loss_rows, uint16_t *dx, size_t ldd, unsigned char *left) {
  if (bf16) xent_softmax_rows16_e(rows, n, x, ldx, a, loss_rows, dx, ldd, left, SMX_ELEM_BF16);
  else xent_softmax_rows16_e(rows, n, x, ldx, a, loss_rows, dx, ldd, left, SMX_ELEM_F16);
}
