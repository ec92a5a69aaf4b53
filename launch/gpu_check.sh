#!/usr/bin/env bash
# The GPU check: on one GPU, random weights of a real shape (ARCH, default qwen2.5-1.5b), a few steps each of
# `sft` (bf16, sdpa, gradient checkpointing), `grpo` with rollout=hf and `eval` with the HF backend, through the
# real CLI (tests/gpu/test_scale.py); prints tokens/s and peak GPU memory beside `deepcritic plan`'s prediction,
# and PASS or FAIL. Sized for under 8 minutes on one H100-class GPU, model build included (not yet run on one).
#   bash launch/gpu_check.sh                         # on the GPU machine
#   WHEELS=.whl bash launch/gpu_check.sh             # first install what is missing from a folder of wheels
#                                                    #   (made beforehand with launch/gpu_wheels.sh)
#   GPU_CHECK_DRY_RUN=1 bash launch/gpu_check.sh     # anywhere: what it needs, has and would run; runs nothing
# Environment: ARCH (qwen2.5-0.5b | qwen2.5-1.5b | qwen2.5-7b), OUT (default runs/gpu_check), WHEELS (default
# .whl), PYTHON (default python3; .venv/bin/python when there), SITE (where wheels install, default /tmp/site).
# What it needs: a CUDA GPU with bf16, PyTorch with CUDA, and these Python packages (the wheels cover all but torch):
# torch transformers trl accelerate datasets hydra-core omegaconf math-verify peft safetensors tokenizers pytest
# pytest-timeout; no vLLM, no network, no model download.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
arch="${ARCH:-qwen2.5-1.5b}"
out="${OUT:-$root/runs/gpu_check}"
wheels="${WHEELS:-$root/.whl}"
site="${SITE:-/tmp/site}"
python="${PYTHON:-python3}"
[[ -z "${PYTHON:-}" && -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"
dry="${GPU_CHECK_DRY_RUN:-0}"
modules=(torch transformers trl accelerate datasets hydra omegaconf math_verify peft safetensors tokenizers pytest
         pytest_timeout)

missing() {  # the modules of $modules that do not import, one per line
  "$python" - "${modules[@]}" <<'PY'
import importlib.util, sys
for name in sys.argv[1:]:
    if importlib.util.find_spec(name) is None:
        print(name)
PY
}

echo "[gpu check] python: $("$python" -c 'import sys; print(sys.version.split()[0])') ($python)"
absent="$(missing | tr '\n' ' ')"
echo "[gpu check] missing packages: ${absent:-none}"
if [[ -n "$absent" ]]; then
  if compgen -G "$wheels/*.whl" >/dev/null; then
    echo "[gpu check] wheels in $wheels: $(cd "$wheels" && ls *.whl | tr '\n' ' ')"
    install=("$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site")
    echo "+ ${install[*]} $wheels/*.whl && export PYTHONPATH=$site:\$PYTHONPATH"
    if [[ "$dry" != "1" ]]; then
      "${install[@]}" "$wheels"/*.whl
      export PYTHONPATH="$site:$root:${PYTHONPATH:-}"
    fi
  else
    echo "[gpu check] no wheels in $wheels: prepare them where PyPI is reachable (bash launch/gpu_wheels.sh)" >&2
    [[ "$dry" == "1" ]] || exit 2
  fi
fi
export PYTHONPATH="$root:${PYTHONPATH:-}"
if [[ "$dry" != "1" ]]; then  # what the recipes import, with the versions that will run
  "$python" -c 'import importlib.metadata as m, deepcritic.cli, datasets, trl
print("[gpu check] versions:", ", ".join(f"{p} {m.version(p)}" for p in
      ("torch", "transformers", "trl", "accelerate", "datasets", "pyarrow", "hydra-core")))' \
    || { echo "[gpu check] FAIL: deepcritic's dependencies do not import (see above; datasets 5.2 needs pyarrow >= 24:" \
              "EXTRA=pyarrow==24.0.0 bash launch/gpu_wheels.sh)" >&2; exit 1; }
fi
cuda="$("$python" -c 'import torch; print(torch.cuda.is_available())' 2>/dev/null || echo unknown)"
echo "[gpu check] CUDA available: $cuda"
cmd=("$python" -m pytest -q -s -p no:cacheprovider tests/gpu/test_scale.py tests/gpu/test_cuda.py)
echo "+ SCALE_ARCH=$arch SCALE_OUT=$out ${cmd[*]}"
if [[ "$dry" == "1" ]]; then
  echo "[gpu check] dry run: nothing was installed or run"
  exit 0
fi
if [[ "$cuda" != "True" ]]; then
  echo "[gpu check] FAIL: no CUDA GPU visible to torch" >&2
  exit 1
fi
rm -f "$out/summary.jsonl"
start=$SECONDS
if SCALE_ARCH="$arch" SCALE_OUT="$out" "${cmd[@]}"; then verdict=PASS; else verdict=FAIL; fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
[[ -f "$out/summary.jsonl" ]] && cat "$out/summary.jsonl"
echo "[gpu check] $verdict in $((SECONDS - start)) s ($arch)"
[[ "$verdict" == "PASS" ]]
