/* Public cross-entropy entry points (fused, forward, backward, probability targets): validate the options,
   targets and every pointer, then run the kernels; row losses are reduced in double. */
#include "dispatch.h"
#include <stdlib.h>

#include "fpenv.h"
#include "half.h"
#include "parallel.h"

void smx_xent_options_default(smx_xent_options *o) {
  if (!o) return;
  o->struct_size = sizeof(smx_xent_options);
  o->normalizer = SMX_NORM_SOFTMAX;
  o->reduction = SMX_REDUCE_MEAN;
  o->ignore_index = -100;
  o->label_smoothing = 0.0f;
  o->z_loss = 0.0f;
  o->softcap = 0.0f;
  o->class_weight = NULL;
  o->target_type = SMX_TARGET_I64;
}

/* The XENT kernels of SMX_KERNELS, in the order of smx_normalizer. */
#define SMX_XENT_PTR_XENT(name) k->name,
#define SMX_XENT_PTR_MAP(name)
#define SMX_XENT_PTR_LSE(name)
#define SMX_XENT_PTR_BWD(name)
#define SMX_XENT_PTR_BWDX(name)
#define SMX_XENT_PTR_(name, kind, forward) SMX_XENT_PTR_##kind(name)
static smx_XENT_fn *xent_kernel(const smx_kernels *k, smx_normalizer norm) {
  smx_XENT_fn *const list[] = {SMX_KERNELS(SMX_XENT_PTR_)};
  return list[norm];
}

/* The cross-entropy of rows [r0, r1) in one kernel call: each row's loss into losses[r - r0]. */
/* the call's row arguments from row r on, the row losses to losses */
static smx_xent_args args_from(const smx_rows_job *j, size_t r, double *losses) {
  smx_xent_args a = *j->xa;
  a.targets = (const char *)a.targets + r * (a.targets_i32 ? sizeof(int32_t) : sizeof(int64_t));
  if (a.grad_rows) a.grad_rows += r * a.grad_stride;
  a.row_loss = losses;
  return a;
}
static void run_xent(const smx_rows_job *j, size_t r0, size_t r1) {
  const smx_xent_args a = args_from(j, r0, j->row_losses + (r0 - j->losses_row0));
  j->xent(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, &a, j->loss_rows ? j->loss_rows + r0 : NULL,
          j->out ? j->out + r0 * j->ldo : NULL, j->ldo);
}

/* 16-bit logits and gradient: rows widened into a stack scratch, the f32 kernel on them
   with the gradient beside the logits where both fit (so that the kernel keeps its pass-1 values, as for a
   separate f32 gradient), rounded back. */
typedef struct {
  smx_rows_job base; /* first: smx_run_rows hands its address back; x16, out16 and bf16 set */
  int normalizer;    /* for the rows without the scratch (xent16_direct_rows) */
} xjob16;
#define XENT16_SCRATCH 16384 /* floats on the stack (64 KiB) */
#define XENT_STACK_ROWS 1024 /* row losses on the stack */
/* rows [r0, r1) as run_xent, widened into a stack scratch (at least 2 n floats with a gradient, else n) as many
   rows at a time as fit (out of line: the scratch is on the stack only on this path; the fused rows keep their own) */
static __attribute__((noinline)) void xent16_scratch_rows(const smx_rows_job *bj, size_t r0, size_t r1, double *losses) {
  float buf[XENT16_SCRATCH];
  const size_t n = bj->n, per = XENT16_SCRATCH / (bj->out16 ? 2 * n : n);
  for (size_t r = r0; r < r1; r += per) {
    const size_t m = r1 - r < per ? r1 - r : per;
    float *dx = bj->out16 ? buf + m * n : NULL;
    smx_widen16_rows(bj->k, bj->bf16, m, n, bj->x16 + r * bj->ldx, bj->ldx, buf, n);
    const smx_xent_args a = args_from(bj, r, losses + (r - r0));
    bj->xent(m, n, buf, n, &a, bj->loss_rows ? bj->loss_rows + r : NULL, dx, n);
    if (dx) smx_narrow16_rows(bj->k, bj->bf16, m, n, dx, n, bj->out16 + r * bj->ldo, bj->ldo);
  }
}
/* the table's fused 16-bit row of a normalizer, or NULL (softmax's fused kernel takes rows: xent16_direct_rows) */
static smx_XENTROW16_fn *xent_row16(const smx_kernels *k, int normalizer) {
  return normalizer == SMX_NORM_SPARSEMAX   ? k->xent_sparsemax16
         : normalizer == SMX_NORM_STABLEMAX ? k->xent_stablemax16
                                            : NULL;
}
/* row r0 + i by the chunked row state and shard (a, loss_rows: from row r0 on): the rows the fused kernels leave,
   and softmax and stablemax on the scalar table */
static void xent16_chunked_row(const xjob16 *j, const smx_xent_args *a, float *loss_rows, size_t r0, size_t i,
                               smx_xent_row *row) {
  const smx_rows_job *bj = &j->base;
  const size_t n = bj->n, r = r0 + i;
  uint16_t *d = bj->out16 ? bj->out16 + r * bj->ldo : NULL;
  double lr = 0.0;
  if (!smx_xent_row_begin(a, i, n, row, NULL)) {
    if (d) memset(d, 0, n * sizeof *d); /* +0 in both types */
  } else {
    lr = smx_xent16_row_chunked(bj->k, j->normalizer, bj->bf16, n, bj->x16 + r * bj->ldx, row, d);
  }
  smx_xent_row_end(a, loss_rows, i, lr, 0.0);
}
#define XENT16_LEFT_ROWS 256 /* rows a fused softmax call takes at a time (its left flags on the stack) */
/* rows [r0, r1) without the scratch (too long for it, or faster without it): the table's fused 16-bit rows, the
   softmax's in its groups of rows, or one at a time by the chunked row state */
