"""The app's data plumbing on its own: bucketed series, log reading, <think> splitting, YAML edits."""

from __future__ import annotations

import random
from pathlib import Path

from tui.config_edit import set_value, unified_diff
from tui.logsource import MAX_LINE_CHARS, LogSource
from tui.series import BucketSeries, MetricSeries, RunCurves
from tui.think import split_think


def test_buckets_keep_spikes_and_their_edges_never_move():
    series = BucketSeries(max_buckets=64)
    edges_seen: list[set[float]] = []
    for x in range(1, 10_001):
        series.add(float(x), 1000.0 if x == 7777 else float(x % 10))
        if x % 500 == 0:
            edges_seen.append({b.x0 for b in series.buckets})
    assert len(series.buckets) <= 64
    assert max(b.hi for b in series.buckets) == 1000.0  # the one spike survives 10,000 -> 64
    assert min(b.lo for b in series.buckets) == 0.0
    for earlier, later in zip(edges_seen, edges_seen[1:]):
        assert later <= earlier | {x for x in later if x > max(earlier)}  # old edges only disappear
    assert sum(b.count for b in series.buckets) == 10_000


def test_metric_view_grows_in_place_and_matches_a_rebuild():
    live = MetricSeries()
    for x in range(1, 3001):
        live.append(float(x), random.random())
        if x % 250 == 0:
            live.view(0.9, 0.0, False)
    rebuilt = MetricSeries()
    rebuilt.xs, rebuilt.ys = live.xs, live.ys
    assert [(b.x0, b.lo, b.hi) for b in live.view(0.9, 0.0, False).buckets] == [
        (b.x0, b.lo, b.hi) for b in rebuilt.view(0.9, 0.0, False).buckets
    ]


def test_run_curves_continue_the_x_axis_across_stages_and_count_bad_records():
    curves = RunCurves()
    curves.add_records([{"stage": "sft", "step": s, "loss": 1.0} for s in (1, 2, 3)])
    curves.add_records([{"stage": "grpo", "step": s, "loss": 0.5, "reward": 0.1} for s in (1, 2)])
    curves.add_records([{"stage": "grpo", "loss": 0.5}])
    assert list(curves.metrics["loss"].xs) == [1, 2, 3, 4, 5]
    assert list(curves.metrics["reward"].xs) == [4, 5]
    assert curves.bad_lines == 1


def test_log_tail_reads_a_bounded_window_then_older_pages_then_new_lines(tmp_path: Path):
    path = tmp_path / "log.txt"
    path.write_text("".join(f"line {i}\n" for i in range(200_000)))  # about 2.2 MB
    source = LogSource(path)
    tail = source.read_tail(max_bytes=64 * 1024)
    assert tail.lines[-1] == "line 199999" and len(tail.lines) < 10_000
    assert tail.lines[0].startswith("line ") and source.has_older
    older = source.read_older(max_bytes=64 * 1024)
    assert older.lines[-1] == f"line {int(tail.lines[0].split()[1]) - 1}"
    with open(path, "a") as fh:
        fh.write("new one\npartial")
    assert source.read_new().lines == ["new one"]
    with open(path, "a") as fh:
        fh.write(" done\n")
    assert source.read_new().lines == ["partial done"]
    path.write_text("replaced\n")
    replaced = source.read_new()
    assert replaced.reset and replaced.lines == ["replaced"]


def test_log_lines_with_bad_bytes_and_huge_lines_are_shown_safely(tmp_path: Path):
    path = tmp_path / "log.txt"
    path.write_bytes(b"ok\n\xff\xfe oops\n" + b"y" * 3_000_000 + b"\nprogress 10%\rprogress 90%\n")
    chunk = LogSource(path).read_tail(max_bytes=8 << 20)
    assert chunk.invalid_utf8 and chunk.long_lines == 1
    assert chunk.lines[1] == "\ufffd\ufffd oops"
    assert len(chunk.lines[2]) < MAX_LINE_CHARS + 50 and "2,998,000 more characters" in chunk.lines[2]
    assert chunk.lines[3] == "progress 90%"


def test_missing_log_is_reported_not_raised(tmp_path: Path):
    assert LogSource(tmp_path / "nope.txt").read_tail().missing


