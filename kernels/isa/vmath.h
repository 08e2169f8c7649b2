/* The vector numerics every SIMD body shares, written once over an ISA vocabulary (kernels/isa/<isa>.h,
   included first): the exp pieces, softcap, the double log, the 64-lane trees, the row max and the
   blocked dot product, each mirroring its scalar form in kernels/common operation for operation. */
#ifndef SMX_ISA_VMATH_H
#define SMX_ISA_VMATH_H
#include "half.h"

#define VW 16                 /* floats per step */
#define NACC (SMX_LANES / VW) /* steps per group of 64 virtual lanes */
#define FN(name) SMX_CAT(smx_##name, SMX_ISA_NAME)

static inline vf vzero(void) { return vset(0.0f); }
/* smx_flush: |v| < FLT_MIN (also -0) -> +0, NaN kept */
static inline vf vflush(vf v) { return vsel(vlt(vabs(v), vset(SMX_FLT_MIN)), vzero(), v); }
/* smx_flush_nan: the FLT_MIN rule, and a NaN without its sign. The NaNs that reach it (the gradients') are the CPU's
   default NaN, made by their arithmetic (inf - inf, 0 x inf): -NaN on x86, +NaN on AArch64, the quiet NaN either way
   once its sign is gone (a row with a NaN input, whose NaN may have any payload, is filled with the quiet NaN) */
#ifndef SMX_VFLUSH_NAN
static inline vf vflush_nan(vf v) {
  const vf a = vabs(v);
  return vsel(vnge(a, vset(SMX_FLT_MIN)), vmin(vzero(), a), v); /* (vmin: 0 < a ? 0 : a, so a where a is NaN) */
}
#endif
/* min(len - i, VW) for the step at i < len */
static inline size_t step_count(size_t len, size_t i) { return len - i < VW ? len - i : VW; }
SMX_FLATTEN vf vld_n(const float *p, size_t c, float fill) { return c >= VW ? vld(p) : vld_tail(p, c, fill); }
static inline void vst_n(float *p, vf v, size_t c) {
  if (c >= VW) vst(p, v);
  else vst_tail(p, v, c);
}
#ifndef SMX_MHALVES /* a float-lane predicate's double-lane halves (mpack's inverse) */
static inline vdm mlo(vm m) { return dgt(dlo(vsel0(m, vset(1.0f))), dset(0.0)); }
static inline vdm mhi(vm m) { return dgt(dhi(vsel0(m, vset(1.0f))), dset(0.0)); }
#endif

/* ---- rows in lanes (the columns: vload_columns_e below) ---- */
/* a double per row of a lane group (lo: rows 0-7, hi: rows 8-15) */
typedef struct {
  vd lo, hi;
} lane_dsum;
static inline lane_dsum lane_dsum_add(lane_dsum a, lane_dsum b) {
  return (lane_dsum){dadd(a.lo, b.lo), dadd(a.hi, b.hi)};
}
/* entry i's value v added to its double lane T[i % 16] (entries in order: the first one of a lane sets it, as 0 + v) */
static inline void lane_leaf_add(lane_dsum *T, size_t i, lane_dsum v) {
  T[i % SMX_DLANES] = i < SMX_DLANES ? v : lane_dsum_add(T[i % SMX_DLANES], v);
}
/* smx_tree_sum16d's tree over the columns of a lane group: T[l] holds lane l (entries l and l + 16) for l < min(n, 16);
   each level h combines node i + h into node i where both were written (a lane never written holds +0, and no sum
   of the callers' values is -0, so it is not added). Returns the sum. */
static inline lane_dsum lane_tree16d(lane_dsum *T, size_t n) {
  for (size_t h = SMX_DLANES / 2, c = n < SMX_DLANES ? n : SMX_DLANES; h >= 1; c = c < h ? c : h, h /= 2)
    for (size_t i = 0; i < h && i + h < c; i++) T[i] = lane_dsum_add(T[i], T[i + h]);
  return T[0];
}
/* lane groups from row r (advanced by each group's g rows, at most VW) while at least min_rows rows are left */
#define LANE_GROUPS(r, g, rows, min_rows) \
  for (size_t g = 0; (rows) - (r) >= (min_rows) && (g = (rows) - (r) < VW ? (rows) - (r) : VW, 1); (r) += g)

/* ---- bfloat16 and binary16 (kernels/common/half.h's definitions, bit for bit) ---- */
/* h: 16-bit patterns in the lanes' low bits (bfloat16 widens by the vocabulary's vld16hi_n: its bits are the
   float's high half) */
static inline vf widen_f16(vf h) {
  const vf s = vbits_shl(vbits_and(h, 0x8000u), 16), em = vbits_and(h, 0x7fffu);
  vf u = vbits_add(vbits_shl(em, 13), vbits_k(0x38000000u));              /* normal: the exponent rebiased */
  u = vsel(vbits_ge(em, 0x7c00), vbits_add(u, vbits_k(0x38000000u)), u);   /* inf, NaN: exponent 255 */
  u = vsel(vbits_ge(em, 0x400), u, vmul(vbits_float(em), vset(0x1p-24f))); /* zero, subnormal: em 2^-24, exact */
  return vbits_or(u, s);
}
/* the bfloat16 in the lanes' high halves (stored by vst16hi_n; the low halves are not a part of it) */
static inline vf narrow_bf16_hi(vf v) {
  const vf r = vbits_add(vbits_add(v, vbits_k(0x7fffu)), vbits_and(vbits_shr(v, 16), 1u));
  return vsel(vnan(v), vbits_k(SMX_BF16_QNAN << 16), r);
}
/* Subnormal f16 results (|v| < 2^-14): bits(|v| + 0.5) - bits(0.5) is |v| 2^24 rounded to nearest even (the
   ulp of 0.5 is 2^-24; every call runs in round-to-nearest without FTZ/DAZ), 0 below 2^-25 and 0x400 where
   it rounds up to the smallest normal: the portable definition's q. */
static inline vf narrow_f16(vf v) {
  const vf a = vabs(v), s = vbits_and(vbits_shr(v, 16), 0x8000u);
  vf r = vbits_shr(vbits_add(vbits_add(a, vbits_k(0xfffu - 0x38000000u)), vbits_and(vbits_shr(a, 13), 1u)), 13);
  r = vsel(vbits_ge(a, 0x38800000), r, vbits_add(vadd(a, vset(0.5f)), vbits_k(0u - 0x3f000000u)));
  r = vsel(vbits_ge(a, 0x477ff000), vbits_k(0x7c00u), r); /* >= 65520 (also inf): inf */
  return vsel(vnan(v), vbits_k(SMX_F16_QNAN), vbits_or(r, s));
}

