/* The AVX2+FMA vocabulary: the 16-float step of the virtual-lane layout is two ymm (lanes 0-7, 8-15), a
   lane predicate two all-ones/zero ymm, 8 doubles two ymm; tails by maskload/maskstore, compress by a
   movemask-indexed permutation table. */
#ifndef SMX_ISA_AVX2_H
#define SMX_ISA_AVX2_H
#include <immintrin.h>

#include "kernels.h"

#define SMX_ISA_NAME avx2
#define SMX_NAN_SCREENS 1 /* independent NaN-screen sums in the softmax block max: 2 ymm (16 ymm registers) */
#define SMX_BWD_SHORT_STEPS 3 /* backward rows of up to 3 steps in registers (vmath.h; 4 spill: up to 1.4x the time) */
#define SMX_F16_SHADOW_N 2048 /* binary16 backward rows of up to 2048 entries widened once, into f32
   shadows (vmath.h; Zen 4, rows x n = 2^16: softmax_backward 0.74-0.81x the time at n = 256..2048, sparsemax_backward
   0.79-0.94x; bfloat16 1.0-1.04x) */
#define SMX_XENT_SPARSE_LANES_MAX 64 /* the sparsemax and stablemax cross-entropies' rows in lanes up to this n: */
#define SMX_XENT_STABLE_LANES_MAX 48 /* (Zen 4, lanes over the row groups' time: twenty-first session at n = 12..32
                                        sparsemax 0.50-0.74x, stablemax 0.52-0.75x; twenty-second at 33 / 48 / 64
                                        sparsemax 0.69-0.71 / 0.84-0.88 / 0.87-0.99x, stablemax at 33 / 40 / 48
                                        0.62 / 0.71 / 0.79x) */
typedef struct { __m256 a, b; } vf;
typedef struct { __m256 a, b; } vm; /* all-ones lanes */
typedef struct { __m256i a, b; } vi;
typedef struct { __m256d a, b; } vd;
typedef struct { __m256d a, b; } vdm;

#define V2(expr_a, expr_b) { expr_a, expr_b }
static inline vf vset(float a) { vf r = V2(_mm256_set1_ps(a), _mm256_set1_ps(a)); return r; }
static inline vf vld(const float *p) { vf r = V2(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)); return r; }
static inline void vst(float *p, vf v) { _mm256_storeu_ps(p, v.a); _mm256_storeu_ps(p + 8, v.b); }
static inline void vst_stream(float *p, vf v) { _mm256_stream_ps(p, v.a), _mm256_stream_ps(p + 8, v.b); } /* 32-aligned */
/* -1 in the first 16 entries: lanes [0, c) of a step are tbl[16 - c ...] */
static const int32_t smx_tail_tbl[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static inline __m256i tail_a(size_t c) { return _mm256_loadu_si256((const __m256i *)(smx_tail_tbl + 16 - c)); }
static inline __m256i tail_b(size_t c) { return _mm256_loadu_si256((const __m256i *)(smx_tail_tbl + 24 - c)); }
static inline vm vtail(size_t c) { vm r = V2(_mm256_castsi256_ps(tail_a(c)), _mm256_castsi256_ps(tail_b(c))); return r; }
/* lanes [0, c) from p, the others fill; maskload never touches the masked-out addresses, and a half
   with no lane in [0, c) is not loaded at all */
static inline __m256 ld8_tail(const float *p, size_t c, __m256 fill) { /* c <= 8 */
  __m256i m = tail_a(c);
  return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline vf vld_tail(const float *p, size_t c, float fill) {
  __m256 f = _mm256_set1_ps(fill);
  vf r = V2(f, f);
  if (c < 8) r.a = ld8_tail(p, c, f);
  else r.a = _mm256_loadu_ps(p);
  if (c > 8) r.b = ld8_tail(p + 8, c - 8, f);
  return r;
}
/* lanes [0, c) to p by 8, 4, 2 and 1 lanes (a masked store is slow on AMD: softmax_backward on rows of 33 took
   0.84x the time on Zen 3) */
static inline void vst_tail(float *p, vf v, size_t c) {
  __m256 h = v.a;
  if (c & 8) _mm256_storeu_ps(p, h), h = v.b, p += 8;
  __m128 q = _mm256_castps256_ps128(h);
  if (c & 4) _mm_storeu_ps(p, q), q = _mm256_extractf128_ps(h, 1), p += 4;
  if (c & 2) _mm_storel_pi((__m64 *)(void *)p, q), q = _mm_movehl_ps(q, q), p += 2;
  if (c & 1) _mm_store_ss(p, q);
}
#define VOP2(name, op) static inline vf name(vf x, vf y) { vf r = V2(op(x.a, y.a), op(x.b, y.b)); return r; }
VOP2(vadd, _mm256_add_ps)
VOP2(vsub, _mm256_sub_ps)
VOP2(vmul, _mm256_mul_ps)
VOP2(vdiv, _mm256_div_ps)
VOP2(vmax, _mm256_max_ps) /* a > b ? a : b */
VOP2(vmin, _mm256_min_ps) /* a < b ? a : b */
static inline vf vfma(vf x, vf y, vf z) { vf r = V2(_mm256_fmadd_ps(x.a, y.a, z.a), _mm256_fmadd_ps(x.b, y.b, z.b)); return r; }
static inline vf vabs(vf x) {
  __m256 k = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  vf r = V2(_mm256_and_ps(x.a, k), _mm256_and_ps(x.b, k));
  return r;
}
static inline vf vneg(vf x) {
  __m256 k = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
  vf r = V2(_mm256_xor_ps(x.a, k), _mm256_xor_ps(x.b, k));
  return r;
}
static inline vf vsignor(vf x, vf s) { /* x | (s & sign bit) */
  __m256 k = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
  vf r = V2(_mm256_or_ps(x.a, _mm256_and_ps(s.a, k)), _mm256_or_ps(x.b, _mm256_and_ps(s.b, k)));
  return r;
}
static inline __m256 exp2add1(__m256 p, __m256 t) {
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_castps_si256(t), 23)));
}
/* x = 2^k m for x >= 1 (also +inf): m in [sqrt(1/2), sqrt(2)) from the bits u = bits(x) - bits(sqrt(1/2)):
   k = u >> 23, bits(m) = (u & 0x7fffff) + bits(sqrt(1/2)) */
