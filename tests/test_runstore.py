"""The run store contract: atomic creation, unique ids, validated transitions, lost runs, JSONL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from core.errors import InvalidRunId, InvalidTransition, RunNotFound
from core.store.jsonl import JsonlTail, JsonlWriter, read_jsonl
from core.store.runstore import RunStore, process_start_ticks
from tests.conftest import REPO


def test_create_publishes_a_complete_run(runs_dir):
    run = RunStore(runs_dir).create("sft_traces", "local", "local", "a: 1\n", description="traces")
    assert re.fullmatch(r"sft_traces-\d{8}-\d{6}-[0-9a-f]{4}", run.id)
    assert (run.dir / "config.yaml").read_text() == "a: 1\n"
    data = json.loads((run.dir / "run.json").read_text())
    assert data["status"] == "queued" and data["condition"] == "sft_traces" and data["id"] == run.id
    assert run.log_path.exists()
    assert [p.name for p in runs_dir.iterdir()] == [run.id]  # no staging folder left


def test_two_processes_creating_runs_never_collide(runs_dir):
    script = (
        "import sys; from core.store.runstore import RunStore\n"
        "store = RunStore(sys.argv[1])\n"
        "ids = [store.create('baseline', 'local', 'local', 'x: 1\\n').id for _ in range(150)]\n"
        "print('\\n'.join(ids))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(runs_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    ids = [line for p in procs for line in p.communicate(timeout=120)[0].split()]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert len(RunStore(runs_dir).list()) == 300


def test_update_validates_transitions_and_replaces_atomically(runs_dir):
    run = RunStore(runs_dir).create("baseline", "local", "local", "")
    run.update(status="running", pid=os.getpid(), pid_start=process_start_ticks(os.getpid()))
    run.update(status="succeeded", finished_at=time.time())
    with pytest.raises(InvalidTransition):
        run.update(status="running")
    assert RunStore(runs_dir).get(run.id).record.status == "succeeded"
    assert not [p for p in run.dir.iterdir() if p.name.endswith(".tmp")]


def test_named_transitions_keep_the_first_start_and_the_first_end(runs_dir):
    run = RunStore(runs_dir).create("baseline", "local", "local", "")
    first = run.start(pid=os.getpid()).started_at
    run.finish("cancelled")  # `rdtui cancel` records the end first ...
    cancelled_at = run.record.finished_at
    assert run.finish("failed", "worker process killed by signal 15").status == "cancelled"  # ... and it stands
    assert run.reload().error is None and run.record.finished_at == cancelled_at
    run.requeue()
    assert run.record.status == "queued" and run.record.finished_at is None
    again = run.start()
    assert again.status == "running" and again.started_at == first and again.error is None
    with pytest.raises(InvalidTransition):
        run.finish("running")


def test_running_run_whose_process_is_gone_reads_as_lost(runs_dir):
    store = RunStore(runs_dir)
    run = store.create("grpo_only", "local", "local", "")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    run.update(status="running", pid=proc.pid, pid_start=process_start_ticks(proc.pid))
    assert store.get(run.id).record.effective_status == "running"
    proc.kill()
    proc.wait()
    assert store.get(run.id).record.effective_status == "lost"
    assert [r.id for r in store.list(status="lost")] == [run.id]


def test_user_given_ids_are_validated(runs_dir):
    store = RunStore(runs_dir)
    for bad in ("../etc", "a/b", "..", ".hidden", ""):
        with pytest.raises(InvalidRunId):
            store.get(bad)
    with pytest.raises(RunNotFound):
        store.get("nope")


def test_get_by_unique_prefix(runs_dir):
    store = RunStore(runs_dir)
    run = store.create("baseline", "local", "local", "")
    store.create("grpo_only", "local", "local", "")
    assert store.get("baseline").id == run.id
    store.create("baseline", "local", "local", "")
    with pytest.raises(RunNotFound, match="ambiguous"):
        store.get("baseline")


def test_list_filters_skips_foreign_folders_and_marks_unreadable_runs_corrupt(runs_dir):
    store = RunStore(runs_dir)
    a = store.create("baseline", "local", "local", "")
    store.create("grpo_only", "local", "local", "")
    (runs_dir / "junk").mkdir()
    (runs_dir / "broken").mkdir()
    (runs_dir / "broken" / "run.json").write_text("{not json")
    assert [r.id for r in store.list(condition="baseline")] == [a.id]
    assert len(store.list()) == 3
    [broken] = store.list(status="corrupt")
    assert broken.id == "broken" and "unreadable run record" in broken.record.error
    with pytest.raises(RunNotFound, match="unreadable"):
        store.get("broken").reload()


# Valid JSON of the wrong shape: each one used to break `ls` or `results` for the whole store.
WRONG_SHAPES = {
    "empty object": {},
    "list": [],
    "null": None,
    "created_at text": {"created_at": "yesterday"},
    "pid text": {"status": "running", "pid": "abc"},
    "pid bool": {"status": "running", "pid": True},
    "extra list": {"extra": [1, 2]},
    "progress text": {"progress": "x"},
    "progress.step text": {"status": "running", "progress": {"step": "a", "total": 10}},
    "progress.eta_s inf": {"status": "running", "progress": {"step": 1, "eta_s": float("inf")}},
    "unknown status": {"status": "exploded"},
    "condition number": {"condition": 3},
    "started_at list": {"started_at": [1]},
    "stages_done text": {"extra": {"stages_done": "sft"}},
}


@pytest.mark.parametrize("damage", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_run_json_of_the_wrong_shape_is_one_corrupt_row(runs_dir, damage):
    store = RunStore(runs_dir)
    good = store.create("baseline", "local", "local", "")
    bad = store.create("grpo_only", "local", "local", "")
    base = json.loads((bad.dir / "run.json").read_text())
    data = {**base, **damage} if isinstance(damage, dict) and damage else damage
    (bad.dir / "run.json").write_text(json.dumps(data))
    runs = {r.id: r.record for r in store.list()}
    assert runs[good.id].status == "queued"
    assert runs[bad.id].status == "corrupt" and str(bad.dir / "run.json") in runs[bad.id].error
    assert [r.id for r in store.list(status="corrupt")] == [bad.id]


def test_jsonl_tail_is_incremental_and_holds_back_a_torn_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    writer = JsonlWriter(path)
    tail = JsonlTail(path)
    assert tail.read_new() == []
    writer.append({"step": 1})
    writer.append({"step": 2})
    assert [r["step"] for r in tail.read_new()] == [1, 2]
    with open(path, "ab") as fh:
        fh.write(b'{"step": 3, "lo')
    assert tail.read_new() == []
    with open(path, "ab") as fh:
        fh.write(b'ss": 0.5}\n')
    assert tail.read_new() == [{"step": 3, "loss": 0.5}]
    assert tail.read_new() == []


def test_jsonl_tail_survives_truncation_and_replacement(tmp_path):
    path = tmp_path / "m.jsonl"
    JsonlWriter(path).append_many([{"step": i} for i in range(5)])
    tail = JsonlTail(path)
    assert len(tail.read_new()) == 5
    path.write_text('{"step": 0}\n')  # truncated in place
    result = tail.poll()
    assert result.reset and result.records == [{"step": 0}]
    replacement = tmp_path / "new.jsonl"
    replacement.write_text('{"step": 10}\n{"step": 11}\n')
    os.replace(replacement, path)  # replaced under the reader
    result = tail.poll()
    assert result.reset and [r["step"] for r in result.records] == [10, 11]


def test_jsonl_bad_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\nnot json\n[1,2]\n{"a": 2}\n')
    result = JsonlTail(path).poll()
    assert [r["a"] for r in result.records] == [1, 2] and result.bad_lines == 2
    assert read_jsonl(tmp_path / "missing.jsonl") == []


def test_concurrent_appenders_write_whole_lines(tmp_path):
    path = tmp_path / "m.jsonl"
    script = (
        "import sys; from core.store.jsonl import JsonlWriter\n"
        "w = JsonlWriter(sys.argv[1])\n"
        "for i in range(400): w.append({'who': sys.argv[2], 'i': i, 'pad': 'x' * 3000})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(n)], cwd=REPO) for n in range(3)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    result = JsonlTail(path).poll()
    assert len(result.records) == 1200 and result.bad_lines == 0


def test_writers_of_different_extra_keys_never_lose_each_other(runs_dir):
    run = RunStore(runs_dir).create("baseline", "local", "local", "")
    script = (
        "import sys; from core.store.runstore import Run; from pathlib import Path\n"
        "run = Run(Path(sys.argv[1]))\n"
        "for i in range(40): run.update(extra_items={sys.argv[2]: i})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(run.dir), f"w{n}"], cwd=REPO) for n in range(4)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    assert {k: v for k, v in run.reload().extra.items()} == {f"w{n}": 39 for n in range(4)}
