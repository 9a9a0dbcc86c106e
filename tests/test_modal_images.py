"""The images install one locked, mutually compatible set; `rdtui[gpu]` and the dev install resolve.

The resolution tests ask PyPI (pip's own resolver, `--dry-run --report`: metadata only, nothing is
installed); they are slow and skip when PyPI cannot be reached.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from modal_jobs import gpu_lock
from tests.conftest import REPO


def versions(lock: list[str]) -> dict[str, str]:
    pairs = [pin.split("==") for pin in lock]
    assert all(len(pair) == 2 for pair in pairs), "every lock line is name==version"
    names = [name.lower().replace("_", "-") for name, _ in pairs]
    assert len(names) == len(set(names)), "a package appears twice"
    return {name: version for name, (_, version) in zip(names, pairs)}


def test_both_images_share_one_tested_set():
    train, grpo = versions(gpu_lock.pins("train")), versions(gpu_lock.pins("grpo"))
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "deepspeed"):
        assert train[name] == grpo[name], name
    assert (grpo["vllm"], grpo["torch"], grpo["transformers"], grpo["trl"]) == ("0.31.0", "2.13.0", "5.17.0", "1.16.0")
    assert "vllm" not in train
    # vLLM 0.31.0's own bound on transformers, and TRL 1.16's range for vLLM, hold.
    assert tuple(map(int, grpo["transformers"].split(".")[:2])) < (5, 18)
    assert set(train) <= set(grpo) and all(train[name] == grpo[name] for name in train)


def test_the_extra_and_the_images_agree():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    gpu_extra = project["optional-dependencies"]["gpu"]
    grpo = versions(gpu_lock.pins("grpo"))
    assert f"vllm=={grpo['vllm']}" in gpu_extra
    assert not any(dep.startswith("torch==") for dep in project["dependencies"])  # users keep their torch
    assert (REPO / "constraints-dev.txt").read_text().splitlines()[-1] == "torch==2.13.0"
    assert "-c constraints-dev.txt" in (REPO / "Makefile").read_text()


DRIVER_IMPORTS = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers", "trl", "peft", "datasets", "accelerate", "vllm",
                                  "numpy", "math_verify"}:
            raise ImportError(f"{name} is not in the driver image")
sys.meta_path.insert(0, Refuse())
from pathlib import Path
from modal_jobs import remote
request = {"run_id": sys.argv[2], "record": {"id": sys.argv[2], "condition": "grpo_only", "profile": "modal",
           "backend": "modal"}, "snapshot": Path(sys.argv[3]).read_text(), "launch": 1}
print(remote.drive(Path(sys.argv[1]), request, run_stage=lambda stage: "running", commit=lambda: None,
                   reload=lambda: None, call_id="fc-driver"))
"""


def test_the_driver_runs_without_the_training_stack(tmp_path):
    """What the slim `driver` image holds (pydantic, yaml, rich and our code) is enough to drive a run."""
    from core.config import load_study, resolve_full, snapshot_text
    from tests.conftest import CONFIG

    snapshot = tmp_path / "config.yaml"
    snapshot.write_text(snapshot_text(resolve_full(load_study(CONFIG), "grpo_only", "modal")))
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER_IMPORTS, str(tmp_path / "vol"), "grpo_only-20260101-000000-0d0d", str(snapshot)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "failed"  # the stand-in stage never finished it


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


BACKTRACK_NOTICE = "is looking at multiple versions of"


