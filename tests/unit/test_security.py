"""Security: nothing untrusted is executed or unpickled, remote code stays off unless asked for, and answer
checking cannot hang on a pathological expression.

- The package source is scanned (parsed, not grepped, so ``model.eval()`` is not ``eval(``): no builtin
  ``eval`` / ``exec`` / ``compile`` / ``__import__``, no pickle-family imports, every ``torch.load`` with
  ``weights_only=True``, every ``yaml.load`` with a safe loader, no ``trust_remote_code=True`` literal, no
  ``shell=True`` or ``os.system``, no ``allow_pickle=True`` / ``read_pickle``. The configs never turn on
  ``trust_remote_code``.
- ``model.trust_remote_code`` is False by default, in every recipe's composed config, and ``load_model`` /
  ``load_tokenizer`` pass the configured value through; model weights load from safetensors only, so a
  pickle file in a model directory is never unpickled.
- ``eval/answers.py`` returns False within its time limit on power towers, huge factorials and deeply
  nested expressions (checked in a subprocess under a generous wall-clock bound).
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import deepcritic
from deepcritic.config import ModelConfig
from deepcritic.errors import DeepcriticError
from tests.helpers.configs import compose_config, conf_dir
from tests.helpers.paths import REPO

PACKAGE = Path(deepcritic.__file__).resolve().parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

BANNED_BUILTINS = {"eval", "exec", "compile", "__import__"}
BANNED_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}


def _dotted(node: ast.AST) -> str:
    """``torch.load`` for an Attribute chain / Name, else ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def findings(source: str, name: str = "<src>") -> list[str]:
    """Every unsafe construct in ``source``, as "file:line: what"."""
    out = []
    for node in ast.walk(ast.parse(source)):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in BANNED_MODULES:
                    out.append(f"{where}: imports {module}")
        if not isinstance(node, ast.Call):
            continue
        func = _dotted(node.func)
        last = func.rsplit(".", 1)[-1]
        if isinstance(node.func, ast.Name) and func in BANNED_BUILTINS:
            out.append(f"{where}: calls builtin {func}()")
        torch_load = func in ("torch.load",) or (last == "load" and func.startswith("torch"))
        if torch_load and not _is_true(_kw(node, "weights_only")):
            out.append(f"{where}: torch.load without weights_only=True")
        if func in ("yaml.load", "yaml.load_all", "yaml.unsafe_load", "yaml.full_load"):
            loader = _dotted(_kw(node, "Loader")) if _kw(node, "Loader") is not None else ""
            if func == "yaml.unsafe_load" or func == "yaml.full_load" or "Safe" not in loader:
                out.append(f"{where}: {func} without SafeLoader")
        if _is_true(_kw(node, "trust_remote_code")):
            out.append(f"{where}: trust_remote_code=True literal")
        if _is_true(_kw(node, "shell")):
            out.append(f"{where}: shell=True")
        if _is_true(_kw(node, "allow_pickle")):
            out.append(f"{where}: allow_pickle=True")
        if func in ("os.system", "os.popen") or last == "read_pickle":
            out.append(f"{where}: {func}")
    return out


SCANNER_CASES = [
    # the builtin, not a method named eval
    ("x = eval('1')", 1),
    ("model.eval()", 0),
    # exec and dynamic import
    ("exec('x = 1')", 1),
    ("__import__('os')", 1),
    # pickle in every spelling
    ("import pickle", 1),
    ("from pickle import loads", 1),
    ("import cloudpickle as cp", 1),
    # torch.load: safe only with weights_only=True
    ("torch.load('x.pt')", 1),
    ("torch.load('x.pt', weights_only=False)", 1),
    ("torch.load('x.pt', map_location='cpu', weights_only=True)", 0),
    # yaml
    ("yaml.load(text)", 1),
    ("yaml.load(text, Loader=yaml.SafeLoader)", 0),
    ("yaml.unsafe_load(text)", 1),
    ("yaml.safe_load(text)", 0),
    # remote code and shells
    ("AutoModel.from_pretrained(name, trust_remote_code=True)", 1),
    ("AutoModel.from_pretrained(name, trust_remote_code=cfg.trust_remote_code)", 0),
    ("subprocess.run(cmd, shell=True)", 1),
    ("os.system('ls')", 1),
    ("np.load(path, allow_pickle=True)", 1),
    ("pd.read_pickle(path)", 1),
]


@pytest.mark.parametrize("source, count", SCANNER_CASES)
def test_scanner_finds_what_it_should(source, count):
    assert len(findings(source)) == count, findings(source)


