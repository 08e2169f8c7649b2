/* The NEON (AArch64 Advanced SIMD) vocabulary: the 16-float step of the virtual-lane layout is four q
   registers (lanes 4j..4j+3 in q[j]), a predicate four all-ones/zero q, 8 doubles four float64x2;
   compare + select where vmaxq/vminq would treat NaN differently; tails and compress through a stack
   copy of the step (never outside the row). */
#ifndef SMX_ISA_NEON_H
#define SMX_ISA_NEON_H
#include <arm_neon.h>

#include "kernels.h"

#define SMX_ISA_NAME neon
#define SMX_NAN_SCREENS 1 /* independent NaN-screen sums in the softmax block max: 4 q */
#define SMX_BWD_SHORT_STEPS 2 /* backward rows of up to 2 steps in registers (vmath.h; 32 q registers as AVX2's 16 ymm) */
#define SMX_XENT_SPARSE_LANES_MAX 8 /* the sparsemax and stablemax cross-entropies' rows in lanes up to this n */
#define SMX_XENT_STABLE_LANES_MAX 8 /* (AVX2 and AVX-512 take 64 and 48 as measured on Zen 4; no NEON CPU to measure
                                       on: 8 kept) */
typedef struct { float32x4_t q[4]; } vf;
typedef struct { uint32x4_t q[4]; } vm;
typedef struct { uint32x4_t q[4]; } vi;
typedef struct { float64x2_t q[4]; } vd;
typedef struct { uint64x2_t q[4]; } vdm;

#define NEON_MAP(T, expr) T r; for (int j = 0; j < 4; j++) r.q[j] = (expr); return r;
static inline vf vset(float a) { NEON_MAP(vf, vdupq_n_f32(a)) }
static inline vf vld(const float *p) { NEON_MAP(vf, vld1q_f32(p + 4 * j)) }
static inline void vst(float *p, vf v) { for (int j = 0; j < 4; j++) vst1q_f32(p + 4 * j, v.q[j]); }
static inline void vst_stream(float *p, vf v) { vst(p, v); } /* (no streaming store kept: a plain one) */
static inline vm vtail(size_t c) { /* lanes [0, c) */
  static const uint32_t idx[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  NEON_MAP(vm, vcltq_u32(vld1q_u32(idx + 4 * j), vdupq_n_u32((uint32_t)c)))
}
static inline vf vld_tail(const float *p, size_t c, float fill) {
  float t[16];
  for (size_t i = 0; i < 16; i++) t[i] = i < c ? p[i] : fill;
  return vld(t);
}
static inline void vst_tail(float *p, vf v, size_t c) {
  float t[16];
  vst(t, v);
  for (size_t i = 0; i < c; i++) p[i] = t[i];
}
static inline vf vadd(vf a, vf b) { NEON_MAP(vf, vaddq_f32(a.q[j], b.q[j])) }
static inline vf vsub(vf a, vf b) { NEON_MAP(vf, vsubq_f32(a.q[j], b.q[j])) }
static inline vf vmul(vf a, vf b) { NEON_MAP(vf, vmulq_f32(a.q[j], b.q[j])) }
static inline vf vdiv(vf a, vf b) { NEON_MAP(vf, vdivq_f32(a.q[j], b.q[j])) }
static inline vf vfma(vf a, vf b, vf c) { NEON_MAP(vf, vfmaq_f32(c.q[j], a.q[j], b.q[j])) } /* a b + c */
static inline vf vmax(vf a, vf b) { NEON_MAP(vf, vbslq_f32(vcgtq_f32(a.q[j], b.q[j]), a.q[j], b.q[j])) } /* a > b ? a : b */
static inline vf vmin(vf a, vf b) { NEON_MAP(vf, vbslq_f32(vcltq_f32(a.q[j], b.q[j]), a.q[j], b.q[j])) } /* a < b ? a : b */
static inline vf vabs(vf a) { NEON_MAP(vf, vabsq_f32(a.q[j])) }
static inline vf vneg(vf a) { NEON_MAP(vf, vnegq_f32(a.q[j])) }
static inline vf vsignor(vf a, vf s) { /* a | (s & sign bit) */
  NEON_MAP(vf, vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a.q[j]),
                                               vandq_u32(vreinterpretq_u32_f32(s.q[j]), vdupq_n_u32(0x80000000u)))))
}
static inline uint32x4_t exp2add1(float32x4_t p, float32x4_t t) {
  return vaddq_u32(vreinterpretq_u32_f32(p), vshlq_n_u32(vreinterpretq_u32_f32(t), 23));
}
/* x = 2^k m for x >= 1 (also +inf): m in [sqrt(1/2), sqrt(2)) from the bits u = bits(x) - bits(sqrt(1/2)):
   k = u >> 23, bits(m) = (u & 0x7fffff) + bits(sqrt(1/2)) */
