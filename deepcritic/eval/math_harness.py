r"""The answer handling of the Qwen2.5-Math evaluation harness, as the CFT paper's solver tables were made with it.

TIGER-AI-Lab/CritiqueFineTuning evaluates with ``tools/evaluate_math`` (Qwen2.5-Math's ``math_eval.py``,
``parser.py``, ``evaluate.py``). Before any comparison the harness rewrites both the reference and the model's
answer: it picks the answer out of the output (the minerva phrase, the last ``boxed``, "the answer is", the last
number), then normalises it (``\dfrac`` -> ``\frac``, units and ``\text{}`` dropped, spaces removed, ``a/b`` ->
``\frac{a}{b}``, number words -> digits, ...). The same rules, per dataset, are reproduced here so that
``deepcritic solve protocol=cft_paper`` reads answers exactly as the release did; the grading that follows is
math-verify's (:mod:`deepcritic.answers`), not the harness's own ``math_equal``.

Every quirk is kept, because each changes the numbers, and each is named where it happens: unit words are
removed as regular expressions ("a . m" matches "a x m"), anywhere they stand alone ("c" in "(c)" gives "()"),
"and" is deleted inside words, and the reference is normalised a second time when ``evaluate.py`` re-reads it.

Dataset names are the harness's own: ``math`` (also for MATH-500: the release's script runs ``math``),
``gsm8k``, ``minerva_math``, ``olympiadbench``, ``aime24``, ``amc23``, ``theoremqa``. The unit words are part
of the official ``parser.py`` and are read from its syntax tree (:func:`unit_words`), never shipped here.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from deepcritic.errors import DeepcriticError

#: The datasets whose rules this module reproduces (the seven sets of the CFT paper's evaluation).
DATASETS = ("math", "minerva_math", "gsm8k", "olympiadbench", "aime24", "amc23", "theoremqa")
#: Datasets whose answers keep their units (and whose reference is not normalised).
KEEP_UNITS = ("carp_en", "minerva_math")
#: The row keys a question is read from, first present wins.
QUESTION_KEYS = ("question", "problem", "Question", "input")
CHOICES = ("A", "B", "C", "D", "E")
_REGEX_CHARS = set(".^$*+?{}[]\\|()")
_CHOICE_TRIGGERS = ("choice is", "answer is")
_WHEN_CIRCUMFIXED = (("{", "}"), ("(", ")"), ("[", "]"))


def _syntax_tree(source: str) -> ast.Module:
    """The module's syntax tree (the official files' invalid string escapes only warn: silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(source)


def unit_words(parser_source: str, origin: str = "parser.py") -> tuple[str, ...]:
    """The unit words of the official ``parser.py``: its ``unit_texts`` list, then each word with an ``s``
    appended (the file extends the list with the plurals). Read from the syntax tree; nothing is executed.

    Raises :class:`DeepcriticError` when the file assigns no list of strings to ``unit_texts``.
    """
    for node in _syntax_tree(parser_source).body:
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == "unit_texts" for t in node.targets):
            words = ast.literal_eval(node.value)
            if isinstance(words, list) and all(isinstance(w, str) for w in words):
                return tuple(words) + tuple(w + "s" for w in words)
    raise DeepcriticError(f"{origin}: no list of strings is assigned to unit_texts")


def prompt_template(utils_source: str, prompt_type: str, origin: str = "utils.py") -> str:
    """The input template of ``prompt_type`` in the official ``PROMPT_TEMPLATES`` (``{input}`` marks the
    question; ``{{}}`` is a literal ``{}`` under ``str.format``), read from the syntax tree.

    Raises :class:`DeepcriticError` when the dictionary or the prompt type is missing.
    """
    for node in _syntax_tree(utils_source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)):
            continue
        if not any(ast.unparse(t) == "PROMPT_TEMPLATES" for t in node.targets):
            continue
        for key, value in zip(node.value.keys, node.value.values):
            if isinstance(key, ast.Constant) and key.value == prompt_type:
                template = ast.literal_eval(value)[0]
                if isinstance(template, str):
                    return template
        raise DeepcriticError(f"{origin}: PROMPT_TEMPLATES has no {prompt_type!r} entry")
    raise DeepcriticError(f"{origin}: no PROMPT_TEMPLATES dictionary")


@lru_cache(maxsize=4)
def _unit_patterns(units: tuple[str, ...]) -> tuple[tuple[str | None, re.Pattern[str]], ...]:
    """Each unit word as the harness uses it: inside a regular expression, unescaped, between a non-word
    character (or an end) on each side; with the literal to look for first when the word has no regex syntax."""
    return tuple((None if _REGEX_CHARS & set(u) else u, re.compile(r"(^|\W)" + u + r"($|\W)")) for u in units)