/* binary16 loads and stores of c <= VW values: by the vocabulary's hardware hook where it has one (exact; a step
   holding a NaN is widened again by the integer path, which keeps signaling NaNs as the definition does; NaNs
   are stored as the quiet NaN the hardware makes 0x7e00 of), else by the integer operations above */
SMX_FLATTEN vf vld_f16_n(const uint16_t *p, size_t c) {
#ifdef SMX_F16_HW
  const vf w = vld_f16hw_n(p, c);
  return many(vnan(w)) ? widen_f16(vld16_n(p, c)) : w;
#else
  return widen_f16(vld16_n(p, c));
#endif
}
/* the kernels' binary16 loads: the same but that a signaling NaN may come out quiet (no check per step: the
   hardware's conversion quiets it). No kernel output can tell: a NaN entry makes its row or its output entry the
   canonical quiet NaN, 16-bit stores round every NaN to the type's one, and float outputs (logsumexp, losses) meet a
   NaN through arithmetic, which quiets it (test_half feeds signaling NaNs and payloads to every kernel). The
   converters keep vld_f16_n, exact. (Zen 5, avx512, one row of 4096 in L1: smx_softmax_backward_f16 3.6 -> 2.15 ns
   per 16 entries, as the bfloat16 call.) */
SMX_FLATTEN vf vld_f16_quiet_n(const uint16_t *p, size_t c) {
#ifdef SMX_F16_HW
  return vld_f16hw_n(p, c);
#else
  return widen_f16(vld16_n(p, c));
#endif
}
/* bfloat16 stores of c <= VW values: by the vocabulary's hardware hook where it has one and the step allows it
   (exact), else by the integer rounding above */
static inline void vst_bf16_n(uint16_t *p, vf v, size_t c) {
#ifdef SMX_BF16_HW
  if (__builtin_expect(vbf16hw_ok(v), 1)) {
    vst_bf16hw_n(p, v, c);
    return;
  }
#endif
  vst16hi_n(p, narrow_bf16_hi(v), c);
}
static inline void vst_f16_n(uint16_t *p, vf v, size_t c) {
#ifdef SMX_F16_HW
  vst_f16hw_n(p, vsel(vnan(v), vbits_k(0x7fc00000u), v), c);
#else
  vst16_n(p, narrow_f16(v), c);
#endif
}

/* Tensors of float, bfloat16 or binary16 elements (e, a constant in specialized loops): loads widen exactly in
   registers, stores round; the rest of a kernel computes in float as for f32 tensors (SMX_ELEM_*, smx_elem_get
   and smx_elem_set for one element: kernels/common/half.h). */
SMX_FLATTEN const void *elem_at(const void *p, size_t i, const int e) { return smx_elem_at(p, i, e); }
/* where an elementwise pass of n entries of element e storing to out splits: for f32 rows of at least 4 steps, the
   floats from out to its next boundary of VW floats (0 if on one, or not on a float's), which then go first as a pass
   of their own, so that no step's store crosses a cache line (Intel Xeon, rows of 4096 at +16 bytes: softmax's
   rescale pass in place 1.14x the time, softmax 1.12x, softmax_backward 1.5x); else 0 */
static inline size_t split_at_boundary(size_t n, const void *out, const int e) {
  const size_t vb = VW * sizeof(float), off = (size_t)(uintptr_t)out % vb;
  return e != SMX_ELEM_F32 || n < 4 * VW || off % sizeof(float) ? 0 : (vb - off) % vb / sizeof(float);
}
/* Streaming stores (smx_stream_out: the call's output is larger than the caches): whether an f32 output pass of n
   entries from out (after its split_at_boundary head) streams its full steps, which needs out on a step boundary;
   rows of a block or less never do (their groups' outputs go as they are) */
static inline int stream_out(size_t n, const void *out, const int e) {
  return e == SMX_ELEM_F32 && n > SMX_BLOCK - VW && (uintptr_t)out % (VW * sizeof(float)) == 0 && smx_stream_out;
}
SMX_FLATTEN vf ld_e_n(const void *p, size_t i, size_t c, float fill, const int e) {
  if (e == SMX_ELEM_F32) return vld_n((const float *)p + i, c, fill);
  const size_t m = c < VW ? c : VW;
  const vf w = e == SMX_ELEM_BF16 ? vld16hi_n((const uint16_t *)p + i, m) : vld_f16_quiet_n((const uint16_t *)p + i, m);
  return c < VW && fill != 0.0f ? vsel(vtail(c), w, vset(fill)) : w; /* lanes >= c widened +0 */
}
/* len elements as floats: p itself for f32, else widened into buf */
SMX_FLATTEN const float *block_f32(const void *p, size_t len, float *buf, const int e) {
  if (e == SMX_ELEM_F32) return (const float *)p;
  for (size_t i = 0; i < len; i += VW) vst_n(buf + i, ld_e_n(p, i, step_count(len, i), 0.0f, e), step_count(len, i));
  return buf;
}
SMX_FLATTEN vf ld_e(const void *p, size_t i, const int e) { return ld_e_n(p, i, VW, 0.0f, e); }
/* Full steps in the vocabulary's own lane order (SMX_ORDER_X: bfloat16 on AVX2, see vld16hi_x; else the step's
   order): lane-wise steps load and store by ld_e_x / st_e_x alike; a sum over such steps puts its lanes in the
   step's order by vorder_e before it meets a step loaded otherwise. */
#ifdef SMX_ORDER_X
#define ORDER_X(e) ((e) == SMX_ELEM_BF16)
#else
#define ORDER_X(e) 0
#define vld16hi_x(p) vld16hi_n(p, VW)
#define vst16hi_x(p, v) vst16hi_n(p, v, VW)
#define vorder_x(v) (v)
#define vld_x(p) vld(p)
#endif
SMX_FLATTEN vf ld_e_x(const void *p, size_t i, const int e) {
  return ORDER_X(e) ? vld16hi_x((const uint16_t *)p + i) : ld_e(p, i, e);
}
SMX_FLATTEN vf vorder_e(vf v, const int e) {
  (void)e;
  return ORDER_X(e) ? vorder_x(v) : v;
}
SMX_FLATTEN void st_e_n(void *p, size_t i, vf v, size_t c, const int e) {
  if (e == SMX_ELEM_F32) vst_n((float *)p + i, v, c);
  else if (e == SMX_ELEM_BF16) vst_bf16_n((uint16_t *)p + i, v, c < VW ? c : VW);
  else vst_f16_n((uint16_t *)p + i, v, c < VW ? c : VW);
}
SMX_FLATTEN void st_e(void *p, size_t i, vf v, const int e) { st_e_n(p, i, v, VW, e); }
/* st_e_n of vflush(v) (the FLT_MIN rule, then the store): a 16-bit step that the vocabulary's hardware rounding takes
   as it is (vplain_n: no NaN, -0 or subnormal among the c lanes stored, so vflush changes nothing there) goes straight
   to it, one test in place of the flush and the store's own test */
