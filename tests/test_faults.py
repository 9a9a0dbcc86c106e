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


# ---- command-line bad input: one line, exit status 2; failures of the work: 1 --------------------

def _one_line(proc, status: int) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def test_unknown_or_ambiguous_run_ids_are_bad_input(runs_dir):
    store = RunStore(runs_dir)
    store.create("baseline", "local", "local", "")
    store.create("baseline", "local", "local", "")
    for command in (("logs", "nope"), ("cancel", "nope"), ("resume", "nope"), ("results", "--run", "nope"),
                    ("logs", "baseline-"), ("cancel", "baseline-"), ("ls", "--status", "bogus"), ("logs", "../x")):
        line = _one_line(rdtui("--runs-dir", str(runs_dir), *command), 2)
        assert any(word in line for word in ("not found", "ambiguous", "unknown status", "invalid run id")), line


@pytest.mark.parametrize("options, needle", [
    (("./no/such/model",), "no such folder"),
    (("/no/such/model",), "no such folder"),
    (("builtin:tiny-qwen3", "--limit", "-1"), "--limit"),
    (("builtin:tiny-qwen3", "--limit", "0"), "--limit"),
    (("builtin:tiny-qwen3", "--start-from", "-1"), "--start-from"),
    (("builtin:tiny-qwen3", "--samples", "0"), "--samples"),
    (("builtin:tiny-qwen3", "--k", "0"), "--k"),
])
def test_bad_eval_options_fail_at_once(runs_dir, options, needle):
    line = _one_line(rdtui("--runs-dir", str(runs_dir), "eval", *options, timeout=60), 2)
    assert needle in line
    assert not any(runs_dir.iterdir())


def test_a_store_that_is_a_file_is_one_line(tmp_path):
    store = tmp_path / "runs"
    store.write_text("not a folder")
    for command in (("ls",), ("results",), ("logs", "x"), ("cancel", "x"), ("resume", "x"),
                    ("eval", "builtin:tiny-qwen3")):
        assert "is not a folder" in _one_line(rdtui("--runs-dir", str(store), *command), 2), command
    assert store.read_text() == "not a folder"


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KB tmpfs: a real full disk and a real read-only file system (needs mount rights)."""
    import subprocess

    mount = tmp_path / "fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_read_only_or_full_store_is_one_line(small_fs):
    import subprocess

    run = RunStore(small_fs).create("baseline", "local", "local", "x: 1\n")
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    assert run.id in rdtui("--runs-dir", str(small_fs), "ls").stdout          # reading still works
    for command in (("cancel", run.id), ("resume", "--detach", run.id), ("eval", "builtin:tiny-qwen3")):
        assert "Read-only file system" in _one_line(rdtui("--runs-dir", str(small_fs), *command), 1), command
    subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    with open(small_fs / "fill", "wb") as fh:
        try:
            fh.write(b"\0" * 200_000)
        except OSError:
            pass
    for command in (("cancel", run.id), ("eval", "builtin:tiny-qwen3")):
        assert "No space left on device" in _one_line(rdtui("--runs-dir", str(small_fs), *command), 1), command
    assert sorted(p.name for p in small_fs.iterdir()) == sorted([run.id, "fill"])          # nothing half-made
    assert not [p for p in run.dir.iterdir() if p.name.endswith(".tmp")]
