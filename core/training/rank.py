"""Entry point of each training process that `accelerate launch` starts (core/training/distributed.py):

    python -m core.training.rank RUN_DIR {sft,grpo} --result-dir DIR [--init MODEL] [--resume] [--prepare]

Every rank runs the same stage function; the trainer and the telemetry callback keep the writing
to rank 0. Each rank leaves `DIR/rank-<RANK>.json`: {"final": folder} or {"error": one line}, which
the launching process turns into the stage's result or the run's error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from core.errors import RdtuiError
from core.store.runstore import Run
from core.training.distributed import die_with_parent, write_outcome


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.training.rank")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("stage", choices=["sft", "grpo"])
    parser.add_argument("--result-dir", type=Path, required=True)
    parser.add_argument("--init", default=None, help="the previous stage's model (sft_then_grpo)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="one process, before the ranks: merge the SFT adapter into checkpoints/sft-merged",
    )
    return parser.parse_args(argv)


def run_stage(args: argparse.Namespace) -> Path:
    run = Run(args.run_dir)
    cfg = run.config()
    if args.prepare:
        from core.training.grpo import save_merged_sft

        return save_merged_sft(cfg.model, Path(args.init), run.merged_sft_dir)
    if args.stage == "sft":
        from core.training.sft import run_sft

        return run_sft(cfg, run, init_model=args.init, resume=args.resume)
    from core.training.grpo import run_grpo

    return run_grpo(cfg, run, init_model=args.init, resume=args.resume)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    die_with_parent()  # torchrun gives each rank its own session: go when the launcher goes
    rank = int(os.environ.get("RANK", "0"))
    if args.prepare:
        print(f"[rdtui] {args.stage}: one process prepares the start point before the ranks", flush=True)
    else:
        print(
            f"[rdtui] {args.stage}: rank {rank} of {os.environ.get('WORLD_SIZE', '1')} started (pid {os.getpid()})",
            flush=True,
        )
    try:
        final = run_stage(args)
    except RdtuiError as exc:
        print(f"[rdtui] rank {rank}: {exc}", file=sys.stderr, flush=True)
        write_outcome(args.result_dir, rank, {"error": str(exc)})
        return 2
    except Exception as exc:
        traceback.print_exc()
        write_outcome(args.result_dir, rank, {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]})
        return 1
    write_outcome(args.result_dir, rank, {"final": str(final)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
