"""Evaluate a LaTeX math expression to a number, with letters read as variables.

This is the grader's fast structural check for answers that are not plain numbers
(``\\frac{\\sqrt{3}}{3}``, ``2k+2``, ``6+9i``, ``\\cot x``): both sides are evaluated at the same
variable values and compared. Arithmetic stays in exact rationals while it can (integers, fractions,
integer powers) and moves to complex floats once a root, pi or a function appears. Anything the
grammar does not know raises EvalError, and the caller falls back to the symbolic check.
"""

from __future__ import annotations

import cmath
import math
import re
import zlib
from collections.abc import Callable
from fractions import Fraction
from typing import TypeGuard

Value = Fraction | complex

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*|\.\d+)|(\\[A-Za-z]+|\\[{}|])|([A-Za-z])|(\S))")
_MAX_DEPTH = 60
_MAX_EXACT_BITS = 4096  # beyond this an exact power would be slow: go to floats (and overflow)
_GREEK = frozenset(
    {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
    }
)


def _cot(z: complex) -> complex:
    return 1 / cmath.tan(z)


def _sec(z: complex) -> complex:
    return 1 / cmath.cos(z)


def _csc(z: complex) -> complex:
    return 1 / cmath.sin(z)


_FUNCTIONS: dict[str, Callable[[complex], complex]] = {
    "sin": cmath.sin,
    "cos": cmath.cos,
    "tan": cmath.tan,
    "cot": _cot,
    "sec": _sec,
    "csc": _csc,
    "arcsin": cmath.asin,
    "arccos": cmath.acos,
    "arctan": cmath.atan,
    "sinh": cmath.sinh,
    "cosh": cmath.cosh,
    "tanh": cmath.tanh,
    "ln": cmath.log,
    "log": cmath.log,
    "exp": cmath.exp,
}
_OPERATOR_COMMANDS = frozenset({"\\cdot", "\\times", "\\div"})


class EvalError(ValueError):
    """The expression is outside what this evaluator reads."""


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            break  # only trailing whitespace is left
        assert m.lastindex is not None  # every alternative of _TOKEN is one capturing group
        tokens.append(m.group(m.lastindex))
        pos = m.end()
    return tokens


def _is_numeral(token: str) -> bool:
    """A number token: the tokenizer also yields a lone "." (``1 + ... + 10``), which is not one."""
    return token[0].isdigit() or (token[0] == "." and len(token) > 1)


def _exact(v: Value) -> TypeGuard[Fraction]:
    return isinstance(v, Fraction)


def _real_or_complex(z: complex) -> Value:
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise EvalError("not finite")
    return z


def _power(base: Value, exponent: Value) -> Value:
    if _exact(base) and _exact(exponent) and exponent.denominator == 1:
        bits = max(abs(base.numerator).bit_length(), abs(base.denominator).bit_length())
        if bits * abs(exponent.numerator) <= _MAX_EXACT_BITS:
            if base == 0 and exponent < 0:
                raise EvalError("division by zero")
            return base**exponent.numerator
    try:
        b, e = complex(base), complex(exponent)
        if b.imag == 0 and e.imag == 0 and b.real > 0:
            return _real_or_complex(complex(b.real**e.real))
        if b == 0:
            raise EvalError("zero to a complex power")
        return _real_or_complex(b**e)
    except (OverflowError, ZeroDivisionError) as exc:
        raise EvalError(str(exc)) from exc


def _sqrt(v: Value, index: Value = Fraction(2)) -> Value:
    if _exact(v) and v >= 0 and index == 2:
        num, den = math.isqrt(v.numerator), math.isqrt(v.denominator)
        if num * num == v.numerator and den * den == v.denominator:
            return Fraction(num, den)
    if _exact(v) and _exact(index) and index.denominator == 1 and index % 2 == 1 and v < 0:
        return -_power(-v, 1 / index)  # odd roots of negatives are real
    return _power(v, 1 / index)


