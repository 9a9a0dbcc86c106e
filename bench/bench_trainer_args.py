"""What checking `trainer_args` costs at config time, in the same run (medians of 7, alternating):

1. `rdtui config show grpo_only` without trainer_args (the baseline),
2. the same with three TRL passthrough keys, checked against the shipped field table (no trl import),
3. what checking against the live TRL dataclasses would cost instead (`import trl` + the same
   command), the design that the shipped table avoids.

Run: .venv/bin/python bench/bench_trainer_args.py   (prints markdown)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPEATS = 7
PASSTHROUGH = ["--set", "grpo.trainer_args.loss_type=dr_grpo", "--set", "grpo.trainer_args.epsilon_high=0.28",
               "--set", "grpo.trainer_args.mask_truncated_completions=true"]
SHOW = ["-m", "core.cli", "config", "show", "grpo_only"]
CASES = {
    "config show, no trainer_args (baseline)": [sys.executable, *SHOW],
    "config show, 3 trainer_args (shipped field table)": [sys.executable, *SHOW, *PASSTHROUGH],
    "import trl + config show (live dataclass check, not used)": [
        sys.executable, "-c", "import sys, trl; from core.cli import main; sys.exit(main(sys.argv[1:]))",
        "config", "show", "grpo_only", *PASSTHROUGH],
}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    for cmd in CASES.values():   # warm the page cache once
        timed(cmd)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(REPEATS):
        for name, cmd in CASES.items():
            samples[name].append(timed(cmd))
    base = statistics.median(samples[next(iter(CASES))])
    print("| command | median s | vs baseline |")
    print("|---|---|---|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
