#!/usr/bin/env bash
# GPU check on a machine with a GPU and no network: LoRA SFT and batched generation throughput of a
# Qwen3-1.7B-shaped model with random weights (bench/gpu_check.py), for each attention path that
# imports there (flash-attn 2, SDPA) and vLLM when it imports. Then the multi-GPU path: rdtui's own
# SFT and GRPO stages on 1 and 2 GPUs through `accelerate launch`, GRPO generation colocated and on
# a vLLM server, side by side (2 GPUs when the machine has them, else it says it skipped).
# Installs nothing: it uses the machine's own python3 with torch, transformers, peft, trl and
# accelerate (override with PYTHON=...).
#
#   bench/gpu_check.sh [--data PATH/gsm8k_test.jsonl] [--json OUT.json] [any gpu_check.py option]
#
# The GSM8K test file is looked for in core/data/benchmarks and bench/data; a device machine
# that receives only this checkout needs it copied into bench/data/ (or passed with --data).
# Takes about 2-4 minutes on an H100; GPU_CHECK_TIMEOUT (seconds, default 360) bounds it. The
# multi-GPU part runs after it with its own bound, GPU_CHECK_MULTI_TIMEOUT (default 540), so a hang
# there keeps the single-GPU figures; --json writes OUT.json and OUT.multi.json.
# What cannot run on the machine (no CUDA, one GPU, flash_attn or vllm not importable) prints
# `[name] skipped: why`, and the exit status stays 0; a measurement that fails exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" - <<'PY'
import importlib.util
for name in ("torch", "transformers", "peft", "trl", "accelerate", "deepspeed", "flash_attn", "vllm"):
    spec = importlib.util.find_spec(name)
    version = "missing"
    if spec is not None:
        from importlib.metadata import PackageNotFoundError, version as dist_version
        try:
            version = dist_version(name.replace("_", "-"))
        except PackageNotFoundError:
            version = "present"
    print(f"{name}: {version}")
PY
GPUS=$(command -v nvidia-smi >/dev/null && nvidia-smi -L | wc -l || echo 0)
echo "GPUs: $GPUS"
status=0
timeout "${GPU_CHECK_TIMEOUT:-360}" "$PYTHON" bench/gpu_check.py --part single "$@" || status=$?
# The multi part's JSON goes next to the single part's (same --json argument, .multi before the suffix).
multi_args=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == "--json" && $# -gt 1 ]]; then multi_args+=("--json" "${2%.json}.multi.json"); shift 2
  else multi_args+=("$1"); shift; fi
done
timeout "${GPU_CHECK_MULTI_TIMEOUT:-540}" "$PYTHON" bench/gpu_check.py --part multi "${multi_args[@]}" || status=$?
exit $status
