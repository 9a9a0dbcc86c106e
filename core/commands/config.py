"""`rdtui config show|check`."""

from __future__ import annotations

import json
import sys

from core.config import check_study, default_config_path, load_study, resolve_full


def main(args) -> int:
    if args.config_command == "check":
        return _check(args.file)
    return _show(args)


def _check(path: str | None) -> int:
    issues = check_study(path)
    target = default_config_path(path)
    if not issues:
        issues = _preflight_issues(path)
    if issues:
        for issue in issues:
            print(issue, file=sys.stderr)
        print(f"{target}: {len(issues)} error{'s' if len(issues) != 1 else ''}", file=sys.stderr)
        return 2
    study = load_study(path)
    print(f"{target}: OK ({len(study.conditions)} conditions x {len(study.profiles)} profiles)")
    return 0


def _preflight_issues(path: str | None) -> list:
    """What `rdtui run` would refuse before training: local files every stage reads, model folders."""
    from core.errors import ConfigError
    from core.execution.launch import preflight_issues

    study = load_study(path)
    issues = [
        issue
        for condition in study.conditions
        for profile in study.profiles
        for issue in preflight_issues(resolve_full(study, condition, profile))
    ]
    return ConfigError(issues).issues if issues else []


def _show(args) -> int:
    study = load_study(args.config)
    if args.condition is None:
        return _show_study(study, args)
    resolution = resolve_full(study, args.condition, args.profile, args.overrides, args.overrides_file)
    if args.explain:
        rows = [
            (key, json.dumps(value, ensure_ascii=False), source.layer, source.where())
            for key, value, source in resolution.explain()
        ]
        width_key = max(len(r[0]) for r in rows)
        width_value = min(48, max(len(r[1]) for r in rows))
        width_layer = max(len(r[2]) for r in rows)
        for key, value, layer, where in rows:
            print(f"{key:<{width_key}}  {value:<{width_value}}  {layer:<{width_layer}}  {where}".rstrip())
        return 0
    tree = resolution.config.model_dump(mode="json", exclude_none=True)
    _print_tree(tree, args.format)
    return 0


def _print_tree(tree: dict, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(tree, indent=2))
    else:
        import yaml

        print(yaml.safe_dump(tree, sort_keys=False, default_flow_style=None, width=100).rstrip())


def _show_study(study, args) -> int:
    """The whole study under one profile: what each condition trains on and how it is evaluated."""
    from core.config import resolve

    rows = []
    for name in study.conditions:
        cfg = resolve(study, name, args.profile, args.overrides, args.overrides_file)
        data = [getattr(cfg, s).dataset for s in ("sft", "grpo") if s in cfg.condition.stages]
        rows.append(
            {
                "condition": name,
                "stages": " -> ".join(cfg.condition.stages),
                "model": cfg.model.name,
                "data": ", ".join(data) or "-",
                "benchmarks": ", ".join(cfg.evaluation.benchmarks),
                "description": cfg.condition.description,
            }
        )
    if args.format == "json":
        print(json.dumps({"profile": args.profile, "config": str(study.path), "conditions": rows}, indent=2))
        return 0
    print(f"study {study.data.get('study', {}).get('name', '')!s} under profile {args.profile!r} ({study.path})")
    from core.reporting.textable import format_table

    print(format_table(rows, ["condition", "stages", "model", "data", "benchmarks", "description"]))
    return 0
