"""The GPU images' lock: one tested set of torch, CUDA, vLLM, transformers and TRL, every package pinned.

Why this set (checked against each package's own metadata on PyPI):
- TRL 1.16's `vllm` extra accepts vLLM 0.22.0 to 0.31.0; vLLM 0.31.0, the newest of those, declares
  `transformers>=5.10.4,<5.18.0` and `torch==2.13.0` (the PyPI build for CUDA 13.0). Letting pip pick
  instead backtracks to vLLM 0.30.0, which declares no transformers bound and was never tested with
  the newest transformers (review M6). So: vLLM 0.31.0, transformers 5.17.0, torch 2.13.0.
- Both images use the same versions of every package they share: `train` (SFT) is `grpo` (GRPO and
  eval) without vLLM. flash-attn publishes no wheel for torch 2.13 and its sdist needs a CUDA build
  toolchain, so it is left out: the trainers use PyTorch's SDPA kernels, vLLM its own.
- DeepSpeed 0.19.8, the newest, for `distributed.backend: zero2 | zero3`, in both images (TRL 1.16's
  `deepspeed` extra asks >= 0.18.6, transformers >= 0.9.3, accelerate 1.15's newest paths >= 0.16.4;
  DeepSpeed itself asks torch >= 2.0 and adds hjson, msgpack, ninja, py-cpuinfo). It ships as an
  sdist only; built with `BUILD_ENV` (DS_BUILD_OPS=0) it is pure Python: no GPU, nvcc or torch is
  needed to install it, and the few CUDA ops it has are compiled just in time if a run ever uses
  one (ZeRO-2/3 with the trainer's own AdamW uses none).
- CUDA 13 needs a host driver >= 580. A stage checks that torch sees its GPUs before loading
  anything and fails at once, naming torch's CUDA version, when the host cannot run it (M7).

`TRAIN_LOCK` and `GRPO_LOCK` are what `pip install --dry-run --report` resolved for `REQUIREMENTS`
(Linux x86_64, Python 3.11). To move the set: change the pins in REQUIREMENTS, then
`python -m modal_jobs.gpu_lock` rewrites the two locks (needs PyPI; minutes); the slow test
`tests/test_modal_images.py` checks that each lock still resolves as written, without backtracking.
"""

from __future__ import annotations

CORE = ["pydantic>=2.14", "pyyaml>=6.0.4", "ruamel.yaml>=0.19.1", "rich>=15.0.0"]
HF_STACK = [
    "torch==2.13.0",
    "transformers==5.17.0",
    "trl==1.16.0",
    "peft>=0.21.2",
    "datasets>=5.2.0",
    "accelerate>=1.15.0",
    "tokenizers>=0.23.3",
    "math-verify>=0.9.0",
    "wandb",
    "deepspeed==0.19.8",
]
# Set while pip builds the images (and resolves the locks): DeepSpeed's setup.py then compiles no ops.
BUILD_ENV = {"DS_BUILD_OPS": "0"}
REQUIREMENTS = {"train": HF_STACK + CORE, "grpo": ["vllm==0.31.0"] + HF_STACK + CORE}

