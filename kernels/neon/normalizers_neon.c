/* NEON stablemax, log-stablemax, sparsemax and their backward passes.
   Bit-identical to kernels/scalar/normalizers_scalar.c: the 16 double lanes are 8 float64x2
   accumulators (element i -> vector (i / 2) % 8, lane i % 2), the 64 float lanes 16 float32x4;
   lanes are stored and combined by the shared trees; tails in scalar code on the stored lanes.
   Per-row work (tau, special rows, tiny rows) goes through the shared scalar helpers. */
#include <float.h>

#include "neon_common.h"

/* smx_row_max_scalar: 64 lanes over the whole row (1024 is a multiple of 64). */
float smx_row_max_neon(size_t n, const float *x, int *nan) {
  float lm[SMX_LANES];
  const size_t n64 = n & ~(size_t)(SMX_LANES - 1);
  float32x4_t acc[SMX_NV];
  uint32x4_t nv[4];
  SMX_UNROLL
  for (int j = 0; j < SMX_NV; j++) acc[j] = vdupq_n_f32(-INFINITY);
  for (int j = 0; j < 4; j++) nv[j] = vdupq_n_u32(0);
  for (size_t i = 0; i < n64; i += SMX_LANES) {
    SMX_UNROLL
    for (int j = 0; j < SMX_NV; j++) {
      float32x4_t v = vld1q_f32(x + i + 4 * j);
      acc[j] = smx_v_maxf(v, acc[j]);
      nv[j & 3] = vorrq_u32(nv[j & 3], smx_v_isnan(v));
    }
  }
  store_lanes(lm, acc);
  int any = smx_v_any(vorrq_u32(vorrq_u32(nv[0], nv[1]), vorrq_u32(nv[2], nv[3])));
  for (size_t i = n64; i < n; i++) {
    lm[i % SMX_LANES] = smx_maxf(x[i], lm[i % SMX_LANES]);
    any |= x[i] != x[i];
  }
  *nan = any;
  return smx_tree_max64(lm);
}

/* ---- stablemax ---- */

/* smx_stable_s64 on two lanes */
static inline float64x2_t v_stable_s64(float64x2_t xd) {
  const float64x2_t one = vdupq_n_f64(1.0);
  return vbslq_f64(vcgeq_f64(xd, vdupq_n_f64(0.0)), vaddq_f64(xd, one), vdivq_f64(one, vsubq_f64(one, xd)));
}

static double stable_sum(size_t n, const float *x) {
  double l[SMX_DLANES];
  const size_t n16 = n & ~(size_t)(SMX_DLANES - 1);
  float64x2_t acc[SMX_NDV];
  for (int j = 0; j < SMX_NDV; j++) acc[j] = vdupq_n_f64(0.0);
  for (size_t i = 0; i < n16; i += SMX_DLANES) {
    SMX_UNROLL
    for (int q = 0; q < 4; q++) {
      float32x4_t s = v_stable_s(vld1q_f32(x + i + 4 * q));
      acc[2 * q] = vaddq_f64(acc[2 * q], smx_v_lo64(s));
      acc[2 * q + 1] = vaddq_f64(acc[2 * q + 1], smx_v_hi64(s));
    }
  }
  for (int j = 0; j < SMX_NDV; j++) vst1q_f64(l + 2 * j, acc[j]);
  for (size_t i = n16; i < n; i++) l[i % SMX_DLANES] += (double)smx_stable_s(x[i]);
  return smx_tree_sum16d(l);
}


static void stablemax_neon(size_t n, const float *x, float *y) {
  const double S = stable_sum(n, x);
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) {
    smx_stablemax_rare_row(n, x, y);
    return;
  }
  float c, den;
  smx_stable_scale(S, &c, &den);
  const float32x4_t vc = vdupq_n_f32(c), vden = vdupq_n_f32(den);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    vst1q_f32(y + i, v_stable_p(a, vc, vden));
    vst1q_f32(y + i + 4, v_stable_p(b, vc, vden));
  }
  for (; i < n; i++) y[i] = smx_stable_p(x[i], c, den);
}

