"""Training past one process, provable without GPUs.

- layouts that cannot work are config errors with file and line;
- the shipped accelerate configs load with accelerate's own reader and are package data;
- the vLLM server path against a stand-in HTTP server on 127.0.0.1: rdtui waits for /health before
  training, hands the host and ports to GRPOConfig, stops the server at the end;
- slow: SFT then GRPO under `accelerate launch --num_processes 2` on CPU (gloo), driven from the CLI
  with a cancel in the middle and a resume: rank-0-only files, contiguous steps, both ranks' RNG.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import textwrap
import tomllib
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import pytest

from core.config import ConfigError, check_study, load_study, resolve, resolve_full, snapshot_text
from core.errors import RdtuiError
from core.store.jsonl import read_jsonl
from core.store.runstore import RunStore
from core.training import distributed
from core.training.distributed import (
    CONFIG_DIR,
    accelerate_command,
    billed_gpus,
    check_machine,
    free_port,
    launch_ranks,
    parse_gpu,
    server_environment,
    stage_layout,
    stopping,
    vllm_arguments,
    vllm_serve_command,
    vllm_server,
)
from tests.conftest import CONFIG, REPO, rdtui, wait_for

BASE = CONFIG.read_text()


def cfg_for(condition: str, profile: str, *overrides: str):
    return resolve(load_study(CONFIG), condition, profile, overrides=list(overrides))


def make_run(tmp_path: Path, condition: str, profile: str, *overrides: str):
    resolution = resolve_full(load_study(CONFIG), condition, profile, list(overrides))
    run = RunStore(tmp_path / "runs").create(condition, profile, "local", snapshot_text(resolution))
    return resolution.config, run


def config_errors(condition: str, profile: str, *overrides: str) -> list[str]:
    try:
        cfg_for(condition, profile, *overrides)
    except ConfigError as exc:
        return exc.errors
    return []


# -- layouts -----------------------------------------------------------------------------------------


def test_layouts_follow_the_gpu_count_and_the_server_reservation():
    cfg = cfg_for(
        "sft_then_grpo",
        "modal",
        "gpu.sft=H100:8",
        "gpu.grpo=H100:8",
        "grpo.vllm_mode=server",
        "distributed.backend=zero2",
    )
    sft, grpo, ev = (stage_layout(cfg, s) for s in ("sft", "grpo", "eval"))
    assert (sft.processes, sft.server_gpus, sft.backend, sft.launched) == (8, 0, "zero2", True)
    # open-r1's layout: vLLM on one GPU, the trainer on the other seven.
    assert (grpo.processes, grpo.server_gpus, grpo.gpus_needed, grpo.launched) == (7, 1, 8, True)
    assert (ev.processes, ev.launched) == (1, False)
    assert billed_gpus(cfg, "grpo") == 8 and billed_gpus(cfg, "eval") == 1

    local = cfg_for("sft_then_grpo", "local")
    assert not stage_layout(local, "sft").launched and not stage_layout(local, "grpo").launched
    two = cfg_for("sft_then_grpo", "local", "distributed.num_processes=2")
    assert stage_layout(two, "sft").world_size == 2 and stage_layout(two, "grpo").launched
    assert parse_gpu("L40S") == ("L40S", 1) and parse_gpu("H100:8") == ("H100", 8)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            ["grpo.vllm_mode=server"],
            "grpo.vllm_mode: server mode keeps 1 GPU(s) for vLLM (grpo.vllm_server_gpus) and needs at least one more "
            "to train, but gpu.grpo is 'H100': use H100:2 or more, or vllm_mode: colocate",
        ),
        (
            ["gpu.grpo=H100:2", "grpo.vllm_mode=server", "grpo.vllm_server_gpus=2"],
            "but gpu.grpo is 'H100:2': use H100:3",
        ),
        (
            ["gpu.grpo=H100:16"],
            "gpu.grpo: a machine has at most 8 GPUs (got 'H100:16'); for more, set distributed.num_machines",
        ),
        (["gpu.grpo=H100:eight"], "gpu.grpo: the GPU count after ':' must be a whole number of at least 1"),
        (["gpu.eval=L40S:2"], "gpu.eval: the eval stage runs one process on one GPU"),
        (
            ["gpu.grpo=H100:4", "distributed.num_processes=6"],
            "distributed.num_processes: 6 training processes need 6 GPUs, but gpu.grpo is 'H100:4'",
        ),
        (
            ["gpu.grpo=H100:3", "grpo.per_device_train_batch_size=2", "grpo.gradient_accumulation_steps=2"],
            "per_device_train_batch_size x gradient_accumulation_steps x 3 processes = 12 is not divisible by num_generations = 8",
        ),
        (
            ["gpu.grpo=H100:4", "grpo.vllm_mode=server", "distributed.num_machines=2"],
            "grpo.vllm_mode: server mode keeps its GPUs on one machine",
        ),
        (
            ["grpo.use_vllm=false", "grpo.vllm_mode=server", "gpu.grpo=H100:2"],
            "server mode generates with vLLM: set grpo.use_vllm",
        ),
        (["distributed.backend=zero4"], "distributed.backend: must be one of 'ddp', 'zero2', 'zero3' or 'fsdp'"),
    ],
    ids=[
        "server on one GPU",
        "server takes every GPU",
        "more than a machine",
        "bad count",
        "eval on two GPUs",
        "more processes than GPUs",
        "batch across processes",
        "server on two machines",
        "server without vllm",
        "unknown backend",
    ],
)
def test_layouts_that_cannot_work_are_refused(overrides, message):
    errors = config_errors("grpo_only", "modal", *overrides)
    assert any(message in e for e in errors), errors


def test_layouts_that_work_are_accepted():
    assert config_errors("grpo_only", "modal", "gpu.grpo=H100:8", "grpo.vllm_mode=server") == []
    assert (
        config_errors("grpo_only", "modal", "gpu.grpo=H100:2", "grpo.vllm_mode=server", "distributed.backend=zero3")
        == []
    )
    # 8 x 4 x 3 = 96 holds whole groups of 8 across 3 processes.
    assert config_errors("grpo_only", "modal", "gpu.grpo=H100:3") == []
    assert (
        config_errors("baseline", "modal", "gpu.sft=H100:4", "distributed.num_machines=2", "distributed.backend=zero3")
        == []
    )


def test_local_machines_refuse_what_they_cannot_run():
    errors = config_errors("sft_traces", "local", "distributed.num_machines=2")
    assert any("distributed.num_machines: several machines need the modal backend" in e for e in errors), errors
    errors = config_errors("grpo_only", "local", "grpo.use_vllm=false", "grpo.vllm_mode=server")
    assert any("server mode generates with vLLM: set grpo.use_vllm: true" in e for e in errors), errors
    cpu = stage_layout(
        cfg_for("sft_traces", "local", "distributed.num_processes=2", "distributed.backend=zero3"), "sft"
    )
    with pytest.raises(RdtuiError, match="distributed.backend: zero3 runs on CUDA GPUs and this machine has none"):
        check_machine(cpu, [])
    server = stage_layout(cfg_for("grpo_only", "modal", "gpu.grpo=H100:8", "grpo.vllm_mode=server"), "grpo")
    with pytest.raises(RdtuiError, match="needs CUDA GPUs for the vLLM server"):
        check_machine(server, [])
    with pytest.raises(
        RdtuiError, match=r"7 training processes \+ 1 for the vLLM server need 8 GPUs; this machine shows 2"
    ):
        check_machine(server, ["0", "1"])


def test_server_mode_on_one_gpu_is_reported_at_its_file_and_line(tmp_path):
    text = BASE.replace("    vllm_mode: colocate ", "    vllm_mode: server ")
    assert text != BASE
    path = tmp_path / "config.yaml"
    path.write_text(text)
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if "vllm_mode: server" in text_line)
    issues = [str(i) for i in check_study(path)]
    assert f"config.yaml:{line}: defaults.grpo.vllm_mode: server mode keeps 1 GPU(s) for vLLM" in "\n".join(issues)
    proc = rdtui("config", "show", "grpo_only", "--profile", "modal", "--config", str(path))
    assert proc.returncode == 2 and f"config.yaml:{line}: defaults.grpo.vllm_mode: server mode" in proc.stderr


# -- the launcher ------------------------------------------------------------------------------------


def test_shipped_accelerate_configs_load_and_ship_in_the_package():
    from accelerate.commands.config.config_args import load_config_from_file

    expected = {"ddp": "MULTI_GPU", "zero2": "DEEPSPEED", "zero3": "DEEPSPEED", "fsdp": "FSDP"}
    for backend, kind in expected.items():
        loaded = load_config_from_file(str(CONFIG_DIR / f"{backend}.yaml"))
        assert loaded.distributed_type.value == kind, backend
    assert load_config_from_file(str(CONFIG_DIR / "zero3.yaml")).deepspeed_config["zero_stage"] == 3
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = [f"accelerate_configs/{p.name}" for p in CONFIG_DIR.glob("*.yaml")]
    assert len(shipped) == 4 and all(any(fnmatch(f, g) for g in package_data["core.training"]) for f in shipped)


def test_accelerate_command_for_one_and_several_machines():
    cfg = cfg_for("baseline", "modal", "gpu.sft=H100:8", "distributed.backend=zero3", "distributed.num_machines=2")
    layout = stage_layout(cfg, "sft")
    command = accelerate_command(
        layout,
        precision="bf16",
        gradient_accumulation_steps=4,
        main_process_port=29500,
        machine_rank=1,
        main_process_ip="10.0.0.1",
    )
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    flags = dict(zip(command[3::2], command[4::2]))
    assert flags["--config_file"] == str(CONFIG_DIR / "zero3.yaml")
    # accelerate counts processes over all machines.
    assert (flags["--num_processes"], flags["--num_machines"], flags["--machine_rank"]) == ("16", "2", "1")
    assert flags["--main_process_ip"] == "10.0.0.1" and flags["--gradient_accumulation_steps"] == "4"
    ddp = accelerate_command(
        stage_layout(cfg_for("baseline", "local", "distributed.num_processes=2"), "sft"),
        precision="no",
        gradient_accumulation_steps=1,
        main_process_port=free_port(),
    )
    assert "--gradient_accumulation_steps" not in ddp and "--main_process_ip" not in ddp


def test_several_machines_meet_at_machine_0():
    layout = stage_layout(cfg_for("baseline", "modal", "gpu.sft=H100:8", "distributed.num_machines=2"), "sft")
    with pytest.raises(RdtuiError, match="num_machines: 2 needs machine 0's address in RDTUI_MAIN_PROCESS_IP"):
        distributed.cluster_position(layout, {})
    position = distributed.cluster_position(layout, {"RDTUI_MAIN_PROCESS_IP": "10.0.0.1", "RDTUI_MACHINE_RANK": "1"})
    assert position == (1, "10.0.0.1", distributed.MULTI_NODE_PORT)
    one = stage_layout(cfg_for("baseline", "modal", "gpu.sft=H100:8"), "sft")
    assert distributed.cluster_position(one, {"RDTUI_MACHINE_RANK": "3"})[:2] == (0, None)


def test_a_rank_error_becomes_the_stage_error(tmp_path):
    """The ranks' outcome files carry a one-line error back to the launching process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # One plain process stands in for `accelerate launch`: the same rank entry point, the same files.
    with pytest.raises(RdtuiError, match=f"{tmp_path / 'gone'}/config.yaml: file not found") as failed:
        launch_ranks([sys.executable], tmp_path / "gone", "sft", env=env, init_model=None, resume=False)
    assert "\n" not in str(failed.value)
    with pytest.raises(RdtuiError, match="exited with status 3 without finishing"):
        launch_ranks(
            [sys.executable, "-c", "import sys; sys.exit(3)", "--"],
            tmp_path,
            "sft",
            env=env,
            init_model=None,
            resume=False,
        )


