"""Evaluation protocols: the prompt, step tagging, index base, verdict reader, decoding and vote of a benchmark.

A critic's score means something only under a stated protocol. Each protocol here reproduces one published
evaluation, so that ``deepcritic eval protocol=X`` gives numbers comparable with the tables made under X:

* ``deepcritic``: this project's own protocol, the one training uses: steps tagged ``Step k:`` from 1, the
  verdict only from the final ``**Answer**: \\boxed{k}`` line (strict), majority vote over parsed verdicts.
* ``deepcritic_paper``: RUCBM/DeepCritic's ``eval.py`` + ``run_eval.sh`` (the DeepCritic paper's tables).
* ``processbench``: QwenLM/ProcessBench's ``run_eval.py`` (the ProcessBench paper's critic table, GPT-4o, o1-mini and
  open instruct models, and most generative critics since): ``<paragraph_i>`` tags from 0, a 0-based boxed index,
  greedy (or ``--use_voting``).
* ``mr_gsm8k``: dvlab-research/MR-GSM8K's ``eval_mr_gsm8k.py``: its own prompt, "Final Judgement / First Error
  Step" reading, task-1 MCC and task-2 first-error-step accuracy.

The official prompts are not part of this project: a protocol names its official file (:mod:`.official`) and
reads it at run time. Readers and votes are in :mod:`.readers`.

Public API: ``p = get_protocol("processbench", template_path=None)``; ``p.build_messages(record)``;
``p.extract_verdict(text)`` (contract base: 0-based step, -1 none, None no verdict); ``p.vote(texts)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from deepcritic.critique import load_template, tag_steps
from deepcritic.critique.templates import canonical, check_convention, fill
from deepcritic.errors import DeepcriticError
from deepcritic.eval import readers
from deepcritic.eval.metrics import majority_vote
from deepcritic.eval.official import OfficialFile, fstring_template, official_bytes


@dataclass(frozen=True)
class Decoding:
    """Decoding settings of a protocol (``top_k`` 0: off; ``seed`` None: none sent)."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 8192
    seed: int | None = 0


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol (see the module docstring). Build with :func:`get_protocol`."""

    name: str
    summary: str
    tagging: str  # "step" (Step k: from 1) or "paragraph" (<paragraph_i> from 0)
    index_base: int
    template: str  # our placeholder convention: {problem}, {solution}
    template_source: str
    reader: str  # a name from READERS
    verbatim_steps: bool  # show the source's own step texts (original_steps), as the official code does
    decoding: Decoding
    voting: Decoding
    vote_only_with: str | None = None
    quirks: tuple[str, ...] = field(default_factory=tuple)

    def tag(self, steps: Sequence[str]) -> str:
        """The solution text shown to the critic."""
        return TAGGERS[self.name](list(steps))

    def steps_of(self, record: Any) -> list[str]:
        """The steps this protocol shows: the source's own texts when it keeps them verbatim."""
        original = record.meta.get("original_steps") if self.verbatim_steps else None
        return list(original) if original else list(record.steps)

    def label_of(self, record: Any) -> int:
        """The gold label for the steps :meth:`steps_of` shows (contract base)."""
        original = record.meta.get("original_label") if self.verbatim_steps else None
        return record.label if original is None else int(original)

    def build_messages(self, record: Any) -> list[dict[str, str]]:
        """The chat messages for one record (``problem`` and ``steps``): one user turn."""
        return self.messages(record.problem, self.steps_of(record))

    def messages(self, problem: str, steps: Sequence[str]) -> list[dict[str, str]]:
        return [{"role": "user", "content": fill(self.template, problem=problem, solution=self.tag(steps))}]

    def read(self, text: str, num_steps: int | None = None) -> readers.Reading:
        """The protocol's reading and the strict one of one output (never raises on a ``str``)."""
        return READERS[self.reader](text, self.index_base, num_steps)

    def extract_verdict(self, text: str, num_steps: int | None = None) -> int | None:
        """The verdict the official code would score (contract base)."""
        return self.read(text, num_steps).verdict

    def vote(self, texts: Sequence[str], num_steps: int | None = None) -> int | None:
        """The protocol's vote over several samples of one record (contract base)."""
        if self.reader == "box":
            return readers.vote_box(texts, self.index_base, self.vote_only_with)
        return majority_vote([self.read(t, num_steps).verdict for t in texts])

    def official_decoding(self, model: str = "", voting: bool = False) -> Decoding:
        """The official decoding for ``model`` (some protocols switch on the model's name)."""
        base = self.voting if voting else self.decoding
        if self.name in ("processbench", "deepcritic_paper") and voting and "Qwen2.5-Math" in model:
            base = replace(base, temperature=0.7, top_p=0.8, top_k=20)
        if self.name == "processbench" and "QwQ" in model:
            base = replace(base, max_new_tokens=32768)
        return base

    def describe(self) -> dict[str, Any]:
        """What a report states about the protocol."""
        return {
            "name": self.name,
            "tagging": self.tagging,
            "index_base": self.index_base,
            "reader": self.reader,
            "template": self.template_source,
            "vote_only_with": self.vote_only_with,
            "quirks": list(self.quirks),
        }


