"""Faults injected into a deepcritic process for the reliability tests.

Put this directory first on PYTHONPATH (``tests.helpers.faults.fault_env``) and Python imports this module at
start-up, before anything else; it does nothing unless one of these variables is set:

- ``DC_FAULT_NO_SPACE=<text>``: writing a file whose path contains ``<text>`` through ``safetensors.torch.save_file``
  or ``torch.save`` writes half of it and then fails with ENOSPC ("No space left on device"), as a full disk does;
- ``DC_FAULT_SIGTERM_IN=generate:<n>`` or ``backward:<n>``: the process sends itself SIGTERM during the n-th call
  of vLLM's ``LLM.generate`` (mid-generation) or of ``Accelerator.backward`` (mid-update), as a preemption landing
  in that phase does;
- ``DC_FAULT_NAN_AT_STEP=<n>``: the loss of the n-th backward pass (optimizer step n without gradient accumulation)
  becomes NaN, as a bad row or a diverging run makes it.
"""

from __future__ import annotations

import errno
import os


def _no_space(pattern: str) -> None:
    import safetensors.torch
    import torch

    def full(path: str) -> None:
        with open(path, "wb") as fh:  # half a file, as the disk filled up
            fh.write(b"\0" * 1024)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    save_file, save = safetensors.torch.save_file, torch.save

    def patched_save_file(tensors, filename, *args, **kwargs):
        if pattern in str(filename):
            full(str(filename))
        return save_file(tensors, filename, *args, **kwargs)

    def patched_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and pattern in str(f):
            full(str(f))
        return save(obj, f, *args, **kwargs)

    safetensors.torch.save_file, torch.save = patched_save_file, patched_save


def _nan_at(step: int) -> None:
    """The n-th backward pass gets a NaN loss (one per optimizer step without gradient accumulation: the trainers
    all go through ``Accelerator.backward``)."""
    import accelerate

    backward, calls = accelerate.Accelerator.backward, [0]

    def patched(self, loss, **kwargs):
        calls[0] += 1
        return backward(self, loss * float("nan") if calls[0] == step else loss, **kwargs)

    accelerate.Accelerator.backward = patched


def _sigterm_in(where: str) -> None:
    import signal

    phase, n = where.split(":")
    calls = [0]

    def arm(original):
        def patched(*args, **kwargs):
            calls[0] += 1
            if calls[0] == int(n):
                os.kill(os.getpid(), signal.SIGTERM)  # delivered at once, handled while the call goes on
            return original(*args, **kwargs)

        return patched

    if phase == "generate":
        import vllm

        vllm.LLM.generate = arm(vllm.LLM.generate)
    else:
        import accelerate

        accelerate.Accelerator.backward = arm(accelerate.Accelerator.backward)


if os.environ.get("DC_FAULT_SIGTERM_IN"):
    _sigterm_in(os.environ["DC_FAULT_SIGTERM_IN"])
if os.environ.get("DC_FAULT_NO_SPACE"):
    _no_space(os.environ["DC_FAULT_NO_SPACE"])
if os.environ.get("DC_FAULT_NAN_AT_STEP"):
    _nan_at(int(os.environ["DC_FAULT_NAN_AT_STEP"]))
