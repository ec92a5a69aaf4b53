"""Where records, chats, problems and candidate solutions come from (groups ``data``, ``chat``, ``problems``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.errors import Problem

SOURCES = ("synthetic", "processbench", "mr_gsm8k", "mr_gsm8k_raw", "prm800k", "contract", "generic", "hub")
MR_GSM8K_TYPES = ("original", "reversed", "POT")
CRITIQUE_STYLES = ("full", "terse", "count", "count_compare")
CHAT_SOURCES = ("records", "messages", "cft")
CHAT_FORMATS = ("chat_template", "llamafactory_qwen")
CFT_JOINS = ("newline", "stripped_blank_line")
PROBLEM_SOURCES = ("math500", "gsm8k", "aime24", "amc23", "minerva_math", "olympiadbench", "theoremqa", "file", "hub")
#: Problem-set formats with no Hub copy in that format: a local file (path) is needed, from the repository named.
LOCAL_PROBLEM_SOURCES = {
    "amc23": "QwenLM/Qwen2.5-Math evaluation/data/amc23/test.jsonl",
    "minerva_math": "QwenLM/Qwen2.5-Math evaluation/data/minerva_math/test.jsonl",
    "olympiadbench": "QwenLM/Qwen2.5-Math evaluation/data/olympiadbench/test.jsonl",
    "theoremqa": "TIGER-AI-Lab/CritiqueFineTuning tools/evaluate_math/data/theoremqa/test.jsonl",
}
POSITIVE_OR_NULL = "use a positive count, or null for all"
ON_ERROR = ("raise", "skip")


@dataclass
class SyntheticConfig:
    """The built-in arithmetic-critique task: seeded chains of arithmetic steps, some with one injected error."""

    num_records: int = option(512, "records to generate", ge=1)
    seed: int = option(0, "the task's seed")
    min_steps: int = option(3, "steps per solution, at least", ge=1)
    max_steps: int = option(5, "steps per solution, at most (>= min_steps)")
    max_operand: int = option(20, "operands are drawn from 1..max_operand (difficulty)", ge=1)
    max_value: Optional[int] = option(
        None, "keep every right running value <= max_value; null: no bound", ge=2, fix="null (no bound) or at least 2"
    )
    ops: list[str] = option(["+", "-", "*"], "operators to draw from", choices=("+", "-", "*"))
    error_rate: float = option(0.5, "fraction of records with one wrong step", ge=0, le=1)
    max_error_delta: int = option(3, "a wrong result differs from the right one by 1..max_error_delta", ge=1)
    critique: str = option("full", "gold critique style (see deepcritic/data/synthetic.py)", choices=CRITIQUE_STYLES)


@cross_check(SyntheticConfig)
def _synthetic_steps(s: SyntheticConfig, key: str) -> list[Problem]:
    if s.max_steps < s.min_steps:
        return [Problem(key_of(key, "max_steps"), s.max_steps, f"must be >= min_steps ({s.min_steps})")]
    return []


@dataclass
class PRM800KConfig:
    """How PRM800K's raw labels become records (see deepcritic/data/sources/prm800k.py)."""

    phase: Optional[int] = option(
        2,
        "keep labelings of this phase (2: DeepCritic's; 1: partly human-written paths with rated siblings); "
        "null = both. With no data.path, the phase's file is downloaded (data.hub_name, data.split)",
        choices=(1, 2),
        fix="1, 2, or null for both",
    )
    siblings: bool = option(
        True, "phase 1: one record per rated completion beside the labeled path (the path's prefix + that step)"
    )
    human_steps: str = option(
        "keep",
        "records whose path holds a step the labeler wrote (human_completion): keep (marked in meta.human_steps), "
        "drop (left out, counted) or reject (a bad record)",
        choices=("keep", "drop", "reject"),
    )


