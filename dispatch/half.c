/* The bfloat16 and binary16 entry points and array converters: the active table's fused 16-bit kernel where it
   has one, else rows widened exactly into a per-task f32 scratch (64 KiB on the stack; longer rows of the softmax
   and stablemax families by chunks), run by the f32 kernel and rounded back: every result is exactly the f32
   kernel's on the widened input, rounded once. No heap. */
#include <stdlib.h>

#include "fpenv.h"
#include "half.h"
#include "parallel.h"

enum { T_F16, T_BF16 }; /* T_BF16 is the bf16 flag of the widen16/narrow16 pieces */
enum { KIND_MAP, KIND_LSE, KIND_BWD, KIND_BWDX }; /* the signature kinds of SMX_KERNELS */
#define SCRATCH_FLOATS 16384 /* 64 KiB */
/* rows per scratch batch: as many as fill 32 KiB (at least one), so that a batch and its 16-bit rows stay near L1
   (the smallest L1D seen: 32 KiB; 64 KiB batches on an AVX-512 Xeon with 48 KiB, bf16 and f16, rows x n = 2^16:
   log-softmax 1.12-1.16x and logsumexp 1.10-1.15x the time at n = 256..4096, stablemax 1.06x, sparsemax at 256
   1.10x; avx2 on the same CPU 1.02-1.09x; rows of at most 100 unchanged) */
#define BATCH_FLOATS 8192
#define FUSED_MID_MIN_ELEMS ((size_t)1 << 19) /* 1 MiB of 16-bit values: with the output, past a 1 MiB L2 */

/* ---- the array converters ---- */
void smx_widen16_rows(const smx_kernels *k, int bf16, size_t rows, size_t n, const uint16_t *x, size_t ld16, float *y,
                      size_t ld32) {
  if (ld16 == n && ld32 == n) k->widen16(bf16, rows * n, x, y);
  else
    for (size_t r = 0; r < rows; r++) k->widen16(bf16, n, x + r * ld16, y + r * ld32);
}
void smx_narrow16_rows(const smx_kernels *k, int bf16, size_t rows, size_t n, const float *x, size_t ld32, uint16_t *y,
                       size_t ld16) {
  if (ld16 == n && ld32 == n) k->narrow16(bf16, rows * n, x, y);
  else
    for (size_t r = 0; r < rows; r++) k->narrow16(bf16, n, x + r * ld32, y + r * ld16);
}
static size_t span16(size_t rows, size_t n, size_t ld) { /* bytes of a rows x n matrix of 16-bit values; 0 on overflow */
  size_t e;
  if (rows == 0 || __builtin_mul_overflow(rows - 1, ld, &e) || __builtin_add_overflow(e, n, &e)) return 0;
  return e > SIZE_MAX / 4 ? 0 : e * 2; /* the f32 side must fit too */
}
static smx_status check16(size_t rows, size_t n, size_t ld) {
  if (n == 0 || ld < n || n > SIZE_MAX / sizeof(float)) return SMX_ERR_SHAPE;
  return rows && span16(rows, n, ld) == 0 ? SMX_ERR_SHAPE : SMX_OK;
}
static smx_status check32(size_t rows, size_t n, size_t ld) {
  if (n == 0 || ld < n || n > SIZE_MAX / sizeof(float)) return SMX_ERR_SHAPE;
  return rows && smx_span_bytes(rows, n, ld) == 0 ? SMX_ERR_SHAPE : SMX_OK;
}
static smx_status to16(int t, size_t rows, size_t n, const float *x, size_t ldx, uint16_t *y, size_t ldy) {
  smx_status s;
  if (!x || !y) return SMX_ERR_NULL;
  if ((s = check32(rows, n, ldx)) || (s = check16(rows, n, ldy))) return s;
  if (smx_overlap(x, smx_span_bytes(rows, n, ldx), y, span16(rows, n, ldy))) return SMX_ERR_ALIAS;
  const smx_kernels *k = smx_active_kernels();
  const smx_fpenv env = smx_fpenv_enter();
  smx_narrow16_rows(k, t, rows, n, x, ldx, y, ldy);
  smx_fpenv_leave(env);
  return SMX_OK;
}
static smx_status from16(int t, size_t rows, size_t n, const uint16_t *x, size_t ldx, float *y, size_t ldy) {
  smx_status s;
  if (!x || !y) return SMX_ERR_NULL;
  if ((s = check16(rows, n, ldx)) || (s = check32(rows, n, ldy))) return s;
  if (smx_overlap(x, span16(rows, n, ldx), y, smx_span_bytes(rows, n, ldy))) return SMX_ERR_ALIAS;
  const smx_kernels *k = smx_active_kernels();
  const smx_fpenv env = smx_fpenv_enter();
  smx_widen16_rows(k, t, rows, n, x, ldx, y, ldy);
  smx_fpenv_leave(env);
  return SMX_OK;
}
smx_status smx_bf16_from_f32(size_t rows, size_t n, const float *x, size_t ldx, smx_bf16 *y, size_t ldy) {
  return to16(T_BF16, rows, n, x, ldx, y, ldy);
}
smx_status smx_f16_from_f32(size_t rows, size_t n, const float *x, size_t ldx, smx_f16 *y, size_t ldy) {
  return to16(T_F16, rows, n, x, ldx, y, ldy);
}
smx_status smx_f32_from_bf16(size_t rows, size_t n, const smx_bf16 *x, size_t ldx, float *y, size_t ldy) {
  return from16(T_BF16, rows, n, x, ldx, y, ldy);
}
smx_status smx_f32_from_f16(size_t rows, size_t n, const smx_f16 *x, size_t ldx, float *y, size_t ldy) {
  return from16(T_F16, rows, n, x, ldx, y, ldy);
}

