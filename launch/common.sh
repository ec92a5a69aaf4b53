# Sourced by the launch scripts: the repository root, the virtualenv on PATH, and `launch_run`, which
# prints the exact command and runs it (or only prints it when DRY_RUN=1).
root="${DEEPCRITIC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
venv="${VENV:-$root/.venv}"
if [[ -x "$venv/bin/python" ]]; then
  PATH="$venv/bin:$PATH"
fi

launch_run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [[ "${DRY_RUN:-0}" == "1" ]]; then
    return 0
  fi
  cd "$root"
  exec "$@"
}

# A TCP port free on this machine now (for a single-node rendezvous when MASTER_PORT is not given, so that two runs
# on one machine do not both take 29500); says which on stderr.
free_port() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1]); s.close()')
  echo "[deepcritic] MASTER_PORT not set: using the free port $port (set MASTER_PORT to choose one)" >&2
  echo "$port"
}

gpus_on_this_node() {
  local n
  n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  echo "${n:-0}"
}
