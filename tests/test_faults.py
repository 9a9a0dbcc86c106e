"""Faults and hostile input, by category: each case must end in one clear line (or one `corrupt`
row), the right exit status, nothing half-written, and a run that can still be resumed.

The categories match the README's table of bad inputs and faults (`pytest tests/test_faults.py -v`
reruns every case).
"""

from __future__ import annotations

import json
import time

import pytest

from core.evaluation.journal import ProblemResult, settings_hash
from core.evaluation.summary import summarize, write_summary
from core.jsonl import JsonlWriter, encode_line
from core.runstore import RunStore
from tests.conftest import rdtui


def _problem(i: int, correct: bool = True) -> ProblemResult:
    return ProblemResult(id=str(i), prompt_hash="h", gold="1", completions=["x"], extracted=["1"], correct=[correct],
                         rules=["boxed"], tokens=[30], finish_reasons=["stop"])


def _finished_with_summary(store: RunStore, condition: str):
    run = store.create(condition, "local", "local", "")
    results = [_problem(i, i < 3) for i in range(4)]
    write_summary(run.eval_dir / "synth_test.json",
                  summarize(results, benchmark="synth_test", ks=[1], benchmark_size=4, settings={}))
    JsonlWriter(run.eval_dir / "synth_test.jsonl").append_many(
        [{"type": "header", "settings_hash": settings_hash({}), "settings": {}}] + [r.to_dict() for r in results])
    run.update(status="running")
    run.update(status="succeeded", finished_at=time.time())
    return run


# ---- corrupt store files: one bad run is one bad row, never a dead store -------------------------

RUN_JSON = {
    "truncated": b'{"id": "x", "condit',
    "binary": b"\x00\xff\xfe garbage",
    "empty object": b"{}",
    "list": b"[]",
    "null": b"null",
    "deep nesting": b"[" * 100_000,
    "created_at text": {"created_at": "yesterday"},
    "pid text": {"status": "running", "pid": "abc"},
    "extra list": {"extra": [1, 2]},
    "progress text": {"progress": "x"},
    "progress.step text": {"status": "running", "progress": {"step": "a", "total": 3}},
    "unknown status": {"status": "exploded"},
}
SUMMARY = {
    "pass@k list": {"pass@k": []},
    "accuracy text": {"accuracy": "0.5"},
    "ci95 short": {"ci95": [0.1]},
    "pass@k key text": {"pass@k": {"x": {"value": 1.0}}},
    "not an object": [1, 2],
    "garbage": b"\x00garbage",
}
JOURNAL_LINES = {
    "missing keys": {"id": "9"},
    "lists of different lengths": {**_problem(9).to_dict(), "correct": [True, False]},
    "tokens text": {**_problem(9).to_dict(), "tokens": ["many"]},
    "not an object line": [1, 2, 3],
}
COMMANDS = [("ls",), ("ls", "--json"), ("results",), ("results", "--format", "json")]


def _damage(path, damage, base: dict | None = None) -> None:
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    elif isinstance(damage, dict) and base is not None:
        path.write_text(json.dumps({**base, **damage}))
    else:
        path.write_text(json.dumps(damage))


def _assert_store_still_shows(runs_dir, good_ids, bad_ids=()) -> None:
    """Every listing command exits 0 without a traceback and shows the good runs; bad runs are
    `corrupt` rows in `rdtui ls`, each with its reason on stderr."""
    for command in COMMANDS:
        proc = rdtui("--runs-dir", str(runs_dir), *command)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (command, proc.stderr)
        assert all(good in proc.stdout for good in good_ids), command
    proc = rdtui("--runs-dir", str(runs_dir), "ls")
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    for bad in bad_ids:
        assert "corrupt" in rows[bad] and f"{bad}: corrupt:" in proc.stderr, bad


def test_corrupt_run_json_is_one_corrupt_row_each(runs_dir, capsys):
    from core.cli import main

    store = RunStore(runs_dir)
    good = _finished_with_summary(store, "baseline")
    bad = {}
    for name, damage in RUN_JSON.items():
        run = _finished_with_summary(store, "grpo_only")
        _damage(run.dir / "run.json", damage, json.loads((run.dir / "run.json").read_text()))
        bad[name] = run.id
    _assert_store_still_shows(runs_dir, [good.id], bad.values())
    proc = rdtui("--runs-dir", str(runs_dir), "ls", "--status", "corrupt", "--json")
    assert sorted(r["id"] for r in json.loads(proc.stdout)) == sorted(bad.values())
    for name, run_id in bad.items():           # the log of a corrupt run still prints
        assert main(["--runs-dir", str(runs_dir), "logs", run_id]) == 0, name
        assert main(["--runs-dir", str(runs_dir), "logs", "-f", run_id]) == 0, name


def test_corrupt_eval_summaries_are_skipped(runs_dir):
    store = RunStore(runs_dir)
    good = _finished_with_summary(store, "baseline")
    for name, damage in SUMMARY.items():
        run = _finished_with_summary(store, "grpo_only")
        summary = run.eval_dir / "synth_test.json"
        _damage(summary, damage, json.loads(summary.read_text()))
    _assert_store_still_shows(runs_dir, [good.id])
    rows = json.loads(rdtui("--runs-dir", str(runs_dir), "results", "--format", "json").stdout)
    assert {r["condition"]: r["run_id"] for r in rows}.get("grpo_only") is None   # nothing shown from them


@pytest.mark.parametrize("line", JOURNAL_LINES.values(), ids=JOURNAL_LINES.keys())
def test_corrupt_journal_line_is_skipped_by_readers(runs_dir, line):
    from core.evaluation.journal import Journal, read_journal

    store = RunStore(runs_dir)
    run = _finished_with_summary(store, "baseline")
    journal = run.eval_dir / "synth_test.jsonl"
    with open(journal, "ab") as fh:
        fh.write(encode_line(line) if isinstance(line, dict) else (json.dumps(line) + "\n").encode())
    header, results = read_journal(journal)
    assert header is not None and [r.id for r in results] == ["0", "1", "2", "3"]
    with Journal(journal, {}) as opened:      # a resumed evaluation: the bad line's problem is done again
        assert sorted(opened.done) == ["0", "1", "2", "3"]
