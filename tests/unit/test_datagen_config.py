"""Config of synthesize / label / cft-data: the primary configs compose and validate; mistakes are named."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.cli import RECIPES
from deepcritic.config import (
    CandidatesConfig,
    CFTDataConfig,
    DataConfig,
    LabelConfig,
    PRM800KConfig,
    RoleConfig,
    SamplingConfig,
    SynthesizeConfig,
    validate,
)
from tests.helpers.configs import compose
from tests.helpers.env import unset

TINY_ON_VLLM = (True, "tiny-qwen2", "vllm")  # (model.from_scratch, model.name_or_path, rollout.backend)
GSM8K_FILE = {"gsm8k": {"source": "gsm8k", "path": "data/gsm8k/test.jsonl"}}

PRIMARY = [
    # synthesize: the tiny teacher on the PRM800K sample file
    ("synthesize", SynthesizeConfig, {"teacher": TINY_ON_VLLM}, "data/prm800k/samples/samples_prm800k.jsonl", None),
    # label: the tiny generator on the local GSM8K test file
    ("label", LabelConfig, {"generator": TINY_ON_VLLM}, None, GSM8K_FILE),
    # cft-data: tiny teacher and generator, the local GSM8K test file
    ("cft-data", CFTDataConfig, {"teacher": TINY_ON_VLLM, "generator": TINY_ON_VLLM}, None, GSM8K_FILE),
]


@pytest.mark.parametrize("recipe, schema, roles, data_path, problems", PRIMARY)
def test_primary_configs_compose_validate_and_use_the_local_tiny_model_and_local_files(
    recipe, schema, roles, data_path, problems, monkeypatch
):
    """The defaults need no download: every role is the tiny model built on the spot (model=tiny) and every
    input a file under $DEEPCRITIC_DATA (default ./data). Running them on CPU is tests/integration/test_datagen.py."""
    unset(monkeypatch, "DEEPCRITIC_DATA")
    cfg = compose(recipe)
    assert isinstance(cfg, schema) and RECIPES[recipe].schema is schema
    assert validate(cfg) == []
    got = {
        name: (
            getattr(cfg, name).model.from_scratch,
            getattr(cfg, name).model.name_or_path,
            getattr(cfg, name).rollout.backend,
        )
        for name in ("teacher", "generator")
        if hasattr(cfg, name)
    }
    assert got == roles
    if data_path is not None:
        assert (cfg.data.source, cfg.data.path) == ("prm800k", data_path)
    if problems is not None:
        assert cfg.problems == problems


def test_the_data_directory_comes_from_deepcritic_data(monkeypatch):
    monkeypatch.setenv("DEEPCRITIC_DATA", "/mnt/d")
    assert compose("synthesize").data.path == "/mnt/d/prm800k/samples/samples_prm800k.jsonl"
    assert compose("label").problems == {"gsm8k": {"source": "gsm8k", "path": "/mnt/d/gsm8k/test.jsonl"}}


def _problems(cfg):
    return [(p.key, p.fix) for p in validate(cfg)]


# valid configs, each case below changes one thing (a teacher that samples, a generator that samples several)
SYNTH = SynthesizeConfig(
    data=DataConfig(source="prm800k", path="x.jsonl"), teacher=RoleConfig(sampling=SamplingConfig(temperature=0.7))
)
LABEL = LabelConfig(
    problems={"g": {"source": "gsm8k", "path": "x"}},
    generator=RoleConfig(sampling=SamplingConfig(n=8, temperature=1.0)),
)
CFT = CFTDataConfig(problems={"g": {"source": "gsm8k", "path": "x"}})


@pytest.mark.parametrize("cfg", [SYNTH, LABEL, CFT])
def test_the_bases_of_the_mistake_cases_are_valid(cfg):
    assert validate(cfg) == []


BAD = [
    # synthesize: no data file (and no phase to download)
    (
        dataclasses.replace(SYNTH, data=DataConfig(source="prm800k", prm800k=PRM800KConfig(phase=None))),
        ["data.prm800k.phase"],
    ),
    # synthesize: no in-depth samples
    (dataclasses.replace(SYNTH, in_depth_samples=0), ["in_depth_samples"]),
    # synthesize: greedy teacher with several in-depth samples
    (
        dataclasses.replace(
            SYNTH, teacher=dataclasses.replace(SYNTH.teacher, sampling=SamplingConfig(temperature=0.0))
        ),
        ["teacher.sampling.temperature"],
    ),
    # synthesize: negative extra count other than -1
    (dataclasses.replace(SYNTH, extra_correct=-2), ["extra_correct"]),
    # label: no problem set
    (dataclasses.replace(LABEL, problems={}), ["problems"]),
    # label: one sample per problem cannot be both right and wrong
    (
        dataclasses.replace(
            LABEL, generator=dataclasses.replace(LABEL.generator, sampling=SamplingConfig(n=1, temperature=1.0))
        ),
        ["generator.sampling.n"],
    ),
    # label: threshold out of range
    (dataclasses.replace(LABEL, threshold=1.0), ["threshold"]),
    # label: unknown reference mode
    (dataclasses.replace(LABEL, reference="solution"), ["reference"]),
    # label: a bad problem-set entry is named by its key (a file source needs a path and its field names)
    (dataclasses.replace(LABEL, problems={"g": {"source": "file"}}), ["problems.g.path", "problems.g.fields"]),
    # cft-data: file source without a path
    (CFTDataConfig(candidates=CandidatesConfig(source="file")), ["candidates.path"]),
    # cft-data: generate without problem sets
    (CFTDataConfig(), ["problems"]),
]


@pytest.mark.parametrize("cfg, keys", BAD)
def test_mistakes_are_named_with_their_key(cfg, keys):
    problems = _problems(cfg)
    assert [k for k, _ in problems] == keys
    assert all(fix for _, fix in problems)  # each one says how to fix it


def test_a_served_tiny_teacher_needs_the_served_model_name():
    cfg = compose("synthesize", ["rollout@teacher.rollout=openai"])
    assert [k for k, _ in _problems(cfg)] == ["teacher.rollout.openai.model"]
    cfg = compose("synthesize", ["rollout@teacher.rollout=openai", "teacher.rollout.openai.model=tiny"])
    assert validate(cfg) == []


def test_an_api_key_pasted_into_the_config_is_refused_without_echoing_it():
    cfg = compose(
        "synthesize",
        [
            "rollout@teacher.rollout=openai",
            "teacher.rollout.openai.model=m",
            "teacher.rollout.openai.api_key_env=sk-secret123",
        ],
    )
    problems = validate(cfg)
    assert [p.key for p in problems] == ["teacher.rollout.openai.api_key_env"]
    assert "sk-secret123" not in str(problems)
