"""`rdtui eval RUN --grader math-verify`: an evaluated run's journals re-graded, nothing generated.

The run's journal holds completions graded by rdtui's grader; re-grading with Math-Verify alone
writes eval/math-verify/<bench>.json (beside, never over, the run's own summary) and prints both
accuracies per benchmark.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.evaluation.journal import Journal, ProblemResult
from core.evaluation.summary import summarize, write_summary
from tests.conftest import rdtui
from tests.test_eval_cli import make_run

# (completion, gold, rdtui's verdict): Math-Verify takes the first one's number from inside the think
# block; the last one was cut off by the token limit, which scores 0 under any grader.
SAMPLES = [
    ("<think>\nmaybe 18\n</think>\n\nThe answer is unclear.", "#### 18", False),
    ("<think>\n9 * 2\n</think>\n\nFinal Answer: She makes $18 every day at the market.", "#### 18", True),
    ("<think>\n3 + 4\n</think>\n\nThe answer is \\boxed{7}.", "#### 7", True),
    ("<think>\n3 + 4", "#### 7", False),
]


def _evaluated_run(runs: Path):
    run = make_run(runs, "base_model")
    settings = {"benchmark": "gsm8k_test", "kind": "gsm8k", "allow_last_number": False}
    results = [
        ProblemResult(
            id=str(i),
            prompt_hash="h",
            gold=gold,
            completions=[text],
            extracted=[None],
            correct=[correct],
            rules=[None],
            tokens=[10],
            finish_reasons=["length" if i == 3 else "stop"],
        )
        for i, (text, gold, correct) in enumerate(SAMPLES)
    ]
    with Journal(run.eval_dir / "gsm8k_test.jsonl", settings) as journal:
        journal.append(results)
    write_summary(
        run.eval_dir / "gsm8k_test.json",
        summarize(results, benchmark="gsm8k_test", ks=[1], benchmark_size=4, settings=settings),
    )
    return run


def test_eval_regrades_a_run_with_math_verify_side_by_side(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = _evaluated_run(runs)
    own_before = (run.eval_dir / "gsm8k_test.json").read_text()
    result = rdtui("--runs-dir", str(runs), "eval", run.id, "--grader", "math-verify", timeout=300)
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.strip().splitlines()[-2:]
    assert header.split() == ["BENCHMARK", "N", "ACCURACY", "(RUN)", "ACCURACY", "(MATH-VERIFY)", "DIFFERENCE"]
    assert row.split() == ["gsm8k_test", "4", "0.500", "0.750", "+0.250"]
    regraded = json.loads((run.eval_dir / "math-verify" / "gsm8k_test.json").read_text())
    assert regraded["settings"]["grader"] == "math-verify"
    assert regraded["n_problems"] == 4 and regraded["benchmark_size"] == 4
    assert (run.eval_dir / "gsm8k_test.json").read_text() == own_before  # the run's own summary is untouched
    journal_lines = (run.eval_dir / "gsm8k_test.jsonl").read_text().splitlines()
    assert len(journal_lines) == 5  # nothing generated, nothing appended
