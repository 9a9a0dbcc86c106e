"""Entry point of one run's process: `python -m core.execution.run_process RUN_DIR [--resume]`.

Its stdout and stderr are the run's log.txt (the local backend opens it); Modal containers call
`core.execution.pipeline.execute_run` directly with their own tee.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.execution.pipeline import execute_run
from core.hub import go_offline_if_unreachable
from core.store.runstore import Run


def main(argv: list[str]) -> int:
    if go_offline_if_unreachable():
        print("[rdtui] the Hugging Face hub cannot be reached: offline mode (local cache and paths only)", flush=True)
    run = Run(Path(argv[0]))
    status = execute_run(run, resume="--resume" in argv[1:])
    if status == "cancelled":
        _exit_now(1)  # asked to stop: no teardown (trackers' atexit hooks included)
    return 0 if status == "succeeded" else 1


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown: run.json is already written (and fsynced), and
    collecting a trainer's garbage takes seconds, long enough for `rdtui cancel` to SIGKILL us."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
