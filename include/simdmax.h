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

/* SMX_ISA_SCALAR, SMX_ISA_AVX2, SMX_ISA_AVX512, SMX_ISA_NEON, SMX_ISA_AVX512BF16 (0..4), from SMX_ISAS. */
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
/* "scalar", "avx2", "avx512", "neon", "avx512bf16" (AVX-512 with AVX512_BF16's bfloat16 rounding instruction:
   the same kernels, the same bits); "unknown" for other values. */
SMX_API const char *smx_isa_name(smx_isa isa);
/* The environment variable SMX_ISA=scalar|avx2|avx512|neon|avx512bf16 forces the ISA at first use
   (an unsupported or unknown name is ignored and the best supported ISA is used). */

/* Threads (opt-in). The calls a thread makes run on that thread alone unless it set one of these; the
   setting belongs to the calling thread, so concurrent callers with different settings never interfere.
   A call's rows are cut into tasks of whole rows and every row is computed by exactly one task, so
   results are bit-identical for every thread count and every split (the cross-entropy's SUM and MEAN
   add the rows' losses in row order whatever the split). Calls with fewer than 16384 elements stay on the
   calling thread. When a call has fewer rows than threads, rows of at least 65536 entries of softmax,
   log-softmax, logsumexp and the f32 softmax and stablemax cross-entropies are split by blocks of 1024 instead,
   with the same bits (their row states merge exactly; softmax rows whose max is beyond 65536 run on the calling
   thread). */
typedef void (*smx_task_fn)(void *task_ctx, size_t task);
/* A framework's parallel-for: runs task(task_ctx, i) for every i in [0, count) (in any order, on any
   threads) and returns when all are done (the pthreadpool / at::parallel_for shape). */
typedef void (*smx_parallel_for_fn)(void *ctx, smx_task_fn task, void *task_ctx, size_t count);
/* This thread's calls use a built-in pool of `threads` threads (the caller and threads - 1 workers,
   made now and joined when the thread exits); 1 turns it off. SMX_ERR_ARG for 0 or more than 1024. */
SMX_API smx_status smx_set_num_threads(size_t threads);
/* This thread's calls run their tasks through parallel_for (with ctx), at most max_tasks * 4 tasks a call;
   NULL goes back to smx_set_num_threads' setting. SMX_ERR_ARG for max_tasks == 0 with a function. */
SMX_API smx_status smx_set_parallel_for(smx_parallel_for_fn parallel_for, void *ctx, size_t max_tasks);
/* The threads (or max_tasks) this thread's calls use; 1 when off. */
SMX_API size_t smx_get_num_threads(void);
/* Streaming stores. A call whose output matrix (rows x n elements; logsumexp's and the losses' one value a row
   do not count) takes at least min_bytes writes its f32 rows' output with non-temporal stores, around the caches:
   memory is not read for the output's lines before they are written (a third less traffic for a pass that reads
   one matrix and writes another), and the caches keep the inputs, but whoever reads the output next reads it from
   memory. Default: the size of the last-level cache (Linux sysfs; 32 MiB where unknown), since a larger output
   leaves the caches before it is read anyway; 0 streams every call, SIZE_MAX none. This thread's setting, as
   smx_set_num_threads'; the same bits either way. Streamed today: the f32 output passes of rows longer than a
   block (1024 entries) of log-softmax, softmax_backward, sparsemax and sparsemax_backward, and of softmax's rows
   over 2^18 entries (or in place) and log_softmax_backward's over 2^18. */
SMX_API void smx_set_streaming_threshold(size_t min_bytes);
/* The threshold of this thread's calls (the default until smx_set_streaming_threshold is called). */
SMX_API size_t smx_get_streaming_threshold(void);

