"""`rdtui cancel RUN...` and `rdtui resume RUN... [--detach]`."""

from __future__ import annotations

from core.paths import default_runs_dir
from core.store.runstore import RunStore


def main(args) -> int:
    store = RunStore(default_runs_dir(args.runs_dir))
    if args.command == "cancel":
        from core.backends import get_backend

        # Not through core.execution.launch: cancelling needs no config, and importing it costs seconds on a busy machine.
        for run_id in args.runs:
            run = store.get(run_id)
            get_backend(run.record.backend).cancel(run)
            print(f"{run.id}: {run.reload().status}")
        return 0
    from core.execution.launch import resume_run

    runs = [resume_run(store, run_id) for run_id in args.runs]
    for run in runs:
        print(f"resumed {run.id}")
    if args.detach:
        return 0
    from core.commands.run import follow

    return follow(runs)
