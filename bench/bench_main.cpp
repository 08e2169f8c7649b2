// smx-bench: single-threaded f32 timings of every public simdmax kernel on every ISA this CPU
// supports, against XNNPACK, oneDNN, a SLEEF 3-pass softmax, a sort-based sparsemax and memory
// bandwidth loops, on the same inputs; then a ratio table computed from the same run.
//
// Cases per size n:  "cache": one row, the same buffers every iteration;
//                    "mem":   rows streamed from 256 MiB matrices (input and output each), about
//                             4 MiB of input per call, cycling, so nothing stays in cache.
// Names: <kernel>/<impl>/<case>/<n>, e.g. softmax/avx512/cache/4096, softmax/onednn/mem/32000,
// bw/read/cache/4096, xent_soft_stablemax/avx512/cache/4096 (probability targets; use --benchmark_filter=<regex>
// to select).
// Times are CPU time of this (single-threaded) process; ns/el = nanoseconds per row element.
//
// Usage: smx-bench [--short] [Google Benchmark flags]
//   --short   the issue's table only (4 cases, softmax/log_softmax/logsumexp on every SIMD ISA and
//             scalar at n=4096, the other ratio kernels on the best ISA, all anchors), shorter
//             minimum time (0.05 s instead of 0.1 s); < 60 s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "anchors.h"
#include "kernel_list.h"
#include "progress.h"
#include "simdmax.h"

#ifndef SMX_BENCH_WHY_XNNPACK
#define SMX_BENCH_WHY_XNNPACK "not installed"
#endif
#ifndef SMX_BENCH_WHY_ONEDNN
#define SMX_BENCH_WHY_ONEDNN "not installed"
#endif
#ifndef SMX_BENCH_WHY_SLEEF
#define SMX_BENCH_WHY_SLEEF "not installed"
#endif

