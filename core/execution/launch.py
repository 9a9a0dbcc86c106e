"""Launching conditions: resolve and validate everything first, then create runs, then start them.

Shared by `rdtui run` and the app's launch screen. Nothing is created when any condition's
config is invalid or the backend's preflight fails, so a refused launch leaves no run behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import Provenance, Resolution, Study, resolve_full, snapshot_text
from core.errors import ConfigError, ConfigIssue, RdtuiError
from core.store.runstore import Run, RunStore

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig

# Layers that make up the study's baseline: what a launch shows are the values set elsewhere.
BASELINE_LAYERS = {"defaults", "datasets", "study", "selection"}


@dataclass
class PlannedRun:
    condition: str
    resolution: Resolution | None
    issues: list[ConfigIssue] = field(default_factory=list)

    def differences(self) -> list[tuple[str, Any, Provenance]]:
        """Values the condition, profile or overrides set on top of the defaults."""
        if self.resolution is None:
            return []
        return [
            (key, value, src)
            for key, value, src in self.resolution.explain()
            if src.layer not in BASELINE_LAYERS and not key.startswith(("condition.", "profile."))
        ]


@dataclass
class LaunchPlan:
    profile: str
    runs: list[PlannedRun]
    cost: list[Any] = field(default_factory=list)

    @property
    def issues(self) -> list[ConfigIssue]:
        return ConfigError([i for r in self.runs for i in r.issues]).issues

    @property
    def backend(self) -> str:
        for run in self.runs:
            if run.resolution is not None:
                return run.resolution.config.backend
        return "local"

    @property
    def configs(self) -> list:
        return [r.resolution.config for r in self.runs if r.resolution is not None]


def plan_launch(
    study: Study,
    conditions: list[str],
    profile: str,
    overrides: list[str] | None = None,
    overrides_file: str | os.PathLike[str] | None = None,
) -> LaunchPlan:
    planned = []
    for condition in dict.fromkeys(conditions):
        try:
            resolution = resolve_full(study, condition, profile, overrides, overrides_file)
            seeds = list(dict.fromkeys(resolution.config.study.seeds))
            if len(seeds) <= 1 and (not seeds or seeds[0] == resolution.config.study.seed):
                planned.append(PlannedRun(condition, resolution))
                continue
            # `study.seeds`: one run per seed, each with its own study.seed.
            for seed in seeds:
                planned.append(
                    PlannedRun(
                        condition,
                        resolve_full(
                            study, condition, profile, [*(overrides or []), f"study.seed={seed}"], overrides_file
                        ),
                    )
                )
        except ConfigError as exc:
            planned.append(PlannedRun(condition, None, exc.issues))
    plan = LaunchPlan(profile, planned)
    if not plan.issues and plan.backend != "local":
        from core.backends import get_backend

        backend = get_backend(plan.backend)
        plan.cost = [backend.estimate_cost(cfg) for cfg in plan.configs]
    return plan


def stage_datasets(cfg: ResolvedConfig) -> list[tuple[tuple[str, ...], str]]:
    """(config key that names it, dataset name) for every dataset a stage of the run reads."""
    used: list[tuple[tuple[str, ...], str]] = []
    for stage in ("sft", "grpo"):
        section = getattr(cfg, stage, None)
        if stage in cfg.condition.stages and section is not None and section.dataset:
            used.append(((stage, "dataset"), section.dataset))
    if "eval" in cfg.condition.stages:
        used += [(("evaluation", "benchmarks"), name) for name in cfg.evaluation.benchmarks]
    return used


def preflight_problems(cfg: ResolvedConfig) -> list[tuple[tuple[str, ...], str]]:
    """What would fail a later stage of the run and can be seen now, without loading anything:
    a local dataset or benchmark file that is missing or not a file, a model folder that does not
    exist. (Reward names, GPUs and dataset names are checked by config validation.)"""
    from core.paths import looks_like_folder

    problems: list[tuple[tuple[str, ...], str]] = []
    for _, name in stage_datasets(cfg):
        spec = cfg.datasets.get(name)
        if spec is None or not spec.path:
            continue
        path = Path(spec.path)
        if not path.exists():
            problems.append((("datasets", name, "path"), f"file not found: {path}"))
        elif not path.is_file():
            problems.append((("datasets", name, "path"), f"not a file: {path}"))
        elif not os.access(path, os.R_OK):
            problems.append((("datasets", name, "path"), f"cannot be read: {path}"))
    model = cfg.model.name
    if not model.startswith("builtin:") and looks_like_folder(model) and not Path(model).expanduser().is_dir():
        problems.append((("model", "name"), f"{model}: no such folder"))
    return problems


def preflight_issues(resolution: Resolution) -> list[ConfigIssue]:
    """`preflight_problems` at the file and line that set each value."""
    from core.config.validate import issue_at

    return [issue_at(resolution.layered, key, message) for key, message in preflight_problems(resolution.config)]


def launch(plan: LaunchPlan, store: RunStore) -> list[Run]:
    from core.backends import get_backend

    if not plan.runs:
        raise RdtuiError("no conditions to launch")
    if plan.issues:
        raise ConfigError(plan.issues)
    resolved = [(item.condition, item.resolution) for item in plan.runs if item.resolution is not None]
    assert len(resolved) == len(plan.runs)  # a run that did not resolve has issues, refused above
    missing = [issue for _, resolution in resolved for issue in preflight_issues(resolution)]
    if missing:
        raise ConfigError(missing)
    store.check_writable()
    backend = get_backend(plan.backend)
    backend.preflight(plan.configs)
    runs: list[Run] = []
    try:
        for condition, resolution in resolved:
            cfg = resolution.config
            runs.append(
                store.create(
                    condition,
                    plan.profile,
                    cfg.backend,
                    snapshot_text(resolution),
                    description=cfg.condition.description,
                )
            )
        backend.launch(runs)
    except BaseException as exc:
        for run in runs:
            if run.reload().status == "queued":
                run.finish("failed", f"launch failed: {exc}".splitlines()[0])
        raise
    return runs


def cancel_run(store: RunStore, run_id: str) -> Run:
    from core.backends import get_backend

    run = store.get(run_id)
    get_backend(run.record.backend).cancel(run)
    return run


def resume_run(store: RunStore, run_id: str) -> Run:
    from core.backends import get_backend

    run = store.get(run_id)
    get_backend(run.record.backend).resume(run)
    return run
