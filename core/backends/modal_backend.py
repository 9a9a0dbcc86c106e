"""The Modal backend: runs execute on Modal GPUs and stream back into the local run store.

How a launch goes (the app itself is `modal_jobs/app.py`):
1. `preflight` refuses, with one line, a config that does not fit Modal, a machine with no Modal
   token (read from the environment or `~/.modal.toml`, no network), and a missing Secret.
2. `launch` deploys the app (`modal deploy -m modal_jobs.app`, in a subprocess: core never imports
   modal_jobs), then spawns one driver call per run and records its id in run.json. The driver runs
   on Modal, so the run goes on when this terminal closes; it calls each stage's function (its own
   GPU and image) in turn, and the stages write the run folder on the Volume.
   Each deployment is named after a digest of its settings (secrets included) and of our code
   (`rdtui-<digest>`): a later launch with other settings or code deploys beside it instead of over
   it, so a running run keeps the code and secrets it started with; an unchanged one is not redeployed.
3. `refresh` mirrors the run folder from the Volume (core/backends/sync.py) and, when the driver
   call has ended without recording an end (a crash, a timeout), records it as failed or cancelled.
   Whoever asks (the app, `ls`, `logs -f`, `rdtui run`), a run is refreshed at most every
   REFRESH_INTERVAL_S: the time of the last refresh is kept in the run folder, not in an object.
`modal` is imported inside methods only: the rest of rdtui never pays for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.backends.sync import ModalVolumeFolder, SyncResult, launch_number, sync_run
from core.errors import RdtuiError, RunNotFound
from core.store.runstore import FINISHED, Run

VOLUME_MOUNT = "/vol"
HF_CACHE_DIR = "hf-cache"
MODELS_PREFIX = "models"  # local model folders on the Volume, one per content hash
UPLOAD_MARKER = ".complete.json"  # `<key>.complete.json`, written once every file of the folder is there
SETTINGS_ENV = "RDTUI_MODAL_SETTINGS"
DRIVER_FUNCTION = "run_condition"
STAGE_FUNCTIONS = {"sft": "stage_sft", "grpo": "stage_grpo", "eval": "stage_eval"}
# A training stage on several machines (`distributed.num_machines`) runs on a Modal cluster of that size.
CLUSTER_STAGE_FUNCTIONS = {"sft": "stage_sft_cluster", "grpo": "stage_grpo_cluster"}
DRIVER_TIMEOUT_S = 24 * 3600  # Modal's longest function timeout; the driver waits on every stage
REFRESH_INTERVAL_S = 5.0  # callers poll often (the app, `rdtui run`); the Volume is read at most this often
REFRESH_MARK = ".modal-refresh"  # its mtime: when any process last refreshed this run
DRIVER_CHECK_INTERVAL_S = 60.0  # how often a refresh also asks Modal whether the driver call ended
DRIVER_MARK = ".modal-driver-check"
REFRESH_BUDGET_S = 10.0  # what `ls` may spend bringing Modal runs up to date
SECRET_CHECK_TIMEOUT_S = 15.0  # the modal client retries for a minute when offline; a user waits less
TOKEN_HELP = (
    "no Modal token configured: run `modal token new` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET), then launch again"
)


@dataclass(frozen=True)
class JobSettings:
    """What the Modal decorators need at import time: fixed per deployment, derived from the config."""

    app_name: str
    volume: str
    secrets: tuple[str, ...]
    gpu: Mapping[str, str | list[str]] = field(hash=False)  # per stage; a list: Modal's GPU fallbacks (M22)
    timeout_s: int
    retries: int
    max_parallel: int = 0  # runs (driver containers) at once; 0: no limit
    deployment: str = ""  # the deployed app's name; empty: app_name (a hand-run deploy)
    num_machines: int = 1  # containers of each clustered training stage; 1: no cluster functions

    @classmethod
    def from_config(cls, cfg) -> JobSettings:
        if cfg.modal is None or cfg.gpu is None:
            raise RdtuiError(f"profile {cfg.profile.name!r} has no `modal` and `gpu` sections: it cannot run on Modal")
        secrets = list(cfg.modal.secrets)
        if cfg.telemetry.wandb:
            secrets += cfg.modal.optional_secrets
        return cls(
            app_name=cfg.modal.app_name,
            volume=cfg.modal.volume,
            secrets=tuple(dict.fromkeys(secrets)),
            gpu={"sft": cfg.gpu.sft, "grpo": cfg.gpu.grpo, "eval": cfg.gpu.eval},
            timeout_s=int(cfg.modal.timeout_hours * 3600),
            retries=cfg.modal.retries,
            max_parallel=cfg.max_parallel,
            num_machines=cfg.distributed.num_machines,
        )

    @property
    def deployed_name(self) -> str:
        return self.deployment or self.app_name

    def versioned(self) -> JobSettings:
        """These settings under a deployment name of their own: `<app_name>-<digest of settings and code>`."""
        digest = hashlib.sha256(self.to_json().encode() + code_digest().encode()).hexdigest()[:10]
        return JobSettings(**{**asdict(self), "secrets": self.secrets, "deployment": f"{self.app_name}-{digest}"})

    def to_json(self) -> str:
        data = asdict(self)
        data["secrets"] = list(self.secrets)
        data["gpu"] = dict(self.gpu)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobSettings:
        data = json.loads(text)
        data["secrets"] = tuple(data["secrets"])
        return cls(**data)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> JobSettings:
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


def stage_function(cfg, stage: str) -> str:
    """The app function that runs `stage` of a run: the clustered variant when the stage spans machines."""
    from core.training.distributed import stage_layout

    if stage in CLUSTER_STAGE_FUNCTIONS and stage_layout(cfg, stage).machines > 1:
        return CLUSTER_STAGE_FUNCTIONS[stage]
    return STAGE_FUNCTIONS[stage]


@dataclass(frozen=True)
class StageCost:
    stage: str
    gpu: str  # as configured; a fallback list reads "H100:8 or A100-80GB:8"
    hours: float
    usd_per_hour: float | None  # for every GPU the stage holds: per-GPU price x GPUs x machines
    gpus: int = 1  # GPUs billed: per container x containers (machines)
    machines: int = 1

    def __str__(self) -> str:
        where = self.gpu + (f" x {self.machines} machines" if self.machines > 1 else "")
        if self.gpus > 1:
            where += f" ({self.gpus} GPUs)"
        price = (
            f"${self.usd_per_hour:.2f}/h"
            if self.usd_per_hour is not None
            else "an unknown price (add it to cost.gpu_hourly_usd)"
        )
        return f"{self.stage} {self.hours:g} h on {where} at {price}"


@dataclass
class CostEstimate:
    condition: str
    stages: list[StageCost]

    @property
    def total_usd(self) -> float:
        return sum(s.hours * s.usd_per_hour for s in self.stages if s.usd_per_hour is not None)

    def __str__(self) -> str:
        return f"{self.condition}: " + " + ".join(map(str, self.stages)) + f" = ${self.total_usd:,.2f}"


def estimate_cost(cfg) -> CostEstimate:
    """Per-GPU price from the config x the GPUs each stage holds (the count in `gpu.<stage>` on each
    of `distributed.num_machines` containers) x the profile's expected hours, stage by stage (M10).
    A fallback list is priced at its dearest GPU: the estimate is what the user agrees to spend."""
    from core.training.distributed import billed_gpus, gpu_choices, stage_layout

    prices = cfg.cost.gpu_hourly_usd if cfg.cost else {}
    hours = cfg.cost.expected_hours if cfg.cost else {}
    stages = []
    for stage in cfg.condition.stages:
        spec = getattr(cfg.gpu, stage)
        choices = gpu_choices(spec)
        known = [prices[name] for name in (c.partition(":")[0] for c in choices) if name in prices]
        per_gpu = max(known) if len(known) == len(choices) else None
        gpus = billed_gpus(cfg, stage)
        stages.append(
            StageCost(
                stage,
                " or ".join(choices),
                float(hours.get(stage, 0.0)),
                None if per_gpu is None else per_gpu * gpus,
                gpus,
                stage_layout(cfg, stage).machines,
            )
        )
    return CostEstimate(cfg.condition.name, stages)


def code_digest() -> str:
    """A digest of the Python sources a deployment ships (core, modal_jobs)."""
    digest = hashlib.sha256()
    root = _repo_root()
    for package in ("core", "modal_jobs"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


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
        (n for n, v in profiles.items() if isinstance(v, dict) and v.get("active") is True), "default"
    )
    if name not in profiles and len(profiles) == 1:
        name = next(iter(profiles))
    section = profiles.get(name)
    return isinstance(section, dict) and bool(section.get("token_id")) and bool(section.get("token_secret"))


def check_config(cfg) -> None:
    """What a config must hold to run on Modal (validation already checked the rest)."""
    from core.config.validate import MODAL_GPUS
    from core.training.distributed import MAX_GPUS_PER_MACHINE, gpu_choices, parse_gpu

    where = f"{cfg.condition.name} under profile {cfg.profile.name!r}"
    if cfg.backend != "modal":
        raise RdtuiError(f"{where}: backend is {cfg.backend!r}, not 'modal'")
    if cfg.gpu is None or cfg.modal is None:
        raise RdtuiError(f"{where}: the modal backend needs `gpu` and `modal` sections in the profile")
    for stage in cfg.condition.stages:
        for gpu in gpu_choices(getattr(cfg.gpu, stage)):
            if gpu.split(":")[0] not in MODAL_GPUS:
                raise RdtuiError(
                    f"{where}: gpu.{stage}: Modal offers no GPU {gpu!r} (offered: {', '.join(sorted(MODAL_GPUS))})"
                )
    if cfg.model.name.startswith("builtin:"):
        raise RdtuiError(f"{where}: model.name {cfg.model.name!r} is a local stand-in; Modal runs need a hub model")
    for stage in cfg.condition.stages:
        if stage_function(cfg, stage) == CLUSTER_STAGE_FUNCTIONS.get(stage):
            # modal.clustered: "each container must request all GPUs on its host (for example, gpu="H100:8")".
            count = parse_gpu(getattr(cfg.gpu, stage))[1]
            if count != MAX_GPUS_PER_MACHINE:
                raise RdtuiError(
                    f"{where}: distributed.num_machines: {cfg.distributed.num_machines} runs {stage} on a Modal "
                    f"cluster, whose containers each take a whole machine: gpu.{stage} needs "
                    f"{MAX_GPUS_PER_MACHINE} GPUs (e.g. H100:{MAX_GPUS_PER_MACHINE}), not {count}"
                )
    model = Path(cfg.model.name).expanduser()
    if model.exists() and not model.is_dir():
        raise RdtuiError(f"{where}: model.name {cfg.model.name!r} is a file; a model is a folder or a hub id")
    # A local model folder is uploaded to the Volume at launch (`upload_model_folder`); data files are not.
    # Local files are not uploaded: the containers would fail on them after a cold start (M15).
    for name in stage_datasets(cfg):
        spec = cfg.datasets.get(name)
        if spec is not None and spec.path:
            raise RdtuiError(
                f"{where}: datasets.{name}.path {spec.path!r} is a file on this machine, which Modal "
                "containers cannot see: use a hub dataset (hub: ...) for Modal runs"
            )


def stage_datasets(cfg) -> list[str]:
    """The dataset names the condition's stages read: training sets and benchmarks."""
    names = []
    for stage in cfg.condition.stages:
        section = getattr(cfg, "evaluation" if stage == "eval" else stage, None)
        if stage == "eval" and section is not None:
            names += list(section.benchmarks)
        elif section is not None and getattr(section, "dataset", None):
            names.append(section.dataset)
    return list(dict.fromkeys(names))


