"""`rdtui results [--format table|md|csv|json] [--run RUN]`: the study's table, one row per condition."""

from __future__ import annotations

import sys

from core.config import ConfigError, default_config_path, load_study
from core.paths import default_runs_dir
from core.reporting.results import collect_results, render_results
from core.store.runstore import RunStore


def main(args) -> int:
    store = RunStore(default_runs_dir(args.runs_dir))
    path = default_config_path()
    try:
        # The study gives the row order and the conditions that have no results yet; without it
        # the table still lists every condition found in the store.
        study = load_study(path) if path.exists() else None
    except ConfigError:
        study = None
    rows = collect_results(store, study, runs=args.run)
    print(render_results(rows, args.format))
    from core.reporting.results import report_revisions

    report_revisions(store, rows, show=getattr(args, "revisions", False))
    for run in store.list(status="corrupt"):
        print(f"rdtui: skipped {run.id}: corrupt: {run.record.error}", file=sys.stderr)
    return 0
