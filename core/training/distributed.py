"""Training past one process: SFT and GRPO under `accelerate launch` (DDP, DeepSpeed ZeRO-2/3 or FSDP),
and GRPO generation on a vLLM server with GPUs of its own (`grpo.vllm_mode: server`).

This follows huggingface/open-r1's layout: `trl vllm-serve` on the first GPU(s), then
`accelerate launch --config_file zero2.yaml --num_processes N` for the trainer on the others.

The pipeline process calls `run_launched_stage` when `needs_launcher` says the stage's layout needs
more than one process or a vLLM server. That process keeps sole ownership of run.json and:
  1. checks the machine can run the layout (CUDA, GPU count, DeepSpeed or vLLM importable);
  2. in server mode, starts the vLLM server on the reserved GPUs and waits for its /health;
  3. runs `accelerate launch ... -m core.training.rank RUN_DIR STAGE` on the training GPUs. Every
     rank runs the ordinary stage function; only rank 0 writes metrics, samples, progress and the
     final model (the Trainer itself saves checkpoints from rank 0 only). Each rank leaves its
     outcome in a small JSON file, so a failed rank's one-line error becomes the run's error;
  4. stops the ranks and the server whatever happens (cancel, failure, success).

Nothing here imports torch or transformers at module level: the config validation imports
`stage_layout` and `layout_rules`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import RdtuiError
from core.store.runstore import TRAINING_STAGES

BACKENDS = ("ddp", "zero2", "zero3", "fsdp")
DEEPSPEED_BACKENDS = ("zero2", "zero3")
CONFIG_DIR = Path(__file__).with_name("accelerate_configs")
# Modal's largest container has 8 GPUs; more need `distributed.num_machines`.
MAX_GPUS_PER_MACHINE = 8
RANK_MODULE = "core.training.rank"

# How the launching process tells the GRPO ranks where the vLLM server listens.
SERVER_HOST_ENV = "RDTUI_VLLM_SERVER_HOST"
SERVER_PORT_ENV = "RDTUI_VLLM_SERVER_PORT"
GROUP_PORT_ENV = "RDTUI_VLLM_GROUP_PORT"
# Multi-node: each machine's rank and the address of machine 0 (set by the Modal cluster wrapper).
MACHINE_RANK_ENV = "RDTUI_MACHINE_RANK"
MAIN_PROCESS_IP_ENV = "RDTUI_MAIN_PROCESS_IP"
MULTI_NODE_PORT = 29500

SERVER_HOST = "127.0.0.1"
# Loading a 1.7B model and capturing CUDA graphs takes a minute or two; a cold hub download longer.
SERVER_START_TIMEOUT_S = 900.0
# How long the trainer's client waits for the server that is already healthy.
CLIENT_TIMEOUT_S = 120.0
STOP_GRACE_S = 30.0


# -- layout: pure, from the config ---------------------------------------------------------------------


def gpu_choices(spec: str | Sequence[str]) -> list[str]:
    """The GPUs a `gpu.<stage>` value names, in Modal's order of preference: 'H100' -> ['H100'];
    a fallback list ['H100:8', 'A100-80GB:8'] (Modal takes the first it has free) as it is."""
    return [spec] if isinstance(spec, str) else [str(choice) for choice in spec]


def parse_gpu(spec: str | Sequence[str]) -> tuple[str, int]:
    """'H100:8' -> ('H100', 8); 'L40S' -> ('L40S', 1); a fallback list -> its first GPU and the count
    every entry must share (the training layout, processes and batch split, is fixed before Modal picks)."""
    parsed = []
    for choice in gpu_choices(spec):
        name, sep, count = choice.partition(":")
        if sep and (not count.isdigit() or int(count) < 1):
            raise ValueError(f"the GPU count after ':' must be a whole number of at least 1 (got {choice!r})")
        parsed.append((name, int(count) if sep else 1))
    if not parsed:
        raise ValueError("an empty GPU list names no GPU")
    if len({count for _, count in parsed}) > 1:
        raise ValueError(
            f"every GPU in a fallback list needs the same count, since the training layout is fixed "
            f"before Modal picks one (got {list(spec)!r})"
        )
    return parsed[0]


@dataclass(frozen=True)
class StageLayout:
    """How one stage runs: processes per machine, machines, GPUs kept for the vLLM server."""

    stage: str
    processes: int  # training processes on each machine
    machines: int
    server_gpus: int  # GPUs of machine 0 kept for the vLLM server (GRPO server mode), else 0
    gpus: int | None  # GPUs per machine the config pays for (gpu.<stage>); None: the machine decides
    backend: str  # ddp | zero2 | zero3 | fsdp

    @property
    def world_size(self) -> int:
        return self.processes * self.machines

    @property
    def launched(self) -> bool:
        return self.world_size > 1 or self.server_gpus > 0

    @property
    def gpus_needed(self) -> int:
        """GPUs each machine must show: one per training process, plus the server's on machine 0."""
        return self.processes + self.server_gpus

    def describe(self) -> str:
        where = f" on {self.machines} machines" if self.machines > 1 else ""
        server = f", vLLM server on {self.server_gpus} GPU(s)" if self.server_gpus else ""
        return f"{self.world_size} training process(es){where} under accelerate launch ({self.backend}){server}"


