/* simdmax: vectorized softmax-family, stablemax, sparsemax kernels and a fused cross-entropy. */
#ifndef SIMDMAX_H
#define SIMDMAX_H

#include <stddef.h>
#include <stdint.h>

#include "simdmax_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SMX_API
#else
#define SMX_API __attribute__((visibility("default")))
#endif

#define SMX_VERSION_MAJOR 0
#define SMX_VERSION_MINOR 1
#define SMX_VERSION_PATCH 0

/* The library version as "MAJOR.MINOR.PATCH". */
SMX_API const char *smx_version(void);

typedef enum smx_status {
  SMX_OK = 0,
  SMX_ERR_NULL = -1,   /* a required pointer is NULL */
  SMX_ERR_SHAPE = -2,  /* n == 0, a leading dimension < n, or a size that overflows size_t */
  SMX_ERR_TARGET = -3, /* a target outside [0, n) that is not the ignore_index */
  SMX_ERR_ARG = -4,    /* an option out of its range */
  SMX_ERR_ISA = -5,    /* ISA not compiled in or not supported by this CPU */
  SMX_ERR_ALIAS = -6   /* an output overlaps an input without being exactly the same matrix */
} smx_status;

/* A short English description of a status code. */
SMX_API const char *smx_strerror(smx_status status);

/* SMX_ISA_SCALAR, SMX_ISA_AVX2, SMX_ISA_AVX512, SMX_ISA_NEON (0..3), from SMX_ISAS. */
typedef enum smx_isa {
#define SMX_ISA_ENUM_(name, NAME, arch, flags) SMX_ISA_##NAME,
  SMX_ISAS(SMX_ISA_ENUM_)
#undef SMX_ISA_ENUM_
  SMX_ISA_COUNT
} smx_isa;

/* The ISA whose kernels the entry points currently call. */
SMX_API smx_isa smx_active_isa(void);
/* 1 if the ISA is compiled in and this CPU (and OS) supports it, else 0. */
SMX_API int smx_isa_supported(smx_isa isa);
/* Switch every entry point to this ISA (for tests and validation); SMX_ERR_ISA if unsupported.
   Thread-safe, but calls already running finish on the kernels they started with. */
SMX_API smx_status smx_set_isa(smx_isa isa);
/* "scalar", "avx2", "avx512", "neon"; "unknown" for other values. */
SMX_API const char *smx_isa_name(smx_isa isa);
/* The environment variable SMX_ISA=scalar|avx2|avx512|neon forces the ISA at first use
   (an unsupported or unknown name is ignored and the best supported ISA is used). */

/* Numerics rules, the same for every function and every ISA:
   - Every ISA returns bit-identical results to the scalar reference kernels on every CPU.
   - Results whose magnitude would be below FLT_MIN (2^-126) are returned as +0 (decided by
     explicit comparison; the caller's MXCSR/FPCR flush modes do not change any result).
     exp arguments below -87.336 give +0, so a probability below about 1.0005 * FLT_MIN is +0.
   - A row containing a NaN gives a row of NaN (the quiet NaN 0x7fc00000) in every output,
     and a NaN loss; its gradient row is NaN too.
   - -inf logits get probability 0 (log-probability -inf). A row of all -inf (a fully masked
     row) gives probabilities 0 from softmax, stablemax and sparsemax, -inf from log-softmax,
     log-stablemax and logsumexp, and a zero gradient from every backward kernel.
   - +inf logits: with k entries +inf, softmax, stablemax and sparsemax give 1/k on each of
     them and 0 elsewhere; log-softmax and log-stablemax -log(k) and -inf; logsumexp +inf.
   - Subnormal inputs are used as they are (unless the caller enabled denormals-are-zero).

   All matrices are rows x n; row r of x starts at x + r*ldx (ldx >= n). rows == 0 is a no-op.
   An output may be exactly its input (same pointer, same leading dimension): in place.
   Any other overlap of an output with an input is SMX_ERR_ALIAS. Every function validates all
   arguments (also when rows == 0) before touching memory and returns the error with nothing written. No function
   reads or writes outside [0, n) of each row. All functions are thread-safe. */

/* One entry point per kernel of SMX_KERNELS (simdmax_registry.h, where each is described), named
   smx_<name>_f32 with the signature of its kind:
     MAP:  smx_status smx_softmax_f32(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy);
           (also log_softmax, sparsemax, stablemax, log_stablemax)
     LSE:  smx_status smx_logsumexp_f32(size_t rows, size_t n, const float *x, size_t ldx, float *lse);
     BWD:  smx_status smx_softmax_backward_f32(size_t rows, size_t n, const float *y, size_t ldy,
                                               const float *dy, size_t lddy, float *dx, size_t lddx);
           (also log_softmax_backward, sparsemax_backward)
     BWDX: smx_status smx_stablemax_backward_f32(size_t rows, size_t n, const float *x, size_t ldx,
                                                 const float *y, size_t ldy, const float *dy, size_t lddy,
                                                 float *dx, size_t lddx);
   The XENT kernels are reached through smx_cross_entropy_f32 below. */
