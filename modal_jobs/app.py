"""The Modal app: `modal deploy -m modal_jobs.app` (rdtui's launch runs exactly that).

Modal reads a function's GPU, timeout and retries from its decorator when the module is imported,
so the app is built by a factory, `build_app(settings)`, from `JobSettings` (app name, Volume,
Secrets, GPU per stage, timeout, retries; see core/backends/modal_backend.py). At import this
module builds it from `JobSettings.from_environment()`:
- `rdtui run --profile modal` deploys with RDTUI_MODAL_SETTINGS holding the run's settings;
- by hand, `RDTUI_PROFILE=modal modal deploy -m modal_jobs.app` reads ./config.yaml (or RDTUI_CONFIG);
- inside a container the same variable is set through each function's `env`, so the container
  rebuilds the identical app before Modal looks its function up by name.
The driver also applies each run's own GPU, timeout and retries per call (`with_options`), so a
`--set gpu.grpo=A100-80GB` takes effect even when the deployed defaults differ. A GPU fallback list
(`gpu.grpo: [H100:8, A100-80GB:8]`, Modal takes the first it has free) goes to the decorator only:
`with_options` takes one GPU string, and the run's deployment was built from its own settings.
The app's name is `settings.deployed_name` (`rdtui-<digest>` from a launch): each combination of
settings, secrets and code is a deployment of its own, and running runs never see a redeploy.
The driver is nonpreemptible (a CPU function may be; GPU ones may not) and small: it runs in the
`driver` image, without torch; `max_containers` on it is `max_parallel` (runs at once).

Functions: `run_condition` (the driver: a small CPU container that calls the stages in order),
and `stage_sft`, `stage_grpo`, `stage_eval` (one per stage kind, on that stage's GPU and image).
With `distributed.num_machines` N > 1 the deployment also has `stage_sft_cluster` and
`stage_grpo_cluster`: the same stages under `modal.clustered(size=N)` (N containers started together
on Modal's private network, the input given to each), which the driver calls instead
(`modal_backend.stage_function`). Each container reads its rank and the containers' addresses from
`modal.experimental.get_cluster_info()`; `remote.run_cluster_stage` does the rest.
They are plain module-level functions registered by the factory; Modal finds the app again
through its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.backends.modal_backend import (
    CLUSTER_STAGE_FUNCTIONS,
    DRIVER_FUNCTION,
    DRIVER_TIMEOUT_S,
    SETTINGS_ENV,
    STAGE_FUNCTIONS,
    VOLUME_MOUNT,
    JobSettings,
    stage_function,
)
from modal_jobs import remote

# Eval runs where vLLM is installed: generation on vLLM is many times faster than `generate`.
STAGE_IMAGE = {"sft": "train", "grpo": "grpo", "eval": "grpo"}


@dataclass
class JobsApp:
    app: Any  # modal.App
    volume: Any  # modal.Volume
    secrets: list[Any]  # modal.Secret, in settings order
    images: dict[str, Any]  # modal.Image by kind
    functions: dict[str, Any]  # modal.Function by name
    options: dict[str, dict[str, Any]]  # the decorator arguments each function was registered with
    settings: JobSettings


def build_app(settings: JobSettings) -> JobsApp:
    import modal

    from modal_jobs.images import build_images

    app = modal.App(settings.deployed_name)
    volume = modal.Volume.from_name(settings.volume, create_if_missing=True)
    secrets = [modal.Secret.from_name(name) for name in settings.secrets]
    images = build_images()
    common = {"volumes": {VOLUME_MOUNT: volume}, "env": {SETTINGS_ENV: settings.to_json()}, "retries": settings.retries}
    options = {
        DRIVER_FUNCTION: {
            **common,
            "image": images["driver"],
            "cpu": 1.0,
            "timeout": DRIVER_TIMEOUT_S,
            "nonpreemptible": True,
            "max_containers": settings.max_parallel or None,
        },
    }
    for stage, name in STAGE_FUNCTIONS.items():
        # Single-use: a stage runs for hours, so a cold start per input costs nothing, and no input
        # ever sees a Volume view or imported state left by another run's (M12, M18).
        options[name] = {
            **common,
            "image": images[STAGE_IMAGE[stage]],
            "gpu": settings.gpu[stage],
            "timeout": settings.timeout_s,
            "secrets": secrets,
            "single_use_containers": True,
        }
    bodies = {
        DRIVER_FUNCTION: run_condition,
        "stage_sft": stage_sft,
        "stage_grpo": stage_grpo,
        "stage_eval": stage_eval,
    }
    if settings.num_machines > 1:
        for stage, name in CLUSTER_STAGE_FUNCTIONS.items():
            options[name] = dict(options[STAGE_FUNCTIONS[stage]])
        bodies["stage_sft_cluster"] = clustered(settings.num_machines)(stage_sft_cluster)
        bodies["stage_grpo_cluster"] = clustered(settings.num_machines)(stage_grpo_cluster)
    functions = {name: app.function(**options[name])(bodies[name]) for name in options}
    return JobsApp(app, volume, secrets, images, functions, options, settings)


def clustered(size: int):
    """Modal's cluster decorator (the seam tests stand in for): `modal.clustered`, which the installed
    client offers in place of the deprecated `modal.experimental.clustered`."""
    import modal

    return modal.clustered(size=size)


def cluster_info():
    """This container's rank and the cluster's container addresses, rank order (the seam tests stand in for)."""
    import modal.experimental

    return modal.experimental.get_cluster_info()


def _current_call_id() -> str | None:
    import modal

    return modal.current_function_call_id()


def _stage(stage: str, request: dict[str, Any]) -> str:
    from modal.exception import InputCancellation

    return remote.run_stage(
        Path(VOLUME_MOUNT),
        request["run_id"],
        stage,
        commit=jobs.volume.commit,
        reload=jobs.volume.reload,
        call_id=_current_call_id(),
        cancelled_by=(InputCancellation,),
    )


def stage_sft(request: dict[str, Any]) -> str:
    return _stage("sft", request)


def stage_grpo(request: dict[str, Any]) -> str:
    return _stage("grpo", request)


def stage_eval(request: dict[str, Any]) -> str:
    return _stage("eval", request)


def _cluster_stage(stage: str, request: dict[str, Any]) -> str:
    from modal.exception import InputCancellation

    info = cluster_info()
    return remote.run_cluster_stage(
        Path(VOLUME_MOUNT),
        request["run_id"],
        stage,
        machine_rank=info.rank,
        container_ips=list(info.container_ips),
        commit=jobs.volume.commit,
        reload=jobs.volume.reload,
        call_id=_current_call_id(),
        cancelled_by=(InputCancellation,),
    )


def stage_sft_cluster(request: dict[str, Any]) -> str:
    return _cluster_stage("sft", request)


def stage_grpo_cluster(request: dict[str, Any]) -> str:
    return _cluster_stage("grpo", request)


def run_condition(request: dict[str, Any]) -> str:
    """The driver: each remaining stage as a call on its own GPU, waited for in turn."""
    import modal
    from modal.exception import InputCancellation

    from core.store.runstore import Run

    volume_root = Path(VOLUME_MOUNT)
    run = Run(remote.runs_root(volume_root) / request["run_id"])
    current: dict[str, Any] = {}

    def run_stage(stage: str) -> str:
        cfg = run.config()
        function = jobs.functions[stage_function(cfg, stage)].with_options(**remote.stage_call_options(cfg, stage))
        # A re-run of this driver (Modal retried it) waits on the stage call its last attempt left going.
        current["call"] = remote.attach_or_spawn(
            run,
            stage,
            request["launch"],
            from_id=modal.FunctionCall.from_id,
            commit=jobs.volume.commit,
            spawn=lambda: function.spawn({"run_id": request["run_id"], "stage": stage, "launch": request["launch"]}),
        )
        return current["call"].get()

    try:
        return remote.drive(
            volume_root,
            request,
            run_stage=run_stage,
            commit=jobs.volume.commit,
            reload=jobs.volume.reload,
            call_id=_current_call_id(),
        )
    except InputCancellation:
        if "call" in current:
            current["call"].cancel()
        jobs.volume.reload()
        remote.mark_finished(run, "cancelled", None)
        jobs.volume.commit()
        raise


jobs = build_app(JobSettings.from_environment())
app = jobs.app