READERS: dict[str, Callable[[str, int, int | None], readers.Reading]] = {
    "final_line": lambda text, base, n: readers.read_final_line(text, n),
    "box": readers.read_box,
    "mr_gsm8k": lambda text, base, n: readers.read_mr_gsm8k(text, n),
}

_STEP_RE = re.compile(r"Step \d+:")


def _paragraphs(steps: list[str]) -> str:
    return "".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>\n\n" for i, s in enumerate(steps)).strip()


def _deepcritic_paper(steps: list[str]) -> str:
    """DeepCritic's eval.py: a step without "Step " anywhere in it gets a "Step k: " prefix; blank lines between."""
    return "".join((s if "Step " in s else f"Step {i}: {s}") + "\n\n" for i, s in enumerate(steps, 1)).strip()


def _mr_gsm8k(steps: list[str]) -> str:
    """MR-GSM8K's script joins its "Step k:"-prefixed steps with newlines; steps without a prefix get one."""
    return "\n".join(s if _STEP_RE.match(s) else f"Step {i}: {s}" for i, s in enumerate(steps, 1))


TAGGERS: dict[str, Callable[[list[str]], str]] = {
    "deepcritic": tag_steps,
    "deepcritic_paper": _deepcritic_paper,
    "processbench": _paragraphs,
    "mr_gsm8k": _mr_gsm8k,
}

#: The official files (repository, commit, path, sha256) each official protocol reads its prompt from.
OFFICIAL_FILES: dict[str, OfficialFile] = {
    "processbench": OfficialFile(
        "QwenLM/ProcessBench",
        "e8024636bcabdf8bd514440551b531d3f90dd18b",
        "code/templates/critique_template.txt",
        "0e7dba24bfaa9dea379907e11b8dc701c6cd6e74453ab2ffc9b1d63237cc4434",
    ),
    "deepcritic_paper": OfficialFile(
        "RUCBM/DeepCritic",
        "6a0cde9e58bc20ac69eecf79e36fac661d28eb6f",
        "ProcessBench/code/templates/critique_template_new.txt",
        "95c94273e4f061370033e4dadf7a7de3d24ffa0e3d3f841444d705fa892ea55d",
    ),
    "mr_gsm8k": OfficialFile(
        "dvlab-research/MR-GSM8K",
        "3f666d60dd5f2fe31d619c528076bac54f4a13b7",
        "scripts/eval_mr_gsm8k.py",
        "962cd34962c4982f82ada3a799a40170d3f236e21a5cda194474169741521c3a",
    ),
}

