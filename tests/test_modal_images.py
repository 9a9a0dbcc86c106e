"""The images install one locked, mutually compatible set; `rdtui[gpu]` and the dev install resolve.

The resolution tests ask PyPI (pip's own resolver, `--dry-run --report`: metadata only, nothing is
installed); they are slow and skip when PyPI cannot be reached.
"""

from __future__ import annotations

import json
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
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers"):
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
        "--quiet",
        "--report",
        str(report),
        *args,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
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


def test_a_deepspeed_layout_is_refused_for_modal_while_no_image_installs_deepspeed():
    """distributed.backend zero2/zero3 would stop each stage on arrival without DeepSpeed: refused before
    launch for as long as the lock has none (add deepspeed to an image, and this refusal goes)."""
    from core.backends.modal_backend import check_config
    from core.config import load_study, resolve
    from core.errors import RdtuiError
    from tests.conftest import CONFIG

    assert not any(pin.startswith("deepspeed==") for image in ("train", "grpo") for pin in gpu_lock.pins(image))
    study = load_study(CONFIG)
    layout = ["gpu.grpo=H100:2"]
    check_config(resolve(study, "grpo_only", "modal", overrides=[*layout, "distributed.backend=fsdp"]))
    check_config(resolve(study, "grpo_only", "modal", overrides=["distributed.backend=zero2"]))  # one GPU: no launcher
    with pytest.raises(RdtuiError, match="distributed.backend: zero3 needs DeepSpeed, which the Modal images"):
        check_config(resolve(study, "grpo_only", "modal", overrides=[*layout, "distributed.backend=zero3"]))
