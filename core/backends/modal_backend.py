"""The Modal backend: runs execute on Modal GPUs and stream back into the local run store.

How a launch goes (the app itself is `modal_jobs/app.py`):
1. `preflight` refuses, with one line, a config that does not fit Modal, a machine with no Modal
   token (read from the environment or `~/.modal.toml`, no network), and a missing Secret.
2. `launch` deploys the app (`modal deploy -m modal_jobs.app`, in a subprocess: core never imports
   modal_jobs), then spawns one driver call per run and records its id in run.json. The driver runs
   on Modal, so the run goes on when this terminal closes; it calls each stage's function (its own
   GPU and image) in turn, and the stages write the run folder on the Volume.
3. `refresh` mirrors the run folder from the Volume (core/backends/sync.py) and, when the driver
   call has ended without recording an end (a crash, a timeout), records it as failed.
`modal` is imported inside methods only: the rest of rdtui never pays for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from core.backends.sync import ModalVolumeFolder, launch_number, sync_run
from core.errors import RdtuiError
from core.runstore import FINISHED, Run

VOLUME_MOUNT = "/vol"
HF_CACHE_DIR = "hf-cache"
SETTINGS_ENV = "RDTUI_MODAL_SETTINGS"
DRIVER_FUNCTION = "run_condition"
STAGE_FUNCTIONS = {"sft": "stage_sft", "grpo": "stage_grpo", "eval": "stage_eval"}
DRIVER_TIMEOUT_S = 24 * 3600          # Modal's longest function timeout; the driver waits on every stage
REFRESH_INTERVAL_S = 5.0              # callers poll often (the app, `rdtui run`); the Volume is read at most this often
TOKEN_HELP = ("no Modal token configured: run `modal token new` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET), "
              "then launch again")


@dataclass(frozen=True)
class JobSettings:
    """What the Modal decorators need at import time: fixed per deployment, derived from the config."""

    app_name: str
    volume: str
    secrets: tuple[str, ...]
    gpu: Mapping[str, str] = field(hash=False)
    timeout_s: int
    retries: int

    @classmethod
    def from_config(cls, cfg) -> "JobSettings":
        if cfg.modal is None or cfg.gpu is None:
            raise RdtuiError(f"profile {cfg.profile.name!r} has no `modal` and `gpu` sections: it cannot run on Modal")
        secrets = list(cfg.modal.secrets)
        if cfg.telemetry.wandb:
            secrets += cfg.modal.optional_secrets
        return cls(app_name=cfg.modal.app_name, volume=cfg.modal.volume, secrets=tuple(dict.fromkeys(secrets)),
                   gpu={"sft": cfg.gpu.sft, "grpo": cfg.gpu.grpo, "eval": cfg.gpu.eval},
                   timeout_s=int(cfg.modal.timeout_hours * 3600), retries=cfg.modal.retries)

    def to_json(self) -> str:
        data = asdict(self)
        data["secrets"] = list(self.secrets)
        data["gpu"] = dict(self.gpu)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "JobSettings":
        data = json.loads(text)
        data["secrets"] = tuple(data["secrets"])
        return cls(**data)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "JobSettings":
        """The settings `modal deploy` and the containers build the app from.

        RDTUI_MODAL_SETTINGS (set by `launch` and, through the functions' env, in every container)
        wins; without it, a hand-run `modal deploy -m modal_jobs.app` reads the study config
        (RDTUI_CONFIG, default ./config.yaml) under RDTUI_PROFILE (default `modal`).
        """
        if environ.get(SETTINGS_ENV):
            return cls.from_json(environ[SETTINGS_ENV])
        from core.config import load_study, resolve

        study = load_study(environ.get("RDTUI_CONFIG"))
        profile = environ.get("RDTUI_PROFILE", "modal")
        return cls.from_config(resolve(study, next(iter(study.conditions)), profile))


@dataclass(frozen=True)
class StageCost:
    stage: str
    gpu: str
    hours: float
    usd_per_hour: float | None


@dataclass
class CostEstimate:
    condition: str
    stages: list[StageCost]

    @property
    def total_usd(self) -> float:
        return sum(s.hours * s.usd_per_hour for s in self.stages if s.usd_per_hour is not None)

    def __str__(self) -> str:
        parts = [f"{s.stage} {s.hours:g} h on {s.gpu} at " + (f"${s.usd_per_hour:.2f}/h" if s.usd_per_hour is not None
                                                              else "an unknown price (add it to cost.gpu_hourly_usd)")
                 for s in self.stages]
        return f"{self.condition}: " + " + ".join(parts) + f" = ${self.total_usd:,.2f}"


def estimate_cost(cfg) -> CostEstimate:
    """GPU price per hour from the config times the profile's expected hours, stage by stage."""
    prices = cfg.cost.gpu_hourly_usd if cfg.cost else {}
    hours = cfg.cost.expected_hours if cfg.cost else {}
    stages = []
    for stage in cfg.condition.stages:
        gpu = getattr(cfg.gpu, stage)
        stages.append(StageCost(stage, gpu, float(hours.get(stage, 0.0)), prices.get(gpu.split(":")[0])))
    return CostEstimate(cfg.condition.name, stages)


def modal_token_configured(environ: Mapping[str, str] = os.environ, home: Path | None = None) -> bool:
    """Whether Modal will find credentials, read the way the modal client reads them, without network."""
    if environ.get("MODAL_TOKEN_ID") and environ.get("MODAL_TOKEN_SECRET"):
        return True
    path = Path(environ.get("MODAL_CONFIG_PATH") or (home or Path.home()) / ".modal.toml")
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    name = environ.get("MODAL_PROFILE") or next(
        (n for n, v in profiles.items() if isinstance(v, dict) and v.get("active") is True), "default")
    if name not in profiles and len(profiles) == 1:
        name = next(iter(profiles))
    section = profiles.get(name)
    return isinstance(section, dict) and bool(section.get("token_id")) and bool(section.get("token_secret"))


def check_config(cfg) -> None:
    """What a config must hold to run on Modal (validation already checked the rest)."""
    from core.config.validate import MODAL_GPUS

    where = f"{cfg.condition.name} under profile {cfg.profile.name!r}"
    if cfg.backend != "modal":
        raise RdtuiError(f"{where}: backend is {cfg.backend!r}, not 'modal'")
    if cfg.gpu is None or cfg.modal is None:
        raise RdtuiError(f"{where}: the modal backend needs `gpu` and `modal` sections in the profile")
    for stage in cfg.condition.stages:
        gpu = getattr(cfg.gpu, stage)
        if gpu.split(":")[0] not in MODAL_GPUS:
            raise RdtuiError(f"{where}: gpu.{stage}: Modal offers no GPU {gpu!r} "
                             f"(offered: {', '.join(sorted(MODAL_GPUS))})")
    if cfg.model.name.startswith("builtin:"):
        raise RdtuiError(f"{where}: model.name {cfg.model.name!r} is a local stand-in; Modal runs need a hub model")


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


class ModalBackend:
    name = "modal"

    def __init__(self) -> None:
        self._last_refresh: dict[str, float] = {}

    # -- before launch -------------------------------------------------------------------------------

    def preflight(self, cfgs) -> None:
        for cfg in cfgs:
            check_config(cfg)
        if not modal_token_configured():
            raise RdtuiError(TOKEN_HELP)
        needed = dict.fromkeys(name for cfg in cfgs for name in JobSettings.from_config(cfg).secrets)
        for name in needed:
            self._check_secret(name)

    def _check_secret(self, name: str) -> None:
        import modal
        from modal.exception import AuthError, NotFoundError

        try:
            modal.Secret.from_name(name).hydrate()
        except NotFoundError:
            raise RdtuiError(f"Modal Secret {name!r} not found: create it with "
                             f"`modal secret create {name} KEY=VALUE` (see modal.secrets in config.yaml)") from None
        except AuthError as exc:
            raise RdtuiError(f"Modal refused the token ({_first_line(exc)}): run `modal token new`") from None
        except Exception as exc:
            raise RdtuiError(f"cannot reach Modal to check Secret {name!r}: {_first_line(exc)}") from None

    def estimate_cost(self, cfg) -> CostEstimate:
        return estimate_cost(cfg)

    # -- launch, cancel, resume ----------------------------------------------------------------------

    def launch(self, runs: list[Run]) -> None:
        if not runs:
            return
        settings = [JobSettings.from_config(run.config()) for run in runs]
        for deployment in dict.fromkeys(s.to_json() for s in settings):
            deploy(JobSettings.from_json(deployment))
        for run, run_settings in zip(runs, settings):
            self._spawn(run, run_settings)

    def _spawn(self, run: Run, settings: JobSettings) -> None:
        import modal

        record = run.reload()
        launch = launch_number(record) + 1
        record = run.update(extra={**record.extra, "launch": launch})
        request = {"run_id": run.id, "record": record.to_dict(), "snapshot": run.config_path.read_text(),
                   "launch": launch}
        call = modal.Function.from_name(settings.app_name, DRIVER_FUNCTION).spawn(request)
        run.update(modal_call_id=call.object_id)

    def cancel(self, run: Run) -> None:
        self._last_refresh.pop(run.id, None)
        self.refresh(run)
        record = run.reload()
        if record.status in FINISHED:
            raise RdtuiError(f"run {run.id} is {record.status}; only queued or running runs can be cancelled")
        # Cancelling (not killing) the calls lets the containers record the cancel on the Volume.
        for call_id in (record.extra.get("stage_call_id"), record.modal_call_id):
            if call_id:
                function_call(call_id).cancel()
        run.update(status="cancelled", finished_at=time.time())

    def resume(self, run: Run) -> None:
        record = run.reload()
        if record.status not in ("failed", "cancelled"):
            raise RdtuiError(f"run {run.id} is {record.status}; only failed or cancelled runs can be resumed")
        run.update(status="queued", error=None, finished_at=None)
        settings = JobSettings.from_config(run.config())
        deploy(settings)
        self._spawn(run, settings)

    def log_lines(self, run: Run, *, follow: bool = False, entries: int | None = None) -> Iterator[str]:
        """The run's output as Modal's own log service holds it: the current stage's call (where the
        training prints), else the driver's. `follow` streams until the call ends."""
        record = run.reload()
        call_id = record.extra.get("stage_call_id") or record.modal_call_id
        if not call_id:
            raise RdtuiError(f"run {run.id} has no Modal call yet")
        logs = function_call(call_id).logs
        source = logs.stream() if follow else logs.tail(entries) if entries else logs.fetch()
        for entry in source:
            yield entry.message

    # -- status --------------------------------------------------------------------------------------

    def refresh(self, run: Run) -> None:
        """Mirror the run from the Volume; record the end of a driver that died without recording it."""
        record = run.reload()
        now = time.monotonic()
        if record.modal_call_id is None or now - self._last_refresh.get(run.id, -REFRESH_INTERVAL_S) < REFRESH_INTERVAL_S:
            return
        self._last_refresh[run.id] = now
        import modal

        settings = JobSettings.from_config(run.config())
        folder = ModalVolumeFolder(modal.Volume.from_name(settings.volume))
        sync_run(folder, run.id, run.dir)
        if run.reload().status in FINISHED:
            return
        ended, status, error = driver_outcome(record.modal_call_id)
        if not ended:
            return
        sync_run(folder, run.id, run.dir)     # the driver's last commit may have landed since
        if run.reload().status not in FINISHED:
            run.update(status=status, error=error, finished_at=time.time())


def function_call(call_id: str):
    """A Modal FunctionCall by id (the seam tests stand in for)."""
    import modal

    return modal.FunctionCall.from_id(call_id)


def driver_outcome(call_id: str) -> tuple[bool, str, str | None]:
    """(ended, final status, error) of a driver call, as Modal reports it."""
    from modal.exception import InputCancellation, OutputExpiredError
    from modal.exception import TimeoutError as StillRunning

    try:
        status = function_call(call_id).get(timeout=0)
    except OutputExpiredError:
        return True, "failed", "the Modal call ended without recording the run's end (its result has expired)"
    except StillRunning:
        return False, "running", None
    except InputCancellation:
        return True, "cancelled", None
    except Exception as exc:
        return True, "failed", f"Modal call {call_id} failed: {_first_line(exc)}"
    if status in FINISHED:
        return True, status, None if status != "failed" else "failed on Modal (see log.txt)"
    return True, "failed", f"Modal call {call_id} ended with the run {status}"


def deploy(settings: JobSettings) -> None:
    """Deploy the app with these settings (`modal deploy`; unchanged images are reused, not rebuilt)."""
    env = dict(os.environ)
    env[SETTINGS_ENV] = settings.to_json()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_repo_root()), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "modal", "deploy", "-m", "modal_jobs.app"], env=env,
                          cwd=_repo_root(), capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        raise RdtuiError(f"modal deploy failed: {lines[-1].strip() if lines else f'exit status {proc.returncode}'}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
