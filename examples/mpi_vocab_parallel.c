/* Vocabulary-parallel cross-entropy over MPI ranks with simdmax row states, checked against the unsharded call. */
#include <mpi.h>
#include <simdmax.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 8, VOCAB = 50257, BLOCK = 1024 };

/* every rank makes the same logits (a fixed generator), so rank 0 can compute the unsharded reference */
static float logit(uint64_t *s) {
  double u = 0.0;
  for (int i = 0; i < 4; i++) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    u += (double)(*s >> 11) * 0x1p-53;
  }
  return (float)(4.0 * (u - 2.0));
}

/* shard p of P: columns [cut(p), cut(p + 1)), inner boundaries multiples of the block (1024) */
static size_t cut(int p, int P) { return p == P ? VOCAB : (size_t)p * VOCAB / (size_t)P / BLOCK * BLOCK; }

static int run(const char *name, const smx_xent_options *opts, int rank, int P, const float *x, const int64_t *t) {
  const size_t c0 = cut(rank, P), ns = cut(rank + 1, P) - c0;
  smx_row_state mine[ROWS], *all = malloc((size_t)P * ROWS * sizeof *all);
  float *dshard = malloc(ROWS * ns * sizeof *dshard), part[ROWS];
  /* 1. this rank's states, 2. everyone's, 3. merged in rank order (column order) */
  if (smx_row_state_f32(ROWS, ns, x + c0, VOCAB, opts, mine) != SMX_OK) return fprintf(stderr, "%s\n", smx_last_error_message()), 1;
  MPI_Allgather(mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, MPI_COMM_WORLD);
  for (int p = 1; p < P; p++) smx_row_state_merge(ROWS, all, all + (size_t)p * ROWS);
  /* 4. this shard's gradient and loss part */
  if (smx_cross_entropy_shard_f32(ROWS, ns, x + c0, VOCAB, c0, VOCAB, t, opts, all, part, dshard, ns, 1.0f) != SMX_OK)
    return fprintf(stderr, "%s\n", smx_last_error_message()), 1;
  /* rank 0 collects the gradient shards and the loss parts */
  int *counts = malloc((size_t)P * sizeof *counts), *displs = malloc((size_t)P * sizeof *displs);
  for (int p = 0; p < P; p++) counts[p] = (int)(ROWS * (cut(p + 1, P) - cut(p, P))), displs[p] = (int)(ROWS * cut(p, P));
  float *grads = rank == 0 ? malloc(ROWS * VOCAB * sizeof *grads) : NULL;
  float *parts = rank == 0 ? malloc((size_t)P * ROWS * sizeof *parts) : NULL;
  const int nl = opts->reduction == SMX_REDUCE_NONE ? ROWS : 1;
  MPI_Gatherv(dshard, (int)(ROWS * ns), MPI_FLOAT, grads, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
  MPI_Gather(part, nl, MPI_FLOAT, parts, nl, MPI_FLOAT, 0, MPI_COMM_WORLD);
  int bad = 0;
  if (rank == 0) {
    float loss[ROWS], lse[ROWS], lse_ref[ROWS], *dref = malloc(ROWS * VOCAB * sizeof *dref);
    smx_cross_entropy_f32(ROWS, VOCAB, x, VOCAB, t, opts, loss, dref, VOCAB, 1.0f);
    smx_row_state_logsumexp(ROWS, all, lse);
    size_t gdiff = 0, ldiff = 0, sdiff = 0;
    for (int r = 0; r < ROWS; r++) {
      /* gathered shard by shard: shard p's rows x w at ROWS * cut(p) */
      for (int p = 0; p < P; p++) {
        const size_t a = cut(p, P), w = cut(p + 1, P) - a;
        gdiff += memcmp(grads + ROWS * a + (size_t)r * w, dref + (size_t)r * VOCAB + a, w * sizeof(float)) != 0;
      }
    }
    double worst = 0.0;
    for (int q = 0; q < nl; q++) { /* the parts in rank order */
      float sum = 0.0f;
      for (int p = 0; p < P; p++) sum += parts[(size_t)p * nl + q];
      ldiff += memcmp(&sum, &loss[q], sizeof sum) != 0;
      double d = (double)sum - (double)loss[q];
      worst = d < 0 ? (-d > worst ? -d : worst) : (d > worst ? d : worst);
    }
    const int has_lse = !opts->softcap && opts->normalizer == SMX_NORM_SOFTMAX;
    if (has_lse) {
      smx_logsumexp_f32(ROWS, VOCAB, x, VOCAB, lse_ref);
      sdiff = memcmp(lse, lse_ref, sizeof lse) != 0;
    }
    printf("%s: %d ranks, %d rows x %d classes: gradient %s, loss %s (largest difference %.3g), lse %s\n", name, P,
           ROWS, VOCAB, gdiff ? "DIFFERS" : "bit-identical", ldiff ? "differs" : "bit-identical", worst,
           !has_lse ? "(softcapped or stablemax: no unsharded lse)" : sdiff ? "DIFFERS" : "bit-identical");
    bad = gdiff || sdiff || (ldiff && opts->reduction == SMX_REDUCE_NONE);
    free(dref);
  }
  MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
  free(all), free(dshard), free(counts), free(displs), free(grads), free(parts);
  return bad;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, P;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  float *x = malloc((size_t)ROWS * VOCAB * sizeof *x);
  uint64_t s = 42;
  for (size_t i = 0; i < (size_t)ROWS * VOCAB; i++) x[i] = logit(&s);
  int64_t t[ROWS];
  for (int r = 0; r < ROWS; r++) t[r] = (int64_t)((r * 7919 + 13) % VOCAB);
  t[3] = -100; /* an ignored row */
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE;
  int bad = run("plain, per-row losses", &o, rank, P, x, t);
  o.softcap = 30.0f, o.z_loss = 1e-4f, o.reduction = SMX_REDUCE_MEAN;
  bad |= run("softcap 30, z-loss 1e-4, mean", &o, rank, P, x, t);
  o.softcap = 0.0f, o.z_loss = 0.0f, o.label_smoothing = 0.1f, o.reduction = SMX_REDUCE_NONE;
  bad |= run("label smoothing 0.1, per-row losses", &o, rank, P, x, t);
  o.normalizer = SMX_NORM_STABLEMAX;
  bad |= run("stablemax, label smoothing 0.1, per-row losses", &o, rank, P, x, t);
  free(x);
  MPI_Finalize();
  return bad;
}
