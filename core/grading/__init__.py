"""Answer grading for GSM8K- and MATH-style completions: extraction, equivalence, verdicts.

``grade(completion, gold, benchmark, allow_last_number)`` is the one entry point most callers need.
Importing this package is cheap: sympy/math_verify load only inside the symbolic worker processes.
"""

from core.grading.extract import Extraction, answer_region, extract_answer
from core.grading.grader import BENCHMARKS, GRADERS, MULTIPLE_BOXES, Verdict, gold_answer, grade, grading_errors
from core.grading.symbolic import symbolic_stats, warm_up

__all__ = [
    "BENCHMARKS",
    "GRADERS",
    "MULTIPLE_BOXES",
    "Extraction",
    "Verdict",
    "answer_region",
    "extract_answer",
    "gold_answer",
    "grade",
    "grading_errors",
    "symbolic_stats",
    "warm_up",
]