def _distributed(cfg):
    from core.config.schema import DistributedCfg

    return getattr(cfg, "distributed", None) or DistributedCfg()


def server_mode(cfg) -> bool:
    g = cfg.grpo
    return g is not None and bool(g.use_vllm) and g.vllm_mode == "server"


def stage_layout(cfg, stage: str) -> StageLayout:
    """The layout of `stage` under `cfg`. Evaluation always runs one process."""
    dist = _distributed(cfg)
    gpus = None
    if cfg.backend == "modal" and cfg.gpu is not None:
        gpus = parse_gpu(getattr(cfg.gpu, stage))[1]
    if stage not in TRAINING_STAGES:
        return StageLayout(stage, 1, 1, 0, gpus, dist.backend)
    server_gpus = cfg.grpo.vllm_server_gpus if stage == "grpo" and server_mode(cfg) else 0
    processes = dist.num_processes or (max(gpus - server_gpus, 1) if gpus else 1)
    return StageLayout(stage, processes, dist.num_machines, server_gpus, gpus, dist.backend)


def needs_launcher(cfg, stage: str) -> bool:
    return stage in TRAINING_STAGES and stage_layout(cfg, stage).launched


def billed_gpus(cfg, stage: str) -> int:
    """GPUs a stage pays for on Modal: the count in `gpu.<stage>` on each of its machines."""
    layout = stage_layout(cfg, stage)
    return (layout.gpus or 1) * layout.machines


def layout_rules(cfg) -> Iterator[tuple[tuple[str, ...], str]]:
    """Config-check rules for layouts that cannot work; (dotted path, message) like validate.RULES."""
    dist = _distributed(cfg)
    stages = list(cfg.condition.stages)
    counts: dict[str, int] = {}
    if cfg.gpu is not None:
        for stage in ("sft", "grpo", "eval"):
            spec = getattr(cfg.gpu, stage)
            try:
                counts[stage] = parse_gpu(spec)[1]
            except ValueError as exc:
                yield ("gpu", stage), str(exc)
                continue
            if counts[stage] > MAX_GPUS_PER_MACHINE:
                yield (
                    ("gpu", stage),
                    (
                        f"a machine has at most {MAX_GPUS_PER_MACHINE} GPUs (got {spec!r}); "
                        "for more, set distributed.num_machines"
                    ),
                )
    if "eval" in stages and counts.get("eval", 1) > 1:
        yield (
            ("gpu", "eval"),
            (
                f"the eval stage runs one process on one GPU, so {counts['eval'] - 1} of "
                f"{cfg.gpu.eval!r} would be billed and idle; use one GPU"
            ),
        )
    if dist.num_machines > 1 and cfg.backend != "modal":
        yield (
            ("distributed", "num_machines"),
            "several machines need the modal backend; the local backend runs on this one",
        )
    g = cfg.grpo
    if g is not None and "grpo" in stages and g.vllm_mode == "server":
        if not g.use_vllm:
            yield (
                ("grpo", "vllm_mode"),
                "server mode generates with vLLM: set grpo.use_vllm: true (or vllm_mode: colocate)",
            )
        elif dist.num_machines > 1:
            yield ("grpo", "vllm_mode"), "server mode keeps its GPUs on one machine; use distributed.num_machines: 1"
    for stage in TRAINING_STAGES:
        if stage not in stages or getattr(cfg, stage) is None or stage not in counts or cfg.backend != "modal":
            continue
        layout = stage_layout(cfg, stage)
        spec = getattr(cfg.gpu, stage)
        if layout.server_gpus and counts[stage] <= layout.server_gpus:
            name = parse_gpu(spec)[0]
            yield (
                ("grpo", "vllm_mode"),
                (
                    f"server mode keeps {layout.server_gpus} GPU(s) for vLLM (grpo.vllm_server_gpus) and needs at least "
                    f"one more to train, but gpu.grpo is {spec!r}: use {name}:{layout.server_gpus + 1} or more, "
                    "or vllm_mode: colocate"
                ),
            )
        elif layout.gpus_needed > counts[stage]:
            server = f" + {layout.server_gpus} for the vLLM server" if layout.server_gpus else ""
            yield (
                ("distributed", "num_processes"),
                (
                    f"{layout.processes} training processes{server} need {layout.gpus_needed} GPUs, "
                    f"but gpu.{stage} is {spec!r}"
                ),
            )


