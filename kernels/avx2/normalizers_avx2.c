/* avx2 stablemax and sparsemax families, bit-identical to the scalar reference
   (kernels/scalar/normalizers_scalar.c, xent_scalar.c). The kernel bodies below the ISA layer are
   the same text in kernels/avx512/normalizers_avx512.c: only the layer differs (here a 16-float
   step is two ymm, so the 64 float lanes are 8 ymm and the 16 double lanes 4 ymm). */
#include <immintrin.h>

#include "smx_internal.h"

/* ==== ISA layer: vf = 16 floats (lane l = element l of the step), vd = 8 doubles ==== */
typedef struct { __m256 a, b; } vf;
typedef struct { __m256 a, b; } vm;   /* all-ones lanes */
typedef struct { __m256d a, b; } vd;
typedef struct { __m256d a, b; } vdm;

#define V2(expr_a, expr_b) { expr_a, expr_b }
static inline vf vset(float a) { vf r = V2(_mm256_set1_ps(a), _mm256_set1_ps(a)); return r; }
static inline vf vld(const float *p) { vf r = V2(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)); return r; }
static inline __m256i tail_i(size_t c, int base) { /* lanes base + l < c */
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)c), _mm256_setr_epi32(base, base + 1, base + 2, base + 3, base + 4,
                                                                          base + 5, base + 6, base + 7));
}
static inline vm vtail(size_t c) { vm r = V2(_mm256_castsi256_ps(tail_i(c, 0)), _mm256_castsi256_ps(tail_i(c, 8))); return r; }
static inline vf vld_tail(const float *p, size_t c, float fill) {
  __m256i ma = tail_i(c, 0), mb = tail_i(c, 8);
  __m256 f = _mm256_set1_ps(fill);
  vf r = V2(_mm256_blendv_ps(f, _mm256_maskload_ps(p, ma), _mm256_castsi256_ps(ma)),
            _mm256_blendv_ps(f, _mm256_maskload_ps(p + 8, mb), _mm256_castsi256_ps(mb)));
  return r;
}
static inline void vst(float *p, vf v) { _mm256_storeu_ps(p, v.a); _mm256_storeu_ps(p + 8, v.b); }
static inline void vst_tail(float *p, vf v, size_t c) {
  _mm256_maskstore_ps(p, tail_i(c, 0), v.a);
  _mm256_maskstore_ps(p + 8, tail_i(c, 8), v.b);
}
#define VOP2(name, op) static inline vf name(vf x, vf y) { vf r = V2(op(x.a, y.a), op(x.b, y.b)); return r; }
VOP2(vadd, _mm256_add_ps)
VOP2(vsub, _mm256_sub_ps)
VOP2(vmul, _mm256_mul_ps)
VOP2(vdiv, _mm256_div_ps)
VOP2(vmax, _mm256_max_ps) /* a > b ? a : b */
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
static inline vf vexp2add(vf p, vf t) { vf r = V2(exp2add1(p.a, t.a), exp2add1(p.b, t.b)); return r; } /* u2f(f2u(p) + (f2u(t) << 23)) */
#define VCMP(name, pred) static inline vm name(vf x, vf y) { vm r = V2(_mm256_cmp_ps(x.a, y.a, pred), _mm256_cmp_ps(x.b, y.b, pred)); return r; }
VCMP(vgt, _CMP_GT_OQ)
VCMP(vge, _CMP_GE_OQ)
VCMP(vlt, _CMP_LT_OQ)
VCMP(veq, _CMP_EQ_OQ)
VCMP(vne, _CMP_NEQ_UQ)
static inline vm vnan(vf x) { vm r = V2(_mm256_cmp_ps(x.a, x.a, _CMP_UNORD_Q), _mm256_cmp_ps(x.b, x.b, _CMP_UNORD_Q)); return r; }
static inline vf vsel(vm m, vf t, vf f) { vf r = V2(_mm256_blendv_ps(f.a, t.a, m.a), _mm256_blendv_ps(f.b, t.b, m.b)); return r; }
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
static inline void dst(double *p, vd v) { _mm256_storeu_pd(p, v.a); _mm256_storeu_pd(p + 4, v.b); }
#define DOP2(name, op) static inline vd name(vd x, vd y) { vd r = V2(op(x.a, y.a), op(x.b, y.b)); return r; }
DOP2(dadd, _mm256_add_pd)
DOP2(dsub, _mm256_sub_pd)
DOP2(dmul, _mm256_mul_pd)
DOP2(ddiv, _mm256_div_pd)
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
static inline vdm dmand(vdm x, vdm y) { vdm r = V2(_mm256_and_pd(x.a, y.a), _mm256_and_pd(x.b, y.b)); return r; }
static inline vd dsel(vdm m, vd t, vd f) { vd r = V2(_mm256_blendv_pd(f.a, t.a, m.a), _mm256_blendv_pd(f.b, t.b, m.b)); return r; }
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

