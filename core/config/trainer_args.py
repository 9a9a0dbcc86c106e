"""TRL passthrough: `sft.trainer_args` and `grpo.trainer_args` hold any field of the installed TRL
`SFTConfig` / `GRPOConfig` that rdtui has no key of its own for (`loss_type`, `scale_rewards`,
`epsilon_high`, `mask_truncated_completions`, `max_grad_norm`, ...).

Checked twice: at config-check time against a field list of the installed TRL (importing trl costs
seconds, so the list is read from a shipped table for the tested versions or from a per-version
cache, built once), and at stage start against the live dataclass, since a Modal image may carry
another TRL than the laptop that checked the config.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from core.config.layers import did_you_mean
from core.store.runstore import write_atomic

TRL_CLASSES = {"sft": "SFTConfig", "grpo": "GRPOConfig"}

# TRL fields that rdtui sets from a key of its own (beyond same-named keys of the stage's section,
# which are found from the schema): the pointer the refusal names.
OWNED = {
    "output_dir": "the run folder (runs/<id>/checkpoints/<stage>), set by rdtui",
    "run_name": "the run id, set by rdtui",
    "seed": "study.seed",
    "data_seed": "study.seed",
    "report_to": "telemetry.report_to",
    "bf16": "model.dtype",
    "fp16": "model.dtype",
    "use_cpu": "chosen by rdtui from whether CUDA is present",
    "disable_tqdm": "rdtui's own progress in run.json",
    "save_strategy": "{stage}.save_steps (rdtui checkpoints every save_steps so a stage can resume)",
    "warmup_steps": "{stage}.warmup_steps",
    "warmup_ratio": "{stage}.warmup_steps",
    "eos_token": "set by rdtui from the model's chat template",
    "chat_template_kwargs": "model.enable_thinking",
    "reward_weights": "grpo.reward_weights",
    "use_vllm": "grpo.use_vllm",
    "logging_dir": "telemetry.report_to (rdtui writes TensorBoard files under runs/<id>/tensorboard)",
}


# ---- type descriptors: {"kinds": [...], "choices": [...] | None}, JSON-serialisable --------------


def describe(annotation: Any) -> dict[str, Any]:
    kinds: set[str] = set()
    choices: list[Any] = []
    _collect(annotation, kinds, choices)
    return {"kinds": sorted(kinds), "choices": choices or None}


def _collect(tp: Any, kinds: set[str], choices: list[Any]) -> None:
    origin = typing.get_origin(tp)
    if tp is type(None) or tp is None:
        kinds.add("null")
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            _collect(arg, kinds, choices)
    elif origin is typing.Literal:
        for value in typing.get_args(tp):
            choices.append(value.value if isinstance(value, enum.Enum) else value)
            _collect(type(value), kinds, [])
    elif tp is bool:
        kinds.add("bool")
    elif tp is int:
        kinds.add("int")
    elif tp is float:
        kinds.add("float")
    elif tp is str:
        kinds.add("str")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        kinds.add("str")
        choices.extend(m.value for m in tp)
    elif tp in (list, tuple) or origin in (list, tuple):
        kinds.add("list")
    elif tp is dict or origin is dict:
        kinds.add("dict")
    else:
        kinds.add("any")


_KIND_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "list": "a list",
    "dict": "a mapping",
    "null": "null",
}


def type_problem(value: Any, descriptor: dict[str, Any]) -> str | None:
    """Why `value` cannot go into a field of this type, or None when it can."""
    kinds = set(descriptor["kinds"])
    if "any" in kinds:
        return None
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int):
        kind = "int" if "int" in kinds else "float"
    elif isinstance(value, float):
        kind = "float"
    elif isinstance(value, str):
        kind = "str"
    elif isinstance(value, list):
        kind = "list"
    elif isinstance(value, dict):
        kind = "dict"
    else:
        kind = type(value).__name__
    if kind not in kinds:
        expected = " or ".join(_KIND_WORDS.get(k, k) for k in descriptor["kinds"])
        return f"must be {expected} (got {value!r})"
    choices = descriptor.get("choices")
    # An enum that also accepts free strings (OptimizerNames | str) lists choices but is open.
    if choices and kind == "str" and value not in choices and not descriptor.get("open_str"):
        return f"must be one of {choices} (got {value!r}){did_you_mean(value, [str(c) for c in choices])}"
    return None


# Documented by TRL beyond their annotation: `scale_rewards` (`str` or `bool`) maps true/false itself.
EXTRA_KINDS = {"scale_rewards": ["bool"]}


def describe_field(field: dataclasses.Field) -> dict[str, Any]:
    descriptor = describe(field.type)
    descriptor["kinds"] = sorted(set(descriptor["kinds"]) | set(EXTRA_KINDS.get(field.name, [])))
    # `OptimizerNames | str`: the enum lists names, but any string is accepted.
    if descriptor["choices"] and any(a is str for a in typing.get_args(field.type)):
        descriptor["open_str"] = True
    if field.metadata.get("choices") and not descriptor["choices"]:
        descriptor["choices"] = [str(c) for c in field.metadata["choices"]]
    return descriptor


# ---- the field table of the installed TRL ------------------------------------------------------


def installed_versions() -> tuple[str, str] | None:
    try:
        return metadata.version("trl"), metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return None


def build_table() -> dict[str, dict[str, dict[str, Any]]]:
    """{class name: {field: descriptor}} from the installed TRL (imports trl: seconds)."""
    import trl

    return {
        cls: {f.name: describe_field(f) for f in dataclasses.fields(getattr(trl, cls)) if f.init}
        for cls in TRL_CLASSES.values()
    }


def _cache_file(versions: tuple[str, str]) -> Path:
    from core.models.tiny import cache_root

    return cache_root() / "trl-fields" / f"trl-{versions[0]}_transformers-{versions[1]}.json"


_TABLE: dict[str, Any] | None = None


def field_table() -> dict[str, dict[str, dict[str, Any]]] | None:
    """The field table for the installed TRL: shipped, cached, or built once and cached.
    None when TRL is not installed (the stage-start check still runs where training happens)."""
    global _TABLE
    if _TABLE is not None:
        return _TABLE
    versions = installed_versions()
    if versions is None:
        return None
    from core.config import trl_fields

    if (trl_fields.TRL, trl_fields.TRANSFORMERS) == versions:
        _TABLE = trl_fields.FIELDS
        return _TABLE
    cache = _cache_file(versions)
    try:
        _TABLE = json.loads(cache.read_text())
        return _TABLE
    except (OSError, ValueError):
        pass
    try:
        table = build_table()
    except Exception:  # a broken TRL install: leave the check to stage start
        return None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, json.dumps(table, sort_keys=True))
    except OSError:
        pass
    _TABLE = table
    return table


# ---- the checks -----------------------------------------------------------------------------


def owned_fields(stage: str, section_fields) -> dict[str, str]:
    """TRL field -> the rdtui key that sets it, for one stage."""
    owned = {k: v.replace("{stage}", stage) for k, v in OWNED.items()}
    # The stage's own keys come last: they are the pointer whenever the schema has one.
    owned.update({name: f"{stage}.{name}" for name in section_fields if name not in ("trainer_args", "dataset")})
    return owned


def trainer_args_issues(
    stage: str, trainer_args: Any, fields: dict[str, dict[str, Any]], section_fields
) -> Iterator[tuple[str, str]]:
    """(key, message) for each entry of `<stage>.trainer_args` that TRL's config would not take
    or that rdtui sets itself."""
    if not isinstance(trainer_args, dict):
        return
    owned = owned_fields(stage, section_fields)
    cls = TRL_CLASSES[stage]
    for key, value in trainer_args.items():
        key = str(key)
        if key in owned:
            pointer = owned[key]
            yield key, f"rdtui sets this: use {pointer}" if " " not in pointer else f"rdtui sets this ({pointer})"
        elif key not in fields:
            yield key, f"not a field of TRL's {cls}{did_you_mean(key, fields)}"
        else:
            problem = type_problem(value, fields[key])
            if problem:
                yield key, f"{problem} (TRL {cls}.{key})"


def check_live(stage: str, stage_cfg) -> dict[str, Any]:
    """At stage start, against the TRL that will train: the passthrough arguments, or RdtuiError."""
    import trl

    from core.errors import RdtuiError

    passthrough = dict(getattr(stage_cfg, "trainer_args", None) or {})
    if not passthrough:
        return {}
    cls = getattr(trl, TRL_CLASSES[stage])
    fields = {f.name: describe_field(f) for f in dataclasses.fields(cls) if f.init}
    problems = [
        f"{stage}.trainer_args.{key}: {message}"
        for key, message in trainer_args_issues(stage, passthrough, fields, type(stage_cfg).model_fields)
    ]
    if problems:
        raise RdtuiError("; ".join(problems) + f" (TRL {trl.__version__})")
    return passthrough


def write_shipped_table(path: Path | None = None) -> Path:
    """Regenerate `core/config/trl_fields.py` from the installed TRL (after upgrading TRL). The
    table is a JSON string (parsing it is faster than compiling a dict display), the fields both
    classes share written once."""
    trl_version, tf_version = installed_versions() or ("", "")
    path = path or Path(__file__).with_name("trl_fields.py")
    table = build_table()
    sft, grpo = table["SFTConfig"], table["GRPOConfig"]
    shared = {name: d for name, d in sft.items() if grpo.get(name) == d}
    own = {cls: {name: d for name, d in fields.items() if name not in shared} for cls, fields in table.items()}
    body = json.dumps({"shared": shared, "own": own}, sort_keys=True, separators=(",", ":"))
    lines = [
        f'"""Field table of TRL {trl_version} SFTConfig/GRPOConfig (transformers {tf_version}), so that',
        "`rdtui config check` validates `trainer_args` without importing trl (seconds).",
        'Generated by `python -m core.config.trainer_args`; other versions use a per-version cache."""',
        "",
        "import json",
        "",
        f"TRL = {trl_version!r}",
        f"TRANSFORMERS = {tf_version!r}",
        "",
        f"_TABLE = json.loads({body!r})",
        "FIELDS = {cls: {**_TABLE['shared'], **own} for cls, own in _TABLE['own'].items()}",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


if __name__ == "__main__":
    print(write_shipped_table())
