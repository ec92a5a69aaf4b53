"""``deepcritic solve``'s protocol in config: the checks, ``protocol=cft_paper`` and its experiment composing to the
official decoding and the seven sets, and the one ``protocol`` group shared with eval and score without mixing."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from deepcritic.cli import protocol_problem
from deepcritic.config import (
    HARNESS_DATASETS,
    PROTOCOL_NAMES,
    RECIPES,
    SOLVE_PROTOCOL_NAMES,
    ModelConfig,
    SolveConfig,
    SolveProtocolConfig,
    validate,
)
from deepcritic.data.problems import load_benchmarks
from deepcritic.eval.math_harness import DATASETS
from deepcritic.eval.solver_protocols import CFT_STOP, QWEN2_STOP_IDS, decoding_report, get_solver_protocol
from tests.helpers.configs import compose, conf_dir
from tests.helpers.official_cft import CFT, STOP_WORDS, math_eval_default

SETS = {"m": {"source": "math500"}}
CFT_PAPER = SolveProtocolConfig(name="cft_paper")


def _solve(**changes) -> SolveConfig:
    return dataclasses.replace(SolveConfig(benchmarks=dict(SETS)), **changes)


CASES = [
    # the defaults, and protocol cft_paper on a set it has rules for
    (_solve(), []),
    (_solve(protocol=CFT_PAPER), []),
    # a critic protocol's name, and an official folder for deepcritic's own protocol
    (_solve(protocol=SolveProtocolConfig(name="processbench")), ["protocol.name"]),
    (_solve(protocol=SolveProtocolConfig(official_dir="x")), ["protocol.official_dir"]),
    # cft_paper prompts with its official template, and reads only the harness's formats
    (_solve(protocol=CFT_PAPER, solve_template="t.txt"), ["solve_template"]),
    (
        _solve(
            protocol=CFT_PAPER,
            benchmarks={"a": {"source": "file", "path": "x", "fields": {"problem": "q", "answer": "a"}}},
        ),
        ["benchmarks.a.source"],
    ),
    # a local-only format needs its file
    (_solve(benchmarks={"o": {"source": "olympiadbench"}}), ["benchmarks.o.path"]),
]


@pytest.mark.parametrize("cfg, keys", CASES)
def test_validation(cfg, keys):
    assert [p.key for p in validate(cfg)] == keys


def test_a_critic_protocol_name_says_where_it_belongs():
    (problem,) = validate(_solve(protocol=SolveProtocolConfig(name="processbench")))
    assert "deepcritic eval and score" in problem.fix


def test_protocol_cft_paper_composes_to_the_official_decoding():
    cfg = compose("solve", ["protocol=cft_paper"])
    assert validate(cfg) == [] and cfg.protocol.name == "cft_paper"
    s = cfg.generator.sampling
    # evaluate_qwen.sh: --temperature 0 --top_p 1 --n_sampling 1 --seed 0; math_eval.py: max_tokens_per_call 2048,
    # its stop words, stop_token_ids [151645, 151643] for a "qwen2" model
    assert (s.n, s.temperature, s.top_p, s.top_k, s.max_new_tokens, s.seed) == (1, 0.0, 1.0, 0, 2048, 0)
    assert s.stop == list(CFT_STOP) and s.stop_token_ids == list(QWEN2_STOP_IDS) == [151645, 151643]
    protocol = get_solver_protocol("cft_paper", official_dir=str(CFT))
    assert decoding_report(protocol, s, cfg.generator.model.name_or_path)["matches"] is True
    # for a model without "qwen2" in its name the official run sends no stop token ids: the report says so
    other = decoding_report(protocol, s, "deepseek-ai/deepseek-math-7b-base")
    assert other["differs"] == {"stop_token_ids": {"used": [151645, 151643], "official": []}}


def _script_flags() -> tuple[str, dict[str, str]]:
    """evaluate_qwen.sh's first (uncommented) run, and its math_eval.py flags that take a value."""
    run = (CFT / "evaluate_qwen.sh").read_text().split("#DATA_NAME")[0]
    words = [line.split() for line in run.splitlines() if line.strip().startswith("--")]
    return run, {w[0]: w[1] for w in words if len(w) > 1 and w[1] != "\\"}


def test_the_official_decoding_is_what_the_release_scripts_run():
    run, flags = _script_flags()
    assert 'PROMPT_TYPE="qwen25-math-cot"' in run and "--apply_chat_template" not in run  # raw text prompts
    assert (flags["--temperature"], flags["--top_p"], flags["--n_sampling"], flags["--seed"]) == ("0", "1", "1", "0")
    official = get_solver_protocol("cft_paper", official_dir=str(CFT)).official_sampling("Qwen/Qwen2.5-Math-7B")
    assert (official.temperature, official.top_p, official.n, official.seed) == (0.0, 1.0, 1, 0)
    assert official.max_new_tokens == math_eval_default("max_tokens_per_call") == 2048
    assert official.stop == STOP_WORDS == list(CFT_STOP)  # math_eval.py's list, read from its syntax tree