namespace {

constexpr size_t kMiB = size_t(1) << 20;
constexpr size_t kBufBytes = 256 * kMiB;  // each of the four matrices
constexpr size_t kBufFloats = kBufBytes / sizeof(float);
constexpr size_t kChunkBytes = 4 * kMiB;  // input bytes per call in the mem case
constexpr size_t kMinN = 1000;
constexpr size_t kSizes[] = {1000, 4096, 32000, 128256, size_t(1) << 20, size_t(1) << 24};

// ROWS_*: many short rows in one call (attention, classifier heads, routers): rows x n = 2^16 (in cache)
// or 2^20 (cycling through the 256 MiB matrices); THREADS: the mem layout on 1, 2 and all cores (wall time).
enum Case { CACHE = 0, MEM = 1, ROWS_CACHE = 2, ROWS_MEM = 3, THREADS = 4 };
const char *case_name(int c) {
  static const char *const names[] = {"cache", "mem", "rows-cache", "rows-mem", "threads"};
  return names[c];
}
constexpr size_t kThreadSizes[] = {1000, 32000, size_t(1) << 24};
// (1000: a classifier head, and rows that start off the 64-byte boundaries: three in four at ld = n)
constexpr size_t kRowSizes[] = {8, 16, 32, 64, 128, 256, 512, 1000, 1024, 2048, 4096};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string size_label(size_t n) {
  if (n >= 1024 && (n & (n - 1)) == 0 && n > 4096) {
    int e = 0;
    while ((size_t(1) << e) < n) e++;
    return "2^" + std::to_string(e);
  }
  return std::to_string(n);
}

// Rows per call and the number of distinct calls cycled through.
struct Layout {
  size_t rows, calls;
};
Layout layout(int c, size_t n) {
  if (c == CACHE) return {1, 1};
  if (c == ROWS_CACHE) return {(size_t(1) << 16) / n, 1};
  if (c == ROWS_MEM) return {(size_t(1) << 20) / n, kBufFloats / (size_t(1) << 20)};
  size_t row_bytes = n * sizeof(float);
  size_t rows = std::max<size_t>(1, kChunkBytes / row_bytes);
  return {rows, kBufBytes / (rows * row_bytes)};
}

// ---------------------------------------------------------------- buffers and inputs
struct Buffers {
  float *x = nullptr;  // logits
  float *p = nullptr;  // forward outputs used by the backward kernels; validation scratch
  float *d = nullptr;  // upstream gradient
  float *y = nullptr;  // outputs
  int64_t *t = nullptr;     // targets for the current n
  uint32_t *traw = nullptr; // random targets before % n
  size_t trows = 0;
} B;

float *alloc_matrix(size_t bytes) {
  void *p = nullptr;
  if (posix_memalign(&p, 2 * kMiB, bytes) != 0) {
    fprintf(stderr, "smx-bench: cannot allocate %zu MiB\n", bytes / kMiB);
    exit(1);
  }
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  // fewer TLB misses, for every implementation alike
#endif
  return static_cast<float *>(p);
}

uint64_t rng_state = 0x9E3779B97F4A7C15ull;
inline uint64_t rng() {  // xorshift64*
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

size_t pd_bytes = kBufBytes;  // B.p and B.d: small in --short (no backward kernels there)

// --input=<name>: the logits' regime (issue 12's inputs that once hit slow paths); n3 is the default.
const char *const kInputs[] = {"n3", "ntenth", "u17", "u05", "equal", "halfneginf", "max1e5", "pm1e30", "min1e5"};
int input_regime = 0;
float input_value(size_t i, float n3) {  // n3: the N(0, 3)-like default value of entry i
  const float u = float(rng() >> 40) / 16777216.0f;  // [0, 1)
  switch (input_regime) {
  case 1: return n3 / 30.0f;                         // N(0, 0.1)
  case 2: return -1.7f + 3.4f * u;                   // U(-1.7, 1.7)
  case 3: return 0.5f * u;                           // U(0, 0.5)
  case 4: return 0.25f;                              // all equal
  case 5: return (i & 1) ? -INFINITY : n3;           // every other entry -inf
  case 6: return 1e5f + n3 / 3.0f;                   // |max| = 1e5
  case 7: return (i & 1) ? -1e30f : 1e30f;           // alternating +-1e30
  case 8: return -1e5f + n3 / 3.0f;                  // max = -1e5
  default: return n3;
  }
}

void fill_inputs(bool quick) {
  if (quick) pd_bytes = 8 * kMiB;
  B.x = alloc_matrix(kBufBytes);
  B.p = alloc_matrix(pd_bytes);
  B.d = alloc_matrix(pd_bytes);
  B.y = alloc_matrix(kBufBytes);
  // Logits: near-normal (sum of four 24-bit uniforms, tails to 3.5 sigma), mean 0, standard
  // deviation 3 (an LLM-like logit spread).
  const float scale = 3.0f * std::sqrt(3.0f) / 16777216.0f;
  for (size_t i = 0; i < kBufFloats; i++) {
    uint64_t r1 = rng(), r2 = rng();
    float u1 = float(r1 >> 40), u2 = float((r1 >> 8) & 0xFFFFFF), u3 = float(r2 >> 40), u4 = float((r2 >> 8) & 0xFFFFFF);
    B.x[i] = input_value(i, ((u1 + u2) - (u3 + u4)) * scale);
  }
  for (size_t i = 0; i < pd_bytes / sizeof(float); i++) B.d[i] = float(int32_t(rng() >> 40) - (1 << 23)) / 8388608.0f;
  memset(B.p, 0, pd_bytes);
  memset(B.y, 0, kBufBytes);
  B.trows = kBufFloats / kRowSizes[0] + 1; /* the rows cases: down to 8 entries a row over the whole buffer */
  B.t = static_cast<int64_t *>(malloc(B.trows * sizeof(int64_t)));
  B.traw = static_cast<uint32_t *>(malloc(B.trows * sizeof(uint32_t)));
  for (size_t r = 0; r < B.trows; r++) B.traw[r] = uint32_t(rng() >> 32);
}

// ---------------------------------------------------------------- our kernels
// The kernels of SMX_KERNELS (tests/kernel_list.h): SMX_K_<name>, their names, kinds and forwards.
typedef int Kern;
const Kern K_COUNT = SMX_K_COUNT;
const char *kern_name_of(Kern k) { return smx_kernel_list[k].name; }
bool is_xent(Kern k) { return smx_kernel_list[k].kind == SMX_KIND_XENT; }
float xent_loss;

// soft: a cross-entropy kernel k against probability targets (smx_cross_entropy_soft_f32, q = d) instead of t
smx_status run_ours(Kern k, size_t rows, size_t n, const float *x, const float *p, const float *d,
                    float *y, const int64_t *t, bool soft = false) {
  if (soft) {
    smx_xent_options o;
    smx_xent_options_default(&o);
    o.normalizer = smx_kernel_normalizer(k);
    return smx_cross_entropy_soft_f32(rows, n, x, n, d, n, &o, &xent_loss, y, n, 1.0f);
  }
  // BWD kernels read the forward output p (as x); BWDX the logits x and p
  const bool bwd = smx_kernel_list[k].kind == SMX_KIND_BWD;
  smx_call_args a = {rows, n, bwd ? p : x, n, p, n, d, n, y, n, t, nullptr, &xent_loss, 1.0f};
  return smx_call(k, &a);
}

smx_isa best_isa = SMX_ISA_SCALAR;
std::vector<smx_isa> isas;  // supported, in order scalar, avx2, avx512, neon

// What B.p and B.t currently hold (computed untimed before a benchmark's loop).
struct {
  int kind = -1;
  size_t n = 0, rows = 0;
} prep_p;
size_t prep_t_n = 0, prep_t_rows = 0;

// The backward kernels take the forward output of their normalizer: computed (best ISA) for the
// first call's rows, then copied to every other call's rows (the backward kernels' speed does
// not depend on which valid forward output they get; this keeps setup short).
bool prepare(Kern k, size_t n, const Layout &L) {
  const size_t rows = L.rows * L.calls;
  Kern f = smx_kernel_list[k].forward;
  if (f != SMX_K_none && !(prep_p.kind == f && prep_p.n == n && prep_p.rows >= rows)) {
    if (rows * n * sizeof(float) > pd_bytes) return false;
    smx_set_isa(best_isa);
    if (run_ours(f, L.rows, n, B.x, nullptr, nullptr, B.p, nullptr) != SMX_OK) return false;
    for (size_t c = 1; c < L.calls; c++) memcpy(B.p + c * L.rows * n, B.p, L.rows * n * sizeof(float));
    prep_p.kind = f;
    prep_p.n = n;
    prep_p.rows = rows;
  }
  if (is_xent(k) && !(prep_t_n == n && prep_t_rows >= rows)) {
    if (rows > B.trows) return false;
    for (size_t r = 0; r < rows; r++) B.t[r] = int64_t(B.traw[r] % n);
    prep_t_n = n;
    prep_t_rows = rows;
  }
  return true;
}

size_t g_cursor = 0;  // rotating call index of the mem case (continues across benchmarks)

// An untimed first call, where it matters: the cases whose data stay in cache (the mem cases are
// meant to stream; 64 MiB rows do not fit anyway).
bool want_warmup(int c, size_t n) { return (c == CACHE || c == ROWS_CACHE) && n * sizeof(float) <= 8 * kMiB; }

// Before every benchmark of a streaming case: one untimed pass over all the memory its calls cycle
// through (the first mem benchmarks of a fresh process read pages not yet warm: 6.12 ns/el where
// repeated runs give 0.80).
void warm_buffers(int c, size_t n) {
  if (c == CACHE || c == ROWS_CACHE) return;
  const Layout L = layout(c, n);
  const size_t floats = std::min(kBufFloats, L.rows * L.calls * n), pd = std::min(floats, pd_bytes / sizeof(float));
  benchmark::DoNotOptimize(bw_read_sum(floats, B.x) + bw_read_sum(pd, B.p) + bw_read_sum(pd, B.d));
  memset(B.y, 0, floats * sizeof(float));
}

void set_counters(benchmark::State &st, size_t elems) {
  st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(elems));
  st.counters["ns_per_el"] = benchmark::Counter(double(elems) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void bm_ours(benchmark::State &st, Kern k, smx_isa isa, int c, size_t n, size_t threads = 1, bool soft = false) {
  const Layout L = layout(c == THREADS ? MEM : c, n);
  warm_buffers(c, n);
  if (!prepare(k, n, L)) {
    st.SkipWithError("preparing the inputs failed");
    return;
  }
  if (smx_set_isa(isa) != SMX_OK) {
    st.SkipWithError("smx_set_isa failed");
    return;
  }
  size_t row0 = 0, off = 0;
  smx_status s = smx_set_num_threads(threads);
  if (s == SMX_OK && want_warmup(c, n)) s = run_ours(k, L.rows, n, B.x, B.p, B.d, B.y, B.t, soft);
  if (s != SMX_OK) {
    st.SkipWithError(smx_strerror(s));
    return;
  }
  for (auto _ : st) {
    row0 = (++g_cursor % L.calls) * L.rows;
    off = row0 * n;
    const size_t pd_off = (off + L.rows * n) * sizeof(float) <= pd_bytes ? off : 0;  // --short: small B.p, B.d
    s = run_ours(k, L.rows, n, B.x + off, B.p + pd_off, B.d + pd_off, B.y + off, B.t + row0, soft);
    if (s != SMX_OK) {
      st.SkipWithError(smx_strerror(s));
      break;
    }
  }
  smx_set_num_threads(1);
  benchmark::ClobberMemory();
  set_counters(st, L.rows * n);
}

// ---------------------------------------------------------------- anchors
enum Anchor { A_XNNPACK, A_ONEDNN, A_SLEEF512, A_SLEEF2, A_SORT, A_BWREAD, A_BWCOPY, A_COUNT };
const char *const anchor_kern[A_COUNT] = {"softmax", "softmax", "softmax", "softmax", "sparsemax", "bw", "bw"};
const char *const anchor_impl[A_COUNT] = {"xnnpack", "onednn", "sleef3-avx512", "sleef3-avx2", "sort", "read", "copy"};
bool anchor_on[A_COUNT];
std::string anchor_why[A_COUNT];  // why an anchor is not run
std::map<std::pair<int, size_t>, std::string> dnnl_impls;
std::map<std::pair<int, size_t>, std::map<int, std::string>> sum_notes;  // anchor outputs whose row sum drifts

// An instance of one anchor for a fixed (rows per call, n); run() returns 0 on success.
struct AnchorRun {
  Anchor a;
  size_t rows = 0, n = 0;
  std::string error;
#ifdef SMX_BENCH_HAVE_XNNPACK
  anchor_xnn *xnn = nullptr;
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
  anchor_dnnl *dnnl = nullptr;
#endif
  std::vector<float> scratch;

  AnchorRun(Anchor a_, size_t rows_, size_t n_) : a(a_), rows(rows_), n(n_) {
    const char *why = "";
    switch (a) {
#ifdef SMX_BENCH_HAVE_XNNPACK
    case A_XNNPACK:
      xnn = anchor_xnn_create(n, &why);
      if (!xnn) error = why;
      break;
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
    case A_ONEDNN:
      dnnl = anchor_dnnl_create(rows, n, &why);
      if (!dnnl) error = why;
      break;
#endif
    case A_SORT: scratch.resize(n); break;
    default: break;
    }
    (void)why;
  }
  ~AnchorRun() {
#ifdef SMX_BENCH_HAVE_XNNPACK
    anchor_xnn_destroy(xnn);
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
    anchor_dnnl_destroy(dnnl);
#endif
  }
  AnchorRun(const AnchorRun &) = delete;
  AnchorRun &operator=(const AnchorRun &) = delete;

  const char *impl() const {
#ifdef SMX_BENCH_HAVE_ONEDNN
    if (dnnl) return anchor_dnnl_impl(dnnl);
#endif
    return "";
  }

  int run(const float *x, float *y) {
    switch (a) {
#ifdef SMX_BENCH_HAVE_XNNPACK
    case A_XNNPACK: return anchor_xnn_run(xnn, rows, x, y);
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
    case A_ONEDNN: return anchor_dnnl_run(dnnl, x, y);
#endif
#ifdef SMX_BENCH_HAVE_SLEEF
    case A_SLEEF512: anchor_sleef_softmax_avx512(rows, n, x, y); return 0;
    case A_SLEEF2: anchor_sleef_softmax_avx2(rows, n, x, y); return 0;
#endif
    case A_SORT: anchor_sparsemax_sort(rows, n, x, y, scratch.data()); return 0;
    case A_BWREAD: benchmark::DoNotOptimize(bw_read_sum(rows * n, x)); return 0;
    case A_BWCOPY: bw_copy(rows * n, x, y); return 0;
    default: return -1;
    }
  }
};

// A row of a softmax / sparsemax output: finite, >= 0, sums to 1 within tol.
bool valid_distribution(const float *y, size_t n, double tol, std::string *why) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(y[i] >= 0.0f) || !std::isfinite(y[i])) {
      char b[128];
      snprintf(b, sizeof b, "output[%zu] = %g is not a probability", i, double(y[i]));
      *why = b;
      return false;
    }
    s += y[i];
  }
  if (std::fabs(s - 1.0) > tol) {
    char b[128];
    snprintf(b, sizeof b, "a row sums to %.9g, not 1", s);
    *why = b;
    return false;
  }
  return true;
}

