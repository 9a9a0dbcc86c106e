"""System metrics: the worker's sampler writes CPU, RAM and per-GPU readings to system.jsonl, and
the run view shows them as a System panel of curves and a live line in its header."""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import pytest

from core.store.jsonl import JsonlWriter
from core.training.sysmetrics import SYSTEM_FILE, SystemSampler
from tests.test_tui_app import app_for, chart, open_run
from tests.test_tui_support import T0, make_run, wait_for
from tui.widgets.curves import CurvesPane


def fake_nvml(gpus: int) -> types.ModuleType:
    """A stand-in for nvidia-ml-py (no GPU here): the calls the sampler makes, fixed readings."""
    nvml = types.ModuleType("pynvml")
    nvml.NVML_TEMPERATURE_GPU = 0
    nvml.nvmlInit = lambda: None
    nvml.nvmlShutdown = lambda: None
    nvml.nvmlDeviceGetCount = lambda: gpus
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=90 + h)
    nvml.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=(40 + h) * 1024**3, total=80 * 1024**3)
    nvml.nvmlDeviceGetPowerUsage = lambda h: 300_000 + h * 1000
    nvml.nvmlDeviceGetTemperature = lambda h, kind: 60 + h
    return nvml


def read_system(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / SYSTEM_FILE).read_text().splitlines()]


def test_sampler_writes_cpu_ram_and_each_gpu(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(2))
    sampler = SystemSampler(tmp_path, "grpo", interval=0.05).start()
    deadline = time.monotonic() + 30
    while not (tmp_path / SYSTEM_FILE).exists() or len(read_system(tmp_path)) < 3:
        assert time.monotonic() < deadline, "no readings"
        time.sleep(0.05)
    sampler.stop()
    records = read_system(tmp_path)
    last = records[-1]
    assert last["stage"] == "grpo" and 0 <= last["cpu_percent"] <= 100
    assert 0 < last["ram_used_gb"] and 0 < last["ram_percent"] <= 100 and 0 < last["proc_rss_gb"]
    assert (last["gpu0_util"], last["gpu1_util"]) == (90.0, 91.0)
    assert last["gpu1_mem_gb"] == 41.0 and last["gpu0_mem_percent"] == 50.0 and last["gpu0_power_w"] == 300.0
    steps = [r["step"] for r in records]
    assert steps == sorted(steps)
    count = len(records)
    time.sleep(0.3)
    assert len(read_system(tmp_path)) == count  # stopped means stopped


def test_sampler_without_nvml_or_with_a_broken_one_still_samples_the_machine(tmp_path, monkeypatch):
    broken = fake_nvml(1)
    broken.nvmlDeviceGetPowerUsage = lambda h: (_ for _ in ()).throw(RuntimeError("not supported"))
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    record = SystemSampler(tmp_path, "sft").sample()
    assert "gpu0_util" in record and "gpu0_power_w" not in record
    monkeypatch.setitem(sys.modules, "pynvml", None)  # not installed
    record = SystemSampler(tmp_path, "sft").sample()
    assert "ram_used_gb" in record and not [k for k in record if k.startswith("gpu")]


def test_telemetry_starts_the_sampler_with_training_and_stops_it_at_the_end(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from core.store.runstore import RunStore
    from core.training import sysmetrics
    from core.training.telemetry import TelemetryCallback

    monkeypatch.setattr(sysmetrics, "INTERVAL_S", 0.05)
    monkeypatch.setattr(sysmetrics.start_sampler, "__defaults__", (0.05,))
    run = RunStore(tmp_path / "runs").create("grpo_only", "local", "local", "study: {}\n")
    callback = TelemetryCallback(run, "grpo")
    state = types.SimpleNamespace(global_step=0, max_steps=10, is_world_process_zero=True)
    callback.on_train_begin(None, state, None)
    path = run.dir / SYSTEM_FILE
    deadline = time.monotonic() + 30
    while not path.exists() or len(read_system(run.dir)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    callback.on_train_end(None, state, None)
    count = len(read_system(run.dir))
    time.sleep(0.3)
    assert len(read_system(run.dir)) == count and read_system(run.dir)[0]["stage"] == "grpo"


def write_system(run_dir: Path, seconds: int, gpus: int = 2) -> None:
    JsonlWriter(run_dir / SYSTEM_FILE).append_many(
        [
            {
                "t": T0 + s,
                "stage": "grpo",
                "step": s,
                "cpu_percent": 40 + s % 20,
                "ram_used_gb": 12 + s / 100,
                "ram_percent": 20.0,
                "proc_rss_gb": 3.5,
                **{
                    f"gpu{g}_{k}": v
                    for g in range(gpus)
                    for k, v in (
                        ("util", 90 + g + s % 5),
                        ("mem_gb", 40.0 + g),
                        ("mem_percent", 50.0),
                        ("power_w", 300.0 + g),
                        ("temp_c", 60.0),
                    )
                },
            }
            for s in range(0, seconds, 10)
        ]
    )


async def test_run_view_shows_a_system_panel_and_a_live_header(runs_dir):
    run_dir = make_run(
        runs_dir, "grpo_only-a", "grpo_only", status="running", metrics=10, progress={"step": 10, "total": 60}
    )
    write_system(run_dir, 300)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        status = screen.query_one("#detail-status")
        await wait_for(pilot, lambda: "GPU1" in str(status.render()), what="the system line in the header")
        assert "CPU 50%" in str(status.render()) and "GPU0 90% 40.0 GB 300 W" in str(status.render())
        await pilot.press("6")
        pane = screen.query_one("#system-pane", CurvesPane)
        await wait_for(pilot, lambda: chart(pane, "gpu1_power_w") is not None, what="the system charts")
        assert [p.metric for p in pane.query("CurvePlot")][:4] == [
            "cpu_percent",
            "ram_used_gb",
            "gpu0_util",
            "gpu1_util",
        ]
        write_system(run_dir, 10, gpus=2)  # a new reading (appended at 0 s of a new round)
        await wait_for(pilot, lambda: "CPU 40%" in str(status.render()), what="the header following the file")
