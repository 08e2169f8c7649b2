/* The kernels of SMX_KERNELS (include/simdmax_registry.h) as data for the tests, tools and benchmarks:
   name, signature kind, forward kernel, and one call through the public API for any of them. */
#ifndef SMX_KERNEL_LIST_H
#define SMX_KERNEL_LIST_H
#include "simdmax.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
#define SMX_KL_ENUM_(name, kind, forward) SMX_K_##name,
  SMX_KERNELS(SMX_KL_ENUM_)
#undef SMX_KL_ENUM_
  SMX_K_COUNT,
  SMX_K_none = -1
};
typedef enum { SMX_KIND_MAP, SMX_KIND_LSE, SMX_KIND_BWD, SMX_KIND_BWDX, SMX_KIND_XENT } smx_kind;

typedef struct {
  const char *name;
  smx_kind kind;
  int forward;             /* SMX_K_* of the kernel whose output is the y input, or SMX_K_none */
} smx_kernel_info;
extern const smx_kernel_info smx_kernel_list[SMX_K_COUNT];
/* The normalizer of an XENT kernel (the XENT lines are in the order of smx_normalizer). */
smx_normalizer smx_kernel_normalizer(int k);

/* Arguments of any kernel: x the logits (BWD: the forward output y), y the forward output (BWDX),
   dy the upstream gradient, out the output (MAP: y; LSE: one float per row; BWD/BWDX: dx; XENT:
   dlogits, may be NULL), and for XENT targets, opts, loss, grad_scale. */
typedef struct {
  size_t rows, n;
  const float *x;
  size_t ldx;
  const float *y;
  size_t ldy;
  const float *dy;
  size_t lddy;
  float *out;
  size_t ldo;
  const int64_t *targets;
  const smx_xent_options *opts;
  float *loss;
  float grad_scale;
} smx_call_args;
/* Calls kernel k (SMX_K_*) through its public entry point; XENT calls smx_cross_entropy_f32 with opts
   (NULL: the defaults) and the kernel's normalizer. */
smx_status smx_call(int k, const smx_call_args *a);

/* The same for the 16-bit entry points (f16: binary16, else bfloat16): x, y, dy, out of that type; LSE writes
   one float per row to lse; XENT calls smx_cross_entropy_bf16/_f16 (out: dlogits, may be NULL). */
typedef struct {
  size_t rows, n;
  const uint16_t *x;
  size_t ldx;
  const uint16_t *y;
  size_t ldy;
  const uint16_t *dy;
  size_t lddy;
  uint16_t *out;
  size_t ldo;
  float *lse;
  const int64_t *targets;
  const smx_xent_options *opts;
  float *loss;
  float grad_scale;
} smx_call16_args;
smx_status smx_call16(int k, int f16, const smx_call16_args *a);

#ifdef __cplusplus
}
#endif
#endif
