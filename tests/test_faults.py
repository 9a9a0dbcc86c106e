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
from core.store.jsonl import JsonlWriter, encode_line
from core.store.runstore import RunStore
from tests.conftest import CONFIG, rdtui, wait_for


def _problem(i: int, correct: bool = True) -> ProblemResult:
    return ProblemResult(
        id=str(i),
        prompt_hash="h",
        gold="1",
        completions=["x"],
        extracted=["1"],
        correct=[correct],
        rules=["boxed"],
        tokens=[30],
        finish_reasons=["stop"],
    )


def _finished_with_summary(store: RunStore, condition: str):
    run = store.create(condition, "local", "local", "")
    results = [_problem(i, i < 3) for i in range(4)]
    write_summary(
        run.eval_dir / "synth_test.json",
        summarize(results, benchmark="synth_test", ks=[1], benchmark_size=4, settings={}),
    )
    JsonlWriter(run.eval_dir / "synth_test.jsonl").append_many(
        [{"type": "header", "settings_hash": settings_hash({}), "settings": {}}] + [r.to_dict() for r in results]
    )
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
    for name, run_id in bad.items():  # the log of a corrupt run still prints
        assert main(["--runs-dir", str(runs_dir), "logs", run_id]) == 0, name
        assert main(["--runs-dir", str(runs_dir), "logs", "-f", run_id]) == 0, name


def test_corrupt_eval_summaries_are_skipped(runs_dir):
    store = RunStore(runs_dir)
    good = _finished_with_summary(store, "baseline")
    for damage in SUMMARY.values():
        run = _finished_with_summary(store, "grpo_only")
        summary = run.eval_dir / "synth_test.json"
        _damage(summary, damage, json.loads(summary.read_text()))
    _assert_store_still_shows(runs_dir, [good.id])
    rows = json.loads(rdtui("--runs-dir", str(runs_dir), "results", "--format", "json").stdout)
    assert {r["condition"]: r["run_id"] for r in rows}.get("grpo_only") is None  # nothing shown from them


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
    with Journal(journal, {}) as opened:  # a resumed evaluation: the bad line's problem is done again
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
    for command in (
        ("logs", "nope"),
        ("cancel", "nope"),
        ("resume", "nope"),
        ("results", "--run", "nope"),
        ("logs", "baseline-"),
        ("cancel", "baseline-"),
        ("ls", "--status", "bogus"),
        ("logs", "../x"),
    ):
        line = _one_line(rdtui("--runs-dir", str(runs_dir), *command), 2)
        assert any(word in line for word in ("not found", "ambiguous", "unknown status", "invalid run id")), line


@pytest.mark.parametrize(
    "options, needle",
    [
        (("./no/such/model",), "no such folder"),
        (("/no/such/model",), "no such folder"),
        (("builtin:tiny-qwen3", "--limit", "-1"), "--limit"),
        (("builtin:tiny-qwen3", "--limit", "0"), "--limit"),
        (("builtin:tiny-qwen3", "--start-from", "-1"), "--start-from"),
        (("builtin:tiny-qwen3", "--samples", "0"), "--samples"),
        (("builtin:tiny-qwen3", "--k", "0"), "--k"),
        (("builtin:tiny-qwen3", "--benchmark", "nosuch"), "--benchmark nosuch: not a dataset in the config"),
        (("builtin:tiny-qwen3", "--start-from", "99999"), "--start-from 99999 is past the end of synth_test"),
    ],
)
def test_bad_eval_options_fail_at_once(runs_dir, options, needle):
    line = _one_line(rdtui("--runs-dir", str(runs_dir), "eval", *options, timeout=60), 2)
    assert needle in line
    assert not any(runs_dir.iterdir())


def test_a_store_that_is_a_file_is_one_line(tmp_path):
    store = tmp_path / "runs"
    store.write_text("not a folder")
    for command in (
        ("ls",),
        ("results",),
        ("logs", "x"),
        ("cancel", "x"),
        ("resume", "x"),
        ("eval", "builtin:tiny-qwen3"),
    ):
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
    assert run.id in rdtui("--runs-dir", str(small_fs), "ls").stdout  # reading still works
    for command in (("cancel", run.id), ("resume", "--detach", run.id), ("eval", "builtin:tiny-qwen3")):
        assert "Read-only file system" in _one_line(rdtui("--runs-dir", str(small_fs), *command), 1), command
    subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    with open(small_fs / "fill", "wb") as fh:
        try:
            fh.write(b"\0" * 200_000)
        except OSError:
            pass
    assert "No space left on device" in _one_line(rdtui("--runs-dir", str(small_fs), "eval", "builtin:tiny-qwen3"), 1)
    # A status still fits: run.json is rewritten inside the blocks it has.
    assert rdtui("--runs-dir", str(small_fs), "cancel", run.id).returncode == 0
    assert run.reload().status == "cancelled"
    assert sorted(p.name for p in small_fs.iterdir()) == sorted([run.id, "fill"])  # nothing half-made
    assert not [p for p in run.dir.iterdir() if p.name.endswith(".tmp")]


