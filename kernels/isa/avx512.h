/* The AVX-512 vocabulary (F/BW/DQ/VL): the 16-float step of the virtual-lane layout is one zmm, a lane
   predicate a k-mask, 8 doubles one zmm. Hooks: maskz exponent add, masked adds, vcompressps. */
#ifndef SMX_ISA_AVX512_H
#define SMX_ISA_AVX512_H
#include <immintrin.h>

#include "kernels.h"

#ifndef SMX_ISA_NAME /* (avx512bf16.h: the same vocabulary under its own name) */
#define SMX_ISA_NAME avx512
#endif
#define SMX_NAN_SCREENS 2 /* independent NaN-screen sums in the softmax block max (registers allowing) */
#define SMX_XENT_SPARSE_LANES_MAX 64 /* the sparsemax and stablemax cross-entropies' rows in lanes up to this n (Zen 4, */
#define SMX_XENT_STABLE_LANES_MAX 48 /* over the row groups' time at 33 / 48 / 64: sparsemax 0.59-0.61 / 0.70-0.74 /
                                        0.84-0.85x; stablemax at 33 / 40 / 47 / 64 0.80 / 0.91 / 0.94 / 1.06x) */
#define SMX_INLINE_TREES /* 32 zmm registers: the block trees inline (vmath.h) */
#define SMX_BWD_SHORT_STEPS 8 /* backward rows of up to 8 steps in registers (vmath.h) */
#define SMX_F16_SHADOW_N 2048 /* binary16 rows of up to 2048 entries widened once, into f32 shadows
   (vmath.h; Zen 4, rows x n = 2^16: softmax_backward 0.84-0.95x the time at n = 256..2048, sparsemax_backward
   0.93-1.0x; 1.09x at 4096, past L1; bfloat16, whose widening costs less than the store and the load, 1.03-1.09x;
   log-softmax's rows one at a time 0.96-0.97x at 1000..2048 in cache, from memory 1.00x at 2048 but 1.14x at 4096) */
typedef __m512 vf;     /* 16 floats, lane l = element l of the step */
typedef __mmask16 vm;  /* a predicate per float lane */
typedef __m512i vi;    /* 16 int32 counters */
typedef __m512d vd;    /* 8 doubles */
typedef __mmask8 vdm;  /* a predicate per double lane */

static inline vf vset(float a) { return _mm512_set1_ps(a); }
static inline vf vld(const float *p) { return _mm512_loadu_ps(p); }
static inline void vst(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline void vst_stream(float *p, vf v) { _mm512_stream_ps(p, v); } /* p on a 64-byte boundary */
static inline vm vtail(size_t c) { return (vm)((1u << c) - 1u); } /* lanes [0, c), c <= 16 */
/* lanes [0, c) from p, the others fill; never touches memory outside [p, p + c) */
static inline vf vld_tail(const float *p, size_t c, float fill) { return _mm512_mask_loadu_ps(vset(fill), vtail(c), p); }
static inline void vst_tail(float *p, vf v, size_t c) { _mm512_mask_storeu_ps(p, vtail(c), v); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); } /* a b + c, one rounding */
static inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }            /* a > b ? a : b */
static inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }            /* a < b ? a : b */
static inline vf vabs(vf a) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
static inline vf vneg(vf a) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u)));
}
static inline vf vsignor(vf a, vf s) { /* a | (s & sign bit) */
  __m512i sb = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32((int)0x80000000u));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), sb));
}
/* x = 2^k m for x >= 1 (also +inf): m in [sqrt(1/2), sqrt(2)) from the bits u = bits(x) - bits(sqrt(1/2)):
   k = u >> 23, bits(m) = (u & 0x7fffff) + bits(sqrt(1/2)) */
static inline vf vfrexp_half(vf x, vf *k) {
  const __m512i h = _mm512_set1_epi32(0x3f3504f3);
  __m512i u = _mm512_sub_epi32(_mm512_castps_si512(x), h);
  *k = _mm512_cvtepi32_ps(_mm512_srli_epi32(u, 23));
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_and_si512(u, _mm512_set1_epi32(0x007fffff)), h));
}
static inline vf vexp2add(vf p, vf t) { /* bits(p) + (bits(t) << 23) */
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}
/* m ? vexp2add(p, t) : +0, the mask in the integer add (a masked float add would compete with the
   exp's FMAs for Zen 4's FMA pipes) */
