"""`rdtui ls`: the runs in the store, as a table or JSON."""

from __future__ import annotations

import json
import sys

from core.backends.modal_backend import refresh_modal_runs
from core.errors import UsageError
from core.paths import default_runs_dir
from core.reporting.textable import format_table
from core.store.runstore import DERIVED_STATUSES, STATUSES, RunStore
from core.store.runview import run_summary

COLUMNS = ["id", "condition", "profile", "status", "stage", "progress", "eta", "elapsed", "created"]


def main(args) -> int:
    if args.status is not None and args.status not in STATUSES + DERIVED_STATUSES:
        raise UsageError(f"unknown status {args.status!r}; choose from {', '.join(STATUSES + DERIVED_STATUSES)}")
    store = RunStore(default_runs_dir(args.runs_dir))
    refresh_modal_runs(store.list(condition=args.condition))  # detached/app-launched Modal runs move too
    runs = store.list(condition=args.condition, status=args.status)
    if args.json:
        records = []
        for run in runs:
            data = run.record.to_dict()
            data["status"] = run.record.effective_status
            records.append(data)
        print(json.dumps(records, indent=2))
        return 0
    if not runs:
        print(f"no runs in {store.root}")
        return 0
    print(format_table([run_summary(run) for run in runs], COLUMNS))
    for run in runs:
        if run.record.status == "corrupt":
            print(f"rdtui: {run.id}: corrupt: {run.record.error}", file=sys.stderr)
    return 0
