"""The app starts with the cyclic garbage collector paused (tui/startup.py) and turns it back on
after its first paint: a session never runs without it."""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import weakref

import pytest
from textual.widgets import DataTable

import tui.app
import tui.startup as startup
from tests.test_tui_app import REPO, app_for
from tests.test_tui_support import make_run, wait_for
from tui.entry import open_app


@pytest.fixture
def collector():
    """gc as it was before the test, whatever the test left."""
    was_enabled = gc.isenabled()
    yield
    startup._paused = False
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_collection_resumes_only_where_it_was_paused(collector):
    startup.resume_collection()  # never paused (the tests, an app embedded elsewhere): left alone
    assert gc.isenabled()
    startup.pause_collection()
    assert not gc.isenabled()

    class Node:
        pass

    freed: list[bool] = []
    garbage = Node()
    garbage.itself = garbage  # a cycle: only the collector frees it
    weakref.finalize(garbage, freed.append, True)
    del garbage
    _ = [[] for _ in range(20_000)]  # allocations that would have started collections
    assert not freed
    startup.resume_collection()
    assert gc.isenabled() and freed == [True]  # the start's garbage is collected once
    assert gc.get_freeze_count() == 0  # and nothing is frozen out of later collections
    startup.resume_collection()  # a second call (the timer after the first paint): nothing more
    assert gc.isenabled()


async def test_the_app_turns_collection_back_on_after_its_first_paint(collector, runs_dir):
    make_run(runs_dir, "grpo_only-1", "grpo_only", metrics=5)
    startup.pause_collection()
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1, what="the run listed")
        await wait_for(pilot, gc.isenabled, what="the collector back on")


def test_the_started_app_runs_with_the_collector_on(runs_dir, tmp_path):
    """The real start (tui.entry.open_app, behind `rdtui` and `python -m tui`) pauses the collector,
    and the painted app has it on again: a driver process runs that entry with the app headless."""
    make_run(runs_dir, "grpo_only-1", "grpo_only", metrics=5)
    driver = f"""
import argparse, asyncio, gc, sys
sys.argv = ["rdtui"]
import tui.entry as entry
import tui.app as app_module

seen = {{}}
original_run = app_module.RdtuiApp.run

def run(self, headless=False, **kwargs):
    async def drive():
        async with self.run_test(size=(100, 30)) as pilot:
            seen["paused_at_start"] = not gc.isenabled()
            for _ in range(400):
                await pilot.pause(0.05)
                if gc.isenabled() and self.screen.query("DataTable") and self.screen.query_one("DataTable").row_count:
                    break
            seen["enabled_after_paint"] = gc.isenabled()
    asyncio.run(drive())

app_module.RdtuiApp.run = run
entry.open_app(argparse.Namespace(runs_dir={str(runs_dir)!r}, config={str(REPO / "config.yaml")!r}))
print(seen)
"""
    out = subprocess.run(
        [sys.executable, "-c", driver],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "{'paused_at_start': True, 'enabled_after_paint': True}"


def test_an_app_that_ends_before_its_first_paint_leaves_the_collector_on(collector, runs_dir, monkeypatch):
    def crash_before_painting(self, **kwargs):
        raise RuntimeError("the terminal went away")

    monkeypatch.setattr(tui.app.RdtuiApp, "run", crash_before_painting)
    with pytest.raises(RuntimeError, match="terminal went away"):
        open_app(argparse.Namespace(runs_dir=str(runs_dir), config=str(REPO / "config.yaml")))
    assert gc.isenabled()
