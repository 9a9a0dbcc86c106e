"""Benchmarks of the app (prints figures; never pass/fail).

1. Start to the first painted runs screen with 1,000 runs in the store (the real app in a
   pseudo-terminal, timed until the runs table's title reaches the terminal), and until the newest
   run's pass@1 is painted (every run has an eval summary), next to a bare Textual app.
   Sorting the 1,000 runs (s), in process, next to a bare DataTable of 1,000 rows sorted by a column.
2. Opening a run whose log is 200 MB and whose metrics hold 100,000 points: time until the curves
   are drawn and the log's tail is loaded, and the process's peak RSS.
3. CPU of the app and bytes written to the terminal per second while 5 runs each write 20 log
   lines and 2 metric points a second: on the runs screen, and with one run's log followed.

Usage: .venv/bin/python bench/bench_tui.py [--repeat N] [--seconds S]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.store.jsonl import JsonlWriter  # noqa: E402
from tests.test_tui_support import make_run, write_metrics, write_summary  # noqa: E402

COLS, ROWS = 120, 40
# Python as a user runs it: byte code cached after the first start (a shell with
# PYTHONDONTWRITEBYTECODE=1 made every start compile the app's own modules, and only those: the
# installed libraries came with theirs).
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Terminal:
    """A child process on a pseudo-terminal; counts what it writes and answers nothing."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.master = master
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=REPO,
            env={**ENVIRONMENT, "TERM": "xterm-256color", **(env or {})},
            start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.output += data

    def wait_for(self, text: bytes, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                if text in self.output:
                    return time.perf_counter() - self.started
            time.sleep(0.002)
        raise TimeoutError(f"{text!r} never appeared")

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def bytes_written(self) -> int:
        with self.lock:
            return len(self.output)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)


def app_argv(runs_dir: Path) -> list[str]:
    return [sys.executable, "-m", "tui", "--runs-dir", str(runs_dir), "--config", str(REPO / "config.yaml")]


BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare-app-painted")
Bare().run()
"""


def thousand_runs(work: Path) -> Path:
    """1,000 finished runs with metrics and an eval summary each; the newest scores 98.7."""
    runs = work / "runs-1000-scored"
    if not runs.exists():
        for i in range(1000):
            run_dir = make_run(runs, f"cond{i % 6}-{i:04d}", f"cond{i % 6}", metrics=20, created=1_750_000_000 + i)
            write_summary(run_dir, "gsm8k_test", accuracy=0.987 if i == 999 else 0.25 + (i % 50) / 100, pass4=0.9)
    return runs


def bench_first_paint(work: Path, repeat: int) -> None:
    """Cold: the app has never opened this store (no rows kept from a last session, see
    tui/feeds/rowcache.py); warm: it has, and the runs have not changed since."""
    runs = thousand_runs(work)
    empty_store = work / "runs-empty"
    empty_store.mkdir(exist_ok=True)
    warm_state = work / "state-warm"
    shutil.rmtree(warm_state, ignore_errors=True)
    prime = Terminal(app_argv(runs), env={"XDG_STATE_HOME": str(warm_state)})  # the last session
    prime.wait_for(b"98.7")
    deadline = time.perf_counter() + 30
    while not list(warm_state.glob("rdtui/rows/*.pickle")) and time.perf_counter() < deadline:
        time.sleep(0.1)
    prime.close()
    figures: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def measure(name: str, term: Terminal, marker: bytes) -> None:
        figures.setdefault(name, []).append(term.wait_for(marker))
        cpu.setdefault(name, []).append(term.cpu_seconds())  # what the start-up cost, whatever else ran

    for n in range(repeat):
        term = Terminal([sys.executable, "-c", BARE_APP])
        measure("bare", term, b"bare-app-painted")
        term.close()
        term = Terminal(app_argv(empty_store))  # the app's own start-up, with nothing to read
        measure("empty", term, b"0 runs")
        term.close()
        term = Terminal(app_argv(runs), env={"XDG_STATE_HOME": str(work / f"state-cold-{n}")})
        measure("cold", term, b"1000 runs")
        measure("cold98", term, b"98.7")
        term.close()
        shutil.rmtree(work / f"state-cold-{n}", ignore_errors=True)
        term = Terminal(app_argv(runs), env={"XDG_STATE_HOME": str(warm_state)})
        measure("warm", term, b"1000 runs")
        measure("warm98", term, b"98.7")
        term.close()
    base = statistics.median(figures["bare"])
    labels = {
        "bare": "first paint, bare Textual app",
        "empty": "first paint, runs screen, empty store",
        "cold": "first paint, 1,000 runs, first start",
        "cold98": "pass@1 painted, 1,000 runs, first start",
        "warm": "first paint, 1,000 runs, started before",
        "warm98": "pass@1 painted, 1,000 runs, started before",
    }
    for name, label in labels.items():
        wall, used = statistics.median(figures[name]), statistics.median(cpu[name])
        # The ratio is the median of each round's ratio to the bare app started just before it:
        # the machine's speed drifts between rounds far more than within one.
        ratio = statistics.median(a / b for a, b in zip(figures[name], figures["bare"]))
        ratio_cpu = statistics.median(a / b for a, b in zip(cpu[name], cpu["bare"]))
        print(
            f"{label + ':':44s} median {wall:.3f} s  ratio {ratio:.2f}x"
            f"  (CPU {used:.2f} s, ratio {ratio_cpu:.2f}x)  ({_list(figures[name])})"
        )
    print(f"(ratios: median over rounds of each round's figure over its bare app's; bare median {base:.3f} s)")


SORT = """
import asyncio, json, sys, time
from textual.app import App
from textual.widgets import DataTable
from tui.app import RdtuiApp