@dataclass
class DataConfig:
    """Where records come from and what to do with bad ones.

    ``source`` picks the converter: ``synthetic`` (built in, no download), ``processbench`` /
    ``mr_gsm8k`` (local JSON or the Hub), ``mr_gsm8k_raw`` (MR-GSM8K's release schema, all question types),
    ``prm800k`` (raw label files), ``contract`` (data-contract
    JSONL written by ``deepcritic convert``), ``generic`` (json/jsonl/parquet with a field mapping) and
    ``hub`` (any Hub dataset with a field mapping).
    """

    source: str = option("synthetic", "the converter", choices=SOURCES)
    path: Optional[str] = option(None, "local file; when null, the Hub dataset below is used")
    hub_name: Optional[str] = option(None, "Hub dataset, e.g. Qwen/ProcessBench")
    subset: Optional[str] = option(None, "Hub config name, or the ProcessBench split (gsm8k, math, ...)")
    split: str = option("train", "Hub split")
    revision: Optional[str] = option(None, "Hub revision")
    fields: dict[str, str] = option(
        {}, "generic/hub: record field -> source field (dotted paths allowed), e.g. {problem: question}"
    )
    label_base: int = option(
        0, "generic/hub: index base of the mapped label (1: steps numbered from 1, stored 0-based)", choices=(0, 1)
    )
    no_error_labels: list[str] = option(
        [], "generic/hub: label values meaning 'no wrong step' besides -1 (and then null), e.g. [N/A]"
    )
    question_types: Optional[list[str]] = option(
        None,
        "mr_gsm8k_raw: keep these question types (original, reversed, POT); null = all",
        choices=MR_GSM8K_TYPES,
        when=lambda d: d.source == "mr_gsm8k_raw",
    )
    name: Optional[str] = option(None, "source name written into records; defaults per source")
    on_error: str = option(
        "raise",
        "a bad record stops the run (raise) or is skipped, counted and written to rejects_path (skip)",
        choices=ON_ERROR,
        fix="use 'raise' (stop at the first bad record) or 'skip'",
    )
    rejects_path: Optional[str] = option(None, "skipped records go here (default: <run dir>/rejects.jsonl)")
    dedup: str = option(
        "none",
        "drop repeated records (counted): none | steps (the same problem with the same steps) | problem (the "
        "first record of each problem, as DeepCritic prepares its PRM800K data)",
        choices=("none", "steps", "problem"),
    )
    limit: Optional[int] = option(
        None, "keep the first N records (after loading)", ge=1, fix="use a positive count, or null for all records"
    )
    synthetic: SyntheticConfig = option(
        SyntheticConfig, "the built-in task (source=synthetic)", when=lambda d: d.source == "synthetic"
    )
    prm800k: PRM800KConfig = option(
        PRM800KConfig, "PRM800K's raw labels (source=prm800k)", when=lambda d: d.source == "prm800k"
    )