static inline __m256 frexp_half1(__m256 x, __m256 *k) {
  const __m256i h = _mm256_set1_epi32(0x3f3504f3);
  __m256i u = _mm256_sub_epi32(_mm256_castps_si256(x), h);
  *k = _mm256_cvtepi32_ps(_mm256_srli_epi32(u, 23));
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)), h));
}
static inline vf vfrexp_half(vf x, vf *k) { vf r = V2(frexp_half1(x.a, &k->a), frexp_half1(x.b, &k->b)); return r; }
static inline vf vexp2add(vf p, vf t) { vf r = V2(exp2add1(p.a, t.a), exp2add1(p.b, t.b)); return r; } /* bits(p) + (bits(t) << 23) */
static inline vf vexp2add_if(vm m, vf p, vf t) { /* m ? vexp2add(p, t) : +0 */
  vf r = V2(_mm256_and_ps(m.a, exp2add1(p.a, t.a)), _mm256_and_ps(m.b, exp2add1(p.b, t.b)));
  return r;
}
#define VCMP(name, pred) static inline vm name(vf x, vf y) { vm r = V2(_mm256_cmp_ps(x.a, y.a, pred), _mm256_cmp_ps(x.b, y.b, pred)); return r; }
VCMP(vgt, _CMP_GT_OQ)
VCMP(vge, _CMP_GE_OQ)
VCMP(vnge, _CMP_NGE_UQ) /* !(a >= b): also NaN */
VCMP(vlt, _CMP_LT_OQ)
VCMP(veq, _CMP_EQ_OQ)
VCMP(vne, _CMP_NEQ_UQ) /* C's != */
static inline vm vnan(vf x) { vm r = V2(_mm256_cmp_ps(x.a, x.a, _CMP_UNORD_Q), _mm256_cmp_ps(x.b, x.b, _CMP_UNORD_Q)); return r; }
static inline vm vunord(vf x, vf y) { vm r = V2(_mm256_cmp_ps(x.a, y.a, _CMP_UNORD_Q), _mm256_cmp_ps(x.b, y.b, _CMP_UNORD_Q)); return r; } /* x or y NaN */
static inline __m256 bits_gt1(__m256 t, __m256i k) { return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_castps_si256(t), k)); }
static inline vm vbits_ge(vf t, int32_t k) { /* signed bits(t) >= k */
  __m256i km = _mm256_set1_epi32(k - 1);
  vm r = V2(bits_gt1(t.a, km), bits_gt1(t.b, km));
  return r;
}
static inline __m256 bits_eq1(__m256 a, __m256 b) {
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_castps_si256(a), _mm256_castps_si256(b)));
}
static inline vm vbits_eq(vf a, vf b) { vm r = V2(bits_eq1(a.a, b.a), bits_eq1(a.b, b.b)); return r; }
static inline vf vsel(vm m, vf t, vf f) { vf r = V2(_mm256_blendv_ps(f.a, t.a, m.a), _mm256_blendv_ps(f.b, t.b, m.b)); return r; }
static inline vf vsel0(vm m, vf x) { vf r = V2(_mm256_and_ps(m.a, x.a), _mm256_and_ps(m.b, x.b)); return r; }
/* m ? acc : acc + v (used where adding +0 leaves acc unchanged) */
static inline vf vadd_unless(vf acc, vm m, vf v) {
  vf r = V2(_mm256_add_ps(acc.a, _mm256_andnot_ps(m.a, v.a)), _mm256_add_ps(acc.b, _mm256_andnot_ps(m.b, v.b)));
  return r;
}
/* m ? acc + v : acc (the same condition) */
static inline vf vadd_if(vf acc, vm m, vf v) {
  vf r = V2(_mm256_add_ps(acc.a, _mm256_and_ps(m.a, v.a)), _mm256_add_ps(acc.b, _mm256_and_ps(m.b, v.b)));
  return r;
}
/* Lane bits as uint32 (the 16-bit conversions): constants, and, or, add (mod 2^32), shifts, int32 -> float. */
static inline vf vbits_k(uint32_t k) { __m256 c = _mm256_castsi256_ps(_mm256_set1_epi32((int)k)); vf r = V2(c, c); return r; }
static inline vf vbits_and(vf x, uint32_t k) { vf c = vbits_k(k), r = V2(_mm256_and_ps(x.a, c.a), _mm256_and_ps(x.b, c.b)); return r; }
static inline vf vbits_or(vf x, vf y) { vf r = V2(_mm256_or_ps(x.a, y.a), _mm256_or_ps(x.b, y.b)); return r; }
#define BITS1(x) _mm256_castps_si256(x)
#define FLT1(x) _mm256_castsi256_ps(x)
static inline vf vbits_add(vf x, vf y) { vf r = V2(FLT1(_mm256_add_epi32(BITS1(x.a), BITS1(y.a))), FLT1(_mm256_add_epi32(BITS1(x.b), BITS1(y.b)))); return r; }
static inline vf vbits_shl(vf x, unsigned n) { vf r = V2(FLT1(_mm256_slli_epi32(BITS1(x.a), n)), FLT1(_mm256_slli_epi32(BITS1(x.b), n))); return r; }
static inline vf vbits_shr(vf x, unsigned n) { vf r = V2(FLT1(_mm256_srli_epi32(BITS1(x.a), n)), FLT1(_mm256_srli_epi32(BITS1(x.b), n))); return r; }
static inline vf vbits_float(vf x) { vf r = V2(_mm256_cvtepi32_ps(BITS1(x.a)), _mm256_cvtepi32_ps(BITS1(x.b))); return r; }
/* c < 16 uint16 at p (a tail), the others 0: its whole 32-bit words by maskload, an odd last entry blended in; and
   stored (never outside [p, p + c)) */
