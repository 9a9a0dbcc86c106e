"""Dependency direction (ARCHITECTURE.md): core never imports tui or modal_jobs; tui never imports ML libraries;
inside core, commands over execution over backends over reporting over the stages over grading."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "5 kept, 0 broken" in proc.stdout


def _code_strings_and_defs(roots=("core", "tui", "modal_jobs")):
    """Every string constant that is not a docstring, every function defined, and every call that passes
    `status=` to `.update(...)`, as (kind, value, "file:line")."""
    import ast

    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            name = path.relative_to(REPO)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    yield "string", node.value, f"{name}:{node.lineno}"
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield "def", node.name, f"{name}:{node.lineno}"
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "update"
                    and any(k.arg == "status" for k in node.keywords)
                    and not node.args  # rich's progress.update(task, status=...) is not a run
                ):
                    yield "status-write", "", f"{name}:{node.lineno}"


def test_each_contract_is_defined_in_one_place():
    """ARCHITECTURE.md's table of contracts, counted: each name is written once, in its home."""
    found: dict[tuple[str, str], list[str]] = {}
    for kind, value, where in _code_strings_and_defs():
        found.setdefault((kind, value), []).append(where)
    homes = {
        ("string", "run.json"): "core/store/runstore.py",
        ("string", "log.txt"): "core/store/runstore.py",
        ("string", "metrics.jsonl"): "core/store/runstore.py",
        ("string", "eval_progress.jsonl"): "core/store/runstore.py",
        ("string", "samples.jsonl"): "core/store/runstore.py",
        ("string", "system.jsonl"): "core/store/runstore.py",
        ("string", "checkpoints"): "core/store/runstore.py",
        ("string", "sft-merged"): "core/store/runstore.py",
        ("string", "-final"): "core/store/runstore.py",
        ("string", "<think>"): "core/grading/markers.py",
        ("string", "</think>"): "core/grading/markers.py",
        ("def", "last_boxed"): "core/grading/markers.py",
        ("def", "answer_sentence"): "core/data/formatters.py",
        ("def", "display_path"): "core/paths.py",
    }
    for key, home in homes.items():
        places = found.get(key, [])
        assert len(places) == 1 and places[0].startswith(home + ":"), (key, places)
    # Run status changes only through Run.start / finish / requeue, inside the run store.
    writes = [w for w in found.get(("status-write", ""), []) if not w.startswith("core/store/runstore.py:")]
    assert writes == [], writes
