"""Decide whether a predicted answer equals the gold answer, without sympy where possible.

Order of checks, on the cleaned strings (normalize.clean): identical text; letter choices
(``(E)`` = ``E`` = ``\\text{(E)}``); word answers (``\\text{even}`` = ``Even``); equations
(``x=5`` = ``5``; the last side of ``9 \\cdot 2 = 18`` is the answer); then structures: matrices,
unions of intervals, sets ``\\{..\\}`` and bare lists (any order; ``a \\pm b`` is the two values),
tuples and intervals (in order, brackets must agree); and last scalars: base-n numerals
(``52_8``), exact numbers (numbers.py, with its tolerance), then expressions evaluated at the same
variable values (expression.py). A case none of these can read returns None: the symbolic fallback
decides it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import permutations

from core.grading.expression import EvalError, Value, evaluate, has_variables, values_close
from core.grading.normalize import clean, strip_units
from core.grading.numbers import Number, decimal_rounding, number_matches_float, numbers_equal, parse_number

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(")]}")
_GOLD_CHOICE = re.compile(r"\(?([A-Z])\)?")
_PRED_CHOICE = re.compile(r"\(?([A-Za-z])\)?(?:[\s:.].*)?", re.S)
_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]*(?: [A-Za-z][A-Za-z'-]*)*")
_LONG_WORD = re.compile(r"[A-Za-z]{2}")
_NON_LETTER = re.compile(r"[^a-z]")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
_VARIABLE = re.compile(r"(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?\w+\}?)?(?:\([A-Za-z]\))?")
_MEMBERSHIP = re.compile(r"^(?:[A-Za-z]|\\[A-Za-z]+)\s*\\in\s*")
_MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}", re.S)
_BASE_NUMERAL = re.compile(r"([0-9A-Za-z]+)_\{?(\d+)\}?")
_INFINITY = re.compile(r"([+-]?)\\infty")
_MAX_ITEMS_FOR_PERMUTATIONS = 6


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str  # scalar | seq | set | list | union | matrix
    text: str = ""
    items: tuple = ()
    brackets: str = ""  # seq: opening + closing bracket


def _squash(s: str) -> str:
    return s.replace(" ", "")


def _delimiter_at(s: str, i: int) -> tuple[str, int]:
    """('open'|'close'|'', length) for the delimiter starting at s[i]; ``\\{`` counts as one."""
    c = s[i]
    if c == "\\" and i + 1 < len(s) and s[i + 1] in "{}":
        return ("open" if s[i + 1] == "{" else "close"), 2
    if c in _OPENERS:
        return "open", 1
    if c in _CLOSERS:
        return "close", 1
    return "", 1


def _split_top(s: str, separator: str) -> list[str]:
    """Split at ``separator`` where no bracket of any kind is open (intervals mix them)."""
    parts, depth, start, i, n, width = [], 0, 0, 0, len(s), len(separator)
    while i < n:
        if depth == 0 and s.startswith(separator, i):
            parts.append(s[start:i])
            i += width
            start = i
            continue
        kind, length = _delimiter_at(s, i)
        depth += 1 if kind == "open" else -1 if kind == "close" else 0
        i += length
    parts.append(s[start:])
    return [p.strip() for p in parts]


def _encloses(s: str) -> bool:
    """Whether the first character's bracket closes at the very end of ``s``."""
    depth, i, n = 0, 0, len(s)
    while i < n:
        kind, length = _delimiter_at(s, i)
        depth += 1 if kind == "open" else -1 if kind == "close" else 0
        i += length
        if depth == 0:
            return i == n
    return False


def _expand_pm(item: str) -> list[str]:
    for sign in ("\\pm", "\\mp"):
        if sign in item and len(_split_top(item, sign)) == 2:
            first, second = ("+", "-") if sign == "\\pm" else ("-", "+")
            return [item.replace(sign, first, 1), item.replace(sign, second, 1)]
    return [item]


def _items(s: str) -> tuple[str, ...]:
    return tuple(x for part in _split_top(s, ",") for x in _expand_pm(part) if x)


def _structure(s: str) -> _Node:
    s = s.strip()
    m = _MATRIX.fullmatch(s)
    if m:
        rows = tuple(tuple(c.strip() for c in row.split("&")) for row in m.group(2).split("\\\\") if row.strip())
        return _Node("matrix", items=rows)
    parts = _split_top(s, "\\cup")
    if len(parts) > 1:
        return _Node("union", items=tuple(parts))
    if s.startswith("\\{") and s.endswith("\\}") and _encloses(s):
        return _Node("set", items=_items(s[2:-2]))
    if len(s) > 1 and s[0] in "([" and s[-1] in ")]" and _encloses(s):
        inner = _items(s[1:-1])
        if len(inner) > 1:
            return _Node("seq", items=inner, brackets=s[0] + s[-1])
        return _structure(s[1:-1]) if s[0] == "(" and s[-1] == ")" else _Node("scalar", s)
    if parse_number(s) is not None:  # `58,500` is one number, not a list
        return _Node("scalar", s)
    items = _items(s)
    if len(items) > 1 or (len(items) == 1 and items[0] != s):
        return _Node("list", items=items)
    return _Node("scalar", s)


def _all_decided(results: list[bool | None]) -> bool | None:
    if all(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _ordered(p: tuple, g: tuple, percent: bool) -> bool | None:
    if len(p) != len(g):
        return False
    return _all_decided([_compare(x, y, percent) for x, y in zip(p, g)])


def _unordered(p: tuple, g: tuple, percent: bool) -> bool | None:
    if len(p) != len(g):
        return False
    table = [[_compare(x, y, percent) for y in g] for x in p]
    if len(p) <= _MAX_ITEMS_FOR_PERMUTATIONS:
        outcomes = [_all_decided([table[i][j] for i, j in enumerate(perm)]) for perm in permutations(range(len(g)))]
        return True if True in outcomes else None if None in outcomes else False
    used: set[int] = set()  # long lists: greedy matching
    for row in table:
        j = next((j for j, r in enumerate(row) if r is True and j not in used), None)
        if j is None:
            return None if any(r is None for r in row) else False
        used.add(j)
    return True


def _compare_nodes(p: _Node, g: _Node, percent: bool) -> bool | None:
    if p.kind == "scalar" and g.kind == "scalar":
        return _compare_scalars(p.text, g.text, percent)
    if p.kind == "seq" and g.kind == "seq":
        return False if p.brackets != g.brackets else _ordered(p.items, g.items, percent)
    if p.kind in ("set", "list") and g.kind in ("set", "list"):
        return _unordered(p.items, g.items, percent)
    if {p.kind, g.kind} == {"seq", "list"}:
        seq = p if p.kind == "seq" else g
        return _ordered(p.items, g.items, percent) if seq.brackets == "()" else False
    if p.kind == "union" and g.kind == "union":
        return _unordered(p.items, g.items, percent)
    if p.kind == "matrix" and g.kind == "matrix":
        if [len(r) for r in p.items] != [len(r) for r in g.items]:
            return False
        return _ordered(sum(p.items, ()), sum(g.items, ()), percent)
    if g.kind == "matrix" and p.kind == "seq" and p.brackets == "()":
        if len(g.items) == 1 or all(len(r) == 1 for r in g.items):  # a vector written as a tuple
            return _ordered(p.items, sum(g.items, ()), percent)
    scalars = [n for n in (p, g) if n.kind == "scalar"]
    if scalars and not _readable(scalars[0].text):
        return None  # an unreadable scalar might still be a collection to the symbolic check
    return False


def _readable(s: str) -> bool:
    if "\\infty" in s or _BASE_NUMERAL.fullmatch(_squash(s)):
        return True
    return _number(s) is not None or _value(s, 0) is not None


def _number(s: str) -> Number | None:
    n = parse_number(s)
    if n is None:
        stripped = strip_units(s)
        if stripped is not None:
            n = parse_number(stripped)
    return n


def _value(s: str, seed: int) -> Value | None:
    try:
        return evaluate(s, seed)
    except EvalError:
        stripped = strip_units(s)
        if stripped is None:
            return None
        try:
            return evaluate(stripped, seed)
        except EvalError:
            return None


def _as_float(v: Value) -> float | None:
    try:
        z = complex(v)
    except OverflowError:
        return None
    return z.real if abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)) else None


