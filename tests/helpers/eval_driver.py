"""Runs several evaluation recipes in ONE process so that they share one vLLM engine (the tests start it in
a subprocess: vLLM's in-process engine binds threads and sets up torch.distributed, which must not leak
into the pytest process).

    python -m tests.helpers.eval_driver <out dir> <model dir> <shared data dir>

Each run composes the real conf/<recipe>.yaml with overrides (``tests.helpers.configs.compose_config``),
validates it and runs the recipe with its run directory as the working directory, then writes
<out dir>/driver.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def _vllm(prefix: str) -> list[str]:
    return [f"{prefix}rollout.vllm.enforce_eager=true", f"{prefix}rollout.vllm.max_model_len=4096"]


def runs(model: str, data: Path) -> list[tuple[str, str, list[str]]]:
    """(run name, recipe, overrides): every run of the integration tests that needs a model."""
    pb = f"{data}/processbench/gsm8k.json"
    gsm8k = f"+benchmarks.gsm8k={{source: processbench, path: '{pb}'}}"
    pb_template = f"protocol.template={data}/reference/processbench/critique_template.txt"
    omnimath = f"+benchmarks.omnimath={{source: processbench, path: '{data}/processbench/omnimath.json'}}"
    eval_common = [
        f"model.name_or_path={model}",
        "benchmarks=[]",
        "sampling.n=2",
        "sampling.temperature=1.0",
        "sampling.max_new_tokens=24",
        "batch_size=3",
        "logger=disabled",
        *_vllm(""),
    ]
    roles = [
        f"generator.model.name_or_path={model}",
        f"critic.model.name_or_path={model}",
        "generator.sampling.temperature=1.0",
        "generator.sampling.max_new_tokens=32",
        "critic.sampling.max_new_tokens=24",
        "problems@benchmarks=[math500_file,gsm8k_file]",
        "limit=3",
        "logger=disabled",
        *_vllm("generator."),
        *_vllm("critic."),
    ]
    return [
        ("eval_resume", "eval", [*eval_common, gsm8k, "limit=4"]),
        ("eval_resume", "eval", [*eval_common, gsm8k, "limit=7"]),  # same run dir: only 3 more records
        ("eval_hf", "eval", [*eval_common, gsm8k, "limit=2", "rollout=hf", "rollout.hf.batch_size=2"]),
        # ProcessBench's official protocol, its prompt read from the reference copy (checked by sha256)
        ("eval_processbench", "eval", [*eval_common, gsm8k, "limit=4", "protocol=processbench", pb_template]),
        # a context too short for OmniMath's prompts: such records are stored as unparseable, not a crash
        ("eval_too_long", "eval", [*eval_common, omnimath, "limit=2", "rollout.vllm.max_model_len=512"]),
        (
            "solve",
            "solve",
            [
                f"generator.model.name_or_path={model}",
                "generator.sampling.n=4",
                "generator.sampling.temperature=1.0",
                "generator.sampling.max_new_tokens=24",
                "problems@benchmarks=[math500_file,gsm8k_file]",
                "limit=3",
                "logger=disabled",
                *_vllm("generator."),
            ],
        ),
        ("refine", "refine", roles),
        (
            "verify_vote",
            "verify-vote",
            [*roles, "generator.sampling.n=4", "critic.sampling.n=2", "critic.sampling.temperature=1.0"],
        ),
    ]


def main(out: Path, model: str, data: Path) -> None:
    from deepcritic.cli import RECIPES, run_config
    from deepcritic.generation import close_shared
    from tests.helpers.configs import compose_config

    os.environ["DEEPCRITIC_DATA"] = str(data)
    timings = []
    for name, recipe, overrides in runs(model, data):
        run = out / name
        run.mkdir(parents=True, exist_ok=True)
        os.chdir(run)
        start = time.monotonic()
        run_config(RECIPES[recipe], compose_config(recipe, overrides))
        timings.append({"run": name, "recipe": recipe, "seconds": round(time.monotonic() - start, 1)})
    close_shared()
    (out / "driver.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), sys.argv[2], Path(sys.argv[3]).resolve())