/* Numerics rules, the same for every function and every ISA:
   - Every ISA returns bit-identical results to the scalar reference kernels on every CPU.
   - Floating-point modes: every call runs its kernels with round-to-nearest and gradual underflow
     (no flush-to-zero, no denormals-are-zero), whatever the caller set (MXCSR on x86, FPCR on
     AArch64, e.g. by torch.set_flush_denormal or -ffast-math): they are set on entry only when they
     differ and restored on return, so the same input gives the same bits in every mode.
   - Every float result (outputs, gradients, losses, logsumexp) whose magnitude is below FLT_MIN
     (2^-126) is returned as +0, -0 included (decided by explicit comparison, not by the FP mode).
     exp arguments below -87.336 give +0, so a probability below about 1.0005 * FLT_MIN is +0.
   - A row containing a NaN gives a row of NaN (the quiet NaN 0x7fc00000) in every output,
     and a NaN loss; its gradient row is NaN too. Every NaN result is that quiet NaN, also where
     the arithmetic made it, whose NaN would be the CPU's default one (-NaN on x86, +NaN on
     AArch64): a loss (a row's, or a SUM / MEAN) under label smoothing 1 over -inf logits, a
     backward kernel's gradient over infinite dy or dy near FLT_MAX, a cross-entropy gradient whose
     coefficients pass FLT_MAX (class weights near it, infinite probability targets): inf - inf, 0 x inf.
   - -inf logits get probability 0 (log-probability -inf). A row of all -inf (a fully masked
     row) gives probabilities 0 from softmax, stablemax and sparsemax, -inf from log-softmax,
     log-stablemax and logsumexp, and a zero gradient from every backward kernel.
   - +inf logits: with k entries +inf, softmax, stablemax and sparsemax give 1/k on each of
     them and 0 elsewhere; log-softmax and log-stablemax -log(k) and -inf; logsumexp +inf.
   - Subnormal inputs are used as they are (also when the caller enabled denormals-are-zero).

   All matrices are rows x n; row r of x starts at x + r*ldx (ldx >= n). rows == 0 is a no-op.
   An output may be exactly its input (same pointer, same leading dimension): in place.
   Any other overlap of an output with an input is SMX_ERR_ALIAS; inputs are every pointer argument
   read, including the cross-entropy's targets, class weights and the options struct itself. Every
   function validates all arguments (also when rows == 0: n and the leading dimensions are checked,
   and n * sizeof(float) must fit in size_t) before touching memory and returns the error with nothing written. No function
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

/* 16-bit tensors. smx_bf16 holds a bfloat16 bit pattern, smx_f16 an IEEE-754 binary16 one. Every kernel above
   has a _bf16 and an _f16 entry point with the same arguments, each float tensor (x, y, dy, dx) of that type
   (logsumexp's out stays float), and the same error, aliasing and in-place rules. Contract: inputs widen to
   float exactly and the result is exactly the _f32 kernel's result on the widened inputs rounded to the
   type by round-to-nearest-even (f16: subnormal results kept, overflow to inf; a NaN output is the quiet NaN
   0x7fc0 / 0x7e00), on every ISA and whatever the caller's FP modes. No heap, on every ISA: the backward kernels,
   sparsemax rows of 512 entries or more (with an 8.5 KiB stack buffer of candidates), the softmax family's and
   stablemax's rows longer than 16384, their rows in calls of 1 MiB or more and softmax rows of 1025..15360 entries
   (these with a 60 KiB stack scratch for their pass-1 values), and on Intel's and Zen 4's AVX-512 the softmax family's
   rows of 769 entries or more, convert in their loads and stores; other rows run
   through a 64 KiB stack scratch per thread (the longer rows of log-stablemax, and on the scalar table of the
   softmax family and stablemax, by chunks of it). The README's "bfloat16 and float16" says which path each kernel
   takes. */
typedef uint16_t smx_bf16;
typedef uint16_t smx_f16;
#define SMX_DECLARE16_MAP(name, T, sfx) \
  SMX_API smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *x, size_t ldx, T *y, size_t ldy);
#define SMX_DECLARE16_LSE(name, T, sfx) \
  SMX_API smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *x, size_t ldx, float *out);
#define SMX_DECLARE16_BWD(name, T, sfx)                                                             \
  SMX_API smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *y, size_t ldy, const T *dy, size_t lddy, \
                                        T *dx, size_t lddx);
#define SMX_DECLARE16_BWDX(name, T, sfx)                                                            \
  SMX_API smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *x, size_t ldx, const T *y, size_t ldy, \
                                        const T *dy, size_t lddy, T *dx, size_t lddx);
