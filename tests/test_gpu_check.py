"""bench/gpu_check.sh on a machine without a usable GPU: every measurement says it skipped and why, and
the check exits 0 (a device machine runs the same script and gets the figures)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow  # about 30 s: it imports torch and transformers in a fresh process
def test_without_cuda_the_gpu_check_prints_each_skip_and_exits_0(tmp_path):
    out = tmp_path / "gpu.json"
    # CUDA_VISIBLE_DEVICES="" hides any GPU this machine has, so the test is the same everywhere.
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu_check.sh"), "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()

    def reason(name: str) -> str:
        found = [line.split("skipped: ", 1)[1] for line in lines if line.startswith(f"[{name}] skipped: ")]
        assert len(found) == 1, proc.stdout
        return found[0]

    assert reason("single_gpu").startswith("no CUDA device (torch ")
    assert reason("multi_gpu").startswith("needs 2 GPUs; no CUDA device")
    for name, module in (("flash_attention_2", "flash_attn"), ("vllm", "vllm")):
        expected = "needs CUDA" if importlib.util.find_spec(module) else f"{module} does not import"
        assert reason(name) == expected
    assert reason("grpo_server").startswith("needs 2 GPUs and vLLM")
    assert "FAILED" not in proc.stdout and "tokens/s" not in proc.stdout  # nothing pretends to be measured
    # The versions the figures would be read against come first.
    assert any(line.startswith("torch: ") for line in lines) and "GPUs: " in proc.stdout
    # The single and multi parts each leave their JSON, with the same skips.
    single, multi = json.loads(out.read_text()), json.loads((tmp_path / "gpu.multi.json").read_text())
    assert set(single["skipped"]) == {"single_gpu", "flash_attention_2", "vllm"} and single["failed"] == {}
    assert set(multi["skipped"]) == {"multi_gpu", "grpo_server"} and multi["failed"] == {}
    assert single["gpus"] == multi["gpus"] == 0