void bm_anchor(benchmark::State &st, Anchor a, int c, size_t n) {
  const Layout L = layout(c, n);
  warm_buffers(c, n);
  AnchorRun ar(a, L.rows, n);
  if (!ar.error.empty()) {
    st.SkipWithError(ar.error.c_str());
    return;
  }
  if (a == A_ONEDNN) dnnl_impls[{c, n}] = ar.impl();
  size_t row0 = 0;
  if (want_warmup(c, n) && ar.run(B.x, B.y) != 0) {
    st.SkipWithError("the anchor failed");
    return;
  }
  for (auto _ : st) {
    row0 = (++g_cursor % L.calls) * L.rows;
    if (ar.run(B.x + row0 * n, B.y + row0 * n) != 0) {
      st.SkipWithError("the anchor failed");
      break;
    }
  }
  benchmark::ClobberMemory();
  set_counters(st, L.rows * n);
  // The output of the last call must be a distribution (catches an anchor broken at this size).
  // Plain float sums drift with n (XNNPACK's row sum is about 1.008 at n = 2^24): the tolerance
  // grows with n, and any drift above 1e-4 is noted in the table.
  if (a != A_BWREAD && a != A_BWCOPY) {
    std::string why;
    const float *o = B.y + row0 * n;
    if (!valid_distribution(o, n, n <= (size_t(1) << 20) ? 1e-3 : 5e-2, &why))
      st.SkipWithError(("invalid output: " + why).c_str());
    double s = 0;
    for (size_t i = 0; i < n; i++) s += o[i];
    if (std::fabs(s - 1.0) > 1e-4) {
      char b[96];
      snprintf(b, sizeof b, "%s/%s row sum %.6f", anchor_kern[a], anchor_impl[a], s);
      sum_notes[{c, n}][a] = b;
    }
  }
}

// Once at setup: each softmax anchor against our scalar softmax, the sort sparsemax against our
// scalar sparsemax, over a few sizes (3 rows each). A failing anchor is reported and not run.
bool validate_anchor(Anchor a, std::string *why) {
  const size_t sizes[] = {1000, 4099, 32000};
  const size_t rows = 3;
  for (size_t n : sizes) {
    AnchorRun ar(a, rows, n);
    if (!ar.error.empty()) {
      *why = ar.error;
      return false;
    }
    memset(B.y, 0xff, rows * n * sizeof(float));  // NaN fill: a missed element is noticed
    if (ar.run(B.x, B.y) != 0) {
      *why = "the call failed";
      return false;
    }
    smx_set_isa(SMX_ISA_SCALAR);
    smx_status s = a == A_SORT ? smx_sparsemax_f32(rows, n, B.x, n, B.p, n) : smx_softmax_f32(rows, n, B.x, n, B.p, n);
    if (s != SMX_OK) {
      *why = std::string("reference failed: ") + smx_strerror(s);
      return false;
    }
    for (size_t r = 0; r < rows; r++) {
      const float *o = B.y + r * n, *ref = B.p + r * n;
      if (!valid_distribution(o, n, 1e-4, why)) {
        *why = "n=" + std::to_string(n) + ": " + *why;
        return false;
      }
      for (size_t i = 0; i < n; i++) {
        double tol = a == A_SORT ? 2e-6 : 1e-4 * double(ref[i]) + 1e-30;
        if (std::fabs(double(o[i]) - double(ref[i])) > tol) {
          char b[160];
          snprintf(b, sizeof b, "n=%zu row %zu [%zu]: %.9g, reference %.9g", n, r, i, double(o[i]), double(ref[i]));
          *why = b;
          return false;
        }
      }
    }
  }
  return true;
}

// Our own sanity check: every ISA's softmax is a distribution and bit-identical to scalar.
std::vector<std::string> our_warnings;  // repeated with the ratio table
void warn_ours(const std::string &w) {
  our_warnings.push_back(w);
  printf("WARNING: %s\n", w.c_str());
}
void check_ours() {
  const size_t n = 4099, rows = 3;
  smx_set_isa(SMX_ISA_SCALAR);
  smx_softmax_f32(rows, n, B.x, n, B.p, n);
  for (smx_isa isa : isas) {
    smx_set_isa(isa);
    memset(B.y, 0xff, rows * n * sizeof(float));
    smx_status s = smx_softmax_f32(rows, n, B.x, n, B.y, n);
    std::string why;
    std::string in = smx_isa_name(isa);
    if (s != SMX_OK)
      warn_ours("simdmax " + in + " softmax failed: " + smx_strerror(s));
    else if (!valid_distribution(B.y, n, 1e-4, &why))
      warn_ours("simdmax " + in + " softmax output is invalid (n=" + std::to_string(n) + "): " + why);
    else if (memcmp(B.y, B.p, rows * n * sizeof(float)) != 0)
      warn_ours("simdmax " + in + " softmax is not bit-identical to scalar (n=" + std::to_string(n) + ")");
  }
}

// ---------------------------------------------------------------- registry and reporter
struct Desc {
  std::string kern, impl;
  int c;
  size_t n, elems;
  bool real_time; // threads: wall time, not this thread's CPU time
};
std::map<std::string, Desc> descs;
std::vector<std::string> registered;  // benchmark names in registration order
std::map<std::string, double> ns_per_el;  // benchmark name -> CPU ns per element
std::map<std::string, std::string> errors;

std::string bench_name(const std::string &kern, const std::string &impl, int c, size_t n) {
  return kern + "/" + impl + "/" + case_name(c) + "/" + std::to_string(n);
}

void add_desc(const std::string &kern, const std::string &impl, int c, size_t n) {
  Layout L = layout(c == THREADS ? MEM : c, n);
  descs[bench_name(kern, impl, c, n)] = Desc{kern, impl, c, n, L.rows * n, c == THREADS};
  registered.push_back(bench_name(kern, impl, c, n));
}