#define SMX_DECLARE16_XENT(name, T, sfx)
#define SMX_DECLARE16_(name, kind, forward) \
  SMX_DECLARE16_##kind(name, smx_bf16, bf16) SMX_DECLARE16_##kind(name, smx_f16, f16)
SMX_KERNELS(SMX_DECLARE16_)
#undef SMX_DECLARE16_
/* Array conversions (rows x n, leading dimensions like the kernels; input and output must not overlap),
   with the rounding every 16-bit entry point uses. */
SMX_API smx_status smx_bf16_from_f32(size_t rows, size_t n, const float *x, size_t ldx, smx_bf16 *y, size_t ldy);
SMX_API smx_status smx_f32_from_bf16(size_t rows, size_t n, const smx_bf16 *x, size_t ldx, float *y, size_t ldy);
SMX_API smx_status smx_f16_from_f32(size_t rows, size_t n, const float *x, size_t ldx, smx_f16 *y, size_t ldy);
SMX_API smx_status smx_f32_from_f16(size_t rows, size_t n, const smx_f16 *x, size_t ldx, float *y, size_t ldy);

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
  float          z_loss;       /* finite, >= 0; adds z_loss * lse^2 per row; softmax only (else SMX_ERR_ARG); default 0 */
  float          softcap;      /* 0 (off), or finite with 1/softcap finite (>= about 2^-128; else SMX_ERR_ARG):
                                  logits become softcap*tanh(logits/softcap) first; default 0 */
  const float   *class_weight; /* NULL or n finite weights >= 0 (else SMX_ERR_ARG) */
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
   The mean divides the cross-entropy terms by the sum of w_t over counted rows (their count without
   class_weight), as PyTorch does; ignored rows count nowhere, also with label smoothing. The z-loss is
   a per-token regularizer: its mean is over the counted rows, not the weights (as PaLM-style
   implementations such as flash-attn and Liger average it), so class weights do not rescale it.
   grad_scale must be finite (else SMX_ERR_ARG).
   Infinite logits (softcap maps them to +-cap first): p follows the forward rule (1/k on k entries
   +inf, 0 at -inf); a term with a zero coefficient (weight 0, smoothing 1) vanishes, otherwise
   -log 0 = +inf, so the loss is +inf when the target (or, with smoothing, any class) has p = 0;
   the sparsemax loss is its limit, finite ((|q|^2 - 1/k) / 2 w_t) only when the target is +inf and
   q has no mass on finite entries. The gradient stays p - q (softmax, sparsemax) or
   (p - q) / (1 + |z|) (stablemax, 0 at infinite z), times the weights and scales above. */
SMX_API smx_status smx_cross_entropy_f32(size_t rows, size_t n, const float *logits, size_t ldx,
                                         const void *targets, const smx_xent_options *opts,
                                         float *loss, float *dlogits, size_t ldd, float grad_scale);
/* The fused cross-entropy on 16-bit logits and gradient (bfloat16, binary16): exactly smx_cross_entropy_f32 on
   the widened logits, the gradient rounded to the type (see "16-bit tensors" above); the same arguments and rules.
   No row goes through a heap buffer at any n (sparsemax rows longer than 16384, 8192 with a gradient, convert in
   their loads and stores); a call of more than 1024 rows split across threads keeps its row losses in a heap
   array (one thread takes them 1024 at a time on the stack, as does a threaded call if the array cannot be had). */
SMX_API smx_status smx_cross_entropy_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx, const void *targets,
                                          const smx_xent_options *opts, float *loss, smx_bf16 *dlogits, size_t ldd,
                                          float grad_scale);
SMX_API smx_status smx_cross_entropy_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx, const void *targets,
                                         const smx_xent_options *opts, float *loss, smx_f16 *dlogits, size_t ldd,
                                         float grad_scale);

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
/* The forward on 16-bit logits (loss and lse stay float): exactly smx_cross_entropy_forward_f32 on the widened
   logits. */
SMX_API smx_status smx_cross_entropy_forward_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx,
                                                  const void *targets, const smx_xent_options *opts, float *loss,
                                                  float *lse);
