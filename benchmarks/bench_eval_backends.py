"""Records per second of critic evaluation: vLLM offline engine vs HF ``generate``, same model, same prompts.

    python benchmarks/bench_eval_backends.py                         # the tiny random Qwen2, built on the spot
    python benchmarks/bench_eval_backends.py --model <dir or Hub name> --records 64 --max-new-tokens 256

Each backend runs in its own subprocess (vLLM's CPU engine binds threads, which would skew the HF run).
Prompts are the critic prompts of the first ``--records`` ProcessBench gsm8k records; decoding is greedy,
one sample per record. Timing covers generation only (model loading is reported separately). Prints one
line per backend: records/s, generated tokens/s, load seconds.
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
DEFAULT_DATA = REPO.parent / "shared" / "data" / "processbench" / "gsm8k.json"


def build_tiny(path: Path) -> str:
    """The tiny random Qwen2 of ``model=tiny`` (the CPU test model), saved at ``path``."""
    from deepcritic.config import TinyModelConfig
    from deepcritic.modeling import synthetic_tiny_model

    return str(synthetic_tiny_model(TinyModelConfig(), path, task_seed=123))


def run_backend(args: argparse.Namespace) -> dict:
    """Time one backend on the critic prompts; returns the measurement."""
    from deepcritic.config import DataConfig, ModelConfig, RolloutConfig, SamplingConfig
    from deepcritic.critique import build_critic_messages
    from deepcritic.data import load_records
    from deepcritic.generation import build_generator

    records = load_records(DataConfig(source="processbench", path=args.data, limit=args.records)).records
    prompts = [build_critic_messages(r.problem, r.steps) for r in records]
    rollout = RolloutConfig(backend=args.backend)
    rollout.vllm.enforce_eager, rollout.vllm.max_model_len = args.enforce_eager, args.max_model_len
    rollout.hf.batch_size = args.hf_batch_size
    start = time.perf_counter()
    generator = build_generator(ModelConfig(name_or_path=args.model, dtype=args.dtype), rollout)
    load_s = time.perf_counter() - start
    sampling = SamplingConfig(n=1, temperature=0.0, max_new_tokens=args.max_new_tokens)
    generator.generate(prompts[: min(2, len(prompts))], sampling)  # warm-up (kernels, allocator)
    start = time.perf_counter()
    outputs = generator.generate(prompts, sampling)
    seconds = time.perf_counter() - start
    tokens = sum(c.num_tokens or 0 for out in outputs for c in out)
    return {
        "backend": args.backend,
        "records": len(prompts),
        "seconds": round(seconds, 2),
        "records_per_s": round(len(prompts) / seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
        "generated_tokens": tokens,
        "load_s": round(load_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model dir or Hub name (default: build the tiny random Qwen2)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="ProcessBench JSON file")
    parser.add_argument("--records", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--max-model-len", type=int, default=4096)
    parser.add_argument("--hf-batch-size", type=int, default=8)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--backend", choices=["vllm", "hf", "both"], default="both")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    if args.backend != "both":
        print(json.dumps(run_backend(args)), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_tiny(Path(tmp) / "tiny")
        results = []
        for backend in ("vllm", "hf"):
            cmd = [
                sys.executable,
                __file__,
                "--backend",
                backend,
                "--model",
                model,
                "--data",
                args.data,
                "--records",
                str(args.records),
                "--max-new-tokens",
                str(args.max_new_tokens),
                "--max-model-len",
                str(args.max_model_len),
                "--hf-batch-size",
                str(args.hf_batch_size),
                "--dtype",
                args.dtype,
                "--enforce-eager" if args.enforce_eager else "--no-enforce-eager",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                sys.exit(f"{backend} failed:\n{proc.stderr[-3000:]}")
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"{'backend':<8} {'records':>7} {'seconds':>8} {'records/s':>10} {'tokens/s':>9} {'load s':>7}")
    for r in results:
        print(
            f"{r['backend']:<8} {r['records']:>7} {r['seconds']:>8} {r['records_per_s']:>10} {r['tokens_per_s']:>9} "
            f"{r['load_s']:>7}"
        )


if __name__ == "__main__":
    main()