double get(const std::string &kern, const std::string &impl, int c, size_t n) {
  auto it = ns_per_el.find(bench_name(kern, impl, c, n));
  return it == ns_per_el.end() ? NAN : it->second;
}

// How many registered benchmarks --benchmark_filter selects (Google Benchmark's rule: an extended
// regex searched in the name, a leading '-' negates, "" and "all" select all).
std::vector<std::string> selected() {
  std::string spec = benchmark::GetBenchmarkFilter();
  bool negative = !spec.empty() && spec[0] == '-';
  if (negative) spec.erase(0, 1);
  if (spec.empty() || spec == "all") spec = ".";
  std::vector<std::string> sel;
  try {
    std::regex re(spec, std::regex::extended);
    for (const std::string &name : registered)
      if (std::regex_search(name, re) != negative) sel.push_back(name);
  } catch (const std::regex_error &) {
    return registered;
  }
  return sel;
}

// The console table, and the progress of the run on stderr (tools/progress.h): a step per case and
// size group, in place with the time left on a terminal, a line per group in logs.
class Recorder : public benchmark::ConsoleReporter {
 public:
  smx_progress prog;
  std::vector<std::string> sel;  // what runs, in order
  std::set<std::string> done;
  std::string group;
  // Name the group of the next benchmark as the step, when it changes.
  void next_step() {
    if (done.size() >= sel.size() || !descs.count(sel[done.size()])) return;
    const Desc &d = descs[sel[done.size()]];
    std::string g = std::string(case_name(d.c)) + "/" + size_label(d.n);
    if (g != group) smx_progress_step(&prog, (group = g).c_str(), double(done.size()) / double(sel.size()));
  }
  bool ReportContext(const Context &ctx) override {
    smx_progress_clear(&prog);
    bool ok = ConsoleReporter::ReportContext(ctx);
    printf("%-46s %14s %10s %10s %9s\n", "benchmark", "CPU time/call", "calls", "ns/el", "Gel/s");
    printf("%s\n", std::string(93, '-').c_str());
    fflush(stdout);
    return ok;
  }
  void ReportRuns(const std::vector<Run> &runs) override {
    smx_progress_clear(&prog);
    for (const Run &r : runs) {
      std::string name = r.benchmark_name();
      std::string key = name;
      if (r.run_type == Run::RT_Aggregate && key.size() > r.aggregate_name.size() + 1)
        key.resize(key.size() - r.aggregate_name.size() - 1);  // "_median" etc.
      while (!descs.count(key)) {  // strip suffixes such as /min_time:0.200 or /iterations:1
        size_t pos = key.rfind('/');
        if (pos == std::string::npos) break;
        key.resize(pos);
      }
      if (r.error_occurred) {
        printf("%-46s ERROR: %s\n", name.c_str(), r.error_message.c_str());
        errors[key] = r.error_message;
        continue;
      }
      if (!descs.count(key) || r.iterations == 0) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_unit != benchmark::kTime) continue;  // cv
      double per_call = (descs[key].real_time ? r.GetAdjustedRealTime() : r.GetAdjustedCPUTime()) /
                        benchmark::GetTimeUnitMultiplier(r.time_unit);
      double nsel = per_call / double(descs[key].elems) * 1e9;
      // With --benchmark_repetitions the table uses the median.
      if (r.run_type == Run::RT_Iteration || r.aggregate_name == "median") ns_per_el[key] = nsel;
      char t[32];
      if (per_call < 1e-3) snprintf(t, sizeof t, "%10.3f us", per_call * 1e6);
      else snprintf(t, sizeof t, "%10.3f ms", per_call * 1e3);
      printf("%-46s %14s %10lld %10.4f %9.3f\n", name.c_str(), t, (long long)r.iterations, nsel, 1.0 / nsel);
    }
    fflush(stdout);
    if (runs.empty()) return;
    done.insert(runs[0].run_name.function_name);
    next_step();
    smx_progress_update(&prog, sel.empty() ? 1.0 : double(done.size()) / double(sel.size()));
  }
};

// ---------------------------------------------------------------- 16-bit tensors
// B.x, B.p, B.d rounded to bfloat16 (t = 0) or binary16 (1), made untimed when a 16-bit benchmark first needs
// that type and span; outputs to B16.y (LSE and losses to B.y).
struct {
  uint16_t *x = nullptr, *p = nullptr, *d = nullptr, *y = nullptr;
  int t = -1;
  size_t floats = 0, pd_floats = 0;
} B16;

bool prepare16(int t, size_t floats) {
  const size_t pd = std::min(floats, pd_bytes / sizeof(float));
  if (B16.t == t && B16.floats >= floats && B16.pd_floats >= pd) return true;
  if (!B16.x) {
    B16.x = static_cast<uint16_t *>(static_cast<void *>(alloc_matrix(kBufBytes / 2)));
    B16.y = static_cast<uint16_t *>(static_cast<void *>(alloc_matrix(kBufBytes / 2)));
    B16.p = static_cast<uint16_t *>(static_cast<void *>(alloc_matrix(pd_bytes / 2)));
    B16.d = static_cast<uint16_t *>(static_cast<void *>(alloc_matrix(pd_bytes / 2)));
    memset(B16.y, 0, kBufBytes / 2); /* its pages faulted in now, not in a timed loop */
  }
  auto conv = t ? smx_f16_from_f32 : smx_bf16_from_f32;
  if (conv(1, floats, B.x, floats, B16.x, floats) || conv(1, pd, B.p, pd, B16.p, pd) || conv(1, pd, B.d, pd, B16.d, pd))
    return false;
  B16.t = t, B16.floats = floats, B16.pd_floats = pd;
  return true;
}

// soft: the cross-entropy kernel k against probability targets (smx_cross_entropy_soft_bf16 / _f16, q = d)
smx_status run_ours16(Kern k, int t, size_t rows, size_t n, size_t off, size_t pd_off, size_t row0, bool soft) {
  if (soft) {
    smx_xent_options o;
    smx_xent_options_default(&o);
    o.normalizer = smx_kernel_normalizer(k);
    return t ? smx_cross_entropy_soft_f16(rows, n, B16.x + off, n, B16.d + pd_off, n, &o, &xent_loss, B16.y + off, n, 1.0f)
             : smx_cross_entropy_soft_bf16(rows, n, B16.x + off, n, B16.d + pd_off, n, &o, &xent_loss, B16.y + off, n,
                                           1.0f);
  }
  const bool bwd = smx_kernel_list[k].kind == SMX_KIND_BWD;
  smx_call16_args a = {rows, n, bwd ? B16.p + pd_off : B16.x + off, n, B16.p + pd_off, n, B16.d + pd_off, n,
                       B16.y + off, n, B.y + row0, B.t + row0, nullptr, &xent_loss, 1.0f};
  return smx_call16(k, t, &a);
}

// The kernel k on 16-bit tensors (type t), as bm_ours on one thread.
void bm_ours16(benchmark::State &st, Kern k, int t, smx_isa isa, int c, size_t n, bool soft = false) {
  const Layout L = layout(c, n);
  warm_buffers(c, n);
  if (!prepare(k, n, L) || !prepare16(t, L.rows * L.calls * n)) {
    st.SkipWithError("preparing the inputs failed");
    return;
  }
  smx_set_isa(isa);
  smx_status s = want_warmup(c, n) ? run_ours16(k, t, L.rows, n, 0, 0, 0, soft) : SMX_OK;
  for (auto _ : st) {
    if (s != SMX_OK) break;
    const size_t row0 = (++g_cursor % L.calls) * L.rows, off = row0 * n;
    const size_t pd_off = (off + L.rows * n) * sizeof(float) <= pd_bytes ? off : 0;
    s = run_ours16(k, t, L.rows, n, off, pd_off, row0, soft);
  }
  if (s != SMX_OK) st.SkipWithError(smx_strerror(s));
  benchmark::ClobberMemory();
  set_counters(st, L.rows * n);
}
const char *const kType16[2] = {"bf16", "f16"};