#define SMX_NZ_FILL smx_kernels_avx2_normalizers

/* ==== kernel bodies (the same text in every x86 normalizers file) ==== */
#define VW 16

/* ---- shared vector pieces, each mirroring one scalar helper operation for operation ---- */

/* smx_row_max_scalar: 64 lanes (element i -> lane i % 64), the same tree, NaN flag. */
static float row_max(size_t n, const float *x, int *nan) {
  vf m0 = vset(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  vm bad = mzero();
  size_t i = 0;
  for (; i + 4 * VW <= n; i += 4 * VW) {
    vf a0 = vld(x + i), a1 = vld(x + i + VW), a2 = vld(x + i + 2 * VW), a3 = vld(x + i + 3 * VW);
    m0 = vmax(a0, m0);
    m1 = vmax(a1, m1);
    m2 = vmax(a2, m2);
    m3 = vmax(a3, m3);
    bad = mor(bad, mor(mor(vnan(a0), vnan(a1)), mor(vnan(a2), vnan(a3))));
  }
  float l[SMX_LANES];
  vst(l, m0);
  vst(l + VW, m1);
  vst(l + 2 * VW, m2);
  vst(l + 3 * VW, m3);
  for (; i + VW <= n; i += VW) {
    vf a = vld(x + i);
    vst(l + i % SMX_LANES, vmax(a, vld(l + i % SMX_LANES)));
    bad = mor(bad, vnan(a));
  }
  if (i < n) {
    vf a = vld_tail(x + i, n - i, -INFINITY);
    vst(l + i % SMX_LANES, vmax(a, vld(l + i % SMX_LANES)));
    bad = mor(bad, vnan(a));
  }
  *nan = many(bad);
  return smx_tree_max64(l);
}

/* smx_stable_s */
static inline vf vstable_s(vf x) {
  vf b = vsub(vset(1.0f), x);
  vf r = vsel(vgt(b, vset(0x1p126f)), vset(0.0f), vdiv(vset(1.0f), b));
  return vsel(vge(x, vset(0.0f)), vadd(x, vset(1.0f)), r);
}

/* smx_stable_p */
static inline vf vstable_p(vf x, vf c, vf den_f) {
  vm pos = vge(x, vset(0.0f));
  vf a = vsel(pos, vadd(x, vset(1.0f)), vset(1.0f));
  vf b = vsel(pos, vset(1.0f), vsub(vset(1.0f), x));
  vf num = vmul(a, c), den = vmul(b, den_f);
  return vsel(vlt(vmul(num, vset(0x1p126f)), den), vset(0.0f), vdiv(num, den));
}

/* smx_stable_s64 */
static inline vd dstable_s64(vd x) {
  return dsel(dge(x, dset(0.0)), dadd(x, dset(1.0)), ddiv(dset(1.0), dsub(dset(1.0), x)));
}

/* smx_log64 (kernels/common/dmath.c); LOG_C[i] = 2 / (2 i + 1) as the reference's loop computes it */
static const double LOG_C[12] = {2.0 / 1, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11,
                                 2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23};
static inline vd dlog64(vd x) {
  vd k = dsub(dexpfield(x), dset(1023.0)), m = dmant1(x);
  vdm big = dgt(m, dset(0x1.6a09e667f3bcdp0));
  m = dsel(big, dmul(m, dset(0.5)), m);
  k = dsel(big, dadd(k, dset(1.0)), k);
  vd f = ddiv(dsub(m, dset(1.0)), dadd(m, dset(1.0))), s = dmul(f, f);
  vd p = dset(2.0 / 25.0);
  for (int i = 11; i >= 0; i--) p = dadd(dmul(p, s), dset(LOG_C[i]));
  vd r = dadd(dmul(k, dset(0x1.62e42fee00000p-1)), dadd(dmul(f, p), dmul(k, dset(0x1.a39ef35793c76p-33))));
  r = dsel(deq(x, dset(HUGE_VAL)), x, r);
  r = dsel(deq(x, dset(0.0)), dset(-HUGE_VAL), r);
  return dsel(dnan_or_neg(x), dset(NAN), r);
}

/* smx_log1p64 */
static inline vd dlog1p64(vd x) {
  vd u = dadd(dset(1.0), x);
  vd r = dmul(dlog64(u), ddiv(x, dsub(u, dset(1.0))));
  r = dsel(deq(u, dset(HUGE_VAL)), u, r);
  return dsel(deq(u, dset(1.0)), x, r);
}

/* smx_softcap: z = cap tanh(x / cap), *dz = dz/dx */
static inline vf vsoftcap(vf x, vf cap, vf inv_cap, vf *dz) {
  vf u = vmul(x, inv_cap);
  vf a = vabs(u);
  vm over = vgt(a, vset(43.0f));
  vf ac = vsel(over, vset(43.0f), a);
  vf v = vmul(vset(-2.0f), ac);
  vf t = vfma(v, vset(SMX_LOG2E), vset(SMX_MAGIC));
  vf nf = vsub(t, vset(SMX_MAGIC));
  vf r = vfma(nf, vset(-SMX_LN2_HI), v);
  r = vfma(nf, vset(-SMX_LN2_LO), r);
  vf p = vset(SMX_EXP_C6);
  p = vfma(p, r, vset(SMX_EXP_C5));
  p = vfma(p, r, vset(SMX_EXP_C4));
  p = vfma(p, r, vset(SMX_EXP_C3));
  p = vfma(p, r, vset(SMX_EXP_C2));
  p = vfma(p, r, vset(1.0f));
  vf rq = vmul(p, r);
  vf sc = vexp2add(vset(1.0f), t);
  vf E = vfma(rq, sc, sc);
  vf e = vfma(rq, sc, vsub(sc, vset(1.0f)));
  vf q = vadd(vset(2.0f), e);
  vf th = vdiv(vneg(e), q);
  th = vsignor(th, u);
  *dz = vsel(over, vset(0.0f), vdiv(vmul(vset(4.0f), E), vmul(q, q)));
  return vmul(cap, th);
}

/* smx_blocked_dot_scalar(n, a, b) with b != NULL */
static double blocked_dot(size_t n, const float *a, const float *b) {
  double total = 0.0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, i = 0;
    const float *pa = a + o, *pb = b + o;
    vf l0 = vset(0.0f), l1 = l0, l2 = l0, l3 = l0;
    for (; i + 4 * VW <= len; i += 4 * VW) {
      l0 = vfma(vld(pa + i), vld(pb + i), l0);
      l1 = vfma(vld(pa + i + VW), vld(pb + i + VW), l1);
      l2 = vfma(vld(pa + i + 2 * VW), vld(pb + i + 2 * VW), l2);
      l3 = vfma(vld(pa + i + 3 * VW), vld(pb + i + 3 * VW), l3);
    }
    float l[SMX_LANES];
    vst(l, l0);
    vst(l + VW, l1);
    vst(l + 2 * VW, l2);
    vst(l + 3 * VW, l3);
    for (; i + VW <= len; i += VW) vst(l + i % SMX_LANES, vfma(vld(pa + i), vld(pb + i), vld(l + i % SMX_LANES)));
    if (i < len) {
      size_t c = len - i;
      vf acc = vld(l + i % SMX_LANES);
      vst(l + i % SMX_LANES, vsel(vtail(c), vfma(vld_tail(pa + i, c, 0.0f), vld_tail(pb + i, c, 0.0f), acc), acc));
    }
    total += smx_tree_sum64(l);
  }
  return total;
}