def _drop_units(text: str, units: tuple[str, ...]) -> str:
    """Two passes over the unit words; a removal that would leave nothing is not made."""
    for _ in range(2):
        for literal, pattern in _unit_patterns(units):
            if literal is not None and literal not in text:
                continue  # the pattern needs the literal: nothing to remove
            removed = pattern.sub(r"\1\2", text)
            if removed != "":
                text = removed
    return text


def _word_number(text: str) -> str:
    """Number words to digits with word2number, as the harness does: any string holding a number word becomes
    that number ("one apple" -> "1"); a string without one stays."""
    from word2number import w2n

    try:
        return str(w2n.word_to_num(text))
    except Exception:  # word2number raises ValueError (and, on odd input, others): the harness keeps the text
        return text


def _braces_fixed(text: str) -> str:
    r"""``\frac12`` -> ``\frac{1}{2}``, ``\frac1{72}`` -> ``\frac{1}{72}``; unchanged when a ``\frac`` is
    followed by fewer than two characters."""
    parts = text.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part[:1] == "{":
            out += part
        elif len(part) < 2:
            return text
        elif part[1] != "{":
            out += "{" + part[0] + "}{" + part[1] + "}" + part[2:]
        else:
            out += "{" + part[0] + "}" + part[1:]
    return out


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _slash_fraction(text: str) -> str:
    r"""``a/b`` of two integers (or of two sqrt terms) -> ``\frac{a}{b}``, only when ``a/b`` prints back as
    the same text (``03/4`` and ``+3/4`` stay)."""
    parts = text.split("/")
    if len(parts) != 2:
        return text
    a, b = (p if "sqrt" in p else _as_int(p) for p in parts)
    if a is None or b is None or f"{a}/{b}" != text:
        return text
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


@dataclass(frozen=True)
class MathHarness:
    """The harness's answer rules with the official unit words (:func:`unit_words`)."""

    units: tuple[str, ...]

    def normalize(self, answer: Any, keep_units: bool = False) -> str:
        r"""The harness's ``strip_string``: one answer rewritten for comparison (see the module docstring)."""
        text = self._latex_forms(str(answer).strip().replace("\n", "").rstrip(".").replace("\\!", ""))
        without_text = re.sub(r"\\text{.*?}$", "", text).strip()  # a trailing \text{...}: a unit
        if without_text != "" and without_text != text:
            text = without_text
        if not keep_units:
            text = _drop_units(text, self.units)
        for old in ("^{\\circ}", "^\\circ", "\\$", "$", "\\(", "\\)"):
            text = text.replace(old, "")
        text = re.sub(r"\\text\{(.*?)\}", r"\1", _word_number(text))
        return self._final_forms(text)

    @staticmethod
    def _latex_forms(text: str) -> str:
        text = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", text)
        text = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", text)
        pairs = [("bmatrix", "pmatrix"), ("tfrac", "frac"), ("dfrac", "frac"), ("\\neq", "\\ne")]
        pairs += [("\\leq", "\\le"), ("\\geq", "\\ge"), ("\\left", ""), ("\\right", ""), ("\\{", "{"), ("\\}", "}")]
        for old, new in pairs:
            text = text.replace(old, new)
        return text

    @staticmethod
    def _final_forms(text: str) -> str:
        for key in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
            text = text.replace(key, "")
        text = text.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
        text = text.replace("\\%", "").replace("%", "").replace(" .", " 0.").replace("{.", "{0.")
        # (the harness also unwraps "{x}" / "(x)" / "[x]" when the whole string is alphanumeric, which a
        # string starting with a bracket never is: that rule never applies)
        text = text.replace("infinity", "\\infty")
        if "\\infty" not in text:
            text = text.replace("inf", "\\infty")
        text = text.replace("+\\inity", "\\infty").replace("and", "").replace("\\mathbf", "")
        text = re.sub(r"\\mbox{.*?}", "", text)
        if "j" in text and "i" not in text:
            text = text.replace("j", "i")
        text = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", text)
        text = re.sub(r"(\d+)\.0*$", r"\1", text)
        if not text:
            return text
        if text[0] == ".":
            text = "0" + text
        sides = text.split("=")
        if len(sides) == 2 and len(sides[0]) <= 2:
            text = sides[1]
        text = re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", text).replace(" ", "")
        return _slash_fraction(_braces_fixed(text))

    def extract(self, text: str, dataset: str) -> str:
        """The harness's ``extract_answer``: the answer in a model output (or a reference solution), normalised."""
        text = text.replace("\u043a\u0438", "")
        if "final answer is $" in text and "$. I hope" in text:  # Minerva's answer sentence
            pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
        elif "boxed" in text:  # the LAST "boxed", with or without a brace ("\boxed 5$")
            tail = text.split("boxed")[-1]
            if not tail:
                return ""
            pred = _braced(tail) if tail[0] == "{" else tail.split("$")[0].strip()
        elif "he answer is" in text:
            pred = text.split("he answer is")[-1].strip()
        elif "final answer is" in text:
            pred = text.split("final answer is")[-1].strip()
        elif "答案是" in text:
            pred = text.split("答案是")[1].strip().split("\n\n")[0].strip()
        else:  # the last number, commas removed
            numbers = re.findall(r"-?\d*\.?\d+", text.replace(",", ""))
            pred = numbers[-1] if numbers else ""
        pred = re.sub(r"\n\s*", "", pred)
        pred = pred[1:] if pred[:1] == ":" else pred
        pred = pred[:-1] if pred[-1:] == "." else pred
        pred = pred[:-1] if pred[-1:] == "/" else pred
        return self.normalize(pred, keep_units=dataset in KEEP_UNITS)

    def reference(self, row: Mapping[str, Any], dataset: str) -> tuple[str, str]:
        """(the reference ``math_eval.py`` prompts and picks choices with, the one ``evaluate.py`` grades with):
        ``parse_ground_truth`` on the row, then again on its own output, as the two scripts do.

        Raises KeyError / ValueError / TypeError for a row without the dataset's reference fields.
        """
        solution: Any = None
        if dataset in ("math", "minerva_math"):
            solution = row["solution"]
            answer: Any = self.extract(solution, dataset)
        elif dataset == "gsm8k":
            solution, answer = str(row["answer"]).split("####")  # exactly one "####", or the harness fails
        elif dataset == "olympiadbench":
            answer = row["final_answer"][0].strip("$")  # the first answer only
        elif dataset in ("aime24", "amc23", "theoremqa"):
            answer = row["answer"]
        else:
            raise ValueError(f"the harness has no reference rule for dataset {dataset!r}")
        if dataset in KEEP_UNITS:
            first = str(answer).replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
        else:
            first = self.normalize(answer)
        if dataset == "math":  # evaluate.py extracts MATH's answer from the (stripped) solution again
            return first, self.extract(str(solution).strip(), dataset)
        return first, first if dataset in KEEP_UNITS else self.normalize(first)

    def question(self, row: Mapping[str, Any], first_reference: str) -> str:
        """The harness's ``parse_question``: the row's question, with " (True or False)" or " (Yes or No)"
        appended when the reference is one of those words."""
        question = str(next((row[k] for k in QUESTION_KEYS if k in row), ""))
        if first_reference.lower() in ("true", "false"):
            question += " (True or False)"
        if first_reference.lower() in ("yes", "no"):
            question += " (Yes or No)"
        return question.strip()

    def prediction(self, output: str, dataset: str, first_reference: str) -> str | None:
        """The answer the harness grades for one output: ``run_execute`` (extract, normalise again), then
        ``math_eval.py``'s multiple-choice fixes against the first reference. None: an empty output (or the
        output "error", which the harness reserves for a failed call)."""
        answered = output and output != "error"
        pred = self.normalize(self.extract(output, dataset), dataset in KEEP_UNITS) if answered else None
        if first_reference in CHOICES and pred not in CHOICES:
            return choice_answer(output)
        if pred is not None and _letters_only(first_reference) and not _letters_only(pred):
            # a reference of letters (or an EMPTY reference) keeps only the letters A-E of the prediction
            return "".join(c for c in pred if c in CHOICES)
        return pred


