"""Rewrite an answer string into one canonical LaTeX-ish form before it is compared.

Cleaning removes what never changes an answer's value: math delimiters, dollar signs, ``\\left``/
``\\right``, spacing commands, ``\\text{...}`` wrappers (their words stay, so units can be dropped
later), degree marks, percent signs (reported, since 25% may be meant as 0.25) and trailing periods.
Thousands separators written with TeX spacing (``10,\\!080``, ``1\\,000``) become plain ``10,080``
and ``1000``; numbers.py reads ``10,080`` as one number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.grading.markers import matching_brace

_UNICODE = str.maketrans(
    {
        "−": "-",
        "–": "-",
        "×": "\\times ",
        "·": "\\cdot ",
        "π": "\\pi ",
        "√": "\\sqrt ",
        "∞": "\\infty ",
        "÷": "\\div ",
        "≤": "\\le ",
        "≥": "\\ge ",
        "∪": "\\cup ",
        "±": "\\pm ",
    }
)
_WRAPPER = re.compile(r"^\\(?:boxed|fbox)\s*\{")
_SIZING = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![A-Za-z])\.?")
_STYLE = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle)(?![A-Za-z])")
_FRAC_ALIAS = re.compile(r"\\[dtc]frac(?![A-Za-z])")
_BINOM_ALIAS = re.compile(r"\\[dt]binom(?![A-Za-z])")
_THOUSANDS_TEX = re.compile(r",\\!\s*|,\{\}|\{,\}")
_THIN_SPACE_IN_NUMBER = re.compile(r"(?<=\d)\\[,!](?=\d)")
_SPACING = re.compile(r"\\(?:quad|qquad)(?![A-Za-z])|(?<!\\)\\[,;:! ]|~")
_TEXT = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|mathtt|mbox|"
    r"operatorname|hbox)\s*\{([^{}]*)\}"
)
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree(?![A-Za-z])|\^\s*\{\s*o\s*\}")
_FRAC_SHORT = re.compile(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])")
_FRAC_SHORT_NUM = re.compile(r"\\frac\s*([0-9A-Za-z])\s*\{")
_FRAC_SHORT_DEN = re.compile(r"\\frac\s*(\{[^{}]*\})\s*([0-9A-Za-z])")
_SQRT_SHORT = re.compile(r"\\sqrt\s*([0-9A-Za-z])")
_WHITESPACE = re.compile(r"\s+")
# Nothing in a string made of these needs more than whitespace and period clean-up.
_PLAIN = re.compile(r"[0-9A-Za-z \t\n.,+\-*/=()\[\]^:']*")
_LETTERS = re.compile(r"[A-Za-z]+")
_MATH_WORDS = frozenset({"pi", "and", "or", "to", "infty", "sqrt", "frac", "cup", "cap", "in", "pm"})
# Possessive letter runs keep the tail from backtracking exponentially on long words.
_UNIT_TAIL = re.compile(r"^(.*?[\d}).])\s*((?:[A-Za-z]{2,}+\.?(?:\s*\^\s*\{?\d\}?)?\s*)+)$")
# One-letter SI units (``2600 g``, ``5 m``, ``3 s``, ``2 h``), only after a space: ``5x`` is no unit.
_LETTER_UNIT_TAIL = re.compile(r"^(.*?[\d}).])\s+[gmshLKNJWV]\.?(?:\s*\^\s*\{?\d\}?)?$")


@dataclass(frozen=True, slots=True)
class Cleaned:
    text: str
    percent: bool  # the answer carried a percent sign


def _unwrap_boxes(s: str) -> str:
    while _WRAPPER.match(s):
        open_pos = s.index("{")
        close = matching_brace(s, open_pos)
        if close != len(s) - 1:
            break
        s = s[open_pos + 1 : close].strip()
    return s


def _strip_outer_braces(s: str) -> str:
    while s.startswith("{") and matching_brace(s, 0) == len(s) - 1:
        s = s[1:-1].strip()
    return s


@lru_cache(maxsize=1 << 16)
def clean(raw: str) -> Cleaned:
    """The canonical form of ``raw`` (see the module docstring)."""
    s = raw.replace("\\$", "").replace("$", "")
    if _PLAIN.fullmatch(s):  # most answers: skip the LaTeX rewrites
        return Cleaned(_WHITESPACE.sub(" ", s).strip().rstrip(".").rstrip(), False)
    s = _unwrap_boxes(s.translate(_UNICODE).strip())
    # Each rewrite runs only when its trigger is present: cleaning is on the grader's hot path.
    if "\\left" in s or "\\right" in s or "\\big" in s or "\\Big" in s:
        s = _SIZING.sub("", s)
    if "style" in s:
        s = _STYLE.sub("", s)
    if "frac" in s:
        s = _FRAC_ALIAS.sub(r"\\frac", s)
    if "binom" in s:
        s = _BINOM_ALIAS.sub(r"\\binom", s)
    if "," in s:
        s = _THOUSANDS_TEX.sub(",", s)
    if "\\" in s or "~" in s:
        s = _SPACING.sub(" ", _THIN_SPACE_IN_NUMBER.sub("", s))
    previous = None
    while previous != s and "{" in s:  # innermost first: \text{\textbf{(E)}}
        previous, s = s, _TEXT.sub(r" \1 ", s)
    if "circ" in s or "°" in s or "degree" in s or "^{o}" in s:
        s = _DEGREES.sub("", s)
    percent = "%" in s
    if percent:
        s = s.replace("\\%", "").replace("%", "")
    if "\\frac" in s:
        s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
        s = _FRAC_SHORT_NUM.sub(r"\\frac{\1}{", s)
        s = _FRAC_SHORT_DEN.sub(r"\\frac\1{\2}", s)
    if "\\sqrt" in s:
        s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _WHITESPACE.sub(" ", s).strip()
    s = s.rstrip(".").rstrip()
    s = _strip_outer_braces(s)
    return Cleaned(s, percent)


def strip_units(s: str) -> str | None:
    """``18 dollars`` / ``2600 g`` -> ``18`` / ``2600``; None when ``s`` has no trailing unit."""
    m = _UNIT_TAIL.match(s)
    if not m:
        letter = _LETTER_UNIT_TAIL.match(s)
        return letter.group(1).rstrip(".").strip() if letter else None
    words = _LETTERS.findall(m.group(2))
    if any(w.lower() in _MATH_WORDS for w in words):
        return None
    return m.group(1).rstrip(".").strip()
