"""Start-up figures of the command line: `rdtui --version` and `rdtui ls` over 1,000 runs.

Prints the median wall time of 10 runs of each, next to a bare `python -c pass` in the same run
as the floor any Python command pays.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.store.runstore import RunStore  # noqa: E402

REPEATS = 10


def rdtui_command() -> list[str]:
    script = Path(sys.executable).with_name("rdtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]


def median_seconds(cmd: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="rdtui-bench-"))
    try:
        store = RunStore(root / "runs")
        conditions = ["base_model", "baseline", "sft_traces", "re_distill", "grpo_only", "sft_then_grpo"]
        for i in range(1000):
            run = store.create(conditions[i % 6], "local", "local", "x: 1\n")
            if i % 3 == 0:
                run.update(
                    status="running",
                    pid=os.getpid(),
                    progress={"stage": "sft", "step": i % 60, "total": 60, "eta_s": 30},
                )
            elif i % 3 == 1:
                run.update(status="running")
                run.update(status="succeeded", finished_at=time.time())
        env = {**os.environ, "RDTUI_RUNS": str(store.root)}
        floor = median_seconds([sys.executable, "-c", "pass"], env)
        version = median_seconds(rdtui_command() + ["--version"], env)
        listing = median_seconds(rdtui_command() + ["ls"], env)
        listing_json = median_seconds(rdtui_command() + ["ls", "--json"], env)
        print(f"python -c pass (floor)          {floor * 1000:7.1f} ms")
        print(f"rdtui --version                 {version * 1000:7.1f} ms   (aim < 250 ms)")
        print(f"rdtui ls, 1,000 runs            {listing * 1000:7.1f} ms   (aim < 250 ms)")
        print(f"rdtui ls --json, 1,000 runs     {listing_json * 1000:7.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
