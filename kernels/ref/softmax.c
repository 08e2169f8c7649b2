/* Scalar reference of the softmax family: softmax, log-softmax, logsumexp, their backward passes and the
   softmax cross-entropy (blocked online normalizer in 64 lanes, kernels/common/rowstate.c); the backward rows
   over tensors of element e (SMX_ELEM_*), so the scalar table's fused 16-bit ones are the same code. */
#include "kernels.h"

#define SMX_ISA_NAME scalar

/* the output passes of a finite row (the long-row split runs them on column ranges) */
void SMX_KERNEL_NAME(softmax_cols)(size_t n, const float *x, float *y, const smx_pass1_store *st,
                                   const smx_lse_final *f, const smx_softmax_out *o) {
  (void)st; /* the reference stores nothing */
  for (size_t i = 0; i < n; i++) y[i] = f->shifted ? smx_softmax_one(x[i], o) : smx_softmax_exp(x[i], f);
}
void SMX_KERNEL_NAME(xent_softmax_cols)(size_t n, const float *x, const float *w, float softcap,
                                        const smx_softmax_out *o, float Af, float Bf, float *dx) {
  const float inv_cap = softcap > 0.0f ? 1.0f / softcap : 0.0f;
  for (size_t j = 0; j < n; j++) {
    float dz = 1.0f;
    const float z = softcap > 0.0f ? smx_softcap(x[j], softcap, inv_cap, &dz) : x[j];
    dx[j] = smx_flush_nan(fmaf(Af, smx_softmax_one(z, o), -(w ? Bf * w[j] : Bf)) * dz);
  }
}
void SMX_KERNEL_NAME(log_softmax_cols)(size_t n, const float *x, float *y, const smx_lse_final *f) {
  for (size_t i = 0; i < n; i++) y[i] = smx_log_softmax_one(x[i], f->c_hi, f->c_lo);
  smx_log_softmax_flush(f, n, y);
}

static void softmax_row(size_t n, const float *x, float *y) {
  smx_lse_final f;
  smx_lse_row_scalar(n, x, &f, 0);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 0);
    return;
  }
  if (!f.shifted) {
    for (size_t i = 0; i < n; i++) y[i] = smx_softmax_exp(x[i], &f);
    return;
  }
  smx_softmax_out o;
  smx_softmax_out_init(&f, &o);
  SMX_KERNEL_NAME(softmax_cols)(n, x, y, NULL, &f, &o);
}

static void log_softmax_row(size_t n, const float *x, float *y) {
  smx_lse_final f;
  smx_lse_row_scalar(n, x, &f, 1);
  if (f.kind != SMX_ROW_FINITE) {
    smx_special_row(f.kind, n, x, y, 1);
    return;
  }
  SMX_KERNEL_NAME(log_softmax_cols)(n, x, y, &f);
}

static float logsumexp_row(size_t n, const float *x) {
  smx_lse_final f;
  smx_lse_row_scalar(n, x, &f, 1);
  return f.lse;
}

/* Backward rows follow the header: any NaN input gives the NaN row, a fully masked row (all -inf)
   a zero row. A NaN reduction means a NaN input; other NaN or -inf inputs are flagged while the
   row is written, and the row is then overwritten (dx may be dy: only the fill needs no input). */
SMX_FLATTEN void softmax_backward_row(size_t n, const void *y, const void *dy, void *dx, const int e) {
  float dot = (float)smx_blocked_dot_elem(n, y, dy, e);
  if (dot != dot) {
    smx_fill_elem(n, dx, smx_qnan(), e);
    return;
  }
  for (size_t i = 0; i < n; i++)
    smx_elem_set(dx, i, smx_flush_nan(smx_elem_get(y, i, e) * (smx_elem_get(dy, i, e) - dot)), e);
}

SMX_FLATTEN void log_softmax_backward_row(size_t n, const void *y, const void *dy, void *dx, const int e) {
  float sum = (float)smx_blocked_dot_elem(n, dy, NULL, e);
  if (sum != sum) {
    smx_fill_elem(n, dx, smx_qnan(), e);
    return;
  }
  int nan = 0, live = 0;
  for (size_t i = 0; i < n; i++) {
    const float yi = smx_elem_get(y, i, e);
    float v = yi > SMX_EXP_MAX ? SMX_EXP_MAX : yi;
    nan |= v != v;
    live |= v != -INFINITY;
    float p = smx_exp_core(v, 0.0f, 0.0f);
    smx_elem_set(dx, i, smx_flush_nan(fmaf(-p, sum, smx_elem_get(dy, i, e))), e);
  }
  if (nan || !live) smx_fill_elem(n, dx, nan ? smx_qnan() : 0.0f, e);
}
static void softmax_backward_row_f32(size_t n, const float *y, const float *dy, float *dx) {
  softmax_backward_row(n, y, dy, dx, SMX_ELEM_F32);
}
static void log_softmax_backward_row_f32(size_t n, const float *y, const float *dy, float *dx) {
  log_softmax_backward_row(n, y, dy, dx, SMX_ELEM_F32);
}

SMX_ROWS_MAP(SMX_KERNEL_NAME(softmax), softmax_row)
SMX_ROWS_MAP(SMX_KERNEL_NAME(log_softmax), log_softmax_row)
SMX_ROWS_LSE(SMX_KERNEL_NAME(logsumexp), logsumexp_row)
SMX_ROWS_BWD(SMX_KERNEL_NAME(softmax_backward), softmax_backward_row_f32)
SMX_ROWS_BWD(SMX_KERNEL_NAME(log_softmax_backward), log_softmax_backward_row_f32)
SMX_ROWS_BWD16(SMX_KERNEL_NAME(softmax_backward16), softmax_backward_row)
SMX_ROWS_BWD16(SMX_KERNEL_NAME(log_softmax_backward16), log_softmax_backward_row)
SMX_ROWS_XENT(SMX_KERNEL_NAME(xent_softmax), smx_xent_softmax_row)