def test_the_cft_paper_experiment_runs_the_seven_sets_in_the_scripts_order(monkeypatch, shared_data):
    monkeypatch.setenv("DEEPCRITIC_DATA", str(shared_data))
    cfg = compose("solve", ["experiment=solve_cft_paper"])
    assert validate(cfg) == [] and cfg.protocol.name == "cft_paper"
    assert cfg.generator.model == ModelConfig(name_or_path="TIGER-Lab/Qwen2.5-Math-7B-CFT")
    # evaluate_qwen.sh: DATA_NAME="math,minerva_math,gsm8k,olympiadbench,amc23,aime24,theoremqa"
    order = ["math500", "minerva_math", "gsm8k", "olympiadbench", "amc23", "aime24", "theoremqa"]
    data_names = _script_flags()[0].split('DATA_NAME="')[1].split('"')[0].split(",")
    assert [HARNESS_DATASETS[name] for name in cfg.benchmarks] == data_names and list(cfg.benchmarks) == order
    sets = load_benchmarks(cfg.benchmarks, None)
    assert {name: len(problems) for name, problems in sets.items()} == {
        "math500": 500, "minerva_math": 272, "gsm8k": 1319, "olympiadbench": 675, "amc23": 40, "aime24": 30,
        "theoremqa": 800,
    }  # fmt: skip


def test_the_harness_rules_cover_the_protocols_formats():
    assert sorted(HARNESS_DATASETS.values()) == sorted(DATASETS)
    assert SOLVE_PROTOCOL_NAMES == ("deepcritic", "cft_paper")


def _protocol_files() -> dict[str, str]:
    return {
        p.stem: yaml.safe_load(p.read_text())["protocol"]["name"]
        for p in sorted((conf_dir() / "protocol").glob("*.yaml"))
    }


def test_the_protocol_group_is_split_between_the_recipes_without_overlap():
    files = _protocol_files()
    solve, critic = set(RECIPES["solve"].protocols), set(RECIPES["eval"].protocols)
    assert (
        solve | critic == set(files) and not solve & critic and RECIPES["score"].protocols == RECIPES["eval"].protocols
    )
    assert {files[o] for o in solve} <= set(SOLVE_PROTOCOL_NAMES) and {files[o] for o in critic} <= set(PROTOCOL_NAMES)


OVERRIDES = [
    # a protocol of the recipe, any other override, an unknown option (left to Hydra)
    ("solve", ["protocol=cft_paper"], None),
    ("eval", ["protocol=processbench_voting", "limit=3"], None),
    ("eval", ["protocol=mine"], None),
    ("sft", ["protocol=cft_paper"], None),  # no protocol group: Hydra answers
    # another recipe's protocol, also when appended
    ("solve", ["protocol=processbench"], "protocol=processbench is a protocol of deepcritic eval and score"),
    ("solve", ["protocol=deepcritic"], "or no protocol override for deepcritic's own"),
    ("eval", ["+protocol=cft_paper"], "protocol=cft_paper is a protocol of deepcritic solve"),
    ("score", ["protocol=cft_paper"], "deepcritic score reads protocol=deepcritic | deepcritic_paper"),
]


@pytest.mark.parametrize("recipe, overrides, message", OVERRIDES)
def test_protocol_overrides_are_checked_against_the_recipe(recipe, overrides, message):
    problem = protocol_problem(RECIPES[recipe], overrides)
    assert problem is None if message is None else message in problem


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty cache and no network: every download fails."""
    from deepcritic.eval import official as official_module

    def refuse(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setenv("DEEPCRITIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(official_module.urllib.request, "urlopen", refuse)
    return tmp_path / "cache" / "official"


def test_without_a_copy_or_network_the_error_says_how_to_give_one(offline_cache):
    from deepcritic.errors import DeepcriticError

    with pytest.raises(DeepcriticError, match=r"cannot download .*utils\.py.*protocol\.official_dir=<folder"):
        get_solver_protocol("cft_paper")


def test_the_cached_files_are_used_and_a_changed_copy_is_refused(offline_cache, tmp_path):
    from deepcritic.errors import DeepcriticError
    from deepcritic.eval.solver_protocols import CFT_FILES

    for name, file in CFT_FILES.items():  # as a first download would leave them
        (offline_cache / file.sha256[:16]).mkdir(parents=True)
        (offline_cache / file.sha256[:16] / name).write_bytes((CFT / name).read_bytes())
    assert get_solver_protocol("cft_paper").template.startswith("<|im_start|>system")
    changed = tmp_path / "mine"
    changed.mkdir()
    (changed / "utils.py").write_text((CFT / "utils.py").read_text().replace("step by step", "carefully"))
    (changed / "parser.py").write_bytes((CFT / "parser.py").read_bytes())
    with pytest.raises(DeepcriticError, match=r"mine/utils\.py is not the official .*solve_template=<path>"):
        get_solver_protocol("cft_paper", official_dir=str(changed))