def _braced(tail: str) -> str:
    """The text inside the brace that opens ``tail``, up to its match (to the end when it never closes)."""
    depth, out = 1, []
    for c in tail[1:]:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth == 0:
            break
        out.append(c)
    return "".join(out)


def _letters_only(text: str) -> bool:
    return all(c in CHOICES for c in text)


def choice_answer(text: str) -> str:
    """The harness's ``choice_answer_clean``: a letter A-E after "answer is" / "choice is" (the first one
    after the last trigger), else the last standalone letter, else the cleaned text."""
    text = text.strip("\n")
    if any(text.count(t) > 1 for t in _CHOICE_TRIGGERS):  # a few-shot echo: keep the first paragraph
        text = text.split("\n\n")[0]
    parts = re.split("|".join(_CHOICE_TRIGGERS), text)
    triggered = len(parts) > 1
    text = (parts[-1] if triggered else text).strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = re.findall(r"\b(A|B|C|D|E)\b", text.upper()) or [text.strip().strip(".")]
    return (letters[0] if triggered else letters[-1]).rstrip(".").rstrip("/")


def harness_output(prompt: str, output: str, stop: tuple[str, ...]) -> str:
    """The text the harness reads an answer from: the output without trailing space, taken after the last copy
    of the prompt in prompt + output, stripped, and cut before each stop word in turn."""
    text = (prompt + output.rstrip()).split(prompt)[-1].strip()
    for word in stop:
        if word in text:
            text = text.split(word)[0].strip()
    return text


def wants_tool_call(output: str) -> bool:
    """Whether the harness would run this output's last code block and continue the generation (any prompt
    type but ``cot`` / ``pal``): no "boxed" in it, and it ends with three backticks."""
    output = output.rstrip()
    return "boxed" not in output and output.endswith("```")