class _Parser:
    def __init__(self, tokens: list[str], variables: Callable[[str], Value]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.variables = variables

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise EvalError("unexpected end")
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise EvalError(f"expected {token}")

    def parse(self) -> Value:
        value = self.expression()
        if self.peek() is not None:
            raise EvalError(f"unexpected {self.peek()}")
        return value

    def expression(self) -> Value:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise EvalError("too deeply nested")
        value = self.term()
        while self.peek() in ("+", "-"):
            if self.take() == "+":
                value = value + self.term()
            else:
                value = value - self.term()
        self.depth -= 1
        return value

    def term(self) -> Value:
        value = self.unary()
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times"):
                self.take()
                value = value * self.unary()
            elif token in ("/", "\\div"):
                self.take()
                divisor = self.unary()
                if divisor == 0:
                    raise EvalError("division by zero")
                value = value / divisor
            elif self.starts_atom(token):
                value = value * self.power()
            else:
                return value

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def starts_atom(self, token: str | None) -> bool:
        if token is None:
            return False
        if _is_numeral(token) or token.isalpha() or token in ("(", "[", "{"):
            return True
        return token.startswith("\\") and len(token) > 2 and token not in _OPERATOR_COMMANDS and token != "\\infty"

    def power(self) -> Value:
        value = self.postfix()
        if self.peek() == "^":
            self.take()
            value = _power(value, self.exponent())
        return value

    def exponent(self) -> Value:
        token = self.peek()
        if token is not None and token[0].isdigit() and len(token) > 1:
            # `x^23` is x^2 * 3 in TeX: only the first digit is the exponent.
            self.tokens[self.pos] = token[1:]
            return Fraction(token[0])
        if token == "-":
            self.take()
            return -self.exponent()
        return self.postfix()

    def postfix(self) -> Value:
        value = self.atom()
        while self.peek() == "!":
            self.take()
            if not (_exact(value) and value.denominator == 1 and 0 <= value <= 500):
                raise EvalError("factorial of a non-integer")
            value = Fraction(math.factorial(int(value)))
        return value

    def group(self) -> Value:
        opening = self.take()
        closing = {"(": ")", "[": "]", "{": "}"}.get(opening)
        if closing is None:
            raise EvalError("expected a group")
        value = self.expression()
        self.expect(closing)
        return value

    def argument(self) -> Value:
        """A function's argument: a group, or juxtaposed factors up to the next operator (`\\sin 2x`)."""
        if self.peek() in ("(", "{", "["):
            return self.power()
        value = self.power()
        while self.starts_atom(self.peek()) and self.peek() not in ("(", "[") and not self.starts_function():
            value = value * self.power()
        return value

    def starts_function(self) -> bool:
        """`\\sin x\\cos x` is sin(x)·cos(x): a function command ends the previous function's argument."""
        token = self.peek()
        return token is not None and token.startswith("\\") and token[1:] in _FUNCTIONS

    def atom(self) -> Value:
        token = self.take()
        if _is_numeral(token):
            return Fraction(token)
        if token in ("(", "[", "{"):
            self.pos -= 1
            return self.group()
        if token == "|":
            value = self.expression()
            self.expect("|")
            if isinstance(value, Fraction):
                return Fraction(abs(value))
            return complex(abs(value))
        if token.isalpha():
            if token == "i":
                return 1j
            if token == "e" and self.peek() != "_":  # Euler's number, as MATH writes it
                return complex(math.e)
            return self.variables(self.subscripted(token))
        if not token.startswith("\\"):
            raise EvalError(f"unexpected {token}")
        name = token[1:]
        if name == "pi":
            return complex(math.pi)
        if name in _GREEK:
            return self.variables(self.subscripted(token))
        if name == "frac":
            num = self.group()
            den = self.group()
            if den == 0:
                raise EvalError("division by zero")
            return num / den
        if name == "binom":
            n, k = self.group(), self.group()
            if not (_exact(n) and _exact(k) and n.denominator == 1 and k.denominator == 1 and 0 <= n <= 10_000):
                raise EvalError("binomial of non-integers")
            return Fraction(math.comb(int(n), int(k)))
        if name == "sqrt":
            index: Value = Fraction(2)
            if self.peek() == "[":
                self.take()
                index = self.expression()
                self.expect("]")
            return _sqrt(self.group(), index)
        if name in _FUNCTIONS:
            return self.function(name)
        raise EvalError(f"unknown command {token}")

    def subscripted(self, name: str) -> str:
        if self.peek() != "_":
            return name
        self.take()
        sub = self.take()
        if sub == "{":
            parts = []
            while self.peek() not in ("}", None):
                parts.append(self.take())
            self.expect("}")
            sub = "".join(parts)
        return f"{name}_{sub}"

    def function(self, name: str) -> Value:
        base: Value | None = None
        if name == "log" and self.peek() == "_":
            self.take()
            base = self.group() if self.peek() == "{" else self.atom()
        power: Value | None = None
        if self.peek() == "^":  # \sin^2 x
            self.take()
            power = self.exponent()
            if power == -1 and f"arc{name}" in _FUNCTIONS:  # \sin^{-1} x is arcsin x
                name, power = f"arc{name}", None
        arg = complex(self.argument())
        try:
            value = _FUNCTIONS[name](arg)
            if base is not None:
                value = value / cmath.log(complex(base))
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            raise EvalError(str(exc)) from exc
        result = _real_or_complex(value)
        return result if power is None else _power(result, power)


def _variable_values(seed: int) -> Callable[[str], Value]:
    """Deterministic, distinct, generic values per variable name (a polynomial identity test)."""

    def value(name: str) -> Value:
        h = zlib.crc32(f"{seed}:{name}".encode())
        return complex(0.35 + (h % 100_003) / 100_003 * 1.6)

    return value


def evaluate(text: str, seed: int = 0) -> Value:
    """The value of ``text`` with every variable set from ``seed``; raises EvalError."""
    try:
        return _Parser(_tokenize(text), _variable_values(seed)).parse()
    except (ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise EvalError(str(exc)) from exc


def has_variables(text: str) -> bool:
    """Whether ``text`` names a variable (a letter other than i and e, or a Greek letter)."""
    for token in _tokenize(text):
        if (token.isalpha() and token not in ("i", "e")) or (token.startswith("\\") and token[1:] in _GREEK):
            return True
    return False


def values_close(a: Value, b: Value) -> bool:
    """Exact equality for two exact values; otherwise relative 1e-9 on complex numbers."""
    if _exact(a) and _exact(b):
        return a == b
    try:
        za, zb = complex(a), complex(b)
    except OverflowError:  # an exact value beyond float range against an inexact one
        return False
    return abs(za - zb) <= 1e-9 * max(1.0, abs(za), abs(zb))