/* ---- stablemax ---- */
static double stable_sum(size_t n, const float *x) {
  vd a0 = dset(0.0), a1 = a0;
  size_t i = 0;
  /* two steps per iteration (independent divisions); both go to the same lanes in sequence */
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf s0 = vstable_s(vld(x + i)), s1 = vstable_s(vld(x + i + VW));
    a0 = dadd(a0, dlo(s0));
    a1 = dadd(a1, dhi(s0));
    a0 = dadd(a0, dlo(s1));
    a1 = dadd(a1, dhi(s1));
  }
  for (; i < n; i += VW) {
    vf s = n - i >= VW ? vstable_s(vld(x + i)) : vstable_s(vld_tail(x + i, n - i, -INFINITY)); /* s(-inf) = +0 */
    a0 = dadd(a0, dlo(s));
    a1 = dadd(a1, dhi(s));
  }
  double l[SMX_DLANES];
  dst(l, a0);
  dst(l + 8, a1);
  return smx_tree_sum16d(l);
}

static void stablemax_k(size_t n, const float *x, float *y) {
  double S = stable_sum(n, x);
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    int nan;
    float m = row_max(n, x, &nan);
    enum smx_row_kind kind = smx_row_kind_of(m, nan);
    if (kind != SMX_ROW_FINITE) smx_special_row(kind, n, x, y, 0);
    else smx_stablemax_tiny_row(n, x, y);
    return;
  }
  float c, den;
  smx_stable_scale(S, &c, &den);
  const vf vc = vset(c), vden = vset(den);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf p0 = vstable_p(vld(x + i), vc, vden), p1 = vstable_p(vld(x + i + VW), vc, vden);
    vst(y + i, p0);
    vst(y + i + VW, p1);
  }
  for (; i + VW <= n; i += VW) vst(y + i, vstable_p(vld(x + i), vc, vden));
  if (i < n) vst_tail(y + i, vstable_p(vld_tail(x + i, n - i, 0.0f), vc, vden), n - i);
}

