"""Faults and hostile input, by category: each case must end in one clear line (or one `corrupt`
row), the right exit status, nothing half-written, and a run that can still be resumed.

The categories match the README's table of bad inputs and faults (`pytest tests/test_faults.py -v`
reruns every case).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from core.evaluation.journal import ProblemResult, settings_hash
from core.evaluation.summary import summarize, write_summary
from core.jsonl import JsonlWriter, encode_line
from core.runstore import RunStore
from tests.conftest import CONFIG, rdtui


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


# ---- config files, --set and --overrides: bounded, typed, one line with FILE:LINE, exit 2 ----------

def _billion_laughs(depth: int = 8) -> str:
    lines = ["defaults:", "  a0: &a0 {x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8, r: 9}"]
    for i in range(1, depth + 1):
        lines.append(f"  a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}")
    return "\n".join(lines) + "\n"


HOSTILE_FILES = {
    "alias bomb (9^9 mappings)": (_billion_laughs(), "aliases are expanded"),
    "list alias bomb": ("a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                        "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", "aliases are expanded"),
    "tag on a scalar": ("study:\n  name: !!python/object:os.system \"touch /tmp/pwned\"\n", ":2: YAML tags are not allowed"),
    "python name tag": ("study:\n  seed: !!python/name:os.system\n", ":2: YAML tags are not allowed"),
    "local tag": ("defaults:\n  grpo:\n    y: !foo bar\n", ":3: YAML tags are not allowed"),
    "tag on a sequence": ("defaults:\n  x: !!python/object/apply:os.system [\"touch /tmp/pwned\"]\n", ":2: YAML tags"),
    "tag on a mapping": ("defaults:\n  x: !!python/object:os.Foo {a: 1}\n", ":2: YAML tags are not allowed"),
    "binary tag": ("defaults:\n  x: !!binary aGVsbG8=\n", ":2: YAML tags are not allowed"),
    "oversized (5 MB)": ("# padding\n" * 500_000, "larger than"),
}


@pytest.mark.parametrize("text, needle", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_hostile_yaml_is_refused_cheaply_with_file_and_line(tmp_path, text, needle):
    from core.config.source import load_yaml_file
    from core.errors import ConfigError

    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_yaml_file(path)
    assert len(caught.value.issues) == 1 and needle in str(caught.value)
    assert not (tmp_path / "pwned").exists()


def test_overrides_from_a_device_or_a_fifo_are_refused_without_reading(tmp_path, capsys):
    from core.cli import main

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)          # reading it would block for ever
    for source in ("/dev/zero", str(fifo)):
        assert main(["config", "show", "baseline", "--overrides", source]) == 2
        assert f"{source}: not a regular file" in capsys.readouterr().err


BAD_VALUES = {
    "num_generations 0": (["--set", "grpo.num_generations=0"], "grpo.num_generations: input should be greater than or equal to 2"),
    "seed 2^32": (["--set", "study.seed=4294967296"], "study.seed: input should be less than or equal to 4294967295"),
    "seed 1e20": (["--set", "study.seed=99999999999999999999"], "study.seed"),
    "seed -1": (["--set", "study.seed=-1"], "study.seed"),
    "inf learning rate": (["--set", "sft.learning_rate=.inf"], "sft.learning_rate"),
    "nan learning rate": (["--set", "grpo.learning_rate=.nan"], "grpo.learning_rate"),
    "condition.name": (["--set", "condition.name=../../x"], "--set: condition.name: cannot be overridden"),
    "profile.name": (["--set", "profile.name=zzz"], "--set: profile.name: cannot be overridden"),
    "unknown section via --set": (["--set", "nosuch.key=1"], "--set: nosuch"),
}


@pytest.mark.parametrize("options, needle", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_invalid_values_are_validation_errors(options, needle, capsys):
    from core.cli import main

    assert main(["config", "show", "grpo_only", *options]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_overrides_file_cannot_rename_the_condition(tmp_path, capsys):
    from core.cli import main

    path = tmp_path / "o.yaml"
    path.write_text("sft:\n  max_steps: 3\ncondition:\n  name: evil\n")
    assert main(["config", "show", "baseline", "--overrides", str(path)]) == 2
    assert f"{path}:3: condition: cannot be overridden" in capsys.readouterr().err


def test_a_condition_name_that_cannot_be_a_folder_is_reported_by_config_check(tmp_path):
    text = CONFIG.read_text().replace("\nconditions:\n", "\nconditions:\n  ../../evil: {stages: [eval]}\n", 1)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    proc = rdtui("config", "check", str(path))
    assert proc.returncode == 2 and "invalid condition name '../../evil'" in proc.stderr
