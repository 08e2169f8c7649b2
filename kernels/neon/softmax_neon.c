/* NEON softmax family: softmax, log-softmax, logsumexp and their backward passes.
   Bit-identical to kernels/scalar/softmax_scalar.c: the 64 virtual lanes are 16 float32x4
   accumulators (element i of a block -> vector (i / 4) % 16, lane i % 4), the lanes are stored
   and combined by the shared trees (lanes.c), and the tail of a block (< 64 elements) is done in
   scalar code on the stored lanes, element i still in lane i % 64. */
#include "neon_common.h"

void smx_lse_block_neon(const float *x, size_t len, smx_lse *s) {
  float ls[SMX_LANES];
  const size_t n64 = len & ~(size_t)(SMX_LANES - 1);
  float32x4_t acc[SMX_NV];
  int nan;
  const float m_b = smx_row_max_neon(len, x, &nan);
  const int mode = smx_lse_begin_block(s, m_b, nan);
  if (mode == 1) { /* the shifted state: exp(x) 2^(64 - K) below the running max s->m, ties counted */
    const float magic = smx_shift_magic(s->K - SMX_SUM_BIAS);
    const float32x4_t vm = vdupq_n_f32(s->m);
    uint32x4_t kc = vdupq_n_u32(0); /* one counter: registers go to the 16 accumulators */
    SMX_UNROLL
    for (int j = 0; j < SMX_NV; j++) acc[j] = vdupq_n_f32(0.0f);
    for (size_t i = 0; i < n64; i += SMX_LANES) {
      SMX_UNROLL
      for (int j = 0; j < SMX_NV; j++) {
        float32x4_t v = vld1q_f32(x + i + 4 * j);
        uint32x4_t tie = vceqq_f32(v, vm);
        kc = vsubq_u32(kc, tie); /* tie = all ones = -1 */
        float32x4_t e = smx_v_exp_shift(v, magic, SMX_KEEP_SUM);
        e = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(e), tie)); /* tie ? 0.0f : e */
        acc[j] = vaddq_f32(acc[j], e);
      }
    }
    store_lanes(ls, acc);
    double k = (double)vaddvq_u32(kc);
    for (size_t i = n64; i < len; i++) {
      int tie = x[i] == s->m;
      k += tie;
      ls[i % SMX_LANES] += tie ? 0.0f : smx_exp_shift(x[i], magic, SMX_KEEP_SUM);
    }
    smx_lse_end_block(s, k, smx_tree_sum64(ls));
  } else if (mode == 0) { /* the plain state: the shared scalar block sums */
    double k, r;
    smx_lse_block_plain(x, len, m_b, &k, &r);
    smx_lse_add_block(s, m_b, k, r);
  }
}

void smx_lse_row_neon(size_t n, const float *x, smx_lse_final *f, int need_log) {
  smx_lse s;
  smx_lse_init(&s);
  for (size_t b = 0; b < n; b += SMX_BLOCK) smx_lse_block_neon(x + b, n - b < SMX_BLOCK ? n - b : SMX_BLOCK, &s);
  smx_lse_finish(&s, f, need_log);
}

/* Rows outside the shifted range: y[i] = smx_softmax_exp(x[i], f) over the row. */
static void softmax_out_plain(size_t n, const float *x, float *y, const smx_lse_final *f) {
  const float32x4_t ch = vdupq_n_f32(f->c_hi), cl = vdupq_n_f32(f->c_lo);
  size_t i = 0;
  if (f->c_lo <= SMX_CLO_SMALL && f->c_lo >= -SMX_CLO_SMALL) {
    for (; i + 8 <= n; i += 8) {
      float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
      vst1q_f32(y + i, smx_v_exp_core(a, ch, cl));
      vst1q_f32(y + i + 4, smx_v_exp_core(b, ch, cl));
    }
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, smx_v_exp_core(vld1q_f32(x + i), ch, cl));
  } else {
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, smx_v_exp_core_wide(vld1q_f32(x + i), ch, cl));
  }
  for (; i < n; i++) y[i] = smx_softmax_exp(x[i], f);
}

/* Shifted rows: y[i] = smx_softmax_one(x[i], o) over the row. */
static void softmax_out_shifted(size_t n, const float *x, float *y, const smx_lse_final *f) {
  smx_softmax_out o;
  smx_softmax_out_init(f, &o);
  const smx_v_out vo = smx_v_out_init(&o);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    vst1q_f32(y + i, smx_v_softmax_one(a, &vo));
    vst1q_f32(y + i + 4, smx_v_softmax_one(b, &vo));
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, smx_v_softmax_one(vld1q_f32(x + i), &vo));
  for (; i < n; i++) y[i] = smx_softmax_one(x[i], &o);
}

static void softmax_neon(size_t n, const float *x, float *y) {
  smx_lse_final f;
  smx_lse_row_neon(n, x, &f, 0);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 0);
    return;
  }
  if (f.shifted) softmax_out_shifted(n, x, y, &f);
  else softmax_out_plain(n, x, y, &f);
}

/* smx_log_softmax_one. */
static inline float32x4_t v_log_softmax_one(float32x4_t x, float32x4_t c_hi, float32x4_t c_lo) {
  float32x4_t lo;
  const float32x4_t d = smx_v_two_diff(x, c_hi, &lo);
  const float32x4_t r = vaddq_f32(d, vsubq_f32(lo, c_lo));
  return vbslq_f32(vceqq_f32(d, vdupq_n_f32(-INFINITY)), d, r);
}