static void log_stablemax_k(size_t n, const float *x, float *y) {
  int nan;
  float m = row_max(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 1);
    return;
  }
  const vf vmx = vset(m);
  vd a0 = dset(0.0), a1 = a0;
  size_t K = 0;
  for (size_t i = 0; i < n; i += VW) {
    vf v = n - i >= VW ? vld(x + i) : vld_tail(x + i, n - i, -INFINITY);
    vm tie = veq(v, vmx);
    K += mcount(tie);
    v = vsel(tie, vset(-INFINITY), v); /* s64(-inf) = +0: a tie adds 0.0 */
    a0 = dadd(a0, dstable_s64(dlo(v)));
    a1 = dadd(a1, dstable_s64(dhi(v)));
  }
  double l[SMX_DLANES];
  dst(l, a0);
  dst(l + 8, a1);
  double Kd = (double)K;
  double O = smx_tree_sum16d(l), sm = smx_stable_s64(m), S = Kd * sm + O;
  float top = (float)-(smx_log64(Kd) + smx_log1p64(O / (Kd * sm)));
  const vf vtop = vset(top);
  const vd vS = dset(S);
  for (size_t i = 0; i < n; i += VW) {
    size_t c = n - i;
    vf v = c >= VW ? vld(x + i) : vld_tail(x + i, c, 0.0f);
    vf r = dpack(dlog64(ddiv(dstable_s64(dlo(v)), vS)), dlog64(ddiv(dstable_s64(dhi(v)), vS)));
    r = vsel(veq(v, vmx), vtop, r);
    if (c >= VW) vst(y + i, r);
    else vst_tail(y + i, r, c);
  }
}