SMX_API smx_status smx_cross_entropy_forward_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx,
                                                 const void *targets, const smx_xent_options *opts, float *loss,
                                                 float *lse);
/* The backward on 16-bit logits and dlogits (grad_loss and lse stay float): exactly
   smx_cross_entropy_backward_f32 on the widened logits, the gradient rounded once, so per-row upstream gradients
   need no float32 copy of the logits (with one grad_loss value: smx_cross_entropy_bf16's / _f16's dlogits). */
SMX_API smx_status smx_cross_entropy_backward_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx,
                                                   const void *targets, const smx_xent_options *opts,
                                                   const float *lse, const float *grad_loss,
                                                   size_t grad_loss_stride, smx_bf16 *dlogits, size_t ldd);
SMX_API smx_status smx_cross_entropy_backward_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx,
                                                  const void *targets, const smx_xent_options *opts,
                                                  const float *lse, const float *grad_loss,
                                                  size_t grad_loss_stride, smx_f16 *dlogits, size_t ldd);

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
   The same bits on every ISA. The row state, the loss sums and the gradient run the active ISA's vectors for every
   normalizer (softmax and stablemax rows of up to 1024 entries 16 at a time, their per-row arithmetic lane-wise;
   sparsemax rows of up to 64 entries 16 at a time, their thresholds lane-wise). Rows are split across the calling
   thread's threads (smx_set_num_threads), the losses added in row order: the same bits for every thread count.
   With gradient, against smx_cross_entropy_f32 on the same rows (Zen 4, AVX-512): softmax 1.4-1.9x at 8..256
   entries, 2.4-2.9x at 1000..32000; stablemax 2.1-3.2x; sparsemax 1.5-2.6x at 8..128 entries, 2.0-5.3x from 256
   up. */
SMX_API smx_status smx_cross_entropy_soft_f32(size_t rows, size_t n, const float *logits, size_t ldx,
                                              const float *q, size_t ldq, const smx_xent_options *opts,
                                              float *loss, float *dlogits, size_t ldd, float grad_scale);
/* The same on 16-bit logits, targets q and dlogits (loss stays float): exactly smx_cross_entropy_soft_f32 on the
   widened logits and targets, the gradient rounded once. Rows of up to 8192 entries go widened through a 64 KiB stack
   scratch (the f32 call's row groups included), longer ones through the row code a block at a time. */
SMX_API smx_status smx_cross_entropy_soft_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx,
                                               const smx_bf16 *q, size_t ldq, const smx_xent_options *opts,
                                               float *loss, smx_bf16 *dlogits, size_t ldd, float grad_scale);
SMX_API smx_status smx_cross_entropy_soft_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx,
                                              const smx_f16 *q, size_t ldq, const smx_xent_options *opts,
                                              float *loss, smx_f16 *dlogits, size_t ldd, float grad_scale);

/* ---- Row states: vocabulary-sharded and chunked cross-entropy ----
   The softmax (or stablemax) normalizer of a row over a slice of its columns, as plain bytes that may be copied,
   sent (MPI_Allgather them as bytes) or stored, and merged: the state of columns [a, b) merged with that of
   [b, c) is the state of [a, c). Bit-identical to the unsharded call when every shard boundary is a
   multiple of 1024 (the kernels' block) and states are merged left to right (in any grouping): the merged
   log-sum-exp equals smx_logsumexp_f32 of the whole row, and smx_cross_entropy_shard_f32 gives exactly
   smx_cross_entropy_f32's gradient and per-row loss, on every ISA. Exceptions, deterministic for a fixed
   split and merge order and within the accuracy bounds, not bit-identical: softmax rows whose max is beyond
   +-65536 (or only below -65536), and other boundaries (a block then sums different entries). Sparsemax has
   no mergeable state (SMX_ERR_ARG). */
#define SMX_ROW_STATE_DOUBLES 40
typedef struct smx_row_state { double opaque[SMX_ROW_STATE_DOUBLES]; } smx_row_state;
/* The state of each row's n columns x[r * ldx + 0 .. n). opts: NULL (plain log-sum-exp), or the options of
   the cross-entropy the states are for (its normalizer, softmax or stablemax, recorded in the state; its softcap
   is applied first and recorded; with label smoothing the state also gathers the columns' sum of w_j z_j
   (softmax) or w_j log s(z_j) (stablemax), and opts->class_weight, if any, holds the weights of these n columns:
   the full array plus the slice's first column). A stablemax state holds the exact sum of its blocks' sums of
   s(z_j), so that the shard holding the target can take its own block out again: the loss log1p(O / s_t) keeps
   its accuracy where p_t is within 1e-12 of one. */