COLUMNS = ["condition", "status", "latest", "pass1", "run"]

class Bare(App):
    BINDINGS = [("s", "sort", "Sort")]
    turn = 0
    def compose(self):
        yield DataTable()
    def action_sort(self):
        self.query_one(DataTable).sort(COLUMNS[self.turn % 5])
        self.turn += 1

async def timed(pilot, key):
    start = time.perf_counter()
    await pilot.press(key)           # the key, handled by the app as a user's would be
    await pilot.pause()              # and the repaint that follows
    return time.perf_counter() - start

async def sorts(pilot, repeat):
    # (sort, a key bound to nothing) times, alternated: the second is what Pilot's press and
    # pause cost by themselves, to take off the first.
    sort, idle = [], []
    for _ in range(repeat):
        sort.append(await timed(pilot, "s"))
        idle.append(await timed(pilot, "x"))
    return sort, idle

async def main():
    repeat = int(sys.argv[3])
    app = RdtuiApp(sys.argv[1], sys.argv[2])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        while not (screen.rows and len(screen.rows) == 1000 and not screen.pending):
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        rdtui = await sorts(pilot, repeat)
    bare = Bare()
    async with bare.run_test(size=(120, 40)) as pilot:
        table = bare.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        for i in range(1000):
            table.add_row(f"cond{i % 6}", "succeeded", f"{i * 7 % 13}", f"{i % 50}", f"cond{i % 6}-{i:04d}", key=str(i))
        await pilot.pause(0.5)
        plain = await sorts(pilot, repeat)
    print(json.dumps({"rdtui": rdtui, "bare": plain}))

asyncio.run(main())
"""


def bench_sort(work: Path, repeat: int) -> None:
    runs = thousand_runs(work)
    out = subprocess.run(
        [sys.executable, "-c", SORT, str(runs), str(REPO / "config.yaml"), str(max(repeat, 5))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    figures = {}
    for name in ("bare", "rdtui"):
        sort, idle = result[name]
        figures[name] = statistics.median(sort) - statistics.median(idle)
        print(
            f"sort 1,000 runs (s), {'bare DataTable.sort' if name == 'bare' else 'rdtui runs screen  '}: "
            f"median {figures[name] * 1000:.1f} ms after the key and repaint "
            f"(key to repaint {statistics.median(sort) * 1000:.1f} ms, less {statistics.median(idle) * 1000:.1f} ms "
            "for a key bound to nothing)"
        )
    print(f"sort ratio, rdtui to a bare DataTable: {figures['rdtui'] / figures['bare']:.2f}x")


OPEN_RUN = """
import asyncio, json, sys, time
from tui.app import RdtuiApp
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.plot import CurvePlot
from tui.widgets.logview import LogView

def rss_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

async def main():
    app = RdtuiApp(sys.argv[1], sys.argv[2])
    async with app.run_test(size=(120, 40)) as pilot:
        while app.screen.query("DataTable").first().row_count == 0:
            await pilot.pause(0.01)
        await pilot.pause(3.0)  # the runs list settled (its scores read): a user opens a run later
        before = rss_mb("VmRSS")
        start = time.perf_counter()
        app.screen.action_open()
        painted = None
        while True:
            screen = app.screen
            if isinstance(screen, RunDetailScreen) and screen.is_mounted:
                painted = painted or time.perf_counter() - start
                plots = screen.query(CurvePlot)
                drawn = plots and any(any("\\u2800" < ch <= "\\u28ff" for ch in p.render_line(y).text)
                                      for p in plots for y in range(p.size.height))
                if drawn and screen.query_one(LogView).lines:
                    break
            await pilot.pause(0.005)
        ready = time.perf_counter() - start
        print(json.dumps({"painted": painted, "ready": ready, "rss_before": before, "peak_rss": rss_mb("VmHWM"),
                          "log_lines": len(screen.query_one(LogView).lines)}))