/* ---- the kernels: inputs (a, b, c) widened into the scratch, the output rounded back ---- */
typedef struct {
  smx_rows_job base; /* first: smx_run_rows hands its address back; id, x16, out16, bf16 set */
  int t, kind;
  void (*fused)(void); /* the active table's fused 16-bit kernel of the job's kind (SMX_FUSED16), or NULL */
  union {
    smx_MAP_fn *map;
    smx_LSE_fn *lse;
    smx_BWD_fn *bwd;
    smx_BWDX_fn *bwdx;
  } fn;
  const uint16_t *a, *b, *c; /* MAP/LSE: x; BWD: y, dy; BWDX: x, y, dy */
  size_t lda, ldb, ldc;
  uint16_t *o;
  float *lse; /* LSE: one float per row */
  size_t ldo;
} job16;

void smx_lse_fold16(const smx_kernels *k, int bf16, size_t n, const uint16_t *x, smx_lse *s, float *S) {
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(bf16, len, x + c, S);
    k->lse_fold(len, S, s, NULL);
  }
}
void smx_family16_cols(const smx_kernels *k, int bf16, size_t n, const uint16_t *x, uint16_t *y, const smx_lse_final *f,
                       const smx_softmax_out *o, int log_out, double kinf, float *S, float *Y) {
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(bf16, len, x + c, S);
    if (f->kind != SMX_ROW_FINITE) smx_special_cols(f->kind, kinf, len, S, Y, log_out);
    else if (log_out) k->log_softmax_cols(len, S, Y, f);
    else k->softmax_cols(len, S, Y, NULL, f, o);
    k->narrow16(bf16, len, Y, y + c);
  }
}

/* One row of softmax, log-softmax or logsumexp (id) too long for the scratch: folded chunk by chunk into one row
   state, as the f32 kernel folds its blocks (the same state, so the same bits), then the output chunk by chunk
   through the row pieces. No heap, any n. */
