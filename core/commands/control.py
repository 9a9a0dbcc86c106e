"""`rdtui cancel RUN...` and `rdtui resume RUN... [--detach]`."""

from __future__ import annotations

from core.launch import cancel_run, resume_run
from core.runstore import RunStore
from core.paths import default_runs_dir


def main(args) -> int:
    store = RunStore(default_runs_dir(args.runs_dir))
    if args.command == "cancel":
        for run_id in args.runs:
            run = cancel_run(store, run_id)
            print(f"{run.id}: {run.reload().status}")
        return 0
    runs = [resume_run(store, run_id) for run_id in args.runs]
    for run in runs:
        print(f"resumed {run.id}")
    if args.detach:
        return 0
    from core.commands.run import follow

    return follow(runs)
