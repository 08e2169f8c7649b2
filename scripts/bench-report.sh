#!/usr/bin/env bash
# Builds smx-bench (Release, in build-bench/) and runs it, keeping the console output (with the
# ratio table at its end) and Google Benchmark's JSON under bench-results/<date>-<commit>[-short]/.
# Usage: scripts/bench-report.sh [--short] [more smx-bench / Google Benchmark flags]
#   ONEDNN_MAX_CPU_ISA=AVX2 scripts/bench-report.sh --short   # oneDNN limited to AVX2
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target smx-bench >/dev/null
tag="$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit)"
for a in "$@"; do [[ "$a" == --short ]] && tag+="-short"; done
[[ -n "${ONEDNN_MAX_CPU_ISA:-}" ]] && tag+="-onednn-${ONEDNN_MAX_CPU_ISA,,}"
out="bench-results/$tag"
mkdir -p "$out"
start=$(date +%s)
./build-bench/bench/smx-bench "$@" --benchmark_out="$out/smx-bench.json" --benchmark_out_format=json 2>&1 | tee "$out/smx-bench.txt"
status=${PIPESTATUS[0]}
echo "wall time of smx-bench: $(( $(date +%s) - start )) s; output in $out/" | tee -a "$out/smx-bench.txt"
exit "$status"