static inline __m256i ld16_tail(const uint16_t *p, size_t c) {
  __m256i h = _mm256_maskload_epi32((const int *)(const void *)p, tail_a(c / 2));
  if (c & 1) {
    const __m256i at = _mm256_cmpeq_epi16(_mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm256_set1_epi16((short)(c - 1)));
    h = _mm256_blendv_epi8(h, _mm256_set1_epi16((short)p[c - 1]), at);
  }
  return h;
}
static inline void st16_tail(uint16_t *p, __m256i h, size_t c) { /* by 8, 4, 2 and 1 entries (a masked store is slow) */
  __m128i q = _mm256_castsi256_si128(h);
  if (c & 8) _mm_storeu_si128((__m128i *)(void *)p, q), q = _mm256_extracti128_si256(h, 1), p += 8;
  if (c & 4) _mm_storel_epi64((__m128i *)(void *)p, q), q = _mm_srli_si128(q, 8), p += 4;
  if (c & 2) {
    const int32_t w = _mm_cvtsi128_si32(q);
    memcpy(p, &w, 4), q = _mm_srli_si128(q, 4), p += 2;
  }
  if (c & 1) *p = (uint16_t)_mm_cvtsi128_si32(q);
}
static inline __m256i ld16_n(const uint16_t *p, size_t c) {
  return c >= 16 ? _mm256_loadu_si256((const __m256i *)(const void *)p) : ld16_tail(p, c);
}
static inline void st16_n(uint16_t *p, __m256i h, size_t c) {
  if (c >= 16) _mm256_storeu_si256((__m256i *)(void *)p, h);
  else st16_tail(p, h, c);
}
/* c <= 16 uint16 at p zero-extended into the lanes' bits, and the low 16 bits of the lanes stored */
SMX_FLATTEN vf vld16_n(const uint16_t *p, size_t c) {
  const __m256i h = ld16_n(p, c);
  vf r = V2(FLT1(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(h))), FLT1(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1))));
  return r;
}
static inline void vst16_n(uint16_t *p, vf v, size_t c) { /* lanes < 2^16: packus keeps them; then undo its lane interleave */
  st16_n(p, _mm256_permute4x64_epi64(_mm256_packus_epi32(BITS1(v.a), BITS1(v.b)), 0xd8), c);
}
/* c <= 16 uint16 into the lanes' high halves (bfloat16 -> float): words 0-3 and 8-11 of the 64-bit-permuted load
   to the low 128-bit lane, then zeros interleaved below each word */
SMX_FLATTEN vf vld16hi_n(const uint16_t *p, size_t c) {
  const __m256i h = _mm256_permute4x64_epi64(ld16_n(p, c), 0xd8), z = _mm256_setzero_si256();
  vf r = V2(FLT1(_mm256_unpacklo_epi16(z, h)), FLT1(_mm256_unpackhi_epi16(z, h)));
  return r;
}
static inline void vst16hi_n(uint16_t *p, vf v, size_t c) { vst16_n(p, vbits_shr(v, 16), c); }
/* A full step of 16 bfloat16 in this vocabulary's own lane order, for steps whose lanes do not meet: the even
   entries in the low ymm, the odd ones in the high (two bit operations where the step's order takes three
   shuffles); vst16hi_x stores such a step's high halves back in place, vld_x loads 16 floats in that order (four
   shuffles), vorder_x puts a step's lanes back in the step's order (sums whose lanes are the virtual lanes). */
#define SMX_ORDER_X 1
SMX_FLATTEN vf vld16hi_x(const uint16_t *p) {
  const __m256i h = _mm256_loadu_si256((const __m256i *)p);
  vf r = V2(FLT1(_mm256_slli_epi32(h, 16)), FLT1(_mm256_and_si256(h, _mm256_set1_epi32((int)0xffff0000u))));
  return r;
}
static inline void vst16hi_x(uint16_t *p, vf v) {
  _mm256_storeu_si256((__m256i *)p, _mm256_or_si256(_mm256_srli_epi32(BITS1(v.a), 16),
                                                    _mm256_and_si256(BITS1(v.b), _mm256_set1_epi32((int)0xffff0000u))));
}
SMX_FLATTEN vf vld_x(const float *p) {
  const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
  vf r = V2(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xd8)),
            _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd)), 0xd8)));
  return r;
}
static inline vf vorder_x(vf v) {
  const __m256 lo = _mm256_unpacklo_ps(v.a, v.b), hi = _mm256_unpackhi_ps(v.a, v.b);
  vf r = V2(_mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31));
  return r;
}
/* Hook: binary16 converted by F16C vcvtph2ps / vcvtps2ph (round to nearest even given in the instruction;
   every call runs without FTZ/DAZ); vmath.h fixes the NaNs to the definitions' bits. */
