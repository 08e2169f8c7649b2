/* avx512 stablemax and sparsemax families, bit-identical to the scalar reference
   (kernels/scalar/normalizers_scalar.c, xent_scalar.c). The kernel bodies below the ISA layer are
   the same text in kernels/avx2/normalizers_avx2.c: only the layer (16-float vectors, masks,
   8-double vectors) differs. */
#include <immintrin.h>

#include "smx_internal.h"

/* ==== ISA layer: vf = 16 floats (lane l = element l of the step), vd = 8 doubles ==== */
typedef __m512 vf;
typedef __mmask16 vm;
typedef __m512d vd;
typedef __mmask8 vdm;

static inline vf vset(float a) { return _mm512_set1_ps(a); }
static inline vf vld(const float *p) { return _mm512_loadu_ps(p); }
static inline vm vtail(size_t c) { return (vm)((1u << c) - 1u); } /* c < 16 lanes */
static inline vf vld_tail(const float *p, size_t c, float fill) { return _mm512_mask_loadu_ps(vset(fill), vtail(c), p); }
static inline void vst(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline void vst_tail(float *p, vf v, size_t c) { _mm512_mask_storeu_ps(p, vtail(c), v); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
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
static inline vf vexp2add(vf p, vf t) { /* u2f(f2u(p) + (f2u(t) << 23)) */
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}
static inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); } /* a > b ? a : b */
static inline vm vgt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vm vge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline vm vlt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm veq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm vne(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
static inline vm vnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline vf vsel(vm m, vf t, vf f) { return _mm512_mask_blend_ps(m, f, t); }
static inline vm mzero(void) { return 0; }
static inline vm mor(vm a, vm b) { return (vm)(a | b); }
static inline int many(vm m) { return m != 0; }
static inline size_t mcount(vm m) { return (size_t)__builtin_popcount((unsigned)m); }
static inline vm mlane(size_t d) { return (vm)(1u << d); } /* d < 16 */
/* Writes the lanes selected by m contiguously at dst (may write 16 floats); returns their count.
   The register form of vcompressps (the memory form is microcoded on some CPUs). */
static inline size_t vcompress(float *dst, vm m, vf v) {
  _mm512_storeu_ps(dst, _mm512_maskz_compress_ps(m, v));
  return mcount(m);
}

static inline vd dset(double a) { return _mm512_set1_pd(a); }
static inline vd dlo(vf v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
static inline vd dhi(vf v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }
static inline vf dpack(vd lo, vd hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}
static inline void dst(double *p, vd v) { _mm512_storeu_pd(p, v); }
static inline vd dadd(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd dsub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd dmul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd ddiv(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd dneg(vd a) {
  return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), _mm512_set1_epi64((long long)0x8000000000000000ull)));
}
static inline vd dabs(vd a) {
  return _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(0x7fffffffffffffffll)));
}
static inline vdm dgt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
static inline vdm dge(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
static inline vdm dlt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline vdm deq(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
static inline vdm dnan_or_neg(vd a) { /* a != a || a < 0 */
  return (vdm)(_mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q) | _mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_LT_OQ));
}
static inline vdm dmand(vdm a, vdm b) { return (vdm)(a & b); }
static inline vd dsel(vdm m, vd t, vd f) { return _mm512_mask_blend_pd(m, f, t); }
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

#define SMX_NZ_FILL smx_kernels_avx512_normalizers

#include "../x86/normalizers_body.h"