static inline vf vfrexp_half(vf x, vf *k) {
  vf r;
  for (int j = 0; j < 4; j++) {
    const uint32x4_t h = vdupq_n_u32(0x3f3504f3u);
    uint32x4_t u = vsubq_u32(vreinterpretq_u32_f32(x.q[j]), h);
    k->q[j] = vcvtq_f32_u32(vshrq_n_u32(u, 23));
    r.q[j] = vreinterpretq_f32_u32(vaddq_u32(vandq_u32(u, vdupq_n_u32(0x007fffffu)), h));
  }
  return r;
}
static inline vf vexp2add(vf p, vf t) { NEON_MAP(vf, vreinterpretq_f32_u32(exp2add1(p.q[j], t.q[j]))) }
static inline vf vexp2add_if(vm m, vf p, vf t) { NEON_MAP(vf, vreinterpretq_f32_u32(vandq_u32(m.q[j], exp2add1(p.q[j], t.q[j])))) }
static inline vm vgt(vf a, vf b) { NEON_MAP(vm, vcgtq_f32(a.q[j], b.q[j])) }
static inline vm vge(vf a, vf b) { NEON_MAP(vm, vcgeq_f32(a.q[j], b.q[j])) }
static inline vm vnge(vf a, vf b) { NEON_MAP(vm, vmvnq_u32(vcgeq_f32(a.q[j], b.q[j]))) } /* !(a >= b): also NaN */
static inline vm vlt(vf a, vf b) { NEON_MAP(vm, vcltq_f32(a.q[j], b.q[j])) }
static inline vm veq(vf a, vf b) { NEON_MAP(vm, vceqq_f32(a.q[j], b.q[j])) }
static inline vm vne(vf a, vf b) { NEON_MAP(vm, vmvnq_u32(vceqq_f32(a.q[j], b.q[j]))) } /* C's != */
static inline vm vnan(vf a) { NEON_MAP(vm, vmvnq_u32(vceqq_f32(a.q[j], a.q[j]))) }
static inline vm vunord(vf a, vf b) { NEON_MAP(vm, vmvnq_u32(vandq_u32(vceqq_f32(a.q[j], a.q[j]), vceqq_f32(b.q[j], b.q[j])))) } /* a or b NaN */
static inline vm vbits_ge(vf t, int32_t k) { NEON_MAP(vm, vcgeq_s32(vreinterpretq_s32_f32(t.q[j]), vdupq_n_s32(k))) }
static inline vm vbits_eq(vf a, vf b) { NEON_MAP(vm, vceqq_u32(vreinterpretq_u32_f32(a.q[j]), vreinterpretq_u32_f32(b.q[j]))) }
/* Lane bits as uint32 (the 16-bit conversions): constants, and, or, add (mod 2^32), shifts, int32 -> float. */
#define NEON_BITS(x) vreinterpretq_u32_f32(x)
#define NEON_FLT(x) vreinterpretq_f32_u32(x)
static inline vf vbits_k(uint32_t k) { NEON_MAP(vf, NEON_FLT(vdupq_n_u32(k))) }
static inline vf vbits_and(vf a, uint32_t k) { NEON_MAP(vf, NEON_FLT(vandq_u32(NEON_BITS(a.q[j]), vdupq_n_u32(k)))) }
static inline vf vbits_or(vf a, vf b) { NEON_MAP(vf, NEON_FLT(vorrq_u32(NEON_BITS(a.q[j]), NEON_BITS(b.q[j])))) }
static inline vf vbits_add(vf a, vf b) { NEON_MAP(vf, NEON_FLT(vaddq_u32(NEON_BITS(a.q[j]), NEON_BITS(b.q[j])))) }
static inline vf vbits_shl(vf a, unsigned n) { NEON_MAP(vf, NEON_FLT(vshlq_u32(NEON_BITS(a.q[j]), vdupq_n_s32((int32_t)n)))) }
static inline vf vbits_shr(vf a, unsigned n) { NEON_MAP(vf, NEON_FLT(vshlq_u32(NEON_BITS(a.q[j]), vdupq_n_s32(-(int32_t)n)))) }
static inline vf vbits_float(vf a) { NEON_MAP(vf, vcvtq_f32_s32(vreinterpretq_s32_f32(a.q[j]))) }
/* c <= 16 uint16 at p zero-extended into the lanes' bits, and the low 16 bits of the lanes stored (tails
   through a stack copy: never outside [p, p + c)) */
