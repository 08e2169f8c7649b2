/* avx2 softmax family and softmax cross-entropy: bit-identical to kernels/scalar/softmax_scalar.c
   and xent_softmax_scalar (kernels/scalar/xent_scalar.c). The 64 virtual lanes are 8 ymm x 8:
   element i of a block goes to accumulator (i / 8) % 8, position i % 8. */
#include <immintrin.h>

#include "smx_internal.h"

/* ---- ISA layer: the body below only uses these ---- */
#define W 8    /* floats per vector */
#define NACC 8 /* 64 lanes / W */
#define ISA_NAME avx2
typedef __m256 V;
typedef __m256 M; /* a lane predicate: all ones / all zeros per lane */
typedef __m256i VI;

static const int32_t smx_tail_tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline V vset(float f) { return _mm256_set1_ps(f); }
static inline V vzero(void) { return _mm256_setzero_ps(); }
static inline V vload(const float *p) { return _mm256_loadu_ps(p); }
static inline void vstore(float *p, V v) { _mm256_storeu_ps(p, v); }
static inline __m256i tailmask(size_t cnt) { return _mm256_loadu_si256((const __m256i *)(smx_tail_tbl + 8 - cnt)); }
/* Lanes [0, cnt) from p, the others fill (maskload never touches the masked-out addresses). */
static inline V vloadm(const float *p, size_t cnt, float fill) {
  __m256i m = tailmask(cnt);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline void vstorem(float *p, V v, size_t cnt) { _mm256_maskstore_ps(p, tailmask(cnt), v); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
/* a > b ? a : b (NaN b kept, NaN a dropped) = smx_maxf(a, b) */
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
/* a < b ? a : b */
static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
static inline V vxor(V a, V b) { return _mm256_xor_ps(a, b); }
static inline V vand(V a, V b) { return _mm256_and_ps(a, b); }
static inline V vor(V a, V b) { return _mm256_or_ps(a, b); }
static inline V vandn(V a, V b) { return _mm256_andnot_ps(a, b); } /* ~a & b */
/* bits(p) + (bits(t) << 23) in integer arithmetic */
static inline V vscale(V p, V t) {
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_castps_si256(t), 23)));
}
/* m ? bits(p) + (bits(t) << 23) : +0 */
static inline V vscale0(M m, V p, V t) { return _mm256_and_ps(m, vscale(p, t)); }
/* The 64-lane trees below the vector level (the levels h = W/2 .. 1 of smx_tree_max64 and
   h = W/4 .. 1 of smx_tree_sum64), in the same order as the scalar loops. */
static inline float hmax_v(V v) {
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  b = _mm_max_ss(b, _mm_shuffle_ps(b, b, 1));
  return _mm_cvtss_f32(b);
}
typedef __m256d DV; /* W / 2 double lanes */
static inline void cvt_pd(V v, DV *lo, DV *hi) {
  *lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  *hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}
static inline DV dadd(DV a, DV b) { return _mm256_add_pd(a, b); }
static inline double hsum_dv(DV v) {
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  b = _mm_add_sd(b, _mm_unpackhi_pd(b, b));
  return _mm_cvtsd_f64(b);
}
static inline M cmp_ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
static inline M cmp_gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline M cmp_eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline M cmp_neq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); } /* C's != */
static inline M cmp_unord(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
/* signed bits(t) >= k: the keep test of smx_exp_shift */
static inline M cmp_bits_ge(V t, int32_t k) {
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(k - 1)));
}
/* Pass 1: e = the kept smx_exp_shift value (stored to ys if given), acc + (x != m ? e : +0) (adding +0
   leaves a lane sum unchanged: it is +0 or positive). ties 0: no entry equals m; 1: x == m on the bits
   (equal to the float compare for m != +-0; m is never NaN), 2: as floats; the ties are counted in kc. */
#define P1_COUNTS_TIES 1
static inline V p1_accum(V acc, V x, V m, V t, V p, const int ties, VI *kc, float *ys) {
  V e = _mm256_and_ps(cmp_bits_ge(t, SMX_KEEP_SUM), vscale(p, t));
  if (ys) _mm256_storeu_ps(ys, e);
  if (!ties) return _mm256_add_ps(acc, e);
  M tie = ties == 1 ? _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_castps_si256(x), _mm256_castps_si256(m))) : _mm256_cmp_ps(x, m, _CMP_EQ_OQ);
  *kc = _mm256_sub_epi32(*kc, _mm256_castps_si256(tie));
  return _mm256_add_ps(acc, _mm256_andnot_ps(tie, e));
}
static inline M mzero(void) { return _mm256_setzero_ps(); }
static inline M mor(M a, M b) { return _mm256_or_ps(a, b); }
static inline M mandn(M a, M b) { return _mm256_andnot_ps(a, b); }
static inline int many(M a) { return _mm256_movemask_ps(a) != 0; }
static inline V vsel(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); } /* m ? a : b */
static inline V vsel0(M m, V a) { return _mm256_and_ps(m, a); }          /* m ? a : +0 */
/* acc + (m ? v : +0): the body only uses this where adding +0 leaves acc unchanged, so it equals
   the scalar acc + (m ? v : 0). */
static inline V vadd_if(V acc, M m, V v) { return _mm256_add_ps(acc, _mm256_and_ps(m, v)); }
static inline VI icount_init(void) { return _mm256_setzero_si256(); }
static inline VI icount_add(VI c, M m) { return _mm256_sub_epi32(c, _mm256_castps_si256(m)); }
static inline int64_t icount_sum(VI c) {
  int32_t t[8];
  _mm256_storeu_si256((__m256i *)t, c);
  return (int64_t)t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

/* 16 double lanes (element j -> lane j % 16) for the label-smoothing sum of w_j z_j: a float
   vector at row offset o (a multiple of 8) covers lanes (o % 16) .. (o % 16) + 7. */
typedef struct { __m256d l[4]; } DL;
static inline void dl_init(DL *l) { for (int i = 0; i < 4; i++) l->l[i] = _mm256_setzero_pd(); }
/* l[j % 16] += w == 0 ? 0 : (double)w (double)z; l is never -0, so adding +0 is the identity */
static inline void dl_add(DL *l, size_t o, V z, V w) {
  __m256 nz = _mm256_cmp_ps(w, _mm256_setzero_ps(), _CMP_NEQ_UQ);
  __m256d zl = _mm256_cvtps_pd(_mm256_castps256_ps128(z)), zh = _mm256_cvtps_pd(_mm256_extractf128_ps(z, 1));
  __m256d wl = _mm256_cvtps_pd(_mm256_castps256_ps128(w)), wh = _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1));
  __m256d ml = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_castps_si128(_mm256_castps256_ps128(nz))));
  __m256d mh = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_castps_si128(_mm256_extractf128_ps(nz, 1))));
  int h = (o % 16) ? 2 : 0;
  l->l[h] = _mm256_add_pd(l->l[h], _mm256_and_pd(ml, _mm256_mul_pd(wl, zl)));
  l->l[h + 1] = _mm256_add_pd(l->l[h + 1], _mm256_and_pd(mh, _mm256_mul_pd(wh, zh)));
}
static inline void dl_store(const DL *l, double *out) {
  for (int i = 0; i < 4; i++) _mm256_storeu_pd(out + 4 * i, l->l[i]);
}
#include "../x86/softmax_body.h"
