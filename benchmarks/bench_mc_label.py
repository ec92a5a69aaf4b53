"""Monte-Carlo labeling throughput (rollouts/s) with and without vLLM prefix caching, same model, same prompts.

    python benchmarks/bench_mc_label.py                          # the tiny random Qwen2, built on the spot
    python benchmarks/bench_mc_label.py --solutions 16 --rollouts 8 --max-new-tokens 64 --trials 2
    python benchmarks/bench_mc_label.py --model <dir or Hub name> --max-new-tokens 512 --no-enforce-eager

The workload is the rollout stage of ``deepcritic label``: for each of the first ``--solutions`` GSM8K
train problems, its reference solution (one step per line) is the solution to label, and ``--rollouts``
continuations are sampled from every step prefix with the packaged continuation prompt
(``deepcritic/datagen/labeling.py``), batched as ``label`` batches them. Successive prefixes of one
solution share their prompt up to the shorter prefix, and the K samples of a prefix share all of it.

Each setting runs in its own subprocess (a fresh engine: nothing cached from the other run), settings
alternate over ``--trials``, and the timing covers generation only (a warm-up call first; engine start-up
is reported separately). Besides rollouts/s (which swings with the machine's load), it reports vLLM's own
counters: prompt tokens, and how many of them were served from the prefix cache instead of prefilled
(independent of load). Prints one JSON line per run, a markdown table and the median speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "gsm8k" / "train.jsonl"


def workload(path: Path, solutions: int) -> list[tuple[str, list[str]]]:
    """(problem, steps) of the first ``solutions`` GSM8K problems: the reference solution's lines, with the
    final ``#### N`` written as a boxed answer step."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[:solutions]:
        row = json.loads(line)
        body, _, final = row["answer"].partition("####")
        steps = [s.strip() for s in body.strip().splitlines() if s.strip()]
        out.append((row["question"], steps + [f"So the answer is \\boxed{{{final.strip()}}}."]))
    return out


def run_setting(args: argparse.Namespace) -> dict:
    """Time the rollouts of one setting (prefix caching on or off) in this process."""
    import functools

    import vllm

    from deepcritic.config import ModelConfig, RolloutConfig, SamplingConfig
    from deepcritic.critique import load_template
    from deepcritic.datagen.labeling import continue_messages
    from deepcritic.generation import build_generator

    # Benchmark only: turn vLLM's stats on (off by default in vllm.LLM) to read its prompt-token counters.
    vllm.LLM = functools.partial(vllm.LLM, disable_log_stats=False)
    template = load_template("continue")
    prompts = [
        continue_messages(template, problem, steps[: i + 1])
        for problem, steps in workload(Path(args.data), args.solutions)
        for i in range(len(steps) - 1)
    ]
    rollout = RolloutConfig(backend="vllm")
    v = rollout.vllm
    v.enable_prefix_caching, v.enforce_eager, v.max_model_len = (
        args.caching == "on",
        args.enforce_eager,
        args.max_model_len,
    )
    start = time.perf_counter()
    generator = build_generator(ModelConfig(name_or_path=args.model), rollout)
    load_s = time.perf_counter() - start
    sampling = SamplingConfig(n=args.rollouts, temperature=1.0, max_new_tokens=args.max_new_tokens)
    generator.generate([[{"role": "user", "content": "warm-up"}]], SamplingConfig(n=1, max_new_tokens=4))
    before = _counters(generator)
    start = time.perf_counter()
    outputs = []
    for i in range(0, len(prompts), args.batch_size):
        outputs += generator.generate(prompts[i : i + args.batch_size], sampling)
    seconds = time.perf_counter() - start
    after = _counters(generator)
    prompt, cached = (after[k] - before[k] for k in ("vllm:prompt_tokens", "vllm:prompt_tokens_cached"))
    generated = sum(c.num_tokens or 0 for outs in outputs for c in outs)
    rollouts = len(prompts) * args.rollouts
    return {
        "caching": args.caching,
        "prefixes": len(prompts),
        "rollouts": rollouts,
        "seconds": round(seconds, 2),
        "rollouts_per_s": round(rollouts / seconds, 2),
        "generated_tokens": generated,
        "generated_tokens_per_s": round(generated / seconds, 1),
        "prompt_tokens": prompt,
        "prompt_tokens_cached": cached,
        "prefill_tokens_computed": prompt - cached,
        "load_s": round(load_s, 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def _counters(generator) -> dict[str, float]:
    """vLLM's prompt-token counters (every sample of an n > 1 request counts its prompt)."""
    names = ("vllm:prompt_tokens", "vllm:prompt_tokens_cached")
    values = {m.name: getattr(m, "value", 0) for m in generator.llm.get_metrics() if m.name in names}
    return {n: values.get(n, 0) for n in names}


def build_tiny(path: Path) -> str:
    """The tiny random Qwen2 of ``model=tiny`` (the CPU test model), saved at ``path``."""
    from deepcritic.config import TinyModelConfig
    from deepcritic.modeling import synthetic_tiny_model

    return str(synthetic_tiny_model(TinyModelConfig(), path, task_seed=TinyModelConfig().seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model dir or Hub name (default: the tiny random Qwen2)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="GSM8K train.jsonl")
    parser.add_argument("--solutions", type=int, default=8)
    parser.add_argument("--rollouts", type=int, default=8, help="continuations per step prefix (K)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64, help="prompts per generate call (as label batch_size)")
    parser.add_argument("--max-model-len", type=int, default=4096)
    parser.add_argument("--no-enforce-eager", dest="enforce_eager", action="store_false")
    parser.add_argument("--trials", type=int, default=1, help="alternating on/off pairs")
    parser.add_argument("--caching", choices=["on", "off"], help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.caching:
        print("RESULT " + json.dumps(run_setting(args)), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_tiny(Path(tmp) / "tiny")
        child = [
            "--data",
            args.data,
            "--solutions",
            str(args.solutions),
            "--rollouts",
            str(args.rollouts),
            "--max-new-tokens",
            str(args.max_new_tokens),
            "--batch-size",
            str(args.batch_size),
            "--max-model-len",
            str(args.max_model_len),
            *([] if args.enforce_eager else ["--no-enforce-eager"]),
        ]
        results = []
        for _ in range(args.trials):
            for caching in ("on", "off"):
                results.append(_child(child, model, caching))
                print(json.dumps(results[-1]), flush=True)
    _table(results, args)


def _child(argv: list[str], model: str, caching: str) -> dict:
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    proc = subprocess.run(
        [sys.executable, __file__, *argv, "--model", model, "--caching", caching],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.exit(f"caching={caching} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def _table(results: list[dict], args: argparse.Namespace) -> None:
    print(
        "\n| prefix caching | solutions | prefixes | K | max new tokens | rollouts | prompt tokens "
        "| prefill computed | load avg (1 min) | rollouts/s | generated tokens/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['caching']} | {args.solutions} | {r['prefixes']} | {args.rollouts} | {args.max_new_tokens} | "
            f"{r['rollouts']} | {r['prompt_tokens']} | {r['prefill_tokens_computed']} | {r['load_avg_1m']} | "
            f"{r['rollouts_per_s']} | {r['generated_tokens_per_s']} |"
        )
    on = sorted(r["rollouts_per_s"] for r in results if r["caching"] == "on")
    off = sorted(r["rollouts_per_s"] for r in results if r["caching"] == "off")
    med = lambda xs: xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2  # noqa: E731
    print(f"\nmedian rollouts/s: prefix caching on {med(on):.2f}, off {med(off):.2f} ({med(on) / med(off):.2f}x)")


if __name__ == "__main__":
    main()
