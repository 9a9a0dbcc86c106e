"""The symbolic fallback: Math-Verify (gold first) in persistent worker processes, with a CPU-time budget.

Math-Verify's own timeout uses signal.alarm, which works only in a main thread, counts wall time
and cannot interrupt sympy stuck inside C code. Here each comparison runs in a long-lived child
process (symbolic_worker.py) that has imported math_verify and run a few comparisons before it says
it is ready, so neither the import nor sympy's slow first calls count against any comparison.

Verdicts do not depend on how busy the machine is:
- the budget is the worker's CPU time for this comparison (read from /proc; wall time only where
  /proc is missing), so a worker that waits for a core is not timed out; a generous wall ceiling
  still bounds a worker that gets no CPU at all;
- a comparison over budget is retried once in another warm worker (the first one is killed and
  replaced in the background); over budget twice, it is *undecided* (``timed_out``), which callers
  report apart from "not equal";
- verdicts are cached by (gold, prediction), so the same pair is always judged the same way.
Nothing here needs the main thread, and a hung sympy can never hang the caller.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SYMBOLIC_CPU_BUDGET_S = 0.5  # CPU seconds one comparison may use in its (warm) worker
WALL_CEILING_S = 60.0  # a comparison that got no answer this long is given up even if it got no CPU
STARTUP_TIMEOUT_S = 180.0  # importing sympy and warming up on a saturated machine can take a long time
POOL_SIZE = 2  # one spare stays warm while a killed worker restarts
MAX_SYMBOLIC_CHARS = 1000  # longer answers are not worth a sympy parse: not equal
MAX_COMPLETION_CHARS = 200_000  # math-verify grading parses whole completions
CACHE_SIZE = 1 << 16
_POLL_S = 0.05
_MAX_STARTUP_FAILURES = 3
_WORKER_SCRIPT = Path(__file__).with_name("symbolic_worker.py")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class SymbolicResult:
    equal: bool
    timed_out: bool = False  # undecided: over the CPU budget twice, or no worker could start
    extracted: str | None = None  # math-verify grading: what Math-Verify read as the answer


class _WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            # -P: the script's folder must not shadow the standard library (numbers.py lives there).
            [sys.executable, "-P", "-u", str(_WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        # Both pipes exist: Popen was given PIPE for each.
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.buffer = b""
        self.ready = False

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the worker has used, or None where /proc cannot tell."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return None

    def _poll_line(self, timeout_s: float) -> bytes | None:
        """A complete line, or None when none arrived within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        fd = self.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _WorkerDied("worker exited")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def wait_ready(self) -> None:
        if self.ready:
            return
        if self._poll_line(STARTUP_TIMEOUT_S) is None:
            raise _WorkerDied("worker did not start")
        self.ready = True

    def ask(self, request: dict, budget_s: float) -> dict | None:
        """The worker's reply, or None when the comparison used more than ``budget_s`` of CPU time."""
        try:
            self.stdin.write((json.dumps(request) + "\n").encode())
            self.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerDied(str(exc)) from exc
        wall_start = time.monotonic()
        cpu_start = self.cpu_seconds()
        while True:
            line = self._poll_line(_POLL_S)
            if line is not None:
                return json.loads(line)
            cpu = self.cpu_seconds()
            used = cpu - cpu_start if cpu is not None and cpu_start is not None else time.monotonic() - wall_start
            if used > budget_s or time.monotonic() - wall_start > WALL_CEILING_S:
                return None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.stdin, self.stdout):
            stream.close()


