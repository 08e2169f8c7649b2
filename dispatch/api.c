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
  case SMX_ERR_ARG: return "an option or argument out of its range (or an options struct without struct_size)";
  case SMX_ERR_ISA: return "ISA not compiled in or not supported by this CPU";
  case SMX_ERR_ALIAS: return "an output overlaps an input without being exactly the same matrix";
  }
  return "unknown status";
}

size_t smx_span_bytes(size_t rows, size_t n, size_t ld) { /* overflow by the builtins: no division per call */
  size_t elems;
  if (rows == 0 || __builtin_mul_overflow(rows - 1, ld, &elems) || __builtin_add_overflow(elems, n, &elems)) return 0;
  return elems > SIZE_MAX / sizeof(float) ? 0 : elems * sizeof(float);
}

int smx_overlap(const void *a, size_t na, const void *b, size_t nb) {
  uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
  return na && nb && pa < pb + nb && pb < pa + na;
}

smx_status smx_check_alias(const float *o, size_t ldo, const float *i, size_t ldi, size_t rows, size_t n) {
  if (o == i && ldo == ldi) return SMX_OK;
  return smx_overlap(o, smx_span_bytes(rows, n, ldo), i, smx_span_bytes(rows, n, ldi)) ? SMX_ERR_ALIAS : SMX_OK;
}

smx_status smx_check_matrix(const char *fn, const char *what, size_t rows, size_t n, size_t ld) {
  if (n == 0) return smx_fail(SMX_ERR_SHAPE, "%s: n is 0", fn);
  if (ld < n) return smx_fail(SMX_ERR_SHAPE, "%s: the leading dimension of %s (%zu) is below n = %zu", fn, what, ld, n);
  if (n > SIZE_MAX / sizeof(float)) /* also for rows == 0 */
    return smx_fail(SMX_ERR_SHAPE, "%s: n = %zu overflows a row of %s", fn, n, what);
  if (rows && smx_span_bytes(rows, n, ld) == 0)
    return smx_fail(SMX_ERR_SHAPE, "%s: %s (%zu rows, n = %zu, leading dimension %zu) overflows size_t", fn, what,
                    rows, n, ld);
  return SMX_OK;
}

smx_status smx_check_out(const char *fn, const char *what, const float *o, size_t ldo, const char *in, const float *i,
                         size_t ldi, size_t rows, size_t n) {
  if (smx_check_alias(o, ldo, i, ldi, rows, n))
    return smx_fail(SMX_ERR_ALIAS, "%s: %s overlaps %s without being exactly the same matrix", fn, what, in);
  return SMX_OK;
}

