/* The kernel list and the generic call of tests/kernel_list.h, expanded from SMX_KERNELS. */
#include "kernel_list.h"

/* XENT lines are in the order of smx_normalizer: a kernel's normalizer is the number of XENT lines before it */
#define SMX_KL_XENT_MAP 0
#define SMX_KL_XENT_LSE 0
#define SMX_KL_XENT_BWD 0
#define SMX_KL_XENT_BWDX 0
#define SMX_KL_XENT_XENT 1
#define SMX_KL_IS_XENT_(name, kind, forward) SMX_KL_XENT_##kind,
static const int is_xent[SMX_K_COUNT] = {SMX_KERNELS(SMX_KL_IS_XENT_)};
smx_normalizer smx_kernel_normalizer(int k) {
  int c = 0;
  for (int i = 0; i < k; i++) c += is_xent[i];
  return (smx_normalizer)c;
}
#define SMX_KL_INFO_(name, kind, forward) {#name, SMX_KIND_##kind, SMX_K_##forward},
const smx_kernel_info smx_kernel_list[SMX_K_COUNT] = {SMX_KERNELS(SMX_KL_INFO_)};

#define SMX_CALL_MAP(name) return smx_##name##_f32(a->rows, a->n, a->x, a->ldx, a->out, a->ldo);
#define SMX_CALL_LSE(name) return smx_##name##_f32(a->rows, a->n, a->x, a->ldx, a->out);
#define SMX_CALL_BWD(name) return smx_##name##_f32(a->rows, a->n, a->x, a->ldx, a->dy, a->lddy, a->out, a->ldo);
#define SMX_CALL_BWDX(name) \
  return smx_##name##_f32(a->rows, a->n, a->x, a->ldx, a->y, a->ldy, a->dy, a->lddy, a->out, a->ldo);
#define SMX_CALL_XENT(name) return xent(k, a);
#define SMX_CALL_(name, kind, forward) \
  case SMX_K_##name: SMX_CALL_##kind(name)

static smx_status xent(int k, const smx_call_args *a) {
  smx_xent_options o;
  if (a->opts) o = *a->opts;
  else smx_xent_options_default(&o);
  o.normalizer = smx_kernel_normalizer(k);
  return smx_cross_entropy_f32(a->rows, a->n, a->x, a->ldx, a->targets, &o, a->loss, a->out, a->ldo, a->grad_scale);
}

smx_status smx_call(int k, const smx_call_args *a) {
  switch (k) { SMX_KERNELS(SMX_CALL_) }
  return SMX_ERR_ARG;
}

#define SMX_CALL16_MAP(name, sfx) return smx_##name##_##sfx(a->rows, a->n, a->x, a->ldx, a->out, a->ldo);
#define SMX_CALL16_LSE(name, sfx) return smx_##name##_##sfx(a->rows, a->n, a->x, a->ldx, a->lse);
#define SMX_CALL16_BWD(name, sfx) return smx_##name##_##sfx(a->rows, a->n, a->x, a->ldx, a->dy, a->lddy, a->out, a->ldo);
#define SMX_CALL16_BWDX(name, sfx) \
  return smx_##name##_##sfx(a->rows, a->n, a->x, a->ldx, a->y, a->ldy, a->dy, a->lddy, a->out, a->ldo);
#define SMX_CALL16_XENT(name, sfx) return xent16(k, f16, a);
#define SMX_CALL16_BF16_(name, kind, forward) \
  case SMX_K_##name: SMX_CALL16_##kind(name, bf16)
#define SMX_CALL16_F16_(name, kind, forward) \
  case SMX_K_##name: SMX_CALL16_##kind(name, f16)

static smx_status xent16(int k, int f16, const smx_call16_args *a) {
  smx_xent_options o;
  if (a->opts) o = *a->opts;
  else smx_xent_options_default(&o);
  o.normalizer = smx_kernel_normalizer(k);
  return f16 ? smx_cross_entropy_f16(a->rows, a->n, a->x, a->ldx, a->targets, &o, a->loss, a->out, a->ldo, a->grad_scale)
             : smx_cross_entropy_bf16(a->rows, a->n, a->x, a->ldx, a->targets, &o, a->loss, a->out, a->ldo, a->grad_scale);
}

smx_status smx_call16(int k, int f16, const smx_call16_args *a) {
  if (f16) switch (k) { SMX_KERNELS(SMX_CALL16_F16_) }
  else switch (k) { SMX_KERNELS(SMX_CALL16_BF16_) }
  return SMX_ERR_ARG;
}