def _number_vs_value(n: Number, v: Value) -> bool:
    if isinstance(v, complex):
        x = _as_float(v)
        return x is not None and number_matches_float(n, x)
    return numbers_equal(n, Number(v))


def _numbers_match(a: Number, b: Number, percent: bool) -> bool:
    """Equal numbers; with a percent sign on either side, 25 and 0.25 match too."""
    return numbers_equal(a, b) or (percent and (a.value == b.value * 100 or a.value * 100 == b.value))


def _compare_scalars(a: str, b: str, percent: bool) -> bool | None:
    if _squash(a) == _squash(b):
        return True
    if "\\infty" in a or "\\infty" in b:
        ia, ib = _INFINITY.fullmatch(_squash(a)), _INFINITY.fullmatch(_squash(b))
        if ia and ib:
            return ia.group(1).replace("+", "") == ib.group(1).replace("+", "")
        return False if (ia or ib) and (parse_number(a) or parse_number(b)) else None
    ba, bb = _BASE_NUMERAL.fullmatch(_squash(a)), _BASE_NUMERAL.fullmatch(_squash(b))
    if ba or bb:
        if ba and bb:
            return ba.groups() == bb.groups()
        if bb:  # the base left off the prediction
            return _squash(a) == bb.group(1)
        assert ba is not None  # one of the two matched, and it was not bb
        digits, base = ba.groups()
        try:
            return _squash(b) in (digits, str(int(digits, int(base))))
        except ValueError:
            return False
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return _numbers_match(na, nb, percent)
    va = na.value if na is not None else _value(a, 0)
    vb = nb.value if nb is not None else _value(b, 0)
    if va is None or vb is None:
        return None
    if na is not None:
        return _number_vs_value(na, vb)
    if nb is not None:
        return _number_vs_value(nb, va)
    if not values_close(va, vb):
        return False
    if has_variables(a) or has_variables(b):
        va2, vb2 = _value(a, 1), _value(b, 1)
        if va2 is None or vb2 is None:
            return None
        return values_close(va2, vb2)
    return True


