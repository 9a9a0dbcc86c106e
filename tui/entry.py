"""The `rdtui` console script: the command line, which opens the dashboard when no subcommand is
given on a terminal."""

from __future__ import annotations

import argparse
import sys

from core.cli import main as cli_main
from core.paths import default_config_path, default_runs_dir


def open_app(args: argparse.Namespace) -> int:
    from tui.app import RdtuiApp

    RdtuiApp(default_runs_dir(args.runs_dir), str(default_config_path(getattr(args, "config", None)))).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, open_app=open_app)


if __name__ == "__main__":
    sys.exit(main())
