"""Modal sync figures, against a folder standing in for the Volume (no network; the counts are
what a real Volume would serve, since its API reads whole files and lists whole folders).

1. Bytes transferred while a 20 MB log grows in 1 MB steps, synced after each step: segments (what
   the Modal containers write now) against whole-file re-reads (before), and the ratio to the
   file's size. Medians of 3 repeats.
2. Client calls per minute while `rdtui run` follows one running Modal run for 10 simulated minutes
   (a poll every 0.5 s, a new backend object per poll, the remote log growing every second and
   committed as a segment every 10 s): now against the old behaviour (no shared throttle,
   driver asked on every pass), measured in the same run by turning the throttles off.

Run: .venv/bin/python bench/bench_sync.py   (prints markdown)
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.backends import modal_backend  # noqa: E402
from core.backends.sync import SegmentWriter, sync_run  # noqa: E402
from tests.volume_standin import FolderVolume, ModalShapedVolume, append, launched_modal_run  # noqa: E402

RUN_ID = "grpo_only-20260101-000000-bench"
MB = 1 << 20
REPEATS = 3


def grow_log(root: Path, segments: bool) -> tuple[int, int]:
    """(bytes read from the Volume, final size) for 20 x 1 MB appends, a sync after each."""
    remote = root / "volume" / "runs" / RUN_ID
    remote.mkdir(parents=True)
    local = root / "store" / RUN_ID
    volume = FolderVolume(root / "volume")
    writer = SegmentWriter(remote)
    step = os.urandom(MB)
    for _ in range(20):
        append(remote / "log.txt", step)
        if segments:
            writer.write_new()
        sync_run(volume, RUN_ID, local)
    assert (local / "log.txt").read_bytes() == (remote / "log.txt").read_bytes()
    return volume.bytes_read, (remote / "log.txt").stat().st_size


class Clock:
    """Simulated time for the follow loop: the throttle files' mtimes follow it too."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


def follow(root: Path, throttled: bool, minutes: float = 10.0) -> dict[str, float]:
    """Calls per minute while following one running Modal run."""
    run, remote = launched_modal_run(root, REPO / "config.yaml", call_id="fc-bench")
    volume = ModalShapedVolume(root / "volume")
    writer = SegmentWriter(remote)
    driver_calls = []
    clock = Clock()
    saved = (modal_backend.volume, modal_backend.driver_outcome, modal_backend.time, modal_backend.claim_refresh)
    modal_backend.volume = lambda name: volume
    modal_backend.driver_outcome = lambda call_id: driver_calls.append(call_id) or (False, "running", None)
    modal_backend.time = types.SimpleNamespace(time=clock.time, monotonic=clock.monotonic)
    if not throttled:
        modal_backend.claim_refresh = lambda *a, **k: True
    try:
        polls = int(minutes * 60 / 0.5)
        for i in range(polls):
            clock.now += 0.5
            if i % 2 == 0:
                append(remote / "log.txt", b"step output " * 20 + b"\n")
            if i % 20 == 0:
                writer.write_new()
            modal_backend.ModalBackend().refresh(run)  # what `rdtui run`'s loop does each poll
    finally:
        modal_backend.volume, modal_backend.driver_outcome, modal_backend.time, modal_backend.claim_refresh = saved
    return {
        "listings": volume.listings / minutes,
        "reads": len(volume.reads) / minutes,
        "driver": len(driver_calls) / minutes,
        "total": (volume.listings + len(volume.reads) + len(driver_calls)) / minutes,
    }


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="rdtui-bench-sync-"))
    try:
        rows = {}
        for name, segments in (("whole-file re-read (before)", False), ("segments (now)", True)):
            results = []
            for i in range(REPEATS):
                results.append(grow_log(root / f"{name[:5]}-{i}", segments))
            read = statistics.median(r[0] for r in results)
            size = results[0][1]
            rows[name] = (read, size)
        print("### Sync transfer: a 20 MB log grown in 1 MB steps, synced after each step\n")
        print("| sync | bytes read from the Volume (median of 3) | x file size |")
        print("|---|---:|---:|")
        for name, (read, size) in rows.items():
            print(f"| {name} | {read / MB:,.1f} MB | {read / size:.2f}x |")
        base = rows["whole-file re-read (before)"][0] / rows["segments (now)"][0]
        print(
            f"\nSegments transfer {base:.1f}x fewer bytes than whole-file re-reads (aim: under 1.1x the file size).\n"
        )

        before = follow(root / "follow-before", throttled=False)
        now = follow(root / "follow-now", throttled=True)
        print("### Following one running Modal run (`rdtui run`, a poll every 0.5 s), calls per minute\n")
        print("| behaviour | Volume listings | file reads | driver `get` | total |")
        print("|---|---:|---:|---:|---:|")
        for name, row in (
            ("no shared throttle, driver asked every pass (before)", before),
            ("shared 5 s throttle, driver 1/min (now)", now),
        ):
            print(f"| {name} | {row['listings']:.1f} | {row['reads']:.1f} | {row['driver']:.1f} | {row['total']:.1f} |")
        print(
            f"\nRefresh passes per minute: {now['listings']:.1f} (aim: 12 or fewer); "
            f"total calls {before['total'] / now['total']:.1f}x fewer than before."
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
