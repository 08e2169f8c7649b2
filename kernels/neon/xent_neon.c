/* NEON fused cross-entropy for the three normalizers, bit-identical to kernels/scalar/xent_scalar.c.
   The per-element passes (softcap, block statistics, lane sums, gradient) are vectorized; rows
   the scalar kernel treats specially (NaN, +inf, all -inf, stablemax tiny sums, softmax gradients
   of rows outside the shifted range) are handed to the scalar entry before anything is written. */
#include "neon_common.h"

typedef double (*xent_fn)(size_t n, const float *x, const smx_xent_row *row, float *dx);
static xent_fn ref_softmax, ref_stablemax, ref_sparsemax;

/* smx_softcap on four lanes: z, and *dz = dz/dx */
static inline float32x4_t v_softcap(float32x4_t x, float32x4_t cap, float32x4_t inv_cap, float32x4_t *dz) {
  const float32x4_t u = vmulq_f32(x, inv_cap);
  const float32x4_t a = vabsq_f32(u);
  const float32x4_t c43 = vdupq_n_f32(43.0f);
  const uint32x4_t over = vcgtq_f32(a, c43);
  const float32x4_t ac = vbslq_f32(over, c43, a);
  const float32x4_t v = vmulq_f32(vdupq_n_f32(-2.0f), ac);
  /* smx_expm1_neg */
  const float32x4_t t = vfmaq_f32(vdupq_n_f32(SMX_MAGIC), v, vdupq_n_f32(SMX_LOG2E));
  const float32x4_t nf = vsubq_f32(t, vdupq_n_f32(SMX_MAGIC));
  float32x4_t r = vfmaq_f32(v, nf, vdupq_n_f32(-SMX_LN2_HI));
  r = vfmaq_f32(r, nf, vdupq_n_f32(-SMX_LN2_LO));
  float32x4_t p = vdupq_n_f32(SMX_EXP_C6);
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C5), p, r);
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C4), p, r);
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C3), p, r);
  p = vfmaq_f32(vdupq_n_f32(SMX_EXP_C2), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  const float32x4_t rq = vmulq_f32(p, r);
  const float32x4_t sc =
      vreinterpretq_f32_u32(vaddq_u32(vdupq_n_u32(0x3f800000u), vshlq_n_u32(vreinterpretq_u32_f32(t), 23)));
  const float32x4_t E = vfmaq_f32(sc, rq, sc);
  const float32x4_t e = vfmaq_f32(vsubq_f32(sc, vdupq_n_f32(1.0f)), rq, sc);
  const float32x4_t q = vaddq_f32(vdupq_n_f32(2.0f), e);
  float32x4_t th = vdivq_f32(vnegq_f32(e), q);
  th = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(th),
                                       vandq_u32(vreinterpretq_u32_f32(u), vdupq_n_u32(0x80000000u))));
  const float32x4_t d = vdivq_f32(vmulq_f32(vdupq_n_f32(4.0f), E), vmulq_f32(q, q));
  *dz = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(d), over));
  return vmulq_f32(cap, th);
}

/* sum_j w_j z_j lanes (add_wz): element j -> double lane j % 16; j0 is a multiple of 4. */
static inline void wz_add(float64x2_t *acc, size_t j0, float32x4_t z, float32x4_t w) {
  const size_t v = (j0 / 2) % SMX_NDV;
  const uint32x4_t w0 = vceqq_f32(w, vdupq_n_f32(0.0f));
  const float64x2_t pl = vmulq_f64(smx_v_lo64(w), smx_v_lo64(z)), ph = vmulq_f64(smx_v_hi64(w), smx_v_hi64(z));
  const uint64x2_t ml = vreinterpretq_u64_s64(vmovl_s32(vreinterpret_s32_u32(vget_low_u32(w0))));
  const uint64x2_t mh = vreinterpretq_u64_s64(vmovl_high_s32(vreinterpretq_s32_u32(w0)));
  acc[v] = vaddq_f64(acc[v], vreinterpretq_f64_u64(vbicq_u64(vreinterpretq_u64_f64(pl), ml)));
  acc[v + 1] = vaddq_f64(acc[v + 1], vreinterpretq_f64_u64(vbicq_u64(vreinterpretq_u64_f64(ph), mh)));
}

