#!/usr/bin/env bash
# The whole test suite: x86 (every ISA this CPU has), an ASan+UBSan build, and AArch64 NEON under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== native build and tests =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
./build/tools/smx-validate

echo "== ASan + UBSan build and tests =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMX_SANITIZE=ON -DSMX_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
SMX_TEST_QUICK=1 ctest --test-dir build-asan --output-on-failure -j"$jobs"

if [ "$(uname -m)" = "x86_64" ]; then
  echo "== AArch64 (NEON) cross build, tests under qemu =="
  bash scripts/aarch64-setup.sh
  bash scripts/aarch64-test.sh
fi
echo "all test stages passed"