def test_stopping_terminates_what_is_still_running():
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with pytest.raises(KeyboardInterrupt):
        with stopping(proc, "test process", grace=10):
            raise KeyboardInterrupt  # as a cancel arrives while waiting
    assert proc.poll() == -signal.SIGTERM


# -- the vLLM server path, against a stand-in server -------------------------------------------------

STANDIN_SERVER = textwrap.dedent('''
    """Answers 503 on /health until READY_AFTER seconds have passed, then 200; notes every request."""
    import http.server, os, signal, sys, time

    port, ready_after, notes = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    start = time.monotonic()

    def note(line):
        with open(notes, "a") as f:
            f.write(line + "\\n")

    def on_term(signum, frame):
        note("SIGTERM")
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    note(f"start CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')} "
         f"VLLM_SERVER_DEV_MODE={os.environ.get('VLLM_SERVER_DEV_MODE')}")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if time.monotonic() - start >= ready_after else 503
            note(f"GET {self.path} {code}")
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
''')


def standin_command(tmp_path: Path, port: int, ready_after: float) -> list[str]:
    script = tmp_path / "standin_vllm.py"
    script.write_text(STANDIN_SERVER)
    return [sys.executable, str(script), str(port), str(ready_after), str(tmp_path / "server-notes.txt")]