/* ---- softmax ---- */
static double xent_softmax_neon(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const float32x4_t vcap = vdupq_n_f32(row->softcap), vinv = vdupq_n_f32(inv_cap), one = vdupq_n_f32(1.0f);
  float buf[SMX_BLOCK], dz;
  double wzl[SMX_DLANES];
  float64x2_t wz[SMX_NDV];
  for (int j = 0; j < SMX_NDV; j++) wz[j] = vdupq_n_f64(0.0);
  smx_lse s;
  smx_lse_init(&s);
  for (size_t b = 0; b < n; b += SMX_BLOCK) {
    const size_t len = n - b < SMX_BLOCK ? n - b : SMX_BLOCK, l4 = len & ~(size_t)3;
    const float *z = x + b;
    if (capped) {
      float32x4_t d;
      for (size_t i = 0; i < l4; i += 4) vst1q_f32(buf + i, v_softcap(vld1q_f32(x + b + i), vcap, vinv, &d));
      for (size_t i = l4; i < len; i++) buf[i] = smx_softcap(x[b + i], row->softcap, inv_cap, &dz);
      z = buf;
    }
    if (eps > 0.0f) {
      for (size_t i = 0; i < l4; i += 4) wz_add(wz, b + i, vld1q_f32(z + i), cw ? vld1q_f32(cw + b + i) : one);
      if (l4 < len) {
        for (int j = 0; j < SMX_NDV; j++) vst1q_f64(wzl + 2 * j, wz[j]);
        for (size_t i = l4; i < len; i++) {
          float w = cw ? cw[b + i] : 1.0f;
          wzl[(b + i) % SMX_DLANES] += w == 0.0f ? 0.0 : (double)w * (double)z[i];
        }
        for (int j = 0; j < SMX_NDV; j++) wz[j] = vld1q_f64(wzl + 2 * j);
      }
    }
    smx_lse_block_neon(z, len, &s);
  }
  smx_lse_final f;
  smx_lse_finish(&s, &f, 1);
  /* non-finite rows, and gradients of rows outside the shifted range (|max| > SMX_SHIFT_MAX) */
  if (f.kind != SMX_ROW_FINITE || (dx && !f.shifted)) return ref_softmax(n, x, row, dx);
  const float zt = capped ? smx_softcap(x[t], row->softcap, inv_cap, &dz) : x[t];
  const double wt = cw ? cw[t] : 1.0, g = row->grad_coef;
  double sum_wz = 0.0;
  if (eps > 0.0f) {
    for (int j = 0; j < SMX_NDV; j++) vst1q_f64(wzl + 2 * j, wz[j]);
    sum_wz = smx_tree_sum16d(wzl);
  }
  double loss, A, gt;
  smx_xent_softmax_terms(n, &f, zt, wt, sum_wz, row, &loss, &A, &gt);
  if (!dx) return loss;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  const float dzt = capped ? (smx_softcap(x[t], row->softcap, inv_cap, &dz), dz) : 1.0f;
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  const smx_v_out vo = smx_v_out_init(&o);
  const float32x4_t va = vdupq_n_f32(Af), vb = vdupq_n_f32(Bf);
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    float32x4_t xv = vld1q_f32(x + j), dzv = one;
    float32x4_t zv = capped ? v_softcap(xv, vcap, vinv, &dzv) : xv;
    float32x4_t bv = cw ? vmulq_f32(vb, vld1q_f32(cw + j)) : vb;
    float32x4_t r = vmulq_f32(vfmaq_f32(vnegq_f32(bv), va, smx_v_softmax_one(zv, &vo)), dzv);
    vst1q_f32(dx + j, r);
  }
  for (; j < n; j++) {
    float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : (dz = 1.0f, x[j]);
    float b = cw ? Bf * cw[j] : Bf;
    dx[j] = fmaf(Af, smx_softmax_one(z, &o), -b) * dz;
  }
  dx[t] = (float)(g * gt) * dzt;
  return loss;
}

