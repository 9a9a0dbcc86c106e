"""`rdtui grade` as a user runs it: a real subprocess, JSONL in and out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RDTUI = Path(sys.executable).parent / "rdtui"


def _grade(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RDTUI), "grade", *args], cwd=REPO, input=input, capture_output=True, text=True, timeout=120
    )


ROWS = [
    {"completion": "<think>16-3-4=9</think> She makes \\boxed{\\$18}.", "answer": "9 * 2 = 18\n#### 18"},
    {"completion": "<think>maybe \\boxed{18}", "answer": "#### 18"},
    {"completion": "</think> The answer is $\\dfrac{3}{4}$.", "answer": "0.75", "benchmark": "math", "id": "q3"},
    {"completion": "</think> so it is 42", "answer": "42"},
]


def test_grades_stdin_in_order():
    result = _grade("-", input="".join(json.dumps(r) + "\n" for r in ROWS))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out == [
        {"correct": True, "extracted": "\\$18", "rule": "boxed"},
        {"correct": False, "extracted": None, "rule": "truncated"},
        {"id": "q3", "correct": True, "extracted": "\\dfrac{3}{4}", "rule": "answer_is"},
        {"correct": False, "extracted": None, "rule": None},
    ]


def test_grades_a_file_with_last_number_allowed(tmp_path):
    path = tmp_path / "saved.jsonl"
    path.write_text(json.dumps(ROWS[3]) + "\n\n")
    result = _grade(str(path), "--allow-last-number")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"correct": True, "extracted": "42", "rule": "last_number"}


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + '{"completion": "x", \n')
    result = _grade(str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"rdtui: {path}:2: not valid JSON: Expecting property name enclosed in double quotes (column 21)"
    ]


def test_missing_key_and_bad_benchmark_are_one_line_errors():
    result = _grade("-", input='{"completion": "x"}\n')
    assert result.returncode == 2 and result.stderr.strip() == "rdtui: <stdin>:1: missing key 'answer'"
    result = _grade("-", input='{"completion": "x", "answer": "1", "benchmark": "aime"}\n')
    assert result.returncode == 2 and "<stdin>:1: benchmark: 'aime'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    result = _grade(str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2 and "nope.jsonl: cannot read" in result.stderr


def test_bare_answers_by_flag_or_extracted_field():
    rows = [
        {"completion": "18 dollars", "answer": "#### 18"},
        {"completion": "$\\frac{1}{2}$", "answer": "0.5", "benchmark": "math"},
    ]
    result = _grade("-", "--answer-only", input="".join(json.dumps(r) + "\n" for r in rows))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["correct"] for line in result.stdout.splitlines()] == [True, True]
    # without the flag, a bare answer per line: the `extracted` field
    result = _grade("-", input=json.dumps({"extracted": "18", "answer": "#### 18", "id": 7}) + "\n")
    assert json.loads(result.stdout) == {"id": 7, "correct": True, "extracted": "18", "rule": "answer_only"}


def test_a_prefilled_think_block_makes_a_cut_trace_unanswered():
    cut = {"completion": "The field is 10 by 20, so, the answer is 200 feet", "answer": "200"}
    finished = {"completion": "10 * 20 = 200\n</think>\n\nSo the answer is 200 feet.", "answer": "200"}
    lines = "".join(json.dumps(r) + "\n" for r in (cut, finished))
    result = _grade("-", "--think-prefilled", input=lines)
    assert [json.loads(line)["correct"] for line in result.stdout.splitlines()] == [False, True]
    assert json.loads(result.stdout.splitlines()[0])["rule"] == "truncated"
    # a line's own field wins over the flag
    result = _grade("-", input=json.dumps({**cut, "think_prefilled": True}) + "\n")
    assert json.loads(result.stdout)["correct"] is False
    result = _grade("-", input=json.dumps({**cut, "think_prefilled": "yes"}) + "\n")
    assert result.returncode == 2 and "'think_prefilled' must be true or false" in result.stderr


def test_grading_options_and_the_math_verify_grader():
    two_boxes = {"completion": "</think> First \\boxed{17}, no: \\boxed{18}", "answer": "18"}
    third = {"completion": "</think> \\boxed{0.333}", "answer": "\\frac{1}{3}", "benchmark": "math"}
    lines = json.dumps(two_boxes) + "\n" + json.dumps(third) + "\n"
    plain = [json.loads(line)["correct"] for line in _grade("-", input=lines).stdout.splitlines()]
    lenient = _grade("-", "--multiple-boxes", "all_agree", "--decimal-tolerance", input=lines)
    assert plain == [True, False]
    assert [json.loads(line)["correct"] for line in lenient.stdout.splitlines()] == [False, True]
    result = _grade("-", "--grader", "math-verify", input=json.dumps(ROWS[2]) + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) | {"extracted": None} == {
        "id": "q3",
        "correct": True,
        "extracted": None,
        "rule": "math_verify",
    }


def test_answers_that_crashed_the_grader_are_graded_not_equal():
    rows = [
        {"completion": "<think>\nx\n</think>\n\n\\boxed{(.)}", "answer": "8"},
        {"completion": "8 - 6 = 3\n</think>\n\nThe answer is \\boxed{. = }.", "answer": "5"},
        {"completion": "\\boxed{1 + 2 + ... + 10}", "answer": "55", "benchmark": "math"},
    ]
    result = _grade("-", input="".join(json.dumps(r) + "\n" for r in rows))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert [json.loads(line)["correct"] for line in result.stdout.splitlines()] == [False, False, False]
