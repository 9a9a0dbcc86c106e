"""`rdtui _worker RUN...`: the detached queue process the local backend starts (not for people)."""

from __future__ import annotations

import os

from core.backends.local import run_queue
from core.paths import default_runs_dir
from core.runstore import RunStore


def main(args) -> int:
    run_queue(
        RunStore(default_runs_dir(args.runs_dir)),
        args.runs,
        resume=os.environ.get("RDTUI_RESUME") == "1",
        max_parallel=max(1, int(os.environ.get("RDTUI_MAX_PARALLEL", "1"))),
    )
    return 0