static void stablemax_backward_k(size_t n, const float *x, const float *y, const float *dy, float *dx) {
  float dot = (float)blocked_dot(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const vf vdot = vset(dot);
  vm bad = mzero(), live = mzero();
  size_t i = 0;
  for (; i + VW <= n; i += VW) {
    vf vx = vld(x + i);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    vst(dx + i, vdiv(vmul(vld(y + i), vsub(vld(dy + i), vdot)), vadd(vset(1.0f), vabs(vx))));
  }
  if (i < n) {
    size_t c = n - i;
    vf vx = vld_tail(x + i, c, -INFINITY);
    bad = mor(bad, vnan(vx));
    live = mor(live, vne(vx, vset(-INFINITY)));
    vf r = vdiv(vmul(vld_tail(y + i, c, 0.0f), vsub(vld_tail(dy + i, c, 0.0f), vdot)), vadd(vset(1.0f), vabs(vx)));
    vst_tail(dx + i, r, c);
  }
  if (many(bad) || !many(live)) smx_fill(n, dx, many(bad) ? smx_qnan() : 0.0f);
}

/* ---- fused cross-entropy, stablemax ---- */
static inline double weight_of(const smx_xent_row *row, size_t j) { return row->class_weight ? row->class_weight[j] : 1.0; }
static inline float logit_of(const smx_xent_row *row, float inv_cap, float x, float *dz) {
  if (row->softcap > 0.0f) return smx_softcap(x, row->softcap, inv_cap, dz);
  *dz = 1.0f;
  return x;
}
/* c * v with 0 * inf = 0 (xent_scalar.c) */
static inline double times_(double c, double v) { return c != 0.0 ? c * v : 0.0; }

/* Loss of a row with +inf logits or only -inf logits (xent_scalar.c special_loss) */
static double special_loss(size_t n, const float *x, const smx_xent_row *row, double wt, float pinf) {
  const double eps = row->label_smoothing, pt = x[row->target] == INFINITY ? pinf : 0.0;
  double loss = times_((1.0 - eps) * wt, pt > 0.0 ? -smx_log64(pt) : INFINITY);
  if (eps > 0.0) {
    double sm = 0.0;
    for (size_t j = 0; j < n; j++) {
      double w = weight_of(row, j), p = x[j] == INFINITY ? pinf : 0.0;
      if (w != 0.0) sm += w * (p > 0.0 ? -smx_log64(p) : INFINITY);
    }
    loss += eps / (double)n * sm;
  }
  return loss;
}

static double nan_row(size_t n, float *dx) {
  if (dx) smx_fill(n, dx, smx_qnan());
  return NAN;
}

/* The logits of one step (c lanes valid) as the loss sees them, and dz/dx (1 without softcap). */
static inline vf step_logits(const float *x, size_t c, float fill, int capped, vf vcap, vf vinv, vf *dz) {
  vf v = c >= VW ? vld(x) : vld_tail(x, c, fill);
  if (!capped) {
    *dz = vset(1.0f);
    return v;
  }
  return vsoftcap(v, vcap, vinv, dz);
}

static inline void xs_pass1_step(const float *x, size_t j, size_t c, size_t t, float eps, const float *cw, int capped,
                                 vf vcap, vf vinv, vd *o0, vd *o1, vd *w0, vd *w1) {
  vf dz, z = step_logits(x + j, c, 0.0f, capped, vcap, vinv, &dz);
  vf s = vstable_s(z);
  if (t - j < VW) s = vsel(mlane(t - j), vset(0.0f), s); /* j == t adds 0.0 */
  if (c < VW) s = vsel(vtail(c), s, vset(0.0f));
  *o0 = dadd(*o0, dlo(s));
  *o1 = dadd(*o1, dhi(s));
  if (eps > 0.0f) {
    vf w = cw ? (c >= VW ? vld(cw + j) : vld_tail(cw + j, c, 0.0f)) : vset(1.0f);
    if (c < VW) w = vsel(vtail(c), w, vset(0.0f)); /* w == 0 adds 0.0 */
    vd zl = dlo(z), zh = dhi(z), wl = dlo(w), wh = dhi(w);
    vd ll = dlog1p64(dabs(zl)), lh = dlog1p64(dabs(zh));
    ll = dsel(dlt(zl, dset(0.0)), dneg(ll), ll);
    lh = dsel(dlt(zh, dset(0.0)), dneg(lh), lh);
    *w0 = dadd(*w0, dsel(deq(wl, dset(0.0)), dset(0.0), dmul(wl, ll)));
    *w1 = dadd(*w1, dsel(deq(wh, dset(0.0)), dset(0.0), dmul(wh, lh)));
  }
}

static double xent_stablemax_k(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  vd o0 = dset(0.0), o1 = o0, w0 = o0, w1 = o0;
  float dz;
  size_t j = 0;
  for (; j + VW <= n; j += VW) xs_pass1_step(x, j, VW, t, eps, cw, capped, vcap, vinv, &o0, &o1, &w0, &w1);
  if (j < n) xs_pass1_step(x, j, n - j, t, eps, cw, capped, vcap, vinv, &o0, &o1, &w0, &w1);
  double lo[SMX_DLANES], lw[SMX_DLANES];
  dst(lo, o0);
  dst(lo + 8, o1);
  dst(lw, w0);
  dst(lw + 8, w1);

  const float zt = logit_of(row, inv_cap, x[t], &dz), dzt = dz;
  const double O = smx_tree_sum16d(lo), st = smx_stable_s64(zt), S = O + st;
  const double wt = weight_of(row, t), W = row->weight_sum, g = row->grad_coef;
  int nan;
  enum smx_row_kind kind = SMX_ROW_FINITE;
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    float m = row_max(n, x, &nan);
    kind = smx_row_kind_of(m, nan);
  }
  if (kind == SMX_ROW_NAN) return nan_row(n, dx);
  double loss, pt;
  float pinf = 0.0f;
  if (kind == SMX_ROW_FINITE) {
    pt = st / S;
    loss = times_((1.0 - eps) * wt, smx_log1p64(O / st));
    if (eps > 0.0f) {
      double ls = smx_log1p64((double)fabsf(zt));
      double log_s = st > 0.0 ? (zt < 0.0f ? -ls : ls) + smx_log1p64(O / st) : smx_log64(S);
      loss += eps / (double)n * (W * log_s - smx_tree_sum16d(lw));
    }
  } else {
    double k = 0.0;
    for (size_t i = 0; i < n; i++) k += x[i] == INFINITY;
    pinf = kind == SMX_ROW_POSINF ? (float)(1.0 / k) : 0.0f;
    pt = x[t] == INFINITY ? pinf : 0.0;
    loss = special_loss(n, x, row, wt, pinf);
  }
  if (!dx) return loss;
  const double A = (1.0 - eps) * wt + eps * W / (double)n;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  const int tiny = kind == SMX_ROW_FINITE && S < SMX_STABLE_TINY;
  float c = 1.0f, den = 1.0f;
  if (kind == SMX_ROW_FINITE) smx_stable_scale(S, &c, &den);
  if (kind != SMX_ROW_FINITE || tiny) { /* rare rows: the reference loop */
    for (size_t i = 0; i < n; i++) {
      float z = logit_of(row, inv_cap, x[i], &dz), p;
      if (kind != SMX_ROW_FINITE) p = x[i] == INFINITY ? pinf : 0.0f;
      else p = smx_stable_p_tiny(z, S);
      float b = cw ? Bf * cw[i] : Bf;
      dx[i] = (fmaf(Af, p, -b) / (1.0f + fabsf(z))) * dz;
    }
  } else {
    const vf vc = vset(c), vden = vset(den), vA = vset(Af), vB = vset(Bf);
    for (size_t i = 0; i < n; i += VW) {
      size_t cnt = n - i;
      vf vdz, z = step_logits(x + i, cnt, 0.0f, capped, vcap, vinv, &vdz);
      vf p = vstable_p(z, vc, vden);
      vf b = cw ? vmul(vB, cnt >= VW ? vld(cw + i) : vld_tail(cw + i, cnt, 0.0f)) : vB;
      vf r = vmul(vdiv(vfma(vA, p, vneg(b)), vadd(vset(1.0f), vabs(z))), vdz);
      if (cnt >= VW) vst(dx + i, r);
      else vst_tail(dx + i, r, cnt);
    }
  }
  const double pt_m1 = kind == SMX_ROW_FINITE ? -O / S : pt - 1.0;
  const double gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (W * pt - wt);
  dx[t] = ((float)(g * gt) / (1.0f + fabsf(zt))) * dzt;
  return loss;
}

