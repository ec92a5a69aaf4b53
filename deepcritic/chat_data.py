"""Training examples for ``sft`` / ``cft``: prompt-completion chats, and the length report.

Every example is TRL's conversational prompt-completion form::

    {"prompt": [{"role": "user", "content": ...}], "completion": [{"role": "assistant", "content": ...}]}

so that TRL's ``SFTTrainer`` puts the loss on the completion (the assistant target) only.

Sources (``chat.source``):
  - ``records``: step-labeled records -> critic prompt (critique protocol) + the gold critique in
    ``record.meta["critique"]`` (the synthetic task writes it).
  - ``messages``: rows with a list of ``{role, content}`` turns; the last assistant turn is the target,
    the turns before it the prompt.
  - ``cft``: WebInstruct-CFT rows ``{instruction, input, output}``: prompt = instruction, a blank line,
    input (the question and a candidate solution); target = output (the critique, which ends in a
    right/wrong conclusion).

Over-length examples are never truncated silently: :func:`length_report` counts them and the recipe
prints and logs the count, then drops them (``train.drop_overlong``) or lets the trainer truncate them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepcritic import chat_format
from deepcritic.config import ChatDataConfig, DataConfig
from deepcritic.data.readers import Item, iter_file, require_file
from deepcritic.data.skips import Skips, skip_metrics
from deepcritic.errors import DataError, DeepcriticError, RecordError

Example = dict[str, list[dict[str, str]]]


def _chat(prompt: list[dict[str, str]], target: str) -> Example:
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": target}]}


# ---------------------------------------------------------------------------------------------------
# One row -> one example


def record_example(record: Any, template: str | None = None) -> Example:
    """A step-labeled record -> (critic prompt, gold critique); the critique comes from ``meta["critique"]``."""
    from deepcritic.critique import build_critic_messages

    critique = record.meta.get("critique")
    if not isinstance(critique, str) or not critique.strip():
        raise DataError(
            record.source,
            f"record {record.id!r}",
            "meta.critique",
            "the gold critique text (SFT needs a target critique for every record; the synthetic "
            "task writes one, other sources need a teacher's critique or chat.source=messages)",
        )
    return _chat(build_critic_messages(record.problem, record.steps, template), critique)


def messages_example(row: Any, field: str = "messages", file: str = "<rows>", where: str = "") -> Example:
    """A row holding a chat list -> prompt = the turns before the last assistant turn, target = that turn.

    Raises :class:`RecordError` (file, where, field, what was expected; ``reason`` as the records loader counts
    them: ``not an object``, ``missing field``, ``wrong type``, ``empty messages``, ``no target``, ``empty target``).
    """

    def bad(reason: str, name: str | None, expected: str, got: object = None) -> RecordError:
        return RecordError(reason, file, where, name, expected, got, raw=row)

    chat = "a non-empty list of {role, content} messages"
    if not isinstance(row, Mapping):
        raise bad("not an object", None, f"an object with '{field}': {chat}", row)
    if field not in row:
        raise bad("missing field", field, f"{chat} (field is missing)")
    turns = row[field]
    if not isinstance(turns, list):
        raise bad("wrong type", field, chat, turns)
    if not turns:
        raise bad("empty messages", field, chat, turns)
    for i, turn in enumerate(turns):
        if not (
            isinstance(turn, Mapping) and isinstance(turn.get("role"), str) and isinstance(turn.get("content"), str)
        ):
            raise bad("wrong type", f"{field}[{i}]", "an object with string 'role' and 'content'", turn)
    last = max((i for i, t in enumerate(turns) if t["role"] == "assistant"), default=-1)
    if last <= 0:
        expected = "an assistant turn (the target) after at least one prompt turn"
        raise bad("no target", field, expected, [t["role"] for t in turns])
    if not turns[last]["content"].strip():
        raise bad("empty target", f"{field}[{last}]", "a non-empty assistant turn (the target)", turns[last]["content"])
    prompt = [{"role": t["role"], "content": t["content"]} for t in turns[:last]]
    return _chat(prompt, turns[last]["content"])


def cft_example(row: Any, cfg: ChatDataConfig, file: str = "<rows>", where: str = "") -> Example:
    """A CFT row (instruction, input, output) -> user: instruction and input joined by ``cfg.join``; assistant:
    output, verbatim (its ``[END]`` included). Raises :class:`RecordError` as :func:`messages_example` does
    (``empty target``: a blank output; ``empty prompt``: nothing in instruction and input)."""

    def bad(reason: str, name: str | None, expected: str, got: object = None) -> RecordError:
        return RecordError(reason, file, where, name, expected, got, raw=row)

    if not isinstance(row, Mapping):
        raise bad("not an object", None, "an object with instruction, input and output fields", row)
    values = {}
    for name in (cfg.instruction_field, cfg.input_field, cfg.output_field):
        if name not in row:
            raise bad("missing field", name, "a string (field is missing)")
        if not isinstance(row[name], str):
            raise bad("wrong type", name, "a string", row[name])
        values[name] = row[name]
    if not values[cfg.output_field].strip():
        raise bad("empty target", cfg.output_field, "a non-empty critique", values[cfg.output_field])
    user = cft_prompt(values[cfg.instruction_field], values[cfg.input_field], cfg.join)
    if not user.strip():
        raise bad("empty prompt", cfg.instruction_field, "a non-empty instruction or input", "")
    return _chat([{"role": "user", "content": user}], values[cfg.output_field])


def cft_prompt(instruction: str, input_text: str, join: str) -> str:
    """The user turn of a CFT row. ``newline``: as LLaMA-Factory's alpaca converter (the parts that are not
    empty, joined by one newline, nothing stripped); ``stripped_blank_line``: each part stripped, a blank line
    between."""
    if join == "stripped_blank_line":
        return "\n\n".join(p for p in (instruction.strip(), input_text.strip()) if p)
    return "\n".join(p for p in (instruction, input_text) if p)


# ---------------------------------------------------------------------------------------------------
# A whole source -> a datasets.Dataset of examples


@dataclass
class ChatExamples:
    """The examples of a load (a ``datasets.Dataset``), where they came from, and what was left out: counted by
    reason (bad rows under ``chat.on_error=skip``; for ``records``, what the records loader left out) and the
    rejects file they were written to."""

    dataset: Any
    source: str
    skipped: Counter[str] = field(default_factory=Counter)
    rejects_path: Path | None = None

    def metrics(self) -> dict[str, int]:
        """``data/skipped`` and ``data/skipped/<reason>`` for metrics.json, wandb and the model card."""
        return skip_metrics(self.skipped)

    def message(self) -> str | None:
        """The line that says what was left out (None when nothing was)."""
        if not self.skipped:
            return None
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.skipped.items()))
        where = f"; rejects in {self.rejects_path}" if self.rejects_path else ""
        return f"{sum(self.skipped.values())} row(s) of {self.source} left out ({reasons}){where}"


def load_examples(
    chat: ChatDataConfig,
    data: DataConfig | None = None,
    template: str | None = None,
    rejects_default: Path | None = None,
) -> ChatExamples:
    """The training examples of ``chat`` (records come from ``data``). Bad rows of ``messages`` / ``cft`` stop
    the load with a located :class:`RecordError`, or under ``chat.on_error=skip`` are counted and written to
    ``chat.rejects_path`` (default ``rejects_default``); a source with no usable row is a DataError anyway."""
    if chat.source == "records":
        from deepcritic.data import load_records

        if data is None:
            raise DeepcriticError("chat.source=records needs the recipe's data section")
        result = load_records(data, rejects_default)
        examples = (record_example(r, template) for r in result.records)
        dataset = _dataset(itertools.islice(examples, chat.limit))
        return ChatExamples(dataset, f"records:{data.source}", result.skipped, result.rejects_path)
    label, items = _items(chat)
    convert = _row_converter(chat, label)
    skips = Skips(skip=chat.on_error == "skip")
    dataset = _dataset(itertools.islice(skips.screen(items, convert), chat.limit))
    rejects_path = skips.write(chat.rejects_path or rejects_default, "chat.rejects_path")
    skips.require(label, len(dataset), "example", rejects_path)
    return ChatExamples(dataset, label, skips.counts, rejects_path)


def _row_converter(chat: ChatDataConfig, file: str) -> Callable[[Any, int, str], Example]:
    if chat.source == "messages":
        return lambda row, _index, where: messages_example(row, chat.messages_field, file, where)
    if chat.source == "cft":
        return lambda row, _index, where: cft_example(row, chat, file, where)
    raise DeepcriticError(f"chat.source = {chat.source!r}: use records, messages or cft")


def _items(chat: ChatDataConfig) -> tuple[str, Iterator[Item]]:
    """(how the rows are named in messages, the rows as located items): a local file, or a Hub dataset's rows."""
    if chat.path:
        path = require_file(chat.path)
        return str(path), iter_file(path)
    import datasets

    label = _hub_label(chat)
    try:
        rows = datasets.load_dataset(chat.hub_name, chat.subset, split=chat.split, revision=chat.revision)
    except Exception as exc:  # offline, unknown name or config: all user-fixable
        raise DeepcriticError(
            f"cannot load {label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
            "Check chat.hub_name / chat.subset, or use a local file: chat.path=<file>"
        ) from None
    return label, ((f"row {i}", row, None) for i, row in enumerate(rows))


