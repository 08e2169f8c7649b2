/* Public entry points of the kernels (but the cross-entropy): validate every argument, then call the table. */
#include "dispatch.h"
#include "parallel.h"

const char *smx_version(void) { return "0.1.0"; }

const char *smx_strerror(smx_status s) {
  switch (s) {
  case SMX_OK: return "ok";
  case SMX_ERR_NULL: return "a required pointer is NULL";
  case SMX_ERR_SHAPE: return "n == 0, a leading dimension < n, or a size that overflows size_t";
  case SMX_ERR_TARGET: return "a target outside [0, n) that is not the ignore_index";
  case SMX_ERR_ARG: return "an option out of its range";
  case SMX_ERR_ISA: return "ISA not compiled in or not supported by this CPU";
  case SMX_ERR_ALIAS: return "an output overlaps an input without being exactly the same matrix";
  }
  return "unknown status";
}

size_t smx_span_bytes(size_t rows, size_t n, size_t ld) {
  if (rows == 0) return 0;
  size_t last = rows - 1;
  if (ld && last > (SIZE_MAX - n) / ld) return 0;
  size_t elems = last * ld + n;
  if (elems > SIZE_MAX / sizeof(float)) return 0;
  return elems * sizeof(float);
}

int smx_overlap(const void *a, size_t na, const void *b, size_t nb) {
  uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
  return na && nb && pa < pb + nb && pb < pa + na;
}

smx_status smx_check_alias(const float *o, size_t ldo, const float *i, size_t ldi, size_t rows, size_t n) {
  if (o == i && ldo == ldi) return SMX_OK;
  return smx_overlap(o, smx_span_bytes(rows, n, ldo), i, smx_span_bytes(rows, n, ldi)) ? SMX_ERR_ALIAS : SMX_OK;
}

/* Shape of one matrix argument: ld >= n and the span fits in size_t. */
static smx_status check_matrix(size_t rows, size_t n, size_t ld) {
  if (n == 0 || ld < n || n > SIZE_MAX / sizeof(float)) return SMX_ERR_SHAPE; /* also for rows == 0 */
  if (rows && smx_span_bytes(rows, n, ld) == 0) return SMX_ERR_SHAPE;
  return SMX_OK;
}

/* The public entry point of each kernel of SMX_KERNELS, by its signature kind: validate, then call the
   active table's kernel on the whole block of rows. */
#define SMX_WRAP_MAP(name)                                                                          \
  static void run_##name(const smx_rows_job *j, size_t r0, size_t r1) {                            \
    j->k->name(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, j->out + r0 * j->ldo, j->ldo);            \
  }                                                                                                 \
  smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) { \
    smx_status s;                                                                                   \
    if (!x || !y) return SMX_ERR_NULL;                                                              \
    if ((s = check_matrix(rows, n, ldx)) || (s = check_matrix(rows, n, ldy))) return s;             \
    if ((s = smx_check_alias(y, ldy, x, ldx, rows, n))) return s;                                   \
    smx_rows_job j = {.run = run_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = x, .ldx = ldx, .out = y, .ldo = ldy}; \
    smx_run_rows(&j);                                                                               \
    return SMX_OK;                                                                                  \
  }
#define SMX_WRAP_LSE(name)                                                                          \
  static void run_##name(const smx_rows_job *j, size_t r0, size_t r1) {                            \
    j->k->name(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, j->out + r0);                             \
  }                                                                                                 \
  smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, float *out) {     \
    smx_status s;                                                                                   \
    if (!x || !out) return SMX_ERR_NULL;                                                            \
    if ((s = check_matrix(rows, n, ldx))) return s;                                                 \
    if (rows > SIZE_MAX / sizeof(float)) return SMX_ERR_SHAPE;                                      \
    if (smx_overlap(out, rows * sizeof(float), x, smx_span_bytes(rows, n, ldx))) return SMX_ERR_ALIAS; \
    smx_rows_job j = {.run = run_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = x, .ldx = ldx, .out = out}; \
    smx_run_rows(&j);                                                                               \
    return SMX_OK;                                                                                  \
  }
#define SMX_WRAP_BWD(name)                                                                          \
  static void run_##name(const smx_rows_job *j, size_t r0, size_t r1) {                            \
    j->k->name(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, j->dy + r0 * j->lddy, j->lddy, j->out + r0 * j->ldo, \
               j->ldo);                                                                             \
  }                                                                                                 \
  smx_status smx_##name##_f32(size_t rows, size_t n, const float *y, size_t ldy, const float *dy, size_t lddy, \
                              float *dx, size_t lddx) {                                             \
    smx_status s;                                                                                   \
    if (!y || !dy || !dx) return SMX_ERR_NULL;                                                      \
    if ((s = check_matrix(rows, n, ldy)) || (s = check_matrix(rows, n, lddy)) ||                    \
        (s = check_matrix(rows, n, lddx)))                                                          \
      return s;                                                                                     \
    if ((s = smx_check_alias(dx, lddx, y, ldy, rows, n)) || (s = smx_check_alias(dx, lddx, dy, lddy, rows, n))) \
      return s;                                                                                     \
    smx_rows_job j = {.run = run_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = y, .ldx = ldy, .dy = dy,   \
                      .lddy = lddy, .out = dx, .ldo = lddx}; \
    smx_run_rows(&j);                                                                               \
    return SMX_OK;                                                                                  \
  }
#define SMX_WRAP_BWDX(name)                                                                         \
  static void run_##name(const smx_rows_job *j, size_t r0, size_t r1) {                            \
    j->k->name(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, j->y + r0 * j->ldy, j->ldy, j->dy + r0 * j->lddy,   \
               j->lddy, j->out + r0 * j->ldo, j->ldo);                                              \
  }                                                                                                 \
  smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, const float *y, size_t ldy, \
                              const float *dy, size_t lddy, float *dx, size_t lddx) {               \
    smx_status s;                                                                                   \
    if (!x || !y || !dy || !dx) return SMX_ERR_NULL;                                                \
    if ((s = check_matrix(rows, n, ldx)) || (s = check_matrix(rows, n, ldy)) ||                     \
        (s = check_matrix(rows, n, lddy)) || (s = check_matrix(rows, n, lddx)))                     \
      return s;                                                                                     \
    if ((s = smx_check_alias(dx, lddx, x, ldx, rows, n)) || (s = smx_check_alias(dx, lddx, y, ldy, rows, n)) || \
        (s = smx_check_alias(dx, lddx, dy, lddy, rows, n)))                                         \
      return s;                                                                                     \
    smx_rows_job j = {.run = run_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = x, .ldx = ldx, .y = y,     \
                      .ldy = ldy, .dy = dy, .lddy = lddy, .out = dx, .ldo = lddx}; \
    smx_run_rows(&j);                                                                               \
    return SMX_OK;                                                                                  \
  }
#define SMX_WRAP_XENT(name) /* smx_cross_entropy_f32 (dispatch/xent.c) */
#define SMX_WRAP_(name, kind, forward) SMX_WRAP_##kind(name)
SMX_KERNELS(SMX_WRAP_)
