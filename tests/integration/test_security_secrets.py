"""Secrets never reach disk or logs: with WANDB_API_KEY, OPENAI_API_KEY and HF_TOKEN set to distinctive dummy
values, `deepcritic sft` (wandb offline), `deepcritic eval` (rollout=openai, the key read through
``api_key_env=OPENAI_API_KEY``, against a local scripted server) and `deepcritic convert` run, and no file
they wrote (run directories with .hydra/, checkpoints, model cards, wandb offline runs and wandb's own
config / cache / data directories) nor their console output holds any of the values, in plain text or
base64. The eval server did receive the key, so it was in play.
"""

from __future__ import annotations

import base64

from tests.helpers.cli import run_cli
from tests.helpers.openai_server import ScriptedServer
from tests.helpers.secrets import in_text, leaks

SECRETS = {
    "WANDB_API_KEY": "dcsecret0wandb0" + "7f3a9c1e5b2d8f4a6c0e1b3d5f7a9",  # 44 characters, like a real key
    "OPENAI_API_KEY": "sk-dcsecret0openai0" + "4b8e2d6f0a1c3e5b7d9f",
    "HF_TOKEN": "hf_dcsecret0hub0" + "9e7c5a3b1d2f4e6a8c0b",
}


def test_secrets_are_never_written(tiny_qwen2, shared_data, tmp_path):
    wandb_home = tmp_path / "wandb_home"
    env = {
        **SECRETS,
        "WANDB_CONFIG_DIR": str(wandb_home / "config"),
        "WANDB_CACHE_DIR": str(wandb_home / "cache"),
        "WANDB_DATA_DIR": str(wandb_home / "data"),
    }
    outputs = []

    sft = run_cli(
        "sft",
        f"hydra.run.dir={tmp_path / 'sft'}",
        f"model.name_or_path={tiny_qwen2}",
        "model.from_scratch=false",
        "logger=wandb_offline",
        "data.synthetic.num_records=8",
        "train.global_batch_size=2",
        "train.per_device_batch_size=2",
        "train.max_steps=2",
        "train.save_steps=1",
        "train.logging_steps=1",
        "train.max_length=1024",
        env=env,
    )
    assert sft.returncode == 0, sft.stderr[-3000:]
    assert list((tmp_path / "sft" / "wandb").glob("offline-run-*"))  # wandb did write its offline run
    outputs.append(sft)

    pb = shared_data / "processbench" / "gsm8k.json"
    with ScriptedServer(content=lambda body, i: "Step 1 is fine. \\boxed{1}\n**Answer**: \\boxed{-1}") as server:
        ev = run_cli(
            "eval",
            "rollout=openai",
            f"rollout.openai.base_url={server.url}",
            "rollout.openai.model=critic",
            "rollout.openai.api_key_env=OPENAI_API_KEY",
            "benchmarks=[]",
            f"+benchmarks.pb={{source: processbench, path: '{pb}'}}",
            "limit=3",
            "logger=wandb_offline",
            f"hydra.run.dir={tmp_path / 'eval'}",
            env=env,
        )
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert {r["auth"] for r in server.requests} == {f"Bearer {SECRETS['OPENAI_API_KEY']}"}  # the key was used
    outputs.append(ev)

    conv = run_cli("convert", "data.synthetic.num_records=5", f"hydra.run.dir={tmp_path / 'convert'}", env=env)
    assert conv.returncode == 0, conv.stderr[-3000:]
    outputs.append(conv)

    for sub in ("sft", "eval", "convert"):
        assert (tmp_path / sub / ".hydra" / "config.yaml").is_file()  # the saved configs are scanned too
    assert leaks(tmp_path, SECRETS) == []
    assert in_text("\n".join(p.stdout + p.stderr for p in outputs), SECRETS) == []


def test_the_scan_would_find_a_leak(tmp_path):
    # the scanner is not blind: a secret written anywhere (here base64-encoded in a nested file) is found
    (tmp_path / "a" / ".hidden").mkdir(parents=True)
    (tmp_path / "a" / ".hidden" / "x.json").write_bytes(
        b'{"k": "' + base64.b64encode(SECRETS["HF_TOKEN"].encode()) + b'"}'
    )
    assert leaks(tmp_path, SECRETS) == ["a/.hidden/x.json: HF_TOKEN (base64)"]
