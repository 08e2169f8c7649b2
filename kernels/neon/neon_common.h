/* Shared NEON pieces of the kernels/neon sources: the vector exps (smx_exp_core, smx_exp_shift and
   smx_softmax_one op for op), the NaN-exact max (smx_maxf), the 64-lane / 16-double-lane accumulators. */
#ifndef SMX_NEON_COMMON_H
#define SMX_NEON_COMMON_H

#include <arm_neon.h>

#include "smx_internal.h"

/* 64 float lanes = 16 float32x4 accumulators: element i of a block -> vector (i / 4) % 16, lane i % 4. */
#define SMX_NV 16
/* 16 double lanes = 8 float64x2: element i -> vector (i / 2) % 8, lane i % 2. */
#define SMX_NDV 8

#if defined(__GNUC__) && !defined(__clang__)
#define SMX_UNROLL _Pragma("GCC unroll 16")
#else
#define SMX_UNROLL _Pragma("unroll")
#endif

/* smx_maxf(a, b) = a > b ? a : b, NaN-exact (vmaxq_f32 would propagate NaN b differently). */
static inline float32x4_t smx_v_maxf(float32x4_t a, float32x4_t b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }

/* a != a as an all-ones mask. */
static inline uint32x4_t smx_v_isnan(float32x4_t a) { return vmvnq_u32(vceqq_f32(a, a)); }

/* The exp of kernels/common/smx_internal.h: the same operations in the same order; fma exactly where
   scalar has fmaf. The multiplier constants sit in the lanes of one register (FMLA by element is the
   same fused operation, and fma(C6, r, C5) = fma(r, C6, C5) bit for bit) to leave registers to the
   16 accumulators of the callers. */
static inline float32x4_t smx_v_two_diff(float32x4_t x, float32x4_t c, float32x4_t *lo) { /* smx_two_diff */
  const float32x4_t d = vsubq_f32(x, c);
  const float32x4_t bb = vsubq_f32(d, x);
  *lo = vaddq_f32(vsubq_f32(x, vsubq_f32(d, bb)), vsubq_f32(vnegq_f32(c), bb));
  return d;
}

/* The multiplier constants of the reduction and of p's first step, one per lane. */
static inline float32x4_t smx_v_exp_kmul(void) {
  static const float kmul[4] = {SMX_LOG2E, -SMX_LN2_HI, -SMX_LN2_LO, SMX_EXP_C6};
  return vld1q_f32(kmul);
}

/* 1 + r p(r): the polynomial of smx_exp_reduced / smx_exp_shift. */
static inline float32x4_t smx_v_exp_poly(float32x4_t r, float32x4_t km) {
  float32x4_t p = vfmaq_laneq_f32(vdupq_n_f32(SMX_EXP_C5), r, km, 3); /* fma(C6, r, C5) */
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C4), p, r);
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C3), p, r);
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C2), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  return vfmaq_f32(vdupq_n_f32(1.0f), p, r);
}

/* smx_exp_reduced(d, lo, magic, cut). */
static inline float32x4_t smx_v_exp_reduced(float32x4_t d, float32x4_t lo, float magic, float cut) {
  const float32x4_t km = smx_v_exp_kmul();
  const float32x4_t t = vfmaq_laneq_f32(vdupq_n_f32(magic), d, km, 0);
  const float32x4_t nf = vsubq_f32(t, vdupq_n_f32(magic));
  float32x4_t r = vfmaq_laneq_f32(d, nf, km, 1);
  r = vfmaq_laneq_f32(r, nf, km, 2);
  r = vaddq_f32(r, lo);
  const float32x4_t p = smx_v_exp_poly(r, km);
  const uint32x4_t e = vaddq_u32(vreinterpretq_u32_f32(p), vshlq_n_u32(vreinterpretq_u32_f32(t), 23));
  return vreinterpretq_f32_u32(vandq_u32(e, vcgeq_f32(d, vdupq_n_f32(cut))));
}

/* smx_exp_shift(x, magic, keep_bits): kept where bits(t) >= keep_bits as signed integers, else +0. */
static inline float32x4_t smx_v_exp_shift(float32x4_t x, float magic, int32_t keep_bits) {
  const float32x4_t km = smx_v_exp_kmul();
  const float32x4_t t = vfmaq_laneq_f32(vdupq_n_f32(magic), x, km, 0);
  const float32x4_t nf = vsubq_f32(t, vdupq_n_f32(magic));
  float32x4_t r = vfmaq_laneq_f32(x, nf, km, 1); /* exact */
  r = vfmaq_laneq_f32(r, nf, km, 2);
  const float32x4_t p = smx_v_exp_poly(r, km);
  const uint32x4_t e = vaddq_u32(vreinterpretq_u32_f32(p), vshlq_n_u32(vreinterpretq_u32_f32(t), 23));
  return vreinterpretq_f32_u32(vandq_u32(e, vcgeq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(keep_bits))));
}

static inline float32x4_t smx_v_exp_core(float32x4_t x, float32x4_t c_hi, float32x4_t c_lo) {
  float32x4_t lo;
  const float32x4_t d = smx_v_two_diff(x, c_hi, &lo);
  return smx_v_exp_reduced(d, vsubq_f32(lo, c_lo), SMX_MAGIC, SMX_EXP_CUT);
}