asyncio.run(main())
"""


def bench_open_big_run(work: Path, repeat: int) -> None:
    runs = work / "runs-big"
    run_dir = runs / "grpo_only-big"
    if not run_dir.exists():
        make_run(runs, "grpo_only-big", "grpo_only")
        for start in range(1, 100_001, 10_000):
            write_metrics(run_dir, start, start + 9_999)
        line = b"step 000000: loss 0.123456 reward 0.5 | some trainer chatter to make a realistic line\n"
        block = line * (8 << 20 // len(line))
        with open(run_dir / "log.txt", "wb") as fh:
            while fh.tell() < 200 << 20:
                fh.write(block)
    size_mb = (run_dir / "log.txt").stat().st_size / (1 << 20)
    results = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", OPEN_RUN, str(runs), str(REPO / "config.yaml")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    painted = [r["painted"] for r in results]
    ready = [r["ready"] for r in results]
    peak = [r["peak_rss"] for r in results]
    print(
        f"open run ({size_mb:.0f} MB log, 100,000 metric points): screen painted median {statistics.median(painted):.3f} s,"
        f" curves drawn + log tail loaded median {statistics.median(ready):.3f} s  ({_list(ready)})"
    )
    print(
        f"  peak RSS median {statistics.median(peak):.0f} MB (before opening: {results[0]['rss_before']:.0f} MB),"
        f" {results[0]['log_lines']:,} log lines loaded"
    )


def writer(runs: list[Path], stop: threading.Event) -> None:
    """Each run: 20 log lines and 2 metric points per second, in 10 slices a second."""
    step = 0
    while not stop.wait(0.1):
        step += 1
        for run_dir in runs:
            with open(run_dir / "log.txt", "a") as fh:
                fh.write(
                    "".join(f"[{time.time():.3f}] step {step}: loss {1 / step:.5f} tokens/s 1234.5\n" for _ in range(2))
                )
            if step % 5 == 0:
                JsonlWriter(run_dir / "metrics.jsonl").append(
                    {"t": time.time(), "stage": "grpo", "step": step // 5, "loss": 1 / step, "reward": (step % 17) / 17}
                )


def bench_follow(work: Path, seconds: float, repeat: int) -> None:
    for scenario, keys in (("runs screen", b""), ("one run's log followed", b"\r2")):
        cpu, rate = [], []
        for n in range(repeat):
            runs_root = work / f"runs-follow-{scenario[:3]}-{n}"
            shutil.rmtree(runs_root, ignore_errors=True)  # the writers grew the last ones
            dirs = [
                make_run(
                    runs_root,
                    f"grpo_only-{i}",
                    "grpo_only",
                    status="running",
                    metrics=50,
                    log_lines=100,
                    progress={"step": 50, "total": 500, "eta_s": 900},
                )
                for i in range(5)
            ]
            term = Terminal(app_argv(runs_root))
            term.wait_for(b"5 runs")
            if keys:
                for key in keys:
                    term.send(bytes([key]))
                    time.sleep(0.5)
            stop = threading.Event()
            thread = threading.Thread(target=writer, args=(dirs, stop), daemon=True)
            thread.start()
            time.sleep(2.0)  # settle: first reads done
            cpu0, bytes0, t0 = term.cpu_seconds(), term.bytes_written(), time.perf_counter()
            time.sleep(seconds)
            cpu1, bytes1, t1 = term.cpu_seconds(), term.bytes_written(), time.perf_counter()
            stop.set()
            thread.join()
            term.close()
            cpu.append(100 * (cpu1 - cpu0) / (t1 - t0))
            rate.append((bytes1 - bytes0) / (t1 - t0) / 1024)
        print(
            f"following 5 runs ({scenario}): CPU median {statistics.median(cpu):.1f}% of a core ({_list(cpu, '%')}),"
            f" terminal output median {statistics.median(rate):.2f} KB/s ({_list(rate, ' KB/s')})"
        )


def _list(values: list[float], unit: str = " s") -> str:
    return ", ".join(f"{v:.3f}{unit}" if unit == " s" else f"{v:.1f}{unit}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window when following runs")
    parser.add_argument("--work", default=None, help="folder for the fabricated stores (kept between runs)")
    parser.add_argument("--only", default=None, help="comma-separated: paint,sort,open,follow")
    args = parser.parse_args()
    work = Path(args.work or tempfile.gettempdir()) / "rdtui-bench-tui"
    work.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, terminal {COLS}x{ROWS}, store in {work}")
    parser_only = set(args.only.split(",")) if args.only else {"paint", "sort", "open", "follow"}
    if "paint" in parser_only:
        bench_first_paint(work, args.repeat)
    if "sort" in parser_only:
        bench_sort(work, args.repeat)
    if "open" in parser_only:
        bench_open_big_run(work, args.repeat)
    if "follow" in parser_only:
        bench_follow(work, args.seconds, max(1, args.repeat // 2))


if __name__ == "__main__":
    main()