# ---- config files, --set and --overrides: bounded, typed, one line with FILE:LINE, exit 2 ----------


def _billion_laughs(depth: int = 8) -> str:
    lines = ["defaults:", "  a0: &a0 {x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8, r: 9}"]
    for i in range(1, depth + 1):
        lines.append(f"  a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}")
    return "\n".join(lines) + "\n"


HOSTILE_FILES = {
    "alias bomb (9^9 mappings)": (_billion_laughs(), "aliases are expanded"),
    "list alias bomb": (
        "a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
        "aliases are expanded",
    ),
    "tag on a scalar": (
        'study:\n  name: !!python/object:os.system "touch /tmp/pwned"\n',
        ":2: YAML tags are not allowed",
    ),
    "python name tag": ("study:\n  seed: !!python/name:os.system\n", ":2: YAML tags are not allowed"),
    "local tag": ("defaults:\n  grpo:\n    y: !foo bar\n", ":3: YAML tags are not allowed"),
    "tag on a sequence": ('defaults:\n  x: !!python/object/apply:os.system ["touch /tmp/pwned"]\n', ":2: YAML tags"),
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
    os.mkfifo(fifo)  # reading it would block for ever
    for source in ("/dev/zero", str(fifo)):
        assert main(["config", "show", "baseline", "--overrides", source]) == 2
        assert f"{source}: not a regular file" in capsys.readouterr().err


BAD_VALUES = {
    "num_generations 0": (
        ["--set", "grpo.num_generations=0"],
        "grpo.num_generations: input should be greater than or equal to 2",
    ),
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


# ---- faults inside a checkpoint save: the run resumes from the newest complete checkpoint ----------

# Small enough for seconds of CPU, with a save every 2 steps: the fault lands in the save of step 6.
SFT_ONLY = [
    "condition.stages=[sft]",
    "sft.max_steps=8",
    "sft.save_steps=2",
    "sft.sample_every=0",
    "sft.logging_steps=1",
    "sft.per_device_train_batch_size=4",
    "sft.max_length=128",
    "datasets.s1k.limit=64",
]
FAULT_STEP = 6

# Runs the worker as the local backend does, with a hook inside the trainer's checkpoint save: after
# the weights and optimizer are written, before the RNG and trainer state (the last file).
DRIVER = r"""
import errno, os, signal, sys
import transformers
from core.store.runstore import Run, process_start_ticks
from pathlib import Path

run_dir, mode, fault_step = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
original = transformers.Trainer._save_rng_state

def faulty(self, output_dir):
    if self.state.global_step == fault_step:
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "term":
            os.kill(os.getpid(), signal.SIGTERM)      # what `rdtui cancel` sends; the handler raises here
        if mode == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), output_dir)
    return original(self, output_dir)

transformers.Trainer._save_rng_state = faulty
Run(run_dir).update(pid=os.getpid(), pid_start=process_start_ticks(os.getpid()))
from core.execution import run_process as worker
sys.argv = ["core.execution.run_process", str(run_dir)]
worker._exit_now(worker.main([str(run_dir)]))
"""


def _sft_run(store: RunStore):
    from core.config import load_study, resolve_full, snapshot_text

    resolution = resolve_full(load_study(CONFIG), "sft_traces", "local", SFT_ONLY)
    return store.create("sft_traces", "local", "local", snapshot_text(resolution))


def _drive(run, mode: str) -> int:
    import subprocess
    import sys

    from core.backends.local import _child_env, _python_path

    env = _child_env()
    env["PYTHONPATH"] = _python_path(env)
    with open(run.log_path, "ab") as log:
        proc = subprocess.run(
            [sys.executable, "-c", DRIVER, str(run.dir), mode, str(FAULT_STEP)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=900,
        )
    return proc.returncode


def _weights(run) -> dict[str, str]:
    import hashlib

    final = run.checkpoints_dir / "sft-final"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in final.glob("*.safetensors")}


def _sft_steps(run) -> list[int]:
    from core.store.jsonl import read_jsonl

    return [m["step"] for m in read_jsonl(run.metrics_path) if m.get("stage") == "sft" and "loss" in m]


def _wait(predicate, timeout: float = 900, interval: float = 0.5):
    return wait_for(predicate, timeout, interval)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("reference"))
    run = _sft_run(store)
    assert _drive(run, "none") == 0, run.log_path.read_text()[-3000:]
    assert run.reload().status == "succeeded"
    return _weights(run), _sft_steps(run)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["kill", "term", "enospc"])
