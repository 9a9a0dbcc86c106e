"""Launching conditions: resolve and validate everything first, then create runs, then start them.

Shared by `rdtui run` and the app's launch screen. Nothing is created when any condition's
config is invalid or the backend's preflight fails, so a refused launch leaves no run behind.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from core.config import Provenance, Resolution, Study, resolve_full, snapshot_text
from core.errors import ConfigError, ConfigIssue, RdtuiError
from core.runstore import Run, RunStore

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
        return [(key, value, src) for key, value, src in self.resolution.explain()
                if src.layer not in BASELINE_LAYERS and not key.startswith(("condition.", "profile."))]


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


def plan_launch(study: Study, conditions: list[str], profile: str, overrides: list[str] | None = None,
                overrides_file: str | os.PathLike[str] | None = None) -> LaunchPlan:
    planned = []
    for condition in dict.fromkeys(conditions):
        try:
            planned.append(PlannedRun(condition, resolve_full(study, condition, profile, overrides, overrides_file)))
        except ConfigError as exc:
            planned.append(PlannedRun(condition, None, exc.issues))
    plan = LaunchPlan(profile, planned)
    if not plan.issues and plan.backend != "local":
        from core.backends import get_backend

        backend = get_backend(plan.backend)
        plan.cost = [backend.estimate_cost(cfg) for cfg in plan.configs]
    return plan


def launch(plan: LaunchPlan, store: RunStore) -> list[Run]:
    from core.backends import get_backend

    if not plan.runs:
        raise RdtuiError("no conditions to launch")
    if plan.issues:
        raise ConfigError(plan.issues)
    store.check_writable()
    backend = get_backend(plan.backend)
    backend.preflight(plan.configs)
    runs: list[Run] = []
    try:
        for item in plan.runs:
            cfg = item.resolution.config
            runs.append(store.create(item.condition, plan.profile, cfg.backend, snapshot_text(item.resolution),
                                     description=cfg.condition.description))
        backend.launch(runs)
    except BaseException as exc:
        for run in runs:
            if run.reload().status == "queued":
                run.update(status="failed", error=f"launch failed: {exc}".splitlines()[0], finished_at=time.time())
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