#define SMX_NULL_(p) \
  if (!(p)) return smx_fail(SMX_ERR_NULL, "%s: " #p " is NULL", fn)

/* The public entry point of each kernel of SMX_KERNELS, by its signature kind: validate, then call the
   active table's kernel on the whole block of rows. */
#define SMX_WRAP_MAP(name)                                                                          \
  static void run_##name(const smx_rows_job *j, size_t r0, size_t r1) {                            \
    j->k->name(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, j->out + r0 * j->ldo, j->ldo);            \
  }                                                                                                 \
  smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy) { \
    static const char fn[] = "smx_" #name "_f32";                                                   \
    smx_status s;                                                                                   \
    SMX_NULL_(x);                                                                                   \
    SMX_NULL_(y);                                                                                   \
    if ((s = smx_check_matrix(fn, "x", rows, n, ldx)) || (s = smx_check_matrix(fn, "y", rows, n, ldy))) return s; \
    if ((s = smx_check_out(fn, "y", y, ldy, "x", x, ldx, rows, n))) return s;                       \
    smx_rows_job j = {.run = run_##name, .id = SMX_KERNEL_ID_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = x, .ldx = ldx, .out = y, .ldo = ldy}; \
    smx_run_rows(&j);                                                                               \
    return SMX_OK;                                                                                  \
  }
#define SMX_WRAP_LSE(name)                                                                          \
  static void run_##name(const smx_rows_job *j, size_t r0, size_t r1) {                            \
    j->k->name(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, j->out + r0);                             \
  }                                                                                                 \
  smx_status smx_##name##_f32(size_t rows, size_t n, const float *x, size_t ldx, float *out) {     \
    static const char fn[] = "smx_" #name "_f32";                                                   \
    smx_status s;                                                                                   \
    SMX_NULL_(x);                                                                                   \
    SMX_NULL_(out);                                                                                 \
    if ((s = smx_check_matrix(fn, "x", rows, n, ldx))) return s;                                    \
    if (rows > SIZE_MAX / sizeof(float)) return smx_fail(SMX_ERR_SHAPE, "%s: rows = %zu overflows out", fn, rows); \
    if (smx_overlap(out, rows * sizeof(float), x, smx_span_bytes(rows, n, ldx)))                    \
      return smx_fail(SMX_ERR_ALIAS, "%s: out overlaps x", fn);                                     \
    smx_rows_job j = {.run = run_##name, .id = SMX_KERNEL_ID_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = x, .ldx = ldx, .out = out}; \
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
    static const char fn[] = "smx_" #name "_f32";                                                   \
    smx_status s;                                                                                   \
    SMX_NULL_(y);                                                                                   \
    SMX_NULL_(dy);                                                                                  \
    SMX_NULL_(dx);                                                                                  \
    if ((s = smx_check_matrix(fn, "y", rows, n, ldy)) || (s = smx_check_matrix(fn, "dy", rows, n, lddy)) || \
        (s = smx_check_matrix(fn, "dx", rows, n, lddx)))                                            \
      return s;                                                                                     \
    if ((s = smx_check_out(fn, "dx", dx, lddx, "y", y, ldy, rows, n)) ||                            \
        (s = smx_check_out(fn, "dx", dx, lddx, "dy", dy, lddy, rows, n)))                           \
      return s;                                                                                     \
    smx_rows_job j = {.run = run_##name, .id = SMX_KERNEL_ID_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = y, .ldx = ldy, .dy = dy,   \
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
    static const char fn[] = "smx_" #name "_f32";                                                   \
    smx_status s;                                                                                   \
    SMX_NULL_(x);                                                                                   \
    SMX_NULL_(y);                                                                                   \
    SMX_NULL_(dy);                                                                                  \
    SMX_NULL_(dx);                                                                                  \
    if ((s = smx_check_matrix(fn, "x", rows, n, ldx)) || (s = smx_check_matrix(fn, "y", rows, n, ldy)) || \
        (s = smx_check_matrix(fn, "dy", rows, n, lddy)) || (s = smx_check_matrix(fn, "dx", rows, n, lddx))) \
      return s;                                                                                     \
    if ((s = smx_check_out(fn, "dx", dx, lddx, "x", x, ldx, rows, n)) ||                            \
        (s = smx_check_out(fn, "dx", dx, lddx, "y", y, ldy, rows, n)) ||                            \
        (s = smx_check_out(fn, "dx", dx, lddx, "dy", dy, lddy, rows, n)))                           \
      return s;                                                                                     \
    smx_rows_job j = {.run = run_##name, .id = SMX_KERNEL_ID_##name, .k = smx_active_kernels(), .rows = rows, .n = n, .x = x, .ldx = ldx, .y = y,     \
                      .ldy = ldy, .dy = dy, .lddy = lddy, .out = dx, .ldo = lddx}; \
    smx_run_rows(&j);                                                                               \
    return SMX_OK;                                                                                  \
  }
#define SMX_WRAP_XENT(name) /* smx_cross_entropy_f32 (dispatch/xent.c) */
#define SMX_WRAP_(name, kind, forward) SMX_WRAP_##kind(name)
SMX_KERNELS(SMX_WRAP_)
