/* simdmax's two registries (X-macro lists): its kernels and its ISAs. Every enumeration in the
   library, its tests, tools and benchmarks expands these lists; nothing else spells them out. */
#ifndef SIMDMAX_REGISTRY_H
#define SIMDMAX_REGISTRY_H

/* SMX_KERNELS(X): X(name, kind, forward), one line per kernel.
   kind is the signature (simdmax.h declares smx_<name>_f32 from it):
     MAP   (rows, n, x, ldx, y, ldy)                  y = f(x) row by row
     LSE   (rows, n, x, ldx, out)                     one float per row
     BWD   (rows, n, y, ldy, dy, lddy, dx, lddx)      backward from the forward output y
     BWDX  (rows, n, x, ldx, y, ldy, dy, lddy, dx, lddx)  backward from the logits x and output y
     XENT  the fused cross-entropy of one normalizer (reached through smx_cross_entropy_f32; the
           XENT lines are in the order of smx_normalizer)
   forward: for a backward kernel, the kernel whose output is its y input; else none. */
#define SMX_KERNELS(X)                                                                                   \
  /* y = softmax(x) per row: exp(x_i - max) / sum_j exp(x_j - max). Error <= 2 ulp. */                   \
  X(softmax, MAP, none)                                                                                  \
  /* y = log_softmax(x) per row: x_i - max - log(sum_j exp(x_j - max)). */                               \
  X(log_softmax, MAP, none)                                                                              \
  /* out[r] = log(sum_j exp(x_rj)) for each row r. */                                                    \
  X(logsumexp, LSE, none)                                                                                \
  /* Softmax backward: dx = y * (dy - sum_j y_j dy_j), y the softmax output. dx may be dy (in place). */ \
  X(softmax_backward, BWD, softmax)                                                                      \
  /* Log-softmax backward: dx = dy - exp(y) * sum_j dy_j, y the log-softmax output. */                   \
  X(log_softmax_backward, BWD, log_softmax)                                                              \
  /* y = sparsemax(x) per row (Martins & Astudillo 2016): the Euclidean projection onto the simplex,  \
     y_i = max(x_i - tau, 0). Expected O(n); exact support. */                                           \
  X(sparsemax, MAP, none)                                                                                \
  /* Sparsemax Jacobian-vector product: dx_i = [y_i > 0] (dy_i - mean of dy over the support). */       \
  X(sparsemax_backward, BWD, sparsemax)                                                                  \
  /* y = stablemax(x) per row: s(x_i) / sum_j s(x_j), s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0. \
     No max subtraction (stablemax is not shift invariant); no overflow up to FLT_MAX. */                \
  X(stablemax, MAP, none)                                                                                \
  /* y = log(stablemax(x)) per row, accurate also where one entry dominates. */                          \
  X(log_stablemax, MAP, none)                                                                            \
  /* Stablemax backward: dx_i = s'(x_i) / s(x_i) * y_i * (dy_i - sum_j y_j dy_j), given x and y. */      \
  X(stablemax_backward, BWDX, stablemax)                                                                 \
  X(xent_softmax, XENT, none)                                                                            \
  X(xent_stablemax, XENT, none)                                                                          \
  X(xent_sparsemax, XENT, none)

/* SMX_ISAS(X): X(name, NAME, architecture, compiler flags in quotes), in the order of smx_isa; the best ISA
   is the last one the CPU supports. CMake reads these lines for the per-ISA flags. */
#define SMX_ISAS(X)                                                                                      \
  X(scalar, SCALAR, any, "")                                                                             \
  X(avx2, AVX2, x86_64, "-mavx2 -mfma -mf16c")                                                           \
  X(avx512, AVX512, x86_64, "-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c -mprefer-vector-width=512") \
  X(neon, NEON, aarch64, "")                                                                             \
  X(avx512bf16, AVX512BF16, x86_64, "-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c -mavx512bf16 -mprefer-vector-width=512")

#endif