def _split_equation(s: str) -> list[str] | None:
    sides = _split_top(s, "=")
    return sides if len(sides) > 1 and all(sides) else None


def _is_result_chain(sides: list[str]) -> bool:
    """``x = 5`` or ``9 \\cdot 2 = 18``: the last side is the result; ``2x + 1 = 7`` is not."""
    head = sides[1:-1] if _is_variable(sides[0]) else sides[:-1]
    return all(not has_variables(side) for side in head)


def _is_variable(s: str) -> bool:
    return _VARIABLE.fullmatch(s.replace(" ", "")) is not None


def _same_equation(pred: list[str], gold: list[str]) -> bool | None:
    """``5x-7y=-4`` and ``-10x+14y-8=0`` are one equation: lhs - rhs agree up to a constant factor."""
    ratios = []
    for seed in (0, 1):
        maybe_values = [_value(side, seed) for side in (*pred, *gold)]
        values = [v for v in maybe_values if v is not None]
        if len(values) < len(maybe_values):
            return None
        p_diff, g_diff = complex(values[0] - values[1]), complex(values[2] - values[3])
        if abs(g_diff) < 1e-12 or abs(p_diff) < 1e-12:
            return None
        ratios.append(p_diff / g_diff)
    return values_close(ratios[0], ratios[1])


def _choice(gold: str) -> str | None:
    m = _GOLD_CHOICE.fullmatch(gold)
    return m.group(1) if m else None


def _words(s: str) -> str | None:
    s = s.strip()
    if not _WORDS.fullmatch(s) or not _LONG_WORD.search(s):
        return None
    return _NON_LETTER.sub("", _ARTICLE.sub("", s.lower()))


def _compare(pred: str, gold: str, percent: bool) -> bool | None:
    pred, gold = pred.strip(), gold.strip()
    if _squash(pred) == _squash(gold):
        return True
    na, nb = parse_number(pred), parse_number(gold)
    if nb is not None and na is None:  # `18 dollars`: drop the units before any structure parsing
        stripped = strip_units(pred)
        na = parse_number(stripped) if stripped is not None else None
    if na is not None and nb is not None:  # the common case, decided before any structure parsing
        return _numbers_match(na, nb, percent)
    pred, gold = _MEMBERSHIP.sub("", pred), _MEMBERSHIP.sub("", gold)
    letter = _choice(gold)
    if letter is not None and not (len(pred) == 1 and pred.islower()):
        m = _PRED_CHOICE.fullmatch(pred)
        return m is not None and m.group(1).upper() == letter
    gold_words = _words(gold)
    if gold_words is not None:
        return _words(pred) == gold_words
    if "\\approx" in pred:
        first, _, rest = pred.partition("\\approx")
        pred = rest.strip() if _is_variable(first) else first.strip()
    gold_sides, pred_sides = _split_equation(gold), _split_equation(pred)
    if gold_sides is None and pred_sides is not None:
        if not _is_result_chain(pred_sides):
            return False if _readable(gold) else None
        pred = pred_sides[-1]
    elif gold_sides is not None and pred_sides is None:
        if len(gold_sides) != 2 or not _is_variable(gold_sides[0]):
            return False if _readable(pred) else None
        gold = gold_sides[1]
    elif gold_sides is not None and pred_sides is not None:
        if len(gold_sides) != 2 or len(pred_sides) != 2:
            return None
        if _squash(gold_sides[0]) == _squash(pred_sides[0]):
            rhs = _compare(pred_sides[1], gold_sides[1], percent)
            if rhs is True or _is_variable(gold_sides[0]):
                return rhs
        return _same_equation(pred_sides, gold_sides)
    return _compare_nodes(_structure(pred), _structure(gold), percent)


@lru_cache(maxsize=1 << 16)
def equivalent(pred: str, gold: str, decimal_tolerance: bool = False) -> bool | None:
    """True or False when the fast checks decide; None when only the symbolic check can.

    ``decimal_tolerance`` accepts a rounded decimal for a non-terminating value (numbers.py)."""
    if pred == gold:
        return True
    p, g = clean(pred), clean(gold)
    if not p.text:
        return False
    with decimal_rounding(decimal_tolerance):
        return _compare(p.text, g.text, p.percent or g.percent)