SMX_FLATTEN void st_e_flush_n(void *p, size_t i, vf v, size_t c, const int e) {
#ifdef SMX_VPLAIN
  const size_t m = c < VW ? c : VW;
#ifdef SMX_BF16_HW
  if (e == SMX_ELEM_BF16 && __builtin_expect(vplain_n(v, m), 1)) {
    vst_bf16hw_n((uint16_t *)p + i, v, m);
    return;
  }
#endif
  if (e == SMX_ELEM_F16 && __builtin_expect(vplain_n(v, m), 1)) {
    vst_f16hw_n((uint16_t *)p + i, v, m);
    return;
  }
#endif
  st_e_n(p, i, vflush(v), c, e);
}
SMX_FLATTEN void st_e_x(void *p, size_t i, vf v, const int e) {
  if (ORDER_X(e)) vst16hi_x((uint16_t *)p + i, narrow_bf16_hi(v));
  else st_e(p, i, v, e);
}
SMX_FLATTEN void st_e_x_flush(void *p, size_t i, vf v, const int e) { /* st_e_x of vflush(v) */
  if (ORDER_X(e)) st_e_x(p, i, vflush(v), e);
  else st_e_flush_n(p, i, v, VW, e);
}
/* the gradients' stores: smx_flush_nan's rule in f32 (a 16-bit store's rounding gives the quiet NaN) */
SMX_FLATTEN vf vflush_nan_e(vf v, const int e) { return e == SMX_ELEM_F32 ? vflush_nan(v) : vflush(v); }
SMX_FLATTEN void st_e_flush_nan_n(void *p, size_t i, vf v, size_t c, const int e) {
  if (e == SMX_ELEM_F32) vst_n((float *)p + i, vflush_nan(v), c);
  else st_e_flush_n(p, i, v, c, e);
}
SMX_FLATTEN void st_e_x_flush_nan(void *p, size_t i, vf v, const int e) {
  if (e == SMX_ELEM_F32) vst((float *)p + i, vflush_nan(v));
  else st_e_x_flush(p, i, v, e);
}
/* a step of c lanes: by st_e_x where xo (a full step in the load's order), else in the step's order */
SMX_FLATTEN void st_e_xn(void *p, size_t i, vf v, size_t c, int xo, const int e) {
  if (xo) st_e_x(p, i, v, e);
  else st_e_n(p, i, v, c, e);
}
/* st_e_xn of values that are +-0, normal or infinite, never NaN or subnormal (probabilities after the FLT_MIN rule,
   log-probabilities): the vocabulary's hardware rounding takes every such lane as the definitions do, so no step is
   tested */
SMX_FLATTEN void st_e_xn_num(void *p, size_t i, vf v, size_t c, int xo, const int e) {
#ifdef SMX_BF16_HW
  if (e == SMX_ELEM_BF16 && !ORDER_X(e)) {
    vst_bf16hw_n((uint16_t *)p + i, v, c < VW ? c : VW);
    return;
  }
#endif
#ifdef SMX_F16_HW
  if (e == SMX_ELEM_F16) {
    vst_f16hw_n((uint16_t *)p + i, v, c < VW ? c : VW);
    return;
  }
#endif
  st_e_xn(p, i, v, c, xo, e);
}
/* The full-step stores above (st_e_x, st_e_x_flush, st_e_x_flush_nan, st_e_xn_num in the load's order (x) or the
   step's), streamed where nt (f32 rows only: stream_out) */
SMX_FLATTEN void st_e_x_nt(void *p, size_t i, vf v, const int nt, const int e) {
  if (nt) vst_stream((float *)p + i, v);
  else st_e_x(p, i, v, e);
}
SMX_FLATTEN void st_e_x_flush_nt(void *p, size_t i, vf v, const int nt, const int e) {
  if (nt) vst_stream((float *)p + i, vflush(v));
  else st_e_x_flush(p, i, v, e);
}
SMX_FLATTEN void st_e_x_flush_nan_nt(void *p, size_t i, vf v, const int nt, const int e) {
  if (nt) vst_stream((float *)p + i, vflush_nan(v));
  else st_e_x_flush_nan(p, i, v, e);
}
SMX_FLATTEN void st_num_x_nt(void *p, size_t i, vf v, const int nt, const int e) {
  if (nt) vst_stream((float *)p + i, v);
  else st_e_xn_num(p, i, v, VW, 1, e);
}
SMX_FLATTEN void st_num_step_nt(void *p, size_t i, vf v, const int nt, const int e) {
  if (nt) vst_stream((float *)p + i, v);
  else st_e_xn_num(p, i, v, VW, 0, e);
}
/* ---- a test of two steps of a 16-bit row against a float t without widening them (a 512-bit widening takes ~2 cycles
   on Zen 4): for every non-NaN x, x > t is x in a range of patterns as uint16: [T, 0x7fff] where t >= 0, T the least
   pattern above t (the positive patterns from T up), else [0, L - 1], L the greatest pattern at most t (the positive
   patterns and the negative ones above L: x <= t is x >= L as uint16). NaN patterns may fall in the range (the
   passes that use it are on rows without NaNs; a NaN there would only send its steps to the float test). ---- */
typedef struct {
  uint16_t lo, span; /* the range [lo, lo + span] */
} th16;
static inline th16 th16_of(float t, const int e) { /* (t not NaN; f32 rows take no such test: unused there) */
  if (e == SMX_ELEM_F32) return (th16){0, 0};
  /* the nearest pattern h: T is h where h is above t, else the next one up; L is h where h is at most t, else the
     next one down (the nearest has no pattern between it and t) */
  uint16_t h = e == SMX_ELEM_BF16 ? smx_bf16_of_f32(t) : smx_f16_of_f32(t);
  if (t >= 0.0f) { /* (positive patterns: the next one up is h + 1) */
    if (smx_elem_get(&h, 0, e) <= t) h++;
    return (th16){h, (uint16_t)(0x7fffu - h)};
  }
  if (smx_elem_get(&h, 0, e) > t) h++; /* (negative patterns: the next one down is h + 1; -0 is above t) */
  return (th16){0, (uint16_t)(h - 1u)};
}
/* 1 when any of the 32 entries of x (of 16-bit element e) from i is above the t of h */
SMX_FLATTEN int any16_above(const void *x, size_t i, th16 h) { return any16_in((const uint16_t *)x + i, h.lo, h.span); }