def grpo_world_size(cfg) -> int:
    """Training processes of the GRPO stage (the batch-divisibility rule multiplies by it)."""
    try:
        return stage_layout(cfg, "grpo").world_size
    except (ValueError, TypeError, AttributeError):
        return 1


# -- the GRPO side: where generation happens ---------------------------------------------------------


def vllm_arguments(grpo_cfg, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """GRPOConfig fields for vLLM generation in the configured mode.

    In server mode the launching process has started the server and put its address in the
    environment of every rank.
    """
    if grpo_cfg.vllm_mode != "server":
        return {"vllm_mode": "colocate", "vllm_gpu_memory_utilization": grpo_cfg.vllm_gpu_memory_utilization}
    missing = [name for name in (SERVER_HOST_ENV, SERVER_PORT_ENV, GROUP_PORT_ENV) if not environ.get(name)]
    if missing:
        raise RdtuiError(
            "grpo.vllm_mode: server, but no vLLM server was started for this process "
            f"({', '.join(missing)} unset): rdtui starts it when the stage runs through its launcher"
        )
    return {
        "vllm_mode": "server",
        "vllm_server_host": environ[SERVER_HOST_ENV],
        "vllm_server_port": int(environ[SERVER_PORT_ENV]),
        "vllm_group_port": int(environ[GROUP_PORT_ENV]),
        "vllm_server_timeout": CLIENT_TIMEOUT_S,
    }


def is_main_process(environ: Mapping[str, str] = os.environ) -> bool:
    """Rank 0 of a launched stage, or a process that was not launched at all."""
    return environ.get("RANK", "0") == "0"


# -- the launching process ---------------------------------------------------------------------------


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Linux: ask the kernel to send `sig` to this process when its parent exits (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def tethered(command: list[str]) -> list[str]:
    """`command` (a Python one) run through core.training.tethered, so it dies with this process."""
    if command[:1] != [sys.executable]:
        return command
    return [sys.executable, "-m", "core.training.tethered", *command[1:]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_file(backend: str) -> Path:
    return CONFIG_DIR / f"{backend}.yaml"


def mixed_precision(cfg, cuda: bool) -> str:
    """What accelerate should use, matching the dtype the trainer arguments pick."""
    import torch

    from core.models.loading import pick_dtype

    dtype = pick_dtype(cfg.model.dtype, "cuda" if cuda else "cpu")
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "no")


def accelerate_command(
    layout: StageLayout,
    *,
    precision: str,
    gradient_accumulation_steps: int,
    main_process_port: int,
    machine_rank: int = 0,
    main_process_ip: str | None = None,
) -> list[str]:
    """`accelerate launch` with the shipped config of the layout's backend (module form: same Python)."""
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_file(layout.backend)),
        "--num_processes",
        str(layout.world_size),  # accelerate counts processes over all machines
        "--num_machines",
        str(layout.machines),
        "--machine_rank",
        str(machine_rank),
        "--main_process_port",
        str(main_process_port),
        "--mixed_precision",
        precision,
        "--dynamo_backend",
        "no",
    ]
    if main_process_ip is not None:
        command += ["--main_process_ip", main_process_ip]
    if layout.backend in DEEPSPEED_BACKENDS:
        # DeepSpeed's own config must agree with the trainer's accumulation (open-r1 passes it the same way).
        command += ["--gradient_accumulation_steps", str(gradient_accumulation_steps)]
    return command


