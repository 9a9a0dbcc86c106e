"""`rdtui run CONDITION... [--all] [--profile P] [--set k=v] [--detach]`."""

from __future__ import annotations

import sys
import time

from core.config import load_study
from core.errors import UsageError
from core.execution.launch import launch, plan_launch
from core.paths import default_runs_dir
from core.store.runstore import FINISHED, Run, RunStore

POLL_SECONDS = 0.5


def main(args) -> int:
    study = load_study(args.config)
    conditions = study.conditions if args.all else args.conditions
    if not conditions:
        raise UsageError("name at least one condition, or --all (conditions: " + ", ".join(study.conditions) + ")")
    plan = plan_launch(study, conditions, args.profile, args.overrides, args.overrides_file)
    if plan.cost and not args.yes:
        # Fail fast on a missing token or secret before asking anyone to confirm a cost.
        from core.backends import get_backend

        get_backend(plan.backend).preflight(plan.configs)
        _confirm_cost(plan)
    store = RunStore(default_runs_dir(args.runs_dir))
    runs = launch(plan, store)
    for run in runs:
        print(f"launched {run.id} ({plan.backend})")
    if args.detach:
        print("follow with: rdtui logs RUN -f   |   rdtui ls")
        return 0
    return follow(runs)


def _confirm_cost(plan) -> None:
    estimates = [e for e in plan.cost if e is not None]
    for estimate in estimates:
        print(estimate)
    print(f"estimated total: ${sum(e.total_usd for e in estimates):,.2f}")
    if not sys.stdin.isatty():
        raise UsageError("launching on Modal costs money: pass --yes to confirm without a terminal")
    if input("launch? [y/N] ").strip().lower() not in ("y", "yes"):
        raise UsageError("launch cancelled; nothing was created")


def follow(runs: list[Run]) -> int:
    """Progress bars until every run ends; Ctrl-C detaches and leaves the runs going."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from core.backends import get_backend

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
    ]
    try:
        with Progress(*columns, transient=False) as progress:
            tasks = {run.id: progress.add_task(run.record.condition, total=None, status="queued") for run in runs}
            while True:
                done = 0
                for run in runs:
                    get_backend(run.record.backend).refresh(run)
                    record = run.reload()
                    status = record.effective_status
                    p = record.progress or {}
                    label = f"{record.condition} {record.stage or ''}".rstrip()
                    progress.update(
                        tasks[run.id],
                        description=label,
                        total=p.get("total"),
                        completed=p.get("step") or 0,
                        status=status,
                    )
                    done += status in FINISHED or status == "lost"
                if done == len(runs):
                    break
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        print("\ndetached: the runs go on. Follow with `rdtui ls` or `rdtui logs RUN -f`.")
        return 0
    failures = 0
    for run in runs:
        record = run.reload()
        status = record.effective_status
        if status != "succeeded":
            failures += 1
            print(f"{run.id}: {status}" + (f": {record.error}" if record.error else ""), file=sys.stderr)
    return 1 if failures else 0