static void xent16_direct_rows(const xjob16 *j, size_t r0, size_t r1, double *losses) {
  const smx_rows_job *bj = &j->base;
  const size_t n = bj->n;
  const smx_xent_args a = args_from(bj, r0, losses);
  float *loss_rows = bj->loss_rows ? bj->loss_rows + r0 : NULL;
  smx_xent_row row = a.row;
  if (j->normalizer == SMX_NORM_SOFTMAX && bj->k->xent_softmax16) {
    unsigned char left[XENT16_LEFT_ROWS];
    for (size_t r = 0; r < r1 - r0; r += XENT16_LEFT_ROWS) {
      const size_t m = r1 - r0 - r < XENT16_LEFT_ROWS ? r1 - r0 - r : XENT16_LEFT_ROWS;
      const smx_xent_args ar = args_from(bj, r0 + r, losses + r);
      uint16_t *d = bj->out16 ? bj->out16 + (r0 + r) * bj->ldo : NULL;
      bj->k->xent_softmax16(bj->bf16, m, n, bj->x16 + (r0 + r) * bj->ldx, bj->ldx, &ar, loss_rows ? loss_rows + r : NULL,
                            d, bj->ldo, left);
      for (size_t i = 0; i < m; i++)
        if (left[i]) xent16_chunked_row(j, &a, loss_rows, r0, r + i, &row);
    }
    return;
  }
  smx_XENTROW16_fn *const fused = xent_row16(bj->k, j->normalizer);
  for (size_t i = 0; i < r1 - r0; i++) {
    uint16_t *d = bj->out16 ? bj->out16 + (r0 + i) * bj->ldo : NULL;
    double lr = 0.0;
    if (fused && smx_xent_row_begin(&a, i, n, &row, NULL) &&
        fused(bj->bf16, n, bj->x16 + (r0 + i) * bj->ldx, &row, d, &lr))
      smx_xent_row_end(&a, loss_rows, i, lr, 0.0);
    else xent16_chunked_row(j, &a, loss_rows, r0, i, &row);
  }
}
static void run_xent16(const smx_rows_job *bj, size_t r0, size_t r1) {
  const size_t need = bj->out16 ? 2 * bj->n : bj->n;
  const int norm = ((const xjob16 *)bj)->normalizer;
  /* the softmax rows of more than SMX_REG_ROWS_MAX entries up to SMX_SOFTMAX16_STORE go fused: those of one block in
     the f32 kernel's groups of rows, their pass-1 values in a scratch of the kernel's own (forty-seventh session,
     Zen 4, with gradient, bf16 over the scratch's time, rows x n = 2^16 in cache: avx512bf16 0.77-0.95x at n =
     300..768, 0.86-1.0x at 800..1024, which went fused a row at a time, avx2 0.91-0.96x; rows x n = 2^24 from memory
     0.63-0.73x and 0.69-0.78x), the longer ones a row at a time (on the scalar table by chunks), their
     pass-1 values kept the same way (Zen 5, bf16, rows from memory: 0.62-0.75x the time through the scratch on avx512,
     0.83-0.93x on avx2). Shorter rows stay in the scratch: through loads that widen, the f32 kernel's lane and
     register groups took 1.02-1.09x its time on avx2 and for binary16 at n = 8, 16, 64 (0.93-1.0x for bfloat16 on
     avx512bf16). */
  const int fused_softmax = norm == SMX_NORM_SOFTMAX && bj->n <= SMX_SOFTMAX16_STORE &&
                            (bj->n > SMX_BLOCK || (bj->n > SMX_REG_ROWS_MAX && bj->k->xent_softmax16));
  const int in_cache = smx_fused16_in_cache(bj->k);
  /* sparsemax rows of 512 entries or more fused where the CPU's stores make the scratch's widened copy the dearer
     (smx_fused16_in_cache; Zen 4, avx512bf16, with gradient, fused against the scratch: rows x n = 2^16 0.69-0.79x the
     time at n = 512..4096 bf16, 0.72-0.84x f16; 2^24 from memory 0.74-0.76x). Elsewhere they stay in the scratch
     (Zen 5: fused bf16 64 x 300 .. 1 x 4096 in cache took 1.0-1.05x the scratch's time on avx512, 1.15-1.4x on
     avx2; 4096 x 4096 from memory 0.74x / 0.92x). */
  const int fused_sparse = norm == SMX_NORM_SPARSEMAX && bj->n >= SMX_BLOCK / 2 && in_cache;
  /* stablemax rows of more than half a block on the same CPUs: the divisions bind the f32 kernel and the fused row's
     widening runs beside them (twenty-ninth session, Zen 4, avx512bf16, with gradient, rows x n = 2^16, bf16 / f16 over
     f32 time: fused 1.14 / 1.15x at n = 700, 1.12 / 1.13x at 1000, 1.09 / 1.10x at 4096, through the scratch 1.17x;
     at 300..512 the f32 kernel's groups of rows win: fused 1.15-1.21x against 1.16-1.17x) */
  const int fused_stable = norm == SMX_NORM_STABLEMAX && bj->n > SMX_BLOCK / 2 && in_cache;
  double *const losses = bj->row_losses + (r0 - bj->losses_row0);
  if (need > XENT16_SCRATCH || fused_softmax || fused_sparse || fused_stable)
    xent16_direct_rows((const xjob16 *)bj, r0, r1, losses);
  else xent16_scratch_rows(bj, r0, r1, losses);
}

