"""The non-finite guard's decisions, on a tiny module (the CLI tests inject a NaN into real training)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from transformers import TrainerControl

from deepcritic.errors import DeepcriticError
from deepcritic.training.guards import NonFiniteGuard, raise_if_nonfinite


def _model(grad: float | None) -> torch.nn.Module:
    model = torch.nn.Linear(2, 1)
    if grad is not None:
        for p in model.parameters():
            p.grad = torch.full_like(p, grad)
    return model


GRADS = [
    # (gradient value, mode) -> (gradients kept, training stops, steps skipped)
    (0.5, "stop", True, False, 0),
    (math.nan, "stop", False, True, 0),
    (math.inf, "stop", False, True, 0),
    (math.nan, "skip", False, False, 1),
    (-math.inf, "skip", False, False, 1),
    (0.5, "skip", True, False, 0),
]


@pytest.mark.parametrize("grad, mode, kept, stops, skipped", GRADS)
def test_non_finite_gradients_never_reach_the_optimizer(grad, mode, kept, stops, skipped):
    guard, control, model = NonFiniteGuard(mode), TrainerControl(), _model(grad)
    guard.on_pre_optimizer_step(None, SimpleNamespace(global_step=4), control, model=model)
    assert all(p.grad is not None for p in model.parameters()) is kept
    assert control.should_training_stop is stops and guard.stopped_at == (5 if stops else None)
    assert len(guard.skipped) == skipped and guard.summary() == ({"train/nonfinite_skipped": 1} if skipped else {})


LOGS = [
    # without gradients to look at (DeepSpeed), a logged NaN loss or grad norm stops training, and no save follows
    ({"loss": math.nan, "grad_norm": 1.0}, True),
    ({"loss": 2.0, "grad_norm": math.inf}, True),
    ({"loss": 2.0, "grad_norm": 1.0}, False),
    ({"reward": math.nan}, False),  # not a training loss
]


@pytest.mark.parametrize("logs, stops", LOGS)
def test_without_gradients_the_logs_decide(logs, stops):
    guard, control = NonFiniteGuard("stop"), TrainerControl(should_save=True)
    guard.on_log(None, SimpleNamespace(global_step=7), control, logs=logs)
    assert control.should_training_stop is stops and control.should_save is not stops


def test_the_logs_are_ignored_once_the_gradients_are_seen():
    guard, control = NonFiniteGuard("skip"), TrainerControl()
    guard.on_pre_optimizer_step(None, SimpleNamespace(global_step=1), control, model=_model(math.nan))
    guard.on_log(None, SimpleNamespace(global_step=2), control, logs={"loss": math.nan})  # the skipped step's loss
    assert not control.should_training_stop


def test_the_run_ends_naming_the_last_checkpoint(tmp_path):
    guard = NonFiniteGuard()
    raise_if_nonfinite(guard, tmp_path)  # nothing happened: nothing raised
    guard.stopped_at = 3
    with pytest.raises(DeepcriticError, match="step 3 were not finite.*no checkpoint was saved before it"):
        raise_if_nonfinite(guard, tmp_path)
