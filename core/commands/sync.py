"""`rdtui sync [RUN...] [--follow]`: mirror Modal runs from the Volume into the local run store.

Without RUN, every Modal run that is not finished yet, and first every run on the Volume this store
has never seen (launched with another store or from another machine); a named RUN is synced
whatever its status. With --follow, it goes on until those runs end. Safe to stop at any moment and
start again: a closed laptop catches up on the next sync. Remote entries refused as unsafe are
counted and named, never written.
"""

from __future__ import annotations

import sys
import time

from core.paths import default_runs_dir
from core.store.runstore import FINISHED, Run, RunStore

FOLLOW_SECONDS = 5.0


def main(args) -> int:
    from core.backends.modal_backend import REFRESH_INTERVAL_S, ModalBackend, modal_token_configured

    store = RunStore(default_runs_dir(args.runs_dir))
    if not args.runs and modal_token_configured():
        _discover(store)
    runs = [store.get(run_id) for run_id in args.runs] if args.runs else _modal_runs(store)
    runs = [run for run in runs if run.record.backend == "modal"]
    if not runs:
        print("no Modal runs to sync")
        return 0
    backend = ModalBackend()
    first = True
    while True:
        for run in runs:
            before = run.record.status
            result = backend.refresh(run, force=first)  # asked for: now; then at the shared pace
            _say_refused(run.id, result.refused if result else [])
            record = run.reload()
            if record.status != before:
                print(f"{run.id}: {record.status}" + (f" ({record.error})" if record.error else ""))
        first = False
        pending = [run for run in runs if run.record.status not in FINISHED]
        if not args.follow or not pending:
            break
        runs = pending
        time.sleep(max(FOLLOW_SECONDS, REFRESH_INTERVAL_S))
    for run in runs:
        print(f"{run.id}: {run.record.status}, synced")
    return 0


def _discover(store: RunStore) -> None:
    from core.backends.modal_backend import first_line, volume
    from core.backends.sync import ModalVolumeFolder, discover_runs

    for name in _volume_names(store):
        try:
            found, refused = discover_runs(ModalVolumeFolder(volume(name)), store.root)
        except Exception as exc:  # offline or no such Volume: the runs known here still sync
            print(f"rdtui: cannot list Modal Volume {name!r}: {first_line(exc)}", file=sys.stderr)
            continue
        for run_id in found:
            print(f"{run_id}: found on Volume {name!r}")
        _say_refused(f"Volume {name!r}", refused)


def _volume_names(store: RunStore) -> list[str]:
    """The Volumes of the Modal runs here, and the modal profile's in the study config, if any."""
    names = []
    for run in store.list():
        if run.record.backend == "modal":
            try:
                names.append(run.config().modal.volume)
            except Exception:
                continue
    try:
        from core.config import load_study, resolve

        study = load_study(None)
        modal = resolve(study, next(iter(study.conditions)), "modal").modal
        if modal is not None:
            names.append(modal.volume)
    except Exception:
        pass
    return list(dict.fromkeys(names))


def _say_refused(where: str, refused: list[str]) -> None:
    if refused:
        print(
            f"rdtui: {where}: refused {len(refused)} remote entr{'y' if len(refused) == 1 else 'ies'} "
            f"(first: {refused[0]})",
            file=sys.stderr,
        )


def _modal_runs(store: RunStore) -> list[Run]:
    return [run for run in store.list() if run.record.backend == "modal" and run.record.status not in FINISHED]
