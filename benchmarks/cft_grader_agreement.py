r"""How often protocol cft_paper's grader (math-verify) and the CFT release's (grader.py's ``math_equal``) agree.

    python benchmarks/cft_grader_agreement.py                      # the seven sets (about 10 minutes on 2 cores)
    python benchmarks/cft_grader_agreement.py --sets math gsm8k    # some of them

Both graders see what the harness hands to its grader: answers normalised by its rules (protocol cft_paper's own
code, equal to the official functions on every record: tests/unit/test_solve_cft_fidelity.py). Two workloads:

- references: for every record, its reference against itself, against the next record's, and (MATH-500) against
  its answer column normalised;
- outputs: for every record, the answer read from six real-looking outputs (its reference solution, its answer
  boxed in a sentence, "the answer is ...", Minerva's sentence, a truncated box, a box with a unit) against its
  reference.

``math_equal`` runs from ../shared/data/reference/cft/grader.py (tests/helpers/official_cft.py), three seconds at
most per pair as evaluate.py allows (a time-out counts as not equal). Prints one JSON line per set and workload with
the four counts (both equal, both not, only math_equal, only math-verify), the totals, and the first disagreements.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import signal
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deepcritic.config import HARNESS_DATASETS, ProblemsConfig  # noqa: E402
from deepcritic.data.problems import load_problems  # noqa: E402
from deepcritic.eval.math_harness import harness_output  # noqa: E402
from deepcritic.eval.solver_protocols import CFT_STOP, get_solver_protocol, harness_match  # noqa: E402
from tests.helpers.official_cft import CFT, SET_FILES, math_equal  # noqa: E402


class _TimeOut(Exception):
    pass


def _raise_timeout(*_):
    raise _TimeOut


def official(pred: str, reference: str) -> bool:
    """math_equal with evaluate.py's three-second limit; an error or a time-out is False."""
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(3)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return bool(math_equal(pred, reference))
    except Exception:  # _TimeOut, or sympy failing inside math_equal
        return False
    finally:
        signal.alarm(0)


def outputs(problem) -> list[str]:
    answer = problem.answer
    solution = problem.row.get("solution") or problem.row.get("answer") or ""
    return [
        "\n".join(solution) if isinstance(solution, list) else str(solution),
        f"Let me think.\n\nSo the final answer is $\\boxed{{{answer}}}$.",
        f"Thus the answer is {answer}.",
        f"Final Answer: The final answer is ${answer}$. I hope it is correct.",
        f"We get \\boxed{{{answer[: max(1, len(answer) // 2)]}",
        f"\\boxed{{{answer}\\text{{ cm}}}}",
    ]


def pairs(dataset: str, workload: str) -> list[tuple[str, str]]:
    """(prediction, reference) pairs of one workload, as the harness hands them to its grader."""
    protocol = get_solver_protocol("cft_paper", official_dir=str(CFT))
    source = next(s for s, d in HARNESS_DATASETS.items() if d == dataset)
    problems = load_problems(ProblemsConfig(source=source, path=str(SET_FILES[dataset])))
    items = [protocol.item(p, 5) for p in problems]
    refs = [it.reference for it in items]
    if workload == "references":
        out = [(r, r) for r in refs] + [(refs[(i + 1) % len(refs)], r) for i, r in enumerate(refs)]
        if dataset == "math":
            out += [(protocol.harness.normalize(p.answer), r) for p, r in zip(problems, refs)]
        return out
    out = []
    for problem, item in zip(problems, items):
        for text in outputs(problem):
            pred = protocol.harness.prediction(
                harness_output(item.prompt, text, CFT_STOP), dataset, item.first_reference
            )
            if pred is not None:
                out.append((pred, item.reference))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SET_FILES), choices=list(SET_FILES))
    parser.add_argument("--workloads", nargs="+", default=["references", "outputs"], choices=["references", "outputs"])
    args = parser.parse_args()
    totals: dict[str, Counter] = {w: Counter() for w in args.workloads}
    for workload in args.workloads:
        for dataset in args.sets:
            counts, examples = Counter(), []
            for pred, reference in pairs(dataset, workload):
                a, b = official(pred, reference), harness_match(pred, reference)
                counts[
                    {(True, True): "both", (False, False): "neither", (True, False): "math_equal_only"}.get(
                        (a, b), "math_verify_only"
                    )
                ] += 1
                if a != b and len(examples) < 5:
                    examples.append({"pred": pred[:60], "reference": reference[:60], "math_equal": a})
            totals[workload].update(counts)
            print(
                json.dumps({"set": dataset, "workload": workload, **counts, "examples": examples}, ensure_ascii=False)
            )
    for workload, counts in totals.items():
        n = sum(counts.values())
        agree = counts["both"] + counts["neither"]
        print(
            json.dumps(
                {"workload": workload, "pairs": n, "agree": agree, "agree_rate": agree / n if n else None, **counts}
            )
        )


if __name__ == "__main__":
    main()
