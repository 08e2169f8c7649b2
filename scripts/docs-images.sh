#!/usr/bin/env bash
# Regenerates the README's images and tables in docs/img/ from runs on this machine: the softmax family's benchmark plots and the anchors' accuracy.
# Usage: bash scripts/docs-images.sh   (about 3 minutes on 2 cores; matplotlib is installed on demand)
#   docs/img/bench-*.png              scripts/bench-report.sh over softmax, log_softmax, logsumexp (our
#                                     vector ISAs and the anchors) and the bandwidth loops, every size
#   docs/img/validate-anchors.{txt,json,png}  smx-validate --anchors (full corpus) and its plot
set -euo pipefail
cd "$(dirname "$0")/.."
img=docs/img
mkdir -p "$img"

# Benchmarks: every size and case of the softmax family; not the scalar reference (slow, and not
# what the plots compare), "([^s]|sleef)" keeps the SLEEF anchors.
bash scripts/bench-report.sh '--benchmark_filter=^(softmax|log_softmax|logsumexp|bw)/([^s]|sleef)'
out=$(ls -td bench-results/*/ | head -1)
rm -f "$img"/bench-*.png
for f in "$out"plot-*.png; do cp "$f" "$img/bench-$(basename "${f#"$out"plot-}")"; done
cp "$out"smx-bench.txt "$img/bench.txt"

# Accuracy beside the anchors (the same oracle and metric), full corpus.
cmake --build build-bench -j"$(nproc)" --target smx-validate >/dev/null
./build-bench/tools/smx-validate --anchors > "$img/validate-anchors.txt"
./build-bench/tools/smx-validate --anchors --json > "$img/validate-anchors.json"
python3 scripts/validate-plot.py "$img/validate-anchors.json" "$img"
rm -f "$img/validate-anchors.svg" # the PNG is what the README shows
ls -la "$img"
