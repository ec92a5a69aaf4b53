"""TRL's GRPOTrainer for critics: the reward with its metrics, dynamic sampling, the step-time split.

:func:`build_trainer` assembles it; :class:`CriticGRPOTrainer` overrides one method (see its docstring).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback
from trl import GRPOTrainer

from deepcritic.config import GRPORecipeConfig, RewardConfig
from deepcritic.grpo import engine
from deepcritic.grpo.dynamic import (
    RefillSource,
    loss_tokens,
    merge_rows,
    missing_groups,
    select_groups,
    zero_variance_groups,
)
from deepcritic.grpo.metrics import batch_metrics, console_line, sample_outcome, time_split, window_f1
from deepcritic.rewards import RewardRules, completion_text, make_reward_function
from deepcritic.store import write_json

log = logging.getLogger(__name__)


class StepTimer:
    """Seconds spent per bucket (rollout, reward, weight_sync) in the current optimizer step, and a window
    of finished steps' splits for the next log line."""

    def __init__(self) -> None:
        self._current: dict[str, float] = defaultdict(float)
        self._started: float | None = None
        self.window: list[dict[str, float]] = []

    def add(self, bucket: str, seconds: float) -> None:
        self._current[bucket] += seconds

    def seconds(self, bucket: str) -> float:
        """Seconds recorded in ``bucket`` so far in the current step."""
        return self._current.get(bucket, 0.0)

    def start_step(self) -> None:
        self._current.clear()
        self._started = time.perf_counter()

    def end_step(self) -> None:
        if self._started is None:
            return
        c = self._current
        self.window.append(time_split(time.perf_counter() - self._started, c["rollout"], c["reward"], c["weight_sync"]))
        self._started = None

    def flush(self) -> dict[str, float]:
        """Mean split over the steps since the last flush."""
        if not self.window:
            return {}
        keys = self.window[0].keys()
        means = {k: sum(w[k] for w in self.window) / len(self.window) for k in keys}
        self.window = []
        return means


def reward_rules(cfg: RewardConfig) -> RewardRules:
    """The reward's rules from the ``reward`` config group (same fields)."""
    return RewardRules(**asdict(cfg))


def generation_eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """The tokens that end a completion: the generation config's eos ids plus the tokenizer's (TRL's rule)."""
    eos = model.generation_config.eos_token_id
    ids = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    return ids if tokenizer.eos_token_id in ids else [tokenizer.eos_token_id, *ids]


def make_critic_reward(
    rules: RewardRules, eos_token_ids: Sequence[int], timer: StepTimer
) -> Callable[..., list[float]]:
    """The reward function for GRPOTrainer: deepcritic.rewards, plus per-batch critic metrics and table columns.

    Metrics go through TRL's ``log_metric`` (averaged per logging step, across processes); the verdict
    the reward judged, the label and the truncation flag go through ``log_extra`` into TRL's completions
    table (wandb and ``<output_dir>/completions/*.parquet``). Named ``judgment`` so TRL logs
    ``rewards/judgment/mean``.
    """
    base = make_reward_function(rules, eos_token_ids)

    def judgment(prompts: list, completions: list, label: list, **kwargs: Any) -> list[float]:
        start = time.perf_counter()
        rewards = base(prompts, completions, label, **kwargs)
        n = len(completions)
        steps, ids = kwargs.get("num_steps") or [None] * n, kwargs.get("completion_ids") or [None] * n
        outcomes = [
            sample_outcome(completion_text(c), y, k, i, eos_token_ids, rules, r)
            for c, y, k, i, r in zip(completions, label, steps, ids, rewards)
        ]
        if callable(kwargs.get("log_metric")):
            for key, value in batch_metrics(outcomes).items():
                kwargs["log_metric"](key, value)
        if callable(kwargs.get("log_extra")):
            kwargs["log_extra"]("verdict", [o.judged for o in outcomes])
            kwargs["log_extra"]("label", [o.label for o in outcomes])
            kwargs["log_extra"]("truncated", [o.truncated for o in outcomes])
        timer.add("reward", time.perf_counter() - start)
        return rewards

    return judgment


class DynamicSampler:
    """Fills a generation batch with groups that have reward variance (module ``deepcritic.grpo.dynamic``)."""

    def __init__(self, source: RefillSource, group_size: int, max_rounds: int):
        self.source, self.group_size, self.max_rounds = source, group_size, max_rounds

    def batch(self, trainer: GRPOTrainer, inputs: list[dict], generate: Callable[[list[dict]], dict]) -> dict:
        batches = [generate(inputs)]
        flags = [zero_variance_groups(batches[0]["advantages"], self.group_size)]
        slots = len(flags[0])
        while len(batches) <= self.max_rounds and self._anyone_missing(trainer, flags, slots):
            batches.append(generate(self.source.draw(len(inputs))))
            flags.append(zero_variance_groups(batches[-1]["advantages"], self.group_size))
        picks = select_groups(flags, slots)
        self._log(trainer, flags, picks, rounds=len(batches) - 1)
        if picks == [(0, g) for g in range(slots)]:
            return batches[0]  # nothing was swapped
        merged = merge_rows(batches, picks, self.group_size, trainer.processing_class.pad_token_id)
        merged["num_items_in_batch"] = trainer.accelerator.gather(loss_tokens(merged)).sum()
        return merged

    @staticmethod
    def _anyone_missing(trainer: GRPOTrainer, flags: list[list[bool]], slots: int) -> bool:
        """Whether any process still lacks useful groups (every process takes the same decision)."""
        missing = torch.tensor([missing_groups(flags, slots)], device=trainer.accelerator.device)
        return bool(trainer.accelerator.gather(missing).max() > 0)

    @staticmethod
    def _log(trainer: GRPOTrainer, flags: list[list[bool]], picks: list[tuple[int, int]], rounds: int) -> None:
        zero_after = sum(flags[r][g] for r, g in picks) / max(1, len(picks))
        local = torch.tensor(
            [sum(flags[0]) / max(1, len(flags[0])), zero_after, float(rounds)], device=trainer.accelerator.device
        )
        before, after, rounds_mean = trainer.accelerator.gather(local).view(-1, 3).mean(dim=0).tolist()
        metrics = trainer._metrics["train"]
        metrics["dynamic_sampling/frac_zero_std_before"].append(before)
        metrics["dynamic_sampling/frac_zero_std_after"].append(after)
        metrics["dynamic_sampling/refill_rounds"].append(rounds_mean)