def local_model_folder(cfg) -> Path | None:
    """The folder on this machine that `model.name` names, or None (a hub id, a builtin)."""
    name = cfg.model.name
    if name.startswith("builtin:"):
        return None
    path = Path(name).expanduser()
    return path.resolve() if path.is_dir() else None


def upload_model_folder(vol, folder: Path, out=None) -> str:
    """Put a local model folder on the Volume once: under `volume_key` (its name and content hash),
    skipped when that key is already complete there. Returns the key (a path inside the Volume).

    The files are those `content_hash` covers (hidden ones skipped). A marker written after them, in
    a batch of its own, says the folder is whole: an upload cut short is redone, never half used."""
    from core.provenance import _files as content_files  # the files content_hash reads
    from core.provenance import volume_key

    out = out or sys.stderr
    key = volume_key(folder, MODELS_PREFIX)
    marker = key + UPLOAD_MARKER
    try:
        present = {entry.path for entry in ModalVolumeFolder(vol).listdir(MODELS_PREFIX)}
    except FileNotFoundError:
        present = set()
    if marker in present:
        print(f"rdtui: model folder {folder} is on the Volume already ({key})", file=out, flush=True)
        return key
    files = content_files(folder)
    size = sum(f.stat().st_size for f in files)
    print(
        f"rdtui: uploading model folder {folder} to the Volume as {key} ({len(files)} files, {size / 2**20:,.1f} MiB)",
        file=out,
        flush=True,
    )
    with vol.batch_upload(force=True) as batch:
        for path in files:
            batch.put_file(path, f"{key}/{path.relative_to(folder).as_posix()}")
    manifest = {"source": str(folder), "files": len(files), "bytes": size}
    with vol.batch_upload(force=True) as batch:
        batch.put_file(io.BytesIO(json.dumps(manifest).encode()), marker)
    return key


