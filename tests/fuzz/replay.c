/* The fuzz corpus without libFuzzer (any compiler, any CPU, qemu): each input through fuzz_diff's check (every ISA
   this CPU has against scalar, canaries, errors; it aborts on a difference), and one SHA-256 over every input's
   scalar status and outputs, inputs in file-name order. That digest is the same on every CPU: with --expect FILE it
   must equal the one FILE holds (tests/fuzz/corpus.sha256, x86 and AArch64 alike). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "simdmax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sha256_ctx digest;

/* fuzz_diff.c's hook: the scalar run's status and outputs, little-endian */
void fuzz_replay_observe(const float *out, size_t count, smx_status status) {
  uint8_t b[4];
  uint32_t u = (uint32_t)status;
  for (size_t i = 0;; i++) {
    for (int k = 0; k < 4; k++) b[k] = (uint8_t)(u >> (8 * k));
    sha256_update(&digest, b, 4);
    if (i == count) break;
    memcpy(&u, out + i, 4);
  }
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  const char *expect = NULL;
  int first = 1;
  if (argc > 2 && !strcmp(argv[1], "--expect")) expect = argv[2], first = 3;
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--expect DIGEST_FILE] CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  sha256_init(&digest);
  size_t inputs = 0;
  static uint8_t data[1 << 16];
  for (int d = first; d < argc; d++) {
    DIR *dir = opendir(argv[d]);
    if (!dir) {
      fprintf(stderr, "fuzz_replay: cannot open %s\n", argv[d]);
      return 2;
    }
    char **names = NULL;
    size_t k = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dir));) {
      if (e->d_name[0] == '.') continue;
      if (k == cap) names = realloc(names, (cap = cap ? 2 * cap : 256) * sizeof *names);
      const size_t len = strlen(e->d_name) + 1;
      names[k] = malloc(len);
      memcpy(names[k++], e->d_name, len);
    }
    closedir(dir);
    qsort(names, k, sizeof *names, by_name);
    for (size_t i = 0; i < k; i++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[d], names[i]);
      FILE *f = fopen(path, "rb");
      if (!f) {
        fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
        return 2;
      }
      const size_t len = fread(data, 1, sizeof data, f);
      fclose(f);
      LLVMFuzzerTestOneInput(data, len);
      free(names[i]);
    }
    free(names);
    inputs += k;
  }
  uint8_t d[32];
  char hex[65];
  sha256_final(&digest, d);
  sha256_hex(d, hex);
  printf("fuzz_replay: %zu inputs, every ISA of this CPU equal to scalar; scalar outputs' digest %s\n", inputs, hex);
  if (!expect) return 0;
  char want[65] = {0};
  FILE *f = fopen(expect, "r");
  if (!f || fscanf(f, "%64s", want) != 1) {
    fprintf(stderr, "fuzz_replay: cannot read the expected digest from %s\n", expect);
    return 2;
  }
  fclose(f);
  if (strcmp(want, hex)) {
    fprintf(stderr,
            "fuzz_replay: the digest differs from %s (%s): the corpus's bits changed on this CPU. If a change meant\n"
            "to alter bits (or the corpus grew), write the new digest there from an x86 run, and check that\n"
            "AArch64 (scripts/aarch64-test.sh) gives it too.\n",
            expect, want);
    return 1;
  }
  printf("fuzz_replay: equal to %s\n", expect);
  return 0;
}