#define SMX_F16_HW 1
static inline vf vld_f16hw_n(const uint16_t *p, size_t c) {
  const __m256i h = ld16_n(p, c);
  vf r = V2(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
  return r;
}
static inline void vst_f16hw_n(uint16_t *p, vf v, size_t c) {
  const __m128i lo = _mm256_cvtps_ph(v.a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                hi = _mm256_cvtps_ph(v.b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  st16_n(p, _mm256_set_m128i(hi, lo), c);
}
#undef BITS1
#undef FLT1
static inline vm mzero(void) { vm r = V2(_mm256_setzero_ps(), _mm256_setzero_ps()); return r; }
static inline vm mor(vm x, vm y) { vm r = V2(_mm256_or_ps(x.a, y.a), _mm256_or_ps(x.b, y.b)); return r; }
static inline int many(vm m) { return _mm256_movemask_ps(_mm256_or_ps(m.a, m.b)) != 0; }
static inline size_t mcount(vm m) {
  return (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(m.a)) + (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(m.b));
}
static inline vm mlane(size_t d) { /* d < 16 */
  __m256i dd = _mm256_set1_epi32((int)d);
  vm r = V2(_mm256_castsi256_ps(_mm256_cmpeq_epi32(dd, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))),
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(dd, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15))));
  return r;
}
static inline vi vcount_zero(void) { vi r = V2(_mm256_setzero_si256(), _mm256_setzero_si256()); return r; }
static inline vi vcount_add(vi c, vm m) { /* a true lane is -1 */
  vi r = V2(_mm256_sub_epi32(c.a, _mm256_castps_si256(m.a)), _mm256_sub_epi32(c.b, _mm256_castps_si256(m.b)));
  return r;
}
static inline int64_t vcount_sum(vi c) {
  int32_t t[16];
  _mm256_storeu_si256((__m256i *)t, c.a);
  _mm256_storeu_si256((__m256i *)(t + 8), c.b);
  int64_t s = 0;
  for (int i = 0; i < 16; i++) s += t[i];
  return s;
}
/* 32 16-bit patterns (two steps of a 16-bit row) as integers: load, xor, lane-wise signed max, unsigned min and
   max, and the unsigned min over all lanes (phminposuw) */
