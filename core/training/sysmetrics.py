"""System metrics of a live run, sampled by the worker into the run folder (`system.jsonl`).

One line every `interval` seconds while a stage trains: {"t", "stage", "step": seconds since the
sampler started, "cpu_percent", "ram_used_gb", "ram_percent", "proc_rss_gb", and per GPU i
"gpu<i>_util", "gpu<i>_mem_gb", "gpu<i>_mem_percent", "gpu<i>_power_w", "gpu<i>_temp_c"}.
CPU and memory come from /proc (Linux: local workers and Modal containers alike); GPUs from NVML
through `nvidia-ml-py` when it is installed (vLLM depends on it), else they are left out. The file
is apart from metrics.jsonl so training curves never mix with machine readings; the app shows it
as the run's System panel. A sampler never fails the run: a reading that fails is left out.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from core.store.jsonl import JsonlWriter
from core.store.runstore import SYSTEM_FILE

INTERVAL_S = 10.0
GB = 1024**3


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def _meminfo() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                name, _, rest = line.partition(b":")
                parts = rest.split()
                if parts:
                    out[name.decode()] = int(parts[0]) * 1024
    except (OSError, ValueError):
        return {}
    return out


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Gpus:
    """NVML handles of every visible GPU; empty when NVML or a driver is missing."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # noqa: BLE001 - no package, no driver, no GPU: no GPU readings
            self.nvml, self.handles = None, []

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        nvml = self.nvml
        for i, handle in enumerate(self.handles):
            for name, read in (
                ("util", lambda h: float(nvml.nvmlDeviceGetUtilizationRates(h).gpu)),
                ("mem_gb", lambda h: nvml.nvmlDeviceGetMemoryInfo(h).used / GB),
                ("mem_percent", lambda h: 100.0 * (m := nvml.nvmlDeviceGetMemoryInfo(h)).used / m.total),
                ("power_w", lambda h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),
                ("temp_c", lambda h: float(nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU))),
            ):
                try:
                    out[f"gpu{i}_{name}"] = round(read(handle), 3)
                except Exception:  # noqa: BLE001, S112 - a reading this GPU does not support
                    continue
        return out

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001, S110 - shutting down NVML cannot fail the run
                pass


class SystemSampler:
    """A daemon thread writing one system reading every `interval` seconds until `stop()`."""

    def __init__(self, run_dir: Path, stage: str, interval: float = INTERVAL_S):
        self.writer = JsonlWriter(Path(run_dir) / SYSTEM_FILE)
        self.stage = stage
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rdtui-sysmetrics", daemon=True)
        self._start = time.monotonic()
        self._cpu = _cpu_times()
        self.gpus: Gpus | None = None

    def start(self) -> SystemSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def sample(self) -> dict[str, Any]:
        """One reading: CPU since the previous one, memory and GPUs now."""
        record: dict[str, Any] = {
            "t": time.time(),
            "stage": self.stage,
            "step": round(time.monotonic() - self._start, 1),
        }
        cpu = _cpu_times()
        if cpu is not None and self._cpu is not None and cpu[1] > self._cpu[1]:
            record["cpu_percent"] = round(100.0 * (cpu[0] - self._cpu[0]) / (cpu[1] - self._cpu[1]), 1)
        self._cpu = cpu
        mem = _meminfo()
        if "MemTotal" in mem and "MemAvailable" in mem:
            used = mem["MemTotal"] - mem["MemAvailable"]
            record["ram_used_gb"] = round(used / GB, 3)
            record["ram_percent"] = round(100.0 * used / mem["MemTotal"], 1)
        rss = _rss_bytes()
        if rss is not None:
            record["proc_rss_gb"] = round(rss / GB, 3)
        if self.gpus is None:
            self.gpus = Gpus()
        record.update(self.gpus.read())
        return record

    def _loop(self) -> None:
        try:
            while True:
                try:
                    self.writer.append(self.sample())
                except Exception:  # noqa: BLE001, S110 - a full disk or odd /proc costs readings, never the run
                    pass
                if self._stop.wait(self.interval):
                    break
        finally:
            if self.gpus is not None:
                self.gpus.close()


def start_sampler(run_dir: Path, stage: str, interval: float = INTERVAL_S) -> SystemSampler:
    return SystemSampler(run_dir, stage, interval).start()
