"""The `rdtui` command line: argument parsing and dispatch only.

Start-up cost matters (`rdtui --version`, `rdtui ls` are run in loops by scripts), so this module
imports nothing but the standard library; each subcommand's module in `core.commands` is imported
only when that subcommand runs, and heavy libraries only inside the work that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from core import __version__
from core.errors import ConfigError, RdtuiError


def _add_config_options(p: argparse.ArgumentParser, *, profile_default: str | None = "local") -> None:
    p.add_argument(
        "--config", default=None, metavar="FILE", help="study config (default: ./config.yaml, or RDTUI_CONFIG)"
    )
    p.add_argument("--profile", default=profile_default, metavar="P", help="profile to apply (default: %(default)s)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a resolved value; VALUE is read as YAML (repeatable)",
    )
    p.add_argument(
        "--overrides",
        dest="overrides_file",
        default=None,
        metavar="FILE",
        help="YAML file of overrides, shaped like the resolved config",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdtui",
        description="Terminal experiment manager for reasoning-trace distillation studies. "
        "Without a subcommand it opens the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"rdtui {__version__}")
    parser.add_argument("--runs-dir", default=None, metavar="DIR", help="runs folder (default: ./runs, or RDTUI_RUNS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    config = sub.add_parser("config", help="show or check the layered config")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_sub.add_parser("show", help="print the resolved config of a condition")
    show.add_argument("condition", nargs="?", default=None, help="condition (default: defaults only)")
    _add_config_options(show)
    show.add_argument("--explain", action="store_true", help="print each leaf with the layer and line that set it")
    show.add_argument("--format", choices=["yaml", "json"], default="yaml")
    check = config_sub.add_parser("check", help="validate every condition under every profile")
    check.add_argument("file", nargs="?", default=None, help="config file (default: ./config.yaml)")

    run = sub.add_parser("run", help="launch conditions (detached local processes or Modal)")
    run.add_argument("conditions", nargs="*", metavar="CONDITION")
    run.add_argument("--all", action="store_true", help="every condition, base_model included")
    _add_config_options(run)
    run.add_argument("--detach", action="store_true", help="return at once instead of following progress")
    run.add_argument("--yes", "-y", action="store_true", help="skip the cost confirmation (Modal)")

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument("--json", action="store_true", help="one JSON array of run records")
    ls.add_argument("--condition", default=None, help="only runs of this condition")
    ls.add_argument("--status", default=None, help="only runs with this status")

    logs = sub.add_parser("logs", help="print a run's log")
    logs.add_argument("run", metavar="RUN")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=None, help="only the last N lines")
    logs.add_argument("--modal", action="store_true", help="read a Modal run's output from Modal's log service")

    cancel = sub.add_parser("cancel", help="stop a run and its children")
    cancel.add_argument("runs", nargs="+", metavar="RUN")

    resume = sub.add_parser("resume", help="restart a lost, failed or cancelled run from its last checkpoint")
    resume.add_argument("runs", nargs="+", metavar="RUN")
    resume.add_argument("--detach", action="store_true")

    ev = sub.add_parser("eval", help="evaluate a run or a model on the benchmarks")
    ev.add_argument("target", metavar="RUN|MODEL")
    _add_config_options(ev)
    ev.add_argument("--benchmark", action="append", default=None, metavar="B")
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--start-from", type=int, default=0, metavar="I")
    ev.add_argument("--samples", type=int, default=None, metavar="n")
    ev.add_argument("--k", default=None, metavar="1,4,8")
    ev.add_argument("--quick", action="store_true", help="print 5 problems with full completions and verdicts")
    ev.add_argument(
        "--grader",
        choices=["rdtui", "math-verify"],
        default=None,
        help="grade with this grader; an evaluated RUN is re-graded from its journals, side by side",
    )

    results = sub.add_parser("results", help="the study's table: one row per condition")
    results.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    results.add_argument("--run", action="append", default=[], metavar="RUN", help="use this run for its condition")
    results.add_argument(
        "--revisions",
        action="store_true",
        help="also show the model and dataset commits (or content hashes) and library versions of each row",
    )

    grade = sub.add_parser("grade", help="grade JSONL completions (completion, answer, benchmark)")
    grade.add_argument("input", nargs="?", default="-", help="JSONL file, or - for stdin")
    grade.add_argument("--allow-last-number", action="store_true", help="fall back to the last number")
    grade.add_argument(
        "--think-prefilled",
        action="store_true",
        help="the chat template opened <think>: a completion without </think> is unfinished",
    )
    grade.add_argument("--answer-only", action="store_true", help="each completion is the bare answer (no markers)")
    grade.add_argument(
        "--multiple-boxes",
        choices=["last", "all_agree", "any"],
        default="last",
        help="which of several \\boxed{} counts (default: last)",
    )
    grade.add_argument("--decimal-tolerance", action="store_true", help="accept 0.333 for 1/3 (rounded decimals)")
    grade.add_argument(
        "--grader",
        choices=["rdtui", "math-verify"],
        default="rdtui",
        help="math-verify: Math-Verify alone on the whole completion, as published tables grade",
    )

    sync = sub.add_parser("sync", help="mirror Modal runs into the local run store")
    sync.add_argument("runs", nargs="*", metavar="RUN")
    sync.add_argument("--follow", action="store_true", help="keep syncing until the runs end")

    push = sub.add_parser(
        "push", help="upload a run's trained model or adapter to the Hugging Face hub, with a model card"
    )
    push.add_argument("run", metavar="RUN")
    push.add_argument("--to", required=True, metavar="HUB_ID", help="hub repo id, e.g. your-name/qwen3-re-distill")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--card-only", action="store_true", help="print the model card and upload nothing")

    plot = sub.add_parser("plot", help="figures for the paper (PNG/SVG/PDF; needs the `plot` extra: matplotlib)")
    plot.add_argument(
        "kind",
        choices=["curves", "results", "traces"],
        help="curves: training metrics of runs overlaid; results: scores with intervals per "
        "condition and benchmark; traces: think length and self-verification per condition",
    )
    plot.add_argument("runs", nargs="*", metavar="RUN", help="runs to draw (default: each condition's latest)")
    plot.add_argument("--out", default=None, metavar="FILE", help="FILE.png, .svg or .pdf (default: plots/KIND.png)")
    plot.add_argument(
        "--metric",
        action="append",
        default=None,
        metavar="[STAGE:]M",
        help="curves: a metric of metrics.jsonl, repeatable; STAGE: keeps one stage's "
        "(e.g. --metric sft:loss --metric grpo:reward, the default)",
    )
    plot.add_argument(
        "--smooth",
        type=float,
        default=0.6,
        metavar="W",
        help="curves: exponential smoothing weight in [0, 1) (default: %(default)s)",
    )
    plot.add_argument("--k", default=None, metavar="K", help="results: plot pass@K instead of accuracy")

    queue = sub.add_parser("_queue", help=argparse.SUPPRESS)
    queue.add_argument("runs", nargs="+")
    queue.add_argument("--max-parallel", type=int, default=1)
    queue.add_argument("--resume", action="store_true")
    queue.add_argument("--owner-fds", default="", metavar="ID:FD,...")
    return parser


# subcommand -> module in core.commands exposing main(args) -> int
COMMANDS = {
    "config": "config",
    "run": "run",
    "ls": "ls",
    "logs": "logs",
    "cancel": "control",
    "resume": "control",
    "eval": "eval",
    "results": "results",
    "grade": "grade",
    "sync": "sync",
    "push": "push",
    "plot": "plot",
    "_queue": "queue",
}


def main(argv: list[str] | None = None, open_app: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Parse and dispatch. `open_app` is how the `rdtui` script (tui.entry) opens the dashboard
    when no subcommand is given on a terminal; core itself never imports the app."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if open_app is not None and sys.stdout.isatty() and sys.stdin.isatty():
            return open_app(args)
        parser.print_help()
        return 0
    module = importlib.import_module(f"core.commands.{COMMANDS[args.command]}")
    try:
        return int(module.main(args) or 0)
    except RdtuiError as exc:
        print(str(exc) if isinstance(exc, ConfigError) else f"rdtui: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `rdtui ls | head`: the reader left; say nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # The machine said no (a full disk, a read-only folder): one line naming the file, not a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"rdtui: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