#ifdef SMX_BENCH_HAVE_ONEDNN
// oneDNN's softmax on the same 16-bit tensors (its own rounding: compared for time only); skipped with oneDNN's
// reason where it has no such softmax on this CPU.
void bm_dnnl16(benchmark::State &st, int t, int c, size_t n) {
  const Layout L = layout(c, n);
  warm_buffers(c, n);
  const char *why = "";
  anchor_dnnl *a = prepare16(t, L.rows * L.calls * n) ? anchor_dnnl_create_typed(L.rows, n, t + 1, &why) : nullptr;
  if (!a) {
    st.SkipWithError((std::string("oneDNN has no such softmax here (") + why + ")").c_str());
    return;
  }
  int bad = want_warmup(c, n) ? anchor_dnnl_run(a, B16.x, B16.y) : 0;
  for (auto _ : st) {
    if (bad) break;
    const size_t off = (++g_cursor % L.calls) * L.rows * n;
    bad = anchor_dnnl_run(a, B16.x + off, B16.y + off);
  }
  anchor_dnnl_destroy(a);
  if (bad) st.SkipWithError("oneDNN failed");
  benchmark::ClobberMemory();
  set_counters(st, L.rows * n);
}
#endif
constexpr size_t kSizes16[] = {4096, 32000};
// the 16-bit rows case: many short rows in cache (attention, classifier heads, routers in bf16)
struct Case16 {
  int c;
  size_t n;
};
const Case16 kCases16[] = {{CACHE, 4096}, {CACHE, 32000}, {MEM, 4096}, {MEM, 32000},
                           {ROWS_CACHE, 8}, {ROWS_CACHE, 64}, {ROWS_CACHE, 512}};

// ---------------------------------------------------------------- ratio tables
struct TableCase {
  int c;
  size_t n;
  const char *what;
};
const TableCase issue_cases[] = {{CACHE, 4096, "one row repeated"},
                                 {CACHE, 128256, "one row repeated"},
                                 {MEM, 32000, "many rows from memory"},
                                 {CACHE, size_t(1) << 24, "one row (64 MiB, from memory)"}};

std::string fmt(double v, const char *f = "%.4f") {
  if (std::isnan(v)) return "-";
  char b[32];
  snprintf(b, sizeof b, f, v);
  return b;
}
std::string ratio(double a, double b) { return (std::isnan(a) || std::isnan(b) || b <= 0) ? "-" : fmt(a / b, "%.2fx"); }

void print_case(int c, size_t n, const char *what) {
  // Softmax anchors: the fastest one.
  const Anchor soft[] = {A_XNNPACK, A_ONEDNN, A_SLEEF512, A_SLEEF2};
  double best = NAN;
  std::string best_name = "none";
  std::string line;
  for (Anchor a : soft) {
    double v = get("softmax", anchor_impl[a], c, n);
    line += std::string("  ") + anchor_impl[a] + " " + fmt(v);
    if (a == A_ONEDNN && dnnl_impls.count({c, n})) line += " (" + dnnl_impls[{c, n}] + ")";
    if (!std::isnan(v) && (std::isnan(best) || v < best)) {
      best = v;
      best_name = anchor_impl[a];
    }
  }
  double rd = get("bw", "read", c, n), cp = get("bw", "copy", c, n);
  double bound_soft = rd + cp, bound_lse = rd;
  const Layout L = layout(c, n);
  printf("\n%s n=%s: %s, %zu row%s/call%s\n", case_name(c), size_label(n).c_str(), what, L.rows, L.rows > 1 ? "s" : "",
         L.calls > 1 ? (", cycling over " + std::to_string(L.calls) + " calls (256 MiB in, 256 MiB out)").c_str() : "");
  printf("  softmax anchors ns/el:%s\n", line.c_str());
  if (sum_notes.count({c, n}))
    for (auto &note : sum_notes[{c, n}]) printf("    (accuracy note: %s)\n", note.second.c_str());
  printf("  bandwidth ns/el: read %s, copy %s -> bound of softmax/log_softmax (read + read&write) %s, "
         "of logsumexp (read) %s\n",
         fmt(rd).c_str(), fmt(cp).c_str(), fmt(bound_soft).c_str(), fmt(bound_lse).c_str());
  printf("  %-12s %-7s %9s  %-28s %s\n", "kernel", "isa", "ns/el", ("speedup vs " + best_name).c_str(),
         "ours/bandwidth bound");
  const Kern fam[] = {SMX_K_softmax, SMX_K_log_softmax, SMX_K_logsumexp};
  for (Kern k : fam)
    for (smx_isa isa : isas) {
      double v = get(kern_name_of(k), smx_isa_name(isa), c, n);
      if (std::isnan(v)) continue;
      printf("  %-12s %-7s %9s  %-28s %s\n", kern_name_of(k), smx_isa_name(isa), fmt(v).c_str(), ratio(best, v).c_str(),
             ratio(v, k == SMX_K_logsumexp ? bound_lse : bound_soft).c_str());
    }
  // Other kernels relative to softmax, per ISA.
  bool header = false;
  double sort = get("sparsemax", "sort", c, n);
  for (smx_isa isa : isas) {
    const char *in = smx_isa_name(isa);
    double sm = get("softmax", in, c, n), xs = get("xent_softmax", in, c, n), sp = get("sparsemax", in, c, n);
    double st = get("stablemax", in, c, n), xst = get("xent_stablemax", in, c, n), xsp = get("xent_sparsemax", in, c, n);
    if (std::isnan(xs) && std::isnan(sp) && std::isnan(st)) continue;
    if (!header) {
      printf("  %-7s %13s %13s %13s %13s %13s %13s\n", "isa", "xent/softmax", "sparsemax/", "sort-sparse/",
             "stablemax/", "xent_stable/", "xent_sparse/");
      printf("  %-7s %13s %13s %13s %13s %13s %13s\n", "", "", "softmax", "sparsemax", "softmax", "xent_softmax",
             "xent_softmax");
      header = true;
    }
    printf("  %-7s %13s %13s %13s %13s %13s %13s\n", in, ratio(xs, sm).c_str(), ratio(sp, sm).c_str(),
           ratio(sort, sp).c_str(), ratio(st, sm).c_str(), ratio(xst, xs).c_str(), ratio(xsp, xs).c_str());
  }
}

// The cores this process may run on: its affinity mask (one under `taskset -c 1`, whatever the machine has).
size_t usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return size_t(CPU_COUNT(&set));
  const long hw = sysconf(_SC_NPROCESSORS_ONLN);
  return hw > 0 ? size_t(hw) : 1;
}

