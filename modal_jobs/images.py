"""The two container images, as the reference study learned it needs them.

- `train`: SFT and evaluation. A torch build and the flash-attn wheel compiled for exactly that
  torch, CUDA and Python (flash-attn publishes wheels per combination; a mismatch fails at import,
  and building it from source takes an hour), plus the Hugging Face training stack.
- `grpo`: trl with its vllm extra, which pins its own torch; flash-attn is left out here (vLLM has
  its own attention kernels, and the trainer falls back to SDPA).
Both add our `core` and `modal_jobs` packages last, so editing our code never rebuilds the layers
below it. The versions move together: change TORCH and FLASH_ATTN_WHEEL as one.
"""

from __future__ import annotations

PYTHON = "3.11"
TORCH = "2.8.0"                       # the default PyPI build of 2.8.0 for Linux is CUDA 12.8
FLASH_ATTN_WHEEL = ("https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3/"
                    "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl")
HF_STACK = ["transformers>=5.24.0", "tokenizers>=0.23.3", "peft>=0.21.2", "datasets>=5.2.0", "accelerate>=1.15.0",
            "math-verify>=0.9.0", "wandb"]
CORE_DEPS = ["pydantic>=2.14", "pyyaml>=6.0.4", "ruamel.yaml>=0.19.1", "rich>=15.0.0"]
ENV = {"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
OUR_PACKAGES = ("core", "modal_jobs")


def build_images() -> dict[str, object]:
    """Image per kind: `train` (sft), `grpo` (grpo and eval: vLLM) and `driver` (no torch)."""
    import modal

    driver = (
        modal.Image.debian_slim(python_version=PYTHON)
        .pip_install(*CORE_DEPS)
        .env(ENV)
        .add_local_python_source(*OUR_PACKAGES)
    )
    train = (
        modal.Image.debian_slim(python_version=PYTHON)
        .pip_install(f"torch=={TORCH}")
        .pip_install(FLASH_ATTN_WHEEL, "trl>=1.16.0", *HF_STACK, *CORE_DEPS)
        .env(ENV)
        .add_local_python_source(*OUR_PACKAGES)
    )
    grpo = (
        modal.Image.debian_slim(python_version=PYTHON)
        .pip_install("trl[vllm]>=1.16.0", *HF_STACK, *CORE_DEPS)
        .env(ENV)
        .add_local_python_source(*OUR_PACKAGES)
    )
    return {"train": train, "grpo": grpo, "driver": driver}
