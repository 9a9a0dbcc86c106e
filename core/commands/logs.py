"""`rdtui logs RUN [-f] [-n N]`: print a run's log, optionally following it as it grows."""

from __future__ import annotations

import os
import sys
import time

from core.backends.modal_backend import refresh_modal_runs
from core.errors import CorruptRun, UsageError
from core.paths import default_runs_dir
from core.store.logtail import read_last_lines
from core.store.runstore import FINISHED, RunStore

POLL_SECONDS = 0.5


def main(args) -> int:
    run = RunStore(default_runs_dir(args.runs_dir)).get(args.run)
    if args.modal:
        return _from_modal(run, args)
    path = run.log_path
    out = sys.stdout.buffer
    if args.lines is not None:
        data, offset = read_last_lines(path, args.lines)
        out.write(data)
    else:
        offset = _copy_from(path, 0, out)
    out.flush()
    if not args.follow:
        return 0
    while True:
        refresh_modal_runs([run])  # a detached Modal run's log arrives through the sync (every 5 s at most)
        try:
            finished = run.reload().effective_status in FINISHED | {"lost"}
        except CorruptRun:
            finished = True  # nothing will say when it ends: print what there is and stop
        offset = _copy_from(path, offset, out)
        out.flush()
        if finished:
            return 0
        time.sleep(POLL_SECONDS)


def _from_modal(run, args) -> int:
    from core.backends import get_backend

    if run.record.backend != "modal":
        raise UsageError(f"run {run.id} runs on the {run.record.backend} backend; --modal is for Modal runs")
    for message in get_backend("modal").log_lines(run, follow=args.follow, entries=args.lines):
        sys.stdout.write(message)
        sys.stdout.flush()
    return 0


def _copy_from(path, offset: int, out) -> int:
    """Write the file's bytes from `offset` on; start over if it was truncated."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return offset
    try:
        size = os.fstat(fd).st_size
        if size < offset:
            offset = 0
        while offset < size:
            chunk = os.pread(fd, min(1 << 20, size - offset), offset)
            if not chunk:
                break
            out.write(chunk)
            offset += len(chunk)
    finally:
        os.close(fd)
    return offset