// The short-rows table (ours against the softmax anchors over the same rows, and the fixed cost per
// row) and the threads table (speedup over one thread).
void print_rows_tables(const std::vector<size_t> &nthreads) {
  const char *in = smx_isa_name(best_isa);
  for (int c : {ROWS_CACHE, ROWS_MEM}) {
    bool any = false;
    for (size_t n : kRowSizes) any |= !std::isnan(get("softmax", in, c, n));
    if (!any) continue;
    printf("\n--- many rows in one call: %s (rows x n = %s) ---\n", case_name(c), c == ROWS_CACHE ? "2^16" : "2^20");
    printf("  %6s %9s %9s %9s %9s %9s  %-10s %-10s %-10s %-12s %s\n", "n", "softmax", "sleef3", "onednn", "xnnpack",
           "ns/row", "vs sleef3", "vs onednn", "vs xnnpack", "xent/softmax", "slowest kernel / softmax");
    for (size_t n : kRowSizes) {
      double sm = get("softmax", in, c, n);
      if (std::isnan(sm)) continue;
      double sl = get("softmax", anchor_impl[A_SLEEF512], c, n);
      if (std::isnan(sl)) sl = get("softmax", anchor_impl[A_SLEEF2], c, n);
      double dn = get("softmax", "onednn", c, n), xn = get("softmax", "xnnpack", c, n);
      double worst = NAN;
      std::string worst_k = "-";
      for (int k = 0; k < K_COUNT; k++) {
        double v = get(kern_name_of(k), in, c, n);
        if (!std::isnan(v) && (std::isnan(worst) || v > worst)) worst = v, worst_k = kern_name_of(k);
      }
      printf("  %6zu %9s %9s %9s %9s %9s  %-10s %-10s %-10s %-12s %s %s\n", n, fmt(sm).c_str(), fmt(sl).c_str(),
             fmt(dn).c_str(), fmt(xn).c_str(), fmt(sm * double(n), "%.1f").c_str(), ratio(sl, sm).c_str(),
             ratio(dn, sm).c_str(), ratio(xn, sm).c_str(), ratio(get("xent_softmax", in, c, n), sm).c_str(),
             worst_k.c_str(), ratio(worst, sm).c_str());
    }
  }
  bool any = false;
  for (size_t n : kThreadSizes)
    any |= !std::isnan(get("softmax", (std::string(in) + "-t1").c_str(), THREADS, n));
  if (!any) return;
  printf("\n--- threads (rows from memory, wall time, ns/el; speedup over one thread) ---\n");
  if (usable_cores() < nthreads.back())
    printf("  (this process may run on %zu core(s), its affinity mask: the threads beyond share them; run without\n"
           "   taskset for the machine's speedup)\n", usable_cores());
  for (size_t n : kThreadSizes)
    for (Kern k : {SMX_K_softmax, SMX_K_logsumexp, SMX_K_xent_softmax}) {
      double t1 = get(kern_name_of(k), std::string(in) + "-t1", THREADS, n);
      if (std::isnan(t1)) continue;
      printf("  %-13s n=%-6zu", kern_name_of(k), n);
      for (size_t t : nthreads) {
        double v = get(kern_name_of(k), std::string(in) + "-t" + std::to_string(t), THREADS, n);
        printf("  %zu: %s (%s)", t, fmt(v).c_str(), ratio(t1, v).c_str());
      }
      printf("\n");
    }
}

const char *const kSoftNorm[3] = {"softmax", "stablemax", "sparsemax"};
// 16-bit time over f32 time per kernel (the issue's aims: <= 1.15x in cache, <= 0.65x from memory).
void print_16bit_table() {
  const char *in = smx_isa_name(best_isa);
  bool header = false;
  for (const Case16 &cs : kCases16)
      for (int k = 0; k < K_COUNT + 3; k++) { /* the kernels, then the probability-target cross-entropies */
        const int c = cs.c;
        const size_t n = cs.n;
        const std::string name = k < K_COUNT ? kern_name_of(k) : std::string("xent_soft_") + kSoftNorm[k - K_COUNT];
        const double f32 = get(name.c_str(), in, c, n);
        const double b = get(name.c_str(), (std::string(in) + "-bf16").c_str(), c, n);
        const double h = get(name.c_str(), (std::string(in) + "-f16").c_str(), c, n);
        if (std::isnan(b) && std::isnan(h)) continue;
        if (!header) {
          printf("\n--- 16-bit tensors (%s, ns/el; time over the f32 kernel's) ---\n", in);
          header = true;
        }
        printf("  %-5s n=%-6zu %-21s f32 %s  bf16 %s (%s)  f16 %s (%s)\n", case_name(c), n, name.c_str(),
               fmt(f32).c_str(), fmt(b).c_str(), ratio(b, f32).c_str(), fmt(h).c_str(), ratio(h, f32).c_str());
        const double db = get("softmax", "onednn-bf16", c, n), dh = get("softmax", "onednn-f16", c, n);
        if (k == SMX_K_softmax && !(std::isnan(db) && std::isnan(dh)))
          printf("  %-5s n=%-6zu %-21s oneDNN bf16 %s (speedup of ours %s)  f16 %s (speedup of ours %s)\n", case_name(c), n,
                 "softmax", fmt(db).c_str(), ratio(db, b).c_str(), fmt(dh).c_str(), ratio(dh, h).c_str());
      }
}

// "model name" (x86: plus family/model/stepping, which identify the core when a hypervisor hides
// the name), or the ARM "CPU implementer/part".
std::string cpu_model() {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return "unknown";
  char line[512];
  std::map<std::string, std::string> kv;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '\n') break;  // the first processor only
    const char *p = strchr(line, ':');
    if (!p) continue;
    std::string k(line, size_t(p - line)), v(p + 1);
    while (!k.empty() && (k.back() == '\t' || k.back() == ' ')) k.pop_back();
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    kv[k] = v;
  }
  fclose(f);
  if (kv.count("model name"))
    return kv["model name"] + (kv.count("cpu family") ? " (family " + kv["cpu family"] + " model " + kv["model"] +
                                                            " stepping " + kv["stepping"] + ")"
                                                      : "");
  if (kv.count("CPU implementer")) return "ARM implementer " + kv["CPU implementer"] + " part " + kv["CPU part"];
  return "unknown";
}

void print_anchor_status() {
  for (int a = 0; a < A_COUNT; a++) {
    if (a == A_SLEEF2 || a == A_BWCOPY) continue;  // reported with their pair
    if (a == A_XNNPACK) printf("xnnpack: %s\n", anchor_on[a] ? "enabled (single-threaded, no thread pool)" : ("skipped: " + anchor_why[a]).c_str());
    if (a == A_ONEDNN) {
#ifdef SMX_BENCH_HAVE_ONEDNN
      if (anchor_on[a])
        printf("onednn: enabled, oneDNN %s, ISA %s%s%s, %s\n", anchor_dnnl_version(), anchor_dnnl_isa(),
               getenv("ONEDNN_MAX_CPU_ISA") ? " (ONEDNN_MAX_CPU_ISA=" : "",
               getenv("ONEDNN_MAX_CPU_ISA") ? (std::string(getenv("ONEDNN_MAX_CPU_ISA")) + ")").c_str() : "",
               anchor_dnnl_single_thread() ? "1 OpenMP thread" : "WARNING: could not limit OpenMP threads");
      else
#endif
        printf("onednn: skipped: %s\n", anchor_why[a].c_str());
    }
    if (a == A_SLEEF512)
      printf("sleef: avx512 %s, avx2 %s\n", anchor_on[A_SLEEF512] ? "enabled" : ("skipped: " + anchor_why[A_SLEEF512]).c_str(),
             anchor_on[A_SLEEF2] ? "enabled" : ("skipped: " + anchor_why[A_SLEEF2]).c_str());
    if (a == A_SORT) printf("sort sparsemax: %s\n", anchor_on[a] ? "enabled (qsort + prefix scan)" : ("skipped: " + anchor_why[a]).c_str());
    if (a == A_BWREAD) printf("bandwidth loops: %s\n", bw_isa());
  }
}

}  // namespace

