"""`deepcritic sft` on the synthetic task with the tiny Qwen2, on CPU, through the real CLI.

One training run (module fixture) is checked from every side: loss goes down, weights change, the
final Hugging Face save reloads and generates, the model card, checkpoints, the over-length report,
wandb offline files holding the logged loss; then a second run in the same directory resumes from
the newest checkpoint. The labels of a collated batch are checked in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers.cli import run_cli
from tests.helpers.wandb_files import wandb_records

MAX_LENGTH = 560  # about a third of these synthetic chats are longer: they are counted and dropped
COMMON = [
    "data.synthetic.num_records=48",
    "train.global_batch_size=4",
    "train.per_device_batch_size=4",
    "train.learning_rate=2e-3",
    "train.logging_steps=1",
    "train.save_steps=4",
    "train.save_total_limit=2",
    f"train.max_length={MAX_LENGTH}",
    "train.drop_overlong=true",
]


@pytest.fixture(scope="module")
def sft_run(tiny_qwen2, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sft") / "run"
    proc = run_cli(
        "sft",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={tiny_qwen2}",
        "model.from_scratch=false",
        "train.max_steps=10",
        "logger.tags=[ci,tiny]",
        *COMMON,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return run_dir, proc


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "trainer_state.json").read_text())


def test_loss_goes_down(sft_run):
    run_dir, _ = sft_run
    losses = [h["loss"] for h in _state(run_dir)["log_history"] if "loss" in h]
    assert len(losses) == 10
    assert sum(losses[-3:]) / 3 < losses[0] - 0.5, losses


def test_parameters_change(sft_run, tiny_qwen2):
    from safetensors.torch import load_file

    run_dir, _ = sft_run
    before, after = load_file(tiny_qwen2 / "model.safetensors"), load_file(run_dir / "final" / "model.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    assert before[name].shape == after[name].shape
    assert not torch.equal(before[name], after[name])


def test_final_model_reloads_and_generates(sft_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deepcritic.critique import build_critic_messages

    final = sft_run[0] / "final"
    model, tok = AutoModelForCausalLM.from_pretrained(final), AutoTokenizer.from_pretrained(final)
    assert (final / "chat_template.jinja").is_file() and "<|im_start|>" in tok.chat_template
    prompt = tok.apply_chat_template(
        build_critic_messages("Start with 2. Add 3.", ["2 + 3 = 5"]),
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]


def test_model_card_names_base_model_data_config_and_metrics(sft_run, tiny_qwen2):
    card = (sft_run[0] / "final" / "README.md").read_text()
    # a local directory is named in the card's text; as Hub metadata it would be invalid, so it is left out there
    assert f"## Base model\n\n`{tiny_qwen2}`" in card and "base_model:" not in card.split("\n---\n")[0]
    assert "source: `records:synthetic`" in card
    assert "| train_loss |" in card and "| last_logged_loss |" in card
    assert "max_steps: 10" in card and "learning_rate: 0.002" in card


def test_overlong_examples_are_counted_reported_and_dropped(sft_run):
    run_dir, proc = sft_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data/examples"] == 48 and 0 < metrics["data/overlong"] < 48
    assert metrics["data/overlong_dropped"] == metrics["data/overlong"]
    assert f"are longer than max_length={MAX_LENGTH} tokens" in proc.stdout + proc.stderr


def test_checkpoints_every_n_steps_newest_kept(sft_run):
    run_dir, _ = sft_run
    # save_steps=4 and a final save at step 10; save_total_limit=2 keeps the newest two
    assert sorted(p.name for p in run_dir.glob("checkpoint-*")) == ["checkpoint-10", "checkpoint-8"]
    ckpt = run_dir / "checkpoint-8"
    for name in ("optimizer.pt", "scheduler.pt", "trainer_state.json", "rng_state.pth", "model.safetensors"):
        assert (ckpt / name).is_file(), name


def test_wandb_offline_run_holds_the_logged_loss(sft_run):
    run_dir, _ = sft_run
    files = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1
    records = wandb_records(files[0])
    losses = [
        float(item.value_json)
        for r in records
        if r.WhichOneof("record_type") == "history"
        for item in r.history.item
        if (item.key or "/".join(item.nested_key)) == "train/loss"
    ]
    assert len(losses) == 10 and losses[-1] < losses[0]
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    config_keys = {item.key for item in run.config.update}
    assert {"model", "train", "deepspeed", "logger"} <= config_keys  # the composed config
    assert list(run.tags) == ["ci", "tiny"] and run.project == "deepcritic"


def test_resume_auto_continues_from_newest_checkpoint(sft_run, tiny_qwen2):
    run_dir, _ = sft_run
    proc = run_cli(
        "sft",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={tiny_qwen2}",
        "model.from_scratch=false",
        "train.max_steps=12",
        "logger=disabled",
        *COMMON,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert f"resuming from {run_dir / 'checkpoint-10'}" in proc.stdout + proc.stderr
    state = _state(run_dir)
    assert state["global_step"] == 12
    steps = [h["step"] for h in state["log_history"] if "loss" in h]
    assert steps == list(range(1, 13))  # the history of the first run is restored, then steps 11 and 12


def test_collated_batch_has_labels_on_assistant_tokens_only(tiny_qwen2, tmp_path, monkeypatch):
    from deepcritic.chat_data import load_examples
    from deepcritic.config import ChatDataConfig, DataConfig, ModelConfig, SFTRecipeConfig, SyntheticConfig
    from deepcritic.modeling import load_model_and_tokenizer
    from deepcritic.training.args import trainer_kwargs
    from deepcritic.training.sft import SFTStage

    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):  # one process
        monkeypatch.delenv(var, raising=False)
    cfg = SFTRecipeConfig(
        model=ModelConfig(name_or_path=str(tiny_qwen2), dtype="fp32"),
        data=DataConfig(synthetic=SyntheticConfig(num_records=4)),
    )
    cfg.train.global_batch_size = cfg.train.per_device_batch_size = 4
    cfg.train.max_length = 1024
    stage = SFTStage("sft", cfg, lambda out: load_examples(ChatDataConfig(), cfg.data))
    args = stage.trainer_args(trainer_kwargs(cfg, 1, output_dir=str(tmp_path), precision="fp32", cuda=False))
    stage.load_data(tmp_path)
    examples = stage.examples
    model, tok = load_model_and_tokenizer(cfg.model, "fp32")
    trainer = stage.trainer(model, tok, args, examples, None, [])
    batch = next(iter(trainer.get_train_dataloader()))

    targets = {ex["completion"][0]["content"]: ex for ex in examples}
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        ids, labels = ids[mask.bool()], labels[mask.bool()]
        trained = labels != -100
        # labels equal the inputs wherever they are set
        assert torch.equal(labels[trained], ids[trained])
        # the labelled tokens are exactly the assistant critique and its end-of-turn
        text = tok.decode(ids[trained])
        assert text.endswith("<|im_end|>\n")
        critique = text[: -len("<|im_end|>\n")]
        assert critique in targets
        # everything before is the untrained prompt: user turn and the assistant header
        prompt = tok.decode(ids[~trained])
        expected = tok.apply_chat_template(targets[critique]["prompt"], tokenize=False, add_generation_prompt=True)
        assert prompt == expected and prompt.startswith("<|im_start|>user\n")
        assert int(trained.nonzero()[0]) == int((~trained).sum())  # one contiguous block at the end