/* ---- stablemax ---- */
static double xent_stablemax_neon(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float *cw = row->class_weight;
  const float32x4_t vcap = vdupq_n_f32(row->softcap), vinv = vdupq_n_f32(inv_cap), one = vdupq_n_f32(1.0f);
  double lo[SMX_DLANES], lw[SMX_DLANES] = {0};
  float dz;
  float64x2_t acc[SMX_NDV];
  for (int j = 0; j < SMX_NDV; j++) acc[j] = vdupq_n_f64(0.0);
  const size_t n4 = n & ~(size_t)3;
  for (size_t j = 0; j < n4; j += 4) {
    float32x4_t d, z = vld1q_f32(x + j);
    if (capped) z = v_softcap(z, vcap, vinv, &d);
    float32x4_t s = v_stable_s(z);
    if (t - j < 4) { /* j == t adds 0.0 */
      uint32_t m[4] = {0, 0, 0, 0};
      m[t - j] = 0xffffffffu;
      s = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(s), vld1q_u32(m)));
    }
    const size_t v = (j / 2) % SMX_NDV;
    acc[v] = vaddq_f64(acc[v], smx_v_lo64(s));
    acc[v + 1] = vaddq_f64(acc[v + 1], smx_v_hi64(s));
  }
  for (int j = 0; j < SMX_NDV; j++) vst1q_f64(lo + 2 * j, acc[j]);
  for (size_t j = n4; j < n; j++) {
    float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : x[j];
    lo[j % SMX_DLANES] += j == t ? 0.0 : (double)smx_stable_s(z);
  }
  const float zt = capped ? smx_softcap(x[t], row->softcap, inv_cap, &dz) : (dz = 1.0f, x[t]), dzt = dz;
  const double O = smx_tree_sum16d(lo), st = smx_stable_s64(zt), S = O + st;
  /* NaN, +inf, all -inf and tiny-sum rows: the scalar kernel (nothing written yet) */
  if (!(S >= SMX_STABLE_TINY && S < INFINITY)) return ref_stablemax(n, x, row, dx);
  const double wt = cw ? cw[t] : 1.0, W = row->weight_sum, g = row->grad_coef;
  double sum_wlog_s = 0.0;
  if (eps > 0.0f) {
    for (size_t j = 0; j < n; j++) {
      float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : x[j];
      float w = cw ? cw[j] : 1.0f;
      double ls = smx_log1p64((double)fabsf(z));
      lw[j % SMX_DLANES] += w == 0.0f ? 0.0 : (double)w * (z < 0.0f ? -ls : ls);
    }
    sum_wlog_s = smx_tree_sum16d(lw);
  }
  const double loss = smx_xent_stablemax_loss(n, zt, st, O, S, sum_wlog_s, wt, row);
  if (!dx) return loss;
  const double pt = st / S;
  const double A = (1.0 - eps) * wt + eps * W / (double)n;
  const float Af = (float)(g * A), Bf = (float)(g * eps / (double)n);
  float c, den;
  smx_stable_scale(S, &c, &den);
  const float32x4_t vc = vdupq_n_f32(c), vden = vdupq_n_f32(den), va = vdupq_n_f32(Af), vb = vdupq_n_f32(Bf);
  for (size_t j = 0; j < n4; j += 4) {
    float32x4_t xv = vld1q_f32(x + j), dzv = one;
    float32x4_t z = capped ? v_softcap(xv, vcap, vinv, &dzv) : xv;
    float32x4_t bv = cw ? vmulq_f32(vb, vld1q_f32(cw + j)) : vb;
    float32x4_t r = vdivq_f32(vfmaq_f32(vnegq_f32(bv), va, v_stable_p(z, vc, vden)), vaddq_f32(one, vabsq_f32(z)));
    vst1q_f32(dx + j, vmulq_f32(r, dzv));
  }
  for (size_t j = n4; j < n; j++) {
    float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : (dz = 1.0f, x[j]);
    float b = cw ? Bf * cw[j] : Bf;
    dx[j] = (fmaf(Af, smx_stable_p(z, c, den), -b) / (1.0f + fabsf(z))) * dz;
  }
  const double pt_m1 = -O / S;
  const double gt = (1.0 - eps) * wt * pt_m1 + eps / (double)n * (W * pt - wt);
  dx[t] = ((float)(g * gt) / (1.0f + fabsf(zt))) * dzt;
  return loss;
}