static void log_softmax_neon(size_t n, const float *x, float *y) {
  smx_lse_final f;
  smx_lse_row_neon(n, x, &f, 1);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 1);
    return;
  }
  const float32x4_t ch = vdupq_n_f32(f.c_hi), cl = vdupq_n_f32(f.c_lo);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    vst1q_f32(y + i, v_log_softmax_one(a, ch, cl));
    vst1q_f32(y + i + 4, v_log_softmax_one(b, ch, cl));
  }
  for (; i < n; i++) y[i] = smx_log_softmax_one(x[i], f.c_hi, f.c_lo);
}

static float logsumexp_neon(size_t n, const float *x) {
  smx_lse_final f;
  smx_lse_row_neon(n, x, &f, 1);
  return f.lse;
}

/* smx_blocked_dot_scalar: per block 64 float lanes (fma, or add when b is NULL), blocks in double. */
double smx_blocked_dot_neon(size_t n, const float *a, const float *b) {
  double total = 0.0;
  float l[SMX_LANES];
  for (size_t o = 0; o < n; o += SMX_BLOCK) {
    const size_t len = n - o < SMX_BLOCK ? n - o : SMX_BLOCK, n64 = len & ~(size_t)(SMX_LANES - 1);
    const float *ao = a + o, *bo = b ? b + o : NULL;
    float32x4_t acc[SMX_NV];
    SMX_UNROLL
    for (int j = 0; j < SMX_NV; j++) acc[j] = vdupq_n_f32(0.0f);
    if (bo) {
      for (size_t i = 0; i < n64; i += SMX_LANES) {
        SMX_UNROLL
        for (int j = 0; j < SMX_NV; j++) acc[j] = vfmaq_f32(acc[j], vld1q_f32(ao + i + 4 * j), vld1q_f32(bo + i + 4 * j));
      }
    } else {
      for (size_t i = 0; i < n64; i += SMX_LANES) {
        SMX_UNROLL
        for (int j = 0; j < SMX_NV; j++) acc[j] = vaddq_f32(acc[j], vld1q_f32(ao + i + 4 * j));
      }
    }
    store_lanes(l, acc);
    for (size_t i = n64; i < len; i++)
      l[i % SMX_LANES] = bo ? fmaf(ao[i], bo[i], l[i % SMX_LANES]) : l[i % SMX_LANES] + ao[i];
    total += smx_tree_sum64(l);
  }
  return total;
}

static void softmax_backward_neon(size_t n, const float *y, const float *dy, float *dx) {
  const float dot = (float)smx_blocked_dot_neon(n, y, dy);
  if (dot != dot) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const float32x4_t vd = vdupq_n_f32(dot);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t y0 = vld1q_f32(y + i), y1 = vld1q_f32(y + i + 4);
    float32x4_t d0 = vld1q_f32(dy + i), d1 = vld1q_f32(dy + i + 4);
    vst1q_f32(dx + i, vmulq_f32(y0, vsubq_f32(d0, vd)));
    vst1q_f32(dx + i + 4, vmulq_f32(y1, vsubq_f32(d1, vd)));
  }
  for (; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

static void log_softmax_backward_neon(size_t n, const float *y, const float *dy, float *dx) {
  const float sum = (float)smx_blocked_dot_neon(n, dy, NULL);
  if (sum != sum) {
    smx_fill(n, dx, smx_qnan());
    return;
  }
  const float32x4_t vs = vdupq_n_f32(sum), vmax = vdupq_n_f32(SMX_EXP_MAX), zero = vdupq_n_f32(0.0f),
                    ninf = vdupq_n_f32(-INFINITY);
  uint32x4_t nanv = vdupq_n_u32(0), livev = vdupq_n_u32(0);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t yv = vld1q_f32(y + i);
    float32x4_t v = vbslq_f32(vcgtq_f32(yv, vmax), vmax, yv);
    nanv = vorrq_u32(nanv, smx_v_isnan(v));
    livev = vorrq_u32(livev, vmvnq_u32(vceqq_f32(v, ninf)));
    float32x4_t p = smx_v_exp_core(v, zero, zero);
    vst1q_f32(dx + i, vfmaq_f32(vld1q_f32(dy + i), vnegq_f32(p), vs));
  }
  int nan = smx_v_any(nanv), live = smx_v_any(livev);
  for (; i < n; i++) {
    float v = y[i] > SMX_EXP_MAX ? SMX_EXP_MAX : y[i];
    nan |= v != v;
    live |= v != -INFINITY;
    float p = smx_exp_core(v, 0.0f, 0.0f);
    dx[i] = fmaf(-p, sum, dy[i]);
  }
  if (nan || !live) smx_fill(n, dx, nan ? smx_qnan() : 0.0f);
}

void smx_kernels_neon_softmax(smx_kernels *k) {
  k->softmax = softmax_neon;
  k->log_softmax = log_softmax_neon;
  k->logsumexp = logsumexp_neon;
  k->softmax_backward = softmax_backward_neon;
  k->log_softmax_backward = log_softmax_backward_neon;
}
