"""Numbers written the many ways models write them, read into exact rationals.

Accepted (after normalize.clean): integers, decimals (``.5``, ``18.``), thousands separators
(``1,000``, ``10,080``), scientific notation (``1.5e3``, ``1.5\\times10^{3}``), fractions (``3/4``,
``\\frac{3}{4}``), mixed numbers (``1\\frac{4}{5}``, ``2 1/2``) and signs on any of them.

Tolerance (how two numbers compare; everything else is exact rational equality, so 0.1 + 0.2 style
float error can never flip a verdict):
- only inside ``decimal_rounding(True)`` (config ``grading.decimal_tolerance``; off by default, as no
  published MATH grader accepts it): a decimal with at least ROUNDED_MIN_PLACES places matches a value
  that does not terminate within those places (1/3, 2/7, sqrt 2) when it is that value rounded or
  truncated: ``0.333`` = 1/3, but ``0.33`` != 1/3 and ``0.125`` != ``0.126``;
- a decimal with at least FLOAT_NOISE_DIGITS significant digits matches within a relative
  FLOAT_NOISE_REL (printed float noise such as ``0.30000000000000004``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction

ROUNDED_MIN_PLACES = 3
_ROUNDING: ContextVar[bool] = ContextVar("decimal_rounding", default=False)
FLOAT_NOISE_DIGITS = 12
FLOAT_NOISE_REL = 1e-9
_MAX_EXPONENT = 400  # 1e400 is already far beyond any benchmark answer

_DEC = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
_DECIMAL = re.compile(rf"([+-]?)({_DEC})")
_SCI = re.compile(rf"([+-]?)({_DEC})(?:[eE]|(?:\\times|\\cdot|\*|x)10\^)\{{?([+-]?\d+)\}}?")
_SLASH = re.compile(rf"([+-]?)\(?([+-]?{_DEC})/([+-]?{_DEC})\)?")
_FRAC = re.compile(rf"([+-]?)\\frac\{{([+-]?{_DEC})\}}\{{([+-]?{_DEC})\}}")
_MIXED_TEX = re.compile(r"([+-]?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}")
_MIXED_SLASH = re.compile(r"([+-]?)(\d+)\s+(\d+)\s*/\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Number:
    value: Fraction
    places: int | None = None  # digits after the point, when written as a decimal
    digits: int = 0  # significant digits, when written as a decimal


def _decimal(sign: str, text: str) -> Number:
    text = text.replace(",", "")
    if text.isdigit():
        return Number(Fraction(-int(text) if sign == "-" else int(text)), None, len(text.lstrip("0")))
    whole, _, frac = text.partition(".")
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    significant = (whole + frac).lstrip("0")
    return Number(-value if sign == "-" else value, len(frac), len(significant))


def _plain(text: str) -> Fraction:
    return _decimal("", text.lstrip("+-")).value * (-1 if text.startswith("-") else 1)


def parse_number(s: str) -> Number | None:
    """The exact value of ``s`` when it is a plain number in one of the accepted forms."""
    m = _DECIMAL.fullmatch(s)
    if m:
        return _decimal(*m.groups())
    m = _MIXED_SLASH.fullmatch(s) or _MIXED_TEX.fullmatch(s.replace(" ", ""))
    if m:
        sign, whole, num, den = m.groups()
        if int(den) == 0:
            return None
        value = int(whole) + Fraction(int(num), int(den))
        return Number(-value if sign == "-" else value)
    if ", " in s:  # `32, 349` is a list of two numbers, never 32349
        return None
    s = s.replace(" ", "")
    m = _DECIMAL.fullmatch(s)
    if m:
        return _decimal(*m.groups())
    m = _SCI.fullmatch(s)
    if m:
        sign, mantissa, exponent = m.groups()
        if abs(int(exponent)) > _MAX_EXPONENT:
            return None
        value = _decimal("", mantissa).value * Fraction(10) ** int(exponent)
        return Number(-value if sign == "-" else value)
    m = _FRAC.fullmatch(s) or _SLASH.fullmatch(s)
    if m:
        sign, num, den = m.groups()
        denominator = _plain(den)
        if denominator == 0:
            return None
        value = _plain(num) / denominator
        return Number(-value if sign == "-" else value)
    return None


@contextmanager
def decimal_rounding(enabled: bool) -> Iterator[None]:
    """Accept a rounded or truncated decimal for a non-terminating value within this block (this thread)."""
    token = _ROUNDING.set(enabled)
    try:
        yield
    finally:
        _ROUNDING.reset(token)


def as_float(x: Fraction | float) -> float:
    """``float(x)``, with values beyond float range as +-inf (they then match nothing but themselves)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _terminates_within(value: Fraction, places: int) -> bool:
    return (value * 10**places).denominator == 1


def _rounded_or_truncated(dec: Fraction, other: Fraction, places: int) -> bool:
    unit = Fraction(1, 10**places)
    if abs(dec - other) <= unit / 2:
        return True
    return (dec >= 0) == (other >= 0) and abs(dec) <= abs(other) < abs(dec) + unit


def _decimal_matches(dec: Number, other: Fraction | float) -> bool:
    """Whether a written decimal stands for ``other`` under the tolerance in the module docstring."""
    if dec.places is None:
        return False
    exact = isinstance(other, Fraction)
    if not exact and not math.isfinite(other):
        return False
    diff = abs(as_float(dec.value - other)) if exact else abs(as_float(dec.value) - other)
    if dec.digits >= FLOAT_NOISE_DIGITS and diff <= FLOAT_NOISE_REL * max(1.0, abs(as_float(other))):
        return True
    if dec.places < ROUNDED_MIN_PLACES or not _ROUNDING.get():
        return False
    if isinstance(other, Fraction) and _terminates_within(other, dec.places):
        return False
    # A float stands in for an irrational value; as a Fraction it is exact enough at these places.
    return _rounded_or_truncated(dec.value, other if isinstance(other, Fraction) else Fraction(other), dec.places)


def numbers_equal(a: Number, b: Number) -> bool:
    """Exact equality, or a written decimal that stands for the other value (see the tolerance)."""
    return a.value == b.value or _decimal_matches(a, b.value) or _decimal_matches(b, a.value)


def number_matches_float(a: Number, x: float) -> bool:
    """``a`` against an inexact value (from an irrational expression such as ``\\frac{\\sqrt3}{3}``)."""
    if abs(as_float(a.value) - x) <= FLOAT_NOISE_REL * max(1.0, abs(x)):
        return True
    return _decimal_matches(a, x)
