"""`rdtui sync [RUN...] [--follow]`: mirror Modal runs from the Volume into the local run store.

Without RUN, every Modal run that is not finished yet; a named RUN is synced whatever its status.
With --follow, it goes on until those runs end. Safe to stop at any moment and start again: a closed
laptop catches up on the next sync.
"""

from __future__ import annotations

import time

from core.runstore import FINISHED, Run, RunStore
from core.paths import default_runs_dir

FOLLOW_SECONDS = 5.0


def main(args) -> int:
    from core.backends.modal_backend import ModalBackend, REFRESH_INTERVAL_S

    store = RunStore(default_runs_dir(args.runs_dir))
    runs = [store.get(run_id) for run_id in args.runs] if args.runs else _modal_runs(store)
    runs = [run for run in runs if run.record.backend == "modal"]
    if not runs:
        print("no Modal runs to sync")
        return 0
    backend = ModalBackend()
    while True:
        for run in runs:
            before = run.record.status
            backend.refresh(run)
            record = run.reload()
            if record.status != before:
                print(f"{run.id}: {record.status}" + (f" ({record.error})" if record.error else ""))
        pending = [run for run in runs if run.record.status not in FINISHED]
        if not args.follow or not pending:
            break
        runs = pending
        time.sleep(max(FOLLOW_SECONDS, REFRESH_INTERVAL_S))
    for run in runs:
        print(f"{run.id}: {run.record.status}, synced")
    return 0


def _modal_runs(store: RunStore) -> list[Run]:
    return [run for run in store.list() if run.record.backend == "modal" and run.record.status not in FINISHED]
