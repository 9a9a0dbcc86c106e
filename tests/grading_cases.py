"""The judged grading set: (completion, gold, verdict) cases with real GSM8K and MATH-500 golds.

GSM8K cases wrap real gold answers in the completion shapes models produce (R1 traces with
``</think>``, a pre-filled ``<think>``, truncations, distractors inside the think block, ``####`` and
``A:`` forms, dollars, units, thousands separators) and in adversarial shapes (two boxes, an empty
box, nested braces, a box only inside the think block). MATH cases pair real MATH-500 golds with
predictions written in the other forms that mean the same (or not). Each verdict is the judgement a
careful human grader would give.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.paths import BUILTIN_DATA_DIR

DATA = BUILTIN_DATA_DIR
GSM8K_GOLDS_USED = 20


@dataclass(frozen=True)
class Case:
    id: str
    completion: str
    gold: str
    correct: bool
    benchmark: str = "gsm8k"
    allow_last_number: bool = False
    think_prefilled: bool = False
    answer_only: bool = False
    multiple_boxes: str = "last"
    decimal_tolerance: bool = False

    def options(self) -> dict:
        return {
            "allow_last_number": self.allow_last_number,
            "think_prefilled": self.think_prefilled,
            "answer_only": self.answer_only,
            "multiple_boxes": self.multiple_boxes,
            "decimal_tolerance": self.decimal_tolerance,
        }


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


def _r1(answer_region: str, thought: str = "Let me compute carefully.") -> str:
    return f"<think>\n{thought}\n</think>\n\n{answer_region}"


def _gsm8k_templates(g: int) -> list[tuple[str, str, bool, dict]]:
    """(name, completion, verdict, options) for one GSM8K gold value ``g``."""
    wrong = g + 1
    distractor = f"First I get {wrong}, then {g + 7}. Hmm, \\boxed{{{wrong}}} would be wrong."
    commas = f"{g:,}"
    tex_commas = commas.replace(",", ",\\!")
    thin = commas.replace(",", "\\,")
    return [
        ("r1_boxed", _r1(f"The total is {g}.\n\n**Final Answer**\n\\boxed{{{g}}}", distractor), True, {}),
        ("prefilled_think", f"{distractor}\n</think>\n\nSo the answer is \\boxed{{{g}}}.", True, {}),
        ("truncated", f"<think>\nSo far the answer is \\boxed{{{g}}} but let me check {g}", False, {}),
        (
            "truncated_prefilled",
            f"I think it is \\boxed{{{g}}}, and then the answer is {g}",
            False,
            {"think_prefilled": True},
        ),
        ("box_only_in_think", f"<think>\nIt is \\boxed{{{g}}}.\n</think>\n\nI computed {g} above.", False, {}),
        ("distractor_answer", _r1(f"\\boxed{{{wrong}}}", f"Maybe \\boxed{{{g}}}? The answer is {g}."), False, {}),
        ("hash", _r1(f"Adding up gives {g}.\n#### {g}"), True, {}),
        ("answer_is_dollars", _r1(f"Therefore, the answer is ${commas}."), True, {}),
        ("a_colon", f"Q: how much?\nA: {g}", True, {}),
        ("boxed_dollar", _r1(f"\\boxed{{\\${g}}}"), True, {}),
        ("boxed_text_units", _r1(f"\\boxed{{{g} \\text{{ dollars}}}}"), True, {}),
        ("boxed_tex_thousands", _r1(f"\\boxed{{{tex_commas}}}"), True, {}),
        ("boxed_thin_space", _r1(f"\\boxed{{{thin}}}"), True, {}),
        ("two_boxed_last_right", _r1(f"First \\boxed{{{wrong}}}, no: \\boxed{{{g}}}"), True, {}),
        ("two_boxed_last_wrong", _r1(f"First \\boxed{{{g}}}, no: \\boxed{{{wrong}}}"), False, {}),
        ("empty_last_box", _r1(f"\\boxed{{{g}}}\n\n\\boxed{{}}"), True, {}),
        ("nested_braces", _r1(f"\\boxed{{{{{{{g}}}}}}}"), True, {}),
        ("wrong", _r1(f"\\boxed{{{wrong}}}"), False, {}),
        ("decimal_zeros", _r1(f"\\boxed{{{g}.00}}"), True, {}),
        ("decimal_off", _r1(f"\\boxed{{{g}.5}}"), False, {}),
        ("last_number_allowed", _r1(f"She makes {g} dollars in total."), True, {"allow_last_number": True}),
        ("last_number_not_allowed", _r1(f"She makes {g} dollars in total."), False, {}),
        ("truncated_last_number", f"<think>\nthe total is {g}", False, {"allow_last_number": True}),
        ("fbox", _r1(f"\\fbox{{{g}}}"), True, {}),
    ]


def gsm8k_cases() -> list[Case]:
    cases = []
    for i, row in enumerate(_rows("gsm8k_test.jsonl")[:GSM8K_GOLDS_USED]):
        g = int(row["answer"].rsplit("####", 1)[1].strip().replace(",", ""))
        for name, completion, correct, options in _gsm8k_templates(g):
            cases.append(Case(f"gsm8k-{i}-{name}", completion, row["answer"], correct, **options))
    return cases


# (prediction as the model boxes it, a MATH-500 gold verbatim, verdict)
MATH_JUDGED: list[tuple[str, str, bool]] = [
    # fractions, mixed numbers, decimals, signs
    ("\\dfrac{3}{2}", "\\frac{3}{2}", True),
    ("\\tfrac32", "\\frac{3}{2}", True),
    ("3/2", "\\frac{3}{2}", True),
    ("1.5", "\\frac{3}{2}", True),
    ("1\\frac{1}{2}", "\\frac{3}{2}", True),
    ("\\frac{2}{3}", "\\frac{3}{2}", False),
    ("\\frac{3}{4}", "\\frac 34", True),
    ("0.75", "\\frac 34", True),
    ("\\dfrac34", "\\frac 34", True),
    ("\\frac{9}{5}", "1\\frac{4}{5}", True),
    ("1.8", "1\\frac{4}{5}", True),
    ("\\frac{4}{5}", "1\\frac{4}{5}", False),
    ("137.5", "137 \\frac{1}{2}", True),
    ("\\frac{275}{2}", "137 \\frac{1}{2}", True),
    ("-\\frac{3}{8}", "-\\frac{3}{8}", True),
    ("\\frac{-3}{8}", "-\\frac{3}{8}", True),
    ("-0.375", "-\\frac{3}{8}", True),
    ("\\frac{3}{8}", "-\\frac{3}{8}", False),
    ("0.35625", ".35625", True),
    ("\\frac{57}{160}", ".35625", True),
    ("6.72 \\times 10^{-5}", ".0000672", True),
    ("6.72e-5", ".0000672", True),
    ("6.72 \\times 10^{-4}", ".0000672", False),
    ("\\frac{1}{3}", "\\frac{1}{3}", True),
    ("0.333", "\\frac{1}{3}", False),
    ("0.3333333333", "\\frac{1}{3}", False),
    ("0.33", "\\frac{1}{3}", False),
    ("0.334", "\\frac{1}{3}", False),
    ("0.1 + 0.2", "0.15", False),
    ("\\frac{3}{20}", "0.15", True),
    ("15\\%", "0.15", True),
    ("0.150", "0.15", True),
    ("4.50", "4.5", True),
    ("\\frac{9}{2}", "4.5", True),
    ("4.49", "4.5", False),
    ("3.210", "3.21", True),
    ("3.2", "3.21", False),
    ("326.50", "326.5", True),
    ("\\frac{33}{100}", "\\dfrac{33}{100}", True),
    ("0.33", "\\dfrac{33}{100}", True),
    ("33\\%", "\\dfrac{33}{100}", True),
    ("\\frac{639}{40}", "\\frac{639}{40}", True),
    ("15.975", "\\frac{639}{40}", True),
    ("15.97", "\\frac{639}{40}", False),
    ("\\frac{448}{15625}", "\\frac{448}{15625}", True),
    ("0.028672", "\\frac{448}{15625}", True),
    ("\\frac{9}{19}", "\\frac9{19}", True),
    ("\\frac{6}{5}", "\\frac65", True),
    ("1.2", "\\frac65", True),
    ("-1", "-1", True),
    ("1", "-1", False),
    ("- 2", "-2", True),
    # money, thousands separators, units, degrees
    ("36", "\\$36", True),
    ("\\$36.00", "\\$36", True),
    ("36 \\text{ dollars}", "\\$36", True),
    ("37", "\\$36", False),
    ("32348", "\\$32,\\!348", True),
    ("\\$32,348", "\\$32,\\!348", True),
    ("32,348.00", "\\$32,\\!348", True),
    ("18.9", "\\$18.90", True),
    ("\\$18.90", "\\$18.90", True),
    ("18.09", "\\$18.90", False),
    ("10080", "10,\\!080", True),
    ("10,080", "10,\\!080", True),
    ("10{,}080", "10,\\!080", True),
    ("1008", "10,\\!080", False),
    ("11111111100", "11,\\! 111,\\! 111,\\! 100", True),
    ("11,111,111,100", "11,\\! 111,\\! 111,\\! 100", True),
    ("58500", "58,500", True),
    ("58,\\!500", "58,500", True),
    ("5850", "58,500", False),
    ("864", "864 \\mbox{ inches}^2", True),
    ("864 \\text{ square inches}", "864 \\mbox{ inches}^2", True),
    ("15 \\text{ cm}^2", "15\\mbox{ cm}^2", True),
    ("15", "15\\mbox{ cm}^2", True),
    ("16", "15\\mbox{ cm}^2", False),
    ("5.4", "5.4 \\text{ cents}", True),
    ("5.4 \\text{ cents}", "5.4 \\text{ cents}", True),
    ("54", "5.4 \\text{ cents}", False),
    ("30", "30^\\circ", True),
    ("30^{\\circ}", "30^\\circ", True),
    ("30°", "30^\\circ", True),
    ("30 \\text{ degrees}", "30^\\circ", True),
    ("60^\\circ", "30^\\circ", False),
    ("\\frac{270}{7}", "\\frac{270}7\\text{ degrees}", True),
    ("\\frac{270}{7}^\\circ", "\\frac{270}7\\text{ degrees}", True),
    ("38.57", "\\frac{270}7\\text{ degrees}", False),
    # pi, roots, complex numbers
    ("\\pi", "\\pi", True),
    ("3.14159", "\\pi", False),
    ("3.14", "\\pi", False),
    ("\\frac{\\pi}{1}", "\\pi", True),
    ("8\\pi", "8 \\pi", True),
    ("\\pi \\cdot 8", "8 \\pi", True),
    ("25.13", "8 \\pi", False),
    ("\\frac{20000}{\\pi}", "\\frac{20000}{\\pi}", True),
    ("20000/\\pi", "\\frac{20000}{\\pi}", True),
    ("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", True),
    ("\\sqrt{\\frac{1}{3}}", "\\frac{\\sqrt{3}}{3}", True),
    ("0.577", "\\frac{\\sqrt{3}}{3}", False),
    ("\\sqrt{3}", "\\frac{\\sqrt{3}}{3}", False),
    ("\\sqrt{20}", "2\\sqrt{5}", True),
    ("2\\sqrt5", "2\\sqrt{5}", True),
    ("\\sqrt{10}", "2\\sqrt{5}", False),
    ("11\\sqrt{2}", "11\\sqrt2", True),
    ("\\sqrt{242}", "11\\sqrt2", True),
    ("70\\sqrt{2}", "70 \\sqrt{2}", True),
    ("3\\sqrt{13}", "3\\sqrt{13}", True),
    ("\\sqrt{117}", "3\\sqrt{13}", True),
    ("-\\sqrt{3}", "-\\sqrt{3}", True),
    ("1+2\\sqrt{3}", "1+2\\sqrt{3}", True),
    ("2\\sqrt{3}+1", "1+2\\sqrt{3}", True),
    ("1-2\\sqrt{3}", "1+2\\sqrt{3}", False),
    ("11+11\\sqrt{5}", "11 \\sqrt{5} + 11", True),
    ("18+2\\pi", "18+2\\pi", True),
    ("2\\pi + 18", "18+2\\pi", True),
    ("6+9i", "6+9i", True),
    ("9i+6", "6+9i", True),
    ("6-9i", "6+9i", False),
    ("-2+7i", "-2 + 7i", True),
    ("6-5i", "6 - 5i", True),
    ("1+274i", "1+274i", True),
    ("1-12i", "1 - 12i", True),
    # tuples, intervals, sets, lists, unions, matrices
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("\\left(3,\\dfrac{\\pi}{2}\\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("(\\frac{\\pi}{2}, 3)", "\\left( 3, \\frac{\\pi}{2} \\right)", False),
    ("(1.5, -13)", "\\left( \\frac{3}{2}, -13 \\right)", True),
    ("(-13, 1.5)", "\\left( \\frac{3}{2}, -13 \\right)", False),
    ("(8,-2)", "(8,-2)", True),
    ("(8, -2)", "(8,-2)", True),
    ("(-2,8)", "(8,-2)", False),
    ("(1,-16,-4,43)", "(1,-16,-4,43)", True),
    ("(1,-16,-4)", "(1,-16,-4,43)", False),
    ("[\\frac{\\pi^2}{8}, \\frac{5\\pi^2}{4}]", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", True),
    ("(\\frac{\\pi^2}{8}, \\frac{5\\pi^2}{4})", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", False),
    ("(0.6, \\frac{8}{3}]", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", True),
    ("[\\frac{3}{5}, \\frac{8}{3}]", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", False),
    ("(3,4]", "(3,4]", True),
    ("(3,4)", "(3,4]", False),
    ("[3,4]", "(3,4]", False),
    ("(-\\infty,0]", "(-\\infty, 0]", True),
    ("(-\\infty,0)", "(-\\infty, 0]", False),
    ("(5,\\infty)", "(5,\\infty)", True),
    ("(5, \\infty)", "(5,\\infty)", True),
    ("[5,\\infty)", "(5,\\infty)", False),
    ("(-\\infty,2)\\cup(3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", True),
    ("(3,\\infty)\\cup(-\\infty,2)", "(-\\infty, 2) \\cup (3, \\infty)", True),
    ("(-\\infty,2]\\cup(3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", False),
    ("(0,9)\\cup(9,36)", "(0,9) \\cup (9,36)", True),
    ("(0,36)", "(0,9) \\cup (9,36)", False),
    ("[-2,7]", "x \\in [-2,7]", True),
    ("x \\in [-2, 7]", "x \\in [-2,7]", True),
    ("(-2,7)", "x \\in [-2,7]", False),
    ("1, -2", "1,-2", True),
    ("-2, 1", "1,-2", True),
    ("1, 2", "1,-2", False),
    ("1", "1,-2", False),
    ("3, 5, 7", "3, 5, 7", True),
    ("7, 5, 3", "3, 5, 7", True),
    ("3, 5", "3, 5, 7", False),
    ("\\{1+\\sqrt{5}, 1-\\sqrt{5}, -2\\}", "\\{1\\pm\\sqrt{5},-2\\}", True),
    ("-2, 1+\\sqrt5, 1-\\sqrt5", "\\{1\\pm\\sqrt{5},-2\\}", True),
    ("\\{1+\\sqrt{5}, -2\\}", "\\{1\\pm\\sqrt{5},-2\\}", False),
    ("1+\\sqrt{19}, 1-\\sqrt{19}", "1 \\pm \\sqrt{19}", True),
    ("1 \\pm \\sqrt{19}", "1 \\pm \\sqrt{19}", True),
    ("1+\\sqrt{19}", "1 \\pm \\sqrt{19}", False),
    ("3-2\\sqrt{2}, 3+2\\sqrt{2}", "3 \\pm 2 \\sqrt{2}", True),
    ("\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", "\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", True),
    ("\\begin{pmatrix}-7\\\\16\\\\5\\end{pmatrix}", "\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", True),
    ("(-7, 16, 5)", "\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", True),
    ("\\begin{pmatrix} 7 \\\\ 16 \\\\ 5 \\end{pmatrix}", "\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", False),
    (
        "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}",
        "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
        True,
    ),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", True),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", False),
    ("\\begin{bmatrix} 0.2 \\\\ -3.6 \\end{bmatrix}", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", True),
    # letter choices and words
    ("E", "\\text{(E)}", True),
    ("(E)", "\\text{(E)}", True),
    ("\\text{(E)}", "\\text{(E)}", True),
    ("\\textbf{(E)}", "\\text{(E)}", True),
    ("\\text{E}", "\\text{(E)}", True),
    ("(C)", "\\text{(E)}", False),
    ("C", "\\text{(C)}", True),
    ("(B)", "\\text{(C)}", False),
    ("B", "\\text{(B)}", True),
    ("\\text{even}", "\\text{even}", True),
    ("even", "\\text{even}", True),
    ("Even", "\\text{even}", True),
    ("odd", "\\text{even}", False),
    ("\\text{neither}", "\\text{even}", False),
    ("\\text{Navin}", "\\text{Navin}", True),
    ("Navin", "\\text{Navin}", True),
    ("\\text{Evelyn}", "\\text{Navin}", False),
    ("\\text{East}", "\\text{east}", True),
    ("west", "\\text{east}", False),
    ("\\text{an ellipse}", "\\text{ellipse}", True),
    ("\\text{hyperbola}", "\\text{ellipse}", False),
    # equations and expressions with variables
    ("5", "x=5", True),
    ("x = 5", "x=5", True),
    ("x=6", "x=5", False),
    ("6", "x=5", False),
    ("y=2x+3", "y = 2x + 3", True),
    ("y = 3 + 2x", "y = 2x + 3", True),
    ("y=2x-3", "y = 2x + 3", False),
    ("y=-2x", "y = -2x", True),
    ("y = 2x", "y = -2x", False),
    ("5x-7y+11z+4=0", "5x - 7y + 11z + 4 = 0", True),
    ("-5x+7y-11z-4=0", "5x - 7y + 11z + 4 = 0", True),
    ("5x-7y+11z-4=0", "5x - 7y + 11z + 4 = 0", False),
    ("2(k+1)", "2k+2", True),
    ("2k+2", "2k+2", True),
    ("2k+1", "2k+2", False),
    ("2k", "2k", True),
    ("p-q", "p - q", True),
    ("-q+p", "p - q", True),
    ("q-p", "p - q", False),
    ("3R^2", "3R^2", True),
    ("3 R^{2}", "3R^2", True),
    ("3R", "3R^2", False),
    ("5r^5", "5r^5", True),
    ("x^3+3x-6", "x^3+3x-6", True),
    ("-6+3x+x^3", "x^3+3x-6", True),
    ("x^3-3x+6", "x^3+3x-6", False),
    ("8n^2+4n+1", "8n^2 + 4n + 1", True),
    ("4n(2n+1)+1", "8n^2 + 4n + 1", True),
    ("6r^2-4r-24", "6r^2-4r-24", True),
    ("2(3r^2-2r-12)", "6r^2-4r-24", True),
    ("-13x+3", "-13x+3", True),
    ("3-13x", "-13x+3", True),
    ("15x-80", "15x - 80", True),
    ("5(3x-16)", "15x - 80", True),
    ("(a+5)(b+2)", "(a+5)(b+2)", True),
    ("(b+2)(a+5)", "(a+5)(b+2)", True),
    ("(a+2)(b+5)", "(a+5)(b+2)", False),
    ("\\frac{9a+11}{20}", "\\frac{11+9a}{20}", True),
    ("\\frac{11+9a}{2}", "\\frac{11+9a}{20}", False),
    ("\\cot x", "\\cot x", True),
    ("\\frac{\\cos x}{\\sin x}", "\\cot x", True),
    ("\\tan x", "\\cot x", False),
    ("x^5-x^4+x^3-x^2+x-1", "x^5 - x^4 + x^3 - x^2 + x - 1", True),
    ("\\frac{x^9-1}{x-1}", "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1", True),
    # base-n numerals
    ("52_8", "52_8", True),
    ("52_{8}", "52_8", True),
    ("52", "52_8", True),
    ("42_8", "52_8", False),
    ("4210_5", "4210_{5}", True),
    ("2516_8", "2516_8", True),
    ("2516", "2516_8", True),
    ("2561_8", "2516_8", False),
    # things models write around an answer
    ("x = \\frac{3}{2}", "\\frac{3}{2}", True),
    ("\\frac{3}{2} \\approx 1.5", "\\frac{3}{2}", True),
    ("\\frac{6}{4} = \\frac{3}{2}", "\\frac{3}{2}", True),
    ("2 \\cdot 3 = 6", "6", True),
    ("2x + 1 = 6", "6", False),
    ("\\displaystyle \\frac{3}{2}", "\\frac{3}{2}", True),
    ("\\left(\\frac{3}{2}\\right)", "\\frac{3}{2}", True),
    ("\\boxed{\\frac{3}{2}}", "\\frac{3}{2}", True),
    ("$\\frac{3}{2}$", "\\frac{3}{2}", True),
    ("e^{\\ln 2}", "2", True),
    ("\\log_{2} 8", "3", True),
    ("\\sqrt[3]{-8}", "-2", True),
    # beyond the fast path: decided by the symbolic fallback
    ("\\lfloor \\frac{7}{2} \\rfloor", "3", True),
    ("\\lceil 2.5 \\rceil", "3", True),
    ("\\max(3,5)", "5", True),
    ("\\gcd(12,18)", "6", True),
    ("\\lfloor 3.7 \\rfloor", "4", False),
]


def math_judged_cases(golds: set[str]) -> list[Case]:
    cases = []
    for i, (pred, gold, correct) in enumerate(MATH_JUDGED):
        if gold not in golds:
            raise ValueError(f"{gold!r} is not a MATH-500 gold answer")
        completion = _r1(f"The final answer is $\\boxed{{{pred}}}$.", "Working it out; maybe \\boxed{0}.")
        cases.append(Case(f"math-{i}", completion, gold, correct, benchmark="math"))
    return cases


def math_gold_cases() -> list[Case]:
    """Every MATH-500 gold, boxed verbatim in an R1 trace, against itself and against the solution text."""
    cases = []
    for i, row in enumerate(_rows("math500_test.jsonl")):
        cases.append(
            Case(
                f"math500-{i}-verbatim",
                _r1(f"So the answer is $\\boxed{{{row['answer']}}}$."),
                row["answer"],
                True,
                benchmark="math",
            )
        )
    return cases


def _shape(name: str, completion: str, gold: str, correct: bool, benchmark: str = "gsm8k", **options) -> Case:
    return Case(f"shape-{name}", completion, gold, correct, benchmark, **options)


def answer_shape_cases() -> list[Case]:
    """The answer shapes researchers fed the grader (issue 13), each with the verdict a careful grader gives."""
    two = _r1("First \\boxed{17}, then checking again: \\boxed{18}")
    agree = _r1("So \\boxed{18}. In dollars: \\boxed{\\$18}")
    sentence = "Janet sells 16 - 3 - 4 = 9 eggs and makes 9 * 2 = $18 every day."
    return [
        # several boxes in one answer: the configured policy decides
        _shape("boxes-last", two, "18", True),
        _shape("boxes-last-wrong", two, "17", False),
        _shape("boxes-all-agree-differ", two, "18", False, multiple_boxes="all_agree"),
        _shape("boxes-all-agree-same", agree, "18", True, multiple_boxes="all_agree"),
        _shape("boxes-any-first", two, "17", True, multiple_boxes="any"),
        _shape("boxes-any-none", two, "19", False, multiple_boxes="any"),
        _shape(
            "boxes-any-math", _r1("\\boxed{\\frac{1}{2}} or \\boxed{0.25}"), "0.5", True, "math", multiple_boxes="any"
        ),
        # a bare answer (a prediction column from another tool): no marker needed
        _shape("bare-number", "18", "#### 18", True, answer_only=True),
        _shape("bare-units", "18 dollars", "#### 18", True, answer_only=True),
        _shape("bare-latex", "$\\dfrac{1}{2}$", "0.5", True, "math", answer_only=True),
        _shape("bare-boxed", "\\boxed{\\frac{1}{2}}", "\\frac12", True, "math", answer_only=True),
        _shape("bare-wrong", "17", "#### 18", False, answer_only=True),
        _shape("bare-needs-flag", "18", "#### 18", False),
        # a think block the chat template pre-filled: a trace cut mid-thought has no answer
        _shape(
            "prefilled-truncated",
            "The field is 10 by 20, so, the answer is 200 feet",
            "200",
            False,
            think_prefilled=True,
        ),
        _shape(
            "prefilled-finished",
            "10 * 20 = 200\n</think>\n\nSo, the answer is 200 feet.",
            "200",
            True,
            think_prefilled=True,
        ),
        _shape("not-prefilled", "The field is 10 by 20, so, the answer is 200 feet", "200", True),
        # single-letter units
        _shape("unit-g", _r1("\\boxed{2600\\, \\text{g}}"), "2600", True, "math"),
        _shape("unit-m", _r1("\\boxed{5 \\text{ m}}"), "5", True, "math"),
        _shape("unit-s", _r1("\\boxed{12 s}"), "12", True, "math"),
        _shape("unit-h", _r1("The answer is 3 h."), "3", True),
        _shape("unit-m-squared", _r1("\\boxed{15 m^2}"), "15", True, "math"),
        _shape("unit-wrong-value", _r1("\\boxed{2700\\, \\text{g}}"), "2600", False, "math"),
        _shape("variable-not-unit", _r1("\\boxed{5x}"), "5", False, "math"),
        # a whole sentence after "Final Answer:"
        _shape("final-sentence", _r1("Final Answer: Janet makes $18 every day at the farmers' market."), "18", True),
        _shape(
            "final-sentence-math",
            _r1("Final Answer: the area is $\\frac{3}{4}$ of the square."),
            "\\frac34",
            True,
            "math",
        ),
        _shape("final-sentence-wrong", _r1("Final Answer: Janet makes $20 every day."), "18", False),
        _shape("final-minerva", _r1("Final Answer: The final answer is $18$. I hope it is correct."), "18", True),
        # thousands separators versus lists
        _shape("list-not-thousands", _r1("\\boxed{32, 349}"), "32349", False, "math"),
        _shape("list-matches-list", _r1("\\boxed{349, 32}"), "32, 349", True, "math"),
        _shape("thousands-comma", _r1("\\boxed{32,349}"), "32349", True, "math"),
        _shape("thousands-tex", _r1("\\boxed{32{,}349}"), "32349", True, "math"),
        # trig and other identities
        _shape("trig-double-angle", _r1("\\boxed{2\\sin x\\cos x}"), "\\sin 2x", True, "math"),
        _shape("trig-double-angle-wrong", _r1("\\boxed{2\\sin x}"), "\\sin 2x", False, "math"),
        _shape("trig-cos-double", _r1("\\boxed{1 - 2\\sin^2 x}"), "\\cos 2x", True, "math"),
        _shape("trig-pythagoras", _r1("\\boxed{1 - \\cos^2 \\theta}"), "\\sin^2 \\theta", True, "math"),
        _shape("log-product", _r1("\\boxed{\\ln 2 + \\ln 3}"), "\\ln 6", True, "math"),
        _shape("symbolic-floor", _r1("\\boxed{\\lfloor \\sqrt{10} \\rfloor}"), "3", True, "math"),
        # decimal tolerance: off by default for MATH, a switch keeps the rounding rule
        _shape("decimal-third", _r1("\\boxed{0.333}"), "\\frac{1}{3}", False, "math"),
        _shape("decimal-third-tolerant", _r1("\\boxed{0.333}"), "\\frac{1}{3}", True, "math", decimal_tolerance=True),
        _shape(
            "decimal-root-tolerant", _r1("\\boxed{0.577}"), "\\frac{\\sqrt{3}}{3}", True, "math", decimal_tolerance=True
        ),
        _shape(
            "decimal-too-short-tolerant", _r1("\\boxed{0.33}"), "\\frac{1}{3}", False, "math", decimal_tolerance=True
        ),
        _shape("decimal-exact", _r1("\\boxed{0.75}"), "\\frac34", True, "math"),
        _shape("float-noise", _r1("\\boxed{0.30000000000000004}"), "0.3", True, "math"),
        # science review §4: finished answers without a marker, last number allowed when configured
        _shape(
            "last-number-finish-line",
            _r1("...then 4 people crossed the finish line faster than him."),
            "4",
            True,
            allow_last_number=True,
        ),
        _shape("last-number-sum", _r1("The sum is 186 + 618 = 804."), "804", True, allow_last_number=True),
        _shape("last-number-dollars", _r1("So she earned $600."), "600", True, allow_last_number=True),
        _shape("last-number-no-think", sentence, "18", True, allow_last_number=True),
        _shape("last-number-strict", _r1("So she earned $600."), "600", False),
        _shape("last-number-truncated", "<think>\nSo she earned $600", "600", False, allow_last_number=True),
    ]


def all_cases() -> list[Case]:
    golds = {row["answer"] for row in _rows("math500_test.jsonl")}
    return gsm8k_cases() + math_judged_cases(golds) + math_gold_cases() + answer_shape_cases()
