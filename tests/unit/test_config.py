"""Config schema validation: every problem reported at once, each naming the key, the value and the fix."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.config import (
    ConvertConfig,
    DataConfig,
    DeepSpeedConfig,
    LoggerConfig,
    ModelConfig,
    PRM800KConfig,
    ensure_valid,
    validate,
)
from deepcritic.errors import ConfigError


def _convert(**data) -> ConvertConfig:
    return ConvertConfig(data=dataclasses.replace(DataConfig(), **data))


CASES = [
    # the built-in default is valid
    (ConvertConfig(), []),
    # unknown source names the choices
    (_convert(source="csv"), ["data.source"]),
    # on_error must be raise or skip
    (_convert(on_error="ignore"), ["data.on_error"]),
    # sources that read a file need a path
    (_convert(source="contract"), ["data.path"]),
    # PRM800K without a file downloads the release's file of one phase (2 by default)
    (_convert(source="prm800k"), []),
    (_convert(source="prm800k", prm800k=PRM800KConfig(phase=None)), ["data.prm800k.phase"]),
    # processbench needs a file or a Hub name
    (_convert(source="processbench"), ["data.path"]),
    (_convert(source="processbench", hub_name="Qwen/ProcessBench"), []),
    # generic needs path and the full field mapping
    (_convert(source="generic", path="x.jsonl", fields={"problem": "q"}), ["data.fields"]),
    (_convert(source="generic", path="x.jsonl", fields={"problem": "q", "steps": "s", "label": "l"}), []),
    # hub needs a dataset name and fields
    (_convert(source="hub"), ["data.hub_name", "data.fields"]),
    # limit must be positive
    (_convert(limit=0), ["data.limit"]),
]


@pytest.mark.parametrize("cfg, keys", CASES)
def test_validate_reports_expected_keys(cfg, keys):
    assert [p.key for p in validate(cfg)] == keys


SYNTH = [
    # min_steps below one
    ({"min_steps": 0}, ["data.synthetic.min_steps"]),
    # max below min
    ({"min_steps": 4, "max_steps": 2}, ["data.synthetic.max_steps"]),
    # error rate outside [0, 1]
    ({"error_rate": 1.5}, ["data.synthetic.error_rate"]),
    # unsupported operator
    ({"ops": ["+", "/"]}, ["data.synthetic.ops"]),
    # empty operator list
    ({"ops": []}, ["data.synthetic.ops"]),
    # several problems at once are all reported
    (
        {"num_records": 0, "max_operand": 0, "max_error_delta": 0},
        ["data.synthetic.num_records", "data.synthetic.max_operand", "data.synthetic.max_error_delta"],
    ),
]


@pytest.mark.parametrize("changes, keys", SYNTH)
def test_synthetic_validation(changes, keys):
    cfg = ConvertConfig()
    cfg.data.synthetic = dataclasses.replace(cfg.data.synthetic, **changes)
    assert [p.key for p in validate(cfg)] == keys


@dataclasses.dataclass
class _Recipe:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    logger: LoggerConfig = dataclasses.field(default_factory=LoggerConfig)
    deepspeed: DeepSpeedConfig = dataclasses.field(default_factory=DeepSpeedConfig)


SECTIONS = [
    # bad dtype
    (_Recipe(model=ModelConfig(dtype="float8")), ["model.dtype"]),
    # empty model name
    (_Recipe(model=ModelConfig(name_or_path="")), ["model.name_or_path"]),
    # wandb mode typo
    (_Recipe(logger=LoggerConfig(mode="offlne")), ["logger.mode"]),
    # unknown ZeRO stage
    (_Recipe(deepspeed=DeepSpeedConfig(stage=1)), ["deepspeed.stage"]),
    # param offload without ZeRO-3
    (_Recipe(deepspeed=DeepSpeedConfig(stage=2, offload_params=True)), ["deepspeed.offload_params"]),
    # offload without ZeRO at all
    (_Recipe(deepspeed=DeepSpeedConfig(stage=0, offload_optimizer=True)), ["deepspeed.offload_optimizer"]),
]


@pytest.mark.parametrize("cfg, keys", SECTIONS)
def test_sections_found_by_type(cfg, keys):
    assert [p.key for p in validate(cfg)] == keys


def test_config_error_lists_every_problem_with_value_and_fix():
    cfg = _convert(source="csv", on_error="ignore", limit=-1)
    with pytest.raises(ConfigError) as info:
        ensure_valid(cfg)
    msg = str(info.value)
    assert msg.startswith("invalid config (3 problems)")
    assert "data.source = 'csv': use one of synthetic" in msg
    assert "data.on_error = 'ignore': use 'raise'" in msg
    assert "data.limit = -1: use a positive count" in msg
