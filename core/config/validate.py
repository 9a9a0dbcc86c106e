"""Validation of a layered config: the schema, then the rules that span several fields.

Every problem is turned into a `ConfigIssue` pointing at the file and line of the layer that set
the offending value, so a typo in `profiles.local.sft` is reported on that line even though it is
found while checking the resolved tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from core.config.layers import Layered, Path_, did_you_mean
from core.config.schema import GRPOCfg, ResolvedConfig
from core.errors import ConfigIssue
from core.training.distributed import gpu_choices, grpo_world_size, layout_rules

STAGE_ORDER = ("sft", "grpo", "eval")
# GPU names Modal accepts in `gpu=` (https://modal.com/docs/guide/gpu).
MODAL_GPUS = {"T4", "L4", "A10G", "A10", "A100", "A100-40GB", "A100-80GB", "L40S", "H100", "H100!", "H200", "B200"}
BUILTIN_MODELS = {"builtin:tiny-qwen3", "builtin:tiny-qwen3-base"}
# The offline task writes rows in these datasets' schemas, train or held-out test problems.
SYNTHETIC_SCHEMAS = ("orca_math", "s1k", "openr1", "gsm8k")
SYNTHETIC_SPLITS = ("train", "test")


def issue_at(layered: Layered, path: Path_, message: str) -> ConfigIssue:
    source = layered.source_of(path)
    if source is None or source.file is None:
        return ConfigIssue(source.file if source and source.file else "config", None, ".".join(path), message)
    # Report the key as it is written in its file when the problem is that exact leaf or below it.
    key = source.key
    own = layered.leaves.get(path)
    if (own is None or own.source != source) and source.key != ".".join(path):  # `--set a.b.c` names it whole
        key = ".".join(path) if not source.key else source.key + _suffix(layered, path, source)
    return ConfigIssue(source.file, source.line, key, message)


def _suffix(layered: Layered, path: Path_, source) -> str:
    for n in range(len(path), 0, -1):
        head = path[:n]
        node = layered.leaves[head].source if head in layered.leaves else layered.nodes.get(head)
        if node == source:
            rest = path[n:]
            return "." + ".".join(rest) if rest else ""
    return ""


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema model that holds the field at `loc` (to suggest the right spelling)."""
    model: Any = ResolvedConfig
    parts, i = [str(p) for p in loc[:-1]], 0
    while i < len(parts):
        field = model.model_fields.get(parts[i]) if _is_model(model) else None
        if field is None:
            return None
        annotation = _unwrap(field.annotation)
        if get_origin(annotation) is dict:
            model, i = get_args(annotation)[1], i + 2
        else:
            model, i = annotation, i + 1
    return model if _is_model(model) else None


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) not in (dict, list) and len(args) == 1:
        return args[0]
    return annotation


def _message(error: ErrorDetails, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        hint = did_you_mean(str(loc[-1]), model.model_fields) if model else ""
        return f"unknown key{hint}"
    if kind == "missing":
        return "required value is missing"
    if kind == "literal_error":
        return f"must be one of {error['ctx']['expected']} (got {error.get('input')!r})"
    if kind.endswith("_type") or kind in {"model_type", "dict_type", "list_type"}:
        expected = kind.removesuffix("_type").replace("_", " ")
        names = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "string": "a string",
            "model": "a mapping",
            "dict": "a mapping",
            "list": "a list",
        }
        return f"must be {names.get(expected, expected)} (got {error.get('input')!r})"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{error['msg'].lower()} (got {error.get('input')!r})"
    if kind in {"too_short", "too_long"}:
        return error["msg"].replace("List", "list").replace("Dictionary", "mapping")
    return error["msg"]


def schema_issues(layered: Layered, tree: dict[str, Any]) -> tuple[ResolvedConfig | None, list[ConfigIssue]]:
    try:
        return ResolvedConfig.model_validate(tree), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper()))
            path = tuple(str(p) for p in loc if not isinstance(p, int))
            issues.append(issue_at(layered, path, _message(error, loc)))
        return None, issues


