"""The scale ladder: the real recipes at real shapes on this CPU, and how time and memory grow.

    python benchmarks/scale_ladder.py --out runs/ladder                      # the whole ladder (see RUNGS)
    python benchmarks/scale_ladder.py --out runs/ladder --only tiny          # one model
    python benchmarks/scale_ladder.py --out runs/ladder --report             # table + plot from finished rungs

Models (random weights, one tokenizer for all: a byte-level BPE of 8,192 tokens trained on the rungs' texts, padded
with filler tokens to 151,936 for the two real-vocabulary shapes, so a text has the same token count everywhere):
``tiny`` (model=tiny's shape: hidden 128, 2 layers), ``mid`` (hidden 512, 8 layers, 8 heads / 2 KV heads,
intermediate 2,816, vocabulary 151,936: 118M parameters) and ``0.5b`` (``model.architecture=qwen2.5-0.5b``: 494M).
Each is built once with ``deepcritic.modeling.save_tiny_model`` and every stage loads it as a user loads a
checkpoint (``model.name_or_path=<dir> model.from_scratch=false``).

Data: real records. SFT chats are ProcessBench math/omnimath critic prompts with a critique assembled from the
record's own steps (each quoted and judged, as the protocol's critiques do), cut so that prompt + critique is the
rung's length (512, 2,048 or 8,192 tokens). GRPO and eval take ProcessBench/PRM800K records whose critic prompt
is the rung's length minus the completion budget (the longest there are for 8k), label takes MATH500 problems.

Each rung runs the recipe through its CLI (``deepcritic.cli.main``) in a worker process of its own
(``--worker``), under a wrapper that reads the peak resident memory of the whole process tree
(``getrusage(RUSAGE_CHILDREN)``: the largest single process, i.e. per training process under ZeRO-3). The worker
times every optimizer step (a trainer callback) and every generate call. The ZeRO-3 rungs run ``accelerate
launch`` with 2 gloo processes (launch/accelerate/cpu_2proc.yaml). Results accumulate in ``<out>/results.jsonl``;
``--report`` (benchmarks/ladder_report.py) writes the table, the fitted exponents and the plot.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("LADDER_DATA", REPO.parent / "shared" / "data"))  # the real records beside the repo
CPU_2PROC = REPO / "launch" / "accelerate" / "cpu_2proc.yaml"

MODELS = {
    "tiny": {"tiny": {"max_position_embeddings": 32768}, "architecture": None},
    "mid": {
        "tiny": {
            "hidden_size": 512,
            "num_layers": 8,
            "num_heads": 8,
            "num_kv_heads": 2,
            "intermediate_size": 2816,
            "max_position_embeddings": 32768,
            "pad_vocab_to": 151936,
        },
        "architecture": None,
    },
    "0.5b": {"tiny": {}, "architecture": "qwen2.5-0.5b"},
}
BPE_VOCAB = 8192
COMPLETION = {512: 64, 2048: 256, 8192: 512}  # GRPO / eval / label completion budget per rung length
LADDER = [  # (model, length, stage), cheapest and most telling first; label only at 512 (its prompts are problems)
    *[(m, n, s) for m in ("tiny", "mid") for n in (512, 2048) for s in ("sft", "grpo", "eval")],
    *[("tiny", 8192, s) for s in ("sft", "grpo", "eval")],
    *[("0.5b", 512, s) for s in ("sft", "grpo", "eval")],
    ("0.5b", 512, "sft-zero3"),
    ("0.5b", 512, "grpo-zero3"),
    ("mid", 8192, "sft"),
    ("mid", 8192, "eval"),
    ("tiny", 512, "label"),
    ("0.5b", 512, "label"),
    ("0.5b", 2048, "sft"),
    ("0.5b", 2048, "eval"),
    ("mid", 8192, "grpo"),  # the last three take 15-30 min each on 2 shared cores (docs/benchmarks.md)
    ("0.5b", 2048, "grpo"),
    ("mid", 512, "label"),
]
STEPS = 2  # optimizer steps per training rung: the first warms up, the second is the one reported


# ---------------------------------------------------------------------------------------------------
# Models and data (once per ladder)


def ladder_records() -> list:
    """ProcessBench math + omnimath and the PRM800K samples, as data-contract records."""
    from deepcritic.config import DataConfig
    from deepcritic.data import load_records

    sources = [
        DataConfig(source="processbench", path=str(DATA / "processbench" / "math.json")),
        DataConfig(source="processbench", path=str(DATA / "processbench" / "omnimath.json")),
        DataConfig(source="prm800k", path=str(DATA / "prm800k" / "samples" / "samples_prm800k.jsonl"), on_error="skip"),
    ]
    return [r for cfg in sources for r in load_records(cfg, rejects_default=Path(os.devnull)).records]


def build_models(out: Path, records: list) -> dict[str, Path]:
    """Each ladder model saved once under ``<out>/models/<name>`` (kept when there)."""
    from deepcritic.config import TinyModelConfig
    from deepcritic.critique import build_critic_messages
    from deepcritic.modeling import save_tiny_model

    texts = [build_critic_messages(r.problem, r.steps)[0]["content"] for r in records]
    paths = {}
    for name, spec in MODELS.items():
        tiny = TinyModelConfig(vocab_size=BPE_VOCAB, **spec["tiny"])
        paths[name] = out / "models" / name
        print(f"[ladder] model {name} -> {paths[name]}", flush=True)
        save_tiny_model(tiny, texts, paths[name], reuse=True, architecture=spec["architecture"])
    return paths


def prompt_tokens(tokenizer, record) -> int:
    from deepcritic.critique import build_critic_messages

    messages = build_critic_messages(record.problem, record.steps)
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def sft_chat(tokenizer, record, length: int) -> dict:
    """The record's critic prompt and a critique of its own steps, prompt + critique = ``length`` tokens."""
    from deepcritic.critique import build_critic_messages

    prompt = build_critic_messages(record.problem, record.steps)
    budget = length - prompt_tokens(tokenizer, record) - 24  # the answer line and the end-of-turn markup
    blocks, k = [], 0
    while len(tokenizer("\n\n".join(blocks))["input_ids"]) < budget:
        i = k % len(record.steps)
        blocks.append(f"Step {i + 1}: the step says: {record.steps[i]} Checking it again.\n\n\\boxed{{1}}")
        k += 1
    ids = tokenizer("\n\n".join(blocks))["input_ids"][:budget]
    critique = tokenizer.decode(ids) + "\n\n**Answer**: \\boxed{-1}"
    return {"messages": [*prompt, {"role": "assistant", "content": critique}]}


