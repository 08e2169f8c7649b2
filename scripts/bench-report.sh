#!/usr/bin/env bash
# Builds smx-bench (Release, in build-bench/) and runs it, keeping the console output (with the
# ratio table at its end) and Google Benchmark's JSON under bench-results/<date>-<commit>[-short]/,
# then draws plots of the run there (scripts/bench-plot.py: plot-<family>.svg/.png; a plotting
# failure is a warning, the exit status stays smx-bench's).
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
# The CPU's name into the JSON's context, for the plots' titles (as smx-bench names it; no ',' or
# '=', the flag's separators).
cpu="$(awk -F'\t*: *' '$1=="model name"{m=$2} $1=="cpu family"{f=$2} $1=="model"{o=$2} $1=="stepping"{s=$2}
  /^$/{exit} END{if (m != "") printf "%s%s", m, (f != "" ? " (family " f " model " o " stepping " s ")" : "")}' /proc/cpuinfo 2>/dev/null || true)"
[[ -n "$cpu" ]] || cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1 || true)"
cpu="$(tr ',=' ';:' <<<"$cpu")"
./build-bench/bench/smx-bench ${cpu:+"--benchmark_context=host_cpu=$cpu"} "$@" --benchmark_out="$out/smx-bench.json" --benchmark_out_format=json 2>&1 | tee "$out/smx-bench.txt"
status=${PIPESTATUS[0]}
echo "wall time of smx-bench: $(( $(date +%s) - start )) s; output in $out/" | tee -a "$out/smx-bench.txt"
if [[ -s "$out/smx-bench.json" ]]; then
  python3 scripts/bench-plot.py "$out/smx-bench.json" "$out" || echo "warning: the plots failed (scripts/bench-plot.py); the benchmark's results are in $out/" >&2
fi
exit "$status"