def pip_resolve(args: list[str], tmp_path: Path, isolated: bool = True) -> dict[str, str]:
    report = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        *(["--isolated"] if isolated else []),
        "install",
        "--dry-run",
        "--ignore-installed",
        "--report",
        str(report),
        *args,
    ]
    # The lock's BUILD_ENV, as in the image build: pip builds DeepSpeed's metadata from its sdist.
    env = {**os.environ, **gpu_lock.BUILD_ENV}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # pip says so when it backtracks (tries an older release of a package because a newer one conflicts).
    backtracked = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if BACKTRACK_NOTICE in line]
    assert not backtracked, backtracked
    data = json.loads(report.read_text())
    return {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"] for item in data["install"]}


needs_pypi = pytest.mark.skipif(not pypi_reachable(), reason="PyPI cannot be reached")


@pytest.mark.slow
@needs_pypi
@pytest.mark.parametrize("image", ["train", "grpo"])
def test_each_image_lock_resolves_as_written(image, tmp_path):
    """Every pin together, dependencies included: pip must find exactly the lock (no backtracking to
    another vLLM, nothing missing from the lock)."""
    locked = versions(gpu_lock.pins(image))
    assert pip_resolve(gpu_lock.pins(image), tmp_path) == locked


@pytest.mark.slow
@needs_pypi
@pytest.mark.parametrize("image", ["train", "grpo"])
def test_deepspeed_joins_each_locked_set_without_backtracking(image, tmp_path):
    """DeepSpeed left free (no version given) against the rest of the lock: pip takes the locked release or a
    newer one straight away; a DeepSpeed whose requirements clash with the set would make it backtrack."""
    locked = versions(gpu_lock.pins(image))
    constraints = tmp_path / "lock.txt"
    constraints.write_text("\n".join(pin for pin in gpu_lock.pins(image) if not pin.startswith("deepspeed==")))
    resolved = pip_resolve(["-c", str(constraints), "deepspeed"], tmp_path)
    chosen = tuple(map(int, resolved["deepspeed"].split(".")[:3]))
    assert chosen >= tuple(map(int, locked["deepspeed"].split(".")[:3])), resolved["deepspeed"]
    assert resolved["torch"] == locked["torch"]


@pytest.mark.slow
@needs_pypi
def test_the_gpu_extra_resolves_to_the_locked_pair(tmp_path):
    resolved = pip_resolve([f"{REPO}[gpu]"], tmp_path)
    grpo = versions(gpu_lock.pins("grpo"))
    for name in ("vllm", "torch", "transformers", "trl"):
        assert resolved[name] == grpo[name], name


@pytest.mark.slow
def test_the_dev_install_takes_the_local_cpu_torch(tmp_path):
    """`make`'s install line: with constraints-dev.txt pip takes the CPU build, never a CUDA one."""
    resolved = pip_resolve(["--no-deps", "-c", "constraints-dev.txt", "torch"], tmp_path, isolated=False)
    assert resolved["torch"] == "2.13.0+cpu"


# -- DeepSpeed (distributed.backend: zero2 | zero3) ------------------------------------------------------------

DEEPSPEED_DEPENDENCIES = ("hjson", "msgpack", "ninja", "py-cpuinfo", "einops")  # its own Requires-Dist beyond ours


def test_the_locked_deepspeed_is_one_trl_accepts():
    """TRL 1.16's `deepspeed` extra (read from TRL's installed metadata, the locked TRL) admits the locked DeepSpeed."""
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    grpo = versions(gpu_lock.pins("grpo"))
    assert version("trl") == grpo["trl"]
    declared = [Requirement(line) for line in requires("trl") or []]
    wanted = [
        req
        for req in declared
        if req.name == "deepspeed" and req.marker is not None and req.marker.evaluate({"extra": "deepspeed"})
    ]
    assert wanted and all(grpo["deepspeed"] in req.specifier for req in wanted), wanted
    for image in ("train", "grpo"):
        assert set(DEEPSPEED_DEPENDENCIES) <= set(versions(gpu_lock.pins(image))), image


class RecordingImage:
    """Stands in for modal.Image (no image can be built here): each call adds a step to a new image."""

    def __init__(self, steps: tuple = ()):
        self.steps = steps

    @classmethod
    def debian_slim(cls, python_version: str):
        return cls((("debian_slim", python_version),))

    def env(self, variables: dict):
        return RecordingImage((*self.steps, ("env", dict(variables))))

    def pip_install(self, *packages: str, **options):
        return RecordingImage((*self.steps, ("pip_install", packages, options)))

    def add_local_python_source(self, *modules: str):
        return RecordingImage((*self.steps, ("add_local_python_source", modules)))


def test_the_training_images_build_deepspeed_with_the_lock_s_build_environment(monkeypatch):
    """DS_BUILD_OPS=0 is in the image before the pip layer that builds DeepSpeed's sdist (no op compiled
    on the GPU-less builder), and that layer installs exactly the lock."""
    from types import SimpleNamespace

    from modal_jobs.images import build_images

    monkeypatch.setitem(sys.modules, "modal", SimpleNamespace(Image=RecordingImage))
    images = build_images()
    for kind in ("train", "grpo"):
        steps = images[kind].steps
        (pip,) = [i for i, step in enumerate(steps) if step[0] == "pip_install"]
        assert steps[pip][1:] == (tuple(gpu_lock.pins(kind)), {"extra_options": "--no-deps"})
        assert ("env", {"DS_BUILD_OPS": "0"}) in steps[:pip], steps
        assert steps[-1] == ("add_local_python_source", ("core", "modal_jobs"))  # our code last
    assert not any("deepspeed" in str(step) for step in images["driver"].steps)


def zero_cfg(backend: str, condition: str = "grpo_only", gpus: str = "H100:2"):
    from core.config import load_study, resolve
    from tests.conftest import CONFIG

    return resolve(
        load_study(CONFIG),
        condition,
        "modal",
        overrides=[f"gpu.grpo={gpus}", f"gpu.sft={gpus}", f"distributed.backend={backend}"],
    )


@pytest.mark.parametrize("backend", ["zero2", "zero3"])
def test_a_zero_layout_is_accepted_for_modal_and_launches_with_its_shipped_accelerate_config(backend):
    """With DeepSpeed in both images a ZeRO layout passes the Modal checks, and the command the stage runs
    names the shipped accelerate config, which accelerate itself reads as DeepSpeed at that ZeRO stage."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    from core.backends.modal_backend import check_config
    from core.training.distributed import CONFIG_DIR, accelerate_command, needs_launcher, stage_layout

    cfg = zero_cfg(backend, "sft_then_grpo")
    check_config(cfg)
    for stage in ("sft", "grpo"):
        assert needs_launcher(cfg, stage)
        layout = stage_layout(cfg, stage)
        command = accelerate_command(
            layout,
            precision="bf16",
            gradient_accumulation_steps=getattr(cfg, stage).gradient_accumulation_steps,
            main_process_port=29500,
        )
        assert command[1:3] == ["-m", "accelerate.commands.launch"]
        args = launch_command_parser().parse_args([*command[3:], "-m", "core.training.rank", "RUN", stage])
        assert Path(args.config_file) == CONFIG_DIR / f"{backend}.yaml"
        assert (args.num_processes, args.num_machines) == (2, 1)
        assert args.gradient_accumulation_steps == getattr(cfg, stage).gradient_accumulation_steps
        shipped = load_config_from_file(args.config_file)
        assert shipped.distributed_type == "DEEPSPEED"
        assert shipped.deepspeed_config["zero_stage"] == int(backend[-1])
        assert shipped.deepspeed_config["deepspeed_multinode_launcher"] == "standard"  # torchrun, no ssh


PROBE = """
import json, os, sys
import deepspeed
from deepspeed.git_version_info import installed_ops
seen = {k: v for k, v in os.environ.items() if k.startswith("ACCELERATE_") or k in ("RANK", "WORLD_SIZE")}
seen["deepspeed"] = deepspeed.__version__
seen["compiled_ops"] = sorted(name for name, built in installed_ops.items() if built)
with open(os.path.join(sys.argv[1], "rank-" + os.environ["RANK"] + ".json"), "w") as f:
    json.dump(seen, f)
"""


@pytest.mark.slow
@needs_pypi
def test_the_locked_deepspeed_builds_without_a_gpu_and_the_stage_s_zero3_command_runs_with_it(tmp_path):
    """What the image build does, here, without a GPU: the locked DeepSpeed sdist installs with BUILD_ENV as
    pure Python (no compiled op), imports with the locked torch, and the ZeRO-3 stage's own `accelerate launch`
    line starts two ranks that accelerate hands ZeRO stage 3 (CPU processes; the probe only reads its setup)."""
    import os

    import torch

    from core.training.distributed import accelerate_command, stage_layout

    lock = versions(gpu_lock.pins("train"))
    assert torch.__version__.split("+")[0] == lock["torch"]
    site = tmp_path / "site"
    pins = [f"{name}=={lock[name]}" for name in ("deepspeed", *DEEPSPEED_DEPENDENCIES)]
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "install", "--quiet", "--no-deps", "--target", str(site), *pins],
        env={**os.environ, **gpu_lock.BUILD_ENV},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    (tmp_path / "probe_env.py").write_text(PROBE)
    out = tmp_path / "out"
    out.mkdir()
    cfg = zero_cfg("zero3")
    command = accelerate_command(
        stage_layout(cfg, "grpo"),
        precision="no",
        gradient_accumulation_steps=cfg.grpo.gradient_accumulation_steps,
        main_process_port=0,  # accelerate picks a free port
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": os.pathsep.join([str(site), str(tmp_path)])}
    proc = subprocess.run(
        [*command, "-m", "probe_env", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    for rank, seen in enumerate(ranks):
        assert (seen["RANK"], seen["WORLD_SIZE"]) == (str(rank), "2")
        assert seen["ACCELERATE_USE_DEEPSPEED"] == "true"
        assert seen["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "3"
        assert seen["ACCELERATE_DEEPSPEED_ZERO3_SAVE_16BIT_MODEL"] == "true"  # the final save gathers the weights
        assert seen["ACCELERATE_GRADIENT_ACCUMULATION_STEPS"] == str(cfg.grpo.gradient_accumulation_steps)
        assert seen["deepspeed"] == lock["deepspeed"]
        assert seen["compiled_ops"] == []  # nothing was compiled at install: ops are built just in time
