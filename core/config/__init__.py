"""The layered study config: load, resolve with provenance, validate, snapshot.

    study = load_study("config.yaml")
    cfg = resolve(study, "re_distill", "modal", overrides=["sft.learning_rate=1e-4"])
    cfg.sft.dataset, cfg.model.name, ...

Errors are `ConfigError` with every problem as `FILE:LINE: dotted.key: message`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config.layers import (
    TOP_LEVEL,
    Layered,
    Leaf,
    Provenance,
    Study,
    apply_overrides,
    did_you_mean,
    layer_study,
)
from core.config.schema import DatasetSpec, ResolvedConfig
from core.config.source import load_yaml_file, parse_yaml_text
from core.errors import ConfigError, ConfigIssue
from core.paths import BUILTIN_DATA_PREFIX, builtin_data_path, default_config_path, display_path

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DatasetSpec",
    "Leaf",
    "Provenance",
    "Resolution",
    "ResolvedConfig",
    "Study",
    "check_study",
    "default_config_path",
    "load_snapshot",
    "load_study",
    "resolve",
    "resolve_full",
    "snapshot_text",
]


def load_study(path: str | os.PathLike[str] | None = None, *, text: str | None = None) -> Study:
    """The study in `path` (default ./config.yaml), or in `text` standing for that file: the app validates
    an edit before it is saved, with the real file's name and folder in every message and relative path."""
    path = default_config_path(str(path) if path else None)
    doc = parse_yaml_text(text, display_path(path)) if text is not None else load_yaml_file(path, display_path(path))
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [
                ConfigIssue(
                    doc.file, 1, "", "the config must be a mapping of study, defaults, datasets, conditions, profiles"
                )
            ]
        )
    study = Study(doc, path.resolve())
    issues = []
    for key in doc.data:
        if key not in TOP_LEVEL:
            issues.append(
                study.issue(
                    (key,), f"unknown top-level key{did_you_mean(key, TOP_LEVEL)}; expected {', '.join(TOP_LEVEL)}"
                )
            )
    for section in ("defaults", "datasets", "conditions", "profiles"):
        if section in doc.data and not isinstance(doc.data[section], dict):
            issues.append(study.issue((section,), "must be a mapping"))
    for kind in ("conditions", "profiles"):
        for name, body in study.section(kind).items():
            if body is not None and not isinstance(body, dict):
                issues.append(study.issue((kind, name), "must be a mapping"))
    if issues:
        raise ConfigError(issues)
    return study


@dataclass
class Resolution:
    """A resolved config together with the layered table it came from (for --explain and the app)."""

    config: ResolvedConfig
    layered: Layered

    def explain(self) -> list[tuple[str, Any, Provenance]]:
        return [(".".join(path), leaf.value, leaf.source) for path, leaf in sorted(self.layered.leaves.items())]


def resolve_full(
    study: Study,
    condition: str,
    profile: str,
    overrides: list[str] | None = None,
    overrides_file: str | os.PathLike[str] | None = None,
    overrides_text: str | None = None,
) -> Resolution:
    """`overrides_text`, when given, stands for the overrides file's content (named by `overrides_file`)."""
    from core.config.validate import TreeView, rule_issues, schema_issues

    layered = layer_study(study, condition, profile)
    apply_overrides(layered, overrides or [], overrides_file, overrides_text)
    _absolutize_paths(layered, study.path.parent)
    tree = layered.tree()
    cfg, issues = schema_issues(layered, tree)
    issues += rule_issues(layered, cfg if cfg is not None else TreeView(tree))
    if issues:
        raise ConfigError(issues)
    assert cfg is not None  # schema_issues gives no config only together with issues
    return Resolution(cfg, layered)


def resolve(
    study: Study,
    condition: str,
    profile: str,
    overrides: list[str] | None = None,
    overrides_file: str | os.PathLike[str] | None = None,
) -> ResolvedConfig:
    return resolve_full(study, condition, profile, overrides, overrides_file).config


def _absolutize_paths(layered: Layered, base: Path) -> None:
    """Local dataset paths are relative to the config file, so runs work from any directory;
    `builtin:NAME` names a benchmark file shipped inside the package."""
    for path, leaf in layered.leaves.items():
        if path[0] == "datasets" and len(path) == 2 and isinstance(leaf.value, dict):
            local = leaf.value.get("path")
            if isinstance(local, str) and local.startswith(BUILTIN_DATA_PREFIX):
                leaf.value["path"] = str(builtin_data_path(local[len(BUILTIN_DATA_PREFIX) :]))
            elif isinstance(local, str) and local and not os.path.isabs(local):
                leaf.value["path"] = os.path.normpath(base / local)


def check_study(path: str | os.PathLike[str] | None = None) -> list[ConfigIssue]:
    """Every problem in a study file: every condition under every profile."""
    try:
        study = load_study(path)
    except ConfigError as exc:
        return exc.issues
    issues: list[ConfigIssue] = []
    if not study.conditions:
        issues.append(study.issue(("conditions",), "no conditions defined"))
    if not study.profiles:
        issues.append(study.issue(("profiles",), "no profiles defined"))
    for condition in study.conditions:
        for profile in study.profiles:
            try:
                resolve_full(study, condition, profile)
            except ConfigError as exc:
                issues.extend(exc.issues)
    return ConfigError(issues).issues if issues else []


_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey")


def _redact(tree: Any, key: str = "") -> Any:
    if isinstance(tree, dict):
        return {k: _redact(v, k) for k, v in tree.items()}
    if isinstance(tree, str) and any(w in key.lower() for w in _SECRET_WORDS) and tree:
        return "***"
    return tree


def snapshot_text(resolution: Resolution) -> str:
    """The run's `config.yaml`: the resolved tree, each leaf followed by `# layer file:line`."""
    lines = ["# rdtui resolved config snapshot: every value with the layer and line that set it"]
    _emit(_redact(resolution.layered.tree()), (), resolution.layered, lines, 0)
    return "\n".join(lines) + "\n"


def _emit(tree: dict[str, Any], prefix: tuple[str, ...], layered: Layered, lines: list[str], depth: int) -> None:
    import json

    pad = "  " * depth
    for key, value in tree.items():
        path = prefix + (key,)
        leaf = layered.leaves.get(path)
        if isinstance(value, dict) and leaf is None:
            lines.append(f"{pad}{key}:")
            _emit(value, path, layered, lines, depth + 1)
            continue
        note = f"  # {leaf.source.layer} {leaf.source.where()}".rstrip() if leaf else ""
        # JSON is valid YAML flow syntax and keeps every value on one line next to its provenance.
        lines.append(f"{pad}{key}: {json.dumps(value, ensure_ascii=False)}{note}")


def load_snapshot(path: str | os.PathLike[str]) -> ResolvedConfig:
    doc = load_yaml_file(path)
    try:
        return ResolvedConfig.model_validate(doc.data)
    except Exception as exc:
        raise ConfigError([ConfigIssue(doc.file, None, "", f"not a valid resolved config snapshot: {exc}")]) from None


def snapshot_provenance(path: str | os.PathLike[str]) -> dict[str, str]:
    """Dotted key -> the provenance note written beside it in a run's snapshot."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip())
        key, _, rest = raw.strip().partition(":")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [key])
        if not rest.strip():
            stack.append((indent, key))
        elif "  # " in rest:
            out[dotted] = rest.rsplit("  # ", 1)[1]
    return out
