"""Which weights an evaluation generates with: the base model, base + adapter, or a trained folder.

A run's trained model is its last training stage's `checkpoints/<stage>-final` (a PEFT adapter or
full fine-tuned weights). An adapter is only accepted over the base model it was trained on (the
config's, or a merged model saved inside the same run), since any other base silently produces
nonsense.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import RdtuiError
from core.store.runstore import TRAINING_STAGES

if TYPE_CHECKING:
    from core.config.schema import ConditionMeta, ModelCfg


@dataclass(frozen=True)
class ModelRef:
    base: str  # hub id, local folder or builtin:... (the config's model.name unless merged)
    checkpoint: Path | None  # a trained folder (adapter or full weights) loaded over / instead of `base`

    @property
    def is_adapter(self) -> bool:
        return self.checkpoint is not None and (self.checkpoint / "adapter_config.json").exists()

    def label(self, relative_to: Path | None = None) -> str:
        return _shown(self.checkpoint, relative_to) if self.checkpoint is not None else self.base

    def identity(self, relative_to: Path | None = None) -> dict[str, str | None]:
        """What the journal's settings record: folders inside the run relative to it, so that a run
        moved between machines (Modal volume -> local store) still matches its journals."""
        return {
            "base": _shown(self.base, relative_to),
            "checkpoint": _shown(self.checkpoint, relative_to) if self.checkpoint is not None else None,
        }


def _shown(path: str | Path, folder: Path | None) -> str:
    p = Path(path)
    if folder is not None and p.is_absolute() and p.resolve().is_relative_to(folder.resolve()):
        return str(p.resolve().relative_to(folder.resolve()))
    return str(path)


def run_final_checkpoint(condition: ConditionMeta, run) -> Path | None:
    """The trained model of a run: its last training stage's final folder; None for an eval-only condition."""
    stages = [s for s in condition.stages if s in TRAINING_STAGES]
    if not stages:
        return None
    final = run.final_model_dir(stages[-1])
    if not (final / "config.json").exists() and not (final / "adapter_config.json").exists():
        raise RdtuiError(
            f"run {run.id} has no trained model to evaluate: {final} is missing "
            f"(its {stages[-1]} stage has not finished; `rdtui resume {run.id}` completes it)"
        )
    return final


def model_ref(model: ModelCfg, checkpoint: str | Path | None, run=None) -> ModelRef:
    """The ModelRef for `checkpoint` (None = the config's base model), checking an adapter's base."""
    if checkpoint is None:
        return ModelRef(base=model.name, checkpoint=None)
    path = Path(checkpoint)
    if not path.is_dir():
        raise RdtuiError(f"trained model folder not found: {path}")
    adapter_config = path / "adapter_config.json"
    if not adapter_config.exists():
        if not (path / "config.json").exists():
            raise RdtuiError(f"{path}: neither a model (config.json) nor an adapter (adapter_config.json)")
        return ModelRef(base=model.name, checkpoint=path)
    return ModelRef(base=_adapter_base(model, path, adapter_config, run), checkpoint=path)


def _adapter_base(model: ModelCfg, path: Path, adapter_config: Path, run) -> str:
    from core.models.loading import model_source

    try:
        data = json.loads(adapter_config.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise RdtuiError(f"{adapter_config}: unreadable adapter config ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("base_model_name_or_path") or "", str):
        raise RdtuiError(f"{adapter_config}: not an adapter config (expected an object with base_model_name_or_path)")
    trained_on = data.get("base_model_name_or_path") or ""
    if trained_on in (model.name, model_source(model.name)) or not trained_on:
        return model.name
    # sft_then_grpo (after_sft: merge) trains its GRPO adapter over the merged SFT model in the run's
    # checkpoints; the folder may have moved with the run (Modal volume -> local store), so match by name.
    if run is not None:
        merged = run.checkpoints_dir / Path(trained_on).name
        if (merged / "config.json").exists():
            return str(merged)
    raise RdtuiError(
        f"{path}: adapter was trained on base model {trained_on!r}, but the config's model is "
        f"{model.name!r}; set model.name to its base (--set model.name=...)"
    )