/* smx_exp_core_wide. */
static inline float32x4_t smx_v_exp_core_wide(float32x4_t x, float32x4_t c_hi, float32x4_t c_lo) {
  float32x4_t lo, lo2;
  const float32x4_t d = smx_v_two_diff(x, c_hi, &lo);
  const float32x4_t d2 = smx_v_two_diff(d, vnegq_f32(vsubq_f32(lo, c_lo)), &lo2); /* TwoSum(d, lo - c_lo) */
  return smx_v_exp_core(d2, vdupq_n_f32(0.0f), vnegq_f32(lo2));
}

/* smx_softmax_out in registers (the magic constant stays a scalar, as in smx_v_exp_shift). */
typedef struct smx_v_out {
  float magic;
  float32x4_t c_hi, c_lo, e_max, y_max;
} smx_v_out;
static inline smx_v_out smx_v_out_init(const smx_softmax_out *o) {
  return (smx_v_out){o->magic, vdupq_n_f32(o->c_hi), vdupq_n_f32(o->c_lo), vdupq_n_f32(o->e_max),
                     vdupq_n_f32(o->y_max)};
}
/* smx_softmax_one(x, o): z = fma(e, c_hi, e c_lo); e == e_max ? y_max : z >= 2^-26 ? z 2^-100 : +0. */
static inline float32x4_t smx_v_softmax_one(float32x4_t x, const smx_v_out *o) {
  const float32x4_t e = smx_v_exp_shift(x, o->magic, SMX_KEEP_OUT);
  const float32x4_t z = vfmaq_f32(vmulq_f32(e, o->c_lo), e, o->c_hi);
  const uint32x4_t big = vcgeq_f32(z, vdupq_n_f32(SMX_OUT_ZMIN));
  const float32x4_t zs = vmulq_f32(z, vdupq_n_f32(SMX_OUT_UNSCALE));
  const float32x4_t y = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(zs), big));
  return vbslq_f32(vceqq_f32(e, o->e_max), o->y_max, y);
}

/* Horizontal OR of a mask (once per row, not in hot loops). */
static inline int smx_v_any(uint32x4_t m) { return vmaxvq_u32(m) != 0; }

/* float32x4 -> two float64x2 (exact) */
static inline float64x2_t smx_v_lo64(float32x4_t v) { return vcvt_f64_f32(vget_low_f32(v)); }
static inline float64x2_t smx_v_hi64(float32x4_t v) { return vcvt_high_f64_f32(v); }

/* ---- shared by the NEON kernel files ---- */
/* Store the 16 accumulators as the 64 lanes of the scalar reference. */
static inline void store_lanes(float *l, const float32x4_t *acc) {
  SMX_UNROLL
  for (int j = 0; j < SMX_NV; j++) vst1q_f32(l + 4 * j, acc[j]);
}

/* smx_stable_s */
static inline float32x4_t v_stable_s(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t b = vsubq_f32(one, x);
  const float32x4_t neg = vreinterpretq_f32_u32(
      vbicq_u32(vreinterpretq_u32_f32(vdivq_f32(one, b)), vcgtq_f32(b, vdupq_n_f32(0x1p126f))));
  return vbslq_f32(vcgeq_f32(x, vdupq_n_f32(0.0f)), vaddq_f32(x, one), neg);
}

/* smx_stable_p */
static inline float32x4_t v_stable_p(float32x4_t x, float32x4_t c, float32x4_t den_f) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  const uint32x4_t ge = vcgeq_f32(x, vdupq_n_f32(0.0f));
  const float32x4_t a = vbslq_f32(ge, vaddq_f32(x, one), one);
  const float32x4_t b = vbslq_f32(ge, one, vsubq_f32(one, x));
  const float32x4_t num = vmulq_f32(a, c), den = vmulq_f32(b, den_f);
  const uint32x4_t small = vcltq_f32(vmulq_f32(num, vdupq_n_f32(0x1p126f)), den);
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(vdivq_f32(num, den)), small));
}

/* smx_sparse_p(x, m, tau_rel) on four lanes */
static inline float32x4_t v_sparse_p(float32x4_t x, float64x2_t md, float64x2_t tau) {
  const float64x2_t da = vsubq_f64(vsubq_f64(smx_v_lo64(x), md), tau);
  const float64x2_t db = vsubq_f64(vsubq_f64(smx_v_hi64(x), md), tau);
  const float64x2_t fmin = vdupq_n_f64(0x1p-126);
  const uint32x4_t ok = vcombine_u32(vmovn_u64(vcgeq_f64(da, fmin)), vmovn_u64(vcgeq_f64(db, fmin)));
  const float32x4_t r = vcvt_high_f32_f64(vcvt_f32_f64(da), db);
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(r), ok));
}

/* Row max in 64 lanes over the whole row (smx_row_max_scalar): element i -> lane i % 64. */
float smx_row_max_neon(size_t n, const float *x, int *nan);
/* smx_blocked_dot_scalar. */
double smx_blocked_dot_neon(size_t n, const float *a, const float *b);
/* smx_lse_block_scalar / smx_lse_row_scalar. */
void smx_lse_block_neon(const float *x, size_t len, smx_lse *s);
void smx_lse_row_neon(size_t n, const float *x, smx_lse_final *f, int need_log);

#endif