class CriticGRPOTrainer(GRPOTrainer):
    """TRL's GRPOTrainer with DAPO dynamic sampling and a timed rollout.

    Overrides one method, ``_generate_and_score_completions``, because it is the one place where a
    generation batch exists with its rewards and advantages before anything uses them: groups without a
    gradient can be exchanged there for useful ones while TRL's generation, scoring, advantage
    normalisation, buffering and loss stay untouched (semantics in ``deepcritic.grpo.dynamic``). The
    same call is timed for the step-time split, as TRL's profiling reports only to wandb, per call.
    ``dynamic`` and ``timer`` are set by :func:`build_trainer`.
    """

    dynamic: DynamicSampler | None = None
    timer: StepTimer | None = None

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        start = time.perf_counter()
        generate = super()._generate_and_score_completions
        if self.dynamic is not None and self.model.training:
            batch = self.dynamic.batch(self, inputs, generate)
        else:
            batch = generate(inputs)
        if self.timer is not None:
            self.timer.add("rollout", time.perf_counter() - start)
        return batch


class RefillState(TrainerCallback):
    """The refill stream's position in every checkpoint (``dynamic_sampling.json``), restored when training resumes
    from one, so that a resumed run refills with the prompts the uninterrupted run would have drawn."""

    FILE = "dynamic_sampling.json"

    def __init__(self, source: RefillSource):
        self.source = source

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}" / self.FILE
            if path.parent.is_dir():
                write_json(path, {"position": self.source.position})

    def on_train_begin(self, args, state, control, **kwargs):
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}" / self.FILE
        if state.global_step > 0 and path.is_file():
            self.source.seek(int(json.loads(path.read_text())["position"]))


class CriticLogCallback(TrainerCallback):
    """Adds ``critic/f1`` and the ``time/*`` split to every log (console, wandb, trainer_state.json) and
    prints a one-line summary. Must run before the reporting callbacks: :func:`build_trainer` puts it first."""

    def __init__(self, timer: StepTimer, is_main: bool):
        self.timer, self.is_main = timer, is_main

    def on_step_begin(self, args, state, control, **kwargs):
        self.timer.start_step()

    def on_step_end(self, args, state, control, **kwargs):
        self.timer.end_step()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or "reward" not in logs:
            return
        extra = self.timer.flush()
        f1 = window_f1(logs)
        if f1 is not None:
            extra["critic/f1"] = f1
        logs.update(extra)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(extra)
        if self.is_main:
            log.info(console_line(state.global_step, logs))


def build_trainer(
    model: Any,
    tokenizer: Any,
    args: Any,
    dataset: Any,
    cfg: GRPORecipeConfig,
    peft_config: Any = None,
    callbacks: Sequence[TrainerCallback] = (),
) -> CriticGRPOTrainer:
    """The trainer for ``cfg``: reward and metrics, dynamic sampling when on, timing, vLLM sync on CPU."""
    timer = StepTimer()
    eos = generation_eos_ids(model, tokenizer)
    reward = make_critic_reward(reward_rules(cfg.reward), eos, timer)
    colocated = args.use_vllm and args.vllm_mode == "colocate"
    precision = "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"  # the engine samples at the trainer's
    with engine.engine_arguments(cfg.rollout.vllm, precision) if colocated else contextlib.nullcontext():
        trainer = CriticGRPOTrainer(
            model=model,
            reward_funcs=[reward],
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=list(callbacks),
        )
    if list(trainer.eos_token_ids) != eos:
        log.warning("end-of-sequence ids differ: trainer %s, reward %s", trainer.eos_token_ids, eos)
    trainer.timer = timer
    if cfg.grpo.dynamic_sampling:
        acc = trainer.accelerator
        source = RefillSource(dataset, cfg.sampling.n, cfg.seed + 1, acc.process_index, acc.num_processes)
        trainer.dynamic = DynamicSampler(source, cfg.sampling.n, cfg.grpo.dynamic_sampling_max_rounds)
        trainer.add_callback(RefillState(source))
    if args.use_vllm:
        engine.instrument(trainer.vllm_generation, timer.add)
    trainer.callback_handler.callbacks.insert(0, CriticLogCallback(timer, trainer.accelerator.is_main_process))
    return trainer
