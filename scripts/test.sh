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

echo "== install, then the README example through find_package(simdmax) and pkg-config =="
prefix=$(mktemp -d)
cmake --install build --prefix "$prefix" >/dev/null
cmake -S examples -B build-examples -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build-examples -j"$jobs" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" ./build-examples/example_shared
./build-examples/example_static
cc examples/example.c $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs simdmax) -o build-examples/example_pc
LD_LIBRARY_PATH="$prefix/lib" ./build-examples/example_pc
rm -rf "$prefix"

echo "== ASan + UBSan build and tests =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMX_SANITIZE=ON -DSMX_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
SMX_TEST_QUICK=1 ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== Python package (NumPy, PyTorch): pip install ./python, pytest =="
bash scripts/python-test.sh

if [ "$(uname -m)" = "x86_64" ]; then
  echo "== AArch64 (NEON) cross build, tests under qemu =="
  bash scripts/aarch64-setup.sh
  bash scripts/aarch64-test.sh
fi
echo "all test stages passed"
