"""The container images, installed from one lock (modal_jobs/gpu_lock.py: why these versions).

- `train`: SFT. torch, transformers, TRL, PEFT and the rest of the Hugging Face stack, every package
  pinned exactly as locked, so a build today and a build next month are the same image.
- `grpo`: GRPO and evaluation: the same pins plus vLLM (generation on vLLM is many times faster
  than `generate`). The two share every version they have in common.
- `driver`: the run's driver (a CPU container that calls the stages): our code and its small
  dependencies, no torch, so it starts in seconds.
All add our `core` and `modal_jobs` packages last, so editing our code never rebuilds the layers
below it. pip is run with `--no-deps`: the lock already lists every dependency, and with the lock's
BUILD_ENV set, so DeepSpeed (an sdist) installs as pure Python on the GPU-less image builder.
"""

from __future__ import annotations

from modal_jobs.gpu_lock import BUILD_ENV, CORE, pins

PYTHON = "3.11"
ENV = {"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
OUR_PACKAGES = ("core", "modal_jobs")


def build_images() -> dict[str, object]:
    """Image per kind: `train` (sft), `grpo` (grpo and eval: vLLM) and `driver` (no torch)."""
    import modal

    def locked(kind: str):
        return (
            modal.Image.debian_slim(python_version=PYTHON)
            .env(BUILD_ENV)
            .pip_install(*pins(kind), extra_options="--no-deps")
            .env(ENV)
            .add_local_python_source(*OUR_PACKAGES)
        )

    driver = (
        modal.Image.debian_slim(python_version=PYTHON)
        .pip_install(*CORE)
        .env(ENV)
        .add_local_python_source(*OUR_PACKAGES)
    )
    return {"train": locked("train"), "grpo": locked("grpo"), "driver": driver}