static int finite_nonneg(float v) { return v >= 0.0f && v <= 0x1.fffffep127f; }
static int finite(float v) { return v == v && v != INFINITY && v != -INFINITY; }

/* One call's arguments, checked by check_call; opts points at the caller's options or the defaults. */
typedef struct xent_call {
  const char *fn;
  size_t rows, n;
  const float *x;
  size_t ldx;
  const void *targets; /* NULL for probability targets */
  const float *q;
  size_t ldq;
  const smx_xent_options *opts;
  smx_xent_options defaults;
  size_t esize; /* bytes of a logit and a gradient entry: 4, or 2 for the 16-bit entry points (0 means 4) */
  int bf16;     /* 16-bit: bfloat16, else binary16 */
  size_t counted; /* class-index targets: the rows not ignored, */
  double weights; /* and their targets' class weights added in row order (0 without class_weight) */
} xent_call;

smx_status smx_xent_check_options(const char *fn, const smx_xent_options *o, size_t n, int soft) {
  if (o->struct_size != sizeof(smx_xent_options))
    return smx_fail(SMX_ERR_ARG,
                    "%s: opts->struct_size is %zu, not sizeof(smx_xent_options) = %zu: initialize the options with "
                    "smx_xent_options_default (a zero-initialized struct is rejected)",
                    fn, o->struct_size, sizeof(smx_xent_options));
  if ((unsigned)o->normalizer > SMX_NORM_SPARSEMAX)
    return smx_fail(SMX_ERR_ARG, "%s: opts->normalizer = %d is not an smx_normalizer", fn, (int)o->normalizer);
  if ((unsigned)o->reduction > SMX_REDUCE_MEAN)
    return smx_fail(SMX_ERR_ARG, "%s: opts->reduction = %d is not an smx_reduction", fn, (int)o->reduction);
  if ((unsigned)o->target_type > SMX_TARGET_I32)
    return smx_fail(SMX_ERR_ARG, "%s: opts->target_type = %d is not an smx_target_type", fn, (int)o->target_type);
  if (!(o->label_smoothing >= 0.0f && o->label_smoothing <= 1.0f))
    return smx_fail(SMX_ERR_ARG, "%s: opts->label_smoothing = %g is not in [0, 1]", fn, (double)o->label_smoothing);
  if (!finite_nonneg(o->z_loss))
    return smx_fail(SMX_ERR_ARG, "%s: opts->z_loss = %g is not finite and >= 0", fn, (double)o->z_loss);
  if (o->z_loss > 0.0f && o->normalizer != SMX_NORM_SOFTMAX)
    return smx_fail(SMX_ERR_ARG, "%s: opts->z_loss applies to the softmax normalizer only", fn);
  if (!finite_nonneg(o->softcap))
    return smx_fail(SMX_ERR_ARG, "%s: opts->softcap = %g is not finite and >= 0", fn, (double)o->softcap);
  /* 0 (off), or a cap whose reciprocal is finite: cap tanh(x / cap) is then finite for every x */
  if (o->softcap > 0.0f && !(1.0f / o->softcap <= 0x1.fffffep127f))
    return smx_fail(SMX_ERR_ARG, "%s: opts->softcap = %g is too small (1 / softcap overflows)", fn, (double)o->softcap);
  if (soft && o->class_weight && o->normalizer == SMX_NORM_SPARSEMAX)
    return smx_fail(SMX_ERR_ARG, "%s: opts->class_weight is not defined for sparsemax with probability targets", fn);
  for (size_t j = 0; o->class_weight && j < n; j++)
    if (!finite_nonneg(o->class_weight[j]))
      return smx_fail(SMX_ERR_ARG, "%s: opts->class_weight[%zu] = %g is not finite and >= 0", fn, j,
                      (double)o->class_weight[j]);
  return SMX_OK;
}

static size_t target_size(const smx_xent_options *o) {
  return o->target_type == SMX_TARGET_I32 ? sizeof(int32_t) : sizeof(int64_t);
}

/* NULL pointers, shapes, options and targets (everything but the outputs). */
static smx_status check_call(xent_call *c, const smx_xent_options *opts) {
  const char *fn = c->fn;
  if (!opts) smx_xent_options_default(&c->defaults);
  c->opts = opts ? opts : &c->defaults;
  if (!c->x) return smx_fail(SMX_ERR_NULL, "%s: logits is NULL", fn);
  if (!c->q && !c->targets) return smx_fail(SMX_ERR_NULL, "%s: targets is NULL", fn);
  smx_status s = smx_check_matrix(fn, "logits", c->rows, c->n, c->ldx);
  if (s) return s;
  if (c->rows > SIZE_MAX / sizeof(int64_t) || c->n > SIZE_MAX / sizeof(float))
    return smx_fail(SMX_ERR_SHAPE, "%s: rows = %zu or n = %zu overflows size_t", fn, c->rows, c->n);
  if ((s = smx_xent_check_options(fn, c->opts, c->n, c->targets == NULL))) return s;
  if (!c->targets) return SMX_OK;
  const smx_xent_args a = {c->targets, c->opts->target_type == SMX_TARGET_I32, 0, {0}, NULL, 0, NULL};
  const int64_t ign = c->opts->ignore_index;
  const float *w = c->opts->class_weight;
  size_t counted = 0;
  double weights = 0.0; /* (in a register: added through c it cost ~2 ns a row, 9% of a call of 8-entry rows) */
  size_t r = 0;
  int64_t t = 0;
  const smx_fpenv env = smx_fpenv_enter(); /* (their sum rounds to nearest whatever the caller's modes) */
  for (; r < c->rows; r++) {
    t = smx_xent_target(&a, r);
    if (t == ign) continue;
    if (t < 0 || (uint64_t)t >= c->n) break;
    counted++;
    if (w) weights += w[t];
  }
  smx_fpenv_leave(env);
  if (r < c->rows)
    return smx_fail(SMX_ERR_TARGET,
                    "%s: targets[%zu] = %lld is outside [0, n) = [0, %zu) and not the ignore_index %lld", fn, r,
                    (long long)t, c->n, (long long)ign);
  c->counted = counted, c->weights = weights;
  return SMX_OK;
}

