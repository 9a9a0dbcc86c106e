"""Modal runs end in the right status, survive driver re-runs and redeploys: the backend and the
driver bodies against stand-in FunctionCall and Volume objects raising the installed client's own
exception classes (nothing here reaches Modal)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
from modal.exception import (
    FunctionTimeoutError,
    InputCancellation,
    NotFoundError,
    OutputExpiredError,
    RemoteError,
)
from modal.exception import (
    TimeoutError as ModalTimeoutError,
)

from core.backends import modal_backend
from core.backends.modal_backend import JobSettings, ModalBackend, driver_outcome
from core.config import load_study, resolve, resolve_full, snapshot_text
from core.errors import RdtuiError
from core.store.runstore import Run, RunRecord, RunStore, read_record, write_record
from modal_jobs import remote
from tests.conftest import CONFIG, REPO
from tests.volume_standin import ModalShapedVolume, StandInCall, launched_modal_run


def modal_cfg(condition: str = "grpo_only", overrides: list[str] | None = None):
    return resolve(load_study(CONFIG), condition, "modal", overrides=overrides)


# -- M1, M20: how a driver call ended ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "outcome,expected",
    [
        (ModalTimeoutError("still running"), (False, "running")),
        (FunctionTimeoutError("Function timed out after 86400s"), (True, "failed")),
        (OutputExpiredError("expired"), (True, "failed")),
        (InputCancellation(), (True, "cancelled")),
        (RemoteError("Function call was cancelled by the user"), (True, "cancelled")),
        (RemoteError("Input terminated"), (True, "cancelled")),
        (RemoteError("container crashed: exit code 137"), (True, "failed")),
        (RuntimeError("boom"), (True, "failed")),
    ],
)
def test_a_driver_call_s_end_maps_to_the_run_s_status(monkeypatch, outcome, expected):
    monkeypatch.setattr(modal_backend, "function_call", lambda call_id: StandInCall(call_id, outcome=outcome))
    ended, status, error = driver_outcome("fc-1")
    assert (ended, status) == expected
    if isinstance(outcome, FunctionTimeoutError):
        assert "24 h timeout" in error


def test_a_driver_that_returned_reports_the_run_s_status(monkeypatch):
    monkeypatch.setattr(modal_backend, "function_call", lambda call_id: StandInCall(call_id, result="succeeded"))
    assert driver_outcome("fc-1") == (True, "succeeded", None)


@pytest.fixture
def modal_run(tmp_path, monkeypatch):
    """A Modal run launched from here (driver `fc-1`, launch 1) and its folder on a stand-in Volume."""
    run, remote_dir = launched_modal_run(tmp_path, CONFIG)
    volume = ModalShapedVolume(tmp_path / "volume")
    monkeypatch.setattr(modal_backend, "volume", lambda name: volume)
    run.volume = volume
    run.remote_dir = remote_dir
    return run


def test_a_driver_past_its_timeout_ends_the_run_failed_instead_of_running_for_ever(modal_run, monkeypatch):
    monkeypatch.setattr(
        modal_backend, "function_call", lambda call_id: StandInCall(call_id, outcome=FunctionTimeoutError("timed out"))
    )
    ModalBackend().refresh(modal_run)
    record = modal_run.reload()
    assert record.status == "failed" and "timeout" in record.error and record.finished_at


# -- M2: one refresh per interval, whoever asks ----------------------------------------------------------------


def test_following_a_run_reads_the_volume_once_per_interval_across_backends_and_processes(modal_run, monkeypatch):
    rpcs = []
    monkeypatch.setattr(
        modal_backend, "driver_outcome", lambda call_id: rpcs.append(call_id) or (False, "running", None)
    )
    for _ in range(20):  # `rdtui run`'s follow loop builds a backend per 0.5 s poll
        ModalBackend().refresh(modal_run)
    assert modal_run.volume.listings == 1 and len(rpcs) == 1
    # Another process (the app, `logs -f`) asking now is told to wait too.
    code = (
        f"from core.backends.modal_backend import claim_refresh; from pathlib import Path; "
        f"print(claim_refresh(Path({str(modal_run.dir)!r})))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True).stdout.strip() == "False"
    )

    def age(mark: str, seconds: float) -> None:
        then = time.time() - seconds
        os.utime(modal_run.dir / mark, (then, then))

    age(modal_backend.REFRESH_MARK, modal_backend.REFRESH_INTERVAL_S + 1)
    ModalBackend().refresh(modal_run)
    assert modal_run.volume.listings == 2 and len(rpcs) == 1  # the driver is asked at most once a minute
    age(modal_backend.REFRESH_MARK, modal_backend.REFRESH_INTERVAL_S + 1)
    age(modal_backend.DRIVER_MARK, modal_backend.DRIVER_CHECK_INTERVAL_S + 1)
    ModalBackend().refresh(modal_run)
    assert modal_run.volume.listings == 3 and len(rpcs) == 2


# -- M4: a re-run driver re-attaches ---------------------------------------------------------------------------


def test_a_re_run_driver_re_attaches_to_its_stage_call_instead_of_cancelling_it(tmp_path):
    run_dir = tmp_path / "runs" / "grpo_only-20260101-000000-0001"
    run_dir.mkdir(parents=True)
    write_record(
        run_dir,
        RunRecord(
            id=run_dir.name,
            condition="grpo_only",
            profile="modal",
            backend="modal",
            status="running",
            extra={"launch": 1},
        ),
    )
    run = Run(run_dir)
    events, spawned, commits = [], [], []
    calls: dict[str, StandInCall] = {}

    def spawn():
        call = StandInCall(f"fc-stage-{len(spawned) + 1}", result="running", events=events)
        spawned.append(call)
        calls[call.object_id] = call
        return call

    first = remote.attach_or_spawn(
        run, "grpo", 1, spawn=spawn, from_id=calls.__getitem__, commit=lambda: commits.append(1)
    )
    assert read_record(run_dir).extra["stage_call"] == {"id": "fc-stage-1", "stage": "grpo", "launch": 1}
    assert commits == [1]  # recorded on the Volume before the driver waits on it
    # Modal re-runs the driver (a crash, a retry): it waits on the same call, cancels nothing.
    again = remote.attach_or_spawn(run, "grpo", 1, spawn=spawn, from_id=calls.__getitem__, commit=lambda: None)
    assert again is first and len(spawned) == 1 and not any(e[0] == "cancel" for e in events)
    assert again.get() == "running"
    # A resume (launch 2) stops what launch 1 left and starts its own call.
    third = remote.attach_or_spawn(run, "grpo", 2, spawn=spawn, from_id=calls.__getitem__, commit=lambda: None)
    assert third.object_id == "fc-stage-2" and ("cancel", "fc-stage-1") in events


# -- M7: a GPU stage that sees no CUDA fails at once -----------------------------------------------------------


def test_a_gpu_stage_without_cuda_fails_at_once_naming_the_gpu_and_torch(tmp_path):
    volume = tmp_path / "volume"
    run_id = "grpo_only-20260101-000000-0007"
    resolution = resolve_full(load_study(CONFIG), "grpo_only", "modal", overrides=["gpu.grpo=H100:2"])
    record = RunRecord(id=run_id, condition="grpo_only", profile="modal", backend="modal", extra={"launch": 1})
    remote.prepare_run_folder(
        volume,
        {"run_id": run_id, "record": record.to_dict(), "snapshot": snapshot_text(resolution), "launch": 1},
        "fc-driver",
    )
    commits = []
    start = time.monotonic()
    status = remote.run_stage(volume, run_id, "grpo", commit=lambda: commits.append(1))
    record = read_record(volume / "runs" / run_id)
    assert status == "failed" and record.status == "failed" and commits
    assert "gpu=H100:2" in record.error and "sees 0 CUDA device(s)" in record.error
    assert "stage grpo starts" not in (volume / "runs" / run_id / "log.txt").read_text()  # nothing was loaded
    assert time.monotonic() - start < 60


# -- M21: transient failures go to Modal's retries -------------------------------------------------------------


@pytest.mark.parametrize(
    "error,retried",
    [
        ("ConnectionError: 503 Server Error: Service Unavailable", True),
        ("RuntimeError: NCCL error in: ProcessGroupNCCL.cpp", True),
        ("OutOfMemoryError: CUDA out of memory", False),
    ],
)
def test_a_transient_stage_failure_is_raised_for_modal_to_retry(tmp_path, monkeypatch, error, retried):
    import core.execution.pipeline

    volume = tmp_path / "volume"
    run_id = "base_model-20260101-000000-0021"
    resolution = resolve_full(load_study(CONFIG), "base_model", "local")
    record = RunRecord(id=run_id, condition="base_model", profile="local", backend="modal", extra={"launch": 1})
    remote.prepare_run_folder(
        volume,
        {"run_id": run_id, "record": record.to_dict(), "snapshot": snapshot_text(resolution), "launch": 1},
        "fc-driver",
    )

    def failing(run, **kwargs):  # the training itself is what fails; its message is what we classify
        run.update(status="running")
        run.update(status="failed", error=error, finished_at=time.time())
        return "failed"

    monkeypatch.setattr(core.execution.pipeline, "execute_run", failing)
    if retried:
        with pytest.raises(remote.TransientStageError):
            remote.run_stage(volume, run_id, "eval", commit=lambda: None, commit_interval=60)
        assert read_record(volume / "runs" / run_id).status == "running"  # the retry carries on
    else:
        assert remote.run_stage(volume, run_id, "eval", commit=lambda: None, commit_interval=60) == "failed"
        assert read_record(volume / "runs" / run_id).error == error


# -- M12: every input starts from a fresh view of the Volume ---------------------------------------------------


def test_stage_and_driver_reload_the_volume_before_reading_it(tmp_path, monkeypatch):
    import core.execution.pipeline

    volume = tmp_path / "volume"
    run_id = "base_model-20260101-000000-0012"
    resolution = resolve_full(load_study(CONFIG), "base_model", "local")
    record = RunRecord(id=run_id, condition="base_model", profile="local", backend="modal", extra={"launch": 1})
    request = {"run_id": run_id, "record": record.to_dict(), "snapshot": snapshot_text(resolution), "launch": 1}
    events = []
    monkeypatch.setattr(
        remote, "prepare_run_folder", lambda *a, _real=remote.prepare_run_folder: events.append("read") or _real(*a)
    )
    remote.drive(
        volume,
        request,
        run_stage=lambda stage: "succeeded",
        commit=lambda: None,
        reload=lambda: events.append("reload"),
    )
    assert events[:2] == ["reload", "read"]
    events.clear()
    monkeypatch.setattr(core.execution.pipeline, "execute_run", lambda run, **kw: events.append("read") or "running")
    remote.run_stage(
        volume, run_id, "eval", commit=lambda: None, reload=lambda: events.append("reload"), commit_interval=60
    )
    assert events == ["reload", "read"]


# -- M5, M16: deployments that leave running runs alone, with progress -----------------------------------------


def test_each_settings_and_code_combination_is_a_deployment_of_its_own():
    plain = JobSettings.from_config(modal_cfg()).versioned()
    assert plain == JobSettings.from_config(modal_cfg()).versioned()  # stable: no redeploy
    with_wandb = JobSettings.from_config(modal_cfg(overrides=["telemetry.wandb=true"])).versioned()
    other_gpu = JobSettings.from_config(modal_cfg(overrides=["gpu.grpo=A100-80GB"])).versioned()
    names = {plain.deployed_name, with_wandb.deployed_name, other_gpu.deployed_name}
    assert len(names) == 3 and all(name.startswith("rdtui-") for name in names)
    assert "wandb" in with_wandb.secrets and "wandb" not in plain.secrets  # secrets travel with the run's deployment
    assert JobSettings.from_json(plain.to_json()) == plain  # the containers rebuild the same app


def test_a_launch_spawns_on_its_own_deployment_and_records_it(modal_run, monkeypatch):
    deployed, spawned = [], []
    monkeypatch.setattr(modal_backend, "deploy", lambda settings: deployed.append(settings.deployed_name))

    class Driver:
        def __init__(self, name):
            self.name = name

        def spawn(self, request):
            spawned.append((self.name, request["launch"]))
            return StandInCall("fc-new")

    monkeypatch.setattr(modal_backend, "driver_function", Driver)
    ModalBackend().launch([modal_run])
    record = modal_run.reload()
    assert deployed == [record.extra["modal_app"]] and spawned == [(record.extra["modal_app"], 2)]
    assert record.modal_call_id == "fc-new"


def test_a_deploy_streams_its_output_and_an_existing_deployment_is_reused(monkeypatch):
    settings = JobSettings.from_config(modal_cfg()).versioned()
    script = (
        "import sys, time\nfor i in range(3):\n    print(f'Building image step {i}', flush=True)\n"
        "print('Error: image build failed', file=sys.stderr)\nsys.exit(1)\n"
    )
    monkeypatch.setattr(modal_backend, "DEPLOY_COMMAND", [sys.executable, "-c", script])
    monkeypatch.setattr(modal_backend, "already_deployed", lambda name: False)
    out = io.StringIO()
    with pytest.raises(RdtuiError, match="modal deploy failed: Error: image build failed"):
        modal_backend.deploy(settings, out=out)
    lines = out.getvalue().splitlines()
    assert settings.deployed_name in lines[0]
    assert lines[1:4] == [f"  modal: Building image step {i}" for i in range(3)]
    monkeypatch.setattr(modal_backend, "already_deployed", lambda name: True)
    out = io.StringIO()
    modal_backend.deploy(settings, out=out)  # no subprocess: it would have failed
    assert out.getvalue() == ""


def test_an_unknown_deployment_is_not_deployed_yet(monkeypatch):
    class Missing:
        def hydrate(self):
            raise NotFoundError("App 'rdtui-0123' not found")

    monkeypatch.setattr(modal_backend, "driver_function", lambda name: Missing())
    assert not modal_backend.already_deployed("rdtui-0123")


# -- M17: cancel stops the driver first, and the cancel stands -------------------------------------------------


def test_cancel_stops_the_driver_before_the_stage_and_a_later_remote_failure_does_not_replace_it(
    modal_run, monkeypatch
):
    events = []
    running = read_record(modal_run.remote_dir)  # the driver recorded its stage call on the Volume
    running.extra["stage_call_id"] = "fc-stage"
    write_record(modal_run.remote_dir, running)
    monkeypatch.setattr(modal_backend, "function_call", lambda call_id: StandInCall(call_id, events=events))
    monkeypatch.setattr(modal_backend, "driver_outcome", lambda call_id: (False, "running", None))
    ModalBackend().cancel(modal_run)
    assert [e for e in events if e[0] == "cancel"] == [("cancel", "fc-1"), ("cancel", "fc-stage")]
    # The stage's container then records the failure its cancelled call caused; the cancel stands.
    failed = read_record(modal_run.remote_dir)
    failed.status, failed.error = "failed", "stage grpo failed on Modal: RemoteError: cancelled"
    write_record(modal_run.remote_dir, failed)
    ModalBackend().refresh(modal_run, force=True)
    assert modal_run.reload().status == "cancelled"


# -- M10: the cost counts GPUs ---------------------------------------------------------------------------------


def test_the_cost_estimate_multiplies_by_the_gpu_count():
    one = modal_backend.estimate_cost(modal_cfg("grpo_only"))
    eight = modal_backend.estimate_cost(modal_cfg("grpo_only", overrides=["gpu.grpo=H100:8"]))
    grpo_one = next(s for s in one.stages if s.stage == "grpo")
    grpo_eight = next(s for s in eight.stages if s.stage == "grpo")
    assert grpo_eight.usd_per_hour == pytest.approx(8 * grpo_one.usd_per_hour)
    assert eight.total_usd - one.total_usd == pytest.approx(7 * grpo_one.hours * grpo_one.usd_per_hour)
    assert "grpo 6 h on H100:8 (8 GPUs) at $31.60/h" in str(eight)  # what `rdtui run` asks the user to confirm


def test_the_cost_estimate_multiplies_by_the_machines_of_a_clustered_stage():
    cfg = modal_cfg("sft_then_grpo", overrides=["gpu.sft=H100:8", "gpu.grpo=H100:8", "distributed.num_machines=2"])
    estimate = modal_backend.estimate_cost(cfg)
    by_stage = {s.stage: s for s in estimate.stages}
    price, hours = cfg.cost.gpu_hourly_usd, cfg.cost.expected_hours
    # Both training stages hold 8 GPUs on each of 2 containers; eval runs one process on one machine.
    assert (by_stage["sft"].gpus, by_stage["grpo"].gpus, by_stage["eval"].gpus) == (16, 16, 1)
    assert by_stage["grpo"].usd_per_hour == pytest.approx(16 * price["H100"])
    expected = (hours["sft"] + hours["grpo"]) * 16 * price["H100"] + hours["eval"] * price["L40S"]
    assert estimate.total_usd == pytest.approx(expected)
    assert "grpo 6 h on H100:8 x 2 machines (16 GPUs) at $63.20/h" in str(estimate)
    assert str(estimate).endswith(f"= ${expected:,.2f}")


def test_the_confirmation_before_a_modal_launch_shows_the_gpu_and_machine_counts(monkeypatch, capsys):
    from core.commands.run import _confirm_cost
    from core.execution.launch import plan_launch

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    plan = plan_launch(load_study(CONFIG), ["grpo_only"], "modal", ["gpu.grpo=H100:8", "distributed.num_machines=2"])
    with pytest.raises(Exception, match="launch cancelled"):
        _confirm_cost(plan)
    out = capsys.readouterr().out
    assert "grpo 6 h on H100:8 x 2 machines (16 GPUs) at $63.20/h" in out
    assert f"estimated total: ${plan.cost[0].total_usd:,.2f}" in out


# -- M9: detached, app-launched and other-machine runs are seen ------------------------------------------------


def test_ls_and_logs_follow_bring_a_detached_modal_run_up_to_date(modal_run, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")
    monkeypatch.setattr(modal_backend, "driver_outcome", lambda call_id: (False, "running", None))
    (modal_run.remote_dir / "log.txt").write_text("[rdtui] stage grpo starts\n")
    runs_dir = str(modal_run.dir.parent)
    assert main(["--runs-dir", runs_dir, "ls", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)[0]["status"] == "running"  # not `queued` for ever
    # The run ends on Modal while someone follows its log: the follow shows the new lines and stops.
    with open(modal_run.remote_dir / "log.txt", "a") as fh:
        fh.write("[rdtui] succeeded\n")
    done = read_record(modal_run.remote_dir)
    done.status, done.finished_at = "succeeded", time.time()
    write_record(modal_run.remote_dir, done)
    old = time.time() - 60
    os.utime(modal_run.dir / modal_backend.REFRESH_MARK, (old, old))
    assert main(["--runs-dir", runs_dir, "logs", modal_run.id, "-f"]) == 0
    assert capsys.readouterr().out.endswith("[rdtui] succeeded\n")
    assert modal_run.reload().status == "succeeded"


def test_sync_discovers_runs_launched_elsewhere_and_refuses_odd_folders(modal_run, monkeypatch, capsys, tmp_path):
    from core.cli import main

    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")
    monkeypatch.setattr(modal_backend, "driver_outcome", lambda call_id: (False, "running", None))
    elsewhere = "grpo_only-20251231-235959-beef"
    other_dir = tmp_path / "volume" / "runs" / elsewhere
    other_dir.mkdir(parents=True)
    (other_dir / "config.yaml").write_text(modal_run.config_path.read_text())
    write_record(
        other_dir,
        RunRecord(
            id=elsewhere,
            condition="grpo_only",
            profile="modal",
            backend="local",
            status="running",
            created_at=1.0,
            pid=1,
            host="laptop",
            modal_call_id="fc-other",
            extra={"launch": 1},
        ),
    )
    (other_dir / "log.txt").write_text("from the other laptop\n")
    forged = tmp_path / "volume" / "runs" / "forged-run"
    forged.mkdir()
    (forged / "run.json").write_text('{"id": "someone-else"}')
    (tmp_path / "volume" / "runs" / ".hidden").mkdir()
    assert main(["--runs-dir", str(modal_run.dir.parent), "sync"]) == 0
    out = capsys.readouterr()
    assert f"{elsewhere}: found on Volume" in out.out
    assert "refused" in out.err
    store = RunStore(modal_run.dir.parent)
    assert sorted(run.id for run in store.list()) == sorted([modal_run.id, elsewhere])
    record = store.get(elsewhere).record
    assert (record.backend, record.pid, record.host, record.status) == ("modal", None, None, "running")
    assert (store.root / elsewhere / "log.txt").read_text() == "from the other laptop\n"


# -- M15: what Modal containers cannot see is refused before launch --------------------------------------------


def test_local_files_and_folders_are_refused_for_modal_before_launch(tmp_path):
    from core.backends.modal_backend import check_config

    check_config(modal_cfg("sft_then_grpo"))
    data = tmp_path / "train.jsonl"
    data.write_text('{"question": "1+1", "answer": "2"}\n')
    with pytest.raises(RdtuiError, match=r"datasets\.gsm8k_train\.path .* hub dataset"):
        check_config(modal_cfg("grpo_only", overrides=[f"datasets.gsm8k_train={{path: {data}, formatter: gsm8k}}"]))
    model = tmp_path / "my-model"
    model.mkdir()
    check_config(modal_cfg("grpo_only", overrides=[f"model.name={model}"]))  # a folder is uploaded at launch
    (model / "weights.bin").write_bytes(b"0")
    with pytest.raises(RdtuiError, match="is a file; a model is a folder or a hub id"):
        check_config(modal_cfg("grpo_only", overrides=[f"model.name={model / 'weights.bin'}"]))


# -- issue 16.5: a local model folder is uploaded to the Volume once, by content hash ---------------------------


def test_a_local_model_folder_is_uploaded_once_by_content_hash_and_the_stage_loads_the_volume_copy(
    tmp_path, monkeypatch, capsys
):
    import shutil

    from core.execution.launch import launch, plan_launch
    from core.models.tiny import tiny_model_path
    from core.provenance import content_hash

    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_model_path(), tmp_path / "my-model")
    volume = ModalShapedVolume(tmp_path / "volume")
    requests = []

    class Driver:
        def __init__(self, name):
            pass

        def spawn(self, request):
            requests.append(request)
            return StandInCall(f"fc-{len(requests)}")

    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")
    monkeypatch.setattr(modal_backend, "_hydrate_secret", lambda name: None)
    monkeypatch.setattr(modal_backend, "deploy", lambda settings: None)
    monkeypatch.setattr(modal_backend, "driver_function", Driver)
    monkeypatch.setattr(modal_backend, "volume", lambda name: volume)
    store = RunStore(tmp_path / "runs")

    def launch_one():
        plan = plan_launch(load_study(CONFIG), ["grpo_only"], "modal", ["model.name=./my-model"])
        (run,) = launch(plan, store)
        return run

    first = launch_one()
    key = first.reload().extra["model_upload"]["volume_key"]
    digest = content_hash(tmp_path / "my-model").removeprefix("sha256:")
    assert key == f"models/my-model-{digest[:16]}"
    local_files = sorted(p.name for p in (tmp_path / "my-model").iterdir())
    assert sorted(volume.uploaded) == sorted([f"{key}/{name}" for name in local_files] + [f"{key}.complete.json"])
    assert "uploading model folder" in capsys.readouterr().err
    # The run's config (here and in the request the driver writes on the Volume) names the Volume's copy.
    assert first.config().model.name == f"/vol/{key}"
    remote_run = remote.prepare_run_folder(tmp_path / "volume", requests[0], "fc-1")
    assert remote_run.config().model.name == f"/vol/{key}"
    # What the stage loads from /vol/<key> (the Volume is mounted at /vol) is the local model, file for file.
    copy = tmp_path / "volume" / key
    assert sorted(p.name for p in copy.iterdir()) == local_files
    assert content_hash(copy) == content_hash(tmp_path / "my-model")

    # The same folder again: nothing is uploaded, the run points at the same copy.
    uploaded = list(volume.uploaded)
    second = launch_one()
    assert volume.uploaded == uploaded
    assert second.config().model.name == f"/vol/{key}"
    assert "on the Volume already" in capsys.readouterr().err

    # One changed file: a new key, uploaded whole; the first copy stays for the runs that use it.
    with open(tmp_path / "my-model" / "config.json", "a") as fh:
        fh.write("\n")
    third = launch_one()
    new_key = third.reload().extra["model_upload"]["volume_key"]
    assert new_key != key and new_key.startswith("models/my-model-")
    assert len(volume.uploaded) == 2 * len(uploaded) and (tmp_path / "volume" / key).is_dir()
    assert third.config().model.name == f"/vol/{new_key}"


def test_an_upload_cut_short_is_redone_not_used(tmp_path):
    from core.provenance import volume_key

    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x" * 100)
    volume = ModalShapedVolume(tmp_path / "volume")
    key = volume_key(model, "models")
    # A first upload died after one file: no completion marker.
    (tmp_path / "volume" / key).mkdir(parents=True)
    (tmp_path / "volume" / key / "config.json").write_text("{}")
    assert modal_backend.upload_model_folder(volume, model, out=io.StringIO()) == key
    assert sorted(volume.uploaded) == [f"{key}.complete.json", f"{key}/config.json", f"{key}/model.safetensors"]
    assert (tmp_path / "volume" / key / "model.safetensors").read_bytes() == b"x" * 100


# -- M19: one preflight, bounded when Modal does not answer ----------------------------------------------------


def test_secret_checks_are_made_once_and_give_up_quickly_offline(monkeypatch):
    calls = []
    monkeypatch.setattr(ModalBackend, "_secrets_seen", set())
    monkeypatch.setattr(modal_backend, "_hydrate_secret", lambda name: calls.append(name))
    backend = ModalBackend()
    backend._check_secret("huggingface")
    backend._check_secret("huggingface")
    ModalBackend()._check_secret("huggingface")  # `rdtui run` preflights again after the prompt
    assert calls == ["huggingface"]

    monkeypatch.setattr(modal_backend, "SECRET_CHECK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(modal_backend, "_hydrate_secret", lambda name: time.sleep(30))
    start = time.monotonic()
    with pytest.raises(RdtuiError, match="no answer in 0.5 s"):
        backend._check_secret("wandb")
    assert time.monotonic() - start < 20