def test_a_fault_inside_a_checkpoint_save_leaves_a_resumable_run(runs_dir, uninterrupted, mode):
    store = RunStore(runs_dir)
    run = _sft_run(store)
    code = _drive(run, mode)
    torn = run.checkpoints_dir / "sft" / f"checkpoint-{FAULT_STEP}"
    record = run.reload()
    if mode == "kill":
        assert code == -9 and record.effective_status == "lost"
        assert torn.is_dir() and not (torn / "trainer_state.json").exists()
    else:
        # Cancel and full disk end the run cleanly: status recorded, torn checkpoint set aside at once.
        assert code == 1
        assert record.status == ("cancelled" if mode == "term" else "failed"), record.error
        assert not torn.exists() and (torn.parent / f"torn-checkpoint-{FAULT_STEP}").is_dir()
        if mode == "enospc":
            assert record.error.startswith("no space left on the disk holding the run store")
    assert not list(run.dir.rglob("*.tmp"))

    proc = rdtui("--runs-dir", str(runs_dir), "resume", "--detach", run.id)
    assert proc.returncode == 0, proc.stderr
    _wait(lambda: run.reload().status in ("succeeded", "failed"))
    log = run.log_path.read_text()
    assert run.record.status == "succeeded", (run.record.error, log[-3000:])
    assert f"set aside torn checkpoint-{FAULT_STEP} as torn-checkpoint-{FAULT_STEP}" in log
    assert "resuming sft from checkpoint-4" in log
    weights, steps = uninterrupted
    assert _sft_steps(run) == steps == list(range(1, 9))  # unique and contiguous
    assert _weights(run) == weights  # as if nothing had happened


# ---- one owner per run: a live queue or worker owns it; resumes cannot race ------------------------

HOLDER = (
    "import sys, time\nfrom pathlib import Path\nfrom core.store.runstore import try_own\n"
    "assert try_own(Path(sys.argv[1])) is not None\nprint('owned', flush=True)\ntime.sleep(600)\n"
)


def _long_run(store: RunStore):
    from core.config import load_study, resolve_full, snapshot_text

    resolution = resolve_full(load_study(CONFIG), "sft_traces", "local", [*SFT_ONLY, "sft.max_steps=100000"])
    return store.create("sft_traces", "local", "local", snapshot_text(resolution))


