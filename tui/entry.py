"""The `rdtui` console script: the command line, which opens the dashboard when no subcommand is
given on a terminal."""

from __future__ import annotations

import argparse
import sys

from core.cli import main as cli_main
from core.paths import default_config_path, default_runs_dir


def open_app(args: argparse.Namespace) -> int:
    from tui.startup import pause_collection, resume_collection

    pause_collection()  # until the first paint (tui.startup)
    try:
        from tui.app import RdtuiApp

        app = RdtuiApp(default_runs_dir(args.runs_dir), str(default_config_path(getattr(args, "config", None))))
        return run_app(app)
    finally:
        resume_collection()  # an app that ended before its first paint (a crash, an import error)


def run_app(app, *, headless: bool = False) -> int:
    """Run the app; after a crash (Textual has printed the traceback) say where it was saved and exit 1."""
    app.run(headless=headless)
    if not app.return_code:
        return 0
    where = f"saved to {app.crash_file}" if app.crash_file else "could not be saved to a file"
    print(f"rdtui: the app crashed; the traceback above is {where}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, open_app=open_app)


if __name__ == "__main__":
    sys.exit(main())