#define SMX_DECLARE_MAP(name) \
  SMX_API smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy);
#define SMX_DECLARE_LSE(name) \
  SMX_API smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, float *out);
#define SMX_DECLARE_BWD(name)                                                                              \
  SMX_API smx_status smx_##name##_f32(size_t rows, size_t n, const float *y, size_t ldy, const float *dy,   \
                                      size_t lddy, float *dx, size_t lddx);
#define SMX_DECLARE_BWDX(name)                                                                             \
  SMX_API smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, const float *y,   \
                                      size_t ldy, const float *dy, size_t lddy, float *dx, size_t lddx);
#define SMX_DECLARE_XENT(name)
#define SMX_DECLARE_(name, kind, forward) SMX_DECLARE_##kind(name)
SMX_KERNELS(SMX_DECLARE_)
#undef SMX_DECLARE_

typedef enum smx_normalizer { SMX_NORM_SOFTMAX = 0, SMX_NORM_STABLEMAX = 1, SMX_NORM_SPARSEMAX = 2 } smx_normalizer;
typedef enum smx_reduction { SMX_REDUCE_NONE = 0, SMX_REDUCE_SUM = 1, SMX_REDUCE_MEAN = 2 } smx_reduction;
/* Type of the class-index targets: int64_t (PyTorch's default) or int32_t. */
typedef enum smx_target_type { SMX_TARGET_I64 = 0, SMX_TARGET_I32 = 1 } smx_target_type;
typedef struct smx_xent_options {
  size_t         struct_size;  /* sizeof(smx_xent_options), set by smx_xent_options_default; every call checks it:
                                  0 (a zero-initialized struct) or an unknown size is SMX_ERR_ARG */
  smx_normalizer normalizer;   /* default SMX_NORM_SOFTMAX */
  smx_reduction  reduction;    /* default SMX_REDUCE_MEAN */
  int64_t        ignore_index; /* default -100: such rows get 0 loss, 0 gradient, and do not count in the mean */
  float          label_smoothing; /* in [0, 1]; default 0 */
  float          z_loss;       /* >= 0; adds z_loss * lse^2 per row; softmax only (else SMX_ERR_ARG); default 0 */
  float          softcap;      /* >= 0; if > 0 logits become softcap*tanh(logits/softcap) first; default 0 */
  const float   *class_weight; /* NULL or n weights >= 0; the mean divides by the sum of the rows' target weights */
  smx_target_type target_type; /* what `targets` points to; default SMX_TARGET_I64 */
} smx_xent_options;

/* Fill opts with the defaults listed above (and struct_size). Always start from it. */
SMX_API void smx_xent_options_default(smx_xent_options *opts);

/* The last failure of a call of this thread, as a sentence naming the function, the argument and (for
   targets, weights and grad_loss) the row or class: "smx_cross_entropy_f32: targets[5] = 40 is outside
   [0, n) = [0, 37) and not the ignore_index -100". Every failing call sets it; a successful call leaves it
   as it was. "" before the first failure. Thread-local: valid until this thread's next failing call. */
SMX_API const char *smx_last_error_message(void);

/* Fused cross-entropy: loss and gradient with respect to the logits in two passes.
   opts: NULL means the defaults.
   targets: rows class indices, int64_t or int32_t by opts->target_type.
   loss: NULL, or rows floats (NONE) or 1 float (SUM, MEAN).
   dlogits: NULL (no gradient) or rows x n with leading dimension ldd; may be exactly logits (in place).
   The gradient is grad_scale times the gradient of the reduced loss (for NONE: of each row's loss).
   A MEAN over zero counted rows is 0 with a zero gradient.
   Per row r with target t, weights w (1 without class_weight), W = sum_j w_j, e = label_smoothing:
     softmax, stablemax: (1-e) w_t (-log p_t) + (e/n) sum_j w_j (-log p_j) [+ z_loss lse^2, softmax]
     sparsemax: w_t * the Fenchel-Young loss <x, p - q> - |p|^2/2 + |q|^2/2, q = (1-e) onehot(t) + e/n.
   The mean divides the sum by the sum of w_t over counted rows (their count without class_weight).
   Unlike PyTorch, ignored rows never count in the mean, also with label smoothing.
   Infinite logits (softcap maps them to +-cap first): p follows the forward rule (1/k on k entries
   +inf, 0 at -inf); a term with a zero coefficient (weight 0, smoothing 1) vanishes, otherwise
   -log 0 = +inf, so the loss is +inf when the target (or, with smoothing, any class) has p = 0;
   the sparsemax loss is its limit, finite ((|q|^2 - 1/k) / 2 w_t) only when the target is +inf and
   q has no mass on finite entries. The gradient stays p - q (softmax, sparsemax) or
   (p - q) / (1 + |z|) (stablemax, 0 at infinite z), times the weights and scales above. */
