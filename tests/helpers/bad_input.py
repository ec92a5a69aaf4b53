"""The expected messages for the bad-input corpus (tests/data/bad), shared by the loader unit tests
(tests/unit/test_data_loaders.py) and the CLI tests (tests/integration/test_cli_bad_input.py), which check
the same message in-process and through the console script."""

from __future__ import annotations

# Record-level defects under on_error=raise: (source, file, where, field, what was expected). The message
# names the file, the line/record, the field and the expectation.
RAISE = [
    # a JSON line cut off mid-object
    (
        "contract",
        "truncated_line.jsonl",
        "line 2",
        None,
        "one JSON object per line (Expecting ',' delimiter at column 71)",
    ),
    # label given as a string
    ("contract", "wrong_type.jsonl", "line 2", "label", "an integer label, got '1'"),
    # a Latin-1 byte inside a JSON line
    ("contract", "non_utf8.jsonl", "line 2", None, "UTF-8 text (invalid continuation byte at byte 48 of the line)"),
    # label 2 with 2 steps; the blank line 2 still counts for line numbers
    (
        "contract",
        "label_out_of_range.jsonl",
        "line 3",
        "label",
        "an integer in [-1, 1] (-1 = no wrong step; 0-based), got 2",
    ),
    # steps: []
    ("contract", "empty_steps.jsonl", "line 1", "steps", "a non-empty list of strings, got []"),
    # a whitespace-only step
    ("contract", "empty_step.jsonl", "line 2", "steps[1]", "a non-empty step text, got '   '"),
    # the id of line 1 again
    (
        "contract",
        "duplicate_id.jsonl",
        "line 3",
        "id",
        "an id unique within the source (already used at line 1), got 'a'",
    ),
    # no problem field
    ("contract", "missing_field.jsonl", "line 2", "problem", "a non-empty string (field is missing)"),
    # a JSON array: the record index (0-based) and the line it starts on
    ("processbench", "processbench_bad_record.json", "record 1 (line 13)", "label", "an integer in [-1, 1]"),
    # PRM800K (phase 1: data=prm800k_phase1): chosen_completion points past the completions
    (
        "prm800k_phase1",
        "prm800k_bad_chosen.jsonl",
        "line 1",
        "label.steps[0].chosen_completion",
        "null or an index into completions (0..0), got 3",
    ),
]

# File-level defects, an error under on_error=raise and skip alike: (source, file, where, what was expected).
ALWAYS = [
    # zero bytes
    ("contract", "empty.jsonl", "", "at least one record (the file is empty)"),
    # an empty JSON array
    ("processbench", "processbench_empty_array.json", "", "at least one record (the file is empty)"),
    # a JSON array cut off: nothing after the break can be trusted
    (
        "processbench",
        "processbench_truncated.json",
        "record 1, line 20",
        "valid JSON (Expecting ',' delimiter at column 3)",
    ),
    # no such file
    ("contract", "no_such_file.jsonl", "", "an existing file (no such file)"),
]