SMX_FLATTEN vf vld16_n(const uint16_t *p, size_t c) {
  uint16_t t[16] = {0};
  if (c < 16) memcpy(t, p, c * sizeof *p), p = t;
  const uint16x8_t lo = vld1q_u16(p), hi = vld1q_u16(p + 8);
  vf r = {{NEON_FLT(vmovl_u16(vget_low_u16(lo))), NEON_FLT(vmovl_u16(vget_high_u16(lo))),
           NEON_FLT(vmovl_u16(vget_low_u16(hi))), NEON_FLT(vmovl_u16(vget_high_u16(hi)))}};
  return r;
}
static inline void vst16_n(uint16_t *p, vf v, size_t c) {
  uint16_t t[16];
  uint16_t *d = c >= 16 ? p : t;
  vst1q_u16(d, vcombine_u16(vmovn_u32(NEON_BITS(v.q[0])), vmovn_u32(NEON_BITS(v.q[1]))));
  vst1q_u16(d + 8, vcombine_u16(vmovn_u32(NEON_BITS(v.q[2])), vmovn_u32(NEON_BITS(v.q[3]))));
  if (c < 16) memcpy(p, t, c * sizeof *p);
}
/* The same with the 16 bits in the lanes' high halves (bfloat16 <-> float): one shift-and-widen, one
   shift-and-narrow per 4 lanes */