SMX_API smx_status smx_cross_entropy_f32(size_t rows, size_t n, const float *logits, size_t ldx,
                                         const void *targets, const smx_xent_options *opts,
                                         float *loss, float *dlogits, size_t ldd, float grad_scale);

/* The cross-entropy split for autograd: a forward that keeps no [rows x n] state, and a backward that takes
   the upstream gradient of the loss.
   forward: loss (required) as smx_cross_entropy_f32 writes it (rows floats for NONE, else 1), bit-identical
   to it. lse: NULL, or rows floats, each row's normalizer state over the (softcapped) logits z, ignored rows
   included: softmax the log-sum-exp log sum_j exp(z_j) (what z_loss squares; p_j = exp(z_j - lse)),
   stablemax log sum_j s(z_j) (p_j = s(z_j) / exp(lse)), sparsemax the threshold tau (p_j = max(z_j - tau, 0));
   NaN for a row with a NaN, +inf for a row with +inf logits, -inf for a row of all -inf. lse costs one more
   read of the logits (softmax: the logsumexp kernel) and serves the caller (monitoring z-loss, rebuilding p,
   a log-partition for distillation); the backward does not need it.
   backward: dlogits = the gradient of the loss given d loss = grad_loss. For SUM and MEAN the loss is one
   value: grad_loss[0], grad_loss_stride must be 0. For NONE row r uses grad_loss[r * grad_loss_stride]
   (stride 0: one value for every row). Every grad_loss value must be finite. lse: NULL or the forward's
   lse; this version does not read it: it recomputes the row state from the logits (one more read pass),
   which keeps dlogits bit-identical to smx_cross_entropy_f32's with grad_scale equal to grad_loss
   (per row for NONE). dlogits may be exactly logits (in place). */
SMX_API smx_status smx_cross_entropy_forward_f32(size_t rows, size_t n, const float *logits, size_t ldx,
                                                 const void *targets, const smx_xent_options *opts, float *loss,
                                                 float *lse);
SMX_API smx_status smx_cross_entropy_backward_f32(size_t rows, size_t n, const float *logits, size_t ldx,
                                                  const void *targets, const smx_xent_options *opts,
                                                  const float *lse, const float *grad_loss,
                                                  size_t grad_loss_stride, float *dlogits, size_t ldd);

/* Cross-entropy against probability targets (distillation, mixup): q is rows x n (leading dimension ldq),
   row r a distribution over the classes (not checked: the formulas below hold for any q). With
   q' = (1 - e) q + e/n (e = label_smoothing) and w the class weights (1 without):
     softmax, stablemax: loss_r = sum_j w_j q'_j (-log p_j) [+ z_loss lse^2, softmax],
       gradient (sum_j w_j q'_j + 2 z_loss lse) p - w q' (stablemax: divided by 1 + |z_j|);
     sparsemax: the Fenchel-Young loss <z, p - q'> - |p|^2/2 + |q'|^2/2, gradient p - q' (class_weight
       must be NULL: SMX_ERR_ARG).
   As in PyTorch, MEAN divides by rows (not by weights), and ignore_index and target_type do not apply.
   Softcap, NaN, +-inf and FLT_MIN rules as for smx_cross_entropy_f32 (the loss is +inf where q' puts
   mass on a class with p = 0). loss, dlogits, ldd, grad_scale as in smx_cross_entropy_f32.
   Implementation: common scalar code for every ISA (so identical on every CPU), not yet vectorized: with
   gradient, 7x (sparsemax) to 25x (softmax, stablemax) the time of the class-index kernels (512 x 32000, AVX2). */
SMX_API smx_status smx_cross_entropy_soft_f32(size_t rows, size_t n, const float *logits, size_t ldx,
                                              const float *q, size_t ldq, const smx_xent_options *opts,
                                              float *loss, float *dlogits, size_t ldd, float grad_scale);

#ifdef __cplusplus
}
#endif
#endif
