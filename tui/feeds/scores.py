"""pass@1 as the runs table shows it, read off a run's evaluation summaries."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from core.store.runstore import CONFIG_FILE, EVAL_DIR


def score(value: Any) -> float | None:
    """A score as the evaluator writes it: a number, or {"value": number, "ci95": [...]}."""
    if isinstance(value, dict):
        value = value.get("value")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def pass_at_1(summary: dict[str, Any]) -> float | None:
    passk = summary.get("pass@k")
    if isinstance(passk, dict) and (value := score(passk.get("1"))) is not None:
        return value
    return score(summary.get("accuracy"))


def benchmark_order(run_dir: str | Path) -> list[str]:
    """The run's `evaluation.benchmarks`, read off its snapshot (one JSON value per line there)."""
    try:
        with open(f"{run_dir}/{CONFIG_FILE}", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return []
    match = re.search(r"^\s+benchmarks: (\[.*?\])", text, re.M)
    try:
        names = json.loads(match.group(1)) if match else []
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)]


def best_pass1(run_dir: str | Path) -> float | None:
    """pass@1 of the first benchmark in the run's config that has a finished summary."""
    eval_dir = f"{run_dir}/{EVAL_DIR}"  # strings, not Paths: this runs for a thousand runs at once
    try:
        found = {p[:-5] for p in os.listdir(eval_dir) if p.endswith(".json")}
    except OSError:
        return None
    configured = benchmark_order(run_dir) if len(found) > 1 else []  # one summary needs no order
    ordered = [b for b in configured if b in found] + sorted(found - set(configured))
    for name in ordered:
        try:
            with open(f"{eval_dir}/{name}.json", "rb") as fh:
                summary = json.loads(fh.read())
        except (OSError, ValueError):
            continue
        if isinstance(summary, dict) and (value := pass_at_1(summary)) is not None:
            return value
    return None