/* A buffer argument for the aliasing checks. */
typedef struct region {
  const void *p;
  size_t bytes;
  const char *name;
} region;

/* Outputs: the vectors (loss, lse) against every input and every other output; dlogits against every input
   but the logits (exactly the logits is in place; smx_check_out), and the vectors. */
/* Bytes of a rows x n matrix of the call's logit type (the shapes were checked for f32, so no overflow). */
static size_t span_of(const xent_call *c, size_t ld) {
  return c->esize == 2 ? smx_span_bytes(c->rows, c->n, ld) / 2 : smx_span_bytes(c->rows, c->n, ld);
}
static smx_status check_outputs(const xent_call *c, const region *in, int nin, float *dlogits, size_t ldd,
                                const region *vec, int nvec) {
  const char *fn = c->fn;
  const size_t dbytes = dlogits ? span_of(c, ldd) : 0;
  if (dlogits && !((const void *)dlogits == (const void *)c->x && ldd == c->ldx) &&
      smx_overlap(dlogits, dbytes, c->x, span_of(c, c->ldx)))
    return smx_fail(SMX_ERR_ALIAS, "%s: dlogits overlaps logits without being exactly the same matrix", fn);
  for (int i = 0; i < nin; i++)
    if (smx_overlap(dlogits, dbytes, in[i].p, in[i].bytes))
      return smx_fail(SMX_ERR_ALIAS, "%s: dlogits overlaps %s", fn, in[i].name);
  const size_t xbytes = span_of(c, c->ldx);
  for (int v = 0; v < nvec; v++) {
    if (smx_overlap(vec[v].p, vec[v].bytes, c->x, xbytes))
      return smx_fail(SMX_ERR_ALIAS, "%s: %s overlaps logits", fn, vec[v].name);
    if (smx_overlap(vec[v].p, vec[v].bytes, dlogits, dbytes))
      return smx_fail(SMX_ERR_ALIAS, "%s: %s overlaps dlogits", fn, vec[v].name);
    for (int i = 0; i < nin; i++)
      if (smx_overlap(vec[v].p, vec[v].bytes, in[i].p, in[i].bytes))
        return smx_fail(SMX_ERR_ALIAS, "%s: %s overlaps %s", fn, vec[v].name, in[i].name);
    for (int w = 0; w < v; w++)
      if (smx_overlap(vec[v].p, vec[v].bytes, vec[w].p, vec[w].bytes))
        return smx_fail(SMX_ERR_ALIAS, "%s: %s overlaps %s", fn, vec[v].name, vec[w].name);
  }
  return SMX_OK;
}

/* The inputs every call has: targets (or q), the options struct and the class weights. */
static int common_inputs(const xent_call *c, region *in) {
  const smx_xent_options *o = c->opts;
  int k = 0;
  if (c->targets) in[k++] = (region){c->targets, c->rows * target_size(o), "targets"};
  if (c->q) in[k++] = (region){c->q, span_of(c, c->ldq), "q"};
  in[k++] = (region){o, sizeof *o, "opts"};
  if (o->class_weight) in[k++] = (region){o->class_weight, c->n * sizeof(float), "opts->class_weight"};
  return k;
}

static size_t loss_len(const xent_call *c) { return c->opts->reduction == SMX_REDUCE_NONE ? c->rows : 1; }

double smx_xent_weight_sum(size_t n, const float *w) {
  if (!w) return (double)n;
  double part[8] = {0}; /* 8 independent double sums combined in a fixed order (a single chain costs ~1 ns/class) */
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++) part[l] += w[j + (size_t)l];
  for (; j < n; j++) part[j % 8] += w[j];
  return ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
}

/* The class-index kernels on validated arguments: grad_scale, or per-row upstream gradients (NONE); with
   c->esize == 2 the logits (c->x) and dlogits are 16-bit (bf16 if c->bf16, else f16). */