GRPO_LOCK = """
Jinja2==3.1.6
MarkupSafe==3.0.4
PyJWT==2.15.1
PyYAML==6.0.4
Pygments==2.21.0
accelerate==1.15.0
agent-detector==2.0.0
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiosignal==1.4.0
annotated-doc==0.0.7
annotated-types==0.8.0
anthropic==2.15.0
antlr4-python3-runtime==4.13.2
anyio==4.16.0
apache-tvm-ffi==0.1.11
astor==0.8.1
attrs==26.1.0
blake3==1.0.11
cachetools==8.0.2
cbor2==6.3.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
cloudpickle==3.1.3
compressed-tensors==0.17.0
cryptography==50.0.2
cuda-bindings==13.4.4
cuda-core==1.2.2
cuda-pathfinder==1.9.1
cuda-python==13.4.4
cuda-tile==1.7.0
cuda-toolkit==13.0.3.0
cwevals==0.0.1b1
datasets==5.2.0
deepspeed==0.19.8
depyf==0.20.0
detect-installer==0.2.1
dill==0.4.1
distro==1.9.0
dnspython==2.9.2
docstring_parser==0.18.0
einops==0.8.2
email-validator==2.4.0
fastapi-cli==0.0.34
fastapi-cloud-cli==0.28.0
fastapi==0.136.3
fastar==0.12.0
fastsafetensors==0.5.0
filelock==4.3.1
flashinfer-python==0.7.0.post1
frozenlist==1.8.0
fsspec==2026.9.0
googleapis-common-protos==1.76.0
grpcio==1.85.3
h11==0.16.0
hf-xet==1.8.0
hjson==3.1.0
httpcore2==2.16.2
httpcore==1.0.9
httptools==0.9.0
httpx2==2.16.2
httpx==0.28.1
huggingface_hub==1.33.0
humming-kernels==0.1.16
idna==3.20
ijson==3.6.0
instanttensor==0.2.2
interegular==0.3.3
jiter==0.19.0
jmespath==1.1.0
jsonschema-specifications==2025.9.1
jsonschema==4.26.0
lark==1.2.2
latex2sympy2_extended==1.11.0
llguidance==1.7.6
llvmlite==0.47.0
lm-format-enforcer==0.11.3
loguru==0.7.3
markdown-it-py==4.3.0
math-verify==0.9.0
mcp-types==2.3.0
mcp==2.3.0
mdurl==0.1.2
mistral_common==1.13.1
ml_dtypes==0.7.0
model-hosting-container-standards==0.1.16
mpmath==1.3.0
msgpack==1.2.4
msgspec==0.23.0
multidict==7.2.1
multiprocess==0.70.19
nccl-extensions==0.1.0
nccl4py==0.6.0
networkx==3.6.1
ninja==1.13.2
numba==0.65.0
numpy==2.3.5
nvidia-cublas==13.1.1.3
nvidia-cuda-cccl==13.3.5.0.6
nvidia-cuda-crt==13.5.37
nvidia-cuda-cupti==13.0.85
nvidia-cuda-nvcc==13.5.37
nvidia-cuda-nvdisasm==13.5.37
nvidia-cuda-nvrtc==13.0.88
nvidia-cuda-runtime==13.0.96
nvidia-cudnn-cu13==9.20.0.48
nvidia-cudnn-frontend==1.31.0
nvidia-cufft==12.0.0.61
nvidia-cufile==1.15.1.6
nvidia-curand==10.4.0.35
nvidia-cusolver==12.0.4.66
nvidia-cusparse==12.6.3.3
nvidia-cusparselt-cu13==0.8.1
nvidia-cutlass-dsl-libs-base==4.7.1
nvidia-cutlass-dsl-libs-core==4.7.1
nvidia-cutlass-dsl-libs-cu12==4.7.1
nvidia-cutlass-dsl-libs-cu13==4.7.1
nvidia-cutlass-dsl==4.7.1
nvidia-ml-py==13.615.71
nvidia-nccl-cu13==2.29.7
nvidia-nvjitlink==13.5.37
nvidia-nvshmem-cu13==3.4.5
nvidia-nvtx==13.0.85
nvidia-nvvm==13.5.37
nvtx==0.2.15
openai==3.57.0
opencv-python-headless==5.0.0.93
opentelemetry-api==1.45.2
opentelemetry-exporter-http-transport==0.66b2
opentelemetry-exporter-otlp-common==0.66b2
opentelemetry-exporter-otlp-proto-common==1.45.2
opentelemetry-exporter-otlp-proto-grpc==1.45.2
opentelemetry-exporter-otlp-proto-http==1.45.2
opentelemetry-exporter-otlp==1.45.2
opentelemetry-proto==1.45.2
opentelemetry-sdk==1.45.2
opentelemetry-semantic-conventions-ai==0.5.1
opentelemetry-semantic-conventions==0.66b2
oss-harmony==0.0.11
outlines_core==0.2.14
packaging==26.4
pandas==3.1.1
partial-json-parser==0.2.1.1.post7
peft==0.21.2
pillow==13.0.0
platformdirs==4.14.9
prometheus-fastapi-instrumentator==8.1.0
prometheus_client==0.26.0
propcache==0.5.4
protobuf==7.36.2
psutil==7.2.2
py-cpuinfo==9.0.0
pyarrow==26.0.1
pybase64==1.5.1
pycountry==26.2.16
pycparser==3.12
pydantic-extra-types==2.11.1
pydantic-settings==2.16.3
pydantic==2.14.4
pydantic_core==2.50.5
pynvvideocodec==2.0.4
python-dateutil==4.0.0
python-dotenv==1.2.4
python-json-logger==4.2.0
python-multipart==0.0.34
pyzmq==27.3.0
quack-kernels==0.6.5
referencing==0.37.0
regex==2026.11.19
requests==2.34.2
rich-toolkit==0.20.6
rich==15.0.0
rignore==0.8.1
rpds-py==2026.9.1
ruamel.yaml==0.19.1
safetensors==0.8.0
sentencepiece==0.2.3
sentry-sdk==2.75.0
setproctitle==1.3.8
setuptools==84.2.1
shellingham==1.5.4
sniffio==1.3.1
sse-starlette==3.7.0
starlette==1.10.0
supervisor==4.3.0
sympy==1.14.0
tabulate==0.10.0
tiktoken==0.14.0
tilelang==0.1.12
tokenizers==0.23.3
tokenspeed-mla==0.1.8
tokenspeed-triton==3.9.10.post20261028
torch==2.13.0
torch_c_dlpack_ext==0.1.5
torchaudio==2.11.0
torchcodec==0.17.0
torchvision==0.28.0
tqdm==4.70.1
transformers==5.17.0
triton==3.7.1
trl==1.16.0
truststore==0.10.5
typer==0.29.2
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
uvicorn==0.54.0
uvloop==0.23.0
vllm==0.31.0
wandb==0.31.0
watchfiles==1.3.0
websockets==17.4
xgrammar==0.2.7
xxhash==4.1.0
yarl==1.25.1
z3-solver==4.15.4.0
""".split()

