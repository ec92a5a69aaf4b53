"""Runs the data-generation recipes (synthesize, label, cft-data) through vLLM offline in ONE process, so that
runs on the same model share one engine (the tests start this in a subprocess: vLLM's in-process engine
binds threads and sets up torch.distributed, which must not leak into the pytest process).

    python -m tests.helpers.datagen_driver <out dir> <model dir> <shared data dir>

Each run composes the real conf/<recipe>.yaml with overrides (``tests.helpers.configs.compose_config``),
validates it and runs the recipe with <out dir>/<run name> as its run directory, then writes
<out dir>/driver.json (timings).

``synthesize`` uses the primary config's own teacher (model=tiny: a random model built in its run dir), the
others the session's tiny model. A random model never answers a problem right, so the ``label_gsm8k`` and
``label_judge`` runs start from a stages.jsonl seeded with graded solutions (one right, one wrong per problem;
the format a crashed run leaves behind) and so exercise the rollout (and judge) stages on the real engine.
What vLLM's engine is sent during ``label_gsm8k`` (its ``LLM.generate`` prompts, decoded) is written to
<out dir>/label_gsm8k/engine_prompts.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def _vllm(prefix: str) -> list[str]:
    return [f"{prefix}rollout.vllm.enforce_eager=true", f"{prefix}rollout.vllm.max_model_len=4096"]


def _role(prefix: str, model: str, n: int, tokens: int) -> list[str]:
    return [
        f"{prefix}.model.name_or_path={model}",
        f"{prefix}.model.from_scratch=false",
        f"{prefix}.sampling.n={n}",
        f"{prefix}.sampling.temperature=1.0",
        f"{prefix}.sampling.max_new_tokens={tokens}",
        *_vllm(f"{prefix}."),
    ]


def runs(model: str, data: Path) -> list[tuple[str, str, list[str]]]:
    """(run name, recipe, overrides) of every run the integration tests check."""
    return [
        ("synthesize", "synthesize", ["data.limit=3", "teacher.sampling.max_new_tokens=24", *_vllm("teacher.")]),
        ("label_gsm8k", "label", [*_role("generator", model, 2, 24), "limit=2", "rollouts_per_step=2", "batch_size=3"]),
        ("label_math500", "label", [*_role("generator", model, 2, 24), "problems=[math500_file]", "limit=2"]),
        (
            "label_judge",
            "label",
            [
                *_role("generator", model, 2, 24),
                *_role("judge", model, 1, 24),
                "judge.sampling.temperature=0.0",
                "consensus=judge",
                "limit=2",
                "rollouts_per_step=2",
            ],
        ),
        (
            "cft_generate",
            "cft-data",
            [
                *_role("generator", model, 2, 24),
                *_role("teacher", model, 1, 24),
                "teacher.sampling.temperature=0.0",
                "limit=2",
            ],
        ),
        (
            "cft_file",
            "cft-data",
            [
                *_role("teacher", model, 2, 24),
                "candidates.source=file",
                f"candidates.path={data}/math500/test.jsonl",
                "candidates.question_field=problem",
                "candidates.solution_field=solution",
                "candidates.answer_field=answer",
                "candidates.id_field=unique_id",
                "limit=3",
            ],
        ),
    ]


def seed_gsm8k_solutions(run: Path, data: Path, n: int = 2) -> None:
    """stages.jsonl holding, for the first ``n`` GSM8K test problems, a right solution (the reference
    solution's lines) and a wrong one (the same lines, final answer + 1), graded with math-verify."""
    from deepcritic.answers import gsm8k_reference
    from deepcritic.datagen.labeling import graded_solution
    from deepcritic.datagen.stages import stage_key

    rows = []
    for i, line in enumerate((data / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:n]):
        raw = json.loads(line)
        answer = gsm8k_reference(raw["answer"])
        body = "\n\n".join(s for s in raw["answer"].split("####")[0].strip().splitlines() if s.strip())
        right = f"{body}\n\nSo the answer is \\boxed{{{answer}}}."
        wrong = f"{body}\n\nSo the answer is \\boxed{{{int(float(answer)) + 1}}}."
        samples = [graded_solution(text, "stop", answer) for text in (right, wrong)]
        rows.append(
            {"id": stage_key(f"gsm8k/{i}", "solve", 0), "problem": f"gsm8k/{i}", "stage": "solve", "samples": samples}
        )
    run.mkdir(parents=True, exist_ok=True)
    (run / "stages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@contextmanager
def _engine_prompts(path: Path, model: str):
    """Record the prompts that reach ``vllm.LLM.generate`` (token ids, decoded with the model's tokenizer)."""
    from transformers import AutoTokenizer
    from vllm import LLM

    tokenizer, sent, original = AutoTokenizer.from_pretrained(model), [], LLM.generate

    def spy(self, prompts, *args, **kwargs):
        sent.extend(tokenizer.decode(p["prompt_token_ids"]) if isinstance(p, dict) else p for p in prompts)
        return original(self, prompts, *args, **kwargs)

    LLM.generate = spy
    try:
        yield
    finally:
        LLM.generate = original
        path.write_text(json.dumps(sent, indent=1), encoding="utf-8")


def main(out: Path, model: str, data: Path) -> None:
    from deepcritic.cli import RECIPES, run_config
    from deepcritic.generation import close_shared
    from tests.helpers.configs import compose_config

    os.environ["DEEPCRITIC_DATA"] = str(data)
    seed_gsm8k_solutions(out / "label_gsm8k", data)
    seed_gsm8k_solutions(out / "label_judge", data)
    timings = []
    for name, recipe, overrides in runs(model, data):
        run = out / name
        run.mkdir(parents=True, exist_ok=True)
        os.chdir(run)
        start = time.monotonic()
        with _engine_prompts(run / "engine_prompts.json", model) if name == "label_gsm8k" else nullcontext():
            run_config(RECIPES[recipe], compose_config(recipe, overrides))
        if name == "synthesize":
            close_shared()  # its own tiny teacher: free that engine before the shared model's
        timings.append({"run": name, "recipe": recipe, "seconds": round(time.monotonic() - start, 1)})
    close_shared()
    (out / "driver.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), sys.argv[2], Path(sys.argv[3]).resolve())