/* ---- rows in lanes: rows r < g of x (n elements of e, the step at b of each) transposed, so that col[i] lane r is
   entry i of row r (-inf past n and past g; col holds n rounded up to VW), and back for the rows r with
   fast[r] != 0 ---- */
/* Hints to the caches for the next group of rows, so that rows streamed from memory arrive while this group
   computes (a prefetch never faults and changes no value the program sees; the addresses are formed as integers:
   past the call's last row they may point anywhere). prefetch_e / prefetch_out_e: the line of element i of x
   (elements e), toward the first level of cache to be read / the second to be written, one a step, spread over a
   group's work: the register groups and short_rows_state hint the next group's rows as they sum, and every group's
   stores the next group's outputs. The hardware's prefetch runs only a few lines ahead of the loads that miss, and a
   group's compute issues none: softmax rows of 64..256 from memory took 2.2-2.5x their time in cache (Intel Xeon,
   rows x n = 2^20), 1.5-1.7x with these hints (outputs hinted to the first level instead: 1.8x, and 1.07x the time in
   cache). prefetch_rows_e: every line of the g rows after these at once, for a lane group, whose loads wait on each
   other (the transposes need all its rows): rows of 16..32 from memory took 1.4-1.8x their time in cache (Zen 4),
   1.0-1.2x with it; such a burst at the start of a register group was 1.1-1.4x slower (Zen 4). */
static inline uintptr_t elem_addr(const void *x, size_t i, const int e) { /* element i's address, as an integer */
  return (uintptr_t)x + i * (e == SMX_ELEM_F32 ? sizeof(float) : sizeof(uint16_t));
}
static inline void prefetch_e(const void *x, size_t i, const int e) {
  __builtin_prefetch((const void *)elem_addr(x, i, e), 0, 3);
}
static inline void prefetch_out_e(const void *x, size_t i, const int e) {
  __builtin_prefetch((const void *)elem_addr(x, i, e), 1, 2);
}
static inline void prefetch_rows_e(const void *x, size_t ldx, size_t g, size_t n, const int e) {
  for (size_t r = g; r < 2 * g; r++) /* every 64-byte line the row touches */
    for (uintptr_t p = elem_addr(x, r * ldx, e) & ~(uintptr_t)63; p < elem_addr(x, r * ldx + n, e); p += 64)
      __builtin_prefetch((const void *)p);
}
SMX_FLATTEN void vload_columns_e(size_t g, size_t n, const void *x, size_t ldx, vf *col, const int e) {
  prefetch_rows_e(x, ldx, g, n, e);
#ifdef SMX_VTRANSPOSE_HALVES
  if (n <= VW / 2) { /* rows r and r + VW / 2 in one vector: col[0 .. n) */
    for (size_t r = 0; r < VW / 2; r++)
      col[r] = vjoin_halves(r < g ? ld_e_n(x, r * ldx, n, -INFINITY, e) : vset(-INFINITY),
                            r + VW / 2 < g ? ld_e_n(x, (r + VW / 2) * ldx, n, -INFINITY, e) : vset(-INFINITY));
    vtranspose_halves(col);
    return;
  }
#endif
  for (size_t b = 0; b < n; b += VW) {
    vf *c = col + b;
    for (size_t r = 0; r < VW; r++)
      c[r] = r < g ? ld_e_n(x, r * ldx + b, step_count(n, b), -INFINITY, e) : vset(-INFINITY);
    vtranspose16(c);
  }
}
/* columns b .. b + VW - 1 (c, transposed in place) of the rows r < g with fast[r] != 0 */
SMX_FLATTEN void vstore_column_block_e(size_t g, size_t n, size_t b, vf *c, const float *fast, void *y, size_t ldy,
                                       const int e) {
#ifdef SMX_VTRANSPOSE_HALVES
  if (n <= VW / 2) {
    vtranspose_halves(c);
    for (size_t r = 0; r < g; r++) {
      prefetch_out_e(y, (g + r) * ldy, e);
      if (fast[r] != 0.0f) st_e_n(y, r * ldy, r < VW / 2 ? c[r] : vupper_half(c[r - VW / 2]), n, e);
    }
    return;
  }
#endif
  vtranspose16(c);
  for (size_t r = 0; r < g; r++) {
    prefetch_out_e(y, (g + r) * ldy + b, e);
    if (fast[r] != 0.0f) st_e_n(y, r * ldy + b, c[r], step_count(n, b), e);
  }
}
SMX_FLATTEN void vstore_columns_e(size_t g, size_t n, vf *col, const float *fast, void *y, size_t ldy, const int e) {
  for (size_t b = 0; b < n; b += VW) vstore_column_block_e(g, n, b, col + b, fast, y, ldy, e);
}
/* vstore_columns_e of the columns OUT, an expression of i, made a block at a time in registers: no array of the n
   output columns is written and read back (a zmm store takes two cycles on Zen 4: softmax's lane groups 0.90-0.95x
   the time at n = 8..128) */
#define VSTORE_COLUMNS_OF(g, n, fast, y, ldy, e, i, OUT)                        \
  for (size_t b_ = 0; b_ < (n); b_ += VW) {                                    \
    vf c_[VW];                                                                 \
    for (size_t j_ = 0, i = b_; j_ < VW; j_++, i++) c_[j_] = i < (n) ? (OUT) : vzero(); \
    vstore_column_block_e(g, n, b_, c_, fast, y, ldy, e);                      \
  }
static inline void vload_columns(size_t g, size_t n, const float *x, size_t ldx, vf *col) {
  vload_columns_e(g, n, x, ldx, col, SMX_ELEM_F32);
}
static inline void vstore_columns(size_t g, size_t n, vf *col, const float *fast, float *y, size_t ldy) {
  vstore_columns_e(g, n, col, fast, y, ldy, SMX_ELEM_F32);
}
/* One value v as a step of element e, rounded once (for a 16-bit tensor its bits in the lanes' low halves), and
   st_const_n storing such a step: a loop that stores one value many times rounds it once */
