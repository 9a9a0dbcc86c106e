"""`rdtui grade` as a user runs it: a real subprocess, JSONL in and out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RDTUI = Path(sys.executable).parent / "rdtui"


def _grade(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RDTUI), "grade", *args], cwd=REPO, input=input, capture_output=True, text=True,
                          timeout=120)


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
    assert result.stderr.strip().splitlines() == [f"rdtui: {path}:2: not valid JSON: Expecting property name "
                                                  "enclosed in double quotes (column 21)"]


def test_missing_key_and_bad_benchmark_are_one_line_errors():
    result = _grade("-", input='{"completion": "x"}\n')
    assert result.returncode == 2 and result.stderr.strip() == "rdtui: <stdin>:1: missing key 'answer'"
    result = _grade("-", input='{"completion": "x", "answer": "1", "benchmark": "aime"}\n')
    assert result.returncode == 2 and "<stdin>:1: benchmark: 'aime'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    result = _grade(str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2 and "nope.jsonl: cannot read" in result.stderr
