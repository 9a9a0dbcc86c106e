"""Run status in the app is the run store's own: a run whose worker or queue died is `lost`
exactly when `rdtui ls` says so, and Modal runs are brought up to date as `rdtui ls` does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from core.store.runstore import OWNER_FILE, read_record, try_own, write_record
from tests.conftest import rdtui
from tests.test_tui_app import app_for
from tests.test_tui_crashes import rows_by_folder
from tests.test_tui_support import T0, make_run, wait_for


def set_record(run_dir: Path, **fields) -> None:
    write_record(run_dir, replace(read_record(run_dir), **fields))


def ls_statuses(runs_dir: Path) -> dict[str, str]:
    result = rdtui("--runs-dir", str(runs_dir), "ls", "--json")
    assert result.returncode == 0, result.stderr
    return {record["id"]: record["status"] for record in json.loads(result.stdout)}


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_a_run_whose_queue_or_worker_died_shows_lost_as_rdtui_ls_says(runs_dir):
    here = socket.gethostname()
    for n, name in enumerate(("queue-died", "queue-alive", "never-taken", "worker-died", "done")):
        status = {"worker-died": "running", "done": "succeeded"}.get(name, "queued")
        make_run(runs_dir, name, "grpo_only", status=status, created=T0 + n)
        set_record(runs_dir / name, host=here, pid=dead_pid() if name == "worker-died" else None)
    (runs_dir / "queue-died" / OWNER_FILE).touch()  # a queue took it, then died: nobody holds the lock
    owner = try_own(runs_dir / "queue-alive")  # this test is the live queue holding the lock
    assert owner is not None
    expected = {
        "queue-died": "lost",
        "queue-alive": "queued",
        "never-taken": "queued",
        "worker-died": "lost",
        "done": "succeeded",
    }
    assert ls_statuses(runs_dir) == expected

    app = app_for(runs_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one("DataTable")

        def statuses() -> dict[str, str]:
            return {run_id: row["status"] for run_id, row in rows_by_folder(table).items()}

        await wait_for(pilot, lambda: statuses() == expected, what=f"{expected}, as rdtui ls says")
        os.close(owner)  # the queue dies: no file changes, yet the run is lost now
        await wait_for(pilot, lambda: statuses()["queue-alive"] == "lost", what="queue-alive lost")
        assert ls_statuses(runs_dir) == statuses()


async def test_unfinished_modal_runs_are_refreshed_at_most_every_five_seconds(runs_dir, monkeypatch):
    from core.backends.modal_backend import REFRESH_INTERVAL_S
    from tui.feeds import modal_refresh

    for n, (name, status) in enumerate(
        (("modal-running", "running"), ("modal-queued", "queued"), ("modal-done", "succeeded"), ("local", "running"))
    ):
        make_run(runs_dir, name, "grpo_only", status=status, created=T0 + n)
        if name.startswith("modal"):
            set_record(runs_dir / name, backend="modal", modal_call_id=f"fc-{n}")
    calls: list[tuple[float, set[str]]] = []

    def refresh_from_the_volume(runs) -> None:  # stands in for the sync from Modal's Volume
        calls.append((time.monotonic(), {run.id for run in runs}))
        if len(calls) == 1:
            set_record(runs_dir / "modal-running", status="succeeded", finished_at=T0 + 900)

    monkeypatch.setattr(modal_refresh, "refresh_modal_runs", refresh_from_the_volume)
    app = app_for(runs_dir)  # polls every 0.2 s: the refresh must still wait its 5 s
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one("DataTable")
        await wait_for(
            pilot,
            lambda: rows_by_folder(table).get("modal-running", {}).get("status") == "succeeded",
            what="the refreshed Modal run shown as succeeded",
        )
        await wait_for(pilot, lambda: len(calls) >= 2, what="a second refresh")
    assert calls[0][1] == {"modal-running", "modal-queued"}  # unfinished Modal runs only
    assert calls[1][1] == {"modal-queued"}
    gaps = [later[0] - earlier[0] for earlier, later in zip(calls, calls[1:])]
    assert all(gap >= REFRESH_INTERVAL_S for gap in gaps), gaps