def write_data(out: Path, model_dir: Path, records: list) -> None:
    """Per rung length: sft.jsonl (8 chats of exactly that length) and records.jsonl (GRPO / eval prompts)."""
    from transformers import AutoTokenizer

    from deepcritic.data.records import write_jsonl

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    sized = sorted(((prompt_tokens(tokenizer, r), r) for r in records), key=lambda x: x[0])
    for length, completion in COMPLETION.items():
        folder = out / "data" / str(length)
        folder.mkdir(parents=True, exist_ok=True)
        fitting = [r for n, r in sized if n <= (length // 2 if length >= 2048 else length - 64)]
        chats = [sft_chat(tokenizer, r, length) for r in fitting[-8:]]
        (folder / "sft.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chats))
        room = [(n, r) for n, r in sized if n <= length - completion]
        chosen = room[-8:]  # the longest prompts that leave room for the completion
        write_jsonl([r for _, r in chosen], folder / "records.jsonl")
        stats = {"prompt_tokens": [n for n, _ in chosen], "sft_prompts": len(chats)}
        (folder / "stats.json").write_text(json.dumps(stats))
        print(f"[ladder] data {length}: GRPO/eval prompts of {stats['prompt_tokens']} tokens", flush=True)


# ---------------------------------------------------------------------------------------------------
# One rung: the recipe's command line


def overrides(stage: str, model: Path, length: int, data: Path, run_dir: Path) -> list[str]:
    """The rung's ``deepcritic <recipe>`` overrides (the sizes the module docstring describes)."""
    common = [f"hydra.run.dir={run_dir}", "logger=disabled"]
    completion = COMPLETION[length]
    engine = [f"rollout.vllm.max_model_len={length + 64}", "rollout.vllm.kv_cache_memory_gib=1"]
    eager = ["rollout.vllm.enforce_eager=true"]  # eval / label: no torch.compile warm-up (minutes on 2 cores)
    load = [f"model.name_or_path={model}", "model.from_scratch=false"]
    train = [f"train.max_steps={STEPS}", "train.save_steps=100000", "train.logging_steps=1", "train.warmup_ratio=0"]
    train += ["train.learning_rate=1e-5", f"train.gradient_checkpointing={str(length >= 8192).lower()}"]
    if stage.startswith("sft"):
        batch = (
            ["train.global_batch_size=2", "train.per_device_batch_size=1"]
            if "zero3" in stage
            else [
                "train.global_batch_size=1",
                "train.per_device_batch_size=1",
            ]
        )
        chat = ["chat=messages", f"chat.path={data / 'sft.jsonl'}", f"train.max_length={length}"]
        return [*common, *load, *train, *batch, *chat, "train.epochs=100"]
    if stage.startswith("grpo"):
        per_device = 2
        batch = [f"train.global_batch_size={per_device * (2 if 'zero3' in stage else 1)}"]
        batch += [f"train.per_device_batch_size={per_device}", "sampling.n=2"]
        sample = [f"sampling.max_new_tokens={completion}", f"grpo.max_prompt_length={length - completion}"]
        records = ["data=contract", f"data.path={data / 'records.jsonl'}", "grpo.log_completions=false"]
        return [*common, *load, *train, *engine, *batch, *sample, *records, "grpo.num_completions_to_print=0"]
    if stage == "eval":
        bench = ["benchmarks=[]", f"+benchmarks.ladder={{source: contract, path: {data / 'records.jsonl'}}}"]
        decode = [f"sampling.max_new_tokens={completion}", "batch_size=4", "limit=4"]
        return [*common, *load, *engine, *eager, *bench, *decode]
    gen = [f"generator.model.name_or_path={model}", "generator.model.from_scratch=false"]
    gen += [f"generator.rollout.vllm.max_model_len={length + 64}", "generator.rollout.vllm.kv_cache_memory_gib=1"]
    gen += ["generator.rollout.vllm.enforce_eager=true"]
    gen += [f"generator.sampling.max_new_tokens={completion}", "generator.sampling.n=2"]
    return [common[0], *gen, "problems=[math500_file]", "limit=2", f"rollout_max_new_tokens={completion}"]


def command(stage: str, args: list[str], timing: Path) -> list[str]:
    """The worker's command line: this file with ``--worker``, under ``accelerate launch`` for ZeRO-3."""
    recipe = stage.split("-")[0]
    worker = [str(Path(__file__)), "--worker", str(timing), recipe, *args]
    if "zero3" in stage:
        launch = [str(Path(sys.executable).parent / "accelerate"), "launch", "--config_file", str(CPU_2PROC)]
        return [*launch, "--main_process_port", str(_free_port()), *worker, "deepspeed=zero3"]
    return [sys.executable, *worker]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` (output to ``log``) in a process of its own; its wall time, exit status, the peak resident
    memory of its largest process and the load average sampled every 5 s."""
    loads, stop = [os.getloadavg()[0]], threading.Event()

    def sample() -> None:
        while not stop.wait(5.0):
            loads.append(os.getloadavg()[0])

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    env = {**os.environ, "DEEPCRITIC_DATA": str(DATA), "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "2"}
    env.update({"VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"})
    if any("accelerate" in c for c in cmd[:1]):
        env["OMP_NUM_THREADS"] = "1"
    wrapper = [sys.executable, str(Path(__file__)), "--measure", *cmd]
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(wrapper, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    stop.set()
    try:
        peak = json.loads(log.read_text().strip().splitlines()[-1])["peak_rss_kib"]
    except (ValueError, KeyError, IndexError):
        peak = 0
    return {"rc": proc.returncode, "wall_s": wall, "peak_rss_gib": peak / 2**20, "load": [min(loads), max(loads)]}


def measured_child(cmd: list[str]) -> None:
    """``--measure``: run ``cmd``, then print its process tree's peak RSS as the last line."""
    rc = subprocess.run(cmd).returncode
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rc": rc, "peak_rss_kib": peak}), flush=True)
    sys.exit(rc)


# ---------------------------------------------------------------------------------------------------
# The worker: the recipe's CLI in this process, every optimizer step and generate call timed


def worker(timing: Path, argv: list[str]) -> None:
    """``--worker``: run ``deepcritic <argv>`` with a step clock on the trainer and timers on generation;
    write what they measured to ``timing`` (``<timing>.rank<N>`` beside it for ranks above 0)."""
    import atexit

    from deepcritic import cli, generation
    from deepcritic.training import loop

    clock: dict = {"steps": [], "generate_s": 0.0, "generated_tokens": 0, "generate_calls": 0}

    class TimedPreemption(loop.PreemptionCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            clock["_t"] = time.perf_counter()
            return super().on_step_begin(args, state, control, **kwargs)

        def on_step_end(self, args, state, control, **kwargs):
            clock["steps"].append(time.perf_counter() - clock.pop("_t", time.perf_counter()))
            return super().on_step_end(args, state, control, **kwargs)

    loop.PreemptionCallback = TimedPreemption
    for cls in (generation.VLLMGenerator, generation.HFGenerator):
        _time_generate(cls, clock)
    rank = int(os.environ.get("RANK", "0"))
    path = timing if rank == 0 else timing.with_name(f"{timing.name}.rank{rank}")
    start = time.perf_counter()

    def write() -> None:
        clock["wall_s"] = time.perf_counter() - start
        clock["self_peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        import torch

        if torch.cuda.is_available():  # the GPU check (tests/gpu/test_scale.py) reads these
            clock["cuda_peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
            clock["cuda_peak_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
        clock.pop("_t", None)
        path.write_text(json.dumps(clock))

    atexit.register(write)
    sys.argv = ["deepcritic", *argv]
    cli.main(argv)


def _time_generate(cls: type, clock: dict) -> None:
    original = cls.generate

    def generate(self, prompts, sampling):
        began = time.perf_counter()
        out = original(self, prompts, sampling)
        clock["generate_s"] += time.perf_counter() - began
        clock["generate_calls"] += 1
        clock["generated_tokens"] += sum(c.num_tokens or 0 for row in out for c in row)
        return out

    cls.generate = generate


# ---------------------------------------------------------------------------------------------------
# The ladder


def rung_name(model: str, length: int, stage: str) -> str:
    return f"{model}-{length}-{stage}"


def done(results: Path) -> set[str]:
    if not results.is_file():
        return set()
    return {json.loads(line)["rung"] for line in results.read_text().splitlines() if line.strip()}


def run_rung(out: Path, models: dict[str, Path], model: str, length: int, stage: str) -> dict:
    """One rung, measured: what the worker timed, the trainer's own log and the wrapper's peak memory."""
    name = rung_name(model, length, stage)
    run_dir, timing = out / "runs" / name, out / "runs" / f"{name}.timing.json"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    args = overrides(stage, models[model], length, out / "data" / str(length), run_dir)
    print(f"[ladder] {name}: load {os.getloadavg()[0]:.1f}", flush=True)
    measured = measure(command(stage, args, timing), out / "runs" / f"{name}.log")
    result = {"rung": name, "model": model, "length": length, "stage": stage, "overrides": args, **measured}
    if timing.is_file():
        result["timing"] = json.loads(timing.read_text())
    state = run_dir / "trainer_state.json"
    if state.is_file():
        result["log_history"] = json.loads(state.read_text())["log_history"]
    stats = out / "data" / str(length) / "stats.json"
    result["data"] = json.loads(stats.read_text()) if stats.is_file() else {}
    status = "ok" if measured["rc"] == 0 else f"FAILED (exit {measured['rc']}, see {name}.log)"
    print(f"[ladder] {name}: {status}, {measured['wall_s']:.0f} s, peak {measured['peak_rss_gib']:.2f} GiB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "ladder")
    parser.add_argument("--only", help="comma-separated rung name prefixes, e.g. tiny or mid-512,0.5b-2048-sft")
    parser.add_argument("--retry", action="store_true", help="run again the rungs that failed")
    parser.add_argument("--report", action="store_true", help="only write the table and the plot")
    args, rest = parser.parse_known_args()
    if args.report:
        from benchmarks.ladder_report import report

        return report(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    records = ladder_records()
    models = build_models(args.out, records)
    if not (args.out / "data" / "8192" / "records.jsonl").is_file():
        write_data(args.out, models["tiny"], records)
    results = args.out / "results.jsonl"
    finished = done(results)
    wanted = [r for r in LADDER if not args.only or any(rung_name(*r).startswith(p) for p in args.only.split(","))]
    for model, length, stage in wanted:
        if rung_name(model, length, stage) in finished and not args.retry:
            continue
        result = run_rung(args.out, models, model, length, stage)
        with results.open("a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measured_child(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), sys.argv[3:])
    else:
        main()
