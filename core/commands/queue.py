"""`rdtui _queue RUN... --max-parallel N [--resume] --owner-fds ID:FD,...`: the detached queue process the local
backend starts (not for people). Everything it needs comes as arguments, so `ps` shows what it was asked to do."""

from __future__ import annotations

from core.backends.local import parse_owner_fds, run_queue
from core.paths import default_runs_dir
from core.store.runstore import RunStore


def main(args) -> int:
    run_queue(
        RunStore(default_runs_dir(args.runs_dir)),
        args.runs,
        resume=args.resume,
        max_parallel=max(1, args.max_parallel),
        owner_fds=parse_owner_fds(args.owner_fds),
    )
    return 0
