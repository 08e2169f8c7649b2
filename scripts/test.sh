#!/usr/bin/env bash
# The whole test suite: x86 (every ISA this CPU has), an ASan+UBSan build, and AArch64 NEON under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
stage() { echo "== $* == (${SECONDS} s since the start)"; }
# The sanitizer builds at -O1 with line tables only (-g1): they compile 2.3x faster than at RelWithDebInfo's -O2 -g
# (the flattened kernels under ASan + UBSan; the whole CI run was 41-43 min on a 2-core Zen 4), -O1 is ASan's own
# advice, and the reports keep their files and lines.
sanitize_type=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")

stage "native build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
./build/tools/smx-validate

stage "install, then the README example through find_package(simdmax) and pkg-config"
prefix=$(mktemp -d)
cmake --install build --prefix "$prefix" >/dev/null
cmake -S examples -B build-examples -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build-examples -j"$jobs" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" ./build-examples/example_shared
./build-examples/example_static
cc examples/example.c $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs simdmax) -o build-examples/example_pc
LD_LIBRARY_PATH="$prefix/lib" ./build-examples/example_pc
if [ -x build-examples/mpi_vocab_parallel ]; then
  stage "vocabulary-parallel cross-entropy over 2 and 3 MPI ranks (bit-identical to the unsharded call)"
  # Open MPI refuses root unless told twice; --oversubscribe: more ranks than cores
  for np in 2 3; do
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 LD_LIBRARY_PATH="$prefix/lib" \
      mpirun --oversubscribe --allow-run-as-root -np "$np" ./build-examples/mpi_vocab_parallel
  done
else
  echo "note: no MPI (libopenmpi-dev): mpi_vocab_parallel not built, not run"
fi
if [ -x build-examples/chunked_linear_xent ]; then
  stage "cross-entropy of a linear head chunk by chunk (OpenBLAS sgemm per chunk) against the materialized logits"
  LD_LIBRARY_PATH="$prefix/lib" ./build-examples/chunked_linear_xent
else
  echo "note: no OpenBLAS (libopenblas-dev): chunked_linear_xent not built, not run"
fi
rm -rf "$prefix"

stage "ASan + UBSan build and tests"
cmake -S . -B build-asan "${sanitize_type[@]}" -DSMX_SANITIZE=ON -DSMX_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
SMX_TEST_QUICK=1 ctest --test-dir build-asan --output-on-failure -j"$jobs"

stage "ThreadSanitizer: concurrent first use, every kernel, modes and ISA switches"
cmake -S . -B build-tsan "${sanitize_type[@]}" -DSMX_TSAN=ON -DSMX_BUILD_BENCH=OFF -DSMX_BUILD_TOOLS=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target threads_check
TSAN_OPTIONS=halt_on_error=1 ./build-tsan/tests/threads_check

stage "libFuzzer differential target (clang, ASan + UBSan), ${SMX_FUZZ_SECONDS:-120} s from tests/fuzz/corpus"
CC=clang cmake -S . -B build-fuzz "${sanitize_type[@]}" -DSMX_SANITIZE=ON -DSMX_BUILD_FUZZ=ON \
  -DSMX_BUILD_TESTS=OFF -DSMX_BUILD_BENCH=OFF -DSMX_BUILD_TOOLS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_diff
corpus=$(mktemp -d) # new inputs go here, not into the repository
mkdir -p fuzz-artifacts
if ! ./build-fuzz/tests/fuzz/fuzz_diff -max_total_time="${SMX_FUZZ_SECONDS:-120}" -artifact_prefix=fuzz-artifacts/ \
     -print_final_stats=1 "$corpus" tests/fuzz/corpus 2>fuzz-artifacts/log.txt; then
  tail -40 fuzz-artifacts/log.txt
  echo "fuzz: a failing input is saved in fuzz-artifacts/ (replay: ./build-fuzz/tests/fuzz/fuzz_diff <file>)"
  exit 1
fi
grep -E "^Done|stat::number_of_executed_units" fuzz-artifacts/log.txt || true
rm -rf "$corpus"

stage "Python package (NumPy, PyTorch): pip install ./python, pytest"
bash scripts/python-test.sh

if [ "$(uname -m)" = "x86_64" ]; then
  stage "AArch64 (NEON) cross build, tests under qemu"
  bash scripts/aarch64-setup.sh
  bash scripts/aarch64-test.sh
fi
echo "all test stages passed in ${SECONDS} s"