/* ---- sparsemax ---- */
/* Candidates x_i > lo in index order into buf (SMX_SPARSE_BUF + VW floats); stops once more than
   SMX_SPARSE_BUF were found. Returns the count (> SMX_SPARSE_BUF: use the whole row). */
static size_t sparse_candidates(size_t n, const float *x, float lo, float *buf) {
  const vf vlo = vset(lo);
  size_t nc = 0, i = 0;
  for (; i + 4 * VW <= n && nc <= SMX_SPARSE_BUF; i += 4 * VW) {
    vf a0 = vld(x + i), a1 = vld(x + i + VW), a2 = vld(x + i + 2 * VW), a3 = vld(x + i + 3 * VW);
    vm k0 = vgt(a0, vlo), k1 = vgt(a1, vlo), k2 = vgt(a2, vlo), k3 = vgt(a3, vlo);
    if (!many(mor(mor(k0, k1), mor(k2, k3)))) continue;
    nc += vcompress(buf + nc, k0, a0);
    if (nc > SMX_SPARSE_BUF) break;
    nc += vcompress(buf + nc, k1, a1);
    if (nc > SMX_SPARSE_BUF) break;
    nc += vcompress(buf + nc, k2, a2);
    if (nc > SMX_SPARSE_BUF) break;
    nc += vcompress(buf + nc, k3, a3);
  }
  for (; i < n && nc <= SMX_SPARSE_BUF; i += VW) {
    vf a = n - i >= VW ? vld(x + i) : vld_tail(x + i, n - i, -INFINITY);
    nc += vcompress(buf + nc, vgt(a, vlo), a);
  }
  return nc;
}

/* y = smx_sparse_p(x, m, tau_rel) for one step: d = (x - m) - tau_rel in double */
static inline vf vsparse_p(vf v, vd vm_, vd vtau) {
  vd dl = dsub(dsub(dlo(v), vm_), vtau), dh = dsub(dsub(dhi(v), vm_), vtau);
  vdm okl = dge(dl, dset(0x1p-126)), okh = dge(dh, dset(0x1p-126));
  return dpack(dsel(okl, dl, dset(0.0)), dsel(okh, dh, dset(0.0))); /* (float)+0.0 = +0 */
}