/* smx_log64 for two lanes that are positive normal doubles (the caller checks; others go to the scalar). */
static inline float64x2_t v_log64(float64x2_t x) {
  static const double LN2_HI = 0x1.62e42fee00000p-1, LN2_LO = 0x1.a39ef35793c76p-33;
  const uint64x2_t u = vreinterpretq_u64_f64(x);
  int64x2_t k = vsubq_s64(vreinterpretq_s64_u64(vandq_u64(vshrq_n_u64(u, 52), vdupq_n_u64(0x7ff))), vdupq_n_s64(1023));
  float64x2_t m = vreinterpretq_f64_u64(
      vorrq_u64(vandq_u64(u, vdupq_n_u64(0x000fffffffffffffull)), vdupq_n_u64(0x3ff0000000000000ull)));
  const uint64x2_t big = vcgtq_f64(m, vdupq_n_f64(0x1.6a09e667f3bcdp0));
  m = vbslq_f64(big, vmulq_f64(m, vdupq_n_f64(0.5)), m);
  k = vsubq_s64(k, vreinterpretq_s64_u64(big)); /* big = all ones = -1 */
  const float64x2_t f = vdivq_f64(vsubq_f64(m, vdupq_n_f64(1.0)), vaddq_f64(m, vdupq_n_f64(1.0)));
  const float64x2_t s = vmulq_f64(f, f); /* smx_log64's poly13, in the same order */
  const double *c = SMX_LOG_C;
  const float64x2_t s2 = vmulq_f64(s, s), s4 = vmulq_f64(s2, s2), s8 = vmulq_f64(s4, s4);
  float64x2_t a[6];
  for (int i = 0; i < 6; i++) a[i] = vaddq_f64(vdupq_n_f64(c[2 * i]), vmulq_f64(vdupq_n_f64(c[2 * i + 1]), s));
  const float64x2_t b0 = vaddq_f64(a[0], vmulq_f64(a[1], s2)), b1 = vaddq_f64(a[2], vmulq_f64(a[3], s2));
  const float64x2_t b2 = vaddq_f64(a[4], vmulq_f64(a[5], s2));
  const float64x2_t q = vaddq_f64(vaddq_f64(b0, vmulq_f64(b1, s4)), vmulq_f64(vaddq_f64(b2, vmulq_f64(vdupq_n_f64(c[12]), s4)), s8));
  const float64x2_t p = vaddq_f64(vdupq_n_f64(2.0), vmulq_f64(s, q));
  const float64x2_t kd = vcvtq_f64_s64(k);
  return vaddq_f64(vmulq_f64(kd, vdupq_n_f64(LN2_HI)), vaddq_f64(vmulq_f64(f, p), vmulq_f64(kd, vdupq_n_f64(LN2_LO))));
}

/* (float)smx_log64(smx_stable_s64(x) / S) for two lanes */
static inline float32x2_t v_log_stable(float64x2_t xd, float64x2_t vS) {
  const float64x2_t r = vdivq_f64(v_stable_s64(xd), vS);
  const uint64x2_t ok = vandq_u64(vcgeq_f64(r, vdupq_n_f64(DBL_MIN)), vcltq_f64(r, vdupq_n_f64(INFINITY)));
  if (vminvq_u32(vreinterpretq_u32_u64(ok)) == 0xffffffffu) return vcvt_f32_f64(v_log64(r));
  double rr[2];
  vst1q_f64(rr, r);
  float o[2] = {(float)smx_log64(rr[0]), (float)smx_log64(rr[1])};
  return vld1_f32(o);
}