static inline vf const_e(float v, const int e) {
  return e == SMX_ELEM_F32 ? vset(v) : vbits_k(e == SMX_ELEM_BF16 ? smx_bf16_of_f32(v) : smx_f16_of_f32(v));
}
SMX_FLATTEN void st_const_n(void *p, size_t i, vf k, size_t c, const int e) {
  if (e == SMX_ELEM_F32) vst_n((float *)p + i, k, c);
  else vst16_n((uint16_t *)p + i, k, c < VW ? c : VW);
}
/* n elements set to v (rounded) */
SMX_FLATTEN void fill_e(size_t n, void *p, float v, const int e) {
  const vf k = const_e(v, e);
  for (size_t i = 0; i < n; i += VW) st_const_n(p, i, k, step_count(n, i), e);
}
/* smx_two_diff(x, c) with nc = -c: d + lo = x - c exactly. */
static inline vf vtwo_diff(vf x, vf c, vf nc, vf *lo) {
  vf d = vsub(x, c);
  vf bb = vsub(d, x);
  *lo = vadd(vsub(x, vsub(d, bb)), vsub(nc, bb));
  return d;
}
/* smx_exp_arg and smx_exp_q */
static inline vf vexp_arg(vf d, vf magic, vf *t) {
  *t = vfma(d, vset(SMX_LOG2E), magic);
  vf nf = vsub(*t, magic);
  vf r = vfma(nf, vset(-SMX_LN2_HI), d);
  return vfma(nf, vset(-SMX_LN2_LO), r);
}
static inline vf vexp_q(vf r) {
  vf p = vfma(vset(SMX_EXP_C6), r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  return vfma(p, r, vset(1.0f));
}
/* smx_exp_shift without its keep test: p, and *t whose bits are bits(SMX_MAGIC) + n - kb. */
SMX_FLATTEN vf vexp_shift(vf x, vf magic, vf *t) {
  vf r = vexp_arg(x, magic, t);
  return vfma(vexp_q(r), r, vset(1.0f));
}

/* smx_softcap: z = cap tanh(x / cap), *dz = dz/dx */
SMX_FLATTEN vf vsoftcap(vf x, vf cap, vf inv_cap, vf *dz) {
  vf u = vmul(x, inv_cap);
  vf a = vabs(u);
  vf ac = vmin(vset(43.0f), a); /* a > 43 ? 43 : a */
  vf t, r = vexp_arg(vmul(vset(-2.0f), ac), vset(SMX_MAGIC), &t);
  vf rq = vmul(vexp_q(r), r);
  vf sc = vexp2add(vset(1.0f), t);
  vf E = vfma(rq, sc, sc);
  vf e = vfma(rq, sc, vsub(sc, vset(1.0f)));
  vf q = vadd(vset(2.0f), e);
  vf th = vsignor(vdiv(vneg(e), q), u);
  *dz = vsel(vgt(a, vset(43.0f)), vzero(), vdiv(vmul(vset(4.0f), E), vmul(q, q)));
  return vmul(cap, th);
}
/* The logits of one step (c lanes valid, the others fill) as the loss sees them, and dz/dx (1 without softcap). */
SMX_FLATTEN vf step_logits_e(const void *x, size_t i, size_t c, float fill, int capped, vf vcap, vf vinv, vf *dz,
                             const int e) {
  vf v = ld_e_n(x, i, c, fill, e);
  if (!capped) {
    *dz = vset(1.0f);
    return v;
  }
  return vsoftcap(v, vcap, vinv, dz);
}
static inline vf step_logits(const float *x, size_t c, float fill, int capped, vf vcap, vf vinv, vf *dz) {
  return step_logits_e(x, 0, c, fill, capped, vcap, vinv, dz, SMX_ELEM_F32);
}
/* The probability-target cross-entropy's weights wq_j = w_j q'_j of half h of a step of c entries in double (q'_j
   = (1 - e) q_j + off where e > 0, else q_j; vw unused without weights; +0 past the tail, which adds +0: a lane
   of these sums is never -0) */
SMX_FLATTEN vd soft_wq(vf vq, vf vw, int weighted, size_t c, double e, vd ve, vd voff, int h) {
  const vd qd = h ? dhi(vq) : dlo(vq), qj = e > 0.0 ? dadd(dmul(ve, qd), voff) : qd;
  const vd wq = weighted ? dmul(h ? dhi(vw) : dlo(vw), qj) : qj;
  if (c >= VW) return wq;
  const vf live = vsel0(vtail(c), vset(1.0f));
  return dsel(deq(h ? dhi(live) : dlo(live), dset(0.0)), dset(0.0), wq);
}
/* b_j = (float)(coef wq_j) of a step from its wq halves (the probability-target gradient's weights, xent_soft_b) */
static inline vf soft_b(vd lo, vd hi, vd vc) { return dpack(dmul(vc, lo), dmul(vc, hi)); }
/* ... of n entries into b (ve = 1 - e, voff = e / n, vc = coef) */
SMX_FLATTEN void soft_b_row(size_t n, const float *q, const float *w, double e, vd ve, vd voff, vd vc, float *b) {
  for (size_t i = 0; i < n; i += VW) {
    const size_t c = step_count(n, i);
    const vf vq = vld_n(q + i, c, 0.0f), vw = w ? vld_n(w + i, c, 0.0f) : vzero();
    const vd lo = soft_wq(vq, vw, w != NULL, c, e, ve, voff, 0), hi = soft_wq(vq, vw, w != NULL, c, e, ve, voff, 1);
    vst_n(b + i, soft_b(lo, hi, vc), c);
  }
}
/* L += wq nl where wq != 0 (smx_times) */
static inline void soft_acc(vd wq, vd nl, vd *L) { *L = dadd(*L, dsel(deq(wq, dset(0.0)), dset(0.0), dmul(wq, nl))); }

/* dmath.c's poly13: c[0] + ... + c[12] x^12 by the same Estrin scheme */
static inline vd dpoly13(vd x, const double *c) {
  vd x2 = dmul(x, x), x4 = dmul(x2, x2), x8 = dmul(x4, x4), a[6];
  for (int i = 0; i < 6; i++) a[i] = dadd(dset(c[2 * i]), dmul(dset(c[2 * i + 1]), x));
  vd b0 = dadd(a[0], dmul(a[1], x2)), b1 = dadd(a[2], dmul(a[3], x2)), b2 = dadd(a[4], dmul(a[5], x2));
  return dadd(dadd(b0, dmul(b1, x4)), dmul(dadd(b2, dmul(dset(c[12]), x4)), x8));
}
/* smx_log64 (kernels/common/dmath.c), its series in the same order; _pos: of a positive normal finite x (no special
   values: the per-row constants' arguments) */
static inline vd dlog64_pos(vd x) {
  vd k = dsub(dexpfield(x), dset(1023.0)), m = dmant1(x);
  vdm big = dgt(m, dset(0x1.6a09e667f3bcdp0));
  m = dsel(big, dmul(m, dset(0.5)), m);
  k = dsel(big, dadd(k, dset(1.0)), k);
  vd f = ddiv(dsub(m, dset(1.0)), dadd(m, dset(1.0))), s = dmul(f, f);
  vd p = dadd(dset(2.0), dmul(s, dpoly13(s, SMX_LOG_C)));
  return dadd(dmul(k, dset(SMX_LN2_HI64)), dadd(dmul(f, p), dmul(k, dset(SMX_LN2_LO64))));
}
static inline vd dlog64(vd x) {
  vd r = dlog64_pos(x);
  r = dsel(deq(x, dset(HUGE_VAL)), x, r);
  r = dsel(deq(x, dset(0.0)), dset(-HUGE_VAL), r);
  return dsel(dnan_or_neg(x), dset(NAN), r);
}
/* smx_exp64 of x in [-600, 709] (its range and NaN tests left to the callers, whose arguments mostly cannot need them):
   k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5) is the truncation of kd -+ 0.5 */
static inline vd dexp64_in(vd x) {
  vd kd = dmul(x, dset(0x1.71547652b82fep0));
  vd k = dtrunc(dsel(dlt(kd, dset(0.0)), dsub(kd, dset(0.5)), dadd(kd, dset(0.5))));
  vd r = dsub(dsub(x, dmul(k, dset(SMX_LN2_HI64))), dmul(k, dset(SMX_LN2_LO64)));
  return dmul(dadd(dset(1.0), dadd(r, dmul(dmul(r, r), dpoly13(r, SMX_INV_FACT)))), dpow2i(k));
}
/* the cross-entropies' label-smoothing coefficient g eps / n of each lane; without smoothing g x +0, the division's
   bits (+-0, or NaN) without the division */
static inline vd dsmooth_coef(vd g, double eps, double nd) {
  return eps > 0.0 ? ddiv(dmul(g, dset(eps)), dset(nd)) : dmul(g, dset(0.0));
}
/* smx_expm1_64 of x <= 0 (-inf too, not NaN: log p_t): exp - 1 outside (-0.34, 0.34), the series by Horner inside (each
   where a lane needs it) */
static inline vd dexpm1_64_neg(vd x) {
  const vdm in = dgt(x, dset(-0.34));
  vd near = x, far = x;
  if (dbits(in) != 0) {
    vd p = dset(1.0 / 355687428096000.0);
    for (int i = 14; i >= 0; i--) p = dadd(dmul(p, x), dset(SMX_INV_FACT[i]));
    near = dadd(dmul(dmul(p, x), x), x);
  }
  if (dbits(in) != 0xffu) far = dsel(dlt(x, dset(-600.0)), dset(-1.0), dsub(dexp64_in(x), dset(1.0)));
  return dsel(in, near, far);
}
/* smx_log1p64 of a finite x >= 0 */
static inline vd dlog1p64_pos(vd x) {
  vd u = dadd(dset(1.0), x);
  return dsel(deq(u, dset(1.0)), x, dmul(dlog64_pos(u), ddiv(x, dsub(u, dset(1.0)))));
}
/* smx_log1p64 */
static inline vd dlog1p64(vd x) {
  vd u = dadd(dset(1.0), x);
  vd r = dmul(dlog64(u), ddiv(x, dsub(u, dset(1.0))));
  r = dsel(deq(u, dset(HUGE_VAL)), u, r);
  return dsel(deq(u, dset(1.0)), x, r);
}

/* smx_tree_max64 and smx_tree_sum64 over NACC accumulators (lane 16 j + i = a[j] lane i): the levels
   h = 32, 16 combine whole steps, the rest is vhmax / dhsum; every level is l[i] op l[i + h]. */
static inline float FN(tree_max)(const vf *a) {
  vf l[NACC / 2];
  for (int j = 0; j < NACC / 2; j++) l[j] = vmax(a[j], a[j + NACC / 2]);
  for (int h = NACC / 4; h >= 1; h /= 2)
    for (int j = 0; j < h; j++) l[j] = vmax(l[j], l[j + h]);
  return vhmax(l[0]);
}
/* tree_sum when only the first `used` steps were ever added to: the other lanes are +0 and no lane is -0
   (sums from +0), so their additions, which change nothing, are skipped (rows shorter than 64). */
SMX_FLATTEN double tree_sum_steps(const vf *a, const int used) { /* used a constant: d stays in registers */
  vd d[2 * NACC];
  for (int j = 0; j < used; j++) d[2 * j] = dlo(a[j]), d[2 * j + 1] = dhi(a[j]);
  for (int h = NACC; h >= 1; h /= 2)
    for (int q = 0; q + h < 2 * used && q < h; q++) d[q] = dadd(d[q], d[q + h]);
  return dhsum(d[0]);
}
/* SMX_INLINE_TREES (vocabulary): the block trees inlined into the loops (AVX-512: an out-of-line tree reloads the
   spilled zmm accumulators by halves, 7% of softmax 1x32000 on Zen 5), else one out-of-line copy (AVX2: inlined
   trees cost the loops registers, softmax 1x32000 10% slower) */
#ifdef SMX_INLINE_TREES
SMX_FLATTEN
#else
static inline
#endif
double FN(tree_sum_used)(const vf *a, int used) {
  return used >= NACC ? tree_sum_steps(a, NACC) : used > 2 ? tree_sum_steps(a, 3) : used == 2 ? tree_sum_steps(a, 2) : tree_sum_steps(a, 1);
}
/* the steps a block of len entries adds to */
static inline int steps_used(size_t len) { return len >= SMX_LANES ? NACC : (int)((len + VW - 1) / VW); }
/* smx_tree_sum16d over two 8-double accumulators (lanes 0-7, 8-15) in registers: the level h = 8 is the add
   of the halves, dhsum the levels 4, 2, 1 */
static inline double tree_sum16d(vd a, vd b) { return dhsum(dadd(a, b)); }

/* smx_row_max_scalar: 64 lanes (element i -> lane i % 64; their maxima left in m), the same tree, NaN flag
   (tensors of element e). */
SMX_FLATTEN float row_max_lanes_e(size_t n, const void *x, int *nan, vf *m, const int e) {
  vm bad = mzero();
  for (int j = 0; j < NACC; j++) m[j] = vset(-INFINITY);
  size_t i = 0;
  for (; i + SMX_LANES <= n; i += SMX_LANES)
    for (int j = 0; j < NACC; j++) {
      vf a = ld_e(x, i + (size_t)j * VW, e);
      m[j] = vmax(a, m[j]);
      bad = mor(bad, vnan(a));
    }
  for (int j = 0; i < n; i += VW, j++) { /* tail lanes read -inf: they keep the lane max */
    vf a = ld_e_n(x, i, step_count(n, i), -INFINITY, e);
    m[j] = vmax(a, m[j]);
    bad = mor(bad, vnan(a));
  }
  *nan = many(bad);
  return FN(tree_max)(m);
}
SMX_FLATTEN float row_max_e(size_t n, const void *x, int *nan, const int e) {
  vf m[NACC];
  return row_max_lanes_e(n, x, nan, m, e);
}
static inline float FN(row_max)(size_t n, const float *x, int *nan) { return row_max_e(n, x, nan, SMX_ELEM_F32); }

/* The fused 16-bit backward kernels from a row function over element e (bf16: bfloat16, else binary16) */
/* smx_blocked_dot_scalar: sum a_i b_i (b NULL: sum a_i), 64 float lanes per block, blocks in double, of tensors
   of element e. Tail lanes read 0: fma(0, 0, l) = l + 0 = l, since a lane is never -0 (it starts at +0). Shadows
   sa (and sb), binary16 rows only (see shadowed), take the widened steps, n rounded up to VW. */
SMX_FLATTEN double blocked_dot_sh_e(size_t n, const void *a, const void *b, float *sa, float *sb, const int e) {
  double total = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, full = len / SMX_LANES * SMX_LANES;
    vf l[NACC];
    for (int j = 0; j < NACC; j++) l[j] = vzero();
    for (size_t i = o; i < o + full; i += SMX_LANES)
      for (int j = 0; j < NACC; j++) {
        const vf va = ld_e_x(a, i + j * VW, e), vb = b ? ld_e_x(b, i + j * VW, e) : vzero();
        if (sa) vst(sa + i + j * VW, va);
        if (sb) vst(sb + i + j * VW, vb);
        l[j] = b ? vfma(va, vb, l[j]) : vadd(l[j], va);
      }
    for (int j = 0; j < NACC && full; j++) l[j] = vorder_e(l[j], e);
    for (size_t i = o + full, j = 0; i < o + len; i += VW, j++) {
      const size_t c = step_count(o + len, i);
      const vf va = ld_e_n(a, i, c, 0.0f, e), vb = b ? ld_e_n(b, i, c, 0.0f, e) : vzero();
      if (sa) vst(sa + i, va);
      if (sb) vst(sb + i, vb);
      l[j] = b ? vfma(va, vb, l[j]) : vadd(l[j], va);
    }
    total += FN(tree_sum_used)(l, steps_used(len));
  }
  return total;
}
SMX_FLATTEN double blocked_dot_e(size_t n, const void *a, const void *b, const int e) {
  return blocked_dot_sh_e(n, a, b, NULL, NULL, e);
}
static inline double blocked_dot(size_t n, const float *a, const float *b) {
  return blocked_dot_e(n, a, b, SMX_ELEM_F32);
}