def test_package_source_has_no_unsafe_constructs():
    assert len(SOURCES) > 30  # the scan sees the whole package
    found = [
        f for path in SOURCES for f in findings(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert found == []


def test_configs_never_turn_on_remote_code():
    configs = sorted(conf_dir().rglob("*.yaml"))
    assert len(configs) > 30  # the scan sees every config file
    offenders = [str(p) for p in configs if "trust_remote_code: true" in p.read_text(encoding="utf-8").lower()]
    assert offenders == []


def test_trust_remote_code_is_off_by_default_in_every_recipe():
    from omegaconf import OmegaConf

    from deepcritic.cli import RECIPES

    assert ModelConfig().trust_remote_code is False
    seen = 0
    for name in RECIPES:
        cfg = OmegaConf.to_container(compose_config(name), resolve=False)
        for path, value in _walk(cfg):
            if path.endswith("trust_remote_code"):
                seen += 1
                assert value is False, f"{name}: {path} = {value}"
    assert seen >= 5


def _walk(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{prefix}[{i}]")
    else:
        yield prefix, node


@pytest.mark.parametrize("trust", [False, True])
def test_load_model_and_tokenizer_pass_trust_remote_code_through(trust, monkeypatch):
    import transformers

    from deepcritic.modeling import load_model, load_tokenizer

    calls = {}

    class Tok:
        pad_token, eos_token, chat_template = "<pad>", "<eos>", "{{ messages }}"

    def fake(kind, result):
        def from_pretrained(name, **kwargs):
            calls[kind] = kwargs
            return result

        return from_pretrained

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake("model", object()))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake("tokenizer", Tok()))
    cfg = ModelConfig(name_or_path="some/model", trust_remote_code=trust)
    load_model(cfg, "fp32")
    load_tokenizer(cfg)
    assert calls["model"]["trust_remote_code"] is trust and calls["tokenizer"]["trust_remote_code"] is trust
    assert calls["model"]["use_safetensors"] is True  # weights from safetensors only, never a pickle


class _Marker:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path(self.path).touch, ())


def test_a_pickled_checkpoint_is_refused_and_never_unpickled(tiny_qwen2, tmp_path):
    marker = tmp_path / "pwned"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text((tiny_qwen2 / "config.json").read_text())
    (model_dir / "pytorch_model.bin").write_bytes(pickle.dumps(_Marker(str(marker))))
    from deepcritic.modeling import load_model

    with pytest.raises(DeepcriticError, match="cannot load .*safetensors only, never a pickled"):
        load_model(ModelConfig(name_or_path=str(model_dir)), "fp32")
    assert not marker.exists()


def test_safetensors_checkpoint_loads(tiny_qwen2):
    import torch
    from safetensors.torch import load_file

    from deepcritic.modeling import load_model

    model = load_model(ModelConfig(name_or_path=str(tiny_qwen2)), "fp32")
    assert model.config.num_hidden_layers == 2  # the tiny model's (TinyModelConfig defaults)
    saved, loaded = load_file(tiny_qwen2 / "model.safetensors"), model.state_dict()
    assert saved and all(torch.equal(loaded[name], tensor) for name, tensor in saved.items())  # the saved weights


PATHOLOGICAL_ANSWERS = [
    # power towers: exact evaluation would never end
    r"\boxed{2^{2^{2^{2^{2^{2^{2^{2}}}}}}}}",
    r"\boxed{9^{9^{9^{9}}}}",
    # a factorial of a huge number
    r"\boxed{(10^{10})!}",
    # 3000 nested parentheses
    "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",
    # 500 nested fractions
    "\\boxed{" + "\\frac{1}{" * 500 + "2" + "}" * 500 + "}",
]

_CHECK = """
import json, sys
from deepcritic.answers import is_correct, parse_answer
results = []
for text in json.loads(sys.stdin.read()):
    try:
        results.append([is_correct(text, "4", timeout_s=1), is_correct("\\\\boxed{4}", text, timeout_s=1)])
    except BaseException as exc:
        results.append(repr(exc))
print(json.dumps(results))
"""


def test_answer_checking_returns_false_on_pathological_expressions():
    import json

    # every check has a 1 s limit (parse, parse, verify); the bound is generous for a loaded machine
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK],
        input=json.dumps(PATHOLOGICAL_ANSWERS),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[False, False]] * len(PATHOLOGICAL_ANSWERS)