def rank_arguments(
    run_dir: Path, stage: str, result_dir: Path, init_model: str | Path | None, resume: bool, prepare: bool = False
) -> list[str]:
    args = ["-m", RANK_MODULE, str(run_dir), stage, "--result-dir", str(result_dir)]
    if init_model is not None:
        args += ["--init", str(init_model)]
    if resume:
        args.append("--resume")
    if prepare:
        args.append("--prepare")
    return args


def merges_sft_adapter(cfg, stage: str, init_model: str | Path | None) -> bool:
    """GRPO after LoRA SFT with `after_sft: merge` first saves the merged model (checkpoints/sft-merged)."""
    return (
        stage == "grpo"
        and init_model is not None
        and (Path(init_model) / "adapter_config.json").exists()
        and cfg.grpo.after_sft == "merge"
    )


def visible_devices(environ: Mapping[str, str] = os.environ) -> list[str]:
    """CUDA devices this process may use, as CUDA_VISIBLE_DEVICES names them ([] without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return []
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [d.strip() for d in listed.split(",") if d.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def check_machine(layout: StageLayout, devices: Sequence[str]) -> None:
    """Refuse, before anything starts, a layout this machine cannot run."""
    import importlib.util

    if not devices:
        if layout.backend != "ddp":
            raise RdtuiError(
                f"distributed.backend: {layout.backend} runs on CUDA GPUs and this machine has none "
                "(several processes on CPU: distributed.backend: ddp)"
            )
        if layout.server_gpus:
            raise RdtuiError("grpo.vllm_mode: server needs CUDA GPUs for the vLLM server and this machine has none")
        return
    if layout.gpus_needed > len(devices):
        server = f" + {layout.server_gpus} for the vLLM server" if layout.server_gpus else ""
        raise RdtuiError(
            f"{layout.stage}: {layout.processes} training processes{server} need {layout.gpus_needed} "
            f"GPUs; this machine shows {len(devices)}"
        )
    if layout.backend in DEEPSPEED_BACKENDS and importlib.util.find_spec("deepspeed") is None:
        raise RdtuiError(
            f"distributed.backend: {layout.backend} needs DeepSpeed, which is not installed "
            "(pip install deepspeed, or distributed.backend: ddp)"
        )
    if layout.server_gpus and importlib.util.find_spec("vllm") is None:
        raise RdtuiError("grpo.vllm_mode: server needs vLLM, which is not installed here")


def cluster_environment(machine_rank: int, container_ips: Sequence[str]) -> dict[str, str]:
    """What one container of a Modal cluster tells `cluster_position`: its machine rank and machine 0's
    address (the cluster lists its containers' addresses in rank order)."""
    if not container_ips:
        raise RdtuiError("the Modal cluster listed no container addresses")
    if not 0 <= machine_rank < len(container_ips):
        raise RdtuiError(f"machine rank {machine_rank} is outside a cluster of {len(container_ips)} containers")
    return {MACHINE_RANK_ENV: str(machine_rank), MAIN_PROCESS_IP_ENV: container_ips[0]}


def start_model(cfg, run, stage: str) -> Path | None:
    """The model `stage` starts from: the final model of the condition's last training stage before it."""
    stages = list(cfg.condition.stages)
    earlier = [s for s in stages[: stages.index(stage)] if s in TRAINING_STAGES]
    return run.final_model_dir(earlier[-1]) if earlier else None


def run_other_machine(cfg, run, stage: str) -> None:
    """A machine other than machine 0 of a stage on several machines: its share of the ranks only. The
    pipeline (run.json, metrics, the stage's end) runs on machine 0; these ranks join its rendezvous."""
    run_launched_stage(stage, cfg, run, start_model(cfg, run, stage), resume=True)


def cluster_position(layout: StageLayout, environ: Mapping[str, str] = os.environ) -> tuple[int, str | None, int]:
    """(this machine's rank, machine 0's address, rendezvous port). On several machines the Modal
    cluster wrapper sets RDTUI_MACHINE_RANK and RDTUI_MAIN_PROCESS_IP and every machine calls
    `run_launched_stage`; machine 0 alone runs the pipeline around it."""
    if layout.machines == 1:
        return 0, None, free_port()
    address = environ.get(MAIN_PROCESS_IP_ENV)
    if not address:
        raise RdtuiError(
            f"distributed.num_machines: {layout.machines} needs machine 0's address in "
            f"{MAIN_PROCESS_IP_ENV} (set by the Modal cluster)"
        )
    return int(environ.get(MACHINE_RANK_ENV, "0")), address, MULTI_NODE_PORT


def run_launched_stage(stage: str, cfg, run, init_model: str | Path | None, resume: bool) -> Path | None:
    """Run `stage` under accelerate launch (and a vLLM server in GRPO server mode); returns the
    final model folder that rank 0 saved (None on a machine other than machine 0)."""
    layout = stage_layout(cfg, stage)
    devices = visible_devices()
    check_machine(layout, devices)
    machine_rank, main_address, rendezvous_port = cluster_position(layout)
    print(f"[rdtui] {stage}: {layout.describe()}", flush=True)
    env = dict(os.environ)
    # Ranks import `core` the way this process did, even from a source checkout.
    env["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys(
            [str(Path(__file__).resolve().parents[2]), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        )
    )
    from core.models.loading import model_source

    model_source(cfg.model.name)  # a builtin model is built (or pretrained) here once, not in every rank
    served = None
    if merges_sft_adapter(cfg, stage, init_model):
        # Every rank would write the merged model into the same folder at once: one process does it
        # first (with the full weights, before ZeRO-3 or FSDP shard them); the ranks then load it. On
        # several machines each does it for its own ranks: a Modal container sees another's writes to
        # the Volume only after a commit and a reload (the merge is the same on each; a done one is reused).
        served = launch_ranks(
            [sys.executable],
            run.dir,
            stage,
            init_model=init_model,
            resume=False,
            prepare=True,
            env={**env, "CUDA_VISIBLE_DEVICES": ",".join(devices[:1])} if devices else env,
        )
    with ExitStack() as stack:
        if layout.server_gpus:
            server_devices = devices[: layout.server_gpus]
            port, group_port = free_port(), free_port()
            stack.enter_context(
                vllm_server(
                    vllm_serve_command(cfg, port, len(server_devices), model=served),
                    port=port,
                    env={**env, "CUDA_VISIBLE_DEVICES": ",".join(server_devices)},
                )
            )
            env.update(server_environment(port, group_port))
            env["CUDA_VISIBLE_DEVICES"] = ",".join(devices[layout.server_gpus : layout.gpus_needed])
        stage_cfg = getattr(cfg, stage)
        command = accelerate_command(
            layout,
            precision=mixed_precision(cfg, bool(devices)),
            gradient_accumulation_steps=stage_cfg.gradient_accumulation_steps,
            main_process_port=rendezvous_port,
            machine_rank=machine_rank,
            main_process_ip=main_address,
        )
        return launch_ranks(
            command, run.dir, stage, env=env, init_model=init_model, resume=resume, main_machine=machine_rank == 0
        )


def launch_ranks(
    command: list[str],
    run_dir: Path,
    stage: str,
    *,
    env: Mapping[str, str],
    init_model: str | Path | None,
    resume: bool,
    prepare: bool = False,
    main_machine: bool = True,
) -> Path | None:
    """Run the ranks to the end; the final model folder (rank 0's, so None on another machine), or
    the first rank's error as RdtuiError."""
    with tempfile.TemporaryDirectory(prefix="rdtui-ranks-") as tmp:
        result_dir = Path(tmp)
        full = command + rank_arguments(run_dir, stage, result_dir, init_model, resume, prepare)
        # The launcher stays in this process group (`rdtui cancel` signals it; it stops its ranks), and
        # is tethered to this process, as each rank is to the launcher: a kill -9 leaves nothing behind.
        proc = subprocess.Popen(tethered(full), env=dict(env), stdin=subprocess.DEVNULL)
        with stopping(proc, "training processes"):
            returncode = proc.wait()
        outcomes = read_outcomes(result_dir)
    errors = [o["error"] for _, o in sorted(outcomes.items()) if isinstance(o.get("error"), str)]
    if errors:
        raise RdtuiError(errors[0])
    final = outcomes.get(0, {}).get("final")
    if returncode == 0 and not main_machine:
        return None
    if returncode != 0 or not isinstance(final, str):
        raise RdtuiError(
            f"{stage}: the training processes exited with status {returncode} without finishing (see log.txt)"
        )
    return Path(final)


def read_outcomes(result_dir: Path) -> dict[int, dict[str, Any]]:
    """{rank: outcome} from the ranks' files; unreadable files count as no outcome."""
    out: dict[int, dict[str, Any]] = {}
    for path in result_dir.glob("rank-*.json"):
        try:
            rank = int(path.stem.removeprefix("rank-"))
            data = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
        if isinstance(data, dict):
            out[rank] = data
    return out


def write_outcome(result_dir: Path, rank: int, outcome: dict[str, Any]) -> None:
    path = Path(result_dir) / f"rank-{rank}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(outcome))
    os.replace(tmp, path)


@contextmanager
def stopping(proc: subprocess.Popen, what: str, grace: float = STOP_GRACE_S) -> Iterator[subprocess.Popen]:
    """On the way out (done, failed, cancelled), make sure `proc` is gone: SIGTERM, then SIGKILL."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            print(f"[rdtui] stopping the {what}", flush=True)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- the vLLM server ---------------------------------------------------------------------------------


def vllm_serve_command(cfg, port: int, gpus: int, model: Path | None = None) -> list[str]:
    """TRL's `trl vllm-serve` command line (TRL 1.16 builds `vllm serve` with the weight-sync endpoints
    its client needs) for `model` (the merged SFT model) or the base model. Either way the trainer
    pushes its own weights into the server before the first generation."""
    from trl.scripts.vllm_serve import ScriptArguments, build_command

    from core.models.loading import model_source

    source = str(model) if model is not None else model_source(cfg.model.name)
    local = Path(source).is_dir()
    args = ScriptArguments(
        model=source,
        revision=None if local else cfg.model.revision,
        host=SERVER_HOST,
        port=port,
        data_parallel_size=gpus,
        dtype=cfg.model.dtype,
    )
    return build_command(args)


def server_environment(port: int, group_port: int, host: str = SERVER_HOST) -> dict[str, str]:
    return {SERVER_HOST_ENV: host, SERVER_PORT_ENV: str(port), GROUP_PORT_ENV: str(group_port)}


@contextmanager
def vllm_server(
    command: list[str],
    *,
    port: int,
    env: Mapping[str, str],
    host: str = SERVER_HOST,
    timeout: float = SERVER_START_TIMEOUT_S,
    grace: float = STOP_GRACE_S,
) -> Iterator[str]:
    """Start the server, yield its base URL once /health answers 200, stop it on the way out."""
    base_url = f"http://{host}:{port}"
    # TRL's weight-sync endpoints live behind vLLM's dev mode (as `trl vllm-serve` sets it).
    proc = subprocess.Popen(tethered(command), env={**env, "VLLM_SERVER_DEV_MODE": "1"}, stdin=subprocess.DEVNULL)
    with stopping(proc, "vLLM server", grace):
        wait_healthy(proc, base_url, timeout)
        print(f"[rdtui] vLLM server ready at {base_url}", flush=True)
        yield base_url


def wait_healthy(proc: subprocess.Popen, base_url: str, timeout: float, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RdtuiError(f"the vLLM server exited with status {proc.returncode} before it was ready (see log.txt)")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            raise RdtuiError(f"the vLLM server did not answer {base_url}/health within {timeout:.0f} s (see log.txt)")
        time.sleep(interval)