/* ---- binary16 backward rows of at most SMX_F16_SHADOW_N entries (vocabulary; 0: none, as NEON, whose widening is
   one fcvtl), where widening binary16 costs more than a store and a load: the first pass stores the steps it widens in
   f32 shadows on the stack (blocked_dot_sh_e) and the output pass (*_out_io) loads those as element ein = f32, so
   each entry widens once (softmax and sparsemax backward; stablemax's waits on its divisions and log-softmax's on its
   exponentials, no gain there; log-softmax's forward rows the same way, one shadow widened before its passes). The shadows are 64-byte aligned: unaligned, the stack's position made a run 0.84x or
   1.08x the time. Binary16 steps load in the step's order (ld_e_x is ld_e), so the shadows and the stores keep
   it. ---- */
#ifndef SMX_F16_SHADOW_N
#define SMX_F16_SHADOW_N 0
#endif
#if SMX_F16_SHADOW_N % VW
#error "a shadow holds its row rounded up to whole steps"
#endif
#define SHADOW_CAP (SMX_F16_SHADOW_N ? SMX_F16_SHADOW_N : VW)
static inline int shadowed(size_t n, const int e) {
  return SMX_F16_SHADOW_N && e == SMX_ELEM_F16 && n <= SMX_F16_SHADOW_N;
}