static inline vi vp16_ld(const uint16_t *p) {
  const __m256i *q = (const __m256i *)(const void *)p;
  vi r = V2(_mm256_loadu_si256(q), _mm256_loadu_si256(q + 1));
  return r;
}
static inline vi vp16_set(uint16_t v) { vi r = V2(_mm256_set1_epi16((short)v), _mm256_set1_epi16((short)v)); return r; }
static inline vi vp16_xor(vi a, uint16_t v) {
  vi r = V2(_mm256_xor_si256(a.a, _mm256_set1_epi16((short)v)), _mm256_xor_si256(a.b, _mm256_set1_epi16((short)v)));
  return r;
}
static inline vi vp16_max_s(vi a, vi b) { vi r = V2(_mm256_max_epi16(a.a, b.a), _mm256_max_epi16(a.b, b.b)); return r; }
static inline vi vp16_min_u(vi a, vi b) { vi r = V2(_mm256_min_epu16(a.a, b.a), _mm256_min_epu16(a.b, b.b)); return r; }
static inline vi vp16_max_u(vi a, vi b) { vi r = V2(_mm256_max_epu16(a.a, b.a), _mm256_max_epu16(a.b, b.b)); return r; }
static inline uint16_t vp16_hmin_u(vi v) {
  const __m256i a = _mm256_min_epu16(v.a, v.b);
  const __m128i b = _mm_min_epu16(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  return (uint16_t)_mm_cvtsi128_si32(_mm_minpos_epu16(b));
}
/* max over the 16 lanes by the tree l[i] = max(l[i], l[i + h]), h = 8, 4, 2, 1 */
static inline float vhmax(vf v) {
  __m256 a = _mm256_max_ps(v.a, v.b);
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  b = _mm_max_ss(b, _mm_shuffle_ps(b, b, 1));
  return _mm_cvtss_f32(b);
}
/* Left-packing permutations: byte k of entry b is the index of the k-th set bit of b. */
static const uint64_t smx_pack8[256] = {
  0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000001ull, 0x0000000000000100ull,
  0x0000000000000002ull, 0x0000000000000200ull, 0x0000000000000201ull, 0x0000000000020100ull,
  0x0000000000000003ull, 0x0000000000000300ull, 0x0000000000000301ull, 0x0000000000030100ull,
  0x0000000000000302ull, 0x0000000000030200ull, 0x0000000000030201ull, 0x0000000003020100ull,
  0x0000000000000004ull, 0x0000000000000400ull, 0x0000000000000401ull, 0x0000000000040100ull,
  0x0000000000000402ull, 0x0000000000040200ull, 0x0000000000040201ull, 0x0000000004020100ull,
  0x0000000000000403ull, 0x0000000000040300ull, 0x0000000000040301ull, 0x0000000004030100ull,
  0x0000000000040302ull, 0x0000000004030200ull, 0x0000000004030201ull, 0x0000000403020100ull,
  0x0000000000000005ull, 0x0000000000000500ull, 0x0000000000000501ull, 0x0000000000050100ull,
  0x0000000000000502ull, 0x0000000000050200ull, 0x0000000000050201ull, 0x0000000005020100ull,
  0x0000000000000503ull, 0x0000000000050300ull, 0x0000000000050301ull, 0x0000000005030100ull,
  0x0000000000050302ull, 0x0000000005030200ull, 0x0000000005030201ull, 0x0000000503020100ull,
  0x0000000000000504ull, 0x0000000000050400ull, 0x0000000000050401ull, 0x0000000005040100ull,
  0x0000000000050402ull, 0x0000000005040200ull, 0x0000000005040201ull, 0x0000000504020100ull,
  0x0000000000050403ull, 0x0000000005040300ull, 0x0000000005040301ull, 0x0000000504030100ull,
  0x0000000005040302ull, 0x0000000504030200ull, 0x0000000504030201ull, 0x0000050403020100ull,
  0x0000000000000006ull, 0x0000000000000600ull, 0x0000000000000601ull, 0x0000000000060100ull,
  0x0000000000000602ull, 0x0000000000060200ull, 0x0000000000060201ull, 0x0000000006020100ull,
  0x0000000000000603ull, 0x0000000000060300ull, 0x0000000000060301ull, 0x0000000006030100ull,
  0x0000000000060302ull, 0x0000000006030200ull, 0x0000000006030201ull, 0x0000000603020100ull,
  0x0000000000000604ull, 0x0000000000060400ull, 0x0000000000060401ull, 0x0000000006040100ull,
  0x0000000000060402ull, 0x0000000006040200ull, 0x0000000006040201ull, 0x0000000604020100ull,
  0x0000000000060403ull, 0x0000000006040300ull, 0x0000000006040301ull, 0x0000000604030100ull,
  0x0000000006040302ull, 0x0000000604030200ull, 0x0000000604030201ull, 0x0000060403020100ull,
  0x0000000000000605ull, 0x0000000000060500ull, 0x0000000000060501ull, 0x0000000006050100ull,
  0x0000000000060502ull, 0x0000000006050200ull, 0x0000000006050201ull, 0x0000000605020100ull,
  0x0000000000060503ull, 0x0000000006050300ull, 0x0000000006050301ull, 0x0000000605030100ull,
  0x0000000006050302ull, 0x0000000605030200ull, 0x0000000605030201ull, 0x0000060503020100ull,
  0x0000000000060504ull, 0x0000000006050400ull, 0x0000000006050401ull, 0x0000000605040100ull,
  0x0000000006050402ull, 0x0000000605040200ull, 0x0000000605040201ull, 0x0000060504020100ull,
  0x0000000006050403ull, 0x0000000605040300ull, 0x0000000605040301ull, 0x0000060504030100ull,
  0x0000000605040302ull, 0x0000060504030200ull, 0x0000060504030201ull, 0x0006050403020100ull,
  0x0000000000000007ull, 0x0000000000000700ull, 0x0000000000000701ull, 0x0000000000070100ull,
  0x0000000000000702ull, 0x0000000000070200ull, 0x0000000000070201ull, 0x0000000007020100ull,
  0x0000000000000703ull, 0x0000000000070300ull, 0x0000000000070301ull, 0x0000000007030100ull,
  0x0000000000070302ull, 0x0000000007030200ull, 0x0000000007030201ull, 0x0000000703020100ull,
  0x0000000000000704ull, 0x0000000000070400ull, 0x0000000000070401ull, 0x0000000007040100ull,
  0x0000000000070402ull, 0x0000000007040200ull, 0x0000000007040201ull, 0x0000000704020100ull,
  0x0000000000070403ull, 0x0000000007040300ull, 0x0000000007040301ull, 0x0000000704030100ull,
  0x0000000007040302ull, 0x0000000704030200ull, 0x0000000704030201ull, 0x0000070403020100ull,
  0x0000000000000705ull, 0x0000000000070500ull, 0x0000000000070501ull, 0x0000000007050100ull,
  0x0000000000070502ull, 0x0000000007050200ull, 0x0000000007050201ull, 0x0000000705020100ull,
  0x0000000000070503ull, 0x0000000007050300ull, 0x0000000007050301ull, 0x0000000705030100ull,
  0x0000000007050302ull, 0x0000000705030200ull, 0x0000000705030201ull, 0x0000070503020100ull,
  0x0000000000070504ull, 0x0000000007050400ull, 0x0000000007050401ull, 0x0000000705040100ull,
  0x0000000007050402ull, 0x0000000705040200ull, 0x0000000705040201ull, 0x0000070504020100ull,
  0x0000000007050403ull, 0x0000000705040300ull, 0x0000000705040301ull, 0x0000070504030100ull,
  0x0000000705040302ull, 0x0000070504030200ull, 0x0000070504030201ull, 0x0007050403020100ull,
  0x0000000000000706ull, 0x0000000000070600ull, 0x0000000000070601ull, 0x0000000007060100ull,
  0x0000000000070602ull, 0x0000000007060200ull, 0x0000000007060201ull, 0x0000000706020100ull,
  0x0000000000070603ull, 0x0000000007060300ull, 0x0000000007060301ull, 0x0000000706030100ull,
  0x0000000007060302ull, 0x0000000706030200ull, 0x0000000706030201ull, 0x0000070603020100ull,
  0x0000000000070604ull, 0x0000000007060400ull, 0x0000000007060401ull, 0x0000000706040100ull,
  0x0000000007060402ull, 0x0000000706040200ull, 0x0000000706040201ull, 0x0000070604020100ull,
  0x0000000007060403ull, 0x0000000706040300ull, 0x0000000706040301ull, 0x0000070604030100ull,
  0x0000000706040302ull, 0x0000070604030200ull, 0x0000070604030201ull, 0x0007060403020100ull,
  0x0000000000070605ull, 0x0000000007060500ull, 0x0000000007060501ull, 0x0000000706050100ull,
  0x0000000007060502ull, 0x0000000706050200ull, 0x0000000706050201ull, 0x0000070605020100ull,
  0x0000000007060503ull, 0x0000000706050300ull, 0x0000000706050301ull, 0x0000070605030100ull,
  0x0000000706050302ull, 0x0000070605030200ull, 0x0000070605030201ull, 0x0007060503020100ull,
  0x0000000007060504ull, 0x0000000706050400ull, 0x0000000706050401ull, 0x0000070605040100ull,
  0x0000000706050402ull, 0x0000070605040200ull, 0x0000070605040201ull, 0x0007060504020100ull,
  0x0000000706050403ull, 0x0000070605040300ull, 0x0000070605040301ull, 0x0007060504030100ull,
  0x0000070605040302ull, 0x0007060504030200ull, 0x0007060504030201ull, 0x0706050403020100ull
};
static inline size_t compress8(float *dst, __m256 m, __m256 v) {
  unsigned bits = (unsigned)_mm256_movemask_ps(m);
  __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)smx_pack8[bits]));
  _mm256_storeu_ps(dst, _mm256_permutevar8x32_ps(v, perm));
  return (size_t)__builtin_popcount(bits);
}
/* Writes the lanes selected by m contiguously at dst (may write 16 floats); returns their count. */
static inline size_t vcompress(float *dst, vm m, vf v) {
  size_t c = compress8(dst, m.a, v.a);
  return c + compress8(dst + c, m.b, v.b);
}

