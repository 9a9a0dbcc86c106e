"""`p` on Results and on Compare writes a figure through `rdtui plot`'s own code (matplotlib) to a
file the user names: the full path said, never an overwrite without asking, and a clear message
when matplotlib is missing."""

from __future__ import annotations

import os
import sys

import pytest
from textual.widgets import DataTable, Input

from core.store.runstore import RunStore
from tests.test_results import finished_run
from tests.test_tui_app import app_for, notices, open_run
from tests.test_tui_support import study_copy, wait_for, write_trl_metrics
from tui.screens.dialogs import ConfirmScreen, PathScreen
from tui.widgets.compare import ComparePane

pytest.importorskip("matplotlib")


async def answer_path(pilot, path) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PathScreen), what="the file question")
    app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")


async def open_results(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count >= 2, what="the runs")
    await pilot.press("t")
    await wait_for(pilot, lambda: getattr(app.screen, "rows", None), what="results rows")


async def test_results_plot_key_writes_the_figure_and_never_overwrites_silently(runs_dir, tmp_path):
    store = RunStore(runs_dir)
    finished_run(store, "base_model", 5)
    finished_run(store, "sft_traces", 12)
    config = study_copy(tmp_path)
    app = app_for(runs_dir, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_results(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PathScreen))
        default = app.screen.query_one(Input).value
        assert default == str(config.parent.resolve() / ".rdtui" / "exports" / "results.png")
        figure = tmp_path / "figures" / "results.svg"
        await answer_path(pilot, figure)
        await wait_for(pilot, lambda: any(f"Wrote {figure}" in n for n in notices(app)), what="the figure")
        svg = figure.read_text()
        assert svg.lstrip().startswith("<?xml") and "sft_traces" in svg  # drawn by matplotlib, text kept

        before = figure.stat().st_mtime_ns
        await pilot.press("p")
        await answer_path(pilot, figure)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the overwrite question")
        await pilot.press("enter")  # the default is No
        await pilot.pause(0.5)
        assert figure.stat().st_mtime_ns == before

        await pilot.press("p")
        await answer_path(pilot, tmp_path / "figures" / "results.txt")
        await wait_for(pilot, lambda: any(".png, .svg or .pdf file" in n for n in notices(app)))
        assert not (tmp_path / "figures" / "results.txt").exists()


async def test_compare_plot_key_writes_the_overlaid_curves(runs_dir, tmp_path):
    from tests.test_tui_support import GRPO_KEYS, make_run

    for name in ("grpo_only-a", "grpo_only-b"):
        write_trl_metrics(make_run(runs_dir, name, "grpo_only"), GRPO_KEYS, 30, "grpo")
    app = app_for(runs_dir, study_copy(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a", "grpo_only-b")
        await pilot.press("7")
        await wait_for(pilot, lambda: screen.query(ComparePane) and screen.query_one(ComparePane).has_focus)
        await pilot.press("p")
        figure = tmp_path / "curves.png"
        await answer_path(pilot, figure)
        await wait_for(pilot, lambda: any(f"Wrote {figure}" in n for n in notices(app)), what="the figure")
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(figure) > 10_000  # eleven panels of two runs, not an empty canvas


async def test_plot_key_says_how_to_install_matplotlib_when_it_is_missing(runs_dir, tmp_path, monkeypatch):
    store = RunStore(runs_dir)
    finished_run(store, "base_model", 5)
    finished_run(store, "sft_traces", 12)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    app = app_for(runs_dir, study_copy(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_results(pilot)
        await pilot.press("p")
        figure = tmp_path / "results.png"
        await answer_path(pilot, figure)
        await wait_for(pilot, lambda: any("needs matplotlib" in n for n in notices(app)), what="the message")
        assert any("pip install" in n for n in notices(app))
        assert not figure.exists()
