/* Exact binned sums of the softmax row state (rowstate.h): window shifts, merges and the final value. */
#include "smx_internal.h"

void smx_binsum_shift(smx_binsum *a, int32_t top) {
  const int32_t d = top - a->top;
  for (int i = SMX_BINS; i >= 0; i--) a->b[i] = i - d >= 0 ? a->b[i - d] : 0;
  a->top = top;
}

void smx_binsum_merge(smx_binsum *a, const smx_binsum *b) {
  if (!b->any) return;
  if (!a->any) {
    *a = *b;
    return;
  }
  smx_binsum t = *b;
  if (t.top < a->top) smx_binsum_shift(&t, a->top);
  else if (a->top < t.top) smx_binsum_shift(a, t.top);
  for (int i = 0; i <= SMX_BINS; i++) a->b[i] += t.b[i];
}

/* 2^k for -1022 <= k <= 1023 (else 0 or inf, as smx_pow2) */
static double pow2k(int32_t k) {
  if (k < -1022 || k > 1023) return smx_pow2(k);
  const uint64_t u = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
/* Horner over the window's bins from the top, then the power of two in two exact steps */
double smx_binsum_value(const smx_binsum *a, int32_t e2) {
  if (!a->any) return 0.0;
  double v = (double)a->b[0];
  for (int i = 1; i <= SMX_BINS; i++) v = v * 0x1p32 + (double)a->b[i];
  const int32_t e = 32 * (a->top + 1 - SMX_BINS) + e2, h = e / 2;
  return v * pow2k(h) * pow2k(e - h);
}

/* The scalar ISA's row state: the reference's blocks folded into s (no values stored). */
void smx_lse_fold_scalar(size_t n, const float *x, smx_lse *s, smx_pass1_store *st) {
  if (st) st->complete = 0; /* nothing stored */
  for (size_t b = 0; b < n; b += SMX_BLOCK) smx_lse_block_scalar(x + b, n - b < SMX_BLOCK ? n - b : SMX_BLOCK, s);
}