static inline vf vexp2add_if(vm m, vf p, vf t) {
  return _mm512_castsi512_ps(_mm512_maskz_add_epi32(m, _mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}
static inline vm vgt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vm vge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline vm vnge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NGE_UQ); } /* !(a >= b): also NaN */
static inline vm vlt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm veq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm vne(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); } /* C's != */
static inline vm vnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline vm vunord(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); } /* a or b NaN */
static inline vm vbits_ge(vf t, int32_t k) { return _mm512_cmpge_epi32_mask(_mm512_castps_si512(t), _mm512_set1_epi32(k)); }
static inline vm vbits_eq(vf a, vf b) { return _mm512_cmpeq_epi32_mask(_mm512_castps_si512(a), _mm512_castps_si512(b)); }
static inline vf vsel(vm m, vf t, vf f) { return _mm512_mask_blend_ps(m, f, t); }
static inline vf vsel0(vm m, vf a) { return _mm512_maskz_mov_ps(m, a); }
/* m ? acc : acc + v (used where adding +0 leaves acc unchanged) */
static inline vf vadd_unless(vf acc, vm m, vf v) { return _mm512_mask_add_ps(acc, (vm)~m, acc, v); }
/* m ? acc + v : acc (the same condition) */
static inline vf vadd_if(vf acc, vm m, vf v) { return _mm512_mask_add_ps(acc, m, acc, v); }
/* predicates are mask registers: a step's test (kor, kortest) takes no vector operation */
#define SMX_MASK_REGS 1
static inline vm mzero(void) { return 0; }
static inline vm mor(vm a, vm b) { return (vm)(a | b); }
static inline int many(vm m) { return m != 0; }
static inline size_t mcount(vm m) { return (size_t)__builtin_popcount((unsigned)m); }
static inline vm mlane(size_t d) { return (vm)(1u << d); } /* d < 16 */
static inline vi vcount_zero(void) { return _mm512_setzero_si512(); }
static inline vi vcount_add(vi c, vm m) { return _mm512_mask_add_epi32(c, m, c, _mm512_set1_epi32(1)); }
static inline int64_t vcount_sum(vi c) { return _mm512_reduce_add_epi32(c); }
/* 32 16-bit patterns (two steps of a 16-bit row) as integers: load, xor, lane-wise signed max, unsigned min and
   max, and the unsigned min over all lanes (phminposuw) */