int main(int argc, char **argv) {
  bool quick = false;
  bool has_min_time = false, has_reps = false;
  std::vector<char *> args;
  for (int i = 0; i < argc; i++) {
    if (i > 0 && !strcmp(argv[i], "--short")) { quick = true; continue; }
    if (i > 0 && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
      printf("usage: smx-bench [--short] [Google Benchmark flags, e.g. --benchmark_filter=<regex>]\n"
             "  --short  the issue's table only (< 60 s); default: every kernel, ISA, size and case (< 10 min)\n"
             "  --input=n3|ntenth|u17|u05|equal|halfneginf|max1e5|pm1e30|min1e5  the logits (default n3: N(0, 3))\n"
             "  --stream=<bytes>|never  smx_set_streaming_threshold: calls writing at least this many bytes stream\n"
             "           their outputs around the caches (default: the last-level cache's size; 0: every call)\n"
             "  names: <kernel>/<impl>/<case>/<n>, case cache|mem|rows-cache|rows-mem|threads;\n"
             "  ONEDNN_MAX_CPU_ISA=AVX2 limits oneDNN.\n"
             "  progress on stderr: in place with the time left on a terminal, a line per case/size group\n"
             "  otherwise (SMX_PROGRESS=tty|lines|off overrides).\n");
    }
    if (i > 0 && !strncmp(argv[i], "--stream=", 9)) {
      const char *v = argv[i] + 9;
      char *end = nullptr;
      const unsigned long long b = strtoull(v, &end, 10);
      if (!strcmp(v, "never")) smx_set_streaming_threshold(SIZE_MAX);
      else if (*v && !*end) smx_set_streaming_threshold(size_t(b));
      else { fprintf(stderr, "smx-bench: --stream takes a byte count or never\n"); return 1; }
      continue;
    }
    if (i > 0 && !strncmp(argv[i], "--input=", 8)) {
      input_regime = -1;
      for (int r = 0; r < int(sizeof kInputs / sizeof kInputs[0]); r++)
        if (!strcmp(argv[i] + 8, kInputs[r])) input_regime = r;
      if (input_regime < 0) { fprintf(stderr, "smx-bench: unknown input %s\n", argv[i] + 8); return 1; }
      continue;
    }
    if (!strncmp(argv[i], "--benchmark_min_time", 20)) has_min_time = true;
    if (!strncmp(argv[i], "--benchmark_repetitions", 23)) has_reps = true;
    args.push_back(argv[i]);
  }
  static char min_full[] = "--benchmark_min_time=0.1", min_short[] = "--benchmark_min_time=0.05";
  if (!has_min_time) args.insert(args.begin() + 1, quick ? min_short : min_full);
  // --short: the median of 3 repetitions (one noisy repetition does not make the table)
  static char reps[] = "--benchmark_repetitions=3", aggr[] = "--benchmark_report_aggregates_only=true";
  if (quick && !has_reps) args.insert(args.begin() + 1, reps), args.insert(args.begin() + 1, aggr);
  int ac = int(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&ac, args.data());
  if (benchmark::ReportUnrecognizedArguments(ac, args.data())) return 1;

  for (int i = 0; i < SMX_ISA_COUNT; i++)
    if (smx_isa_supported(smx_isa(i))) isas.push_back(smx_isa(i));
  best_isa = isas.back();

  std::string isa_list;
  for (smx_isa isa : isas) isa_list += std::string(" ") + smx_isa_name(isa);
  const size_t stream_min = smx_get_streaming_threshold();
  printf("smx-bench %s: simdmax %s, CPU: %s, ISAs:%s (best %s), single thread, f32, input %s, outputs streamed "
         "from %s\n",
         quick ? "--short" : "(full)", smx_version(), cpu_model().c_str(), isa_list.c_str(), smx_isa_name(best_isa),
         kInputs[input_regime], stream_min == SIZE_MAX ? "never" : (std::to_string(stream_min >> 10) + " KiB").c_str());
  fflush(stdout);

  auto t0 = std::chrono::steady_clock::now();
  fill_inputs(quick);

  // Anchor availability: compiled in, CPU support, then a correctness check.
#ifdef SMX_BENCH_HAVE_XNNPACK
  anchor_on[A_XNNPACK] = true;
#else
  anchor_why[A_XNNPACK] = SMX_BENCH_WHY_XNNPACK;
#endif
#ifdef SMX_BENCH_HAVE_ONEDNN
  anchor_on[A_ONEDNN] = true;
#else
  anchor_why[A_ONEDNN] = SMX_BENCH_WHY_ONEDNN;
#endif
#ifdef SMX_BENCH_HAVE_SLEEF
  anchor_on[A_SLEEF512] = anchor_sleef_avx512_ok();
  if (!anchor_on[A_SLEEF512]) anchor_why[A_SLEEF512] = "this CPU has no AVX-512";
  anchor_on[A_SLEEF2] = anchor_sleef_avx2_ok();
  if (!anchor_on[A_SLEEF2]) anchor_why[A_SLEEF2] = "this CPU has no AVX2+FMA";
#else
  anchor_why[A_SLEEF512] = anchor_why[A_SLEEF2] = SMX_BENCH_WHY_SLEEF;
#endif
  anchor_on[A_SORT] = anchor_on[A_BWREAD] = anchor_on[A_BWCOPY] = true;
  for (int a = 0; a < A_COUNT; a++) {
    if (!anchor_on[a] || a == A_BWREAD || a == A_BWCOPY) continue;
    std::string why;
    if (!validate_anchor(Anchor(a), &why)) {
      anchor_on[a] = false;
      anchor_why[a] = "BROKEN, output check failed at setup: " + why;
    }
  }
  check_ours();
  prep_p.kind = -1;  // validation overwrote B.p
  print_anchor_status();
  printf("setup (inputs, anchor checks): %.1f s\n", seconds_since(t0));
  printf("note: a \"Library was built as DEBUG\" warning below is about the Debian libbenchmark package, "
         "not simdmax.\n");
  fflush(stdout);

  // Registration, grouped by case and size (our kernels per ISA, then the anchors).
  const Kern table_kerns[] = {SMX_K_xent_softmax, SMX_K_sparsemax, SMX_K_stablemax, SMX_K_xent_stablemax, SMX_K_xent_sparsemax};
  for (int c : {CACHE, MEM})
    for (size_t n : kSizes) {
      bool in_table = false;
      for (const TableCase &tc : issue_cases) in_table |= tc.c == c && tc.n == n;
      if (quick && !in_table) continue;
      for (int k = 0; k < K_COUNT; k++) {
        bool family = k == SMX_K_softmax || k == SMX_K_log_softmax || k == SMX_K_logsumexp;
        bool ratio_kern = std::find(std::begin(table_kerns), std::end(table_kerns), Kern(k)) != std::end(table_kerns);
        if (quick && !family && !ratio_kern) continue;
        for (smx_isa isa : isas) {
          if (quick && !family && isa != best_isa) continue;
          // --short: the (slow) scalar reference only where it is cheap.
          if (quick && isa == SMX_ISA_SCALAR && !(c == CACHE && n == 4096)) continue;
          std::string name = bench_name(kern_name_of(k), smx_isa_name(isa), c, n);
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) { bm_ours(st, Kern(k), isa, c, n); });
          add_desc(kern_name_of(k), smx_isa_name(isa), c, n);
        }
      }
      for (int a = 0; a < A_COUNT; a++) {
        if (!anchor_on[a]) continue;
        std::string name = bench_name(anchor_kern[a], anchor_impl[a], c, n);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) { bm_anchor(st, Anchor(a), c, n); });
        add_desc(anchor_kern[a], anchor_impl[a], c, n);
      }
    }

  // Many short rows in one call: every kernel on the best ISA, the softmax anchors over the same rows.
  const Anchor row_anchors[] = {A_XNNPACK, A_ONEDNN, A_SLEEF512, A_SLEEF2};
  for (int c : {ROWS_CACHE, ROWS_MEM})
    for (size_t n : kRowSizes) {
      if (quick && !(n == 16 || n == 128 || n == 1024)) continue;
      for (int k = 0; k < K_COUNT; k++) {
        if (quick && k != SMX_K_softmax && k != SMX_K_xent_softmax) continue;
        std::string name = bench_name(kern_name_of(k), smx_isa_name(best_isa), c, n);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) { bm_ours(st, Kern(k), best_isa, c, n); });
        add_desc(kern_name_of(k), smx_isa_name(best_isa), c, n);
      }
      for (Anchor a : row_anchors) {
        if (!anchor_on[a]) continue;
        std::string name = bench_name(anchor_kern[a], anchor_impl[a], c, n);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) { bm_anchor(st, a, c, n); });
        add_desc(anchor_kern[a], anchor_impl[a], c, n);
      }
    }
  // Probability targets (smx_cross_entropy_soft_f32, loss and gradient; q: the bench's dy values), the three
  // normalizers on the best ISA beside their class-index calls: xent_soft_<normalizer>/<isa>/<case>/<n>.
  for (int c : {CACHE, MEM, ROWS_CACHE})
    for (size_t n : c == ROWS_CACHE ? std::vector<size_t>(std::begin(kRowSizes), std::end(kRowSizes))
                                    : std::vector<size_t>(std::begin(kSizes), std::end(kSizes)))
      for (Kern k : {SMX_K_xent_softmax, SMX_K_xent_stablemax, SMX_K_xent_sparsemax}) {
        if (quick) continue;
        const std::string kern = std::string("xent_soft_") + (kern_name_of(k) + 5);
        std::string name = bench_name(kern.c_str(), smx_isa_name(best_isa), c, n);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State &st) { bm_ours(st, k, best_isa, c, n, 1, true); });
        add_desc(kern.c_str(), smx_isa_name(best_isa), c, n);
      }
  // Threads: rows streamed from memory on 1, 2 and all cores (wall time); n = 2^24 is one row a call (split by blocks).
  std::vector<size_t> nthreads = {1, 2};
  if (usable_cores() > 2) nthreads.push_back(usable_cores());
  for (size_t n : kThreadSizes)
    for (Kern k : {SMX_K_softmax, SMX_K_logsumexp, SMX_K_xent_softmax}) {
      if (quick && n != 32000) continue;
      for (size_t t : nthreads) {
        std::string impl = std::string(smx_isa_name(best_isa)) + "-t" + std::to_string(t);
        std::string name = bench_name(kern_name_of(k), impl, THREADS, n);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) { bm_ours(st, k, best_isa, THREADS, n, t); })
            ->UseRealTime();
        add_desc(kern_name_of(k), impl, THREADS, n);
      }
    }

  // 16-bit tensors: every kernel in bfloat16 and binary16 on the best ISA, beside its f32 time above; where the best
  // is avx512bf16, bfloat16 on avx512 too (the integer rounding beside vcvtneps2bf16).
  for (const Case16 &cs : kCases16)
      for (int k = 0; k < K_COUNT; k++)
        for (int t = 0; t < 3; t++) {
          const int c = cs.c;
          const size_t n = cs.n;
          /* --short: softmax and the cross-entropy beside the f32 cases it has (cache 4096, mem 32000) */
          if (quick && (c == ROWS_CACHE || n != (c == CACHE ? 4096u : 32000u) ||
                        (k != SMX_K_softmax && k != SMX_K_xent_softmax)))
            continue;
          if (t == 2 && best_isa != SMX_ISA_AVX512BF16) continue;
          const smx_isa isa = t == 2 ? SMX_ISA_AVX512 : best_isa;
          std::string impl = std::string(smx_isa_name(isa)) + "-" + kType16[t % 2];
          std::string name = bench_name(kern_name_of(k), impl, c, n);
          benchmark::RegisterBenchmark(name.c_str(),
                                       [=](benchmark::State &st) { bm_ours16(st, Kern(k), t % 2, isa, c, n); });
          add_desc(kern_name_of(k), impl, c, n);
          if (!is_xent(k) || quick || t == 2) continue; /* probability targets beside (xent_soft_*, f32 above) */
          const std::string kern = std::string("xent_soft_") + (kern_name_of(k) + 5);
          name = bench_name(kern.c_str(), impl, c, n);
          benchmark::RegisterBenchmark(name.c_str(),
                                       [=](benchmark::State &st) { bm_ours16(st, Kern(k), t % 2, isa, c, n, true); });
          add_desc(kern.c_str(), impl, c, n);
        }