TRAIN_LOCK = """
Jinja2==3.1.6
MarkupSafe==3.0.4
PyYAML==6.0.4
Pygments==2.21.0
accelerate==1.15.0
annotated-doc==0.0.7
annotated-types==0.8.0
antlr4-python3-runtime==4.13.2
anyio==4.16.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
cuda-bindings==13.4.4
cuda-pathfinder==1.9.1
cuda-toolkit==13.0.3.0
cwevals==0.0.1b1
datasets==5.2.0
deepspeed==0.19.8
dill==0.4.1
distro==1.9.0
einops==0.8.2
filelock==4.3.1
fsspec==2026.9.0
googleapis-common-protos==1.76.0
h11==0.16.0
hf-xet==1.8.0
hjson==3.1.0
httpcore==1.0.9
httpx==0.28.1
huggingface_hub==1.33.0
idna==3.20
latex2sympy2_extended==1.11.0
markdown-it-py==4.3.0
math-verify==0.9.0
mdurl==0.1.2
mpmath==1.3.0
msgpack==1.2.4
multiprocess==0.70.19
networkx==3.6.1
ninja==1.13.2
numpy==2.3.5
nvidia-cublas==13.1.1.3
nvidia-cuda-cupti==13.0.85
nvidia-cuda-nvrtc==13.0.88
nvidia-cuda-runtime==13.0.96
nvidia-cudnn-cu13==9.20.0.48
nvidia-cufft==12.0.0.61
nvidia-cufile==1.15.1.6
nvidia-curand==10.4.0.35
nvidia-cusolver==12.0.4.66
nvidia-cusparse==12.6.3.3
nvidia-cusparselt-cu13==0.8.1
nvidia-nccl-cu13==2.29.7
nvidia-nvjitlink==13.5.37
nvidia-nvshmem-cu13==3.4.5
nvidia-nvtx==13.0.85
opentelemetry-api==1.45.2
opentelemetry-exporter-http-transport==0.66b2
opentelemetry-exporter-otlp-common==0.66b2
opentelemetry-exporter-otlp-proto-common==1.45.2
opentelemetry-exporter-otlp-proto-http==1.45.2
opentelemetry-proto==1.45.2
opentelemetry-sdk==1.45.2
opentelemetry-semantic-conventions==0.66b2
packaging==26.4
pandas==3.1.1
peft==0.21.2
platformdirs==4.14.9
protobuf==7.36.2
psutil==7.2.2
py-cpuinfo==9.0.0
pyarrow==26.0.1
pydantic==2.14.4
pydantic_core==2.50.5
python-dateutil==4.0.0
regex==2026.11.19
requests==2.34.2
rich==15.0.0
ruamel.yaml==0.19.1
safetensors==0.8.0
setuptools==84.2.1
shellingham==1.5.4
sniffio==1.3.1
sympy==1.14.0
tokenizers==0.23.3
torch==2.13.0
tqdm==4.70.1
transformers==5.17.0
triton==3.7.1
trl==1.16.0
typer==0.29.2
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
wandb==0.31.0
xxhash==4.1.0
""".split()


def pins(image: str) -> list[str]:
    """The exact `name==version` list an image installs."""
    return list(TRAIN_LOCK if image == "train" else GRPO_LOCK)


def resolve(requirements: list[str], constraints: list[str] | None = None) -> list[str]:
    """`name==version` for every package pip would install for `requirements` on a clean Python
    (PyPI only: `--isolated` ignores this machine's pip configuration and local wheels)."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
        ]
        if constraints:
            (Path(tmp) / "c.txt").write_text("\n".join(constraints) + "\n")
            cmd += ["-c", str(Path(tmp) / "c.txt")]
        subprocess.run(cmd + requirements, check=True, env={**os.environ, **BUILD_ENV})
        data = json.loads(report.read_text())
    return sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in data["install"])


def main() -> None:
    """Re-resolve both locks and rewrite them in this file."""
    import re
    from pathlib import Path

    grpo = resolve(REQUIREMENTS["grpo"])
    train = resolve(REQUIREMENTS["train"], constraints=grpo)
    path = Path(__file__)
    text = path.read_text()
    for name, lock in (("GRPO_LOCK", grpo), ("TRAIN_LOCK", train)):
        block = f'{name} = """\n' + "\n".join(lock) + '\n""".split()'
        text = re.sub(
            rf'^{name} = """.*?"""\.split\(\)', lambda _, block=block: block, text, count=1, flags=re.S | re.M
        )
    path.write_text(text)


if __name__ == "__main__":
    main()