static void log_stablemax_neon(size_t n, const float *x, float *y) {
  int nan;
  const float m = smx_row_max_neon(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 1);
    return;
  }
  double l[SMX_DLANES];
  const size_t n16 = n & ~(size_t)(SMX_DLANES - 1);
  const float32x4_t vm = vdupq_n_f32(m);
  const float64x2_t md = vdupq_n_f64((double)m);
  float64x2_t acc[SMX_NDV];
  uint32x4_t kc = vdupq_n_u32(0);
  for (int j = 0; j < SMX_NDV; j++) acc[j] = vdupq_n_f64(0.0);
  for (size_t i = 0; i < n16; i += SMX_DLANES) {
    SMX_UNROLL
    for (int q = 0; q < 4; q++) {
      float32x4_t v = vld1q_f32(x + i + 4 * q);
      kc = vsubq_u32(kc, vceqq_f32(v, vm));
      float64x2_t a = smx_v_lo64(v), b = smx_v_hi64(v);
      float64x2_t sa = vreinterpretq_f64_u64(vbicq_u64(vreinterpretq_u64_f64(v_stable_s64(a)), vceqq_f64(a, md)));
      float64x2_t sb = vreinterpretq_f64_u64(vbicq_u64(vreinterpretq_u64_f64(v_stable_s64(b)), vceqq_f64(b, md)));
      acc[2 * q] = vaddq_f64(acc[2 * q], sa);
      acc[2 * q + 1] = vaddq_f64(acc[2 * q + 1], sb);
    }
  }
  for (int j = 0; j < SMX_NDV; j++) vst1q_f64(l + 2 * j, acc[j]);
  double K = (double)vaddvq_u32(kc);
  for (size_t i = n16; i < n; i++) {
    int tie = x[i] == m;
    K += tie;
    l[i % SMX_DLANES] += tie ? 0.0 : smx_stable_s64(x[i]);
  }
  double O = smx_tree_sum16d(l), sm = smx_stable_s64(m), S = K * sm + O;
  float top = (float)-(smx_log64(K) + smx_log1p64(O / (K * sm)));
  const float32x4_t vtop = vdupq_n_f32(top);
  const float64x2_t vS = vdupq_n_f64(S);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t v = vld1q_f32(x + i);
    float32x4_t r = vcombine_f32(v_log_stable(smx_v_lo64(v), vS), v_log_stable(smx_v_hi64(v), vS));
    vst1q_f32(y + i, vbslq_f32(vceqq_f32(v, vm), vtop, r));
  }
  for (; i < n; i++) y[i] = x[i] == m ? top : (float)smx_log64(smx_stable_s64(x[i]) / S);
}

static void stablemax_backward_neon(size_t n, const float *x, const float *y, const float *dy, float *dx) {
  const float dot = (float)smx_blocked_dot_neon(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const float32x4_t vd = vdupq_n_f32(dot), one = vdupq_n_f32(1.0f), ninf = vdupq_n_f32(-INFINITY);
  uint32x4_t nanv = vdupq_n_u32(0), livev = vdupq_n_u32(0);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t xv = vld1q_f32(x + i);
    nanv = vorrq_u32(nanv, smx_v_isnan(xv));
    livev = vorrq_u32(livev, vmvnq_u32(vceqq_f32(xv, ninf)));
    float32x4_t g = vmulq_f32(vld1q_f32(y + i), vsubq_f32(vld1q_f32(dy + i), vd));
    vst1q_f32(dx + i, vdivq_f32(g, vaddq_f32(one, vabsq_f32(xv))));
  }
  int nan = smx_v_any(nanv), live = smx_v_any(livev);
  for (; i < n; i++) {
    nan |= x[i] != x[i];
    live |= x[i] != -INFINITY;
    dx[i] = (y[i] * (dy[i] - dot)) / (1.0f + fabsf(x[i]));
  }
  if (nan || !live) smx_fill(n, dx, nan ? smx_qnan() : 0.0f);
}

/* ---- sparsemax ---- */