/* ---- sparsemax ---- */
static double xent_sparsemax_neon(size_t n, const float *x, const smx_xent_row *row, float *dx) {
  const size_t t = (size_t)row->target;
  const float eps = row->label_smoothing, inv_cap = row->softcap > 0.0f ? 1.0f / row->softcap : 0.0f;
  const int capped = row->softcap > 0.0f;
  const float32x4_t vcap = vdupq_n_f32(row->softcap), vinv = vdupq_n_f32(inv_cap), one = vdupq_n_f32(1.0f);
  float lm[SMX_LANES], dz, buf[SMX_SPARSE_BUF];
  double lz[SMX_DLANES];
  float32x4_t mx[SMX_NV];
  float64x2_t zacc[SMX_NDV];
  uint32x4_t nanv = vdupq_n_u32(0);
  SMX_UNROLL
  for (int j = 0; j < SMX_NV; j++) mx[j] = vdupq_n_f32(-INFINITY);
  for (int j = 0; j < SMX_NDV; j++) zacc[j] = vdupq_n_f64(0.0);
  const size_t n64 = n & ~(size_t)(SMX_LANES - 1);
  for (size_t i = 0; i < n64; i += SMX_LANES) {
    SMX_UNROLL
    for (int j = 0; j < SMX_NV; j++) {
      float32x4_t d, z = vld1q_f32(x + i + 4 * j);
      if (capped) z = v_softcap(z, vcap, vinv, &d);
      mx[j] = smx_v_maxf(z, mx[j]);
      nanv = vorrq_u32(nanv, smx_v_isnan(z));
      if (eps > 0.0f) {
        zacc[(2 * j) % SMX_NDV] = vaddq_f64(zacc[(2 * j) % SMX_NDV], smx_v_lo64(z));
        zacc[(2 * j + 1) % SMX_NDV] = vaddq_f64(zacc[(2 * j + 1) % SMX_NDV], smx_v_hi64(z));
      }
    }
  }
  SMX_UNROLL
  for (int j = 0; j < SMX_NV; j++) vst1q_f32(lm + 4 * j, mx[j]);
  for (int j = 0; j < SMX_NDV; j++) vst1q_f64(lz + 2 * j, zacc[j]);
  int nan = smx_v_any(nanv);
  for (size_t j = n64; j < n; j++) {
    float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : x[j];
    lm[j % SMX_LANES] = smx_maxf(z, lm[j % SMX_LANES]);
    nan |= z != z;
    if (eps > 0.0f) lz[j % SMX_DLANES] += (double)z;
  }
  const float m = smx_tree_max64(lm);
  const enum smx_row_kind kind = smx_row_kind_of(m, nan);
  if (kind != SMX_ROW_FINITE) return ref_sparsemax(n, x, row, dx); /* nothing written yet */
  const float zt = capped ? smx_softcap(x[t], row->softcap, inv_cap, &dz) : (dz = 1.0f, x[t]), dzt = dz;
  const double wt = row->class_weight ? row->class_weight[t] : 1.0, G = row->grad_coef * wt, q_off = eps / (double)n;
  const double q_t = 1.0 - eps + q_off, qq = q_t * q_t + (double)(n - 1) * q_off * q_off;
  double loss, pt, tau;
  {
    const float lo = smx_below_minus_one(m);
    const float32x4_t vlo = vdupq_n_f32(lo);
    size_t nc = 0, j = 0;
    while (j < n && nc <= SMX_SPARSE_BUF) {
      if (j + 4 <= n) {
        float32x4_t d, z = vld1q_f32(x + j);
        if (capped) z = v_softcap(z, vcap, vinv, &d);
        uint32x4_t c = vcgtq_f32(z, vlo);
        if (smx_v_any(c)) {
          float zz[4];
          vst1q_f32(zz, z);
          for (int q = 0; q < 4 && nc <= SMX_SPARSE_BUF; q++)
            if (zz[q] > lo) {
              if (nc < SMX_SPARSE_BUF) buf[nc] = zz[q];
              nc++;
            }
        }
        j += 4;
      } else {
        float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : x[j];
        if (z > lo) {
          if (nc < SMX_SPARSE_BUF) buf[nc] = z;
          nc++;
        }
        j++;
      }
    }
    loss = smx_xent_sparsemax_loss(n, x, buf, nc, lo, m, zt, eps > 0.0f ? smx_tree_sum16d(lz) : 0.0, wt, qq, row, &pt, &tau);
  }
  if (!dx) return loss;
  const float Gf = (float)G, qf = (float)q_off;
  const float64x2_t md = vdupq_n_f64((double)m), vt = vdupq_n_f64(tau);
  const float32x4_t vq = vdupq_n_f32(qf), vG = vdupq_n_f32(Gf);
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    float32x4_t xv = vld1q_f32(x + j), dzv = one;
    float32x4_t z = capped ? v_softcap(xv, vcap, vinv, &dzv) : xv;
    vst1q_f32(dx + j, vmulq_f32(vmulq_f32(vsubq_f32(v_sparse_p(z, md, vt), vq), vG), dzv));
  }
  for (; j < n; j++) {
    float z = capped ? smx_softcap(x[j], row->softcap, inv_cap, &dz) : (dz = 1.0f, x[j]);
    dx[j] = ((smx_sparse_p(z, m, tau) - qf) * Gf) * dz;
  }
  dx[t] = (float)(G * (pt - q_t)) * dzt;
  return loss;
}

void smx_kernels_neon_xent(smx_kernels *k) {
  ref_softmax = k->xent[SMX_NORM_SOFTMAX];
  ref_stablemax = k->xent[SMX_NORM_STABLEMAX];
  ref_sparsemax = k->xent[SMX_NORM_SPARSEMAX];
  k->xent[SMX_NORM_SOFTMAX] = xent_softmax_neon;
  k->xent[SMX_NORM_STABLEMAX] = xent_stablemax_neon;
  k->xent[SMX_NORM_SPARSEMAX] = xent_sparsemax_neon;
}
