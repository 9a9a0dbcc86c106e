"""`python -m tui [--runs-dir DIR] [--config FILE]`: the dashboard even without a terminal check
(benchmarks drive it through a pseudo-terminal)."""

from __future__ import annotations

import argparse

from tui.entry import open_app

parser = argparse.ArgumentParser(prog="python -m tui")
parser.add_argument("--runs-dir", default=None)
parser.add_argument("--config", default=None)
raise SystemExit(open_app(parser.parse_args()))
