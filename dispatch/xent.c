/* Public fused cross-entropy: validates options and targets, reduces row losses in double. */
#include "dispatch.h"
#include <stdlib.h>

#include "fpenv.h"
#include "parallel.h"

void smx_xent_options_default(smx_xent_options *o) {
  if (!o) return;
  o->normalizer = SMX_NORM_SOFTMAX;
  o->reduction = SMX_REDUCE_MEAN;
  o->ignore_index = -100;
  o->label_smoothing = 0.0f;
  o->z_loss = 0.0f;
  o->softcap = 0.0f;
  o->class_weight = NULL;
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

/* The cross-entropy of rows [r0, r1) of a chunk-aligned range: each chunk's loss sum into *sum. */
static void run_chunk(const smx_rows_job *j, size_t r0, size_t r1, double *sum) {
  smx_xent_args a = *j->xa;
  a.targets += r0;
  *sum = j->xent(r1 - r0, j->n, j->x + r0 * j->ldx, j->ldx, &a, j->loss_rows ? j->loss_rows + r0 : NULL,
                                 j->out ? j->out + r0 * j->ldo : NULL, j->ldo);
}
static void run_xent(const smx_rows_job *j, size_t r0, size_t r1) {
  for (size_t c0 = r0; c0 < r1; c0 += SMX_ROW_CHUNK)
    run_chunk(j, c0, c0 + SMX_ROW_CHUNK < r1 ? c0 + SMX_ROW_CHUNK : r1, &j->chunk_sums[c0 / SMX_ROW_CHUNK]);
}

static int finite_nonneg(float v) { return v >= 0.0f && v <= 0x1.fffffep127f; }

static smx_status check_options(const smx_xent_options *o, size_t n, float grad_scale) {
  if ((unsigned)o->normalizer > SMX_NORM_SPARSEMAX || (unsigned)o->reduction > SMX_REDUCE_MEAN) return SMX_ERR_ARG;
  if (!(o->label_smoothing >= 0.0f && o->label_smoothing <= 1.0f)) return SMX_ERR_ARG;
  if (!finite_nonneg(o->z_loss) || (o->z_loss > 0.0f && o->normalizer != SMX_NORM_SOFTMAX)) return SMX_ERR_ARG;
  /* 0 (off), or a cap whose reciprocal is finite: cap tanh(x / cap) is then finite for every x */
  if (!finite_nonneg(o->softcap) || (o->softcap > 0.0f && !(1.0f / o->softcap <= 0x1.fffffep127f))) return SMX_ERR_ARG;
  if (!(grad_scale == grad_scale) || grad_scale == INFINITY || grad_scale == -INFINITY) return SMX_ERR_ARG;
  for (size_t j = 0; o->class_weight && j < n; j++)
    if (!finite_nonneg(o->class_weight[j])) return SMX_ERR_ARG;
  return SMX_OK;
}

smx_status smx_cross_entropy_f32(size_t rows, size_t n, const float *logits, size_t ldx, const int64_t *targets,
                                 const smx_xent_options *opts, float *loss, float *dlogits, size_t ldd,
                                 float grad_scale) {
  smx_xent_options defaults;
  if (!opts) {
    smx_xent_options_default(&defaults);
    opts = &defaults;
  }
  if (!logits || !targets) return SMX_ERR_NULL;
  if (n == 0 || ldx < n || (rows && smx_span_bytes(rows, n, ldx) == 0)) return SMX_ERR_SHAPE;
  if (dlogits && (ldd < n || (rows && smx_span_bytes(rows, n, ldd) == 0))) return SMX_ERR_SHAPE;
  if (rows > SIZE_MAX / sizeof(int64_t) || n > SIZE_MAX / sizeof(float)) return SMX_ERR_SHAPE;
  smx_status s = check_options(opts, n, grad_scale);
  if (s) return s;
  for (size_t r = 0; r < rows; r++)
    if (targets[r] != opts->ignore_index && (targets[r] < 0 || (uint64_t)targets[r] >= n)) return SMX_ERR_TARGET;

  size_t xbytes = smx_span_bytes(rows, n, ldx), dbytes = dlogits ? smx_span_bytes(rows, n, ldd) : 0;
  size_t lbytes = loss ? (opts->reduction == SMX_REDUCE_NONE ? rows : 1) * sizeof(float) : 0;
  size_t tbytes = rows * sizeof(int64_t), wbytes = opts->class_weight ? n * sizeof(float) : 0;
  /* every input: the logits, targets, class weights and the options struct itself */
  if (dlogits && (smx_check_alias(dlogits, ldd, logits, ldx, rows, n) || smx_overlap(dlogits, dbytes, targets, tbytes) ||
                  smx_overlap(dlogits, dbytes, opts->class_weight, wbytes) || smx_overlap(dlogits, dbytes, opts, sizeof *opts)))
    return SMX_ERR_ALIAS;
  if (loss && (smx_overlap(loss, lbytes, logits, xbytes) || smx_overlap(loss, lbytes, dlogits, dbytes) ||
               smx_overlap(loss, lbytes, targets, tbytes) || smx_overlap(loss, lbytes, opts->class_weight, wbytes) ||
               smx_overlap(loss, lbytes, opts, sizeof *opts)))
    return SMX_ERR_ALIAS;

  const float *w = opts->class_weight;
  double weight_sum = 0.0, denom = 0.0;
  if (w) { /* 8 independent double sums combined in a fixed order (a single chain costs ~1 ns/class) */
    double part[8] = {0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
      for (int l = 0; l < 8; l++) part[l] += w[j + (size_t)l];
    for (; j < n; j++) part[j % 8] += w[j];
    weight_sum = ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
  } else {
    weight_sum = (double)n;
  }
  size_t counted = 0;
  for (size_t r = 0; r < rows; r++)
    if (targets[r] != opts->ignore_index) denom += w ? w[targets[r]] : 1.0, counted++;
  double coef = grad_scale, z_loss = opts->z_loss;
  if (opts->reduction == SMX_REDUCE_MEAN) coef = denom > 0.0 ? grad_scale / denom : 0.0;
  /* the z-loss is a per-token regularizer: its MEAN is over the counted rows (as PaLM, flash-attn and Liger
     average it), not over the target weights; with the row's loss divided by denom, that is z_loss denom / count */
  if (opts->reduction == SMX_REDUCE_MEAN && w && counted) z_loss *= denom / (double)counted;

  const smx_xent_args args = {targets, opts->ignore_index,
                              {0, opts->label_smoothing, z_loss, opts->softcap, w, weight_sum, coef}};
  /* each 64-row chunk's loss sum, added in chunk order: the same total for every thread count */
  const size_t nchunks = (rows + SMX_ROW_CHUNK - 1) / SMX_ROW_CHUNK;
  double stack_sums[1024], *sums = nchunks <= 1024 ? stack_sums : malloc(nchunks * sizeof *sums);
  const smx_kernels *k = smx_active_kernels();
  smx_rows_job j = {.run = run_xent, .k = k, .rows = rows, .n = n, .x = logits, .ldx = ldx, .out = dlogits, .ldo = ldd,
                    .xa = &args, .loss_rows = loss && opts->reduction == SMX_REDUCE_NONE ? loss : NULL,
                    .chunk_sums = sums, .xent = xent_kernel(k, opts->normalizer)};
  double total = 0.0;
  if (sums) {
    smx_run_rows(&j);
    for (size_t c = 0; c < nchunks; c++) total += sums[c];
    if (sums != stack_sums) free(sums);
  } else { /* no memory for the chunk sums: chunk by chunk on this thread, the same order */
    double one;
    j.chunk_sums = &one;
    for (size_t c = 0; c < nchunks; c++) {
      const size_t r0 = c * SMX_ROW_CHUNK, r1 = r0 + SMX_ROW_CHUNK < rows ? r0 + SMX_ROW_CHUNK : rows;
      SMX_IN_FPENV(run_chunk(&j, r0, r1, &one));
      total += one;
    }
  }
  if (loss && opts->reduction == SMX_REDUCE_SUM) loss[0] = smx_flush((float)total);
  if (loss && opts->reduction == SMX_REDUCE_MEAN) loss[0] = denom > 0.0 ? smx_flush((float)(total / denom)) : 0.0f;
  return SMX_OK;
}