#ifdef SMX_BENCH_HAVE_ONEDNN
  bool dnnl16[2] = {false, false};
  for (int t = 0; t < 2 && anchor_on[A_ONEDNN]; t++) { /* registered only where oneDNN has that softmax */
    const char *why = "";
    anchor_dnnl *probe = anchor_dnnl_create_typed(1, 64, t + 1, &why);
    dnnl16[t] = probe != nullptr;
    anchor_dnnl_destroy(probe);
    if (!dnnl16[t]) printf("onednn %s softmax: skipped: this oneDNN has none on this CPU (%s)\n", kType16[t], why);
  }
  for (int c : {CACHE, MEM})
    for (size_t n : kSizes16)
      for (int t = 0; t < 2; t++) {
        if (!dnnl16[t] || (quick && n != (c == CACHE ? 4096u : 32000u))) continue; /* --short: beside its f32 cases */
        std::string impl = std::string("onednn-") + kType16[t], name = bench_name("softmax", impl, c, n);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) { bm_dnnl16(st, t, c, n); });
        add_desc("softmax", impl, c, n);
      }
#endif

  Recorder rec;
  rec.sel = selected();
  smx_progress_begin(&rec.prog, quick ? "smx-bench --short" : "smx-bench");
  rec.next_step();
  benchmark::RunSpecifiedBenchmarks(&rec);
  smx_progress_end(&rec.prog);

  // ---- the ratio table, from this run
  printf("\n==================== ratio table (this run; CPU time; ns/el = ns per element) ====================\n");
  printf("CPU: %s; simdmax %s; ISAs:%s\n", cpu_model().c_str(), smx_version(), isa_list.c_str());
  print_anchor_status();
  printf("speedup = fastest softmax anchor / ours (> 1: ours faster; the anchors compute softmax, also for the\n"
         "log_softmax and logsumexp rows); ours/bound = ours / (bandwidth-loop time over the same bytes).\n"
         "Second block: time ratios of the same ISA (sparsemax/softmax on the avx512 row = sparsemax vs our\n"
         "AVX-512 softmax); xent = cross-entropy loss + gradient.\n");
  for (const std::string &w : our_warnings) printf("WARNING: %s\n", w.c_str());
  printf("\n--- the issue's table ---");
  for (const TableCase &tc : issue_cases) {
    bool any = false;
    for (auto &r : ns_per_el) any |= descs[r.first].c == tc.c && descs[r.first].n == tc.n;
    if (any) print_case(tc.c, tc.n, tc.what);
    else printf("\n%s n=%s: not run\n", case_name(tc.c), size_label(tc.n).c_str());
  }
  bool others = false;
  for (int c : {CACHE, MEM})
    for (size_t n : kSizes) {
      bool in_table = false;
      for (const TableCase &tc : issue_cases) in_table |= tc.c == c && tc.n == n;
      if (in_table || std::isnan(get("softmax", smx_isa_name(best_isa), c, n))) continue;
      if (!others) printf("\n--- other sizes ---");
      others = true;
      print_case(c, n, c == CACHE ? "one row repeated" : "many rows from memory");
    }
  print_rows_tables(nthreads);
  print_16bit_table();
  if (!errors.empty()) {
    printf("\nERRORS:\n");
    for (auto &e : errors) printf("  %s: %s\n", e.first.c_str(), e.second.c_str());
  }
  printf("\nwall time: %.1f s\n", seconds_since(t0));
  benchmark::Shutdown();
  return errors.empty() ? 0 : 2;
}
