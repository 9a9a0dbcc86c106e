"""Figures for the paper from the app (`p` on Results and Compare): written through `rdtui plot`'s
own `write_figure` (core/commands/plot.py, matplotlib as an optional extra) in a worker thread."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tui.screens.dialogs import choose_output_file

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def plot_to_chosen_file(app, kind: str, run_ids: list[str], default: Path, **options) -> None:
    """Ask for the figure's file (see choose_output_file), then draw and write it off the event loop."""

    def write(path: Path) -> None:
        app.run_worker(partial(_write, app, kind, run_ids, path, options), thread=True, group="plot")

    choose_output_file(app, f"Write the {kind} figure to (.png, .svg or .pdf):", default, FIGURE_SUFFIXES, write)


def _write(app, kind: str, run_ids: list[str], path: Path, options: dict) -> None:
    from core.commands.plot import write_figure
    from core.errors import RdtuiError
    from tui.config_edit import ignore_overrides_dir

    app.call_from_thread(app.notify, f"Drawing the {kind} figure…", markup=False)
    try:
        ignore_overrides_dir(path)
        write_figure(kind, app.store, run_ids, path, **options)
    except RdtuiError as exc:  # matplotlib missing, nothing to plot: said as rdtui plot says it
        app.call_from_thread(app.notify, str(exc), title="No figure written", severity="error", markup=False)
        return
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be drawn never takes the app down
        message = f"{path}: {type(exc).__name__}: {exc}"
        app.call_from_thread(app.notify, message, title="No figure written", severity="error", markup=False)
        return
    app.call_from_thread(app.notify, f"Wrote {path}", markup=False, timeout=10)