/* A float tf with smx_sparse_p(x, m, tau) = +0 for every x <= tf (d is monotone in x), or -inf. */
static float sparse_zero_below(float m, double tau) {
  double c = (double)m + tau;
  float tf = (float)c;
  for (int i = 0; i < 8; i++, tf = nextafterf(tf, -INFINITY))
    if (!(((double)tf - (double)m) - tau >= 0x1p-126)) return tf;
  return -INFINITY;
}

/* y = smx_sparse_p(x, m, tau) over a row, skipping steps that are all below tf */
static void sparse_write(size_t n, const float *x, float m, double tau, float *y) {
  const vf vtf = vset(sparse_zero_below(m, tau));
  const vd vmd = dset((double)m), vtau = dset(tau);
  size_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vf v0 = vld(x + i), v1 = vld(x + i + VW);
    vm h0 = vgt(v0, vtf), h1 = vgt(v1, vtf);
    if (!many(mor(h0, h1))) {
      vst(y + i, vset(0.0f));
      vst(y + i + VW, vset(0.0f));
      continue;
    }
    vst(y + i, many(h0) ? vsparse_p(v0, vmd, vtau) : vset(0.0f));
    vst(y + i + VW, many(h1) ? vsparse_p(v1, vmd, vtau) : vset(0.0f));
  }
  for (; i + VW <= n; i += VW) {
    vf v = vld(x + i);
    vst(y + i, many(vgt(v, vtf)) ? vsparse_p(v, vmd, vtau) : vset(0.0f));
  }
  if (i < n) vst_tail(y + i, vsparse_p(vld_tail(x + i, n - i, -INFINITY), vmd, vtau), n - i);
}

static void sparsemax_k(size_t n, const float *x, float *y) {
  int nan;
  float m = row_max(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  float lo = smx_below_minus_one(m), buf[SMX_SPARSE_BUF + VW];
  size_t nc = sparse_candidates(n, x, lo, buf), k;
  double tau = nc <= SMX_SPARSE_BUF ? smx_sparsemax_tau(buf, nc, lo, m, 0.0f, &k)
                                    : smx_sparsemax_tau(x, n, lo, m, 0.0f, &k);
  sparse_write(n, x, m, tau, y);
}

static void sparsemax_backward_k(size_t n, const float *y, const float *dy, float *dx) {
  double sum = 0.0;
  size_t k = 0;
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, i = 0;
    const float *py = y + o, *pd = dy + o;
    float l[SMX_LANES];
    for (int q = 0; q < 4; q++) vst(l + q * VW, vset(0.0f));
    for (; i < len; i += VW) {
      size_t c = len - i;
      vf vy = c >= VW ? vld(py + i) : vld_tail(py + i, c, 0.0f);
      vf vd_ = c >= VW ? vld(pd + i) : vld_tail(pd + i, c, 0.0f);
      vm in = vgt(vy, vset(0.0f));
      k += mcount(in);
      vf acc = vld(l + i % SMX_LANES);
      vf s = vadd(acc, vsel(in, vd_, vset(0.0f)));
      vst(l + i % SMX_LANES, c >= VW ? s : vsel(vtail(c), s, acc));
    }
    sum += smx_tree_sum64(l);
  }
  float v = k > 0 ? (float)(sum / (double)k) : 0.0f;
  const vf vv = vset(v);
  vm bad = mzero();
  for (size_t i = 0; i < n; i += VW) {
    size_t c = n - i;
    vf vy = c >= VW ? vld(y + i) : vld_tail(y + i, c, 0.0f);
    vf vd_ = c >= VW ? vld(dy + i) : vld_tail(dy + i, c, 0.0f);
    bad = mor(bad, mor(vnan(vy), vnan(vd_)));
    vf r = vsel(vgt(vy, vset(0.0f)), vsub(vd_, vv), vset(0.0f));
    if (c >= VW) vst(dx + i, r);
    else vst_tail(dx + i, r, c);
  }
  if (many(bad)) smx_fill(n, dx, smx_qnan());
}

