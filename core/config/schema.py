"""The typed schema of a resolved config (one condition under one profile).

Strict: unknown keys are errors, types are not coerced (an int is accepted where a float is
expected, nothing else), ranges are checked. Cross-field rules live in `validate.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Stage = Literal["sft", "grpo", "eval"]


SEED_MAX = 2**32 - 1  # numpy's and torch's seed range


class Section(BaseModel):
    # inf/nan are never meant: `learning_rate: .inf` would train into NaNs.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class StudyCfg(Section):
    name: str = "study"
    seed: int = Field(default=42, ge=0, le=SEED_MAX)
    # Run every condition once per seed (each run's study.seed); `rdtui results` averages them.
    seeds: list[int] = Field(default_factory=list)


class ConditionMeta(Section):
    name: str
    description: str = ""
    stages: list[Stage] = Field(min_length=1)


class ProfileMeta(Section):
    name: str
    description: str = ""


class ModelCfg(Section):
    name: str = Field(min_length=1)
    revision: str = "main"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2"] = "auto"
    enable_thinking: bool = True


class LoraCfg(Section):
    enabled: bool = True
    r: int = Field(default=64, gt=0)
    alpha: float = Field(default=64, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    use_rslora: bool = True
    target_modules: list[str] = Field(min_length=1)


class _TrainerCommon(Section):
    dataset: str | None = None
    learning_rate: float = Field(gt=0)
    max_steps: int = Field(default=-1, ge=-1)
    per_device_train_batch_size: int = Field(gt=0)
    gradient_accumulation_steps: int = Field(default=1, gt=0)
    logging_steps: int = Field(default=1, gt=0)
    save_steps: int = Field(default=100, gt=0)
    sample_every: int = Field(default=0, ge=0)
    # Any other field of TRL's SFTConfig / GRPOConfig, checked in validate.py (core/config/trainer_args.py).
    trainer_args: dict[str, Any] = Field(default_factory=dict)


class SFTCfg(_TrainerCommon):
    num_train_epochs: float = Field(default=1, gt=0)
    max_length: int = Field(gt=0)
    packing: bool = True
    completion_only_loss: bool = True
    warmup_ratio: float = Field(default=0.0, ge=0, le=1)
    warmup_steps: int = Field(default=0, ge=0)  # a count of steps; when > 0 it replaces warmup_ratio
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr"] = "cosine"
    weight_decay: float = Field(default=0.0, ge=0)


class GRPOCfg(_TrainerCommon):
    num_generations: int = Field(ge=2)
    max_completion_length: int = Field(gt=0)
    temperature: float = Field(ge=0)
    beta: float = Field(default=0.0, ge=0)
    reward_weights: dict[str, float] = Field(min_length=1)
    format_partial_credit: float = Field(default=0.5, ge=0, le=1)
    overlong_buffer: int = Field(default=0, ge=0)
    allow_last_number: bool = False
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = Field(default=0.3, gt=0, le=1)
    vllm_server_gpus: int = Field(default=1, gt=0)  # vllm_mode: server: GPUs kept for the vLLM server
    after_sft: Literal["merge", "continue"] = "merge"
    warmup_steps: int = Field(default=0, ge=0)


class EvaluationCfg(Section):
    benchmarks: list[str] = Field(min_length=1)
    samples: int = Field(default=1, gt=0)
    k: list[int] = Field(default_factory=lambda: [1], min_length=1)
    temperature: float = Field(default=0.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_new_tokens: int = Field(gt=0)
    batch_size: int = Field(default=32, gt=0)
    limit: int | None = Field(default=None, gt=0)
    system_prompt: str | None = None
    allow_last_number: bool = False


class GradingCfg(Section):
    """How answers are graded, in GRPO rewards and evaluation alike (core/grading)."""

    multiple_boxes: Literal["last", "all_agree", "any"] = "last"
    decimal_tolerance: bool = False
    grader: Literal["rdtui", "math-verify"] = "rdtui"


class TelemetryCfg(Section):
    report_to: list[Literal["wandb", "tensorboard", "trackio", "mlflow"]] = Field(default_factory=list)
    wandb: bool = False  # the older switch: same as listing wandb in report_to
    wandb_project: str = "rdtui"  # project of W&B and trackio
    wandb_entity: str | None = None
    samples_per_log: int = Field(default=4, ge=0)


class DatasetSpec(Section):
    hub: str | None = None
    config: str | None = None
    split: str = "train"
    path: str | None = None
    synthetic: Literal["digit_chain"] | None = (
        None  # the offline task (core/data/synthetic.py), in `formatter`'s schema
    )
    size: int | None = Field(default=None, gt=0)
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    wrong_step_rate: float = Field(default=0.0, ge=0, le=1)  # synthetic teacher: share of carry slips
    limit: int | None = Field(default=None, gt=0)
    filter: Literal["math_verified"] | None = None
    formatter: (
        Literal["orca_math", "s1k", "openr1", "gsm8k", "math500", "columns", "messages", "prompt_completion"] | None
    ) = None
    revision: str | None = None  # hub branch, tag or commit (None: main); run.json records the commit
    # Any dataset by config (core/data/mapped.py): which column plays which part, and rows to keep.
    columns: dict[str, str] | None = None
    where: dict[str, Any] | None = None
    instruction: bool | None = None  # append the boxed-answer instruction (default: columns only)


class DistributedCfg(Section):
    """How a training stage spreads over processes (core/training/distributed.py)."""

    backend: Literal["ddp", "zero2", "zero3", "fsdp"] = "ddp"
    num_processes: int | None = Field(default=None, gt=0)  # per machine; None: gpu.<stage>'s count (1 locally)
    num_machines: int = Field(default=1, gt=0)


# A Modal GPU ("H100", "H100:8"), or a fallback list Modal tries in order (["H100:8", "A100-80GB:8"]).
GpuSpec = str | list[str]  # an empty list is refused by distributed.layout_rules, with the other GPU rules


class GpuCfg(Section):
    sft: GpuSpec = "L40S"
    grpo: GpuSpec = "H100"
    eval: GpuSpec = "L40S"


class ModalCfg(Section):
    app_name: str = Field(default="rdtui", min_length=1)
    volume: str = Field(default="rdtui-runs", min_length=1)
    secrets: list[str] = Field(default_factory=list)
    optional_secrets: list[str] = Field(default_factory=list)
    timeout_hours: float = Field(default=12, gt=0, le=24)
    retries: int = Field(default=3, ge=0, le=10)


class CostCfg(Section):
    gpu_hourly_usd: dict[str, float] = Field(default_factory=dict)
    expected_hours: dict[Stage, float] = Field(default_factory=dict)


class ResolvedConfig(Section):
    study: StudyCfg = StudyCfg()
    condition: ConditionMeta
    profile: ProfileMeta
    backend: Literal["local", "modal"] = "local"
    max_parallel: int = Field(default=1, gt=0)
    model: ModelCfg
    lora: LoraCfg
    sft: SFTCfg | None = None
    grpo: GRPOCfg | None = None
    evaluation: EvaluationCfg
    grading: GradingCfg = GradingCfg()
    telemetry: TelemetryCfg = TelemetryCfg()
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    distributed: DistributedCfg = DistributedCfg()
    gpu: GpuCfg | None = None
    modal: ModalCfg | None = None
    cost: CostCfg | None = None
