"""Reading the run store off the event loop.

One poller thread reads every subscribed source about once a second and leaves what it found in
each feed; the app takes all pending batches on one timer tick and hands them to the widgets, so
a burst of log lines or metric points costs one repaint, not one per line. A feed's first result
wakes the app at once, so a screen fills as soon as its files are read.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import CorruptRun, RunNotFound
from core.store.jsonl import JsonlTail, parse_lines
from core.store.logtail import read_last_lines
from core.store.runstore import CONFIG_FILE, EVAL_DIR, METRICS_FILE, RUN_FILE, Run, RunRecord, read_record
from tui.logsource import LogChunk, LogSource
from tui.series import RunCurves

POLL_SECONDS = 1.0
READ_CHUNK = 256 << 10  # metrics parsed per step: the dicts of one chunk stay in the CPU's cache (4 MB: 25% slower)
SPARK_POINTS = 24
# Statuses that can turn `lost` with no file changing (the worker or its queue died).
UNFINISHED = frozenset({"queued", "running"})


class Feed:
    """A source polled in the poller thread; `flush` (app thread) delivers what piled up."""

    def __init__(self, deliver: Callable[[Any], None]):
        self._deliver = deliver
        self._lock = threading.Lock()
        self._pending: Any = None
        self._error: str | None = None
        self.wake: Callable[[], None] = lambda: None
        self.polled_once = False

    def poll(self) -> None:
        raise NotImplementedError

    def merge(self, old: Any, new: Any) -> Any:
        return new

    def put(self, batch: Any) -> None:
        with self._lock:
            self._pending = batch if self._pending is None else self.merge(self._pending, batch)

    def fail(self, message: str) -> None:
        with self._lock:
            self._error = message

    def flush(self, on_error: Callable[[str], None]) -> None:
        with self._lock:
            batch, self._pending = self._pending, None
            error, self._error = self._error, None
        if batch is not None:
            self._deliver(batch)
        if error is not None:
            on_error(error)


class Poller:
    def __init__(self, wake: Callable[[], None], interval: float = POLL_SECONDS):
        self._wake = wake
        self.interval = interval
        self._feeds: list[Feed] = []
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rdtui-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()

    @property
    def feeds(self) -> list[Feed]:
        with self._lock:
            return list(self._feeds)

    def add(self, feed: Feed) -> Feed:
        feed.wake = self._wake
        with self._lock:
            self._feeds.append(feed)
        self._kick.set()
        return feed

    def remove(self, feed: Feed) -> None:
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)

    def poke(self) -> None:
        """Poll now instead of at the next interval (after a user action)."""
        self._kick.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for feed in self.feeds:
                try:
                    feed.poll()
                except Exception as exc:  # a feed must never take the poller down with it
                    feed.fail(f"{type(exc).__name__}: {exc}")
                if not feed.polled_once:
                    feed.polled_once = True
                    self._wake()  # now, not after the feeds behind it (a long metrics file)
            self._kick.wait(self.interval)
            self._kick.clear()


# ---- the runs table -------------------------------------------------------------------------


@dataclass
class RunRow:
    record: RunRecord
    status: str
    metric: str | None = None  # what the latest value and sparkline show: reward, else loss
    latest: float | None = None
    spark: list[float] = field(default_factory=list)
    pass1: float | None = None


@dataclass
class RunsBatch:
    rows: dict[str, RunRow] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


def score(value: Any) -> float | None:
    """A score as the evaluator writes it: a number, or {"value": number, "ci95": [...]}."""
    if isinstance(value, dict):
        value = value.get("value")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def pass_at_1(summary: dict[str, Any]) -> float | None:
    passk = summary.get("pass@k")
    if isinstance(passk, dict) and (value := score(passk.get("1"))) is not None:
        return value
    return score(summary.get("accuracy"))


def _stat_key(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def load_record(run_dir: str) -> RunRecord | None:
    """A run's run.json through the run store's own reader (`read_record`), so its status is
    derived exactly as `rdtui ls` derives it (a queued run whose queue died is `lost`): None when
    there is none (a folder being deleted), a `corrupt` record saying why when it is unreadable or
    of the wrong shape. The record's id is its folder's name, so a copied run folder (two folders,
    one id inside) is two rows, not a clash."""
    path = Path(run_dir)
    try:
        record = read_record(path)
        _ = record.effective_status  # a check of pid and host types too
    except CorruptRun as exc:
        return RunRecord.corrupt(path, _one_line(exc))
    except RunNotFound:
        return None
    except Exception as exc:  # noqa: BLE001 - any shape of bad data is one corrupt row
        return RunRecord.corrupt(path, _one_line(exc))
    if record.id != path.name:
        record = replace(record, id=path.name)
        record._dir = path  # replace() leaves out the non-init field
    return record


def read_run_record(run_dir: Path) -> RunRecord | None:
    """One run's record for its own screen: as `load_record`, from a Path."""
    return load_record(str(run_dir))


