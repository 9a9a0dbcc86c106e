"""The Modal backend before launch: one-line refusals, token detection, nothing left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from core.backends import modal_backend
from core.backends.modal_backend import ModalBackend, check_config, modal_token_configured
from core.config import load_study, resolve
from core.errors import RdtuiError
from core.store.runstore import RunStore
from tests.conftest import CONFIG, rdtui
from tests.volume_standin import launched_modal_run


def no_modal_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    return {**env, "HOME": str(home)}


def test_run_without_a_modal_token_fails_fast_with_one_line_and_creates_nothing(tmp_path):
    runs = tmp_path / "runs"
    env = no_modal_env(tmp_path)
    start = time.monotonic()
    proc = rdtui(
        "--runs-dir", str(runs), "run", "grpo_only", "--profile", "modal", "--config", str(CONFIG), env=env, input=""
    )
    elapsed = time.monotonic() - start
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0
    assert len(lines) == 1 and "modal token new" in lines[0] and "MODAL_TOKEN_ID" in lines[0], proc.stderr
    assert elapsed < 45.0  # no network: the client's offline retries alone take a minute (M19)
    assert not runs.exists() or not any(runs.iterdir())


def write_toml(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".modal.toml").write_text(text)
    return home


def test_token_detection_reads_the_environment_and_the_active_profile(tmp_path):
    assert not modal_token_configured({}, home=tmp_path / "nobody")
    assert modal_token_configured({"MODAL_TOKEN_ID": "ak-1", "MODAL_TOKEN_SECRET": "as-1"}, home=tmp_path)
    home = write_toml(tmp_path / "a", '[default]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\n')
    assert modal_token_configured({}, home=home)
    home = write_toml(
        tmp_path / "b", '[work]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\nactive = true\n[other]\ntoken_id = "ak-2"\n'
    )
    assert modal_token_configured({}, home=home)
    assert not modal_token_configured({"MODAL_PROFILE": "other"}, home=home)  # that profile has no secret
    assert not modal_token_configured({}, home=write_toml(tmp_path / "c", "not toml ["))


def test_config_checks_name_the_problem():
    study = load_study(CONFIG)
    check_config(resolve(study, "grpo_only", "modal"))
    with pytest.raises(RdtuiError, match="backend is 'local'"):
        check_config(resolve(study, "grpo_only", "local"))
    with pytest.raises(RdtuiError, match="local stand-in"):
        check_config(resolve(study, "grpo_only", "modal", overrides=["model.name=builtin:tiny-qwen3"]))
    # Several machines run on a Modal cluster, whose containers each take a whole 8-GPU machine.
    check_config(resolve(study, "grpo_only", "modal", overrides=["gpu.grpo=H100:8", "distributed.num_machines=2"]))
    with pytest.raises(RdtuiError, match="runs grpo on a Modal cluster, .* gpu.grpo needs 8 GPUs .*, not 4"):
        check_config(resolve(study, "grpo_only", "modal", overrides=["gpu.grpo=H100:4", "distributed.num_machines=2"]))


def test_preflight_refuses_before_any_network_when_no_token(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("MODAL_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    cfg = resolve(load_study(CONFIG), "sft_then_grpo", "modal")
    with pytest.raises(RdtuiError, match="modal token new"):
        ModalBackend().preflight([cfg])


class VolumeServer:
    """Stands in for Modal's Volume service: the real `modal.Volume` client methods' shapes over a folder."""

    def __init__(self, root: Path):
        self.root = root

    def listdir(self, path: str, recursive: bool = False):
        from modal.exception import NotFoundError
        from modal.volume import FileEntry, FileEntryType

        base = self.root / path
        if not base.exists():
            raise NotFoundError(f"no such path {path}")
        return [
            FileEntry(
                p.relative_to(self.root).as_posix(),
                FileEntryType.FILE if p.is_file() else FileEntryType.DIRECTORY,
                int(p.stat().st_mtime),
                p.stat().st_size,
            )
            for p in sorted(base.rglob("*"))
        ]

    def read_file(self, path: str):
        yield (self.root / path).read_bytes()


@pytest.fixture
def modal_run(tmp_path, monkeypatch):
    """A local Modal run whose driver call is `fc-1`, and its folder on a stand-in Volume."""
    import modal

    run, remote_dir = launched_modal_run(tmp_path, CONFIG)
    (remote_dir / "log.txt").write_text("[rdtui] stage grpo starts\n")
    monkeypatch.setattr(modal.Volume, "from_name", staticmethod(lambda name, **kw: VolumeServer(tmp_path / "volume")))
    return run


def test_refresh_mirrors_the_volume_and_leaves_a_live_call_alone(modal_run, monkeypatch):
    from core.backends import modal_backend

    monkeypatch.setattr(modal_backend, "driver_outcome", lambda call_id: (False, "running", None))
    ModalBackend().refresh(modal_run)
    record = modal_run.reload()
    assert record.status == "running" and record.modal_call_id == "fc-1"
    assert modal_run.log_path.read_text() == "[rdtui] stage grpo starts\n"


def test_refresh_records_a_driver_that_died_without_recording_its_end(modal_run, monkeypatch):
    from core.backends import modal_backend

    monkeypatch.setattr(
        modal_backend,
        "driver_outcome",
        lambda call_id: (True, "failed", f"Modal call {call_id} failed: FunctionTimeoutError"),
    )
    backend = ModalBackend()
    backend.refresh(modal_run)
    record = modal_run.reload()
    assert record.status == "failed" and record.error == "Modal call fc-1 failed: FunctionTimeoutError"
    assert record.finished_at is not None


class _Entry:
    def __init__(self, message: str):
        self.message = message


class _Logs:
    """Modal's FunctionCall.logs, standing in for its log service."""

    def __init__(self, messages: list[str], calls: list[tuple]):
        self.messages, self.calls = messages, calls

    def tail(self, entries):
        self.calls.append(("tail", entries))
        return iter(_Entry(m) for m in self.messages[-entries:])

    def fetch(self):
        self.calls.append(("fetch",))
        return iter(_Entry(m) for m in self.messages)

    def stream(self):
        self.calls.append(("stream",))
        return iter(_Entry(m) for m in self.messages)


def test_logs_from_modal_read_the_current_stage_call(modal_run, monkeypatch, capsys):
    from core.cli import main

    run = modal_run
    run.update(extra={**run.record.extra, "stage_call_id": "fc-stage"})
    calls: list[tuple] = []
    asked: list[str] = []

    def fake_call(call_id):
        asked.append(call_id)
        return type("Call", (), {"logs": _Logs(["step 1\n", "step 2\n", "step 3\n"], calls)})()

    monkeypatch.setattr(modal_backend, "function_call", fake_call)
    runs_dir = str(run.dir.parent)
    assert main(["--runs-dir", runs_dir, "logs", run.id, "--modal", "-n", "2"]) == 0
    assert capsys.readouterr().out == "step 2\nstep 3\n"
    assert main(["--runs-dir", runs_dir, "logs", run.id, "--modal", "-f"]) == 0
    assert capsys.readouterr().out == "step 1\nstep 2\nstep 3\n"
    assert asked == ["fc-stage", "fc-stage"] and calls == [("tail", 2), ("stream",)]


def test_logs_from_modal_refuse_a_local_run(runs_dir):
    run = RunStore(runs_dir).create("baseline", "local", "local", "")
    proc = rdtui("--runs-dir", str(runs_dir), "logs", run.id, "--modal")
    assert proc.returncode == 2 and "--modal is for Modal runs" in proc.stderr