static inline vi vp16_ld(const uint16_t *p) { return _mm512_loadu_si512(p); }
static inline vi vp16_set(uint16_t v) { return _mm512_set1_epi16((short)v); }
static inline vi vp16_xor(vi a, uint16_t v) { return _mm512_xor_si512(a, vp16_set(v)); }
static inline vi vp16_max_s(vi a, vi b) { return _mm512_max_epi16(a, b); }
static inline vi vp16_min_u(vi a, vi b) { return _mm512_min_epu16(a, b); }
static inline vi vp16_max_u(vi a, vi b) { return _mm512_max_epu16(a, b); }
static inline uint16_t vp16_hmin_u(vi v) {
  const __m256i a = _mm256_min_epu16(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  const __m128i b = _mm_min_epu16(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  return (uint16_t)_mm_cvtsi128_si32(_mm_minpos_epu16(b));
}
/* max over the 16 lanes by the tree l[i] = max(l[i], l[i + h]), h = 8, 4, 2, 1 */
static inline float vhmax(vf v) {
  __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  b = _mm_max_ss(b, _mm_shuffle_ps(b, b, 1));
  return _mm_cvtss_f32(b);
}
/* Writes the lanes selected by m contiguously at dst (may write 16 floats); returns their count.
   The register form of vcompressps (the memory form is microcoded on some CPUs). */
static inline size_t vcompress(float *dst, vm m, vf v) {
  _mm512_storeu_ps(dst, _mm512_maskz_compress_ps(m, v));
  return mcount(m);
}

/* The inverse of vcompress: the lanes selected by m take src[0], src[1], ... in order, the others +0 (reads 16
   floats from src). The register form: the empty asm keeps the load out of vexpandps (its memory form is microcoded
   on Zen 4: the row's write 1.7x slower). */
static inline vf vexpand(const float *src, vm m) {
  __m512 s = _mm512_loadu_ps(src);
  __asm__("" : "+v"(s));
  return _mm512_maskz_expand_ps(m, s);
}

/* 1 when any of the 32 16-bit patterns at p (two steps) is in [lo, lo + span] (mod 2^16: x - lo <= span as uint16) */
static inline int any16_in(const uint16_t *p, uint16_t lo, uint16_t span) {
  const __m512i d = _mm512_sub_epi16(_mm512_loadu_si512(p), _mm512_set1_epi16((short)lo));
  return _mm512_cmple_epu16_mask(d, _mm512_set1_epi16((short)span)) != 0;
}

/* Lane bits as uint32 (the 16-bit conversions): constants, and, or, add (mod 2^32), shifts, int32 -> float. */
static inline vf vbits_k(uint32_t k) { return _mm512_castsi512_ps(_mm512_set1_epi32((int)k)); }
static inline vf vbits_and(vf a, uint32_t k) { return _mm512_and_ps(a, vbits_k(k)); }
static inline vf vbits_or(vf a, vf b) { return _mm512_or_ps(a, b); }
static inline vf vbits_add(vf a, vf b) { return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b))); }
static inline vf vbits_shl(vf a, unsigned n) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(a), n)); }
static inline vf vbits_shr(vf a, unsigned n) { return _mm512_castsi512_ps(_mm512_srli_epi32(_mm512_castps_si512(a), n)); }
static inline vf vbits_float(vf a) { return _mm512_cvtepi32_ps(_mm512_castps_si512(a)); }
/* c <= 16 uint16 at p zero-extended into the lanes' bits, and the low 16 bits of the lanes stored (masked) */
SMX_FLATTEN vf vld16_n(const uint16_t *p, size_t c) {
  const __m256i h = c >= 16 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(vtail(c), p);
  return _mm512_castsi512_ps(_mm512_cvtepu16_epi32(h));
}
static inline void vst16_n(uint16_t *p, vf v, size_t c) {
  const __m256i h = _mm512_cvtepi32_epi16(_mm512_castps_si512(v));
  if (c >= 16) _mm256_storeu_si256((__m256i *)p, h);
  else _mm256_mask_storeu_epi16(p, vtail(c), h);
}
/* The same with the 16 bits in the lanes' high halves (bfloat16 <-> float): one word permute each way */
SMX_FLATTEN vf vld16hi_n(const uint16_t *p, size_t c) {
  const __m256i h = c >= 16 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(vtail(c), p);
  const __m512i word_to_hi = _mm512_set_epi16(15, 0, 14, 0, 13, 0, 12, 0, 11, 0, 10, 0, 9, 0, 8, 0, 7, 0, 6, 0, 5, 0, 4,
                                              0, 3, 0, 2, 0, 1, 0, 0, 0); /* word 2j + 1 <- word j */
  return _mm512_castsi512_ps(_mm512_maskz_permutexvar_epi16(0xaaaaaaaau, word_to_hi, _mm512_castsi256_si512(h)));
}
static inline void vst16hi_n(uint16_t *p, vf v, size_t c) {
  const __m512i hi_words = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 31, 29, 27, 25, 23, 21, 19,
                                            17, 15, 13, 11, 9, 7, 5, 3, 1); /* word j <- word 2j + 1 */
  const __m256i h = _mm512_castsi512_si256(_mm512_permutexvar_epi16(hi_words, _mm512_castps_si512(v)));
  if (c >= 16) _mm256_storeu_si256((__m256i *)p, h);
  else _mm256_mask_storeu_epi16(p, vtail(c), h);
}

/* Hook: binary16 converted by vcvtph2ps / vcvtps2ph (round to nearest even given in the instruction; every
   call runs without FTZ/DAZ); vmath.h fixes the NaNs to the definitions' bits. */
