"""Config of synthesize / label / cft-data: the primary configs compose and validate; mistakes are named."""

from __future__ import annotations

import pytest

from deepcritic.cli import RECIPES
from deepcritic.config import CandidatesConfig, CFTDataConfig, LabelConfig, SamplingConfig, SynthesizeConfig, validate
from tests.helpers.configs import compose


@pytest.mark.parametrize("recipe, schema", [("synthesize", SynthesizeConfig), ("label", LabelConfig),
                                            ("cft-data", CFTDataConfig)])
def test_primary_configs_compose_validate_and_run_on_cpu_without_downloads(recipe, schema):
    cfg = compose(recipe)
    assert isinstance(cfg, schema) and RECIPES[recipe].schema == schema.__name__
    assert validate(cfg) == []
    roles = [getattr(cfg, r) for r in ("teacher", "generator") if hasattr(cfg, r)]
    assert all(r.model.from_scratch and r.rollout.backend == "vllm" for r in roles)  # the tiny model, built locally
    local = [cfg.data.path] if recipe == "synthesize" else [p["path"] for p in cfg.problems.values()]
    assert local and all(local)  # local files (under $DEEPCRITIC_DATA), not the Hub


def _problems(cfg):
    return [(p.key, p.fix) for p in validate(cfg)]


BAD = [
    # synthesize: no in-depth samples
    (SynthesizeConfig(in_depth_samples=0), "in_depth_samples"),
    # synthesize: greedy teacher with several in-depth samples
    (SynthesizeConfig(teacher=SynthesizeConfig().teacher.__class__(sampling=SamplingConfig(temperature=0.0))),
     "teacher.sampling.temperature"),
    # synthesize: negative extra count other than -1
    (SynthesizeConfig(extra_correct=-2), "extra_correct"),
    # label: no problem set
    (LabelConfig(), "problems"),
    # label: one sample per problem cannot be both right and wrong
    (LabelConfig(problems={"g": {"source": "gsm8k", "path": "x"}},
                 generator=LabelConfig().generator.__class__(sampling=SamplingConfig(n=1, temperature=1.0))),
     "generator.sampling.n"),
    # label: threshold out of range
    (LabelConfig(problems={"g": {"source": "gsm8k", "path": "x"}}, threshold=1.0), "threshold"),
    # label: unknown reference mode
    (LabelConfig(problems={"g": {"source": "gsm8k", "path": "x"}}, reference="solution"), "reference"),
    # label: a bad problem-set entry is named by its key
    (LabelConfig(problems={"g": {"source": "file"}}), "problems.g.path"),
    # cft-data: file source without a path
    (CFTDataConfig(candidates=CandidatesConfig(source="file")), "candidates.path"),
    # cft-data: generate without problem sets
    (CFTDataConfig(), "problems"),
]


@pytest.mark.parametrize("cfg, key", BAD)
def test_mistakes_are_named_with_their_key(cfg, key):
    assert key in [k for k, _ in _problems(cfg)]


def test_a_served_tiny_teacher_needs_the_served_model_name():
    cfg = compose("synthesize", ["rollout@teacher.rollout=openai"])
    assert ("teacher.rollout.openai.model" in [k for k, _ in _problems(cfg)])
    cfg = compose("synthesize", ["rollout@teacher.rollout=openai", "teacher.rollout.openai.model=tiny"])
    assert validate(cfg) == []


def test_an_api_key_pasted_into_the_config_is_refused_without_echoing_it():
    cfg = compose("synthesize", ["rollout@teacher.rollout=openai", "teacher.rollout.openai.model=m",
                                 "teacher.rollout.openai.api_key_env=sk-secret123"])
    problems = validate(cfg)
    assert [p.key for p in problems] == ["teacher.rollout.openai.api_key_env"]
    assert "sk-secret123" not in str(problems)