static void family16_row(const smx_kernels *k, int t, enum smx_kernel_id id, size_t n, const uint16_t *x, uint16_t *y,
                         float *lse, float *S, float *Y) {
  smx_lse s;
  smx_lse_init(&s);
  smx_lse_fold16(k, t, n, x, &s, S);
  smx_lse_final f;
  smx_lse_finish(&s, &f, id != SMX_KERNEL_ID_softmax);
  if (id == SMX_KERNEL_ID_logsumexp) {
    *lse = f.lse;
    return;
  }
  double kinf = 0.0;
  if (f.kind == SMX_ROW_POSINF)
    for (size_t c = 0; c < n; c += SMX_CHUNK16) {
      const size_t len = smx_chunk16_len(n, c);
      k->widen16(t, len, x + c, S);
      kinf += smx_count_posinf(len, S);
    }
  smx_softmax_out o;
  if (f.kind == SMX_ROW_FINITE && f.shifted && id == SMX_KERNEL_ID_softmax) smx_softmax_out_init(&f, &o);
  smx_family16_cols(k, t, n, x, y, &f, &o, id == SMX_KERNEL_ID_log_softmax, kinf, S, Y);
}

/* One stablemax row too long for the scratch, in chunks (multiples of its 16 double lanes): the
   lanes continued chunk by chunk (the f32 kernel's sum), then the probabilities chunk by chunk; the rows that
   smx_stablemax_rare_row takes (NaN, +inf, all -inf, a sum below SMX_STABLE_TINY) by its rules over the chunks.
   No heap, any n. */
static void stable16_row(const smx_kernels *k, int t, size_t n, const uint16_t *x, uint16_t *y, float *S, float *Y) {
  double lanes[SMX_DLANES] = {0}, kinf = 0.0, seq = 0.0, ties = 0.0;
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, x + c, S);
    k->stable_lanes(len, S, NAN, lanes, &ties);
  }
  const double sum = smx_tree_sum16d(lanes);
  const enum smx_row_kind kind = smx_stable_kind(sum);
  const int tiny = kind == SMX_ROW_FINITE && sum < SMX_STABLE_TINY;
  smx_stable_c sc;
  if (kind == SMX_ROW_FINITE && !tiny) smx_stable_scale(sum, &sc);
  for (size_t c = 0; c < n && (tiny || kind == SMX_ROW_POSINF); c += SMX_CHUNK16) { /* the rare rows' sum or +inf count */
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, x + c, S);
    if (tiny)
      for (size_t i = 0; i < len; i++) seq += smx_stable_s64(S[i]);
    else
      kinf += smx_count_posinf(len, S);
  }
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, x + c, S);
    if (kind != SMX_ROW_FINITE) smx_special_cols(kind, kinf, len, S, Y, 0);
    else if (tiny)
      for (size_t i = 0; i < len; i++) Y[i] = smx_stable_p_tiny(S[i], seq);
    else k->stablemax_cols(len, S, Y, &sc);
    k->narrow16(t, len, Y, y + c);
  }
}

/* One log-stablemax row too long for the scratch, in chunks: its max and NaN flag, then its s-sum's lanes below the
   max and the ties (log_stablemax's state), then the log-probabilities; rows with a NaN, +inf or only -inf by the
   special rule. No heap, any n. */
static void log_stable16_row(const smx_kernels *k, int t, size_t n, const uint16_t *x, uint16_t *y, float *S, float *Y) {
  float m = -INFINITY;
  int nan = 0;
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    int nanc;
    k->widen16(t, len, x + c, S);
    const float mc = k->max_nan(len, S, &nanc);
    nan |= nanc, m = mc > m ? mc : m;
  }
  const enum smx_row_kind kind = smx_row_kind_of(m, nan);
  double lanes[SMX_DLANES] = {0}, K = 0.0, kinf = 0.0;
  for (size_t c = 0; c < n && kind != SMX_ROW_NAN && kind != SMX_ROW_ALLNEGINF; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, x + c, S);
    if (kind == SMX_ROW_POSINF) kinf += smx_count_posinf(len, S);
    else k->stable_lanes(len, S, m, lanes, &K);
  }
  float top = 0.0f, nlh = 0.0f, ll = 0.0f;
  if (kind == SMX_ROW_FINITE) smx_log_stable_consts(m, K, smx_tree_sum16d(lanes), &top, &nlh, &ll);
  for (size_t c = 0; c < n; c += SMX_CHUNK16) {
    const size_t len = smx_chunk16_len(n, c);
    k->widen16(t, len, x + c, S);
    if (kind != SMX_ROW_FINITE) smx_special_cols(kind, kinf, len, S, Y, 1);
    else k->log_stablemax_cols(len, S, Y, m, top, nlh, ll);
    k->narrow16(t, len, Y, y + c);
  }
}

