"""LLaMA-Factory's qwen rendering (chat.format=llamafactory_qwen): pieces, cutoff rule, lengths, refusals.

A character tokenizer makes every length countable by hand: one id per character, one per special token.
The rendering against a real BPE tokenizer and TRL's trainer is tests/integration/test_cft.py.
"""

from __future__ import annotations

import re

import pytest

from deepcritic.chat_data import LengthReport, training_examples
from deepcritic.chat_format import LLAMAFACTORY_QWEN, check_tokenizer, cutoff_lengths, encode, pieces, truncate
from deepcritic.errors import DeepcriticError

SPECIAL = {"<|im_start|>": 1, "<|im_end|>": 2}
EOS = 3


class CharTokenizer:
    """One id per character (its code point + 10), the special tokens above as single ids, eos 3."""

    eos_token_id = EOS

    def __init__(self, special: dict[str, int] = SPECIAL):
        self.special = special

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        ids, i = [], 0
        while i < len(text):
            token = next((t for t in self.special if text.startswith(t, i)), None)
            if token:
                ids.append(self.special[token])
                i += len(token)
            else:
                ids.append(ord(text[i]) + 10)
                i += 1
        return ids


def _chat(user: str, target: str, system: str | None = None) -> dict:
    prompt = ([{"role": "system", "content": system}] if system is not None else []) + [
        {"role": "user", "content": user}
    ]
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": target}]}


SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
PIECES = [
    # one user turn: the template's default system turn, the user turn with the assistant header
    (_chat("ab", "xy"), (SYSTEM, "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n", "xy")),
    # a system turn replaces the default
    (
        _chat("ab", "xy", "Be terse."),
        ("<|im_start|>system\nBe terse.<|im_end|>\n", "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n", "xy"),
    ),
    # an empty system turn gets the default, as LLaMA-Factory's `system or default_system`
    (_chat("ab", "xy", ""), (SYSTEM, "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n", "xy")),
    # nothing is stripped: whitespace and newlines stay where they are
    (_chat(" a\n", "\nx \n"), (SYSTEM, "<|im_start|>user\n a\n<|im_end|>\n<|im_start|>assistant\n", "\nx \n")),
]


@pytest.mark.parametrize("example, expected", PIECES)
def test_pieces(example, expected):
    assert pieces(example, LLAMAFACTORY_QWEN) == expected


def test_encode_tokenizes_each_piece_alone_and_labels_the_target_and_eos():
    # system piece: im_start + "system\n" (7) + the sentence (28) + im_end + "\n" = 38 tokens;
    # user piece: im_start + "user\n" (5) + "ab" (2) + im_end + "\n" + im_start + "assistant\n" (10) = 21 tokens
    row = encode(_chat("ab", "xy"), CharTokenizer(), LLAMAFACTORY_QWEN)
    target = [ord("x") + 10, ord("y") + 10, EOS]
    assert row["prompt_length"] == 59 and len(row["input_ids"]) == 62
    assert row["input_ids"][:2] == [1, ord("s") + 10] and row["input_ids"][-3:] == target
    assert row["labels"] == [-100] * 59 + target


BAD_CHATS = [
    # two user turns
    ({"prompt": [{"role": "user", "content": "a"}] * 2, "completion": [{"role": "assistant", "content": "b"}]}),
    # an earlier assistant turn (multi-turn)
    (
        {
            "prompt": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
            ],
            "completion": [{"role": "assistant", "content": "d"}],
        }
    ),
]


@pytest.mark.parametrize("example", BAD_CHATS)
def test_other_chats_are_refused_with_the_fix(example):
    with pytest.raises(DeepcriticError, match="one user turn.*use chat.format=chat_template"):
        pieces(example, LLAMAFACTORY_QWEN)


CUTOFF = [
    # fits: nothing cut
    (3, 4, 10, (3, 4)),
    # the target is under half the cutoff: it stays whole, the prompt loses its end
    (8, 3, 10, (7, 3)),
    # the prompt is under half, the target is not: the target loses its end
    (3, 9, 10, (3, 7)),
    # both at least half: each keeps its share, int(10 * 8 / 14) = 5 for the target
    (6, 8, 10, (5, 5)),
    # a target of exactly half is not under half: shares, int(10 * 5 / 17) = 2
    (12, 5, 10, (8, 2)),
]


@pytest.mark.parametrize("prompt, target, cutoff, expected", CUTOFF)
def test_cutoff_lengths(prompt, target, cutoff, expected):
    assert cutoff_lengths(prompt, target, cutoff) == expected


def test_truncate_keeps_the_prompt_start_and_the_target_start():
    row = {"input_ids": [1, 2, 3, 4, 5, 6, 7], "labels": [-100, -100, -100, -100, 5, 6, 7], "prompt_length": 4}
    # 4 + 3 tokens cut to 5: the target (3) is over half of 5, the prompt (4) too: int(5 * 3 / 7) = 2 of the target
    assert truncate(row, 5) == {"input_ids": [1, 2, 3, 5, 6], "labels": [-100, -100, -100, 5, 6]}
    assert truncate(row, 7) == {"input_ids": row["input_ids"], "labels": row["labels"]}


def _dataset(*examples):
    import datasets

    return datasets.Dataset.from_list(list(examples))


def test_training_examples_are_token_ids_and_labels_cut_by_llamafactorys_rule():
    # 59 prompt + 3 target tokens (see above); max_length 60: the target (3) is under half, the prompt keeps 57
    out, report = training_examples(_dataset(_chat("ab", "xy")), CharTokenizer(), "llamafactory_qwen", 60, False)
    assert out.column_names == ["input_ids", "labels"]
    ids, labels = out[0]["input_ids"], out[0]["labels"]
    assert len(ids) == 60 and ids[-3:] == [ord("x") + 10, ord("y") + 10, EOS] and labels == [-100] * 57 + ids[-3:]
    assert report == LengthReport(1, 1, 60, 62, False, "llamafactory")
    assert "cut as LLaMA-Factory cuts at cutoff_len" in report.message()


def test_training_examples_drop_overlong_ones_when_asked():
    rows = _dataset(_chat("ab", "xy"), _chat("abcd", "xy"))  # 62 and 64 tokens
    out, report = training_examples(rows, CharTokenizer(), "llamafactory_qwen", 62, True)
    assert len(out) == 1 and len(out[0]["input_ids"]) == 62 and report.dropped and report.longest == 64


REFUSED = [
    # no ChatML tokens: "<|im_start|>" would be 12 characters
    (CharTokenizer(special={}), "does not hold <|im_start|>, <|im_end|> as single tokens"),
    # no eos to end the target
    (type("NoEos", (CharTokenizer,), {"eos_token_id": None})(), "has no eos token"),
]


@pytest.mark.parametrize("tokenizer, fragment", REFUSED)
def test_a_tokenizer_without_what_the_template_needs_is_refused(tokenizer, fragment):
    pattern = f"chat.format = 'llamafactory_qwen'.*{re.escape(fragment)}.*chat.format=chat_template"
    with pytest.raises(DeepcriticError, match=pattern):
        check_tokenizer(tokenizer, LLAMAFACTORY_QWEN)
