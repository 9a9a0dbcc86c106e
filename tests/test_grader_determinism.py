"""The symbolic fallback's verdicts do not depend on machine load.

The same answers go through a fresh worker pool (no cached verdicts) on the machine as it is, and
again with a busy process on every core, started and stopped by the test: same verdicts, nothing
undecided. This holds because the budget counts the worker's CPU time, not the wall clock, and
start-up is never part of a comparison.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.grading.equivalence import equivalent
from core.grading.symbolic import SymbolicPool

# (gold, prediction): each beyond the fast checks, so Math-Verify decides it
SYMBOLIC_PAIRS = [
    ("5", "\\max(3,5)"),
    ("3", "\\lceil 2.5 \\rceil"),
    ("6", "\\gcd(12,18)"),
    ("4", "\\lfloor 3.7 \\rfloor"),
    ("3", "\\lfloor \\frac{7}{2} \\rfloor"),
    ("2", "\\min(2, 7)"),
    ("12", "\\operatorname{lcm}(4, 6)"),
    ("1", "\\lfloor \\sqrt{2} \\rfloor"),
    ("x^2", "\\max(x^2, x^2)"),
    ("3", "\\lceil \\pi \\rceil"),
    ("4", "\\lceil \\pi \\rceil"),
    ("8", "2^{\\lceil 2.5 \\rceil}"),
]


def _verdicts() -> list[tuple[bool, bool]]:
    pool = SymbolicPool()
    try:
        pool.warm_up()
        return [(r.equal, r.timed_out) for r in (pool.equal(g, p) for g, p in SYMBOLIC_PAIRS)]
    finally:
        pool.close()


def test_the_pairs_really_need_the_symbolic_check():
    assert all(equivalent(p, g) is None for g, p in SYMBOLIC_PAIRS)


@pytest.mark.slow
def test_same_verdicts_on_a_saturated_machine():
    idle = _verdicts()
    assert not any(timed_out for _, timed_out in idle)
    assert [equal for equal, _ in idle].count(True) >= 8  # they are mostly equal: a real check, not all False
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        saturated = _verdicts()
    finally:
        for proc in busy:
            proc.kill()
        for proc in busy:
            proc.wait()
    assert saturated == idle


def test_workers_that_cannot_start_leave_the_answer_undecided(tmp_path, monkeypatch):
    import core.grading.symbolic as symbolic

    broken = tmp_path / "worker.py"
    broken.write_text("import sys\nsys.exit(3)\n")
    monkeypatch.setattr(symbolic, "_WORKER_SCRIPT", broken)
    pool = SymbolicPool()
    try:
        result = pool.equal("5", "\\max(3,5)")
        assert (result.equal, result.timed_out) == (False, True)
        assert pool.stats["errors"] == 1 and not pool.cache  # an undecided failure is not remembered
    finally:
        pool.close()