def _one_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def latest_metric(path: Path) -> tuple[str | None, float | None, list[float]]:
    data, _ = read_last_lines(path, SPARK_POINTS * 2)
    records, _bad = parse_lines(data)
    for name in ("reward", "loss"):
        values = [
            float(r[name])
            for r in records
            if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)
        ]
        if values:
            return name, values[-1], values[-SPARK_POINTS:]
    return None, None, []


def benchmark_order(run_dir: Path) -> list[str]:
    """The run's `evaluation.benchmarks`, read off its snapshot (one JSON value per line there)."""
    try:
        text = (run_dir / CONFIG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    match = re.search(r"^\s+benchmarks: (\[.*?\])", text, re.M)
    try:
        names = json.loads(match.group(1)) if match else []
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)]


def best_pass1(run_dir: Path) -> float | None:
    """pass@1 of the first benchmark in the run's config that has a finished summary."""
    eval_dir = run_dir / EVAL_DIR
    try:
        found = {p[:-5] for p in os.listdir(eval_dir) if p.endswith(".json")}
    except OSError:
        return None
    configured = benchmark_order(run_dir)
    ordered = [b for b in configured if b in found] + sorted(found - set(configured))
    for name in ordered:
        try:
            summary = json.loads((eval_dir / f"{name}.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(summary, dict) and (value := pass_at_1(summary)) is not None:
            return value
    return None


def refresh_modal_runs(runs: list[Run]) -> None:
    """Core's refresh of unfinished Modal runs, as `rdtui ls` calls it (the seam tests stand in
    for). Imported when first needed: the Modal backend costs 0.2 s to import."""
    from core.backends.modal_backend import refresh_modal_runs as refresh

    refresh(runs)


def modal_refresh_interval() -> float:
    from core.backends.modal_backend import REFRESH_INTERVAL_S

    return REFRESH_INTERVAL_S


class ModalRefresher:
    """Brings the store's unfinished Modal runs up to date from the Volume at most every
    REFRESH_INTERVAL_S (5 s), like `rdtui ls`, in a thread of its own: Modal may take seconds to
    answer, and the poller must keep following logs meanwhile. The refresh rewrites run folders,
    which the runs feed then reads like any other change."""

    def __init__(self, on_error: Callable[[str], None]):
        self._on_error = on_error
        self._last: float | None = None
        self._thread: threading.Thread | None = None

    def maybe_refresh(self, runs: list[Run]) -> None:
        if not runs or (self._thread is not None and self._thread.is_alive()):
            return
        now = time.monotonic()
        if self._last is not None and now - self._last < modal_refresh_interval():
            return
        self._last = now
        self._thread = threading.Thread(target=self._refresh, args=(runs,), name="rdtui-modal-refresh", daemon=True)
        self._thread.start()

    def _refresh(self, runs: list[Run]) -> None:
        try:
            refresh_modal_runs(runs)
        except Exception as exc:  # noqa: BLE001 - offline or Modal down: the store is shown as it is
            self._on_error(f"Modal runs not refreshed: {_one_line(exc)}")


class RunsFeed(Feed):
    """Every run in the store: records re-read when run.json changes, metrics when they grow."""

    def __init__(self, root: Path, deliver: Callable[[RunsBatch], None]):
        super().__init__(deliver)
        self.root = root
        self._seen: dict[str, tuple] = {}  # run id -> (run.json key, metrics key, eval key)
        self._rows: dict[str, RunRow] = {}
        self._filled = False  # whether a poll has read the metrics and scores yet
        self._modal = ModalRefresher(self.fail)

    def merge(self, old: RunsBatch, new: RunsBatch) -> RunsBatch:
        old.rows.update(new.rows)
        old.removed -= set(new.rows)
        old.removed |= new.removed
        for run_id in new.removed:
            old.rows.pop(run_id, None)
        return old

    def poll(self) -> None:
        root = str(self.root)  # paths as strings: pathlib's cost shows at a thousand runs
        try:
            with os.scandir(root) as entries:
                dirs = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
        except FileNotFoundError:
            dirs = []
        records = RunsBatch(removed=set(self._seen) - set(dirs))
        for run_id in records.removed:
            self._seen.pop(run_id, None)
            self._rows.pop(run_id, None)
        for run_id in dirs:
            record_key = _stat_key(f"{root}/{run_id}/{RUN_FILE}")
            if record_key is None:
                continue
            old = self._seen.get(run_id)
            row = self._rows.get(run_id)
            if old is None or old[0] != record_key or row is None:
                record = load_record(f"{root}/{run_id}")
                if record is None:
                    continue
                if row is None:
                    row = self._rows[run_id] = RunRow(record, record.effective_status)
                else:
                    row.record, row.status = record, record.effective_status
                records.rows[run_id] = replace(row)
                self._seen[run_id] = (record_key, old[1], old[2]) if old else (record_key, None, None)
            elif row.record.status in UNFINISHED:
                status = row.record.effective_status  # a worker or queue that died changes no file
                if status != row.status:
                    row.status = status
                    records.rows[run_id] = replace(row)
        if records.rows or records.removed or not self.polled_once:
            self.put(records)  # the first batch even when empty: the screen then says so
        self._modal.maybe_refresh(
            [
                Run(self.root / run_id, row.record)
                for run_id, row in self._rows.items()
                if row.record.backend == "modal" and row.record.status in UNFINISHED
            ]
        )
        if not self.polled_once:
            # Paint the table before reading every run's metrics: they are read on the next poll,
            # which the screen asks for once the rows are on screen (reading them now would race
            # the first paint for the interpreter).
            self.wake()
            return
        self._read_extras(root)

    def _read_extras(self, root: str) -> None:
        """Latest metric, sparkline and pass@1 of the runs whose metrics or eval folder changed."""
        extras = RunsBatch()
        for run_id, (record_key, old_metrics, old_eval) in self._seen.items():
            metrics_key = _stat_key(f"{root}/{run_id}/metrics.jsonl")
            eval_key = _stat_key(f"{root}/{run_id}/eval")
            if metrics_key == old_metrics and eval_key == old_eval:
                continue
            row, run_dir = self._rows[run_id], self.root / run_id
            if metrics_key != old_metrics:
                row.metric, row.latest, row.spark = latest_metric(run_dir / METRICS_FILE)
            if eval_key != old_eval:
                row.pass1 = best_pass1(run_dir)
            self._seen[run_id] = (record_key, metrics_key, eval_key)
            extras.rows[run_id] = replace(row)
        if extras.rows:
            self.put(extras)
            if not self._filled:
                self.wake()  # the first metrics: show them now, not at the next tick
        self._filled = True


# ---- one run ---------------------------------------------------------------------------------


@dataclass
class RecordBatch:
    record: RunRecord | None
    status: str | None
    deleted: bool = False


class RecordFeed(Feed):
    def __init__(self, run_dir: Path, deliver: Callable[[RecordBatch], None]):
        super().__init__(deliver)
        self.run_dir = run_dir
        self._key: tuple | None = None
        self._status: str | None = None

    def poll(self) -> None:
        key = _stat_key(self.run_dir / RUN_FILE)
        if key is None:
            if self._key != ("deleted",):
                self._key = ("deleted",)
                self.put(RecordBatch(None, None, deleted=True))
            return
        if key == self._key and self._status not in UNFINISHED:
            return
        record = read_run_record(self.run_dir)
        if record is None:
            return
        status = record.effective_status
        if key != self._key or status != self._status:
            self._key, self._status = key, status
            self.put(RecordBatch(record, status))


@dataclass
class MetricsBatch:
    run_id: str
    curves: RunCurves | None = None  # a whole new set of curves (first read, or file replaced)
    records: list[dict] = field(default_factory=list)
    bad_lines: int = 0


def parse_chunk(data: bytes) -> tuple[list[dict], int]:
    """Whole lines of JSONL parsed as one JSON array (one call instead of one per line), falling
    back to line by line when any line is torn or corrupt."""
    body = data.rstrip(b"\n")
    if not body:
        return [], 0
    try:
        records = json.loads(b"[" + body.replace(b"\n", b",") + b"]")
    except ValueError:
        return parse_lines(data)
    if all(type(r) is dict for r in records):
        return records, 0
    return parse_lines(data)


class MetricsFeed(Feed):
    """One run's metrics.jsonl: the first read is folded into curves here, off the event loop."""

    def __init__(self, run_id: str, path: Path, deliver: Callable[[MetricsBatch], None]):
        super().__init__(deliver)
        self.run_id = run_id
        self.path = path
        self._tail: JsonlTail | None = None
        self._had_file = False

    def merge(self, old: MetricsBatch, new: MetricsBatch) -> MetricsBatch:
        if new.curves is not None:
            return new
        old.records.extend(new.records)
        old.bad_lines += new.bad_lines
        return old

    def poll(self) -> None:
        if self._tail is None:
            self._put_initial()
            return
        result = self._tail.poll()
        if result.reset:
            self._tail = None
            self._put_initial()
        elif result.records or result.bad_lines:
            self.put(MetricsBatch(self.run_id, records=result.records, bad_lines=result.bad_lines))

    def _put_initial(self) -> None:
        batch = self._initial()
        if batch is not None:
            self.put(batch)

    def _initial(self) -> MetricsBatch | None:
        """Read in bounded chunks so a 100,000-line file never sits in memory as dicts at once."""
        curves = RunCurves()
        consumed, bad = 0, 0
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if self._had_file:
                return None  # deleted under us: the curves already read stay on screen
            self._tail = JsonlTail(self.path)
            return MetricsBatch(self.run_id, curves=curves)
        self._had_file = True
        try:
            size = os.fstat(fd).st_size
            pos, rest = 0, b""
            while pos < size:
                block = os.pread(fd, min(READ_CHUNK, size - pos), pos)
                if not block:
                    break
                pos += len(block)
                data = rest + block
                cut = data.rfind(b"\n") + 1
                records, n_bad = parse_chunk(data[:cut])
                bad += n_bad
                curves.add_records(records)
                consumed += cut
                rest = data[cut:]
        finally:
            os.close(fd)
        self._tail = JsonlTail(self.path, offset=consumed)
        curves.bad_lines += bad
        return MetricsBatch(self.run_id, curves=curves, bad_lines=curves.bad_lines)


@dataclass
class LinesBatch:
    records: list[dict] = field(default_factory=list)
    reset: bool = False
    bad_lines: int = 0


class JsonlFeed(Feed):
    """New records of one JSONL file (samples, an evaluation journal)."""

    def __init__(self, path: Path, deliver: Callable[[LinesBatch], None]):
        super().__init__(deliver)
        self._tail = JsonlTail(path)

    def merge(self, old: LinesBatch, new: LinesBatch) -> LinesBatch:
        if new.reset:
            return new
        old.records.extend(new.records)
        old.bad_lines += new.bad_lines
        return old

    def poll(self) -> None:
        result = self._tail.poll()
        if result.records or result.reset or result.bad_lines:
            self.put(LinesBatch(result.records, result.reset, result.bad_lines))


class LogFeed(Feed):
    def __init__(self, path: Path, deliver: Callable[[LogChunk], None]):
        super().__init__(deliver)
        self.source = LogSource(path)
        self._opened = False
        self._want_older = False
        self.older: list[LogChunk] = []

    def merge(self, old: LogChunk, new: LogChunk) -> LogChunk:
        if new.reset:
            return new
        old.lines.extend(new.lines)
        old.invalid_utf8 |= new.invalid_utf8
        old.long_lines += new.long_lines
        old.missing = new.missing
        return old

    def request_older(self) -> None:
        self._want_older = True

    def poll(self) -> None:
        if not self._opened:
            self._opened = True
            chunk = self.source.read_tail()
            chunk.reset = True
            self.put(chunk)
            return
        if self._want_older:
            self._want_older = False
            older = self.source.read_older()
            with self._lock:
                self.older.append(older)
            self.put(LogChunk())  # so the app's next flush delivers the older lines
            self.wake()
        chunk = self.source.read_new()
        if chunk.lines or chunk.reset or chunk.missing:
            self.put(chunk)

    def take_older(self) -> list[LogChunk]:
        with self._lock:
            older, self.older = self.older, []
        return older


@dataclass
class EvalBatch:
    summaries: dict[str, dict] = field(default_factory=dict)
    journals: dict[str, LinesBatch] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class EvalFeed(Feed):
    """A run's eval/ folder: summaries re-read when they change, journals followed line by line."""

    def __init__(self, eval_dir: Path, deliver: Callable[[EvalBatch], None]):
        super().__init__(deliver)
        self.eval_dir = eval_dir
        self._summary_keys: dict[str, tuple | None] = {}
        self._journals: dict[str, JsonlTail] = {}

    def merge(self, old: EvalBatch, new: EvalBatch) -> EvalBatch:
        old.summaries.update(new.summaries)
        for bench, lines in new.journals.items():
            if bench in old.journals and not lines.reset:
                old.journals[bench].records.extend(lines.records)
                old.journals[bench].bad_lines += lines.bad_lines
            else:
                old.journals[bench] = lines
        old.errors.extend(new.errors)
        return old

    def poll(self) -> None:
        try:
            names = os.listdir(self.eval_dir)
        except OSError:
            names = []
        batch = EvalBatch()
        for name in sorted(names):
            path = self.eval_dir / name
            if name.endswith(".jsonl"):
                bench = name[: -len(".jsonl")]
                tail = self._journals.setdefault(bench, JsonlTail(path))
                result = tail.poll()
                if result.records or result.reset or result.bad_lines:
                    batch.journals[bench] = LinesBatch(result.records, result.reset, result.bad_lines)
            elif name.endswith(".json"):
                bench = name[: -len(".json")]
                key = _stat_key(path)
                if key == self._summary_keys.get(bench):
                    continue
                self._summary_keys[bench] = key
                try:
                    summary = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    batch.errors.append(f"{path.name}: unreadable summary ({exc})")
                    continue
                if isinstance(summary, dict):
                    batch.summaries[bench] = summary
        if batch.summaries or batch.journals or batch.errors or not self.polled_once:
            self.put(batch)  # the first poll even when empty: the tab then says there is nothing
