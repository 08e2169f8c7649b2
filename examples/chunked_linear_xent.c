/* Cross-entropy of a linear head, logits = H W^T (N x V), chunk by chunk over the vocabulary with an sgemm per
   chunk and simdmax row states, never holding the N x V logits; checked against the materialized computation. */
#include <cblas.h>
#include <simdmax.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { N = 512, D = 256, V = 32768, CHUNK = 4096 }; /* CHUNK a multiple of 1024: bit-identical states */

typedef struct {
  float loss[N], dH[N * D], dW[(size_t)V * D]; /* each row's loss; the gradients of their sum */
  long peak_kib, base_kib;                   /* the child's peak resident memory, and at its start */
  int failed;
} result;

static float *H, *W;
static int64_t targets[N];

static void fill(float *a, size_t n, float scale, uint64_t s) {
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    a[i] = scale * (float)((double)(s >> 11) * 0x1p-52 - 1.0);
  }
}

/* L (N x cols, leading dimension ld) = H W[c0 .. c0 + cols)^T */
static void logits(size_t c0, size_t cols, float *L, size_t ld) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, (int)cols, D, 1.0f, H, D, W + c0 * D, D, 0.0f, L, (int)ld);
}
/* dH += dL W[c0 ..), dW[c0 ..) = dL^T H */
static void backward(size_t c0, size_t cols, const float *dL, result *r) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, (int)cols, 1.0f, dL, (int)cols, W + c0 * D, D, 1.0f, r->dH, D);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cols, D, N, 1.0f, dL, (int)cols, H, D, 0.0f, r->dW + c0 * D, D);
}
static int fail(const char *what) { return fprintf(stderr, "%s: %s\n", what, smx_last_error_message()), 1; }

/* the N x V logits made (by the chunked way's sgemm calls: OpenBLAS rounds a product differently in a matrix of
   another shape), then the fused call (gradient in place) */
static int materialized(const smx_xent_options *o, result *r) {
  float *L = malloc((size_t)N * V * sizeof *L);
  if (!L) return 1;
  for (size_t c0 = 0; c0 < V; c0 += CHUNK) logits(c0, CHUNK, L + c0, V);
  if (smx_cross_entropy_f32(N, V, L, V, targets, o, r->loss, L, V, 1.0f)) return fail("smx_cross_entropy_f32");
  backward(0, V, L, r);
  free(L);
  return 0;
}

/* pass 1: each chunk's row states merged in column order; pass 2: each chunk again, its gradient columns and
   loss part from the merged states, then its share of dH and dW */
static int chunked(const smx_xent_options *o, result *r) {
  float *L = malloc((size_t)N * CHUNK * sizeof *L), part[N];
  smx_row_state *all = malloc(N * sizeof *all), *next = malloc(N * sizeof *next);
  if (!L || !all || !next) return 1;
  for (size_t c0 = 0; c0 < V; c0 += CHUNK) {
    logits(c0, CHUNK, L, CHUNK);
    if (smx_row_state_f32(N, CHUNK, L, CHUNK, o, c0 ? next : all)) return fail("smx_row_state_f32");
    if (c0) smx_row_state_merge(N, all, next);
  }
  memset(r->loss, 0, sizeof r->loss);
  for (size_t c0 = 0; c0 < V; c0 += CHUNK) {
    logits(c0, CHUNK, L, CHUNK);
    if (smx_cross_entropy_shard_f32(N, CHUNK, L, CHUNK, c0, V, targets, o, all, part, L, CHUNK, 1.0f))
      return fail("smx_cross_entropy_shard_f32");
    for (int i = 0; i < N; i++) r->loss[i] += part[i]; /* the target's chunk holds the row's loss, the others +0 */
    backward(c0, CHUNK, L, r);
  }
  free(L), free(all), free(next);
  return 0;
}

static long rss_kib(void) { /* resident set now, from /proc/self/statm (pages) */
  long pages = 0, res = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f && fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
  if (f) fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}
/* runs one way in a child process, so that its peak memory is its own */
static void run(int (*way)(const smx_xent_options *, result *), const smx_xent_options *o, result *r) {
  const pid_t pid = fork();
  if (pid == 0) {
    r->base_kib = rss_kib();
    r->failed = way(o, r);
    _exit(0);
  }
  int status;
  struct rusage u;
  if (pid < 0 || wait4(pid, &status, 0, &u) != pid || !WIFEXITED(status)) r->failed = 1;
  r->peak_kib = u.ru_maxrss;
}

static double max_rel(const float *a, const float *b, size_t n) { /* max |a - b| / max |b| */
  double d = 0.0, m = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double e = a[i] > b[i] ? (double)a[i] - b[i] : (double)b[i] - a[i], v = b[i] < 0 ? -(double)b[i] : b[i];
    d = e > d ? e : d, m = v > m ? v : m;
  }
  return m > 0.0 ? d / m : d;
}

int main(void) {
  H = malloc((size_t)N * D * sizeof *H), W = malloc((size_t)V * D * sizeof *W);
  result *r = mmap(NULL, 2 * sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (!H || !W || r == MAP_FAILED) return 1;
  fill(H, (size_t)N * D, 1.0f, 1), fill(W, (size_t)V * D, 0.25f, 2);
  for (int i = 0; i < N; i++) targets[i] = (int64_t)((uint64_t)i * 2654435761u % V);
  smx_xent_options o;
  smx_xent_options_default(&o);
  o.reduction = SMX_REDUCE_NONE; /* one loss per row */
  run(materialized, &o, &r[0]);
  run(chunked, &o, &r[1]);
  if (r[0].failed || r[1].failed) return fprintf(stderr, "a run failed\n"), 1;
  double mean[2] = {0.0, 0.0};
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < N; i++) mean[w] += r[w].loss[i] / N;
  size_t rows_differ = 0;
  for (int i = 0; i < N; i++) rows_differ += memcmp(&r[0].loss[i], &r[1].loss[i], sizeof(float)) != 0;
  const double dh = max_rel(r[1].dH, r[0].dH, (size_t)N * D), dw = max_rel(r[1].dW, r[0].dW, (size_t)V * D);
  printf("cross-entropy of H[%d x %d] W[%d x %d]^T, chunks of %d classes (OpenBLAS sgemm per chunk)\n", N, D, V, D, CHUNK);
  printf("  peak memory over the start: both hold dW (%zu MiB) and OpenBLAS's buffers, and\n", (size_t)V * D * sizeof(float) >> 20);
  printf("  materialized: mean loss %.9g, peak memory %ld MiB over the start (N x V logits: %zu MiB)\n", mean[0],
         (r[0].peak_kib - r[0].base_kib) / 1024, (size_t)N * V * sizeof(float) >> 20);
  printf("  chunked:      mean loss %.9g, peak memory %ld MiB over the start (N x CHUNK logits: %zu MiB)\n", mean[1],
         (r[1].peak_kib - r[1].base_kib) / 1024, (size_t)N * CHUNK * sizeof(float) >> 20);
  printf("  difference:   %zu of %d row losses, dH max %.3g, dW max %.3g (relative to the largest entry)\n", rows_differ, N, dh,
         dw);
  /* the same logits: the same row losses and gradient columns, bit for bit; dH sums the chunks' products in
     another order than one sgemm over the vocabulary, and OpenBLAS splits dW differently */
  const int ok = rows_differ == 0 && dh <= 1e-4 && dw <= 1e-4;
  printf("%s\n", ok ? "OK: the same row losses bit for bit, dH and dW within 1e-4 of the largest entry" : "FAIL: they differ");
  return ok ? 0 : 1;
}