SMX_FLATTEN vf vld16hi_n(const uint16_t *p, size_t c) {
  uint16_t t[16] = {0};
  if (c < 16) memcpy(t, p, c * sizeof *p), p = t;
  const uint16x8_t lo = vld1q_u16(p), hi = vld1q_u16(p + 8);
  vf r = {{NEON_FLT(vshll_n_u16(vget_low_u16(lo), 16)), NEON_FLT(vshll_n_u16(vget_high_u16(lo), 16)),
           NEON_FLT(vshll_n_u16(vget_low_u16(hi), 16)), NEON_FLT(vshll_n_u16(vget_high_u16(hi), 16))}};
  return r;
}
static inline void vst16hi_n(uint16_t *p, vf v, size_t c) {
  uint16_t t[16];
  uint16_t *d = c >= 16 ? p : t;
  vst1q_u16(d, vcombine_u16(vshrn_n_u32(NEON_BITS(v.q[0]), 16), vshrn_n_u32(NEON_BITS(v.q[1]), 16)));
  vst1q_u16(d + 8, vcombine_u16(vshrn_n_u32(NEON_BITS(v.q[2]), 16), vshrn_n_u32(NEON_BITS(v.q[3]), 16)));
  if (c < 16) memcpy(p, t, c * sizeof *p);
}
#undef NEON_BITS
#undef NEON_FLT
static inline vf vsel(vm m, vf t, vf f) { NEON_MAP(vf, vbslq_f32(m.q[j], t.q[j], f.q[j])) }
static inline vf vsel0(vm m, vf a) { NEON_MAP(vf, vreinterpretq_f32_u32(vandq_u32(m.q[j], vreinterpretq_u32_f32(a.q[j])))) }
/* m ? acc : acc + v (used where adding +0 leaves acc unchanged) */
static inline vf vadd_unless(vf acc, vm m, vf v) {
  NEON_MAP(vf, vaddq_f32(acc.q[j], vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v.q[j]), m.q[j]))))
}
/* m ? acc + v : acc (the same condition) */
static inline vf vadd_if(vf acc, vm m, vf v) {
  NEON_MAP(vf, vaddq_f32(acc.q[j], vreinterpretq_f32_u32(vandq_u32(m.q[j], vreinterpretq_u32_f32(v.q[j])))))
}
static inline vm mzero(void) { NEON_MAP(vm, vdupq_n_u32(0)) }
static inline vm mor(vm a, vm b) { NEON_MAP(vm, vorrq_u32(a.q[j], b.q[j])) }
static inline int many(vm m) { return vmaxvq_u32(vorrq_u32(vorrq_u32(m.q[0], m.q[1]), vorrq_u32(m.q[2], m.q[3]))) != 0; }
static inline size_t mcount(vm m) {
  uint32x4_t s = vaddq_u32(vaddq_u32(vshrq_n_u32(m.q[0], 31), vshrq_n_u32(m.q[1], 31)),
                           vaddq_u32(vshrq_n_u32(m.q[2], 31), vshrq_n_u32(m.q[3], 31)));
  return vaddvq_u32(s);
}
static inline vm mlane(size_t d) { /* d < 16 */
  static const uint32_t idx[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  NEON_MAP(vm, vceqq_u32(vld1q_u32(idx + 4 * j), vdupq_n_u32((uint32_t)d)))
}
static inline vi vcount_zero(void) { NEON_MAP(vi, vdupq_n_u32(0)) }
static inline vi vcount_add(vi c, vm m) { NEON_MAP(vi, vsubq_u32(c.q[j], m.q[j])) } /* a true lane is -1 */
static inline int64_t vcount_sum(vi c) {
  int64_t s = 0;
  for (int j = 0; j < 4; j++) s += vaddvq_u32(c.q[j]);
  return s;
}
/* 32 16-bit patterns (two steps of a 16-bit row) as integers: load, xor, lane-wise signed max, unsigned min and
   max, and the unsigned min over all lanes */
static inline vi vp16_ld(const uint16_t *p) { NEON_MAP(vi, vreinterpretq_u32_u16(vld1q_u16(p + 8 * j))) }
static inline vi vp16_set(uint16_t v) { NEON_MAP(vi, vreinterpretq_u32_u16(vdupq_n_u16(v))) }
static inline vi vp16_xor(vi a, uint16_t v) { NEON_MAP(vi, veorq_u32(a.q[j], vreinterpretq_u32_u16(vdupq_n_u16(v)))) }
static inline vi vp16_max_s(vi a, vi b) {
  NEON_MAP(vi, vreinterpretq_u32_s16(vmaxq_s16(vreinterpretq_s16_u32(a.q[j]), vreinterpretq_s16_u32(b.q[j]))))
}
static inline vi vp16_min_u(vi a, vi b) {
  NEON_MAP(vi, vreinterpretq_u32_u16(vminq_u16(vreinterpretq_u16_u32(a.q[j]), vreinterpretq_u16_u32(b.q[j]))))
}
static inline vi vp16_max_u(vi a, vi b) {
  NEON_MAP(vi, vreinterpretq_u32_u16(vmaxq_u16(vreinterpretq_u16_u32(a.q[j]), vreinterpretq_u16_u32(b.q[j]))))
}
static inline uint16_t vp16_hmin_u(vi v) {
  return vminvq_u16(vminq_u16(vminq_u16(vreinterpretq_u16_u32(v.q[0]), vreinterpretq_u16_u32(v.q[1])),
                              vminq_u16(vreinterpretq_u16_u32(v.q[2]), vreinterpretq_u16_u32(v.q[3]))));
}
static inline float32x4_t max1(float32x4_t a, float32x4_t b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
/* max over the 16 lanes by the tree l[i] = max(l[i], l[i + h]), h = 8, 4, 2, 1 */
static inline float vhmax(vf v) {
  float32x4_t a = max1(max1(v.q[0], v.q[2]), max1(v.q[1], v.q[3]));
  float32x2_t lo = vget_low_f32(a), hi = vget_high_f32(a);
  float32x2_t b = vbsl_f32(vcgt_f32(lo, hi), lo, hi);
  float b0 = vget_lane_f32(b, 0), b1 = vget_lane_f32(b, 1);
  return b0 > b1 ? b0 : b1;
}
/* Writes the lanes selected by m contiguously at dst (may write 16 floats); returns their count. */
static inline size_t vcompress(float *dst, vm m, vf v) {
  float t[16];
  uint32_t k[16];
  vst(t, v);
  for (int j = 0; j < 4; j++) vst1q_u32(k + 4 * j, m.q[j]);
  size_t c = 0;
  for (int i = 0; i < 16; i++)
    if (k[i]) dst[c++] = t[i];
  return c;
}

/* The inverse of vcompress: the lanes selected by m take src[0], src[1], ... in order, the others +0 (reads at
   most 16 floats from src). */
static inline vf vexpand(const float *src, vm m) {
  float t[16];
  uint32_t k[16];
  for (int j = 0; j < 4; j++) vst1q_u32(k + 4 * j, m.q[j]);
  size_t c = 0;
  for (int i = 0; i < 16; i++) t[i] = k[i] ? src[c++] : 0.0f;
  return vld(t);
}

/* 1 when any of the 32 16-bit patterns at p (two steps) is in [lo, lo + span] (mod 2^16: x - lo <= span as uint16) */
static inline int any16_in(const uint16_t *p, uint16_t lo, uint16_t span) {
  const uint16x8_t l = vdupq_n_u16(lo), k = vdupq_n_u16(span);
  uint16x8_t r = vdupq_n_u16(0);
  for (int j = 0; j < 4; j++) r = vorrq_u16(r, vcleq_u16(vsubq_u16(vld1q_u16(p + 8 * j), l), k));
  return vmaxvq_u16(r) != 0;
}

/* r[i] lane j := r[j] lane i: 16 rows of 16 floats to 16 columns (short rows, one row per lane), by 4x4 blocks */
SMX_FLATTEN void vtranspose16(vf *r) {
  vf t[16];
  for (int bi = 0; bi < 4; bi++)
    for (int bj = 0; bj < 4; bj++) {
      float32x4_t a = r[4 * bi].q[bj], b = r[4 * bi + 1].q[bj], c = r[4 * bi + 2].q[bj], d = r[4 * bi + 3].q[bj];
      float64x2_t p0 = vreinterpretq_f64_f32(vtrn1q_f32(a, b)), p1 = vreinterpretq_f64_f32(vtrn2q_f32(a, b));
      float64x2_t p2 = vreinterpretq_f64_f32(vtrn1q_f32(c, d)), p3 = vreinterpretq_f64_f32(vtrn2q_f32(c, d));
      t[4 * bj].q[bi] = vreinterpretq_f32_f64(vtrn1q_f64(p0, p2));
      t[4 * bj + 1].q[bi] = vreinterpretq_f32_f64(vtrn1q_f64(p1, p3));
      t[4 * bj + 2].q[bi] = vreinterpretq_f32_f64(vtrn2q_f64(p0, p2));
      t[4 * bj + 3].q[bi] = vreinterpretq_f32_f64(vtrn2q_f64(p1, p3));
    }
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

static inline vd dset(double a) { NEON_MAP(vd, vdupq_n_f64(a)) }
static inline vd dlo(vf v) { /* lanes 0..7, exact */
  vd r = {{vcvt_f64_f32(vget_low_f32(v.q[0])), vcvt_high_f64_f32(v.q[0]), vcvt_f64_f32(vget_low_f32(v.q[1])),
           vcvt_high_f64_f32(v.q[1])}};
  return r;
}
static inline vd dhi(vf v) {
  vd r = {{vcvt_f64_f32(vget_low_f32(v.q[2])), vcvt_high_f64_f32(v.q[2]), vcvt_f64_f32(vget_low_f32(v.q[3])),
           vcvt_high_f64_f32(v.q[3])}};
  return r;
}
static inline vf dpack(vd lo, vd hi) { /* round to float */
  vf r = {{vcvt_high_f32_f64(vcvt_f32_f64(lo.q[0]), lo.q[1]), vcvt_high_f32_f64(vcvt_f32_f64(lo.q[2]), lo.q[3]),
           vcvt_high_f32_f64(vcvt_f32_f64(hi.q[0]), hi.q[1]), vcvt_high_f32_f64(vcvt_f32_f64(hi.q[2]), hi.q[3])}};
  return r;
}
/* the float-lane predicate of two double-lane ones (lo: lanes 0-7) */
static inline vm mpack(vdm lo, vdm hi) {
  vm r = {{vcombine_u32(vmovn_u64(lo.q[0]), vmovn_u64(lo.q[1])), vcombine_u32(vmovn_u64(lo.q[2]), vmovn_u64(lo.q[3])),
           vcombine_u32(vmovn_u64(hi.q[0]), vmovn_u64(hi.q[1])), vcombine_u32(vmovn_u64(hi.q[2]), vmovn_u64(hi.q[3]))}};
  return r;
}
static inline vd dld(const double *p) { NEON_MAP(vd, vld1q_f64(p + 2 * j)) }
static inline void dst(double *p, vd v) { for (int j = 0; j < 4; j++) vst1q_f64(p + 2 * j, v.q[j]); }
static inline vd dadd(vd a, vd b) { NEON_MAP(vd, vaddq_f64(a.q[j], b.q[j])) }
static inline vd dsub(vd a, vd b) { NEON_MAP(vd, vsubq_f64(a.q[j], b.q[j])) }
static inline vd dmul(vd a, vd b) { NEON_MAP(vd, vmulq_f64(a.q[j], b.q[j])) }
static inline vd ddiv(vd a, vd b) { NEON_MAP(vd, vdivq_f64(a.q[j], b.q[j])) }
static inline vd dfma(vd a, vd b, vd c) { NEON_MAP(vd, vfmaq_f64(c.q[j], a.q[j], b.q[j])) } /* a b + c, one rounding */
static inline vd dneg(vd a) { NEON_MAP(vd, vnegq_f64(a.q[j])) }
static inline vd dabs(vd a) { NEON_MAP(vd, vabsq_f64(a.q[j])) }
static inline vd dtrunc(vd a) { NEON_MAP(vd, vrndq_f64(a.q[j])) }
/* 2^k for integral k in [-1022, 1023]: k + 1023 from the low bits of k + 2^52 + 1023, into the exponent field */
static inline vd dpow2i(vd k) {
  NEON_MAP(vd, vreinterpretq_f64_u64(vshlq_n_u64(vreinterpretq_u64_f64(vaddq_f64(k.q[j], vdupq_n_f64(0x1p52 + 1023.0))), 52)))
}
static inline vdm dgt(vd a, vd b) { NEON_MAP(vdm, vcgtq_f64(a.q[j], b.q[j])) }
static inline vdm dge(vd a, vd b) { NEON_MAP(vdm, vcgeq_f64(a.q[j], b.q[j])) }
static inline vdm dlt(vd a, vd b) { NEON_MAP(vdm, vcltq_f64(a.q[j], b.q[j])) }
static inline vdm deq(vd a, vd b) { NEON_MAP(vdm, vceqq_f64(a.q[j], b.q[j])) }
static inline vdm dnan_or_neg(vd a) { /* a != a || a < 0 */
  NEON_MAP(vdm, vorrq_u64(vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(vceqq_f64(a.q[j], a.q[j])))),
                          vcltq_f64(a.q[j], vdupq_n_f64(0.0))))
}
static inline vd dsel(vdm m, vd t, vd f) { NEON_MAP(vd, vbslq_f64(m.q[j], t.q[j], f.q[j])) }
static inline unsigned dbits(vdm m) { /* lane i: bit i */
  unsigned r = 0;
  for (int j = 0; j < 4; j++) r |= (unsigned)(vgetq_lane_u64(m.q[j], 0) & 1) << 2 * j | (unsigned)(vgetq_lane_u64(m.q[j], 1) & 2) << 2 * j;
  return r;
}
/* The mantissa of a with the exponent of 1.0, and the biased exponent field as a double (exact). */
static inline vd dmant1(vd a) {
  NEON_MAP(vd, vreinterpretq_f64_u64(vorrq_u64(vandq_u64(vreinterpretq_u64_f64(a.q[j]), vdupq_n_u64(0x000fffffffffffffull)),
                                               vdupq_n_u64(0x3ff0000000000000ull))))
}
static inline vd dexpfield(vd a) {
  NEON_MAP(vd, vcvtq_f64_u64(vandq_u64(vshrq_n_u64(vreinterpretq_u64_f64(a.q[j]), 52), vdupq_n_u64(0x7ff))))
}
/* sum of the 8 lanes by the tree l[i] += l[i + h], h = 4, 2, 1 */
static inline double dhsum(vd v) {
  float64x2_t a = vaddq_f64(vaddq_f64(v.q[0], v.q[2]), vaddq_f64(v.q[1], v.q[3]));
  return vgetq_lane_f64(a, 0) + vgetq_lane_f64(a, 1);
}
#undef NEON_MAP

#endif