def snapshot_with_model(text: str, name: str, note: str) -> str:
    """The config snapshot with `model.name` set to `name`, its provenance comment replaced by `note`."""
    lines = text.splitlines(keepends=True)
    in_model = False
    for i, line in enumerate(lines):
        if not line.startswith(" "):
            in_model = line.rstrip("\n") == "model:"
        elif in_model and line.startswith("  name: "):
            lines[i] = f"  name: {json.dumps(name)}  # {note}\n"
            return "".join(lines)
    raise RdtuiError("the run's config snapshot has no model.name to point at the Volume")


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


class ModalBackend:
    name = "modal"

    # Secrets this process has already seen exist: `rdtui run` preflights twice (before and after asking).
    _secrets_seen: set[str] = set()

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
        from modal.exception import AuthError, NotFoundError

        if name in self._secrets_seen:
            return
        try:
            _with_timeout(lambda: _hydrate_secret(name), SECRET_CHECK_TIMEOUT_S)
            self._secrets_seen.add(name)
        except TimeoutError:
            raise RdtuiError(
                f"cannot reach Modal to check Secret {name!r}: no answer in {SECRET_CHECK_TIMEOUT_S:g} s (offline?)"
            ) from None
        except NotFoundError:
            raise RdtuiError(
                f"Modal Secret {name!r} not found: create it with "
                f"`modal secret create {name} KEY=VALUE` (see modal.secrets in config.yaml)"
            ) from None
        except AuthError as exc:
            raise RdtuiError(f"Modal refused the token ({first_line(exc)}): run `modal token new`") from None
        except Exception as exc:
            raise RdtuiError(f"cannot reach Modal to check Secret {name!r}: {first_line(exc)}") from None

    def estimate_cost(self, cfg) -> CostEstimate:
        return estimate_cost(cfg)

    # -- launch, cancel, resume ----------------------------------------------------------------------

    def launch(self, runs: list[Run]) -> None:
        if not runs:
            return
        settings = [JobSettings.from_config(run.config()).versioned() for run in runs]
        for deployment in dict.fromkeys(s.to_json() for s in settings):
            deploy(JobSettings.from_json(deployment))
        for run, run_settings in zip(runs, settings):
            self._use_uploaded_model(run, run_settings)
            self._spawn(run, run_settings)

    def _use_uploaded_model(self, run: Run, settings: JobSettings) -> None:
        """A run whose model is a folder here loads the Volume's copy of it: the folder is uploaded
        (once per content hash) and the run's config names the copy, so the snapshot says what the
        containers load; where it came from is kept in run.json (`model_upload`)."""
        folder = local_model_folder(run.config())
        if folder is None:
            return
        key = upload_model_folder(volume(settings.volume), folder)
        remote = f"{VOLUME_MOUNT}/{key}"
        text = snapshot_with_model(run.config_path.read_text(), remote, f"uploaded from {json.dumps(str(folder))}")
        tmp = run.config_path.with_name(f".{run.config_path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, run.config_path)
        run.update(extra_items={"model_upload": {"source": str(folder), "volume_key": key}})

    def _spawn(self, run: Run, settings: JobSettings) -> None:
        record = run.reload()
        launch = launch_number(record) + 1
        record = run.update(extra_items={"launch": launch, "modal_app": settings.deployed_name})
        request = {
            "run_id": run.id,
            "record": record.to_dict(),
            "snapshot": run.config_path.read_text(),
            "launch": launch,
        }
        call = driver_function(settings.deployed_name).spawn(request)
        run.update(modal_call_id=call.object_id)

    def cancel(self, run: Run) -> None:
        self.refresh(run, force=True)
        record = run.reload()
        if record.status in FINISHED:
            raise RdtuiError(f"run {run.id} is {record.status}; only queued or running runs can be cancelled")
        # The driver first: its cancel handler stops the stage and records `cancelled`, so no stage
        # error can be recorded as the run's end before it (M17); the stage call too, in case the
        # driver has gone. Cancelling (not killing) lets the containers record the cancel.
        for call_id in dict.fromkeys((record.modal_call_id, record.extra.get("stage_call_id"))):
            if call_id:
                function_call(call_id).cancel()
        run.finish("cancelled")

    def resume(self, run: Run) -> None:
        record = run.reload()
        if record.status not in ("failed", "cancelled"):
            raise RdtuiError(f"run {run.id} is {record.status}; only failed or cancelled runs can be resumed")
        run.requeue()
        settings = JobSettings.from_config(run.config()).versioned()
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

    def refresh(self, run: Run, *, force: bool = False) -> SyncResult | None:
        """Mirror the run from the Volume; record the end of a driver that died without recording it.

        At most once per REFRESH_INTERVAL_S per run across every process and backend object (unless
        `force`); returns what the sync did, or None when it was not time yet."""
        record = run.reload()
        if record.modal_call_id is None or not (force or claim_refresh(run.dir)):
            return None
        settings = JobSettings.from_config(run.config())
        folder = ModalVolumeFolder(volume(settings.volume))
        result = sync_run(folder, run.id, run.dir)
        # The driver is asked (an RPC) at most once a minute: it only tells of a driver that died
        # without recording the run's end, which no follower needs to know within seconds.
        if run.reload().status in FINISHED or not (
            force or claim_refresh(run.dir, DRIVER_CHECK_INTERVAL_S, DRIVER_MARK)
        ):
            return result
        ended, status, error = driver_outcome(record.modal_call_id)
        if not ended:
            return result
        sync_run(folder, run.id, run.dir)  # the driver's last commit may have landed since
        run.finish(status, error)
        return result


def claim_refresh(run_dir: Path, interval: float = REFRESH_INTERVAL_S, name: str = REFRESH_MARK) -> bool:
    """Whether it is this caller's turn to refresh the run; if so, the turn is taken (marked now)."""
    mark = run_dir / name
    now = time.time()
    try:
        if 0 <= now - mark.stat().st_mtime < interval:
            return False
    except FileNotFoundError:
        pass
    try:
        mark.touch()
        os.utime(mark, (now, now))
    except OSError:
        return True  # a read-only store still shows the run; it just cannot share the throttle
    return True


def refresh_modal_runs(runs, timeout_s: float = REFRESH_BUDGET_S) -> None:
    """Refresh the unfinished Modal runs among `runs` (throttled per run): what `ls`, `logs -f` and
    the app call so that detached and app-launched runs move without `rdtui sync`. Offline, it
    gives up after `timeout_s` with one line, and the store is shown as it is."""
    pending = []
    for run in runs:
        try:
            if run.record.backend == "modal" and run.record.status in ("queued", "running"):
                pending.append(run)
        except RunNotFound:  # corrupt or gone: nothing to refresh
            continue
    if not pending or not modal_token_configured():
        return
    backend = ModalBackend()

    def refresh_all() -> None:
        for run in pending:
            backend.refresh(run)

    try:
        _with_timeout(refresh_all, timeout_s)
    except TimeoutError:
        print(
            f"rdtui: Modal did not answer in {timeout_s:g} s; Modal runs show their last synced state", file=sys.stderr
        )
    except Exception as exc:  # offline, Modal down: show the store as it is, say why once
        print(f"rdtui: could not refresh Modal runs: {first_line(exc)}", file=sys.stderr)


def volume(name: str):
    """A Modal Volume by name (the seam tests stand in for)."""
    import modal

    return modal.Volume.from_name(name)


def driver_function(deployment: str):
    """The deployed driver function (the seam tests stand in for)."""
    import modal

    return modal.Function.from_name(deployment, DRIVER_FUNCTION)


def _hydrate_secret(name: str) -> None:
    import modal

    modal.Secret.from_name(name).hydrate()


def _with_timeout(fn, seconds: float):
    """`fn()` in a daemon thread; TimeoutError when it has not answered in `seconds`."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if "error" in box:
        error = box["error"]
        assert isinstance(error, BaseException)  # only `target`'s except clause stores it
        raise error
    return box.get("value")


def function_call(call_id: str):
    """A Modal FunctionCall by id (the seam tests stand in for)."""
    import modal

    return modal.FunctionCall.from_id(call_id)


def driver_outcome(call_id: str) -> tuple[bool, str, str | None]:
    """(ended, final status, error) of a driver call, as Modal reports it.

    `get(timeout=0)` raises modal's TimeoutError while the call runs; its subclasses
    FunctionTimeoutError (the call hit its own timeout) and OutputExpiredError mean it has ended.
    """
    from modal.exception import FunctionTimeoutError, InputCancellation, OutputExpiredError, RemoteError
    from modal.exception import TimeoutError as StillRunning

    try:
        status = function_call(call_id).get(timeout=0)
    except FunctionTimeoutError:
        return (
            True,
            "failed",
            (
                f"the Modal driver hit its {DRIVER_TIMEOUT_S // 3600} h timeout "
                "(resume continues from the last checkpoint)"
            ),
        )
    except OutputExpiredError:
        return True, "failed", "the Modal call ended without recording the run's end (its result has expired)"
    except StillRunning:
        return False, "running", None
    except InputCancellation:
        return True, "cancelled", None
    except RemoteError as exc:
        # A terminated (cancelled) call has no result: the client raises RemoteError with the reason.
        if any(word in str(exc).lower() for word in ("cancel", "terminat")):
            return True, "cancelled", None
        return True, "failed", f"Modal call {call_id} failed: {first_line(exc)}"
    except Exception as exc:
        return True, "failed", f"Modal call {call_id} failed: {first_line(exc)}"
    if status in FINISHED:
        return True, status, None if status != "failed" else "failed on Modal (see log.txt)"
    return True, "failed", f"Modal call {call_id} ended with the run {status}"


DEPLOY_COMMAND = [sys.executable, "-m", "modal", "deploy", "-m", "modal_jobs.app"]


def already_deployed(name: str) -> bool:
    """Whether a deployment of this name exists (then its settings and code are these: the name says so)."""
    from modal.exception import NotFoundError

    try:
        driver_function(name).hydrate()
    except NotFoundError:
        return False
    return True


def deploy(settings: JobSettings, out=None) -> None:
    """Deploy the app with these settings, unless this very deployment exists already.

    `modal deploy`'s output (image builds take minutes the first time) goes to `out` (stderr) line
    by line as it comes, each prefixed, so a first deploy shows progress; a failure names its last line.
    """
    out = out or sys.stderr
    if settings.deployment and already_deployed(settings.deployment):
        return
    env = dict(os.environ)
    env[SETTINGS_ENV] = settings.to_json()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_repo_root()), env.get("PYTHONPATH")]))
    print(
        f"rdtui: deploying Modal app {settings.deployed_name} (the first build of an image takes minutes)",
        file=out,
        flush=True,
    )
    proc = subprocess.Popen(
        DEPLOY_COMMAND,
        env=env,
        cwd=_repo_root(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip():
            last = line.strip()
            print(f"  modal: {last}", file=out, flush=True)
    if proc.wait() != 0:
        raise RdtuiError(f"modal deploy failed: {last or f'exit status {proc.returncode}'}")


def first_line(exc: BaseException) -> str:
    """An exception's first line of text, or its class name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
