"""The runs list reopens a store from the rows kept by its last session (tui/feeds/rowcache.py):
what changed since is read again, what is gone is gone, and a damaged cache is no cache."""

from __future__ import annotations

import json
import os
import shutil
import time

from textual.widgets import DataTable

import tui.feeds.runs as runs_feed
from tests.test_tui_app import app_for
from tests.test_tui_support import make_run, wait_for, write_summary
from tui.feeds.rowcache import RowCache
from tui.feeds.runs import FIRST_SCREEN, RunRow, RunsFeed


def poll_twice(root, cache):
    """A session's first poll (records, and the scores of a screenful of the newest runs) and the
    one after the first paint (every run's scores); what each delivered, and the runs whose
    run.json or scores it read."""
    read = []
    original_record, original_scores = runs_feed.load_record, runs_feed.best_pass1

    def read_record(run_dir):
        read.append(run_dir.rsplit("/", 1)[-1])
        return original_record(run_dir)

    def read_scores(run_dir):
        read.append(f"scores {run_dir.rsplit('/', 1)[-1]}")
        return original_scores(run_dir)

    runs_feed.load_record, runs_feed.best_pass1 = read_record, read_scores
    try:
        feed = RunsFeed(root, lambda batch: None, cache=cache)
        feed.poll()
        feed.polled_once = True
        first, feed._pending = feed._pending, None
        feed.scores_wanted = True
        feed.poll()
        return first, feed._pending, read
    finally:
        runs_feed.load_record, runs_feed.best_pass1 = original_record, original_scores


def store(runs_dir, n=FIRST_SCREEN + 3):
    for i in range(n):
        run_dir = make_run(runs_dir, f"grpo_only-{i:03d}", "grpo_only", metrics=5, created=1_750_000_000 + i)
        write_summary(run_dir, "gsm8k_test", accuracy=(0.1, 0.2, 0.3)[i % 3], pass4=0.5)
    return RowCache(runs_dir, RunRow)


def test_a_second_session_takes_unchanged_rows_with_their_scores_from_the_first(runs_dir):
    cache = store(runs_dir)
    first, scores, read = poll_twice(runs_dir, cache)
    assert len([r for r in read if not r.startswith("scores")]) == FIRST_SCREEN + 3 and cache.path.exists()
    # A first session: the newest screenful comes scored, the oldest runs' scores a poll later.
    assert first.rows["grpo_only-062"].pass1 == 0.3 and first.rows["grpo_only-000"].pass1 is None
    assert scores.rows["grpo_only-000"].pass1 == 0.1

    first, scores, read = poll_twice(runs_dir, RowCache(runs_dir, RunRow))
    assert not [r for r in read if not r.startswith("scores")]  # no run.json read again
    assert first.rows["grpo_only-000"].pass1 == 0.1  # every run scored in the first batch
    assert len(first.rows) == FIRST_SCREEN + 3 and scores is None  # and nothing changed since
    # The scores are checked once more after the first paint (see the next test), never before it.
    assert len(read) == FIRST_SCREEN + 3


def test_a_summary_rewritten_in_place_since_the_last_session_is_corrected_after_the_first_paint(runs_dir):
    """cp, scp or an editor rewrite a file in place: its folder's time and size stay as they were."""
    cache = store(runs_dir)
    poll_twice(runs_dir, cache)
    eval_dir = runs_dir / "grpo_only-062" / "eval"
    kept = eval_dir.stat()
    summary = eval_dir / "gsm8k_test.json"
    summary.write_text(summary.read_text().replace('"value": 0.3', '"value": 0.9', 1))
    os.utime(eval_dir, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    first, scores, _ = poll_twice(runs_dir, RowCache(runs_dir, RunRow))
    assert first.rows["grpo_only-062"].pass1 == 0.3  # painted as kept
    assert set(scores.rows) == {"grpo_only-062"} and scores.rows["grpo_only-062"].pass1 == 0.9


def test_what_changed_or_went_away_since_the_last_session_is_read_again(runs_dir):
    cache = store(runs_dir)
    poll_twice(runs_dir, cache)
    record = json.loads((runs_dir / "grpo_only-001" / "run.json").read_text())
    record["status"] = "failed"
    (runs_dir / "grpo_only-001" / "run.json").write_text(json.dumps(record) + " ")
    write_summary(runs_dir / "grpo_only-000", "gsm8k_test", accuracy=0.9, pass4=0.95)
    (runs_dir / "grpo_only-000" / "eval" / "math500.json").write_text("{}")  # the eval folder changed
    shutil.rmtree(runs_dir / "grpo_only-002")
    make_run(runs_dir, "grpo_only-900", "grpo_only", metrics=5)

    first, scores, read = poll_twice(runs_dir, RowCache(runs_dir, RunRow))
    assert sorted(r for r in read if not r.startswith("scores")) == ["grpo_only-001", "grpo_only-900"]
    assert "grpo_only-002" not in first.rows and len(first.rows) == FIRST_SCREEN + 3
    assert first.rows["grpo_only-001"].status == "failed"
    assert scores.rows["grpo_only-000"].pass1 == 0.9


def test_a_damaged_or_foreign_cache_is_ignored_and_rewritten(runs_dir):
    cache = store(runs_dir)
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    for damage in (b"", b"\x80\x05garbage", b"not a pickle at all", json.dumps([1, 2]).encode()):
        cache.path.write_bytes(damage)
        first, _, read = poll_twice(runs_dir, RowCache(runs_dir, RunRow))
        assert len(read) == 2 * (FIRST_SCREEN + 3) and len(first.rows) == FIRST_SCREEN + 3
    other = RowCache(runs_dir.parent, RunRow)  # another store's rows under this store's name
    other.save({}, force=True)
    cache.path.write_bytes(other.path.read_bytes())
    _, _, read = poll_twice(runs_dir, RowCache(runs_dir, RunRow))
    assert len(read) == 2 * (FIRST_SCREEN + 3)
    _, _, read = poll_twice(runs_dir, RowCache(runs_dir, RunRow))
    assert not [r for r in read if not r.startswith("scores")]  # the session before rewrote the file


async def test_the_app_paints_every_runs_pass1_at_once_on_a_store_it_opened_before(runs_dir):
    store(runs_dir)
    for session in ("first", "second"):
        app = app_for(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert screen.query_one(DataTable).row_count  # read before the first paint, in either session
            table = screen.query_one(DataTable)
            assert str(table.get_cell("grpo_only-062", "pass1")) == "30.0"
            # Every run on screen is painted with its score (the first poll scores a terminal's height).
            visible = [row.key for row in table.ordered_rows[: table.size.height - table.header_height]]
            assert len(visible) >= 20 and all(str(table.get_cell(key, "pass1")) != "-" for key in visible)
            oldest = screen.rows["grpo_only-000"].pass1
            if session == "first":
                assert oldest is None  # read after the first paint
                await wait_for(pilot, lambda: RowCache(runs_dir, RunRow).path.exists(), what="the rows kept")
            else:
                assert oldest == 0.1


def test_rows_of_stores_not_opened_for_a_month_are_forgotten(runs_dir, tmp_path):
    cache = store(runs_dir, n=1)
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    stale, recent = cache.path.with_name("0" * 16 + ".pickle"), cache.path.with_name("1" * 16 + ".pickle")
    for path in (stale, recent):
        path.write_bytes(b"rows of another store")
    month_ago = time.time() - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    assert cache.save({}, force=True)
    assert cache.path.exists() and recent.exists() and not stale.exists()