def _dataset(examples: Iterable[Example], chunk: int = 10_000):
    """The examples as a ``datasets.Dataset``, built ``chunk`` rows at a time (a large set is held as Arrow
    tables, not Python objects); empty when there are none."""
    import datasets

    parts = []
    while batch := list(itertools.islice(examples, chunk)):
        parts.append(datasets.Dataset.from_list(batch))
    if not parts:
        return datasets.Dataset.from_list([])
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def _hub_label(chat: ChatDataConfig) -> str:
    return f"hf://{chat.hub_name}" + (f"/{chat.subset}" if chat.subset else "") + f"[{chat.split}]"


def example_texts(dataset) -> Iterable[str]:
    """Every message text of the examples (to train the tiny tokenizer on)."""
    for ex in dataset:
        for turn in ex["prompt"] + ex["completion"]:
            yield turn["content"]


# ---------------------------------------------------------------------------------------------------
# Lengths: count what does not fit, never truncate silently


@dataclass(frozen=True)
class LengthReport:
    """How many examples exceed ``max_length`` tokens (prompt + target, template included) and what became of
    them: dropped, or cut (``cut``: ``end``, the trainer keeps the first ``max_length`` tokens; ``llamafactory``,
    LLaMA-Factory's cutoff rule)."""

    total: int
    overlong: int
    max_length: int
    longest: int
    dropped: bool
    cut: str = "end"
    no_target: int = 0  # overlong examples whose prompt alone fills max_length: dropped, nothing would be trained

    @property
    def fraction(self) -> float:
        return self.overlong / self.total if self.total else 0.0

    def message(self) -> str:
        if not self.overlong:
            return f"all {self.total} examples fit in max_length={self.max_length} tokens (longest: {self.longest})"
        if self.dropped:
            action = "dropped them (train.drop_overlong=true)"
        elif self.cut == "llamafactory":
            action = (
                "they are cut as LLaMA-Factory cuts at cutoff_len (the prompt's end when the target is under half "
                "of max_length, else the target's end, or both in proportion); set train.drop_overlong=true to "
                "drop them or raise train.max_length"
            )
        else:
            action = (
                "they are truncated to max_length, which cuts the end of the target (its conclusion); "
                "set train.drop_overlong=true to drop them or raise train.max_length"
            )
        empty = (
            f"; {self.no_target} of them keep no target token within max_length (the prompt alone fills it) and "
            "were dropped, as there is nothing to train on"
            if self.no_target
            else ""
        )
        return (
            f"{self.overlong} of {self.total} examples ({self.fraction:.1%}) are longer than "
            f"max_length={self.max_length} tokens (longest: {self.longest}): {action}{empty}"
        )

    def metrics(self) -> dict[str, float]:
        return {
            "data/examples": self.total,
            "data/overlong": self.overlong,
            "data/overlong_dropped": self.overlong if self.dropped else 0,
            "data/longest_tokens": self.longest,
            "data/no_target_dropped": self.no_target,
        }