/* rows through the f32 kernel in the scratch (out of line: the scratch is on the stack only on this path; the
   fused kernels keep scratches of their own) */
static __attribute__((noinline)) void scratch_rows(const job16 *j, size_t r0, size_t r1) {
  const smx_kernels *k = j->base.k;
  const size_t n = j->base.n, nin = j->kind == KIND_BWDX ? 3 : j->kind == KIND_BWD ? 2 : 1;
  const int apart = j->kind == KIND_MAP && 2 * n <= SCRATCH_FLOATS;
  float buf[SCRATCH_FLOATS];
  const enum smx_kernel_id id = j->base.id;
  const int chunked = id == SMX_KERNEL_ID_softmax || id == SMX_KERNEL_ID_log_softmax || id == SMX_KERNEL_ID_logsumexp ||
                      id == SMX_KERNEL_ID_stablemax || id == SMX_KERNEL_ID_log_stablemax;
  if (chunked && n > SCRATCH_FLOATS) {
    for (size_t r = r0; r < r1; r++) { /* (smx_run_rows runs every task in the FP environment) */
      if (id == SMX_KERNEL_ID_stablemax)
        stable16_row(k, j->t, n, j->a + r * j->lda, j->o + r * j->ldo, buf, buf + SMX_CHUNK16);
      else if (id == SMX_KERNEL_ID_log_stablemax)
        log_stable16_row(k, j->t, n, j->a + r * j->lda, j->o + r * j->ldo, buf, buf + SMX_CHUNK16);
      else
        family16_row(k, j->t, id, n, j->a + r * j->lda, j->o ? j->o + r * j->ldo : NULL, j->lse ? j->lse + r : NULL,
                     buf, buf + SMX_CHUNK16);
    }
    return;
  }
  /* rows per batch; a row longer than the scratch never comes here (run16: the kernels of the other rows are fused
     in every table, SMX_FUSED16_REF) */
  const size_t row_floats = (nin + (size_t)apart) * n;
  if (row_floats > SCRATCH_FLOATS) abort();
  const size_t per = row_floats > BATCH_FLOATS ? 1 : BATCH_FLOATS / row_floats;
  for (size_t r = r0; r < r1; r += per) {
    const size_t m = r1 - r < per ? r1 - r : per;
    float *A = buf, *B = buf + m * n, *C = buf + 2 * m * n;
    smx_widen16_rows(k, j->t, m, n, j->a + r * j->lda, j->lda, A, n);
    if (nin > 1) smx_widen16_rows(k, j->t, m, n, j->b + r * j->ldb, j->ldb, B, n);
    if (nin > 2) smx_widen16_rows(k, j->t, m, n, j->c + r * j->ldc, j->ldc, C, n);
    /* apart: after the input; else in place over the last input (every kernel allows it) */
    float *out = apart || nin == 2 ? B : nin == 1 ? A : C;
    switch (j->kind) {
    case KIND_MAP: j->fn.map(m, n, A, n, out, n); break;
    case KIND_LSE: j->fn.lse(m, n, A, n, j->lse + r); break;
    case KIND_BWD: j->fn.bwd(m, n, A, n, B, n, out, n); break;
    default: j->fn.bwdx(m, n, A, n, B, n, C, n, out, n); break;
    }
    if (j->kind != KIND_LSE) smx_narrow16_rows(k, j->t, m, n, out, n, j->o + r * j->ldo, j->ldo);
  }
}