class TreeView(dict):
    """Attribute access over a raw resolved tree, so the cross-field rules also run when the
    schema rejected some values (every problem is reported at once); missing keys read as None."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name)
        return TreeView(value) if isinstance(value, dict) else value


def rule_issues(layered: Layered, cfg: ResolvedConfig | TreeView) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    for rule in RULES:
        try:
            for path, message in rule(cfg):
                out.append(issue_at(layered, path, message))
        except (TypeError, AttributeError, ValueError, ArithmeticError):
            # A value this rule reads is malformed; the schema has already reported it.
            continue
    return out


def _stage_rules(cfg) -> Iterator[tuple[Path_, str]]:
    stages = list(cfg.condition.stages)
    order = [s for s in STAGE_ORDER if s in stages]
    if stages != order:
        yield ("condition", "stages"), f"stages must run in the order {', '.join(order)} without repeats"
    for stage in ("sft", "grpo"):
        section = getattr(cfg, stage)
        if stage not in stages:
            continue
        if section is None:
            yield ("condition", "stages"), f"the {stage} stage needs a `{stage}` section (in defaults or the condition)"
        elif section.dataset is None:
            yield (stage, "dataset"), f"the {stage} stage needs a dataset"
        elif section.dataset not in cfg.datasets:
            yield (
                (stage, "dataset"),
                f"unknown dataset {section.dataset!r}{did_you_mean(section.dataset, cfg.datasets)}",
            )
        elif section.max_steps == 0:
            yield (stage, "max_steps"), "must be -1 (whole epochs) or a positive number of steps"


def _grpo_rules(cfg) -> Iterator[tuple[Path_, str]]:
    g = cfg.grpo
    if g is None or "grpo" not in cfg.condition.stages:
        return
    if g.temperature == 0:
        yield (
            ("grpo", "temperature"),
            "must be > 0: greedy generations are identical, so every group has zero reward spread",
        )
    from core.training.rewards import REWARD_FUNCTIONS

    for name in g.reward_weights:
        if name not in REWARD_FUNCTIONS:
            yield (
                ("grpo", "reward_weights"),
                (
                    f"unknown reward {name!r}{did_you_mean(name, REWARD_FUNCTIONS)}; "
                    f"known: {', '.join(sorted(REWARD_FUNCTIONS))}"
                ),
            )
    if all(w == 0 for w in g.reward_weights.values()):
        yield ("grpo", "reward_weights"), "at least one reward weight must be non-zero"
    # TRL's generation batch (per device x accumulation x processes) must hold whole prompt groups.
    processes = grpo_world_size(cfg)
    batch = g.per_device_train_batch_size * g.gradient_accumulation_steps * processes
    if batch % g.num_generations:
        across = f" x {processes} processes" if processes > 1 else ""
        yield (
            ("grpo", "per_device_train_batch_size"),
            (
                f"per_device_train_batch_size x gradient_accumulation_steps{across} = {batch} is not divisible by "
                f"num_generations = {g.num_generations}"
            ),
        )


def _evaluation_rules(cfg) -> Iterator[tuple[Path_, str]]:
    ev = cfg.evaluation
    for bench in ev.benchmarks:
        if bench not in cfg.datasets:
            yield ("evaluation", "benchmarks"), f"unknown dataset {bench!r}{did_you_mean(bench, cfg.datasets)}"
    if max(ev.k) > ev.samples:
        yield (
            ("evaluation", "k"),
            f"pass@{max(ev.k)} needs at least {max(ev.k)} samples per problem (samples = {ev.samples})",
        )
    if any(k <= 0 for k in ev.k):
        yield ("evaluation", "k"), "every k must be positive"
    if ev.samples > 1 and ev.temperature == 0:
        yield (
            ("evaluation", "temperature"),
            (f"samples = {ev.samples} with greedy decoding gives identical samples; set a temperature > 0"),
        )


def _dataset_rules(cfg) -> Iterator[tuple[Path_, str]]:
    for name, spec in cfg.datasets.items():
        spec = TreeView(spec) if isinstance(spec, dict) else spec
        sources = [s for s in ("hub", "path", "synthetic") if getattr(spec, s) is not None]
        if len(sources) != 1:
            yield (
                ("datasets", name),
                ("set exactly one of hub, path or synthetic" if sources else "needs one of hub, path or synthetic"),
            )
        if (spec.hub or spec.path) and spec.formatter is None:
            yield ("datasets", name), "a hub or path dataset needs a formatter"
        if spec.synthetic and spec.size is None:
            yield ("datasets", name), "a synthetic dataset needs a size"
        if spec.synthetic and spec.formatter not in SYNTHETIC_SCHEMAS:
            yield (
                ("datasets", name, "formatter"),
                (
                    f"a synthetic dataset is written in one real dataset's schema: "
                    f"set formatter to one of {', '.join(SYNTHETIC_SCHEMAS)}"
                ),
            )
        if spec.synthetic and (spec.split or "train") not in SYNTHETIC_SPLITS:
            yield ("datasets", name, "split"), f"a synthetic split is one of {', '.join(SYNTHETIC_SPLITS)}"


def _model_rules(cfg) -> Iterator[tuple[Path_, str]]:
    name = cfg.model.name
    if name.startswith("builtin:") and name not in BUILTIN_MODELS:
        yield (
            ("model", "name"),
            (f"unknown built-in model{did_you_mean(name, BUILTIN_MODELS)}; known: {', '.join(sorted(BUILTIN_MODELS))}"),
        )


def _modal_rules(cfg) -> Iterator[tuple[Path_, str]]:
    if cfg.backend == "modal":
        if cfg.gpu is None:
            yield ("backend",), "the modal backend needs a `gpu` section (sft, grpo, eval)"
        if cfg.modal is None:
            yield ("backend",), "the modal backend needs a `modal` section (app_name, volume, secrets)"
    if cfg.gpu is not None:
        for stage in STAGE_ORDER:
            # A string or a fallback list of them (M22); counts are checked by distributed.layout_rules.
            for gpu in gpu_choices(getattr(cfg.gpu, stage)):
                if gpu.split(":")[0] not in MODAL_GPUS:
                    yield ("gpu", stage), f"Modal offers no GPU {gpu!r}{did_you_mean(gpu.split(':')[0], MODAL_GPUS)}"


def _trainer_args_rules(cfg) -> Iterator[tuple[Path_, str]]:
    from core.config.schema import SFTCfg
    from core.config.trainer_args import TRL_CLASSES, field_table, trainer_args_issues

    for stage, schema in (("sft", SFTCfg), ("grpo", GRPOCfg)):
        section = getattr(cfg, stage)
        passthrough = getattr(section, "trainer_args", None) if section is not None else None
        table = field_table() if passthrough else None
        if not table:
            continue
        for key, message in trainer_args_issues(stage, passthrough, table[TRL_CLASSES[stage]], schema.model_fields):
            yield (stage, "trainer_args", key), message


def _mapped_dataset_rules(cfg) -> Iterator[tuple[Path_, str]]:
    from core.data.mapped import spec_issues

    for name, spec in cfg.datasets.items():
        spec = TreeView(spec) if isinstance(spec, dict) else spec
        for sub, message in spec_issues(spec):
            yield ("datasets", name, *sub), message


TRACE_FORMATTERS = ("s1k", "openr1")  # rows whose completions are <think> traces


def _inert_rules(cfg) -> Iterator[tuple[Path_, str]]:
    """Keys that do nothing in this resolved config: an error, not silence."""
    g = cfg.grpo
    if g is not None and "grpo" in cfg.condition.stages and g.overlong_buffer and not g.reward_weights.get("overlong"):
        yield (
            ("grpo", "overlong_buffer"),
            (
                "has no effect without the overlong reward: add `overlong` to "
                "grpo.reward_weights or remove overlong_buffer"
            ),
        )
    # Partial credit is part of the format reward: under a zero (or absent) weight it changes nothing.
    # The schema's default is what every study inherits, so only a value someone chose is reported.
    if (
        g is not None
        and "grpo" in cfg.condition.stages
        and not g.reward_weights.get("format")
        and g.format_partial_credit != GRPOCfg.model_fields["format_partial_credit"].default
    ):
        yield (
            ("grpo", "format_partial_credit"),
            (
                "has no effect while the format reward's weight is 0: give `format` a weight in "
                "grpo.reward_weights or remove format_partial_credit"
            ),
        )
    sft = cfg.sft
    if sft is not None and "sft" in cfg.condition.stages and not cfg.model.enable_thinking:
        spec = cfg.datasets.get(sft.dataset or "")
        if spec is not None and spec.formatter in TRACE_FORMATTERS:
            yield (
                ("model", "enable_thinking"),
                (
                    f"false with trace data ({sft.dataset}): the generation prompt would "
                    "pre-close the think block the traces open; set it to true"
                ),
            )
    for name, spec in cfg.datasets.items():
        if spec.hub is not None:  # a hub subset is the first rows, unshuffled: these never apply
            for key, unused in (("seed", 0), ("size", None), ("wrong_step_rate", 0.0)):
                if getattr(spec, key) != unused:
                    yield (
                        ("datasets", name, key),
                        "is used by synthetic datasets only (a hub subset is its first rows); remove it",
                    )


RULES = (
    _trainer_args_rules,
    _mapped_dataset_rules,
    _stage_rules,
    _grpo_rules,
    _evaluation_rules,
    _dataset_rules,
    _model_rules,
    _modal_rules,
    layout_rules,
    _inert_rules,
)