/* ---- fused cross-entropy, sparsemax ---- */
static double xent_sparsemax_k(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const vf vcap = vset(row->softcap), vinv = vset(inv_cap);
  float dz, buf[SMX_SPARSE_BUF + VW];
  float lm[SMX_LANES];
  for (int q = 0; q < 4; q++) vst(lm + q * VW, vset(-INFINITY));
  vd z0 = dset(0.0), z1 = z0;
  vm bad = mzero();
  for (size_t j = 0; j < n; j += VW) {
    size_t c = n - j;
    vf vdz, z = step_logits(x + j, c, -INFINITY, capped, vcap, vinv, &vdz);
    if (c < VW) z = vsel(vtail(c), z, vset(-INFINITY));
    vst(lm + j % SMX_LANES, vmax(z, vld(lm + j % SMX_LANES)));
    bad = mor(bad, vnan(z));
    if (eps > 0.0f) {
      vf zz = c < VW ? vsel(vtail(c), z, vset(0.0f)) : z;
      z0 = dadd(z0, dlo(zz));
      z1 = dadd(z1, dhi(zz));
    }
  }
  double lz[SMX_DLANES];
  dst(lz, z0);
  dst(lz + 8, z1);
  const float m = smx_tree_max64(lm), zt = logit_of(row, inv_cap, x[t], &dz), dzt = dz;
  const enum smx_row_kind kind = smx_row_kind_of(m, many(bad));
  if (kind == SMX_ROW_NAN) return nan_row(n, dx);
  const double wt = weight_of(row, t), G = row->grad_coef * wt, q_off = eps / (double)n;
  const double q_t = 1.0 - eps + q_off, qq = q_t * q_t + (double)(n - 1) * q_off * q_off;
  double loss, pt, tau = 0.0; /* tau relative to m */
  float pinf = 0.0f;
  if (kind == SMX_ROW_FINITE) {
    float lo = smx_below_minus_one(m);
    size_t nc, k;
    if (!capped) nc = sparse_candidates(n, x, lo, buf);
    else {
      const vf vlo = vset(lo);
      nc = 0;
      for (size_t j = 0; j < n && nc <= SMX_SPARSE_BUF; j += VW) {
        size_t c = n - j;
        vf vdz, z = step_logits(x + j, c, -INFINITY, capped, vcap, vinv, &vdz);
        if (c < VW) z = vsel(vtail(c), z, vset(-INFINITY));
        nc += vcompress(buf + nc, vgt(z, vlo), z);
      }
    }
    if (nc <= SMX_SPARSE_BUF) {
      tau = smx_sparsemax_tau(buf, nc, lo, m, 0.0f, &k);
      loss = smx_sparsemax_fy(buf, nc, m, tau, 0.0f);
    } else {
      tau = smx_sparsemax_tau(x, n, lo, m, row->softcap, &k);
      loss = smx_sparsemax_fy(x, n, m, tau, row->softcap);
    }
    const double ztr = (double)zt - (double)m;
    pt = ztr > tau ? ztr - tau : 0.0;
    double zq = (1.0 - eps) * ztr + (eps > 0.0f ? q_off * (smx_tree_sum16d(lz) - (double)n * (double)m) : 0.0);
    loss = times_(wt, loss - zq + 0.5 * qq);
  } else {
    double k = 0.0;
    for (size_t j = 0; j < n; j++) k += x[j] == INFINITY;
    pinf = kind == SMX_ROW_POSINF ? (float)(1.0 / k) : 0.0f;
    pt = x[t] == INFINITY ? pinf : 0.0;
    loss = x[t] == INFINITY && (eps == 0.0f || k == (double)n) ? times_(wt, 0.5 * (qq - 1.0 / k)) : INFINITY;
  }
  if (!dx) return loss;
  const float Gf = (float)G, qf = (float)q_off;
  if (kind != SMX_ROW_FINITE) {
    for (size_t j = 0; j < n; j++) {
      (void)logit_of(row, inv_cap, x[j], &dz);
      float p = x[j] == INFINITY ? pinf : 0.0f;
      dx[j] = ((p - qf) * Gf) * dz;
    }
  } else {
    const vd vtau = dset(tau), vmd = dset((double)m);
    const vf vq = vset(qf), vG = vset(Gf);
    for (size_t j = 0; j < n; j += VW) {
      size_t c = n - j;
      vf vdz, z = step_logits(x + j, c, 0.0f, capped, vcap, vinv, &vdz);
      vf r = vmul(vmul(vsub(vsparse_p(z, vmd, vtau), vq), vG), vdz);
      if (c >= VW) vst(dx + j, r);
      else vst_tail(dx + j, r, c);
    }
  }
  dx[t] = (float)(G * (pt - q_t)) * dzt;
  return loss;
}

void SMX_NZ_FILL(smx_kernels *k) {
  k->stablemax = stablemax_k;
  k->log_stablemax = log_stablemax_k;
  k->stablemax_backward = stablemax_backward_k;
  k->sparsemax = sparsemax_k;
  k->sparsemax_backward = sparsemax_backward_k;
  k->xent[SMX_NORM_STABLEMAX] = xent_stablemax_k;
  k->xent[SMX_NORM_SPARSEMAX] = xent_sparsemax_k;
}