/* Fused kernels (the active table's SMX_FUSED16) get the 16-bit rows as they are. The others: rows in batches
   through the f32 kernel: as many rows as the scratch holds (a MAP kernel's output apart from its
   input where two copies fit, so that softmax keeps its pass-1 values, else in place); rows longer than the
   scratch: fused on the SIMD tables, and on the scalar table those of the softmax and stablemax families by
   chunks (family16_row, stable16_row, log_stable16_row), the others fused. */
static void run16(const smx_rows_job *bj, size_t r0, size_t r1) {
  const job16 *j = (const job16 *)bj;
  const size_t n = j->base.n;
  /* fused: no scratch. The MAP and LSE ones (the row path) only for rows longer than the scratch: shorter rows
     were as fast or faster through it (Zen 5: log-softmax bf16 1x4096 1.33x the f32 time through the scratch,
     1.46x fused; 1x32000 1.68x / 1.55x; 1 x 2^22 from memory 1.51x / 0.89x); and softmax rows of more than one
     block up to SMX_SOFTMAX16_STORE, which the fused kernel keeps in its own scratch (bf16 from memory 0.70-0.74x
     the time through the scratch on avx512, 0.80-0.91x on avx2; in cache 0.64-1.07x / 0.66-1.13x) */
  const enum smx_kernel_id id = j->base.id;
  const int fused_store = id == SMX_KERNEL_ID_softmax && n > SMX_BLOCK && n <= SMX_SOFTMAX16_STORE;
  /* log-softmax and logsumexp rows of more than one block, and stablemax rows of any length, in calls of at least
     1 MiB of input (bf16 calls cycling through 128 MiB, fused against the scratch, Zen 5: avx512 256 x 4096
     log-softmax 654 -> 561 us, logsumexp 372 -> 312, stablemax 702 -> 557; 512 x 2000 765 -> 395, 410 -> 242,
     672 -> 510; avx2 within -12% .. +18%, 1.00x overall; stablemax 4096 x 4096 1.49 -> 1.08x the f32 time on avx512;
     smaller calls stay in cache, where the fused pass 1 is up to 1.26x slower on avx2, stablemax 1.1-1.4x; the
     threshold was 4 MiB until the eighth session: 1 MiB took smx-bench's mem case, 256 x 4096, from 1.6-2.0x to
     0.7-1.0x the f32 time); log-stablemax's rows of 512 or more in such calls (twenty-fourth session, Zen 4, bf16
     rows x n = 2^24 fused against the scratch: avx512bf16 0.87-0.90x at n = 384..1000, 0.77-0.79x at 4096..200000,
     avx2 1.01x at 512, 0.92x at 4096..32000; its shorter rows lose the f32 kernel's lane groups: 2.5x at n = 16,
     1.06x at 256) */
  const int big_call = j->base.rows * n >= FUSED_MID_MIN_ELEMS;
  const int lse_family = id == SMX_KERNEL_ID_log_softmax || id == SMX_KERNEL_ID_logsumexp;
  const int fused_mid = big_call && ((lse_family && n > SMX_BLOCK) || id == SMX_KERNEL_ID_stablemax ||
                                     (id == SMX_KERNEL_ID_log_stablemax && n >= SMX_BLOCK / 2));
  /* the softmax family's rows of more than 3/4 of a block in any call where the CPU's stores make the scratch's
     widened copy the dearer (smx_fused16_in_cache; Zen 4, avx512bf16, bf16 rows x n = 2^16 in cache, fused against
     the scratch: log-softmax 0.95-0.98x at n = 768..1024, 0.87-0.91x at 1500..16384, logsumexp 0.95-1.0x, 0.83-0.87x,
     softmax 0.90-0.93x at 768..1024; f16 at 4096 0.93x, 0.86x; at 512 1.0-1.1x; Intel's AVX-512 Xeon ~0.96x at 4096;
     Zen 5 1.10x at 1 x 4096 and AVX2 up to 1.26x: the scratch stays there). On the same CPUs stablemax's rows past
     its lane groups: the divisions bind its f32 kernel and the fused kernel's widening runs beside them, where the
     scratch adds two passes (twenty-ninth session, Zen 4, avx512bf16, rows x n = 2^16, bf16 and f16 over f32 time:
     fused 1.07-1.11x at n = 33..4096, through the scratch 1.11-1.21x; at 16, below the lane groups, 1.34x against
     1.12x; avx2 on the same CPU fused 1.11-1.49x against 1.13-1.25x) */
  const int in_cache = smx_fused16_in_cache(j->base.k);
  const int fused_cache = in_cache && (((lse_family || id == SMX_KERNEL_ID_softmax) && n > SMX_FUSED16_CACHE_MIN_N) ||
                                       (id == SMX_KERNEL_ID_stablemax && n > SMX_STABLE_LANES_MAX));
  /* sparsemax rows of 512 entries or more (Zen 5, bf16 over f32 time, fused against the scratch: avx512 1 x 4096
     1.47 -> 1.19x in cache, 4096 x 4096 from memory 1.13-1.32 -> 0.42-0.50x; avx2 64 x 512 1.49 -> 1.13x, 4096 x 4096
     1.23 -> 0.80x; shorter rows on avx2 were slower fused: 64 x 300 1.31 -> 1.52x); on the CPUs of
     smx_fused16_in_cache from 65 entries, past the rows the AVX-512 kernel holds in registers (twenty-ninth session,
     Zen 4, avx512bf16, rows x n = 2^16, bf16 / f16 over f32 time: fused 1.03-1.11x at n = 65..400, through the scratch
     1.06-1.25x; at 64 fused 1.15x against 1.08x) */
  const int fused_sparse = id == SMX_KERNEL_ID_sparsemax && (n >= SMX_BLOCK / 2 || (in_cache && n > SMX_SPARSE_SHORT));
  /* the softmax family's short rows in lane groups: the columns' loads widen them, no widened copy (Zen 3, avx2, bf16,
     rows x n = 2^16: 0.83-0.96x the time through the scratch at n = 16..128; Zen 4, avx512bf16, since the groups'
     outputs stay in registers, 0.92-0.97x at n = 9..15, avx2 0.87-1.01x). Rows of at most 8 entries stay in the
     scratch, whose conversions run over whole steps when the rows are contiguous (n = 8: 1.01-1.03x the time fused on
     Zen 4, softmax at 4 1.04-1.10x). The longer ones up to SMX_REG_ROWS_MAX in register groups, widened by their
     loads (Zen 4, avx512bf16, bf16, fused against the scratch: softmax 0.73-0.94x at n = 48..256, log-softmax and
     logsumexp 0.91-1.03x). */
  const size_t lane_max = smx_lane_rows_max(id);
  const int fused_lanes = (id == SMX_KERNEL_ID_softmax || lse_family) && n > 8 &&
                          (n <= lane_max ? r1 - r0 >= SMX_LANE_MIN_ROWS
                                         : n <= SMX_REG_ROWS_MAX && r1 - r0 >= SMX_GROUP_MIN_ROWS);
  /* log-softmax and logsumexp rows of one block past the register groups, two or more, on the same CPUs: in groups
     of 16 rows whose double math runs in lanes, as the f32 kernel's (twenty-eighth session, Zen 4, avx512bf16, rows x
     n = 2^16, fused against the scratch, bf16 / f16: log-softmax 0.81-0.89x / 0.91-0.97x at n = 257..768, logsumexp
     0.85-0.90x / 0.90-0.93x; avx2 on the same CPU 0.94-1.03x: the scratch stays there); softmax's too, their pass-1
     values kept in a stack scratch of the group's and rescaled into the 16-bit output (twenty-ninth session: bf16 /
     f16 0.77-0.84x / 0.80-0.87x at n = 257..768; at 769..1024, which went fused a row at a time, 0.89-0.91x) */
  const int fused_group = (lse_family || id == SMX_KERNEL_ID_softmax) && n > SMX_REG_ROWS_MAX && n <= SMX_BLOCK &&
                          r1 - r0 >= SMX_GROUP_MIN_ROWS && in_cache;
  const int backward = j->kind == KIND_BWD || j->kind == KIND_BWDX;
  if (j->fused &&
      (backward || n > SCRATCH_FLOATS || fused_store || fused_mid || fused_cache || fused_sparse || fused_lanes ||
       fused_group)) {
    const size_t m = r1 - r0;
    if (j->kind == KIND_MAP) ((smx_MAP16_fn *)j->fused)(j->t, m, n, j->a + r0 * j->lda, j->lda, j->o + r0 * j->ldo, j->ldo);
    else if (j->kind == KIND_LSE) ((smx_LSE16_fn *)j->fused)(j->t, m, n, j->a + r0 * j->lda, j->lda, j->lse + r0);
    else if (j->kind == KIND_BWD)
      ((smx_BWD16_fn *)j->fused)(j->t, m, n, j->a + r0 * j->lda, j->lda, j->b + r0 * j->ldb, j->ldb, j->o + r0 * j->ldo, j->ldo);
    else
      ((smx_BWDX16_fn *)j->fused)(j->t, m, n, j->a + r0 * j->lda, j->lda, j->b + r0 * j->ldb, j->ldb, j->c + r0 * j->ldc,
                                   j->ldc, j->o + r0 * j->ldo, j->ldo);
    return;
  }
  scratch_rows(j, r0, r1);
}