def test_a_queued_run_owned_by_a_live_queue_is_not_resumed_and_reads_lost_once_it_dies(runs_dir):
    import subprocess
    import sys

    run = _long_run(RunStore(runs_dir))
    queue = subprocess.Popen([sys.executable, "-c", HOLDER, str(run.dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert queue.stdout.readline().strip() == "owned"
        assert run.reload().effective_status == "queued"
        line = _one_line(rdtui("--runs-dir", str(runs_dir), "resume", "--detach", run.id), 1)
        assert "owned by a live queue or worker" in line
    finally:
        queue.kill()
        queue.wait()
    assert run.reload().effective_status == "lost"  # its queue died: nothing will ever start it
    assert json.loads(rdtui("--runs-dir", str(runs_dir), "ls", "--json").stdout)[0]["status"] == "lost"
    proc = rdtui("--runs-dir", str(runs_dir), "resume", "--detach", run.id)
    try:
        assert proc.returncode == 0, proc.stderr
    finally:
        rdtui("--runs-dir", str(runs_dir), "cancel", run.id)


def test_two_resumes_at_once_one_wins_the_other_says_why(runs_dir):
    import subprocess
    import sys

    run = _long_run(RunStore(runs_dir))
    run.update(status="running")
    run.update(status="failed", error="worker process killed by signal 9", finished_at=time.time())
    command = [sys.executable, "-m", "core.cli", "--runs-dir", str(runs_dir), "resume", "--detach", run.id]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        outcomes = sorted((p.wait(timeout=120), p.stderr.read()) for p in procs)
        assert [code for code, _ in outcomes] == [0, 1], outcomes
        assert "owned by a live queue or worker" in outcomes[1][1]
        workers = _wait(lambda: run.reload().pid, timeout=120)
        assert workers and run.record.status in ("queued", "running")
    finally:
        rdtui("--runs-dir", str(runs_dir), "cancel", run.id)
    assert run.reload().status == "cancelled"


# ---- preflight: what a later stage needs is checked before the first one starts --------------------


@pytest.mark.parametrize(
    "condition, sets, needle",
    [
        (
            "baseline",
            [
                "datasets.gsm8k_test={path: /nonexistent/gsm8k_test.jsonl, formatter: gsm8k, split: test}",
                "evaluation.benchmarks=[synth_test, gsm8k_test]",
            ],
            "/nonexistent/gsm8k_test.jsonl",
        ),
        (
            "sft_then_grpo",
            ["datasets.gsm8k_train={path: /nonexistent/train.jsonl, formatter: gsm8k}"],
            "/nonexistent/train.jsonl",
        ),
        ("baseline", ["model.name=./no/such/model"], "./no/such/model: no such folder"),
    ],
    ids=["missing eval benchmark file", "missing grpo dataset file", "missing model folder"],
)
def test_launch_refuses_what_a_later_stage_would_fail_on(runs_dir, condition, sets, needle):
    args = [a for s in sets for a in ("--set", s)]
    proc = rdtui("--runs-dir", str(runs_dir), "run", condition, *args, "--detach")
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not any(runs_dir.iterdir())  # nothing created


def test_config_check_reports_missing_files_with_file_and_line(tmp_path):
    text = CONFIG.read_text().replace("path: builtin:gsm8k_test.jsonl", "path: /nonexistent/gsm8k_test.jsonl", 1)
    assert "/nonexistent/gsm8k_test.jsonl" in text
    path = tmp_path / "config.yaml"
    path.write_text(text)
    proc = rdtui("config", "check", str(path))
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if "/nonexistent/gsm8k_test.jsonl" in text_line)
    assert proc.returncode == 2 and f"config.yaml:{line}: " in proc.stderr and "file not found" in proc.stderr


def test_a_resumed_run_whose_eval_file_vanished_fails_before_training(tmp_path, runs_dir):
    from core.config import load_study, resolve_full, snapshot_text
    from core.execution.pipeline import execute_run

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": "1+1?", "answer": "#### 2"}) + "\n")
    resolution = resolve_full(
        load_study(CONFIG),
        "baseline",
        "local",
        [f"datasets.gsm8k_test={{path: {bench}, formatter: gsm8k, split: test}}", "evaluation.benchmarks=[gsm8k_test]"],
    )
    run = RunStore(runs_dir).create("baseline", "local", "local", snapshot_text(resolution))
    bench.unlink()
    assert execute_run(run, cancel_on_sigterm=False) == "failed"
    assert "file not found" in run.reload().error and run.record.stage is None  # no stage started


# ---- a resumed run does exactly what its launch asked ----------------------------------------------


@pytest.mark.slow
def test_a_resumed_eval_keeps_its_launch_options_and_equals_the_uninterrupted_journal(runs_dir):
    from core.store.jsonl import read_jsonl

    proc = rdtui(
        "--runs-dir",
        str(runs_dir),
        "eval",
        "builtin:tiny-qwen3",
        "--benchmark",
        "synth_test",
        "--start-from",
        "2",
        "--limit",
        "4",
        "--set",
        "evaluation.batch_size=1",
        "--set",
        "evaluation.max_new_tokens=16",
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    [run] = RunStore(runs_dir).list()
    journal = run.eval_dir / "synth_test.jsonl"
    uninterrupted = read_jsonl(journal)
    assert len(uninterrupted) == 5 and uninterrupted[0]["type"] == "header"  # the header, then 4 problems
    # Evaluation progress has its own file; metrics.jsonl (training curves) never sees eta_s or total.
    progress = read_jsonl(run.eval_progress_path)
    assert progress and progress[-1]["step"] == progress[-1]["total"] == 4 and "eta_s" in progress[-1]
    assert not run.metrics_path.exists()
    # As if killed after two problems: the journal holds them, the run is failed, no summary yet.
    journal.write_bytes(b"".join(encode_line(r) for r in uninterrupted[:3]))
    (run.eval_dir / "synth_test.json").unlink()
    run.update(status="queued")
    run.update(status="failed", error="worker process killed by signal 9", finished_at=time.time())
    proc = rdtui("--runs-dir", str(runs_dir), "resume", "--detach", run.id)
    assert proc.returncode == 0, proc.stderr
    _wait(lambda: run.reload().status in ("succeeded", "failed"))
    assert run.record.status == "succeeded", run.record.error
    assert read_jsonl(journal) == uninterrupted  # problem for problem
    assert sorted(p.name for p in run.eval_dir.glob("*.jsonl")) == ["synth_test.jsonl"]  # nothing beyond the launch


def test_an_adapter_config_of_the_wrong_shape_is_one_line(tmp_path, runs_dir):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("[1, 2]")
    line = _one_line(rdtui("--runs-dir", str(runs_dir), "eval", str(adapter), timeout=120), 1)
    assert "not an adapter config" in line and not any(runs_dir.iterdir())
