"""The Modal sync loop against a folder standing in for the Volume: incremental, idempotent,
tolerant of torn lines and replaced files, and exact after being killed at any point."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.backends import sync
from core.backends.sync import STATE_FILE, SegmentWriter, sync_run
from core.store.jsonl import JsonlTail, read_jsonl
from core.store.runstore import RunRecord, read_record, write_record
from tests.conftest import REPO
from tests.volume_standin import FolderVolume, HostileVolume, append

RUN_ID = "grpo_only-20260101-000000-abcd"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "volume" / "runs" / RUN_ID
    path.mkdir(parents=True)
    write_record(
        path,
        RunRecord(
            id=RUN_ID, condition="grpo_only", profile="modal", backend="modal", status="running", extra={"launch": 1}
        ),
    )
    (path / "config.yaml").write_text("model: {}\n")
    return path


@pytest.fixture
def volume(tmp_path: Path, remote: Path) -> FolderVolume:
    return FolderVolume(tmp_path / "volume")


@pytest.fixture
def local(tmp_path: Path) -> Path:
    return tmp_path / "store" / RUN_ID


def same_tree(remote: Path, local: Path, names: list[str]) -> None:
    for name in names:
        assert (local / name).read_bytes() == (remote / name).read_bytes(), name


def test_copies_only_the_new_bytes_of_append_only_files(volume, remote, local):
    append(remote / "log.txt", b"step 1\n" * 50)
    append(remote / "metrics.jsonl", b'{"step": 1, "loss": 2.0}\n')
    first = sync_run(volume, RUN_ID, local)
    assert first.bytes_copied == 350 + 25
    append(remote / "log.txt", b"step 2\n")
    append(remote / "metrics.jsonl", b'{"step": 2, "loss": 1.5}\n')
    second = sync_run(volume, RUN_ID, local)
    assert second.bytes_copied == 7 + 25
    same_tree(remote, local, ["log.txt", "metrics.jsonl", "config.yaml"])
    assert [r["step"] for r in read_jsonl(local / "metrics.jsonl")] == [1, 2]
    assert read_record(local).status == "running"


def test_a_second_pass_with_nothing_new_changes_nothing(volume, remote, local):
    append(remote / "log.txt", b"hello\n")
    append(remote / "eval" / "gsm8k_test.jsonl", b'{"i": 0, "correct": true}\n')
    sync_run(volume, RUN_ID, local)
    before = {p: p.stat().st_mtime_ns for p in local.rglob("*") if p.is_file() and p.name != STATE_FILE}
    volume.reads.clear()
    again = sync_run(volume, RUN_ID, local)
    assert again.bytes_copied == 0 and again.files_replaced == 0 and not again.record_updated
    assert volume.reads == []  # unchanged files, run.json included, are not even read
    assert before == {p: p.stat().st_mtime_ns for p in local.rglob("*") if p.is_file() and p.name != STATE_FILE}


def test_a_torn_last_line_is_completed_by_the_next_pass(volume, remote, local):
    append(remote / "metrics.jsonl", b'{"step": 1}\n{"step": 2, "lo')
    sync_run(volume, RUN_ID, local)
    tail = JsonlTail(local / "metrics.jsonl")
    assert [r["step"] for r in tail.read_new()] == [1]
    append(remote / "metrics.jsonl", b'ss": 0.5}\n{"step": 3}\n')
    sync_run(volume, RUN_ID, local)
    assert [r["step"] for r in tail.read_new()] == [2, 3]
    same_tree(remote, local, ["metrics.jsonl"])


@pytest.mark.parametrize(
    "replacement",
    [b'{"step": 9}\n', b'{"step": 7, "note": "rewritten from scratch"}\n' * 40],
    ids=["shorter", "longer"],
)
def test_a_file_replaced_under_the_sync_is_copied_again_whole(volume, remote, local, replacement):
    append(remote / "samples.jsonl", b'{"step": 1, "completion": "abc"}\n' * 20)
    sync_run(volume, RUN_ID, local)
    reader = JsonlTail(local / "samples.jsonl")
    assert len(reader.read_new()) == 20
    tmp = remote / "samples.jsonl.new"
    tmp.write_bytes(replacement)
    os.replace(tmp, remote / "samples.jsonl")
    sync_run(volume, RUN_ID, local)
    same_tree(remote, local, ["samples.jsonl"])
    polled = reader.poll()
    assert polled.reset and polled.records == read_jsonl(remote / "samples.jsonl")


def test_checkpoints_and_hidden_files_stay_on_the_volume(volume, remote, local):
    (remote / "checkpoints" / "grpo-final").mkdir(parents=True)
    (remote / "checkpoints" / "grpo-final" / "adapter_model.safetensors").write_bytes(b"\0" * 1000)
    (remote / ".lock").touch()
    sync_run(volume, RUN_ID, local)
    assert not (local / "checkpoints").exists() and not (local / ".lock").exists()


def test_the_remote_record_replaces_the_local_one_unless_the_local_one_is_newer(volume, remote, local):
    local.mkdir(parents=True)
    write_record(
        local,
        RunRecord(
            id=RUN_ID,
            condition="grpo_only",
            profile="modal",
            backend="modal",
            status="queued",
            modal_call_id="fc-123",
            extra={"launch": 1},
        ),
    )
    sync_run(volume, RUN_ID, local)
    record = read_record(local)
    assert record.status == "running" and record.modal_call_id == "fc-123"  # the call id set at launch stays

    # A resume was sent (launch 2) but its container has not written yet: the old remote record waits.
    write_record(
        local,
        RunRecord(
            id=RUN_ID,
            condition="grpo_only",
            profile="modal",
            backend="modal",
            status="queued",
            modal_call_id="fc-456",
            extra={"launch": 2},
        ),
    )
    write_record(
        remote,
        RunRecord(
            id=RUN_ID,
            condition="grpo_only",
            profile="modal",
            backend="modal",
            status="failed",
            error="boom",
            extra={"launch": 1},
        ),
    )
    assert not sync_run(volume, RUN_ID, local).record_updated
    assert read_record(local).status == "queued"

    # A local cancel stands while the stopped container's record still says running.
    write_record(
        local,
        RunRecord(
            id=RUN_ID, condition="grpo_only", profile="modal", backend="modal", status="cancelled", extra={"launch": 2}
        ),
    )
    write_record(
        remote,
        RunRecord(
            id=RUN_ID, condition="grpo_only", profile="modal", backend="modal", status="running", extra={"launch": 2}
        ),
    )
    sync_run(volume, RUN_ID, local)
    assert read_record(local).status == "cancelled"

    write_record(
        remote,
        RunRecord(
            id=RUN_ID, condition="grpo_only", profile="modal", backend="modal", status="succeeded", extra={"launch": 3}
        ),
    )
    assert sync_run(volume, RUN_ID, local).remote_status == "succeeded"
    assert read_record(local).status == "succeeded"


def test_a_run_not_on_the_volume_yet_is_reported_missing(tmp_path, local):
    result = sync_run(FolderVolume(tmp_path / "empty"), RUN_ID, local)
    assert result.remote_missing and not local.exists()


def test_a_pass_killed_after_writing_data_but_before_saving_offsets_repeats_nothing(volume, remote, local, monkeypatch):
    append(remote / "log.txt", b"a" * 100 + b"\n")
    sync_run(volume, RUN_ID, local)
    append(remote / "log.txt", b"b" * 50 + b"\n")

    def killed(self):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(sync.SyncState, "save", killed)
        with pytest.raises(KeyboardInterrupt):
            sync_run(volume, RUN_ID, local)
    assert (local / "log.txt").stat().st_size == 152  # the data landed, the offset did not
    sync_run(volume, RUN_ID, local)
    same_tree(remote, local, ["log.txt"])


SYNC_LOOP = """
import sys, time
from pathlib import Path
from core.backends.sync import sync_run
sys.path.insert(0, sys.argv[3])
from tests.volume_standin import FolderVolume
while True:
    sync_run(FolderVolume(Path(sys.argv[1])), sys.argv[2], Path(sys.argv[4]))
