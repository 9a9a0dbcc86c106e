"""Load a model and its tokenizer from a hub id, a local folder or `builtin:...`, ready to train or sample.

Handles the study's known pitfalls in one place: flash-attn may be missing (fall back to SDPA),
Qwen3 base declares `<|endoftext|>` as eos while its chat template ends turns with `<|im_end|>`
(generation must stop at the end of the turn), and a tokenizer may lack a pad token.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from core.errors import RdtuiError
from core.models.tiny import BUILTIN_PREFIX, TINY_NAME, tiny_model_path


def model_source(name: str) -> str:
    """A folder or hub id that from_pretrained accepts."""
    if name.startswith(BUILTIN_PREFIX):
        builtin = name[len(BUILTIN_PREFIX) :]
        if builtin == TINY_NAME:
            return str(tiny_model_path())
        from core.models.pretrain import BASE_NAME, base_model_path

        if builtin == BASE_NAME:
            return str(base_model_path())
        raise RdtuiError(
            f"model.name: unknown builtin model {name!r} "
            f"(available: {BUILTIN_PREFIX}{TINY_NAME}, {BUILTIN_PREFIX}{BASE_NAME})"
        )
    return name


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_attention(requested: str, device: str) -> str:
    if requested != "auto":
        return requested
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def pick_dtype(requested: str, device: str):
    import torch

    if requested == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, requested)


def end_of_turn_token(tokenizer) -> str | None:
    """The token the chat template writes right after an assistant reply, e.g. `<|im_end|>`."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    marker = "rdtui-end-of-reply-marker"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}], tokenize=False
    )
    after = text.split(marker, 1)[-1].lstrip()
    candidates = sorted(set(tokenizer.all_special_tokens) | set(tokenizer.get_added_vocab()), key=len, reverse=True)
    return next((t for t in candidates if t and after.startswith(t)), None)


def align_special_tokens(tokenizer, model=None) -> None:
    """eos = the template's end of turn; a pad token that differs from eos where one exists."""
    end_of_turn = end_of_turn_token(tokenizer)
    old_eos = tokenizer.eos_token
    if end_of_turn and end_of_turn != old_eos:
        tokenizer.eos_token = end_of_turn
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        # Qwen's <|endoftext|> is the usual pad; the previous eos is a safe fallback.
        if old_eos and old_eos != tokenizer.eos_token:
            tokenizer.pad_token = old_eos
        elif tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
    if model is None:
        return
    # Generation stops at the end of turn and at any eos the model already declared.
    declared = model.generation_config.eos_token_id if model.generation_config is not None else None
    declared = [declared] if isinstance(declared, int) else list(declared or [])
    if old_eos:
        declared.append(tokenizer.convert_tokens_to_ids(old_eos))
    eos_ids = list(dict.fromkeys([tokenizer.eos_token_id, *declared]))
    model.config.eos_token_id = tokenizer.eos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config is not None:
        model.generation_config.eos_token_id = eos_ids
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def stop_token_ids(model, tokenizer) -> list[int]:
    """Every token id generation must stop at: the end of turn first, then any eos the model declared."""
    declared = model.generation_config.eos_token_id if getattr(model, "generation_config", None) else None
    declared = [declared] if isinstance(declared, int) else list(declared or [])
    return list(dict.fromkeys([tokenizer.eos_token_id, *declared]))


def save_generation_config(folder: Path, model) -> Path:
    """Write generation_config.json (eos = end of turn and the declared eos, pad) into a saved model or
    adapter folder, so any process or engine that loads it (vLLM reads only the files) stops at the
    end of the reply."""
    config = getattr(model, "generation_config", None)  # a PeftModel forwards it from its base
    if config is not None:
        config.save_pretrained(str(folder))
    return folder


def _is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").exists()


def _not_loadable(name: str, exc: Exception) -> RdtuiError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RdtuiError(
        f"model.name: cannot load {name!r} ({reason[:200]}); offline, use a model already in the Hugging Face "
        f"cache, a local folder path, or {BUILTIN_PREFIX}{TINY_NAME}"
    )


def load_tokenizer(name: str, revision: str = "main"):
    from transformers import AutoTokenizer

    source = model_source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except (OSError, ValueError) as exc:
        raise _not_loadable(name, exc) from None
    align_special_tokens(tokenizer)
    return tokenizer


def load_model_and_tokenizer(
    model_cfg, *, adapter: str | Path | None = None, device: str | None = None, trainable_adapter: bool = False
):
    """(model, tokenizer) for `model_cfg` (ModelCfg). `adapter` is a trained output folder: a PEFT
    adapter (applied over the base model, trainable when `trainable_adapter`) or full fine-tuned
    weights (loaded instead of the base)."""
    from transformers import AutoModelForCausalLM

    device = device or default_device()
    source = model_source(model_cfg.name)
    revision = model_cfg.revision
    adapter_path = Path(adapter) if adapter is not None else None
    if adapter_path is not None and not adapter_path.exists():
        raise RdtuiError(f"trained model folder not found: {adapter_path}")
    if adapter_path is not None and not _is_adapter(adapter_path):
        source, revision = str(adapter_path), "main"

    attention = pick_attention(model_cfg.attn_implementation, device)
    dtype = pick_dtype(model_cfg.dtype, device)
    print(
        f"[rdtui] loading {model_cfg.name} from {source}: attention={attention}, dtype={str(dtype).split('.')[-1]},"
        f" device={device}",
        flush=True,
    )
    kwargs: dict[str, Any] = {"revision": revision, "dtype": dtype, "attn_implementation": attention}
    try:
        tokenizer = load_tokenizer(source, revision)
        model: Any = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except RdtuiError:
        raise
    except (OSError, ValueError) as exc:
        raise _not_loadable(model_cfg.name, exc) from None
    if adapter_path is not None and _is_adapter(adapter_path):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_path), is_trainable=trainable_adapter)
    align_special_tokens(tokenizer, model.get_base_model() if hasattr(model, "get_base_model") else model)
    return model.to(device), tokenizer


def lora_config(model, lora_cfg):
    """The LoRA adapter the trainers wrap `model` in (None when LoRA is off). Every target module must
    name a layer of the model: PEFT itself stops only when none does, so a typo would train less."""
    if not lora_cfg.enabled:
        return None
    from peft import LoraConfig

    layers = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in lora_cfg.target_modules if t not in layers]
    if missing:
        have = sorted(n for n in layers if n.endswith("_proj")) or sorted(layers)[:12]
        raise RdtuiError(f"lora.target_modules: {', '.join(missing)} not in the model (it has {', '.join(have)})")
    return LoraConfig(
        r=lora_cfg.r,
        lora_alpha=lora_cfg.alpha,
        lora_dropout=lora_cfg.dropout,
        use_rslora=lora_cfg.use_rslora,
        target_modules=list(lora_cfg.target_modules),
        task_type="CAUSAL_LM",
    )
