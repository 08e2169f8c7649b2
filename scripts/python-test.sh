#!/usr/bin/env bash
# The Python package's tests: a virtual environment in build-python/venv with NumPy, pytest, entmax and PyTorch
# from PyPI, the package installed from python/ (pip builds the C library with the project's CMake), then pytest.
# PyTorch: PyPI's default Linux wheel (the only PyPI build; its CUDA packages make ~5 GB, ~1.5 minutes to install
# here, once per machine: pip's cache and the venv are kept); its CPU kernels need no GPU. If it cannot be
# installed, the torch tests skip with that reason and the NumPy tests still run (SMX_PY_REQUIRE_TORCH=1: fail).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/build-python/venv
py=${PYTHON:-python3}
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
"${pip[@]}" install numpy pytest
if ! "$venv/bin/python" -c "import torch; torch.library.custom_op" 2>/dev/null; then
  "${pip[@]}" install "torch>=2.4" ||
    { [ "${SMX_PY_REQUIRE_TORCH:-0}" = 1 ] && exit 1; echo "WARNING: PyTorch could not be installed: the torch tests will be skipped"; }
fi
if "$venv/bin/python" -c "import torch" 2>/dev/null; then "${pip[@]}" install entmax; fi
"${pip[@]}" install ./python
mkdir -p build-python
cd build-python # not python/: the tests must import the installed package, not the source tree
"$venv/bin/python" -m pytest -q -ra ../python/tests # pytest's exit code 5 (no test ran) fails this script too
