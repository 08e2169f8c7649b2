/* avx512 softmax family and softmax cross-entropy: bit-identical to kernels/scalar/softmax_scalar.c
   and xent_softmax_scalar (kernels/scalar/xent_scalar.c). The 64 virtual lanes are 4 zmm x 16:
   element i of a block goes to accumulator (i / 16) % 4, position i % 16. */
#include <immintrin.h>

#include "smx_internal.h"

/* ---- ISA layer: the body below only uses these ---- */
#define W 16   /* floats per vector */
#define NACC 4 /* 64 lanes / W */
#define ISA_NAME avx512
typedef __m512 V;
typedef __mmask16 M; /* a lane predicate */
typedef __m512i VI;

static inline V vset(float f) { return _mm512_set1_ps(f); }
static inline V vzero(void) { return _mm512_setzero_ps(); }
static inline V vload(const float *p) { return _mm512_loadu_ps(p); }
static inline void vstore(float *p, V v) { _mm512_storeu_ps(p, v); }
static inline M tailmask(size_t cnt) { return (M)((1u << cnt) - 1u); } /* cnt in [0, W] */
/* Lanes [0, cnt) from p, the others fill (never reads outside [p, p + cnt)). */
static inline V vloadm(const float *p, size_t cnt, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tailmask(cnt), p);
}
static inline void vstorem(float *p, V v, size_t cnt) { _mm512_mask_storeu_ps(p, tailmask(cnt), v); }
static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
/* a > b ? a : b (NaN b kept, NaN a dropped) = smx_maxf(a, b) */
static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
/* a < b ? a : b */
static inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
static inline V vxor(V a, V b) { return _mm512_xor_ps(a, b); }
static inline V vand(V a, V b) { return _mm512_and_ps(a, b); }
static inline V vor(V a, V b) { return _mm512_or_ps(a, b); }
static inline V vandn(V a, V b) { return _mm512_andnot_ps(a, b); } /* ~a & b */
/* bits(p) + (bits(t) << 23) in integer arithmetic */
static inline V vscale(V p, V t) {
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}
/* m ? bits(p) + (bits(t) << 23) : +0 */
static inline V vscale0(M m, V p, V t) {
  return _mm512_castsi512_ps(_mm512_maskz_add_epi32(m, _mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}
/* The 64-lane trees below the vector level (the levels h = W/2 .. 1 of smx_tree_max64 and
   h = W/4 .. 1 of smx_tree_sum64), in the same order as the scalar loops. */
static inline float hmax_v(V v) {
  __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  b = _mm_max_ss(b, _mm_shuffle_ps(b, b, 1));
  return _mm_cvtss_f32(b);
}
typedef __m512d DV; /* W / 2 double lanes */
static inline void cvt_pd(V v, DV *lo, DV *hi) {
  *lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  *hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
}
static inline DV dadd(DV a, DV b) { return _mm512_add_pd(a, b); }
static inline double hsum_dv(DV v) {
  __m256d a = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  b = _mm_add_sd(b, _mm_unpackhi_pd(b, b));
  return _mm_cvtsd_f64(b);
}
static inline M cmp_ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline M cmp_gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline M cmp_eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline M cmp_neq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); } /* C's != */
static inline M cmp_unord(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
/* signed bits(t) >= k: the keep test of smx_exp_shift */
static inline M cmp_bits_ge(V t, int32_t k) { return _mm512_cmpge_epi32_mask(_mm512_castps_si512(t), _mm512_set1_epi32(k)); }
/* Pass 1: e = the kept smx_exp_shift value or +0 (stored to ys if given), acc + (x != m ? e : +0)
   (adding +0 leaves a lane sum unchanged: it is +0 or positive). ties 0: no entry equals m; 1: x != m
   on the bits (equal to the float compare for m != +-0), 2: as floats; the non-ties are counted in kc.
   The keep mask goes into the integer add, not the float add: a masked float add competes with the
   exp's FMAs for the same pipes on Zen 4 (logsumexp 4-6% faster). */
#define P1_COUNTS_TIES 0
static inline V p1_accum(V acc, V x, V m, V t, V p, const int ties, VI *kc, float *ys) {
  V e = vscale0(cmp_bits_ge(t, SMX_KEEP_SUM), p, t);
  if (ys) _mm512_storeu_ps(ys, e);
  if (!ties) return _mm512_add_ps(acc, e);
  M nt = ties == 1 ? _mm512_cmpneq_epi32_mask(_mm512_castps_si512(x), _mm512_castps_si512(m)) : _mm512_cmp_ps_mask(x, m, _CMP_NEQ_UQ);
  *kc = _mm512_mask_add_epi32(*kc, nt, *kc, _mm512_set1_epi32(1));
  return _mm512_mask_add_ps(acc, nt, acc, e);
}
static inline M mzero(void) { return 0; }
static inline M mor(M a, M b) { return (M)(a | b); }
static inline M mandn(M a, M b) { return (M)(~a & b); }
static inline int many(M a) { return a != 0; }
static inline V vsel(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); } /* m ? a : b */
static inline V vsel0(M m, V a) { return _mm512_maskz_mov_ps(m, a); }        /* m ? a : +0 */
/* acc + (m ? v : nothing): the masked lanes keep acc (the body only uses this where
   adding +0 would leave acc unchanged, so it equals the scalar acc + (m ? v : 0)). */
static inline V vadd_if(V acc, M m, V v) { return _mm512_mask_add_ps(acc, m, acc, v); }
static inline VI icount_init(void) { return _mm512_setzero_si512(); }
static inline VI icount_add(VI c, M m) { return _mm512_mask_add_epi32(c, m, c, _mm512_set1_epi32(1)); }
static inline int64_t icount_sum(VI c) { return _mm512_reduce_add_epi32(c); }

/* 16 double lanes (element j -> lane j % 16) for the label-smoothing sum of w_j z_j; a float
   vector at a row offset multiple of 16 covers lanes 0..15. */
typedef struct { __m512d a, b; } DL;
static inline void dl_init(DL *l) { l->a = _mm512_setzero_pd(), l->b = _mm512_setzero_pd(); }
/* l[j % 16] += w == 0 ? 0 : (double)w (double)z for the vector at offset o (multiple of W) */
static inline void dl_add(DL *l, size_t o, V z, V w) {
  (void)o;
  M nz = _mm512_cmp_ps_mask(w, _mm512_setzero_ps(), _CMP_NEQ_UQ);
  __m512d zl = _mm512_cvtps_pd(_mm512_castps512_ps256(z)), zh = _mm512_cvtps_pd(_mm512_extractf32x8_ps(z, 1));
  __m512d wl = _mm512_cvtps_pd(_mm512_castps512_ps256(w)), wh = _mm512_cvtps_pd(_mm512_extractf32x8_ps(w, 1));
  l->a = _mm512_mask_add_pd(l->a, (__mmask8)nz, l->a, _mm512_mul_pd(wl, zl));
  l->b = _mm512_mask_add_pd(l->b, (__mmask8)(nz >> 8), l->b, _mm512_mul_pd(wh, zh));
}
static inline void dl_store(const DL *l, double *out) { _mm512_storeu_pd(out, l->a), _mm512_storeu_pd(out + 8, l->b); }
#include "../x86/softmax_body.h"