/* ---- backward rows of at most SMX_BWD_SHORT_STEPS steps (vocabulary): each tensor's row loaded once into steps
   v[0 .. s), s = ceil(n / VW) (full steps in the vocabulary's order, ld_e_x; the tail lanes fill), both passes from
   the registers: blocked_dot's terms and tree on its one block (short_dot_e), so the same bits, and a 16-bit row
   widens once, not once a pass ---- */
#if defined(SMX_ORDER_X) && SMX_BWD_SHORT_STEPS > NACC
#error "a short row of more than one lane group would add steps in the vocabulary's order to steps in the step's order"
#endif
SMX_FLATTEN void ld_row_short_e(const void *p, size_t n, float fill, vf *v, const int s, const int e) {
  for (int j = 0; j < s; j++) {
    const size_t i = (size_t)j * VW;
    v[j] = i + VW <= n ? ld_e_x(p, i, e) : ld_e_n(p, i, n - i, fill, e);
  }
}
/* (flush: st_e_x_flush / st_e_flush_n, else st_e_x / st_e_n) */
SMX_FLATTEN void st_row_short_e(void *p, size_t n, const vf *v, const int s, const int flush, const int e) {
  for (int j = 0; j < s; j++) {
    const size_t i = (size_t)j * VW;
    if (i + VW <= n) flush ? st_e_x_flush(p, i, v[j], e) : st_e_x(p, i, v[j], e);
    else flush ? st_e_flush_n(p, i, v[j], n - i, e) : st_e_n(p, i, v[j], n - i, e);
  }
}
/* st_row_short_e with the backward passes' flush (st_e_flush_nan_n) */
SMX_FLATTEN void st_row_short_nan_e(void *p, size_t n, vf *v, const int s, const int e) {
  if (e == SMX_ELEM_F32)
    for (int j = 0; j < s; j++) v[j] = vflush_nan(v[j]);
  st_row_short_e(p, n, v, s, e != SMX_ELEM_F32, e);
}
/* smx_flush_nan's NaN for a backward row dx[0, n) stored with vflush where a check after it (its sum of dy, its mean
   of dy) found that its arithmetic may have made a NaN (16-bit rows: their rounding gave the quiet NaN) */