def test_think_split_handles_prefilled_unclosed_and_plain_completions():
    full = split_think("<think>\nadd\n</think>\nThe answer is 5")
    assert (full.think, full.answer, full.closed) == ("add", "The answer is 5", True)
    prefilled = split_think("reasoning here</think>\n\\boxed{3}")
    assert (prefilled.think, prefilled.answer) == ("reasoning here", "\\boxed{3}")
    cut = split_think("<think>\nstill thinking")
    assert (cut.think, cut.answer, cut.closed) == ("still thinking", "", False)
    assert split_think("just 7").think is None


STUDY_TEXT = """\
profiles:
  local:
    grpo:
      learning_rate: 2.0e-4         # far above 1e-6 so the tiny model moves
      max_steps: 40
      name: "a # b"   # quoted
    datasets:
      openr1_verified: {synthetic: digit_chain, formatter: openr1, size: 8000, limit: 4000,
                        wrong_step_rate: 0.7, seed: 3}   # a flow mapping over two lines
"""


def changed_lines(before: str, after: str) -> list[str]:
    diff = unified_diff(before, after, "config.yaml")
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_yaml_edit_keeps_comments_and_layout():
    after = set_value(STUDY_TEXT, ["profiles", "local", "grpo", "max_steps"], 20)
    assert changed_lines(STUDY_TEXT, after) == ["-      max_steps: 40", "+      max_steps: 20"]
    after = set_value(STUDY_TEXT, ["profiles", "local", "grpo", "learning_rate"], 1e-5)
    assert changed_lines(STUDY_TEXT, after) == [
        "-      learning_rate: 2.0e-4         # far above 1e-6 so the tiny model moves",
        "+      learning_rate: 1e-05         # far above 1e-6 so the tiny model moves",
    ]
    after = set_value(STUDY_TEXT, ["profiles", "local", "grpo", "name"], "c")
    assert changed_lines(STUDY_TEXT, after) == ['-      name: "a # b"   # quoted', "+      name: c   # quoted"]
    assert set_value(STUDY_TEXT, ["profiles", "local", "grpo", "max_steps"], 40) == STUDY_TEXT
    added = set_value("", ["grpo", "reward_weights"], {"correctness": 1.0, "format": 0.0})
    assert added == "grpo:\n  reward_weights: {correctness: 1.0, format: 0.0}\n"


def test_bulk_bucketing_equals_adding_points_one_by_one():
    xs = [float(x) for x in range(1, 5001)]
    ys = [random.random() for _ in xs]
    one_by_one = BucketSeries(max_buckets=100)
    for x, y in zip(xs, ys):
        one_by_one.add(x, y)
    bulk = BucketSeries(max_buckets=100)
    from array import array

    bulk.extend(array("d", xs), array("d", ys))
    assert bulk.size == one_by_one.size and bulk.buckets == one_by_one.buckets


def test_trend_sparkline_shows_the_trend_not_the_noise():
    from tui.widgets.styles import sparkline

    noisy_flat = [0.16, 0.21, 0.17, 0.20, 0.16, 0.21, 0.18, 0.20] * 3  # loss flat at 0.16-0.21
    line = sparkline(noisy_flat, 8)
    assert len(set(line)) <= 3  # no longer ▂█▃▁▆▄█▃
    rising = [i / 10 for i in range(24)]
    line = sparkline(rising, 8)
    assert list(line) == sorted(line) and line[0] != line[-1]
    assert set(sparkline([1.000, 1.001, 0.999, 1.0] * 4, 8)) <= {"▄", "▅"}  # a 0.1% wobble: one level


def test_trend_sparkline_of_a_diverged_run_draws_its_finite_points():
    """A run whose reward blew up logs inf, nan and values near float's limit: the trend leaves
    out what is not a number and never fails (the runs list crashed on 1e308 next to -1e308)."""
    from tui.widgets.styles import sparkline

    line = sparkline([1e308, float("-inf"), -1e308, float("nan"), 1.0, 2.0], 8)
    assert len(line) == 4 and line[0] == "█"
    assert sparkline([float("inf"), float("nan")], 8) == ""