static void run(const xent_call *c, float *loss, float *dlogits, size_t ldd, float grad_scale, const float *grad_rows,
                size_t grad_stride) {
  const smx_xent_options *o = c->opts;
  const float *w = o->class_weight;
  const size_t n = c->n, rows = c->rows;
  const smx_fpenv env = smx_fpenv_enter(); /* the whole call, its sums and the reduction's rounding too */
  const double weight_sum = smx_xent_weight_sum(n, w);
  smx_xent_args args = {c->targets, o->target_type == SMX_TARGET_I32, o->ignore_index,
                        {0, o->label_smoothing, o->z_loss, o->softcap, w, weight_sum, 0.0}, grad_rows, grad_stride, NULL};
  /* the mean's denominator (check_call): the counted rows' weights in row order, or their count (the same sum of
     1.0s, exact) */
  const size_t counted = c->counted;
  const double denom = w ? c->weights : (double)counted;
  double coef = grad_scale;
  if (o->reduction == SMX_REDUCE_MEAN) coef = denom > 0.0 ? grad_scale / denom : 0.0;
  args.row.grad_coef = coef;
  /* the z-loss is a per-token regularizer: its MEAN is over the counted rows (as PaLM, flash-attn and Liger
     average it), not over the target weights; with the row's loss divided by denom, that is z_loss denom / count */
  if (o->reduction == SMX_REDUCE_MEAN && w && counted) args.row.z_loss *= denom / (double)counted;
  /* each row's loss, added in row order: the same total for every thread count and split. An f32 call on one
     thread takes the kernel's own total (it adds them so); the others keep each row's loss: up to XENT_STACK_ROWS
     rows on the stack, a longer call split across threads in a heap array, the rest (and a threaded call whose
     array cannot be had) on the calling thread XENT_STACK_ROWS rows at a time */
  const int threaded = smx_rows_threaded(rows, n);
  double stack_losses[XENT_STACK_ROWS], *losses = rows <= XENT_STACK_ROWS ? stack_losses : NULL;
  if (!losses && threaded) losses = malloc(rows * sizeof *losses);
  const smx_kernels *k = smx_active_kernels();
  /* rows of the softmax and stablemax normalizers: a long row may be split by blocks (smx_run_long_rows) */
  const enum smx_kernel_id id = o->normalizer == SMX_NORM_SOFTMAX     ? SMX_KERNEL_ID_xent_softmax
                                : o->normalizer == SMX_NORM_STABLEMAX ? SMX_KERNEL_ID_xent_stablemax
                                                                      : SMX_KERNEL_ID_NONE;
  const int half = c->esize == 2;
  xjob16 jj = {{.run = half ? run_xent16 : run_xent, .id = id, .k = k, .rows = rows, .n = n, .x = half ? NULL : c->x,
                .ldx = c->ldx, .out = half ? NULL : dlogits, .ldo = ldd, .xa = &args,
                .loss_rows = loss && o->reduction == SMX_REDUCE_NONE ? loss : NULL,
                .row_losses = losses ? losses : stack_losses,
                .xent = xent_kernel(k, o->normalizer), .x16 = half ? (const uint16_t *)(const void *)c->x : NULL,
                .out16 = half ? (uint16_t *)(void *)dlogits : NULL, .bf16 = c->bf16},
               o->normalizer};
  double total = 0.0;
  if (!half && !threaded) {
    args.row_loss = NULL;
    total = jj.base.xent(rows, n, c->x, c->ldx, &args, jj.base.loss_rows, dlogits, ldd);
  } else if (losses) {
    smx_run_rows(&jj.base);
    for (size_t r = 0; r < rows; r++) total += losses[r];
    if (losses != stack_losses) free(losses);
  } else {
    for (size_t r0 = 0; r0 < rows; r0 += XENT_STACK_ROWS) {
      const size_t r1 = rows - r0 < XENT_STACK_ROWS ? rows : r0 + XENT_STACK_ROWS;
      jj.base.losses_row0 = r0;
      jj.base.run(&jj.base, r0, r1);
      for (size_t r = r0; r < r1; r++) total += stack_losses[r - r0];
    }
  }
  if (loss && o->reduction == SMX_REDUCE_SUM) loss[0] = smx_loss_value(total);
  if (loss && o->reduction == SMX_REDUCE_MEAN) loss[0] = denom > 0.0 ? smx_loss_value(total / denom) : 0.0f;
  smx_fpenv_leave(env);
}

static smx_status check_grad_scale(const char *fn, float g) {
  return finite(g) ? SMX_OK : smx_fail(SMX_ERR_ARG, "%s: grad_scale = %g is not finite", fn, (double)g);
}

smx_status smx_cross_entropy_f32(size_t rows, size_t n, const float *logits, size_t ldx, const void *targets,
                                 const smx_xent_options *opts, float *loss, float *dlogits, size_t ldd,
                                 float grad_scale) {
  xent_call c = {.fn = "smx_cross_entropy_f32", .rows = rows, .n = n, .x = logits, .ldx = ldx, .targets = targets};
  smx_status s;
  if ((s = check_call(&c, opts))) return s;
  if (dlogits && (s = smx_check_matrix(c.fn, "dlogits", rows, n, ldd))) return s;
  if ((s = check_grad_scale(c.fn, grad_scale))) return s;
  region in[4], vec[1] = {{loss, loss ? loss_len(&c) * sizeof(float) : 0, "loss"}};
  if ((s = check_outputs(&c, in, common_inputs(&c, in), dlogits, ldd, vec, 1))) return s;
  run(&c, loss, dlogits, ldd, grad_scale, NULL, 0);
  return SMX_OK;
}

