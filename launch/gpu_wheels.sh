#!/usr/bin/env bash
# Prepare, on a machine with PyPI, the wheels launch/gpu_check.sh installs on a GPU machine without network: the
# Python packages deepcritic needs that a CUDA image with PyTorch usually lacks (pure-Python wheels; PyTorch,
# its CUDA libraries and vLLM are not included: the GPU image brings torch, the check needs no vLLM).
#   bash launch/gpu_wheels.sh                    # -> .whl/ for CPython 3.12 (PY_VERSION=3.11 for another)
#   WHEELS=/path/to/dir bash launch/gpu_wheels.sh
#   EXTRA="pyarrow==24.0.0" bash launch/gpu_wheels.sh   # also these (datasets 5.2 needs pyarrow >= 24: about
#                                                      # 40 MiB more, for an image whose pyarrow is older)
# About 15 MiB in all. The versions are the ones this project is tested with (launch/constraints-cpu.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wheels="${WHEELS:-$root/.whl}"
py="${PY_VERSION:-3.12}"
python="${PYTHON:-$root/.venv/bin/python}"
[[ -x "$python" ]] || python=python3
mkdir -p "$wheels"
packages=(trl==1.16.0 transformers==5.19.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
          hydra-core==1.3.8 omegaconf==2.3.1 math-verify==0.9.0 latex2sympy2_extended==1.11.0 ${EXTRA:-})
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version "$py" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$wheels" "${packages[@]}"
# antlr4-python3-runtime 4.9.3 (hydra-core and omegaconf pin 4.9.*) is published as a source archive only:
# build its pure-Python wheel here
"$python" -m pip wheel --quiet --no-deps -w "$wheels" antlr4-python3-runtime==4.9.3
du -sh "$wheels"
ls "$wheels"
