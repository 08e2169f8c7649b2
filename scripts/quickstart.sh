#!/usr/bin/env bash
# The main job: install what is missing, build, run the validation report and a short benchmark on this CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSMX_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)"
./build/tools/smx-validate
./build/bench/smx-bench --short
