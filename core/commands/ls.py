"""`rdtui ls`: the runs in the store, as a table or JSON."""

from __future__ import annotations

import json

from core.runstore import RunStore
from core.paths import default_runs_dir
from core.runview import run_summary
from core.textable import format_table

COLUMNS = ["id", "condition", "profile", "status", "stage", "progress", "eta", "elapsed", "created"]


def main(args) -> int:
    store = RunStore(default_runs_dir(args.runs_dir))
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
    return 0