#define SMX_F16_HW 1
/* no lane < c NaN, -0 or subnormal (one vfpclassps): vflush is the identity there and the hardware rounds as the
   definitions */
#define SMX_VPLAIN 1
/* vflush_nan (vmath.h) in the three operations of vflush: the min under the compare's mask */
#define SMX_VFLUSH_NAN 1
static inline vf vflush_nan(vf v) {
  const vf a = vabs(v);
  return _mm512_mask_min_ps(v, vnge(a, vset(0x1p-126f)), _mm512_setzero_ps(), a);
}
static inline int vplain_n(vf v, size_t c) {
  return !_mm512_mask_fpclass_ps_mask(c >= 16 ? (vm)0xffff : vtail(c), v, 0x01 | 0x04 | 0x20 | 0x80);
}
static inline vf vld_f16hw_n(const uint16_t *p, size_t c) {
  return _mm512_cvtph_ps(c >= 16 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(vtail(c), p));
}
static inline void vst_f16hw_n(uint16_t *p, vf v, size_t c) {
  const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  if (c >= 16) _mm256_storeu_si256((__m256i *)p, h);
  else _mm256_mask_storeu_epi16(p, vtail(c), h);
}

#ifdef __AVX512BF16__
/* Hook (the avx512bf16 ISA): bfloat16 stores by vcvtneps2bf16, round to nearest even, where every lane is a
   number it rounds as the definition does: it makes a quiet NaN of its own per payload and sign, and it treats
   float subnormal inputs as zero (1e-40f gives 0x0000, the definition 0x0001), so a step holding either (one
   vfpclassps) takes the integer path. */
#define SMX_BF16_HW 1
static inline int vbf16hw_ok(vf v) { return !_mm512_fpclass_ps_mask(v, 0x01 | 0x20 | 0x80); } /* QNaN, subnormal, SNaN */
static inline void vst_bf16hw_n(uint16_t *p, vf v, size_t c) {
  const __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
  if (c >= 16) _mm256_storeu_si256((__m256i *)p, h);
  else _mm256_mask_storeu_epi16(p, vtail(c), h);
}
#endif

/* r[i] lane j := r[j] lane i: 16 rows of 16 floats to 16 columns (short rows, one row per lane) */
SMX_FLATTEN void vtranspose16(vf *r) {
  vf t[16];
  for (int i = 0; i < 16; i += 2) t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 16; i += 4) { /* r[i + j], 128-bit lane L: entries 4 L + j of rows i .. i + 3 */
    __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]), c = _mm512_castps_pd(t[i + 2]),
            d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c)), r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d)), r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int j = 0; j < 4; j++) {
    vf ab_lo = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44), ab_hi = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xee);
    vf cd_lo = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44), cd_hi = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xee);
    t[j] = _mm512_shuffle_f32x4(ab_lo, cd_lo, 0x88), t[4 + j] = _mm512_shuffle_f32x4(ab_lo, cd_lo, 0xdd);
    t[8 + j] = _mm512_shuffle_f32x4(ab_hi, cd_hi, 0x88), t[12 + j] = _mm512_shuffle_f32x4(ab_hi, cd_hi, 0xdd);
  }
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* Rows of at most 8 entries, two a vector: r[k] = row k in lanes 0-7 and row k + 8 in lanes 8-15 (k < 8) to
   r[j] = entry j of rows 0..15 (j < 8), the 8 x 8 transposes of the two halves (24 shuffles, vtranspose16 has 64);
   its own inverse. */
#define SMX_VTRANSPOSE_HALVES 1
static inline vf vjoin_halves(vf lo, vf hi) { return _mm512_insertf32x8(lo, _mm512_castps512_ps256(hi), 1); }
static inline vf vupper_half(vf v) { return _mm512_shuffle_f32x4(v, v, 0xee); }
SMX_FLATTEN void vtranspose_halves(vf *r) {
  vf t[8];
  for (int i = 0; i < 8; i += 2) t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 8; i += 4) { /* r[i + j], 128-bit lane 2 half + h: entry 4 h + j of rows i .. i + 3 + 8 half */
    __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]), c = _mm512_castps_pd(t[i + 2]),
            d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c)), r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d)), r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  const __m512i h0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
                h1 = _mm512_add_epi32(h0, _mm512_set1_epi32(4));
  for (int j = 0; j < 4; j++)
    t[j] = _mm512_permutex2var_ps(r[j], h0, r[4 + j]), t[4 + j] = _mm512_permutex2var_ps(r[j], h1, r[4 + j]);
  for (int i = 0; i < 8; i++) r[i] = t[i];
}