/* Spreading permutations: byte j of entry b is the rank of bit j among the set bits of b (its source index). */
static const uint64_t smx_unpack8[256] = {
  0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000100ull,
  0x0000000000000000ull, 0x0000000000010000ull, 0x0000000000010000ull, 0x0000000000020100ull,
  0x0000000000000000ull, 0x0000000001000000ull, 0x0000000001000000ull, 0x0000000002000100ull,
  0x0000000001000000ull, 0x0000000002010000ull, 0x0000000002010000ull, 0x0000000003020100ull,
  0x0000000000000000ull, 0x0000000100000000ull, 0x0000000100000000ull, 0x0000000200000100ull,
  0x0000000100000000ull, 0x0000000200010000ull, 0x0000000200010000ull, 0x0000000300020100ull,
  0x0000000100000000ull, 0x0000000201000000ull, 0x0000000201000000ull, 0x0000000302000100ull,
  0x0000000201000000ull, 0x0000000302010000ull, 0x0000000302010000ull, 0x0000000403020100ull,
  0x0000000000000000ull, 0x0000010000000000ull, 0x0000010000000000ull, 0x0000020000000100ull,
  0x0000010000000000ull, 0x0000020000010000ull, 0x0000020000010000ull, 0x0000030000020100ull,
  0x0000010000000000ull, 0x0000020001000000ull, 0x0000020001000000ull, 0x0000030002000100ull,
  0x0000020001000000ull, 0x0000030002010000ull, 0x0000030002010000ull, 0x0000040003020100ull,
  0x0000010000000000ull, 0x0000020100000000ull, 0x0000020100000000ull, 0x0000030200000100ull,
  0x0000020100000000ull, 0x0000030200010000ull, 0x0000030200010000ull, 0x0000040300020100ull,
  0x0000020100000000ull, 0x0000030201000000ull, 0x0000030201000000ull, 0x0000040302000100ull,
  0x0000030201000000ull, 0x0000040302010000ull, 0x0000040302010000ull, 0x0000050403020100ull,
  0x0000000000000000ull, 0x0001000000000000ull, 0x0001000000000000ull, 0x0002000000000100ull,
  0x0001000000000000ull, 0x0002000000010000ull, 0x0002000000010000ull, 0x0003000000020100ull,
  0x0001000000000000ull, 0x0002000001000000ull, 0x0002000001000000ull, 0x0003000002000100ull,
  0x0002000001000000ull, 0x0003000002010000ull, 0x0003000002010000ull, 0x0004000003020100ull,
  0x0001000000000000ull, 0x0002000100000000ull, 0x0002000100000000ull, 0x0003000200000100ull,
  0x0002000100000000ull, 0x0003000200010000ull, 0x0003000200010000ull, 0x0004000300020100ull,
  0x0002000100000000ull, 0x0003000201000000ull, 0x0003000201000000ull, 0x0004000302000100ull,
  0x0003000201000000ull, 0x0004000302010000ull, 0x0004000302010000ull, 0x0005000403020100ull,
  0x0001000000000000ull, 0x0002010000000000ull, 0x0002010000000000ull, 0x0003020000000100ull,
  0x0002010000000000ull, 0x0003020000010000ull, 0x0003020000010000ull, 0x0004030000020100ull,
  0x0002010000000000ull, 0x0003020001000000ull, 0x0003020001000000ull, 0x0004030002000100ull,
  0x0003020001000000ull, 0x0004030002010000ull, 0x0004030002010000ull, 0x0005040003020100ull,
  0x0002010000000000ull, 0x0003020100000000ull, 0x0003020100000000ull, 0x0004030200000100ull,
  0x0003020100000000ull, 0x0004030200010000ull, 0x0004030200010000ull, 0x0005040300020100ull,
  0x0003020100000000ull, 0x0004030201000000ull, 0x0004030201000000ull, 0x0005040302000100ull,
  0x0004030201000000ull, 0x0005040302010000ull, 0x0005040302010000ull, 0x0006050403020100ull,
  0x0000000000000000ull, 0x0100000000000000ull, 0x0100000000000000ull, 0x0200000000000100ull,
  0x0100000000000000ull, 0x0200000000010000ull, 0x0200000000010000ull, 0x0300000000020100ull,
  0x0100000000000000ull, 0x0200000001000000ull, 0x0200000001000000ull, 0x0300000002000100ull,
  0x0200000001000000ull, 0x0300000002010000ull, 0x0300000002010000ull, 0x0400000003020100ull,
  0x0100000000000000ull, 0x0200000100000000ull, 0x0200000100000000ull, 0x0300000200000100ull,
  0x0200000100000000ull, 0x0300000200010000ull, 0x0300000200010000ull, 0x0400000300020100ull,
  0x0200000100000000ull, 0x0300000201000000ull, 0x0300000201000000ull, 0x0400000302000100ull,
  0x0300000201000000ull, 0x0400000302010000ull, 0x0400000302010000ull, 0x0500000403020100ull,
  0x0100000000000000ull, 0x0200010000000000ull, 0x0200010000000000ull, 0x0300020000000100ull,
  0x0200010000000000ull, 0x0300020000010000ull, 0x0300020000010000ull, 0x0400030000020100ull,
  0x0200010000000000ull, 0x0300020001000000ull, 0x0300020001000000ull, 0x0400030002000100ull,
  0x0300020001000000ull, 0x0400030002010000ull, 0x0400030002010000ull, 0x0500040003020100ull,
  0x0200010000000000ull, 0x0300020100000000ull, 0x0300020100000000ull, 0x0400030200000100ull,
  0x0300020100000000ull, 0x0400030200010000ull, 0x0400030200010000ull, 0x0500040300020100ull,
  0x0300020100000000ull, 0x0400030201000000ull, 0x0400030201000000ull, 0x0500040302000100ull,
  0x0400030201000000ull, 0x0500040302010000ull, 0x0500040302010000ull, 0x0600050403020100ull,
  0x0100000000000000ull, 0x0201000000000000ull, 0x0201000000000000ull, 0x0302000000000100ull,
  0x0201000000000000ull, 0x0302000000010000ull, 0x0302000000010000ull, 0x0403000000020100ull,
  0x0201000000000000ull, 0x0302000001000000ull, 0x0302000001000000ull, 0x0403000002000100ull,
  0x0302000001000000ull, 0x0403000002010000ull, 0x0403000002010000ull, 0x0504000003020100ull,
  0x0201000000000000ull, 0x0302000100000000ull, 0x0302000100000000ull, 0x0403000200000100ull,
  0x0302000100000000ull, 0x0403000200010000ull, 0x0403000200010000ull, 0x0504000300020100ull,
  0x0302000100000000ull, 0x0403000201000000ull, 0x0403000201000000ull, 0x0504000302000100ull,
  0x0403000201000000ull, 0x0504000302010000ull, 0x0504000302010000ull, 0x0605000403020100ull,
  0x0201000000000000ull, 0x0302010000000000ull, 0x0302010000000000ull, 0x0403020000000100ull,
  0x0302010000000000ull, 0x0403020000010000ull, 0x0403020000010000ull, 0x0504030000020100ull,
  0x0302010000000000ull, 0x0403020001000000ull, 0x0403020001000000ull, 0x0504030002000100ull,
  0x0403020001000000ull, 0x0504030002010000ull, 0x0504030002010000ull, 0x0605040003020100ull,
  0x0302010000000000ull, 0x0403020100000000ull, 0x0403020100000000ull, 0x0504030200000100ull,
  0x0403020100000000ull, 0x0504030200010000ull, 0x0504030200010000ull, 0x0605040300020100ull,
  0x0403020100000000ull, 0x0504030201000000ull, 0x0504030201000000ull, 0x0605040302000100ull,
  0x0504030201000000ull, 0x0605040302010000ull, 0x0605040302010000ull, 0x0706050403020100ull
};
static inline __m256 expand8(const float *src, __m256 m) {
  __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)smx_unpack8[_mm256_movemask_ps(m)]));
  return _mm256_and_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(src), perm), m);
}
/* The inverse of vcompress: the lanes selected by m take src[0], src[1], ... in order, the others +0 (reads 16
   floats from src). */