def standin(tmp_path: Path, ready_after: float) -> tuple[list[str], int, Path]:
    port = free_port()
    return standin_command(tmp_path, port, ready_after), port, tmp_path / "server-notes.txt"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_server_mode_waits_for_health_and_hands_host_and_ports_to_grpo_config(tmp_path):
    from trl import GRPOConfig

    cfg = cfg_for("grpo_only", "modal", "gpu.grpo=H100:2", "grpo.vllm_mode=server")
    command, port, notes = standin(tmp_path, ready_after=1.5)
    group_port = free_port()
    with vllm_server(command, port=port, env={**os.environ, "CUDA_VISIBLE_DEVICES": "0"}, timeout=120) as url:
        assert url == f"http://127.0.0.1:{port}"
        seen = notes.read_text().splitlines()
        assert seen[0] == "start CUDA_VISIBLE_DEVICES=0 VLLM_SERVER_DEV_MODE=1"
        # It asked until the server said it was healthy, and no longer.
        assert "GET /health 503" in seen and seen[-1] == "GET /health 200"
        fields = vllm_arguments(cfg.grpo, server_environment(port, group_port))
        args = GRPOConfig(
            output_dir=str(tmp_path / "out"),
            use_cpu=True,
            report_to="none",
            use_vllm=True,
            per_device_train_batch_size=4,
            num_generations=4,
            **fields,
        )
        assert (args.vllm_mode, args.vllm_server_host, args.vllm_server_port, args.vllm_group_port) == (
            "server",
            "127.0.0.1",
            port,
            group_port,
        )
        assert args.vllm_server_base_url is None
    assert notes.read_text().splitlines()[-1] == "SIGTERM" and not port_open(port)