class SymbolicPool:
    """A few warm Math-Verify workers shared by the threads of one process, and a verdict cache."""

    def __init__(self, size: int = POOL_SIZE, budget_s: float = SYMBOLIC_CPU_BUDGET_S):
        self.size = size
        self.budget_s = budget_s
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.started = False
        self.startup_failures = 0
        self.lock = threading.Lock()
        self.cache: OrderedDict[tuple[str, str, str], SymbolicResult] = OrderedDict()
        self.stats = {"calls": 0, "cache_hits": 0, "retries": 0, "timeouts": 0, "errors": 0, "too_long": 0}

    def _count(self, key: str) -> None:
        with self.lock:
            self.stats[key] += 1

    def start(self) -> None:
        with self.lock:
            if self.started:
                return
            self.started = True
        for _ in range(self.size):
            self.idle.put(_Worker())

    def equal(self, gold: str, pred: str) -> SymbolicResult:
        """Math-Verify's verdict on two cleaned answers."""
        return self._decide("answer", gold, pred, MAX_SYMBOLIC_CHARS)

    def grade_completion(self, gold: str, completion: str) -> SymbolicResult:
        """Math-Verify alone on a whole completion (its own answer extraction) against the gold answer."""
        return self._decide("completion", gold, completion, MAX_COMPLETION_CHARS)

    def _decide(self, mode: str, gold: str, pred: str, max_pred_chars: int) -> SymbolicResult:
        self._count("calls")
        if len(gold) > MAX_SYMBOLIC_CHARS or len(pred) > max_pred_chars:
            self._count("too_long")
            return SymbolicResult(False)
        key = (mode, gold, pred)
        with self.lock:
            cached = self.cache.get(key)
            if cached is not None:
                self.cache.move_to_end(key)
                self.stats["cache_hits"] += 1
                return cached
        result = self._ask({"mode": mode, "gold": gold, "pred": pred})
        if result is None:  # no worker could run it (counted in errors): undecided, and not cached
            return SymbolicResult(False, timed_out=True)
        with self.lock:
            self.cache[key] = result
            if len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        return result

    def _ask(self, request: dict) -> SymbolicResult | None:
        for attempt in range(2):
            reply = self._ask_once(request)
            if reply is None:
                return None
            if reply != "timeout":
                assert isinstance(reply, dict)  # _ask_once's only string is "timeout"
                return SymbolicResult(bool(reply.get("equal")), extracted=reply.get("extracted"))
            if attempt == 0:
                self._count("retries")
        self._count("timeouts")
        return SymbolicResult(False, timed_out=True)

    def _ask_once(self, request: dict) -> dict | str | None:
        """The reply, "timeout" when over budget, or None when no worker could start."""
        if self.startup_failures >= _MAX_STARTUP_FAILURES:
            self._count("errors")
            return None
        self.start()
        worker = self.idle.get()
        try:
            worker.wait_ready()  # start-up is never part of a comparison's budget
            reply = worker.ask(request, self.budget_s)
        except (_WorkerDied, ValueError) as exc:  # ValueError: a garbled reply line
            if isinstance(exc, _WorkerDied) and not worker.ready:
                self.startup_failures += 1
            self._count("errors")
            self._replace(worker)
            return None
        if reply is None:
            self._replace(worker)
            return "timeout"
        self.startup_failures = 0
        self.idle.put(worker)
        return reply

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self.idle.put(_Worker())

    def warm_up(self) -> None:
        """Start the workers and wait until each is ready."""
        self.start()
        workers = [self.idle.get() for _ in range(self.size)]
        for worker in workers:
            try:
                worker.wait_ready()
            except _WorkerDied:
                self.startup_failures += 1
                self._replace(worker)
                continue
            self.idle.put(worker)

    def close(self) -> None:
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                return


_pool: SymbolicPool | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def pool() -> SymbolicPool:
    """This process's pool (a forked child gets its own: pipes to the parent's workers are not its own)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = SymbolicPool(), os.getpid()
        return _pool


def symbolic_equal(gold: str, pred: str) -> SymbolicResult:
    """Math-Verify's verdict on the two cleaned answers, gold first; ``timed_out`` when undecided."""
    return pool().equal(gold, pred)


def math_verify_grade(gold: str, completion: str) -> SymbolicResult:
    """Math-Verify's verdict on a whole completion, reading the answer its own way."""
    return pool().grade_completion(gold, completion)


def symbolic_stats() -> dict[str, int]:
    """Counts since the pool started: calls, cache_hits, retries, timeouts (undecided after the retry),
    errors (a worker crashed or could not start), too_long."""
    p = pool()
    with p.lock:
        return dict(p.stats)


def start_workers() -> None:
    """Start the workers' import in the background (returns at once): the first comparison then
    rarely waits for it. Start-up never counts against a comparison's budget either way."""
    pool().start()


def warm_up() -> None:
    """Start the workers and wait until they are ready, so no comparison pays the import."""
    pool().warm_up()


@atexit.register
def _shutdown() -> None:
    if _pool is not None and _pool_pid == os.getpid():
        _pool.close()
