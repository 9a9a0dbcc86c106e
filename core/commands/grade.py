"""`rdtui grade [FILE|-]`: re-grade saved completions, one JSON object per line in and out.

Input lines hold ``completion``, ``answer`` and optionally ``benchmark`` (gsm8k or math, default
gsm8k) and ``id``; each output line, in input order, holds ``correct``, ``extracted`` and ``rule``
(and the ``id`` when given). Lines are graded as they arrive, so a pipe sees results at once.
"""

from __future__ import annotations

import json
import sys
from typing import IO

from core.cli import UsageError
from core.grading import BENCHMARKS, grade


def _verdict_line(line: str, where: str, allow_last_number: bool) -> str:
    try:
        row = json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(row, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for key in ("completion", "answer"):
        if key not in row:
            raise UsageError(f"{where}: missing key '{key}'")
    if not isinstance(row["completion"], str):
        raise UsageError(f"{where}: 'completion' must be a string")
    benchmark = row.get("benchmark") or "gsm8k"
    if benchmark not in BENCHMARKS:
        raise UsageError(f"{where}: benchmark: {benchmark!r} is not one of {', '.join(BENCHMARKS)}")
    verdict = grade(row["completion"], row["answer"], benchmark, allow_last_number)
    out = {"correct": verdict.correct, "extracted": verdict.extracted, "rule": verdict.rule}
    if "id" in row:
        out = {"id": row["id"], **out}
    return json.dumps(out, ensure_ascii=False)


def _grade_stream(stream: IO[str], name: str, allow_last_number: bool) -> None:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        sys.stdout.write(_verdict_line(line, f"{name}:{number}", allow_last_number) + "\n")
        sys.stdout.flush()


def main(args) -> int:
    if args.input in (None, "-"):
        _grade_stream(sys.stdin, "<stdin>", args.allow_last_number)
        return 0
    try:
        stream = open(args.input, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.input}: cannot read: {exc.strerror}") from None
    with stream:
        try:
            _grade_stream(stream, args.input, args.allow_last_number)
        except UnicodeDecodeError:
            raise UsageError(f"{args.input}: not UTF-8 text") from None
    return 0