static inline vd dset(double a) { return _mm512_set1_pd(a); }
static inline vd dlo(vf v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); } /* lanes 0..7, exact */
static inline vd dhi(vf v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }
static inline vf dpack(vd lo, vd hi) { /* round to float */
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}
/* the float-lane predicate of two double-lane ones (lo: lanes 0-7) */
static inline vm mpack(vdm lo, vdm hi) { return (vm)_mm512_kunpackb((__mmask16)hi, (__mmask16)lo); }
/* and its inverse: a float-lane predicate's double-lane halves (hook; vmath.h has the portable form) */
#define SMX_MHALVES 1
static inline vdm mlo(vm m) { return (vdm)m; }
static inline vdm mhi(vm m) { return (vdm)(m >> 8); }
static inline vd dld(const double *p) { return _mm512_loadu_pd(p); }
static inline void dst(double *p, vd v) { _mm512_storeu_pd(p, v); }
static inline vd dadd(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd dsub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd dmul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd ddiv(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd dfma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); } /* a b + c, one rounding */
/* stablemax's s(x) without vdivpd where smx_recip64_newton says so (Intel: 16 cycles a zmm on Sapphire Rapids,
   stablemax 0.72-0.86x the time; not on Zen 4, where it took 1.05-1.22x; on AVX2 the Newton form was 0.97-1.14x,
   so AVX2 and NEON keep the division) */
#define SMX_RECIP64_NEWTON 1
static inline vd dneg(vd a) {
  return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), _mm512_set1_epi64((long long)0x8000000000000000ull)));
}
static inline vd dabs(vd a) {
  return _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(0x7fffffffffffffffll)));
}
static inline vd dtrunc(vd a) { return _mm512_roundscale_pd(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
/* 2^k for integral k in [-1022, 1023]: k + 1023 from the low bits of k + 2^52 + 1023, into the exponent field */
static inline vd dpow2i(vd k) {
  __m512i u = _mm512_castpd_si512(_mm512_add_pd(k, _mm512_set1_pd(0x1p52 + 1023.0)));
  return _mm512_castsi512_pd(_mm512_slli_epi64(u, 52));
}
static inline vdm dgt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
static inline vdm dge(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
static inline vdm dlt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline vdm deq(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
static inline vdm dnan_or_neg(vd a) { /* a != a || a < 0 */
  return (vdm)(_mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q) | _mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_LT_OQ));
}
static inline vd dsel(vdm m, vd t, vd f) { return _mm512_mask_blend_pd(m, f, t); }
static inline unsigned dbits(vdm m) { return m; } /* lane i: bit i */
/* The mantissa of a with the exponent of 1.0, and the biased exponent field as a double. */
static inline vd dmant1(vd a) {
  __m512i u = _mm512_and_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(0x000fffffffffffffll));
  return _mm512_castsi512_pd(_mm512_or_si512(u, _mm512_set1_epi64(0x3ff0000000000000ll)));
}
static inline vd dexpfield(vd a) {
  __m512i e = _mm512_and_si512(_mm512_srli_epi64(_mm512_castpd_si512(a), 52), _mm512_set1_epi64(0x7ff));
  vd d = _mm512_castsi512_pd(_mm512_or_si512(e, _mm512_set1_epi64(0x4330000000000000ll)));
  return _mm512_sub_pd(d, _mm512_set1_pd(0x1p52));
}
/* sum of the 8 lanes by the tree l[i] += l[i + h], h = 4, 2, 1 */
static inline double dhsum(vd v) {
  __m256d a = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  b = _mm_add_sd(b, _mm_unpackhi_pd(b, b));
  return _mm_cvtsd_f64(b);
}

#endif
