"""Resume plumbing of the data-generation recipes: the settings guard, role identities, atomic outputs."""

from __future__ import annotations

import json

import pytest

from deepcritic.config import ModelConfig, OpenAIServerConfig, RoleConfig, RolloutConfig, SamplingConfig
from deepcritic.datagen.stages import guard_resume, role_identity, stage_key
from deepcritic.errors import DeepcriticError
from deepcritic.store import atomic_write_jsonl

IDENTITIES = [
    # a local model: its path
    (RoleConfig(model=ModelConfig(name_or_path="/m/qwen")), "/m/qwen"),
    # a served model: the served name, not the URL (a restarted server on another port may resume)
    (
        RoleConfig(
            model=ModelConfig(name_or_path="x"),
            rollout=RolloutConfig(
                backend="openai", openai=OpenAIServerConfig(model="served", base_url="http://h:1/v1")
            ),
        ),
        "served",
    ),
    # a served model without a served name: model.name_or_path is what is requested
    (RoleConfig(model=ModelConfig(name_or_path="gpt-4o"), rollout=RolloutConfig(backend="openai")), "gpt-4o"),
    # the tiny model built in the run dir: its architecture settings
    (RoleConfig(model=ModelConfig(name_or_path="tiny-qwen2", from_scratch=True)), "tiny:"),
]


@pytest.mark.parametrize("role, model", IDENTITIES)
def test_role_identity(role, model):
    identity = role_identity(role)
    assert identity["model"].startswith(model) and identity["sampling"]["temperature"] == role.sampling.temperature


GUARDS = [
    # same settings: resumes
    ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, None),
    # a changed value is named
    ({"a": 1, "b": 2}, {"a": 1, "b": 3}, "b differ"),
    # a new setting counts as a change
    ({"a": 1}, {"a": 1, "c": 0}, "c differ"),
    # nested values (a sampling section) are compared whole
    ({"s": {"t": 0.7}}, {"s": {"t": 1.0}}, "s differ"),
]


@pytest.mark.parametrize("first, second, error", GUARDS)
def test_guard_resume(tmp_path, first, second, error):
    guard_resume(tmp_path, first)
    if error is None:
        guard_resume(tmp_path, second)
    else:
        with pytest.raises(DeepcriticError, match=error):
            guard_resume(tmp_path, second)
    assert json.loads((tmp_path / "resume_settings.json").read_text()) == json.loads(json.dumps(first))


def test_atomic_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out" / "rows.jsonl"
    assert atomic_write_jsonl([{"id": 1}, {"id": 2}], path) == 2
    assert atomic_write_jsonl([{"id": 3}], path) == 1
    assert path.read_text() == '{"id": 3}\n' and [p.name for p in path.parent.iterdir()] == ["rows.jsonl"]


def test_sampling_identity_follows_the_sampling_section():
    a = role_identity(RoleConfig(sampling=SamplingConfig(max_new_tokens=10)))
    b = role_identity(RoleConfig(sampling=SamplingConfig(max_new_tokens=20)))
    assert a != b


KEYS = [
    # plain id
    ("abc", "initial", 0),
    # an id with the characters a naive "a|b|c" key would split on
    ("x|in_depth|3", "merge", 2),
    # unicode id
    ("prm800k-été", "in_depth", 11),
]


@pytest.mark.parametrize("rid, stage, step", KEYS)
def test_stage_key_is_unambiguous(rid, stage, step):
    assert json.loads(stage_key(rid, stage, step)) == [rid, stage, step]
    assert stage_key(rid, stage, step) != stage_key(rid, stage, step + 1)