def test_server_that_dies_or_never_answers_fails_the_stage_and_is_stopped(tmp_path):
    with pytest.raises(RdtuiError, match="the vLLM server exited with status 4 before it was ready"):
        with vllm_server([sys.executable, "-c", "import sys; sys.exit(4)"], port=free_port(), env=dict(os.environ)):
            pass
    command, port, notes = standin(tmp_path, ready_after=3600)
    with pytest.raises(RdtuiError, match=rf"did not answer http://127.0.0.1:{port}/health within 2 s"):
        with vllm_server(command, port=port, env=dict(os.environ), timeout=2):
            pass
    assert notes.read_text().splitlines()[-1] == "SIGTERM"


def test_grpo_outside_the_launcher_refuses_server_mode_without_a_server():
    cfg = cfg_for("grpo_only", "modal", "gpu.grpo=H100:2", "grpo.vllm_mode=server")
    with pytest.raises(RdtuiError, match="no vLLM server was started for this process"):
        vllm_arguments(cfg.grpo, {})
    colocate = cfg_for("grpo_only", "modal")
    assert vllm_arguments(colocate.grpo, {}) == {"vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.3}


def test_the_serve_command_is_trls_for_the_configured_model():
    cfg = cfg_for("grpo_only", "modal", "gpu.grpo=H100:3", "grpo.vllm_mode=server", "grpo.vllm_server_gpus=2")
    command = vllm_serve_command(cfg, 8123, 2)
    assert command[:5] == [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", cfg.model.name]
    flags = dict(zip(command[5::2], command[6::2]))
    assert flags["--port"] == "8123" and flags["--host"] == "127.0.0.1" and flags["--data-parallel-size"] == "2"
    assert flags["--dtype"] == cfg.model.dtype and flags["--revision"] == cfg.model.revision
    merged = vllm_serve_command(cfg, 8123, 2, model=Path("/runs/x/checkpoints/sft-merged"))
    assert merged[4] == "/runs/x/checkpoints/sft-merged"
    assert "--weight-transfer-config" in command  # TRL's weight sync into the server


# -- slow: two processes on CPU ----------------------------------------------------------------------

TWO_RANKS = [
    "--set",
    "distributed.num_processes=2",
    "--set",
    "lora.enabled=true",
    "--set",
    "sft.max_steps=12",
    "--set",
    "sft.save_steps=3",
    "--set",
    "sft.sample_every=3",
    "--set",
    "sft.per_device_train_batch_size=4",
    "--set",
    "sft.max_length=128",
    "--set",
    "grpo.max_steps=2",
    "--set",
    "grpo.save_steps=2",
    "--set",
    "grpo.sample_every=1",
    "--set",
    "grpo.per_device_train_batch_size=4",
    "--set",
    "grpo.num_generations=4",
    "--set",
    "grpo.max_completion_length=24",
    "--set",
    "telemetry.samples_per_log=2",
    "--set",
    "evaluation.benchmarks=[synth_test]",
    "--set",
    "evaluation.limit=4",
    "--set",
    "evaluation.max_new_tokens=16",
]


def live_processes() -> dict[int, int]:
    """{pid: parent pid} of every live (not zombie) process."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            out[int(stat.parent.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    parents = live_processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def still_running(pids: set[int]) -> set[int]:
    return pids & set(live_processes())


@pytest.mark.slow
def test_sft_then_grpo_on_two_processes_survives_cancel_and_kill_9(runs_dir):
    """A user's run on two processes: LoRA SFT cancelled, resumed, GRPO over the merged SFT model
    killed with -9, resumed again, finished: nothing outlives a stop, and the files read as one clean run."""
    proc = rdtui(
        "--runs-dir",
        str(runs_dir),
        "run",
        "sft_then_grpo",
        "--config",
        str(CONFIG),
        "--profile",
        "local",
        *TWO_RANKS,
        "--detach",
    )
    assert proc.returncode == 0, proc.stderr
    run = RunStore(runs_dir).get(proc.stdout.split()[1])
    # A first run may build the builtin model first (minutes on a busy machine).
    wait_for(lambda: any(m.get("step", 0) >= 4 for m in read_jsonl(run.metrics_path)), timeout=1500)
    children = descendants(run.reload().pid)
    assert len(children) >= 3  # accelerate's launcher and two ranks (and their helpers)
    proc = rdtui("--runs-dir", str(runs_dir), "cancel", run.id)
    assert proc.returncode == 0, proc.stderr
    assert run.reload().status == "cancelled"
    wait_for(lambda: not still_running(children), timeout=60)

    proc = rdtui("--runs-dir", str(runs_dir), "resume", run.id, "--detach")
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: "[rdtui] grpo: rank 1 of 2 started" in run.log_path.read_text(), timeout=900)
    pid = run.reload().pid
    children = descendants(pid)
    os.killpg(pid, signal.SIGKILL)  # the worker and the launcher; the ranks are in sessions of their own
    wait_for(lambda: not still_running(children), timeout=60)
    wait_for(lambda: run.reload().effective_status in ("lost", "failed"), timeout=30)

    proc = rdtui("--runs-dir", str(runs_dir), "resume", run.id, "--detach")
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: run.reload().status in ("succeeded", "failed"), timeout=900)
    record = run.reload()
    assert record.status == "succeeded", record.error
    assert record.extra["stages_done"] == ["sft", "grpo", "eval"]

    # Rank 0 alone writes: every step once; SFT samples samples_per_log fixed prompts, GRPO the whole
    # groups of rank 0's share of the batch (4 completions = one prompt's group of 4 generations).
    metrics = read_jsonl(run.metrics_path)
    assert [m["step"] for m in metrics if m["stage"] == "sft"] == list(range(1, 13))
    assert [m["step"] for m in metrics if m["stage"] == "grpo"] == [1, 2]
    samples = Counter((s["stage"], s["step"]) for s in read_jsonl(run.samples_path))
    assert samples == {("sft", 3): 2, ("sft", 6): 2, ("sft", 9): 2, ("sft", 12): 2, ("grpo", 1): 4, ("grpo", 2): 4}

    log = run.log_path.read_text()
    for stage in ("sft", "grpo"):
        assert f"[rdtui] {stage}: 2 training process(es) under accelerate launch (ddp)" in log
        assert f"[rdtui] {stage}: rank 1 of 2 started" in log
    # The resumed SFT continued from a checkpoint both ranks wrote before the cancel, not from step 0.
    resumed = re.search(r"resuming sft from checkpoint-(\d+)\b", log)
    assert resumed and int(resumed.group(1)) in (3, 6, 9)
    last = run.checkpoints_dir / "sft" / "checkpoint-12"
    assert (last / "rng_state_0.pth").exists() and (last / "rng_state_1.pth").exists()
    for stage in ("sft", "grpo"):
        assert (run.checkpoints_dir / f"{stage}-final" / "adapter_model.safetensors").exists()
        assert not (run.checkpoints_dir / f".{stage}-final.tmp").exists()
    # One process merged the SFT adapter, once, before the GRPO ranks loaded it.
    assert log.count("merged the SFT adapter into the base model") == 1
    assert (run.checkpoints_dir / "sft-merged" / "config.json").exists()
    assert (run.eval_dir / "synth_test.json").exists()


@pytest.mark.slow
def test_server_mode_starts_the_server_before_training_and_stops_it_after(tmp_path, monkeypatch):
    """The whole launcher path of server mode, with a stand-in server (no GPU, no vLLM here): the
    server gets the reserved GPU, answers /health before the rank starts, and is gone afterwards."""
    cfg, run = make_run(
        tmp_path,
        "grpo_only",
        "local",
        "grpo.use_vllm=true",
        "grpo.vllm_mode=server",
        "grpo.max_steps=1",
        "grpo.save_steps=1",
        "grpo.sample_every=0",
        "grpo.per_device_train_batch_size=4",
        "grpo.num_generations=4",
        "grpo.max_completion_length=16",
    )
    ports = []

    def serve_command(cfg, port, gpus, model=None):
        ports.append(port)
        return standin_command(tmp_path, port, ready_after=1.0)

    monkeypatch.setattr(distributed, "visible_devices", lambda: ["0", "1"])
    monkeypatch.setattr(distributed, "check_machine", lambda layout, devices: None)
    monkeypatch.setattr(distributed, "vllm_serve_command", serve_command)
    monkeypatch.setattr(distributed, "mixed_precision", lambda cfg, cuda: "no")

    final = distributed.run_launched_stage("grpo", cfg, run, None, False)

    assert final == run.checkpoints_dir / "grpo-final" and any(final.glob("*model.safetensors"))
    seen = (tmp_path / "server-notes.txt").read_text().splitlines()
    assert seen[0] == "start CUDA_VISIBLE_DEVICES=0 VLLM_SERVER_DEV_MODE=1" and seen[-1] == "SIGTERM"
    assert "GET /health 200" in seen and len(ports) == 1 and not port_open(ports[0])
    assert [m["step"] for m in read_jsonl(run.metrics_path)] == [1]