def count_tokens(example: Example, tokenizer) -> int:
    """Tokens in the full training sequence of ``example`` (as TRL tokenizes it: the chat template, no truncation)."""
    ids = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=True, return_dict=True)
    return len(ids["input_ids"])


def prompt_tokens(example: Example, tokenizer) -> int:
    """Tokens of ``example``'s prompt with the assistant turn opened (where its target starts, as TRL renders it)."""
    ids = tokenizer.apply_chat_template(example["prompt"], tokenize=True, add_generation_prompt=True, return_dict=True)
    return len(ids["input_ids"])


def training_examples(
    dataset, tokenizer, fmt: str, max_length: int, drop: bool, num_proc: int | None = None
) -> tuple[Any, LengthReport]:
    """(what the trainer trains on, LengthReport) for ``chat.format`` ``fmt``: the chats (``chat_template``: TRL
    renders and tokenizes them) or their ``input_ids`` and ``labels`` (a :mod:`deepcritic.chat_format`
    template); examples over ``max_length`` tokens are counted, then dropped when ``drop``, else cut (by the
    trainer, or by LLaMA-Factory's rule here)."""
    if fmt == "chat_template":
        sized = dataset.map(
            lambda ex: {"_num_tokens": count_tokens(ex, tokenizer), "_prompt_tokens": prompt_tokens(ex, tokenizer)},
            num_proc=num_proc,
            desc="Counting tokens",
        )
    else:
        template = chat_format.template_of(fmt)
        chat_format.check_tokenizer(tokenizer, template)
        sized = dataset.map(
            lambda ex: _encoded(ex, tokenizer, template),
            remove_columns=dataset.column_names,
            num_proc=num_proc,
            desc=f"Rendering with {fmt}",
        )
    lengths = sized["_num_tokens"]
    overlong = sum(n > max_length for n in lengths)
    cut = "end" if fmt == "chat_template" else "llamafactory"
    # truncated at the end, an example whose prompt fills max_length keeps no target token: TRL would drop it
    # without a word (or fail on an empty dataset), so it is dropped and counted here
    no_target = 0 if drop or fmt != "chat_template" else sum(n >= max_length for n in sized["_prompt_tokens"])
    report = LengthReport(
        len(lengths), overlong, max_length, max(lengths, default=0), drop and overlong > 0, cut, no_target
    )
    if drop and overlong:
        sized = sized.filter(lambda ex: ex["_num_tokens"] <= max_length, num_proc=num_proc)
    if no_target:
        sized = sized.filter(lambda ex: ex["_prompt_tokens"] < max_length, num_proc=num_proc)
    if len(sized) == 0:
        raise DeepcriticError(
            f"no example keeps a target token within train.max_length={max_length} (every one is longer, or its "
            "prompt alone fills it): raise train.max_length"
        )
    sized = sized.remove_columns([c for c in ("_num_tokens", "_prompt_tokens") if c in sized.column_names])
    if fmt == "chat_template":
        return sized, report
    cut_rows = sized.map(lambda row: chat_format.truncate(row, max_length), num_proc=num_proc, desc="Cutting")
    return cut_rows.remove_columns("prompt_length"), report


def _encoded(example: Example, tokenizer, template) -> dict[str, Any]:
    row = chat_format.encode(example, tokenizer, template)
    return {**row, "_num_tokens": len(row["input_ids"])}