"""


def test_killing_the_sync_process_at_random_moments_loses_and_repeats_nothing(tmp_path, volume, remote, local):
    rng = random.Random(7)
    line = 0

    def write_some(n: int) -> None:
        nonlocal line
        for _ in range(n):
            line += 1
            append(remote / "metrics.jsonl", json.dumps({"step": line, "loss": 1 / line}).encode() + b"\n")
            append(remote / "log.txt", f"step {line} ".encode() + b"x" * rng.randrange(0, 300) + b"\n")

    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", SYNC_LOOP, str(tmp_path / "volume"), RUN_ID, str(REPO), str(local)], cwd=REPO
        )
        deadline = time.monotonic() + rng.uniform(0.6, 1.2)
        while time.monotonic() < deadline:
            write_some(5)
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (local / "metrics.jsonl").exists()  # the killed loops did copy
    sync_run(volume, RUN_ID, local)
    same_tree(remote, local, ["metrics.jsonl", "log.txt"])
    assert [r["step"] for r in read_jsonl(local / "metrics.jsonl")] == list(range(1, line + 1))


# -- nothing remote is trusted -------------------------------------------------------------------------------------


def hostile_record(**fields) -> bytes:
    data = {
        "id": RUN_ID,
        "condition": "grpo_only",
        "profile": "modal",
        "backend": "modal",
        "status": "running",
        "created_at": 1.0,
        "extra": {"launch": 1},
    }
    data.update(fields)
    return json.dumps(data).encode()


def test_remote_names_that_leave_the_run_folder_are_refused_and_counted(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    store = tmp_path / "store"
    other_run = store / "sft_traces-20260101-000000-ffff"
    other_run.mkdir(parents=True)
    (other_run / "config.yaml").write_text("mine\n")
    local = store / RUN_ID
    prefix = f"runs/{RUN_ID}"
    hostile = {
        f"{prefix}/../../../../../{victim}/escaped.jsonl": b"x\n",
        f"{victim}/absolute.txt": b"x",
        f"/{prefix}/absolute.jsonl": b"x\n",
        f"{prefix}/eval/../../sft_traces-20260101-000000-ffff/config.yaml": b"overwritten\n",
        f"{prefix}/../sft_traces-20260101-000000-ffff/eval/synth_test.json": b"{}",
        f"{prefix}/log\0.txt": b"x\n",
        f"{prefix}//log.txt": b"x\n",
        f"{prefix}/./log.txt": b"x\n",
        f"runs/{RUN_ID}-other/log.txt": b"x\n",
        f"{prefix}/eval/good.json": b'{"ok": true}',
        f"{prefix}/log.txt": b"fine\n",
        f"{prefix}/run.json": hostile_record(),
    }
    result = sync_run(HostileVolume(hostile), RUN_ID, local)
    assert len(result.refused) == 9, result.refused
    assert not list(victim.iterdir())
    assert (other_run / "config.yaml").read_text() == "mine\n" and not (other_run / "eval").exists()
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()) == sorted(
        [
            "sft_traces-20260101-000000-ffff/config.yaml",
            f"{RUN_ID}/{STATE_FILE}",
            f"{RUN_ID}/eval/good.json",
            f"{RUN_ID}/log.txt",
            f"{RUN_ID}/run.json",
        ]
    )
    assert any("NUL" in r for r in result.refused) and any("absolute" in r for r in result.refused)


def test_a_local_symlink_is_never_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    local = tmp_path / "store" / RUN_ID
    local.mkdir(parents=True)
    (local / "eval").symlink_to(victim)
    (local / "log.txt").symlink_to(victim / "log.txt")
    prefix = f"runs/{RUN_ID}"
    result = sync_run(HostileVolume({f"{prefix}/eval/synth.json": b"{}", f"{prefix}/log.txt": b"x\n"}), RUN_ID, local)
    assert len(result.refused) == 2 and all("symlink" in r for r in result.refused)
    assert not list(victim.iterdir())


@pytest.mark.parametrize(
    "record,why",
    [
        (b"[]", "not an object"),
        (hostile_record(id="some-other-run"), "names run"),
        (hostile_record(status="exploded"), "unknown status"),
        (hostile_record(created_at="not-a-time"), "created_at"),
        (hostile_record(finished_at=float("inf")), "finished_at"),
        (hostile_record(pid="abc"), "pid"),
        (hostile_record(progress="x"), "progress"),
        (hostile_record(extra=[1, 2]), "extra"),
        (hostile_record(extra={"launch": "9"}), "launch"),
        (hostile_record(extra={"stages_done": "sft"}), "stages_done"),
        (hostile_record(error=["x"]), "error"),
        (hostile_record(backend=None), "backend"),
    ],
)
def test_a_remote_record_of_the_wrong_shape_is_refused_and_the_local_one_kept(tmp_path, record, why):
    local = tmp_path / "store" / RUN_ID
    local.mkdir(parents=True)
    mine = RunRecord(
        id=RUN_ID,
        condition="grpo_only",
        profile="modal",
        backend="modal",
        status="queued",
        created_at=5.0,
        modal_call_id="fc-1",
        extra={"launch": 1},
    )
    write_record(local, mine)
    result = sync_run(HostileVolume({f"runs/{RUN_ID}/run.json": record}), RUN_ID, local)
    assert not result.record_updated and len(result.refused) == 1 and why in result.refused[0]
    assert read_record(local).to_dict() == mine.to_dict()
    from core.store.runstore import RunStore

    assert [run.id for run in RunStore(local.parent).list()] == [RUN_ID]  # `ls` still sorts the store


def test_a_remote_record_never_sets_the_fields_that_pick_a_local_process(tmp_path):
    import socket

    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        forged = hostile_record(
            backend="local",
            host=socket.gethostname(),
            pid=sleeper.pid,
            pid_start=None,
            condition="baseline",
            created_at=2.0,
        )
        local = tmp_path / "store" / RUN_ID
        local.mkdir(parents=True)
        write_record(
            local,
            RunRecord(
                id=RUN_ID,
                condition="grpo_only",
                profile="modal",
                backend="modal",
                status="queued",
                created_at=5.0,
                extra={"launch": 1},
            ),
        )
        assert sync_run(HostileVolume({f"runs/{RUN_ID}/run.json": forged}), RUN_ID, local).record_updated
        record = read_record(local)
        assert record.status == "running"  # the remote side does own the status
        assert (record.backend, record.host, record.pid, record.pid_start) == ("modal", None, None, None)
        assert (record.condition, record.created_at) == ("grpo_only", 5.0)

        # A run first seen on the Volume (another machine launched it) gets no local process either.
        fresh = tmp_path / "store2" / RUN_ID
        sync_run(HostileVolume({f"runs/{RUN_ID}/run.json": forged}), RUN_ID, fresh)
        record = read_record(fresh)
        assert (record.backend, record.host, record.pid, record.pid_start) == ("modal", None, None, None)
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_oversized_remote_record_is_refused_unread(tmp_path):
    volume = HostileVolume({f"runs/{RUN_ID}/run.json": b" " * (sync.MAX_RECORD_BYTES + 1)})
    result = sync_run(volume, RUN_ID, tmp_path / RUN_ID)
    assert len(result.refused) == 1 and volume.reads == []


# -- segments: the transfer grows with the new bytes -----------------------------------------------------------


def test_with_segments_a_growing_log_is_transferred_about_once(volume, remote, local):
    writer = SegmentWriter(remote)
    step = bytes(range(256)) * 4096  # 1 MiB
    sync_run(volume, RUN_ID, local)
    volume.bytes_read = 0
    for _ in range(20):
        append(remote / "log.txt", step)
        writer.write_new()  # the container's commit tick
        sync_run(volume, RUN_ID, local)
    size = (remote / "log.txt").stat().st_size
    same_tree(remote, local, ["log.txt"])
    record_bytes = (remote / "run.json").stat().st_size * 20
    assert volume.bytes_read - record_bytes <= 1.1 * size
    assert not (local / ".segments").exists()


def test_without_segments_the_same_log_costs_its_size_per_pass(volume, remote, local):
    for _ in range(10):
        append(remote / "log.txt", b"x" * 10_000)
        sync_run(volume, RUN_ID, local)
    assert volume.bytes_read > 5 * (remote / "log.txt").stat().st_size  # why the segments exist


def test_segments_follow_a_replaced_file_and_a_new_container(volume, remote, local):
    append(remote / "samples.jsonl", b'{"step": 1}\n' * 30)
    SegmentWriter(remote).write_new()
    sync_run(volume, RUN_ID, local)
    # Replaced by one as long, then by a shorter one: each is a new generation, copied from 0.
    for replacement in (b'{"step": 7}\n' * 30, b'{"step": 9}\n'):
        (remote / "samples.tmp").write_bytes(replacement)
        os.replace(remote / "samples.tmp", remote / "samples.jsonl")
        SegmentWriter(remote).write_new()  # a new container learns where the last one left off
        sync_run(volume, RUN_ID, local)
        same_tree(remote, local, ["samples.jsonl"])
    writer = SegmentWriter(remote)
    append(remote / "samples.jsonl", b'{"step": 10}\n')
    assert writer.write_new() == 13 and writer.write_new() == 0
    sync_run(volume, RUN_ID, local)
    same_tree(remote, local, ["samples.jsonl"])


def test_many_segments_are_merged_and_every_follower_still_ends_exact(volume, remote, local, tmp_path):
    writer = SegmentWriter(remote)
    late = tmp_path / "late" / RUN_ID
    for i in range(200):
        append(remote / "metrics.jsonl", json.dumps({"step": i}).encode() + b"\n")
        writer.write_new()
        if i % 7 == 0:
            sync_run(volume, RUN_ID, local)
    folder = remote / ".segments" / "metrics.jsonl" / "0"
    assert len(list(folder.iterdir())) <= sync.MERGE_ABOVE_SEGMENTS
    for target in (local, late):  # one that followed, one that syncs for the first time
        sync_run(volume, RUN_ID, target)
        same_tree(remote, target, ["metrics.jsonl"])


def test_hostile_segment_names_are_refused(tmp_path):
    prefix = f"runs/{RUN_ID}"
    volume = HostileVolume(
        {
            f"{prefix}/.segments/run.json/0/000000000000000.seg": b"{}",
            f"{prefix}/.segments/log.txt/x/000000000000000.seg": b"x",
            f"{prefix}/.segments/log.txt/0/../../../../escape.seg": b"x",
            f"{prefix}/.segments/log.txt/0/000000000000000.seg": b"fine\n",
        }
    )
    local = tmp_path / "store" / RUN_ID
    result = sync_run(volume, RUN_ID, local)
    assert len(result.refused) == 3 and (local / "log.txt").read_bytes() == b"fine\n"
    assert sorted(p.name for p in local.iterdir()) == [STATE_FILE, "log.txt"]
