"""What checking `trainer_args` costs at config time, in the same run (medians of 7, alternating):

1. `rdtui config check` of the study (every condition under every profile), no trainer_args (baseline),
2. the same study with `trainer_args` in defaults.sft and defaults.grpo (checked in every resolve,
   against the shipped field table: no trl import),
3. what checking against the live TRL dataclasses would cost instead (importing SFTConfig and
   GRPOConfig + the same check), the design that the shipped table avoids.

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
STUDY = (REPO / "config.yaml").read_text()
WITH_ARGS = STUDY.replace(
    "\n  sft:\n", "\n  sft:\n    trainer_args: {max_grad_norm: 0.5, optim: adamw_torch}\n", 1
).replace(
    "\n  grpo:\n",
    "\n  grpo:\n    trainer_args: {loss_type: dr_grpo, epsilon_high: 0.28, mask_truncated_completions: true}\n",
    1,
)
CHECK = ["-m", "core.cli", "config", "check"]


def cases(folder: Path) -> dict[str, list[str]]:
    plain, with_args = folder / "plain.yaml", folder / "with_args.yaml"
    plain.write_text(STUDY)
    with_args.write_text(WITH_ARGS)
    return {
        "config check, no trainer_args (baseline)": [sys.executable, *CHECK, str(plain)],
        "config check, trainer_args in sft and grpo (shipped field table)": [sys.executable, *CHECK, str(with_args)],
        "importing TRL's config classes + config check (a live check, not used)": [
            sys.executable,
            "-c",
            "import sys; from trl import GRPOConfig, SFTConfig; from core.cli import main; sys.exit(main(sys.argv[1:]))",
            "config",
            "check",
            str(with_args),
        ],
    }


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        commands = cases(Path(tmp))
        for cmd in commands.values():  # warm the page cache once
            timed(cmd)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPEATS):
            for name, cmd in commands.items():
                samples[name].append(timed(cmd))
    base = statistics.median(samples[next(iter(samples))])
    print("| command | median s | vs baseline |")
    print("|---|---|---|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