/* The element type of the call's logits (SMX_ELEM_*) */
static int elem_of(const xent_call *c) {
  return c->esize != 2 ? SMX_ELEM_F32 : c->bf16 ? SMX_ELEM_BF16 : SMX_ELEM_F16;
}
/* A 16-bit call's arguments: logits (and dlogits, q) of bfloat16 (bf16) or binary16 */
static xent_call call16(const char *fn, int bf16, size_t rows, size_t n, const uint16_t *logits, size_t ldx,
                        const void *targets, const uint16_t *q, size_t ldq) {
  return (xent_call){.fn = fn, .rows = rows, .n = n, .x = (const float *)(const void *)logits, .ldx = ldx,
                     .targets = targets, .q = (const float *)(const void *)q, .ldq = ldq, .esize = 2, .bf16 = bf16};
}

/* The forward's checks and call (c->esize 2: 16-bit logits) */
static smx_status xent_forward(xent_call *c, const smx_xent_options *opts, float *loss, float *lse) {
  smx_status s;
  if ((s = check_call(c, opts))) return s;
  if (!loss) return smx_fail(SMX_ERR_NULL, "%s: loss is NULL", c->fn);
  region in[4], vec[2] = {{loss, loss_len(c) * sizeof(float), "loss"}, {lse, lse ? c->rows * sizeof(float) : 0, "lse"}};
  if ((s = check_outputs(c, in, common_inputs(c, in), NULL, 0, vec, 2))) return s;
  run(c, loss, NULL, 0, 1.0f, NULL, 0);
  if (lse)
    SMX_IN_FPENV(smx_xent_state_rows(smx_active_kernels(), c->opts->normalizer, c->rows, c->n, c->x, c->ldx,
                                     elem_of(c), c->opts->softcap, lse));
  return SMX_OK;
}
smx_status smx_cross_entropy_forward_f32(size_t rows, size_t n, const float *logits, size_t ldx, const void *targets,
                                         const smx_xent_options *opts, float *loss, float *lse) {
  xent_call c = {.fn = "smx_cross_entropy_forward_f32", .rows = rows, .n = n, .x = logits, .ldx = ldx, .targets = targets};
  return xent_forward(&c, opts, loss, lse);
}
smx_status smx_cross_entropy_forward_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx,
                                          const void *targets, const smx_xent_options *opts, float *loss, float *lse) {
  xent_call c = call16("smx_cross_entropy_forward_bf16", 1, rows, n, logits, ldx, targets, NULL, 0);
  return xent_forward(&c, opts, loss, lse);
}
smx_status smx_cross_entropy_forward_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx, const void *targets,
                                         const smx_xent_options *opts, float *loss, float *lse) {
  xent_call c = call16("smx_cross_entropy_forward_f16", 0, rows, n, logits, ldx, targets, NULL, 0);
  return xent_forward(&c, opts, loss, lse);
}

/* The backward on validated shapes and options (c from check_call; c->esize 2: 16-bit logits and dlogits). */
static smx_status xent_backward(xent_call *c, const float *lse, const float *grad_loss, size_t grad_loss_stride,
                                float *dlogits, size_t ldd) {
  const size_t rows = c->rows;
  smx_status s;
  if (!grad_loss) return smx_fail(SMX_ERR_NULL, "%s: grad_loss is NULL", c->fn);
  if (!dlogits) return smx_fail(SMX_ERR_NULL, "%s: dlogits is NULL", c->fn);
  if ((s = smx_check_matrix(c->fn, "dlogits", rows, c->n, ldd))) return s;
  const int per_row = c->opts->reduction == SMX_REDUCE_NONE;
  if (!per_row && grad_loss_stride)
    return smx_fail(SMX_ERR_ARG, "%s: grad_loss_stride = %zu: a SUM or MEAN loss has one grad_loss (stride 0)", c->fn,
                    grad_loss_stride);
  size_t ng = 1; /* grad_loss values read: (rows - 1) * stride + 1 */
  if (per_row && rows > 1 && grad_loss_stride) {
    if (grad_loss_stride > (SIZE_MAX / sizeof(float) - 1) / (rows - 1))
      return smx_fail(SMX_ERR_SHAPE, "%s: grad_loss (%zu rows, stride %zu) overflows size_t", c->fn, rows,
                      grad_loss_stride);
    ng = (rows - 1) * grad_loss_stride + 1;
  }
  for (size_t r = 0; r < (per_row ? rows : 1); r++) {
    const float g = grad_loss[r * (per_row ? grad_loss_stride : 0)];
    if (!finite(g)) return smx_fail(SMX_ERR_ARG, "%s: grad_loss for row %zu = %g is not finite", c->fn, r, (double)g);
  }
  region in[6];
  int nin = common_inputs(c, in);
  in[nin++] = (region){grad_loss, ng * sizeof(float), "grad_loss"};
  if (lse) in[nin++] = (region){lse, rows * sizeof(float), "lse"};
  if ((s = check_outputs(c, in, nin, dlogits, ldd, NULL, 0))) return s;
  if (per_row) run(c, NULL, dlogits, ldd, 1.0f, grad_loss, grad_loss_stride);
  else run(c, NULL, dlogits, ldd, grad_loss[0], NULL, 0);
  return SMX_OK;
}
smx_status smx_cross_entropy_backward_f32(size_t rows, size_t n, const float *logits, size_t ldx, const void *targets,
                                          const smx_xent_options *opts, const float *lse, const float *grad_loss,
                                          size_t grad_loss_stride, float *dlogits, size_t ldd) {
  xent_call c = {.fn = "smx_cross_entropy_backward_f32", .rows = rows, .n = n, .x = logits, .ldx = ldx, .targets = targets};
  smx_status s = check_call(&c, opts);
  return s ? s : xent_backward(&c, lse, grad_loss, grad_loss_stride, dlogits, ldd);
}