static __attribute__((noinline, cold, unused)) void nan_canon_f32(size_t n, float *d) {
  for (size_t i = 0; i < n; i++)
    if (d[i] != d[i]) d[i] = smx_qnan();
}
SMX_FLATTEN void nan_canon_e(size_t n, void *dx, const int e) { /* (a rare path: out of line) */
  if (e == SMX_ELEM_F32) nan_canon_f32(n, (float *)dx);
}
/* blocked_dot_e of such a row's steps a (and b; NULL: the sum of a): step j into accumulator j % NACC, full steps put
   in the step's order before the tree */
SMX_FLATTEN double short_dot_e(const vf *a, const vf *b, size_t n, const int s, const int e) {
  vf l[NACC];
  for (int j = 0; j < s; j++) {
    const vf acc = j < NACC ? vzero() : l[j - NACC];
    l[j % NACC] = b ? vfma(a[j], b[j], acc) : vadd(acc, a[j]);
  }
  const int u = s < NACC ? s : NACC;
  for (int j = 0; j < u; j++)
    if ((size_t)(j + 1) * VW <= n) l[j] = vorder_e(l[j], e);
  return FN(tree_sum_used)(l, u);
}

/* ---- backward rows of at most BWD_LANES_MAX entries, VW at a time, one row per lane (vload_columns_e). On Zen 4 the
   softmax backward's lanes took 0.38-0.57x the row path's time at n <= 8 and 0.8-0.93x at 9..15 (AVX-512 and AVX2),
   1.02-1.12x at 16 on AVX-512 (one whole vector a row, no mask) and 1.1-1.9x from 24. ---- */
#define BWD_LANES_MAX 15
#define BWD_COLS (BWD_LANES_MAX + 1) /* a column array: n rounded up to VW */
/* blocked_dot (in double) of each lane's row from its terms t[0 .. n): lane j of the row's 64-lane tree holds entry j
   (the lanes past n hold +0 and no node is -0, so their additions, which change nothing, are skipped) */
SMX_FLATTEN lane_dsum lane_dot(const vf *t, size_t n) {
  lane_dsum d[BWD_COLS];
  for (size_t i = 0; i < n; i++) d[i] = (lane_dsum){dlo(t[i]), dhi(t[i])};
  for (size_t h = SMX_LANES / 2; h >= 1; h /= 2)
    for (size_t i = 0; i < h && i + h < n; i++) d[i] = lane_dsum_add(d[i], d[i + h]);
  return d[0];
}
/* A backward kernel's rows: while n <= BWD_LANES_MAX and at least SMX_LANE_MIN_ROWS rows are left, lane groups (lanes:
   a statement on rows r .. r + g - 1), then row by row: rows of at most short_max (<= SMX_BWD_SHORT_STEPS <= 8) steps
   by short_row (a statement on row r in the constant s = ceil(n / VW) steps: its loops unrolled, the choice made once
   a call; on Zen 4 a choice in the row function slowed the long rows' loop by up to 1.28x at n = 100..200), else by
   row (a statement on row r) */
#define BWD_SHORT_CASE(k, short_row, short_max)                                                       \
  case k:                                                                                             \
    if ((k) <= (short_max))                                                                           \
      for (const int s = (k); r < rows; r++) short_row;                                               \
    break;
#define BWD_ROWS(lanes, short_row, short_max, row)                                                    \
  size_t r = 0;                                                                                       \
  if (n <= BWD_LANES_MAX) LANE_GROUPS(r, g, rows, SMX_LANE_MIN_ROWS) lanes;                           \
  switch (n <= (short_max) * VW ? (int)((n + VW - 1) / VW) : 0) {                                     \
    BWD_SHORT_CASE(1, short_row, short_max) BWD_SHORT_CASE(2, short_row, short_max)                   \
    BWD_SHORT_CASE(3, short_row, short_max) BWD_SHORT_CASE(4, short_row, short_max)                   \
    BWD_SHORT_CASE(5, short_row, short_max) BWD_SHORT_CASE(6, short_row, short_max)                   \
    BWD_SHORT_CASE(7, short_row, short_max) BWD_SHORT_CASE(8, short_row, short_max)                   \
  default: for (; r < rows; r++) row;                                                                 \
  }
/* The f32 and the fused 16-bit kernel of a backward pass over y and dy, from its lane groups lanes_e(g, n, y, ldy, dy,
   lddy, dx, lddx, e), its short rows short_e(n, y, dy, dx, s, e) of at most short_max steps and its row row_e(n, y,
   dy, dx, e) */
#define BWD_ROWS_YD(lanes_e, short_e, short_max, row_e, e)                                            \
  BWD_ROWS(lanes_e(g, n, y + r * ldy, ldy, dy + r * lddy, lddy, dx + r * lddx, lddx, e),              \
           short_e(n, y + r * ldy, dy + r * lddy, dx + r * lddx, s, e), short_max,                    \
           row_e(n, y + r * ldy, dy + r * lddy, dx + r * lddx, e))
#define BWD_KERNELS(name, lanes_e, short_e, short_max, row_e)                                         \
  void FN(name)(size_t rows, size_t n, const float *y, size_t ldy, const float *dy, size_t lddy,      \
                float *dx, size_t lddx) {                                                             \
    BWD_ROWS_YD(lanes_e, short_e, short_max, row_e, SMX_ELEM_F32)                                     \
  }                                                                                                   \
  void FN(name##16)(int bf16, size_t rows, size_t n, const uint16_t *y, size_t ldy,                   \
                    const uint16_t *dy, size_t lddy, uint16_t *dx, size_t lddx) {                     \
    if (bf16) {                                                                                       \
      BWD_ROWS_YD(lanes_e, short_e, short_max, row_e, SMX_ELEM_BF16)                                  \
    } else {                                                                                          \
      BWD_ROWS_YD(lanes_e, short_e, short_max, row_e, SMX_ELEM_F16)                                   \
    }                                                                                                 \
  }

#endif