/* An output (o, ldo) against an input (i, ldi), 16-bit, rows x n: OK when disjoint or exactly the same. */
static smx_status alias16(const void *o, size_t ldo, const void *i, size_t ldi, size_t rows, size_t n) {
  if (o == i && ldo == ldi) return SMX_OK;
  return smx_overlap(o, span16(rows, n, ldo), i, span16(rows, n, ldi)) ? SMX_ERR_ALIAS : SMX_OK;
}

/* the table's fused 16-bit kernel of a kernel (SMX_FUSED16), or NULL (called through its kind's type) */
static void (*fused16_of(const smx_kernels *k, enum smx_kernel_id id))(void) {
#define SMX_FUSED16_CASE_(name, kind) if (id == SMX_KERNEL_ID_##name) return (void (*)(void))k->name##16;
  SMX_FUSED16(SMX_FUSED16_CASE_)
#undef SMX_FUSED16_CASE_
  return NULL;
}

static smx_status run_kind(job16 *j, size_t rows, size_t n) {
  j->base.run = run16, j->base.k = smx_active_kernels(), j->base.rows = rows, j->base.n = n;
  /* (the softmax family's long rows, fewer than the threads, are split by blocks: smx_run_long_rows) */
  j->base.x16 = j->a, j->base.ldx = j->lda, j->base.out16 = j->o, j->base.ldo = j->ldo, j->base.out = j->lse;
  j->base.bf16 = j->t == T_BF16;
  smx_run_rows(&j->base);
  return SMX_OK;
}