static void sparsemax_neon(size_t n, const float *x, float *y) {
  int nan;
  const float m = smx_row_max_neon(n, x, &nan);
  enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) {
    smx_special_row(kind, n, x, y, 0);
    return;
  }
  float lo = smx_below_minus_one(m), buf[SMX_SPARSE_BUF];
  const float32x4_t vlo = vdupq_n_f32(lo);
  size_t nc = 0, k, i = 0;
  /* the candidates x > lo in index order; 16 entries at a time are skipped when none is a candidate */
  while (i < n && nc <= SMX_SPARSE_BUF) {
    if (i + 16 <= n) {
      uint32x4_t c = vorrq_u32(vorrq_u32(vcgtq_f32(vld1q_f32(x + i), vlo), vcgtq_f32(vld1q_f32(x + i + 4), vlo)),
                               vorrq_u32(vcgtq_f32(vld1q_f32(x + i + 8), vlo), vcgtq_f32(vld1q_f32(x + i + 12), vlo)));
      if (!smx_v_any(c)) {
        i += 16;
        continue;
      }
      for (size_t e = i + 16; i < e && nc <= SMX_SPARSE_BUF; i++)
        if (x[i] > lo) {
          if (nc < SMX_SPARSE_BUF) buf[nc] = x[i];
          nc++;
        }
    } else {
      if (x[i] > lo) {
        if (nc < SMX_SPARSE_BUF) buf[nc] = x[i];
        nc++;
      }
      i++;
    }
  }
  const double tau = nc <= SMX_SPARSE_BUF ? smx_sparsemax_tau(buf, nc, lo, m, 0.0f, &k)
                                          : smx_sparsemax_tau(x, n, lo, m, 0.0f, &k);
  const float64x2_t md = vdupq_n_f64((double)m), vt = vdupq_n_f64(tau);
  for (i = 0; i + 8 <= n; i += 8) {
    float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    vst1q_f32(y + i, v_sparse_p(a, md, vt));
    vst1q_f32(y + i + 4, v_sparse_p(b, md, vt));
  }
  for (; i < n; i++) y[i] = smx_sparse_p(x[i], m, tau);
}

static void sparsemax_backward_neon(size_t n, const float *y, const float *dy, float *dx) {
  double sum = 0.0, k = 0.0;
  float l[SMX_LANES];
  const float32x4_t zero = vdupq_n_f32(0.0f);
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, n64 = len & ~(size_t)(SMX_LANES - 1);
    const float *yo = y + o, *dyo = dy + o;
    float32x4_t acc[SMX_NV];
    uint32x4_t kc[4];
    SMX_UNROLL
    for (int j = 0; j < SMX_NV; j++) acc[j] = zero;
    for (int j = 0; j < 4; j++) kc[j] = vdupq_n_u32(0);
    for (size_t i = 0; i < n64; i += SMX_LANES) {
      SMX_UNROLL
      for (int j = 0; j < SMX_NV; j++) {
        uint32x4_t in = vcgtq_f32(vld1q_f32(yo + i + 4 * j), zero);
        kc[j & 3] = vsubq_u32(kc[j & 3], in);
        float32x4_t d = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vld1q_f32(dyo + i + 4 * j)), in));
        acc[j] = vaddq_f32(acc[j], d);
      }
    }
    store_lanes(l, acc);
    k += (double)vaddvq_u32(vaddq_u32(vaddq_u32(kc[0], kc[1]), vaddq_u32(kc[2], kc[3])));
    for (size_t i = n64; i < len; i++) {
      int in = yo[i] > 0.0f;
      k += in;
      l[i % SMX_LANES] += in ? dyo[i] : 0.0f;
    }
    sum += smx_tree_sum64(l);
  }
  const float v = k > 0.0 ? (float)(sum / k) : 0.0f;
  const float32x4_t vv = vdupq_n_f32(v);
  uint32x4_t nanv = vdupq_n_u32(0);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t yv = vld1q_f32(y + i), dv = vld1q_f32(dy + i);
    nanv = vorrq_u32(nanv, vorrq_u32(smx_v_isnan(yv), smx_v_isnan(dv)));
    float32x4_t r = vsubq_f32(dv, vv);
    vst1q_f32(dx + i, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(r), vcgtq_f32(yv, zero))));
  }
  int nan = smx_v_any(nanv);
  for (; i < n; i++) {
    nan |= (y[i] != y[i]) | (dy[i] != dy[i]);
    dx[i] = y[i] > 0.0f ? dy[i] - v : 0.0f;
  }
  if (nan) smx_fill(n, dx, smx_qnan());
}

void smx_kernels_neon_normalizers(smx_kernels *k) {
  k->stablemax = stablemax_neon;
  k->log_stablemax = log_stablemax_neon;
  k->stablemax_backward = stablemax_backward_neon;
  k->sparsemax = sparsemax_neon;
  k->sparsemax_backward = sparsemax_backward_neon;
}