SMX_API smx_status smx_row_state_f32(size_t rows, size_t n, const float *x, size_t ldx, const smx_xent_options *opts,
                                     smx_row_state *st);
/* The same on bfloat16 / binary16 logits: exactly smx_row_state_f32 of the widened logits. */
SMX_API smx_status smx_row_state_bf16(size_t rows, size_t n, const smx_bf16 *x, size_t ldx, const smx_xent_options *opts,
                                      smx_row_state *st);
SMX_API smx_status smx_row_state_f16(size_t rows, size_t n, const smx_f16 *x, size_t ldx, const smx_xent_options *opts,
                                     smx_row_state *st);
/* acc := acc then next (next's columns follow acc's), row by row. States made with different softcaps or
   normalizers, or one with label smoothing and one without: SMX_ERR_ARG. */
SMX_API smx_status smx_row_state_merge(size_t rows, smx_row_state *acc, const smx_row_state *next);
/* Each row's log-sum-exp (of the softcapped logits with a softcap); for a stablemax state log S, S = sum_j s(z_j). */
SMX_API smx_status smx_row_state_logsumexp(size_t rows, const smx_row_state *st, float *lse);
/* The cross-entropy of one shard: columns [col0, col0 + n_shard) of rows whose full width is n_total
   (logits: rows x n_shard, ldx), from the merged states of the whole rows (full, made with the same softcap and
   normalizer). targets: rows global class indices in [0, n_total) or opts->ignore_index (int64_t:
   opts->target_type must be SMX_TARGET_I64); opts->class_weight, if any, holds all n_total weights. dlogits (NULL, or rows x n_shard,
   ldd; may be exactly logits) gets the gradient of the shard's columns, bit-identical to smx_cross_entropy_f32's
   columns; loss_part (NULL, or rows floats for NONE, 1 for SUM / MEAN) gets the shard's part of the loss: the
   rows whose target lies in the shard (their whole loss, z-loss included), 0 for the others; so for NONE the
   parts add up exactly to smx_cross_entropy_f32's loss, for SUM / MEAN within the rounding of the parts.
   With label smoothing the states must have been made for it. Softmax and stablemax (sparsemax: SMX_ERR_ARG).
   The shard's gradient runs the active ISA's gradient kernel for both normalizers (softmax rows whose max is beyond
   +-2^16 take common scalar code). */
SMX_API smx_status smx_cross_entropy_shard_f32(size_t rows, size_t n_shard, const float *logits, size_t ldx,
                                               size_t col0, size_t n_total, const int64_t *targets,
                                               const smx_xent_options *opts, const smx_row_state *full,
                                               float *loss_part, float *dlogits, size_t ldd, float grad_scale);
/* The same on bfloat16 / binary16 logits and gradient: exactly smx_cross_entropy_shard_f32 on the widened logits,
   the gradient rounded once (so its columns are smx_cross_entropy_bf16's / _f16's); the states from any of the
   smx_row_state_* functions (of the same logits). */
SMX_API smx_status smx_cross_entropy_shard_bf16(size_t rows, size_t n_shard, const smx_bf16 *logits, size_t ldx,
                                                size_t col0, size_t n_total, const int64_t *targets,
                                                const smx_xent_options *opts, const smx_row_state *full,
                                                float *loss_part, smx_bf16 *dlogits, size_t ldd, float grad_scale);
SMX_API smx_status smx_cross_entropy_shard_f16(size_t rows, size_t n_shard, const smx_f16 *logits, size_t ldx,
                                               size_t col0, size_t n_total, const int64_t *targets,
                                               const smx_xent_options *opts, const smx_row_state *full,
                                               float *loss_part, smx_f16 *dlogits, size_t ldd, float grad_scale);

#ifdef __cplusplus
}
#endif
#endif