/* The entry points of each kind, for one 16-bit type (T, sfx, tag). */
#define SMX_HALF_MAP(name, T, sfx, tag)                                                             \
  smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *x, size_t ldx, T *y, size_t ldy) { \
    smx_status s;                                                                                   \
    if (!x || !y) return SMX_ERR_NULL;                                                              \
    if ((s = check16(rows, n, ldx)) || (s = check16(rows, n, ldy))) return s;                       \
    if ((s = alias16(y, ldy, x, ldx, rows, n))) return s;                                           \
    job16 j = {.t = tag, .kind = KIND_MAP, .base.id = SMX_KERNEL_ID_##name, .a = x, .lda = ldx, .o = y, .ldo = ldy}; \
    j.fn.map = smx_active_kernels()->name;                                                          \
    j.fused = fused16_of(smx_active_kernels(), SMX_KERNEL_ID_##name);                               \
    return run_kind(&j, rows, n);                                                                   \
  }
#define SMX_HALF_LSE(name, T, sfx, tag)                                                             \
  smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *x, size_t ldx, float *out) {       \
    smx_status s;                                                                                   \
    if (!x || !out) return SMX_ERR_NULL;                                                            \
    if ((s = check16(rows, n, ldx))) return s;                                                      \
    if (rows > SIZE_MAX / sizeof(float)) return SMX_ERR_SHAPE;                                      \
    if (smx_overlap(out, rows * sizeof(float), x, span16(rows, n, ldx))) return SMX_ERR_ALIAS;      \
    job16 j = {.t = tag, .kind = KIND_LSE, .base.id = SMX_KERNEL_ID_##name, .a = x, .lda = ldx, .lse = out}; \
    j.fn.lse = smx_active_kernels()->name;                                                          \
    j.fused = fused16_of(smx_active_kernels(), SMX_KERNEL_ID_##name);                               \
    return run_kind(&j, rows, n);                                                                   \
  }
#define SMX_HALF_BWD(name, T, sfx, tag)                                                             \
  smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *y, size_t ldy, const T *dy, size_t lddy, T *dx, \
                                size_t lddx) {                                                      \
    smx_status s;                                                                                   \
    if (!y || !dy || !dx) return SMX_ERR_NULL;                                                      \
    if ((s = check16(rows, n, ldy)) || (s = check16(rows, n, lddy)) || (s = check16(rows, n, lddx))) return s; \
    if ((s = alias16(dx, lddx, y, ldy, rows, n)) || (s = alias16(dx, lddx, dy, lddy, rows, n))) return s; \
    job16 j = {.t = tag, .kind = KIND_BWD, .base.id = SMX_KERNEL_ID_##name, .a = y, .b = dy, .lda = ldy, .ldb = lddy, .o = dx, .ldo = lddx}; \
    j.fn.bwd = smx_active_kernels()->name;                                                          \
    j.fused = fused16_of(smx_active_kernels(), SMX_KERNEL_ID_##name);                               \
    return run_kind(&j, rows, n);                                                                   \
  }
#define SMX_HALF_BWDX(name, T, sfx, tag)                                                            \
  smx_status smx_##name##_##sfx(size_t rows, size_t n, const T *x, size_t ldx, const T *y, size_t ldy, const T *dy, \
                                size_t lddy, T *dx, size_t lddx) {                                  \
    smx_status s;                                                                                   \
    if (!x || !y || !dy || !dx) return SMX_ERR_NULL;                                                \
    if ((s = check16(rows, n, ldx)) || (s = check16(rows, n, ldy)) || (s = check16(rows, n, lddy)) || \
        (s = check16(rows, n, lddx)))                                                               \
      return s;                                                                                     \
    if ((s = alias16(dx, lddx, x, ldx, rows, n)) || (s = alias16(dx, lddx, y, ldy, rows, n)) ||     \
        (s = alias16(dx, lddx, dy, lddy, rows, n)))                                                 \
      return s;                                                                                     \
    job16 j = {.t = tag, .kind = KIND_BWDX, .base.id = SMX_KERNEL_ID_##name, .a = x, .b = y, .c = dy, .lda = ldx, .ldb = ldy, .ldc = lddy, \
               .o = dx, .ldo = lddx};                                                               \
    j.fn.bwdx = smx_active_kernels()->name;                                                         \
    j.fused = fused16_of(smx_active_kernels(), SMX_KERNEL_ID_##name);                               \
    return run_kind(&j, rows, n);                                                                   \
  }
#define SMX_HALF_XENT(name, T, sfx, tag) /* smx_cross_entropy_bf16 / _f16 (dispatch/xent.c) */
#define SMX_HALF_(name, kind, forward)                                                             \
  SMX_HALF_##kind(name, smx_bf16, bf16, T_BF16) SMX_HALF_##kind(name, smx_f16, f16, T_F16)
SMX_KERNELS(SMX_HALF_)