static inline vf vexpand(const float *src, vm m) {
  vf r = V2(expand8(src, m.a), expand8(src + __builtin_popcount((unsigned)_mm256_movemask_ps(m.a)), m.b));
  return r;
}

/* 1 when any of the 32 16-bit patterns at p (two steps) is in [lo, lo + span] (mod 2^16: x - lo <= span as uint16,
   where min(x - lo, span) = x - lo) */
static inline int any16_in(const uint16_t *p, uint16_t lo, uint16_t span) {
  const __m256i l = _mm256_set1_epi16((short)lo), k = _mm256_set1_epi16((short)span);
  const __m256i a = _mm256_sub_epi16(_mm256_loadu_si256((const __m256i *)p), l);
  const __m256i b = _mm256_sub_epi16(_mm256_loadu_si256((const __m256i *)(p + 16)), l);
  const __m256i in =
    _mm256_or_si256(_mm256_cmpeq_epi16(_mm256_min_epu16(a, k), a), _mm256_cmpeq_epi16(_mm256_min_epu16(b, k), b));
  return _mm256_movemask_epi8(in) != 0;
}

/* 8 rows of 8 floats to 8 columns, in place */
SMX_FLATTEN void transpose8(__m256 *r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44), u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44), u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int j = 0; j < 4; j++)
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20), r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
}
/* r[i] lane j := r[j] lane i: 16 rows of 16 floats to 16 columns (short rows, one row per lane) */
SMX_FLATTEN void vtranspose16(vf *r) {
  __m256 q[4][8]; /* rows 0-7 lanes 0-7, rows 0-7 lanes 8-15, rows 8-15 lanes 0-7, rows 8-15 lanes 8-15 */
  for (int i = 0; i < 8; i++) q[0][i] = r[i].a, q[1][i] = r[i].b, q[2][i] = r[8 + i].a, q[3][i] = r[8 + i].b;
  for (int b = 0; b < 4; b++) transpose8(q[b]);
  for (int i = 0; i < 8; i++) r[i].a = q[0][i], r[i].b = q[2][i], r[8 + i].a = q[1][i], r[8 + i].b = q[3][i];
}

