#!/usr/bin/env bash
# Installs the Debian packages simdmax needs to build, test and benchmark (idempotent; root or sudo).
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libsleef-dev libcriterion-dev libbenchmark-dev libmpfr-dev libgmp-dev
      libopenmpi-dev openmpi-bin libopenblas-dev
      python3 python3-venv python3-pip
      libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  # XNNPACK and oneDNN are optional comparison anchors: install them if the archive has them.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || {
    optional=(libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev)
    required=(); for p in "${missing[@]}"; do [[ " ${optional[*]} " == *" $p "* ]] || required+=("$p"); done
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${required[@]}" >/dev/null
    echo "note: some optional comparison libraries (XNNPACK, oneDNN) could not be installed; benchmarks skip them"
  }
fi
