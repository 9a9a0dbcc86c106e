"""The symbolic fallback: Math-Verify (gold first) in persistent worker processes with a hard deadline.

Math-Verify's own timeout uses signal.alarm, which works only in a main thread and cannot
interrupt sympy stuck inside C code. Here each comparison runs in a long-lived child process
(symbolic_worker.py) that has already imported math_verify; the caller waits on the pipe with
select() for at most ``timeout_s`` and, past it, kills the child and starts a replacement in the
background. A timeout counts as "not equal" and is counted in ``symbolic_stats()``. Nothing here
needs the main thread, and a hung sympy can never hang the caller.
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
from dataclasses import dataclass
from pathlib import Path

SYMBOLIC_TIMEOUT_S = 0.5  # per comparison, once a worker is ready
STARTUP_TIMEOUT_S = 60.0  # importing sympy on a loaded machine can take many seconds
POOL_SIZE = 2  # one spare stays warm while a killed worker restarts
MAX_SYMBOLIC_CHARS = 1000  # longer answers are not worth a sympy parse: not equal
_MAX_STARTUP_FAILURES = 3
_WORKER_SCRIPT = Path(__file__).with_name("symbolic_worker.py")


@dataclass(frozen=True, slots=True)
class SymbolicResult:
    equal: bool
    timed_out: bool = False


class _WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            # -P: the script's folder must not shadow the standard library (numbers.py lives there).
            [sys.executable, "-P", "-u", str(_WORKER_SCRIPT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.buffer = b""
        self.ready = False

    def _readline(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
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
        if self._readline(time.monotonic() + STARTUP_TIMEOUT_S) is None:
            raise _WorkerDied("worker did not start")
        self.ready = True

    def ask(self, gold: str, pred: str, timeout_s: float) -> bool | None:
        """The worker's verdict, or None when it ran past ``timeout_s``."""
        try:
            self.proc.stdin.write((json.dumps({"gold": gold, "pred": pred}) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerDied(str(exc)) from exc
        line = self._readline(time.monotonic() + timeout_s)
        return None if line is None else bool(json.loads(line)["equal"])

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()


class SymbolicPool:
    """A few warm Math-Verify workers shared by the threads of one process."""

    def __init__(self, size: int = POOL_SIZE, timeout_s: float = SYMBOLIC_TIMEOUT_S):
        self.size = size
        self.timeout_s = timeout_s
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.started = False
        self.startup_failures = 0
        self.lock = threading.Lock()
        self.stats = {"calls": 0, "timeouts": 0, "errors": 0, "too_long": 0}

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
        self._count("calls")
        if len(gold) > MAX_SYMBOLIC_CHARS or len(pred) > MAX_SYMBOLIC_CHARS:
            self._count("too_long")
            return SymbolicResult(False)
        if self.startup_failures >= _MAX_STARTUP_FAILURES:
            self._count("errors")
            return SymbolicResult(False)
        self.start()
        worker = self.idle.get()
        try:
            worker.wait_ready()
            verdict = worker.ask(gold, pred, self.timeout_s)
        except _WorkerDied:
            self.startup_failures += 0 if worker.ready else 1
            self._count("errors")
            self._replace(worker)
            return SymbolicResult(False)
        if verdict is None:
            self._count("timeouts")
            self._replace(worker)
            return SymbolicResult(False, timed_out=True)
        self.startup_failures = 0
        self.idle.put(worker)
        return SymbolicResult(verdict)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self.idle.put(_Worker())

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
    """Math-Verify's verdict on the two cleaned answers, gold first; a timeout is not equal."""
    return pool().equal(gold, pred)


def symbolic_stats() -> dict[str, int]:
    """Counts since the pool started: calls, timeouts, errors (worker crashed or could not start), too_long."""
    p = pool()
    with p.lock:
        return dict(p.stats)


def warm_up() -> None:
    """Start the workers and wait until they are ready, so no comparison pays the import."""
    p = pool()
    p.start()
    workers = [p.idle.get() for _ in range(p.size)]
    for worker in workers:
        try:
            worker.wait_ready()
        except _WorkerDied:
            p.startup_failures += 1
            p._replace(worker)
            continue
        p.idle.put(worker)


@atexit.register
def _shutdown() -> None:
    if _pool is not None and _pool_pid == os.getpid():
        _pool.close()