@cross_check(DataConfig)
def _data_location(d: DataConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if d.source in ("contract", "generic") and not d.path:
        out.append(
            Problem(
                key_of(key, "path"), d.path, f"source '{d.source}' reads a local file: set {key_of(key, 'path')}=<file>"
            )
        )
    if d.source == "prm800k" and not d.path and d.prm800k.phase is None:
        out.append(
            Problem(
                key_of(key, "prm800k.phase"),
                None,
                f"with no {key_of(key, 'path')} a release file is downloaded: name its phase "
                f"({key_of(key, 'prm800k.phase')}=1|2) or set {key_of(key, 'path')}=<file>",
            )
        )
    if d.source in ("processbench", "mr_gsm8k", "mr_gsm8k_raw") and not d.path and not d.hub_name:
        out.append(
            Problem(
                key_of(key, "path"), d.path, f"set {key_of(key, 'path')}=<file> or {key_of(key, 'hub_name')}=<dataset>"
            )
        )
    if d.source == "hub" and not d.hub_name:
        out.append(Problem(key_of(key, "hub_name"), d.hub_name, f"set {key_of(key, 'hub_name')}=<owner/dataset>"))
    if d.source in ("generic", "hub"):
        missing = [f for f in ("problem", "steps", "label") if f not in d.fields]
        if missing:
            out.append(
                Problem(
                    key_of(key, "fields"),
                    dict(d.fields),
                    f"map every required record field to a source field; missing: {', '.join(missing)} "
                    f"(e.g. +{key_of(key, 'fields')}.{missing[0]}=<column>)",
                )
            )
    return out


@dataclass
class ChatDataConfig:
    """Training examples as chats for ``sft`` / ``cft``: a user prompt and the assistant target.

    ``source``:
      - ``records``: step-labeled records from the recipe's ``data`` section; prompt = the critic prompt
        (critique protocol), target = the record's gold critique (``meta.critique``, e.g. the synthetic task).
      - ``messages``: rows holding a chat list (``messages_field``) of ``{role, content}``; the last
        assistant turn is the target and everything before it the prompt.
      - ``cft``: Critique Fine-Tuning rows (``instruction``, ``input``, ``output``, as in
        TIGER-Lab/WebInstruct-CFT); prompt = instruction and input (``join``), target = output.
    ``messages`` and ``cft`` read a local json/jsonl/parquet file (``path``) or a Hub dataset (``hub_name``).
    ``format`` says how a chat becomes the training sequence (deepcritic/chat_format.py).
    """

    source: str = option("records", "where the chats come from", choices=CHAT_SOURCES)
    path: Optional[str] = option(None, "local json/jsonl/parquet file")
    hub_name: Optional[str] = option(None, "Hub dataset")
    subset: Optional[str] = option(None, "Hub config name, e.g. WebInstruct-CFT-50K")
    split: str = option("train", "Hub split")
    revision: Optional[str] = option(None, "Hub revision")
    messages_field: str = option("messages", "messages: the column holding the chat")
    instruction_field: str = option("instruction", "cft: the instruction column")
    input_field: str = option("input", "cft: the input column (question and candidate solution)")
    output_field: str = option("output", "cft: the target column (the critique)")
    join: str = option(
        "newline",
        "cft: the user turn from instruction and input: newline (instruction, one newline, input; nothing stripped, "
        "an empty one left out: LLaMA-Factory's alpaca rows, as the CFT release trained) | stripped_blank_line "
        "(each stripped, joined by a blank line)",
        choices=CFT_JOINS,
    )
    format: str = option(
        "chat_template",
        "how a chat becomes the training sequence: chat_template (the tokenizer's chat template, rendered by TRL) | "
        "llamafactory_qwen (LLaMA-Factory 0.9.2's qwen template, as the CFT release trained: its default system "
        "turn, each piece tokenized alone, the tokenizer's eos after the target, LLaMA-Factory's cutoff; one user "
        "turn per chat)",
        choices=CHAT_FORMATS,
    )
    limit: Optional[int] = option(
        None, "keep the first N examples", ge=1, fix="use a positive count, or null for all examples"
    )
    on_error: str = option(
        "raise",
        "messages/cft: a bad row stops the run (raise) or is skipped, counted and written to rejects_path (skip); "
        "records: data.on_error decides",
        choices=ON_ERROR,
        fix="use 'raise' (stop at the first bad row) or 'skip'",
    )
    rejects_path: Optional[str] = option(None, "skipped rows go here (default: <run dir>/rejects.jsonl)")


@cross_check(ChatDataConfig)
def _chat_location(c: ChatDataConfig, key: str) -> list[Problem]:
    if c.source in CHAT_SOURCES and c.source != "records" and not c.path and not c.hub_name:
        return [
            Problem(
                key_of(key, "path"),
                c.path,
                f"source '{c.source}' needs {key_of(key, 'path')}=<file> or {key_of(key, 'hub_name')}=<dataset>",
            )
        ]
    return []


@dataclass
class ProblemsConfig:
    """Math problems with reference answers (``solve``, ``refine``, ``verify-vote``, ``label``, ``cft-data``).

    ``source``: a known format, read from a local file (``path``) or, where a copy in that format is on the Hub,
    from there: ``math500`` (HuggingFaceH4/MATH-500), ``gsm8k`` (openai/gsm8k), ``aime24``
    (HuggingFaceH4/aime_2024, split train); ``amc23``, ``minerva_math``, ``olympiadbench``, ``theoremqa`` (the
    Qwen2.5-Math harness's files: local only). Or ``file`` / ``hub`` with ``fields`` naming the problem and answer
    columns (and optionally id). GSM8K answers "... #### 18" are cut to the number after ####.
    """

    source: str = option("math500", "the problem set's format", choices=PROBLEM_SOURCES)
    path: Optional[str] = option(None, "local file")
    hub_name: Optional[str] = option(None, "Hub dataset; default per source")
    subset: Optional[str] = option(None, "Hub config name")
    split: str = option("test", "Hub split")
    fields: dict[str, str] = option({}, "problem / answer / id -> column")
    limit: Optional[int] = option(
        None, "at most N problems", ge=1, fix="use a positive count, or null for all problems"
    )


@cross_check(ProblemsConfig)
def _problems_location(p: ProblemsConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if p.source == "file" and not p.path:
        out.append(
            Problem(key_of(key, "path"), p.path, f"source 'file' reads a local file: set {key_of(key, 'path')}=<file>")
        )
    if p.source == "hub" and not p.hub_name:
        out.append(Problem(key_of(key, "hub_name"), p.hub_name, f"set {key_of(key, 'hub_name')}=<owner/dataset>"))
    if p.source in LOCAL_PROBLEM_SOURCES and not p.path and not p.hub_name:
        out.append(
            Problem(
                key_of(key, "path"),
                p.path,
                f"the {p.source} format has no Hub copy: set {key_of(key, 'path')}=<file> "
                f"({LOCAL_PROBLEM_SOURCES[p.source]}), or use the problem-set option {p.source}_file",
            )
        )
    if p.source in ("file", "hub"):
        missing = [f for f in ("problem", "answer") if f not in p.fields]
        if missing:
            out.append(
                Problem(
                    key_of(key, "fields"),
                    dict(p.fields),
                    f"map {', '.join(missing)} to columns, e.g. +{key_of(key, 'fields')}.{missing[0]}=<column>",
                )
            )
    return out


@dataclass
class CandidatesConfig:
    """The (question, candidate solution) pairs that ``deepcritic cft-data`` critiques.

    ``source``: ``generate`` (the generator samples solutions to the ``problems`` sets) or ``file`` (a
    local json/jsonl/parquet file with the fields named below).
    """

    source: str = option(
        "generate",
        "sample solutions (generate) or read them (file)",
        choices=("generate", "file"),
        fix="use generate (sample solutions) or file",
    )
    path: Optional[str] = option(None, "source=file: the file")
    question_field: str = option("question", "file: the question column")
    solution_field: str = option("solution", "file: the candidate solution column")
    answer_field: Optional[str] = option(None, "file: the reference final answer column, when the file has one")
    id_field: Optional[str] = option(None, "file: the id column; default: the row number")
    limit: Optional[int] = option(None, "at most N candidates", ge=1, fix=POSITIVE_OR_NULL)


@cross_check(CandidatesConfig)
def _candidates_file(c: CandidatesConfig, key: str) -> list[Problem]:
    if c.source == "file" and not c.path:
        return [
            Problem(
                key_of(key, "path"),
                c.path,
                f"{key_of(key, 'source')}=file reads a local file: set {key_of(key, 'path')}=<file>",
            )
        ]
    return []