_SPECS: dict[str, dict[str, Any]] = {
    "deepcritic": {
        "summary": "deepcritic's own: Step k: from 1, strict final **Answer** line, majority vote",
        "tagging": "step",
        "index_base": 1,
        "reader": "final_line",
        "verbatim_steps": False,
        "decoding": Decoding(max_new_tokens=8192, seed=0),
        "voting": Decoding(n=8, temperature=0.6, max_new_tokens=8192, seed=0),
    },
    "deepcritic_paper": {
        "summary": "RUCBM/DeepCritic eval.py: Step k: from 1, last \\boxed{} read by int(), T=0.6 top-p 0.9",
        "tagging": "step",
        "index_base": 1,
        "reader": "box",
        "verbatim_steps": True,
        "decoding": Decoding(temperature=0.6, top_p=0.9, max_new_tokens=32768, seed=42),
        "voting": Decoding(n=8, temperature=1.0, top_p=0.9, max_new_tokens=32768, seed=42),
        "vote_only_with": "**Answer**:",
        "quirks": (
            "the verdict is the last \\boxed{} anywhere (a truncated critique's last per-step box counts)",
            "votes count boxed strings; only samples containing **Answer**: vote (DeepCritic models)",
            "a step containing 'Step ' anywhere keeps its text without a prefix",
        ),
    },
    "processbench": {
        "summary": "QwenLM/ProcessBench run_eval.py: <paragraph_i> from 0, last \\boxed{} read by int(), greedy",
        "tagging": "paragraph",
        "index_base": 0,
        "reader": "box",
        "verbatim_steps": True,
        "decoding": Decoding(max_new_tokens=8192, seed=42),
        "voting": Decoding(n=8, temperature=1.0, top_p=0.9, max_new_tokens=8192, seed=42),
        "quirks": (
            "the verdict is the last \\boxed{} anywhere (a boxed corrected answer reads as a step index)",
            "votes count boxed strings",
        ),
    },
    "mr_gsm8k": {
        "summary": "dvlab-research/MR-GSM8K eval_mr_gsm8k.py: Final Judgement / First Error Step, greedy, 1024 tokens",
        "tagging": "step",
        "index_base": 1,
        "reader": "mr_gsm8k",
        "verbatim_steps": True,
        "decoding": Decoding(max_new_tokens=1024, seed=None),
        "voting": Decoding(n=8, temperature=0.6, max_new_tokens=1024, seed=None),
        "quirks": ("a judgement counts as correct / wrong when it contains the word (substring match)",),
    },
}


PROTOCOLS = tuple(_SPECS)


def get_protocol(
    name: str, template_path: str | None = None, *, template: str | None = None, model: str | None = None
) -> Protocol:
    """The protocol ``name`` with its prompt.

    ``template_path``: for an official protocol, a local copy of its official file (checked by sha256; None
    downloads it once into the cache); for ``deepcritic``, any critic template file (None: the packaged one).
    ``template``: ``deepcritic`` only, template text instead of a file (the demo's own critic prompt).
    ``model``: the critic's name or path, for the official code's model-dependent rules (DeepCritic votes
    only over samples with a final answer line when the model is a DeepCritic one).
    """
    if name not in _SPECS:
        raise DeepcriticError(f"unknown protocol {name!r}; protocols: {', '.join(PROTOCOLS)}")
    spec = dict(_SPECS[name])
    if name == "deepcritic":
        if template is None:  # load_template checks a file's tagging and index base
            text, source = load_template("critic", template_path), template_path or "deepcritic/critique/critic.txt"
        else:
            text, source = template, "<template text>"
            check_convention(text, source, "step", 1, "protocol deepcritic")
        return Protocol(name=name, template=text, template_source=source, **spec)
    if template is not None:
        raise DeepcriticError(f"protocol {name} uses its official prompt; template text is for protocol deepcritic")
    file = OFFICIAL_FILES[name]
    data = official_bytes(file, template_path).decode("utf-8")
    if name == "mr_gsm8k":
        text = fstring_template(data, "data['eval_prompt']", {"data['question']": "problem", "sol_steps": "solution"})
    else:  # the official code strips the file and fills it with str.format
        text = canonical("critic", data.strip())
    if name == "deepcritic_paper" and model is not None and "deepcritic" not in model.lower():
        spec["vote_only_with"] = None  # eval.py filters samples only for DeepCritic models
    return Protocol(name=name, template=text, template_source=file.name, **spec)