/* The probability-target rows [r0, r1), row r's loss to losses[r - r0] (c->esize 2: 16-bit logits, q and dlogits,
   bf16 if c->bf16, else f16; their rows widened into a stack scratch where two fit, the gradient computed in place
   over the widened logits, rounded back; longer rows a chunk at a time by the row code); returns total plus their
   losses in row order. */
static double soft_rows(const smx_kernels *k, const xent_call *c, size_t r0, size_t r1, double coef, double *losses,
                        void *dlogits, size_t ldd, double total) {
  const smx_xent_options *o = c->opts;
  const size_t n = c->n;
  const int e = elem_of(c);
  const void *x = smx_elem_at(c->x, r0 * c->ldx, e), *q = smx_elem_at(c->q, r0 * c->ldq, e);
  void *d = dlogits ? (void *)smx_elem_at(dlogits, r0 * ldd, e) : NULL;
  if (e == SMX_ELEM_F32 || 2 * n > XENT16_SCRATCH)
    return smx_xent_soft_rows(k, o->normalizer, r1 - r0, n, x, c->ldx, q, c->ldq, e, o->label_smoothing, o->z_loss,
                              o->softcap, o->class_weight, coef, losses, d, ldd, total);
  float buf[XENT16_SCRATCH];
  const size_t per = XENT16_SCRATCH / (2 * n);
  for (size_t r = 0; r < r1 - r0; r += per) {
    const size_t m = r1 - r0 - r < per ? r1 - r0 - r : per;
    float *xw = buf, *qw = buf + m * n;
    smx_widen16_rows(k, c->bf16, m, n, (const uint16_t *)x + r * c->ldx, c->ldx, xw, n);
    smx_widen16_rows(k, c->bf16, m, n, (const uint16_t *)q + r * c->ldq, c->ldq, qw, n);
    total = smx_xent_soft_rows(k, o->normalizer, m, n, xw, n, qw, n, SMX_ELEM_F32, o->label_smoothing, o->z_loss,
                               o->softcap, o->class_weight, coef, losses + r, d ? xw : NULL, n, total);
    if (d) smx_narrow16_rows(k, c->bf16, m, n, xw, n, (uint16_t *)d + r * ldd, ldd);
  }
  return total;
}
/* A probability-target call's rows on the calling thread's setting (smx_run_rows: row losses by row) */
typedef struct {
  smx_rows_job base; /* first: smx_run_rows hands its address back */
  const xent_call *c;
  double coef;
  void *dlogits;
  size_t ldd;
} soft_job;
static void run_soft(const smx_rows_job *j, size_t r0, size_t r1) {
  const soft_job *s = (const soft_job *)(const void *)j;
  soft_rows(j->k, s->c, r0, r1, s->coef, j->row_losses + (r0 - j->losses_row0), s->dlogits, s->ldd, 0.0);
}
/* The probability-target cross-entropy's checks (q beside the logits, of their type) and its call: each row's loss
   added in row order, the same total for every thread count and split (up to XENT_STACK_ROWS row losses on the
   stack, a longer threaded call's in a heap array, else XENT_STACK_ROWS rows at a time on the calling thread) */
static smx_status xent_soft(xent_call *c, const smx_xent_options *opts, float *loss, void *dlogits, size_t ldd,
                            float grad_scale) {
  smx_status s;
  if (!c->q) return smx_fail(SMX_ERR_NULL, "%s: q is NULL", c->fn);
  if ((s = check_call(c, opts))) return s;
  if ((s = smx_check_matrix(c->fn, "q", c->rows, c->n, c->ldq))) return s;
  if (dlogits && (s = smx_check_matrix(c->fn, "dlogits", c->rows, c->n, ldd))) return s;
  if ((s = check_grad_scale(c->fn, grad_scale))) return s;
  region in[4], vec[1] = {{loss, loss ? loss_len(c) * sizeof(float) : 0, "loss"}};
  if ((s = check_outputs(c, in, common_inputs(c, in), dlogits, ldd, vec, 1))) return s;
  const smx_xent_options *o = c->opts;
  const size_t rows = c->rows, n = c->n;
  const smx_fpenv env = smx_fpenv_enter();
  const double coef = o->reduction == SMX_REDUCE_MEAN ? (rows ? (double)grad_scale / (double)rows : 0.0) : grad_scale;
  float *loss_rows = loss && o->reduction == SMX_REDUCE_NONE ? loss : NULL;
  const smx_kernels *k = smx_active_kernels(); /* (one table for the whole call, on every task) */
  double stack_losses[XENT_STACK_ROWS], *losses = stack_losses, total = 0.0;
  if (smx_rows_threaded(rows, n) && (rows <= XENT_STACK_ROWS || (losses = malloc(rows * sizeof *losses)))) {
    soft_job j = {{.run = run_soft, .id = SMX_KERNEL_ID_NONE, .k = k, .rows = rows, .n = n,
                   .row_losses = losses},
                  c, coef, dlogits, ldd};
    smx_run_rows(&j.base);
    for (size_t r = 0; r < rows; r++) total += losses[r];
  } else {
    losses = NULL;
  }
  for (size_t r0 = 0; r0 < rows; r0 += XENT_STACK_ROWS) {
    const size_t r1 = rows - r0 < XENT_STACK_ROWS ? rows : r0 + XENT_STACK_ROWS;
    const double *lr = losses ? losses + r0 : stack_losses;
    if (!losses) total = soft_rows(k, c, r0, r1, coef, stack_losses, dlogits, ldd, total); /* (summed as rows go) */
    if (loss_rows)
      for (size_t r = r0; r < r1; r++) loss_rows[r] = smx_loss_value(lr[r - r0]);
  }
  if (losses && losses != stack_losses) free(losses);
  if (loss && o->reduction == SMX_REDUCE_SUM) loss[0] = smx_loss_value(total);
  if (loss && o->reduction == SMX_REDUCE_MEAN) loss[0] = rows ? smx_loss_value(total / (double)rows) : 0.0f;
  smx_fpenv_leave(env);
  return SMX_OK;
}
smx_status smx_cross_entropy_soft_f32(size_t rows, size_t n, const float *logits, size_t ldx, const float *q,
                                      size_t ldq, const smx_xent_options *opts, float *loss, float *dlogits, size_t ldd,
                                      float grad_scale) {
  xent_call c = {.fn = "smx_cross_entropy_soft_f32", .rows = rows, .n = n, .x = logits, .ldx = ldx, .q = q, .ldq = ldq};
  return xent_soft(&c, opts, loss, dlogits, ldd, grad_scale);
}
smx_status smx_cross_entropy_soft_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx, const smx_bf16 *q,
                                       size_t ldq, const smx_xent_options *opts, float *loss, smx_bf16 *dlogits,
                                       size_t ldd, float grad_scale) {
  xent_call c = call16("smx_cross_entropy_soft_bf16", 1, rows, n, logits, ldx, NULL, q, ldq);
  return xent_soft(&c, opts, loss, dlogits, ldd, grad_scale);
}
smx_status smx_cross_entropy_soft_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx, const smx_f16 *q,
                                      size_t ldq, const smx_xent_options *opts, float *loss, smx_f16 *dlogits,
                                      size_t ldd, float grad_scale) {
  xent_call c = call16("smx_cross_entropy_soft_f16", 0, rows, n, logits, ldx, NULL, q, ldq);
  return xent_soft(&c, opts, loss, dlogits, ldd, grad_scale);
}