static inline vd dset(double a) { vd r = V2(_mm256_set1_pd(a), _mm256_set1_pd(a)); return r; }
static inline vd cvt8(__m256 h) {
  vd r = V2(_mm256_cvtps_pd(_mm256_castps256_ps128(h)), _mm256_cvtps_pd(_mm256_extractf128_ps(h, 1)));
  return r;
}
static inline vd dlo(vf v) { return cvt8(v.a); }
static inline vd dhi(vf v) { return cvt8(v.b); }
static inline vf dpack(vd lo, vd hi) {
  vf r = V2(_mm256_set_m128(_mm256_cvtpd_ps(lo.b), _mm256_cvtpd_ps(lo.a)),
            _mm256_set_m128(_mm256_cvtpd_ps(hi.b), _mm256_cvtpd_ps(hi.a)));
  return r;
}
/* the float-lane predicate of two double-lane ones (lo: lanes 0-7): the low halves of the 64-bit lanes, in order */
static inline __m256 mpack8(vdm m) {
  const __m256 s = _mm256_shuffle_ps(_mm256_castpd_ps(m.a), _mm256_castpd_ps(m.b), _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}
static inline vm mpack(vdm lo, vdm hi) { vm r = V2(mpack8(lo), mpack8(hi)); return r; }
static inline vd dld(const double *p) { vd r = V2(_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)); return r; }
static inline void dst(double *p, vd v) { _mm256_storeu_pd(p, v.a); _mm256_storeu_pd(p + 4, v.b); }
#define DOP2(name, op) static inline vd name(vd x, vd y) { vd r = V2(op(x.a, y.a), op(x.b, y.b)); return r; }
DOP2(dadd, _mm256_add_pd)
DOP2(dsub, _mm256_sub_pd)
DOP2(dmul, _mm256_mul_pd)
DOP2(ddiv, _mm256_div_pd)
static inline vd dfma(vd x, vd y, vd z) { vd r = V2(_mm256_fmadd_pd(x.a, y.a, z.a), _mm256_fmadd_pd(x.b, y.b, z.b)); return r; } /* x y + z, one rounding */
static inline vd dneg(vd x) {
  __m256d k = _mm256_castsi256_pd(_mm256_set1_epi64x((long long)0x8000000000000000ull));
  vd r = V2(_mm256_xor_pd(x.a, k), _mm256_xor_pd(x.b, k));
  return r;
}
static inline vd dabs(vd x) {
  __m256d k = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffll));
  vd r = V2(_mm256_and_pd(x.a, k), _mm256_and_pd(x.b, k));
  return r;
}
static inline vd dtrunc(vd x) {
  vd r = V2(_mm256_round_pd(x.a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
            _mm256_round_pd(x.b, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
  return r;
}
/* 2^k for integral k in [-1022, 1023]: k + 1023 from the low bits of k + 2^52 + 1023, into the exponent field */
static inline __m256d pow2i4(__m256d k) {
  __m256i u = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(0x1p52 + 1023.0)));
  return _mm256_castsi256_pd(_mm256_slli_epi64(u, 52));
}
static inline vd dpow2i(vd k) { vd r = V2(pow2i4(k.a), pow2i4(k.b)); return r; }
#define DCMP(name, pred) static inline vdm name(vd x, vd y) { vdm r = V2(_mm256_cmp_pd(x.a, y.a, pred), _mm256_cmp_pd(x.b, y.b, pred)); return r; }
DCMP(dgt, _CMP_GT_OQ)
DCMP(dge, _CMP_GE_OQ)
DCMP(dlt, _CMP_LT_OQ)
DCMP(deq, _CMP_EQ_OQ)
static inline vdm dnan_or_neg(vd x) { /* x != x || x < 0 */
  __m256d z = _mm256_setzero_pd();
  vdm r = V2(_mm256_or_pd(_mm256_cmp_pd(x.a, x.a, _CMP_UNORD_Q), _mm256_cmp_pd(x.a, z, _CMP_LT_OQ)),
             _mm256_or_pd(_mm256_cmp_pd(x.b, x.b, _CMP_UNORD_Q), _mm256_cmp_pd(x.b, z, _CMP_LT_OQ)));
  return r;
}
static inline vd dsel(vdm m, vd t, vd f) { vd r = V2(_mm256_blendv_pd(f.a, t.a, m.a), _mm256_blendv_pd(f.b, t.b, m.b)); return r; }
static inline unsigned dbits(vdm m) { return (unsigned)(_mm256_movemask_pd(m.a) | _mm256_movemask_pd(m.b) << 4); } /* lane i: bit i */
/* The mantissa of x with the exponent of 1.0, and the biased exponent field as a double. */
static inline __m256d mant1(__m256d x) {
  __m256i u = _mm256_and_si256(_mm256_castpd_si256(x), _mm256_set1_epi64x(0x000fffffffffffffll));
  return _mm256_castsi256_pd(_mm256_or_si256(u, _mm256_set1_epi64x(0x3ff0000000000000ll)));
}
static inline __m256d expfield(__m256d x) {
  __m256i e = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(x), 52), _mm256_set1_epi64x(0x7ff));
  __m256d d = _mm256_castsi256_pd(_mm256_or_si256(e, _mm256_set1_epi64x(0x4330000000000000ll)));
  return _mm256_sub_pd(d, _mm256_set1_pd(0x1p52));
}
static inline vd dmant1(vd x) { vd r = V2(mant1(x.a), mant1(x.b)); return r; }
static inline vd dexpfield(vd x) { vd r = V2(expfield(x.a), expfield(x.b)); return r; }
/* sum of the 8 lanes by the tree l[i] += l[i + h], h = 4, 2, 1 */
static inline double dhsum(vd v) {
  __m256d a = _mm256_add_pd(v.a, v.b);
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  b = _mm_add_sd(b, _mm_unpackhi_pd(b, b));
  return _mm_cvtsd_f64(b);
}

#endif
