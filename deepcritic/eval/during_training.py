"""Critic evaluation while ``sft``, ``cft`` or ``grpo`` trains: the callback the recipes attach
(``eval_during_training``).

At each evaluation step S (0 before the first step, every ``every_steps``, the last one; :mod:`.progress`):

1. **Generate** with what the run has (:func:`deepcritic.eval.trainer_critics.open_critic`): a GRPO run's vLLM
   engine after the weight push, its server, or transformers generate on the training model (ZeRO-3: gathered).
2. **Split and gather**: the records not yet evaluated at S are cut into batches, batch b to process b mod W;
   the rows are gathered, so every process holds every row, computes the same metrics and takes the same
   decisions (save, stop). The main process appends the rows to ``<run>/eval_during_training/step-S/<name>.jsonl``
   (an interrupted evaluation resumes where it stopped) and writes ``metrics.json`` beside them.
3. **Log** through the trainer's callbacks (transformers' ``Trainer.log``, without GRPO's merge of its training
   metrics): ``eval_<benchmark>/<metric>`` (wandb and TensorBoard show ``eval/<benchmark>/<metric>``),
   ``eval_average/<metric>`` and ``time/eval``; a console line; a wandb table of a few critiques.
4. **Best** (``keep_best``): the tracked metric's best value and step go into the trainer state
   (``best_metric``, ``best_global_step``), which every checkpoint saves, so a resumed run knows the best so far.
   A new best at step S > 0 asks for a checkpoint at S (transformers keeps the best checkpoint out of rotation),
   which :meth:`on_save` copies to ``<run>/best/`` (weights, tokenizer, a model card with the step and figures);
   a best at step 0 is saved from the model directly. ``early_stop_patience`` stops training after that many
   evaluations in a row without a better value.
5. **Resume**: a run resumed from checkpoint R drops stored evaluations after R (the interrupted trajectory's)
   and, if ``best/`` no longer matches the restored state, copies the state's best checkpoint back into it.

At the end: ``plots/eval_during_training.png`` (F1 per benchmark against step, beside the GRPO reward) and the
time spent evaluating as a share of the run.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainerCallback

from deepcritic.cards import EvalFigure, benchmark_figures
from deepcritic.config import DataConfig, EvalDuringTrainingConfig, sections
from deepcritic.data import load_records
from deepcritic.data.records import StepRecord
from deepcritic.data.sample import stratified_sample
from deepcritic.eval import progress, report
from deepcritic.eval.critic import critique_batch
from deepcritic.eval.metrics import average_metrics, default_ks
from deepcritic.eval.protocols import Protocol, get_protocol
from deepcritic.eval.scoring import protocol_metrics, read_rows
from deepcritic.eval.trainer_critics import Share, open_critic
from deepcritic.store import ResultStore, write_json

log = logging.getLogger(__name__)

FOLDER = "eval_during_training"
MODEL_FILES_SKIPPED = (
    "optimizer",
    "scheduler",
    "rng_state",
    "trainer_state",
    "training_args",
    "latest",
    "zero_to_fp32",
)

# (model dir, figures for the card's table, the card's evaluation results) -> writes README.md
CardWriter = Callable[[Path, dict[str, Any], list[EvalFigure]], None]


def hooks(cfg: Any, template: str | None = None) -> list[EvalDuringTraining]:
    """The evaluation callback of a training recipe's config (``eval_during_training``), or none when it is off.
    ``template``: the critic prompt text of protocol deepcritic (default: the file named by ``model.template``)."""
    e: EvalDuringTrainingConfig = cfg.eval_during_training
    if not e.enabled:
        return []
    if e.protocol.name == "deepcritic" and template is not None:
        protocol = get_protocol("deepcritic", template=template)
    else:
        protocol = get_protocol(
            e.protocol.name, e.protocol.template or cfg.model.template, model=cfg.model.name_or_path
        )
    return [EvalDuringTraining(e, protocol)]


class EvalDuringTraining(TrainerCallback):
    """See the module docstring. :meth:`attach` must be called with the trainer before training."""

    def __init__(self, cfg: EvalDuringTrainingConfig, protocol: Protocol):
        self.cfg, self.protocol = cfg, protocol
        self.ks = list(cfg.maj_k or default_ks(cfg.sampling.n))
        self.trainer: Any = None
        self.out = Path(".")
        self.write_card: CardWriter | None = None
        self.benchmarks: dict[str, list[StepRecord]] = {}
        self.data: dict[str, DataConfig] = {}
        self.samples: dict[str, dict] = {}
        self.seconds = 0.0
        self.evaluations = 0
        self._figures: dict[str, Any] | None = None  # what best/'s card states about the best evaluation

    def attach(self, trainer: Any, out: Path, write_card: CardWriter) -> None:
        """Bind to the trainer and the run directory; load the benchmarks (every process: the same sample)."""
        self.trainer, self.out, self.write_card = trainer, Path(out), write_card
        self.data = sections(self.cfg.benchmarks, DataConfig, "eval_during_training.benchmarks")
        for name, data in self.data.items():
            records = load_records(data, rejects_default=self.out / FOLDER / "rejects" / f"{name}.jsonl").records
            limit = self.cfg.limits.get(name, self.cfg.limit)
            self.benchmarks[name], self.samples[name] = stratified_sample(records, limit, self.cfg.seed)

    # -- when -----------------------------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step > 0:
            self._resumed(state)
        elif self.cfg.at_start:
            self._evaluate(state, control)

    def on_step_end(self, args, state, control, **kwargs):
        c = self.cfg
        if state.global_step and progress.is_eval_step(
            state.global_step, state.max_steps, c.every_steps, False, c.at_end
        ):
            self._evaluate(state, control)

    def on_save(self, args, state, control, **kwargs):
        if self.cfg.keep_best and state.best_global_step == state.global_step and state.global_step > 0:
            self._copy_best(Path(args.output_dir) / f"checkpoint-{state.global_step}", state)

    def on_train_end(self, args, state, control, **kwargs):
        if self.trainer.is_world_process_zero() and self.evaluations:
            self.plot(state)

    # -- one evaluation ---------------------------------------------------------------------------------------

    def _evaluate(self, state: Any, control: Any) -> None:
        start, step = time.perf_counter(), state.global_step
        if any(entry.get("step") == step and progress.TIME_KEY in entry for entry in state.log_history):
            return  # evaluated already (a resumed run's first step)
        folder = self.out / FOLDER / f"step-{step}"
        with open_critic(self.trainer, self.cfg.backend, self.cfg.batch_size, self.cfg.vllm) as (critic, share):
            rows = {name: self._rows(name, records, critic, share, folder) for name, records in self.benchmarks.items()}
        per_benchmark = {
            name: protocol_metrics(read_rows(r, self.protocol), self.protocol, self.ks) for name, r in rows.items()
        }
        average = average_metrics(per_benchmark)
        seconds = time.perf_counter() - start
        self.seconds += seconds
        self.evaluations += 1
        logs = {**progress.log_entries(per_benchmark, average), progress.TIME_KEY: round(seconds, 3)}
        should_log = control.should_log  # the callbacks' on_log clears it: the step's own training log must follow
        Trainer.log(self.trainer, logs)  # the trainer's callbacks (wandb, console, state), not GRPO's merge
        control.should_log = should_log
        if self.trainer.is_world_process_zero():
            write_json(folder / "metrics.json", {"step": step, "benchmarks": per_benchmark, "average": average})
            self._table(step, rows)
            log.info(_console_line(step, per_benchmark, average, seconds))
        self._track(state, control, logs.get(progress.metric_key(self.cfg.metric)), per_benchmark, average)

    def _rows(self, name: str, records: list[StepRecord], critic: Any, share: Share, folder: Path) -> list[dict]:
        """Every record's prediction row at this step: stored ones, then the rest generated by share and gathered."""
        from accelerate.utils import broadcast_object_list, gather_object

        store = ResultStore(folder / f"{name}.jsonl") if self.trainer.is_world_process_zero() else None
        done = [store.rows() if store else None]
        broadcast_object_list(done)  # every process starts from the main process's file
        have = {row["id"] for row in done[0]}
        pending = [r for r in records if r.id not in have]
        batches = progress.shard(pending, self.cfg.batch_size, share.index, share.count) if share.takes_part else []
        mine = [row for b in batches for row in critique_batch(critic, b, self.cfg.sampling, self.protocol)]
        new = {row["id"]: row for row in gather_object(mine) if "error" not in row}  # tensor-parallel peers: once
        order = [r.id for r in pending if r.id in new]
        if store is not None:
            store.append(new[i] for i in order)
        rows = {row["id"]: row for row in done[0]} | new
        return [rows[r.id] for r in records if r.id in rows]

    def _table(self, step: int, rows: dict[str, list[dict]]) -> None:
        import wandb

        if wandb.run is None or not self.cfg.table_records:
            return
        data = [
            [step, name, r["id"], r["label"], r["majority"], (r["samples"][0]["text"] or "")[:2000]]
            for name, benchmark_rows in rows.items()
            for r in benchmark_rows[: self.cfg.table_records]
        ]
        columns = ["step", "benchmark", "id", "label", "verdict", "critique"]
        wandb.run.log({"eval/completions": wandb.Table(columns=columns, data=data)}, commit=False)

    # -- best, early stop, resume -----------------------------------------------------------------------------

    def _track(self, state: Any, control: Any, value: float | None, per_benchmark: dict, average: dict) -> None:
        if progress.improved(value, state.best_metric):
            state.best_metric, state.best_global_step = value, state.global_step
            if self.cfg.keep_best:
                self._figures = {"step": state.global_step, self.cfg.metric: value, "benchmarks": per_benchmark}
                if state.global_step == 0:
                    self._save_best_now(state)
                else:
                    control.should_save = True  # the checkpoint at this step becomes best/ (on_save)
        patience = self.cfg.early_stop_patience
        points = progress.history(state.log_history, self.cfg.metric)
        if patience and progress.evaluations_since_best(points) >= patience:
            log.info(
                "no better %s in %d evaluations: stopping (eval_during_training.early_stop_patience)",
                self.cfg.metric,
                patience,
            )
            control.should_training_stop = True
            control.should_save = True

    def _save_best_now(self, state: Any) -> None:
        """The model as it is (step 0: no checkpoint holds it) saved as best/ (collective under ZeRO-3)."""
        tmp = self.out / ".best.tmp"
        self.trainer.save_model(str(tmp))
        if self.trainer.is_world_process_zero():
            self._replace_best(tmp, state.global_step)

    def _copy_best(self, checkpoint: Path, state: Any) -> None:
        if not self.trainer.is_world_process_zero() or not checkpoint.is_dir():
            return
        tmp = self.out / ".best.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for item in checkpoint.iterdir():
            if item.is_file() and not item.name.startswith(MODEL_FILES_SKIPPED):
                shutil.copy2(item, tmp / item.name)
        self._replace_best(tmp, state.global_step)

    def _replace_best(self, tmp: Path, step: int) -> None:
        figures = self._figures or {"step": step}
        write_json(tmp / "best.json", {"step": step, "metric": self.cfg.metric, **_plain(figures)})
        if self.write_card is not None:
            self.write_card(tmp, {"best_step": step, **_flat_figures(figures)}, self.card_figures(step))
        best = self.out / "best"
        shutil.rmtree(best, ignore_errors=True)
        tmp.rename(best)
        log.info("best %s so far at step %d: %s", self.cfg.metric, step, best)

    def _resumed(self, state: Any) -> None:
        """Drop evaluations after the resumed step; make best/ the restored state's best again if it is not."""
        if self.trainer.is_world_process_zero():
            stored = [int(p.name.split("-")[1]) for p in (self.out / FOLDER).glob("step-*") if p.name[5:].isdigit()]
            for step in progress.stale_steps(stored, state.global_step):
                shutil.rmtree(self.out / FOLDER / f"step-{step}", ignore_errors=True)
            self._restore_best(state)
        self.trainer.accelerator.wait_for_everyone()

    def _restore_best(self, state: Any) -> None:
        if not self.cfg.keep_best or state.best_global_step is None:
            return
        marker = self.out / "best" / "best.json"
        held = json.loads(marker.read_text()).get("step") if marker.is_file() else None
        if held == state.best_global_step:
            return
        checkpoint = Path(state.best_model_checkpoint or self.out / f"checkpoint-{state.best_global_step}")
        if checkpoint.is_dir():
            self._figures = {"step": state.best_global_step, self.cfg.metric: state.best_metric}
            self._copy_best(checkpoint, state)
        else:
            log.warning(
                "best/ holds step %s, not the resumed run's best (step %s), whose weights are gone",
                held,
                state.best_global_step,
            )

    # -- the end -----------------------------------------------------------------------------------------------

    def summary(self, train_runtime: float | None) -> dict[str, Any]:
        """What metrics.json and the model card say about the evaluations."""
        state = self.trainer.state
        return {
            "eval_during_training/evaluations": self.evaluations,
            "eval_during_training/seconds": round(self.seconds, 1),
            "eval_during_training/share_of_run": round(self.seconds / train_runtime, 4) if train_runtime else None,
            "eval_during_training/best_step": state.best_global_step,
            f"eval_during_training/best_{self.cfg.metric}": state.best_metric,
        }

    def plot(self, state: Any) -> Path:
        """F1 per benchmark against the step, with the GRPO reward beside it when the run logged one."""
        curves = progress.curves(state.log_history, list(self.benchmarks))
        reward = {int(h["step"]): float(h["reward"]) for h in state.log_history if "reward" in h and "step" in h}
        return report.plot_training_eval(curves, reward, self.out / "plots" / "eval_during_training.png")

    def card_section(self, model_dir: Path) -> tuple[str, list[str]]:
        """The model card's section: every evaluation's figures, and the curve (copied beside the card)."""
        state = self.trainer.state
        lines = [
            f"Protocol `{self.protocol.name}`, benchmarks {', '.join(f'`{b}`' for b in self.benchmarks)} "
            f"({', '.join(str(len(r)) for r in self.benchmarks.values())} records); best {self.cfg.metric} "
            f"{report.pct(state.best_metric)} at step {state.best_global_step}.",
            "",
            "| step | " + " | ".join(f"{b} F1" for b in self.benchmarks) + " | average F1 |",
            "|---|" + "---|" * (len(self.benchmarks) + 1),
        ]
        for entry in state.log_history:
            if progress.TIME_KEY in entry and "step" in entry:
                values = [entry.get(f"{progress.PREFIX}{b}/f1") for b in [*self.benchmarks, "average"]]
                lines.append(f"| {entry['step']} | " + " | ".join(report.pct(v) for v in values) + " |")
        plot = self.out / "plots" / "eval_during_training.png"
        if plot.is_file():
            shutil.copy2(plot, Path(model_dir) / plot.name)
            lines += ["", f"![evaluation during training]({plot.name})"]
        return "Evaluation during training", lines

    def card_figures(self, step: int) -> list[EvalFigure]:
        """The evaluation at ``step`` as the card's results (model-index): each benchmark's figures under the
        protocol, read from that step's metrics.json (none when the step was not evaluated)."""
        path = self.out / FOLDER / f"step-{step}" / "metrics.json"
        if not path.is_file():
            return []
        per_benchmark = json.loads(path.read_text(encoding="utf-8")).get("benchmarks", {})
        return [
            figure
            for name, metrics in per_benchmark.items()
            if name in self.data
            for figure in benchmark_figures(name, self.data[name], self.protocol.name, metrics, step)
        ]

    def figures(self) -> list[EvalFigure]:
        """The final model's results: the evaluation at the last step (``at_end``), if there was one."""
        return self.card_figures(self.trainer.state.global_step)

    def describe(self) -> dict[str, Any]:
        return {"protocol": self.protocol.name, "samples": self.samples, "config": asdict(self.cfg)}


def _console_line(step: int, per_benchmark: dict, average: dict, seconds: float) -> str:
    pct = report.pct
    parts = [
        f"{name} F1 {pct(m.get('f1'))} (err {pct(m.get('acc_error'))}, ok {pct(m.get('acc_correct'))}, "
        f"parsed {pct(m.get('parse_rate'))})"
        for name, m in per_benchmark.items()
    ]
    return (
        f"eval at step {step}: " + "; ".join(parts) + f"; average F1 {report.pct(average.get('f1'))}; {seconds:.1f} s"
    )


def _plain(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k != "step"}


def _flat_figures(figures: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in figures.items() if k not in ("benchmarks", "step")}
    for name, m in (figures.get("benchmarks") or {}).items():
        out.update({f"{name}/{k}": m.get(k) for k in ("f1", "acc_error", "acc_correct", "parse_rate")})
    return out