/* The 16-bit fused cross-entropy: the f32 one's checks on 16-bit spans and its kernels on widened rows. */
static smx_status xent16(const char *fn, int bf16, size_t rows, size_t n, const uint16_t *logits, size_t ldx,
                         const void *targets, const smx_xent_options *opts, float *loss, uint16_t *dlogits, size_t ldd,
                         float grad_scale) {
  xent_call c = call16(fn, bf16, rows, n, logits, ldx, targets, NULL, 0);
  smx_status s;
  if ((s = check_call(&c, opts))) return s;
  if (dlogits && (s = smx_check_matrix(c.fn, "dlogits", rows, n, ldd))) return s;
  if ((s = check_grad_scale(c.fn, grad_scale))) return s;
  region in[4], vec[1] = {{loss, loss ? loss_len(&c) * sizeof(float) : 0, "loss"}};
  if ((s = check_outputs(&c, in, common_inputs(&c, in), (float *)(void *)dlogits, ldd, vec, 1))) return s;
  run(&c, loss, (float *)(void *)dlogits, ldd, grad_scale, NULL, 0);
  return SMX_OK;
}
smx_status smx_cross_entropy_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx, const void *targets,
                                  const smx_xent_options *opts, float *loss, smx_bf16 *dlogits, size_t ldd,
                                  float grad_scale) {
  return xent16("smx_cross_entropy_bf16", 1, rows, n, logits, ldx, targets, opts, loss, dlogits, ldd, grad_scale);
}
smx_status smx_cross_entropy_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx, const void *targets,
                                 const smx_xent_options *opts, float *loss, smx_f16 *dlogits, size_t ldd,
                                 float grad_scale) {
  return xent16("smx_cross_entropy_f16", 0, rows, n, logits, ldx, targets, opts, loss, dlogits, ldd, grad_scale);
}
static smx_status xent16_backward(const char *fn, int bf16, size_t rows, size_t n, const uint16_t *logits, size_t ldx,
                                  const void *targets, const smx_xent_options *opts, const float *lse,
                                  const float *grad_loss, size_t grad_loss_stride, uint16_t *dlogits, size_t ldd) {
  xent_call c = call16(fn, bf16, rows, n, logits, ldx, targets, NULL, 0);
  smx_status s = check_call(&c, opts);
  return s ? s : xent_backward(&c, lse, grad_loss, grad_loss_stride, (float *)(void *)dlogits, ldd);
}
smx_status smx_cross_entropy_backward_bf16(size_t rows, size_t n, const smx_bf16 *logits, size_t ldx,
                                           const void *targets, const smx_xent_options *opts, const float *lse,
                                           const float *grad_loss, size_t grad_loss_stride, smx_bf16 *dlogits,
                                           size_t ldd) {
  return xent16_backward("smx_cross_entropy_backward_bf16", 1, rows, n, logits, ldx, targets, opts, lse, grad_loss,
                         grad_loss_stride, dlogits, ldd);
}
smx_status smx_cross_entropy_backward_f16(size_t rows, size_t n, const smx_f16 *logits, size_t ldx,
                                          const void *targets, const smx_xent_options *opts, const float *lse,
                                          const float *grad_loss, size_t grad_loss_stride, smx_f16 *dlogits,
                                          size_t ldd) {
  return xent16_backward("smx_cross_entropy_backward_f16", 0, rows, n, logits, ldx, targets, opts, lse, grad_loss,
                         grad_loss_stride, dlogits, ldd);
}
