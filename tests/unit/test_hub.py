"""Pushes through huggingface_hub against a local fake of the Hub's API (tests/helpers/fake_hub.py): what is committed
where, a rerun after a failed push sends only what is missing, and every failure is one line naming the key and the
fix; a data set goes up as parquet with its card; an eval run's figures join a model card's model-index."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard, ModelCard

from deepcritic import hub
from deepcritic.cards import DatasetInfo, EvalFigure
from deepcritic.config import HubDatasetConfig, HubModelConfig, HubPushConfig
from deepcritic.training.publish import RunPush
from tests.helpers.env import unset
from tests.helpers.fake_hub import FakeHub, point_huggingface_hub_at
from tests.helpers.net import closed_port_url

TOKEN = "hf_unit0test0" + "Zq8Lm2Xv4Nb6Ct0Rw9Ys"


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """The fake Hub with huggingface_hub pointed at it in this process; the token in $MY_HUB_TOKEN."""
    with FakeHub(token=TOKEN) as server:
        point_huggingface_hub_at(server, monkeypatch, tmp_path)
        monkeypatch.setenv("MY_HUB_TOKEN", TOKEN)
        yield server


def _target(repo_id: str = "tester/critic", **kw) -> hub.Target:
    return hub.model_target(HubPushConfig(model_id=repo_id, token_env="MY_HUB_TOKEN", **kw))


def _model_dir(path, weights: bytes = b"\x01" * 4096):
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.safetensors").write_bytes(weights)
    (path / "config.json").write_text('{"model_type": "qwen2"}')
    (path / "README.md").write_text("---\nlicense: mit\n---\n# a model\n")
    return path


def test_the_token_comes_from_the_named_variable_and_its_absence_is_one_clear_line(fake, monkeypatch):
    assert hub.read_token("MY_HUB_TOKEN") == TOKEN
    unset(monkeypatch, "MY_HUB_TOKEN")
    with pytest.raises(hub.HubError) as info:
        hub.read_token("MY_HUB_TOKEN")
    assert str(info.value) == (
        "hub.token_env: $MY_HUB_TOKEN is not set and `hf auth login` saved no token: export MY_HUB_TOKEN=<a token "
        f"with write access from {fake.url}/settings/tokens>, or set hub.token_env=<the variable that holds one>"
    )
    assert info.value.exit_code == 2


def test_a_commit_creates_the_repo_and_branch_and_holds_the_files(fake, tmp_path):
    final, best = _model_dir(tmp_path / "final"), _model_dir(tmp_path / "best", b"\x02" * 4096)
    target = _target(private=True, revision="dev")
    hub.commit(target, hub.files_of(final) + hub.files_of(best, "best"), "the final model")
    assert fake.repos[("model", "tester/critic")].private is True
    files = fake.files("tester/critic", branch="dev")
    assert sorted(files) == [
        "README.md",
        "best/README.md",
        "best/config.json",
        "best/model.safetensors",
        "config.json",
        "model.safetensors",
    ]
    assert files["best/model.safetensors"] == b"\x02" * 4096 and fake.files("tester/critic") == {}  # main untouched
    assert {r["auth"] for r in fake.requests if r["path"].startswith(("/api/repos", "/api/models"))} == {
        f"Bearer {TOKEN}"
    }


def test_a_rerun_after_a_failed_commit_sends_only_what_is_missing(fake, tmp_path):
    final = _model_dir(tmp_path / "final")
    target = _target()
    fake.fail_next("commit", 503)  # the weights are uploaded, then the commit fails
    with pytest.raises(hub.HubError) as info:
        hub.commit(target, hub.files_of(final), "first try")
    assert str(info.value).startswith("hub.model_id=tester/critic: the Hub answered 503 (")
    assert fake.commits("tester/critic") == [] and len(fake.lfs_puts) == 1
    hub.commit(target, hub.files_of(final), "second try")
    assert len(fake.lfs_puts) == 1  # the weights were not sent again
    assert fake.commits("tester/critic")[0]["files"] == ["README.md", "config.json", "model.safetensors"]
    (final / "README.md").write_text("---\nlicense: mit\n---\n# a better card\n")
    hub.commit(target, hub.files_of(final), "third try")  # only the changed card is committed
    assert fake.commits("tester/critic")[1]["files"] == ["README.md"] and len(fake.lfs_puts) == 1


def _failure(fake, monkeypatch, tmp_path, case):
    from huggingface_hub import constants

    repo_id, revision = "tester/critic", None
    if case == "wrong token":
        monkeypatch.setenv("MY_HUB_TOKEN", "hf_not0the0right0one")
    elif case == "foreign namespace":
        repo_id = "someone-else/critic"
    elif case == "no network":
        monkeypatch.setattr(constants, "ENDPOINT", closed_port_url().rsplit("/v1", 1)[0])
    elif case == "offline mode":
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(hub.HubError) as info:
        hub.commit(_target(repo_id, revision=revision), hub.files_of(_model_dir(tmp_path / "m")), "x")
    return str(info.value)


FAILURES = [
    ("wrong token", "hub.token_env: the Hub rejected the token in $MY_HUB_TOKEN (401): use a valid token"),
    (
        "foreign namespace",
        "hub.model_id=someone-else/critic: the token in $MY_HUB_TOKEN may not write there (403): use one with write "
        "access",
    ),
    ("no network", "hub: cannot reach the Hub at http://127.0.0.1:"),
    ("offline mode", "hub: HF_HUB_OFFLINE is set, so nothing can be pushed: unset it (or set it to 0)"),
]


@pytest.mark.parametrize("case, message", FAILURES)
def test_every_failure_is_one_line_naming_the_key_and_the_fix(case, message, fake, monkeypatch, tmp_path):
    text = _failure(fake, monkeypatch, tmp_path, case)
    assert text.startswith(message) and "\n" not in text and TOKEN not in text


def test_a_training_run_s_failed_push_says_how_to_push_it_later(fake, tmp_path):
    out = tmp_path / "run"
    _model_dir(out / "final")
    push = RunPush(HubModelConfig(push=True, model_id="tester/critic", token_env="MY_HUB_TOKEN"), out)
    fake.fail_next("create", 500)
    with pytest.raises(hub.HubError) as info:
        push.finish("sft", 12)
    assert str(info.value).endswith(
        f"; the run is kept in {out}: then push it with deepcritic push run={out} hub.model_id=tester/critic "
        "hub.token_env=MY_HUB_TOKEN"
    )
    assert push.finish("sft", 12).endswith(fake.commits("tester/critic")[0]["oid"])
    assert fake.commits("tester/critic")[0]["message"] == "deepcritic sft: the final model at step 12"


def test_rows_go_up_as_parquet_with_a_dataset_card(fake, tmp_path):
    rows = [
        {"id": "a", "steps": ["x", "y"], "label": 1, "meta": {"k": 1}},
        {"id": "b", "steps": ["z"], "label": -1, "meta": {"k": "one"}},
    ]
    info = DatasetInfo("convert", "records", "source `contract`", 2, {"with a wrong step": 1, "without": 1}, {})
    cfg = HubDatasetConfig(push=True, dataset_id="deepcritic-org/records", token_env="MY_HUB_TOKEN", license="mit")
    hub.publish_rows(cfg, rows, info, tmp_path)
    files = fake.files("deepcritic-org/records", "dataset")
    assert sorted(files) == ["README.md", "data/train-00000-of-00001.parquet"]
    table = pq.read_table(io.BytesIO(files["data/train-00000-of-00001.parquet"]))
    assert table.column("id").to_pylist() == ["a", "b"] and table.column("meta").to_pylist() == [
        '{"k": 1}',
        '{"k": "one"}',
    ]
    card = DatasetCard(files["README.md"].decode())
    assert card.data.license == "mit" and "`meta`: JSON text" in card.text and "| rows | 2 |" in card.text


def test_figures_join_the_model_index_of_the_card_on_the_hub(fake, tmp_path):
    target = _target()
    hub.commit(target, hub.files_of(_model_dir(tmp_path / "final")), "the model")
    figures = [EvalFigure("gsm8k", "gsm8k", "gsm8k", "processbench", "f1", 0.5)]
    hub.push_eval_results(target, figures)
    hub.push_eval_results(target, [EvalFigure("gsm8k", "gsm8k", "gsm8k", "processbench", "f1", 0.75)])  # replaced
    card = ModelCard(fake.files("tester/critic")["README.md"].decode())
    assert card.data.license == "mit" and "# a model" in card.text  # the rest of the card kept
    assert [(r.dataset_type, r.metric_type, r.metric_config, r.metric_value) for r in card.data.eval_results] == [
        ("gsm8k", "f1", "processbench", 75.0)
    ]


def test_figures_for_a_repo_that_does_not_exist_say_to_push_the_model_first(fake):
    with pytest.raises(hub.HubError) as info:
        hub.push_eval_results(_target("tester/nothing"), [EvalFigure("g", "g", "g", "deepcritic", "f1", 0.5)])
    assert str(info.value).startswith("hub.model_id=tester/nothing: no such model repo: push the model first")


def test_no_figures_is_an_error_not_an_empty_commit(fake):
    with pytest.raises(hub.HubError, match="holds no figures"):
        hub.push_eval_results(_target(), [])
    assert json.dumps(fake.repos, default=str) == "{}"


def test_figures_go_into_the_card_on_main_only(fake):
    # huggingface_hub's metadata_update reads the card from main: committing main's card to a branch would be wrong
    with pytest.raises(hub.HubError, match=r"^hub.revision=dev: an eval run's figures go into the card on main"):
        hub.push_eval_results(_target(revision="dev"), [EvalFigure("g", "g", "g", "deepcritic", "f1", 0.5)])


STRATEGIES = [
    # every_save: the checkpoint's model at the root, its training state not
    ("every_save", ["config.json", "model.safetensors"]),
    # checkpoint: and the whole checkpoint under last-checkpoint/
    (
        "checkpoint",
        [
            "config.json",
            "last-checkpoint/config.json",
            "last-checkpoint/model.safetensors",
            "last-checkpoint/optimizer.pt",
            "model.safetensors",
        ],
    ),
    # all_checkpoints: under checkpoint-N/
    (
        "all_checkpoints",
        [
            "checkpoint-2/config.json",
            "checkpoint-2/model.safetensors",
            "checkpoint-2/optimizer.pt",
            "config.json",
            "model.safetensors",
        ],
    ),
]


@pytest.mark.parametrize("strategy, files", STRATEGIES)
def test_checkpoint_pushes_follow_transformers_hub_strategy(strategy, files, fake, tmp_path):
    from types import SimpleNamespace

    checkpoint = tmp_path / "checkpoint-2"
    _model_dir(checkpoint)
    (checkpoint / "README.md").unlink()
    (checkpoint / "optimizer.pt").write_bytes(b"\x03" * 2048)
    pushes = RunPush(
        HubModelConfig(push=True, model_id="tester/c", token_env="MY_HUB_TOKEN", strategy=strategy), tmp_path
    )
    (callback,) = pushes.callbacks
    callback.on_save(
        SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(is_world_process_zero=True, global_step=2), None
    )
    callback.wait()
    assert sorted(fake.files("tester/c")) == files
    assert fake.commits("tester/c")[0]["message"] == "Training in progress, step 2"


def test_nothing_is_pushed_or_asked_for_when_push_is_off(fake, tmp_path, monkeypatch):
    unset(monkeypatch, "MY_HUB_TOKEN")  # no token needed either
    off = RunPush(HubModelConfig(model_id="tester/c", token_env="MY_HUB_TOKEN", strategy="checkpoint"), tmp_path)
    assert off.callbacks == [] and off.finish("sft", 3) is None and fake.requests == []
