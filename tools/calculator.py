"""Exact calculator: arithmetic, percentages, powers, roots, rounding and functions.

Expressions are parsed with :mod:`ast` and evaluated over a whitelist of nodes;
nothing is passed to ``eval``. Sums, products, quotients and integer powers are
computed with :class:`fractions.Fraction`, so ``0.1 + 0.2`` is exactly ``0.3`` and
big integers keep every digit. Irrational results (roots, logarithms,
trigonometry) use 50-digit :mod:`decimal` arithmetic.
"""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction

from podium.errors import ToolInputError
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools

__all__ = ["calculator", "evaluate", "format_number"]

Number = Fraction | Decimal

_MAX_LENGTH = 500
_MAX_EXPONENT = 10_000
_MAX_DIGITS = 5_000
_PRECISION = 50

_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d])")
_PERCENT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*%\s*of\b", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_WORDS = {
    r"\btimes\b": "*",
    r"\bmultiplied by\b": "*",
    r"\bdivided by\b": "/",
    r"\bplus\b": "+",
    r"\bminus\b": "-",
    r"\bto the power of\b": "**",
    r"\bsquare root of\b": "sqrt",
    r"\bmod\b": "%",
    r"×": "*",
    r"÷": "/",
    r"\^": "**",
}


def _to_decimal(value: Number) -> Decimal:
    if isinstance(value, Decimal):
        return value
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return Decimal(value.numerator) / Decimal(value.denominator)


def _exact_or_decimal(value: Decimal) -> Number:
    """Return a Fraction when the decimal result is exact enough to be one."""
    if value == value.to_integral_value():
        return Fraction(int(value))
    return value


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise ToolInputError(f"sqrt of a negative number ({format_number(x)}) is not real")
    if isinstance(x, Fraction):
        num, den = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if num * num == x.numerator and den * den == x.denominator:
            return Fraction(num, den)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _to_decimal(x).sqrt()


def _decimal_fn(name: str):
    def apply(x: Number) -> Number:
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            d = _to_decimal(x)
            if name in ("ln", "log", "log10", "log2") and d <= 0:
                raise ToolInputError(f"{name} needs a positive number, got {format_number(x)}")
            if name == "ln" or name == "log":
                return d.ln()
            if name == "log10":
                return d.log10()
            if name == "log2":
                return d.ln() / Decimal(2).ln()
            if name == "exp":
                return d.exp()
            # Trigonometry in radians; float precision is all math offers here.
            return Decimal(repr(getattr(math, name)(float(d))))

    return apply


def _round(x: Number, digits: Number = Fraction(0)) -> Number:
    if not (isinstance(digits, Fraction) and digits.denominator == 1):
        raise ToolInputError("round(x, digits) needs a whole number of digits")
    places = int(digits)
    scaled = Fraction(x) * Fraction(10) ** places if isinstance(x, Fraction) else Fraction(
        x
    ) * Fraction(10) ** places
    # Round half away from zero, as people expect of money and percentages.
    whole = math.floor(abs(scaled) + Fraction(1, 2))
    return Fraction(whole if scaled >= 0 else -whole) / Fraction(10) ** places


def _factorial(x: Number) -> Number:
    if not (isinstance(x, Fraction) and x.denominator == 1 and 0 <= x <= 1000):
        raise ToolInputError("factorial needs a whole number from 0 to 1000")
    return Fraction(math.factorial(int(x)))


_FUNCTIONS = {
    "sqrt": _sqrt,
    "abs": abs,
    "round": _round,
    "floor": lambda x: Fraction(math.floor(x)),
    "ceil": lambda x: Fraction(math.ceil(x)),
    "factorial": _factorial,
    "min": min,
    "max": max,
    **{name: _decimal_fn(name) for name in ("ln", "log", "log10", "log2", "exp")},
    **{name: _decimal_fn(name) for name in ("sin", "cos", "tan")},
}
_CONSTANTS = {
    "pi": Decimal("3.14159265358979323846264338327950288419716939937510"),
    "e": Decimal("2.71828182845904523536028747135266249775724709369995"),
}


def _normalize(expression: str) -> str:
    text = expression.strip().rstrip("?.=").strip()
    text = re.sub(r"^(what is|what's|calculate|compute|evaluate)\s+", "", text, flags=re.I)
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _PERCENT_OF.sub(r"(\1/100)*", text)
    text = _PERCENT.sub(r"(\1/100)", text)
    for pattern, replacement in _WORDS.items():
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text


def _binary(op: ast.operator, left: Number, right: Number) -> Number:
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return _binary_decimal(op, _to_decimal(left), _to_decimal(right))
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod):
        if right == 0:
            raise ToolInputError("division by zero")
        if isinstance(op, ast.Div):
            return left / right
        return Fraction(left // right) if isinstance(op, ast.FloorDiv) else left % right
    if isinstance(op, ast.Pow):
        return _power(left, right)
    raise ToolInputError(f"operator {type(op).__name__} is not supported")


def _binary_decimal(op: ast.operator, left: Decimal, right: Decimal) -> Number:
    if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
        raise ToolInputError("division by zero")
    ops = {
        ast.Add: lambda: left + right,
        ast.Sub: lambda: left - right,
        ast.Mult: lambda: left * right,
        ast.Div: lambda: left / right,
        ast.FloorDiv: lambda: left // right,
        ast.Mod: lambda: left % right,
        ast.Pow: lambda: left**right,
    }
    if type(op) not in ops:
        raise ToolInputError(f"operator {type(op).__name__} is not supported")
    if isinstance(op, ast.Pow) and abs(right) > _MAX_EXPONENT:
        raise ToolInputError(f"exponent {right} is too large (limit {_MAX_EXPONENT})")
    return ops[type(op)]()


def _power(base: Fraction, exponent: Fraction) -> Number:
    if abs(exponent) > _MAX_EXPONENT:
        raise ToolInputError(
            f"exponent {format_number(exponent)} is too large (limit {_MAX_EXPONENT})"
        )
    if exponent.denominator == 1:
        if base == 0 and exponent < 0:
            raise ToolInputError("zero cannot be raised to a negative power")
        digits = abs(exponent) * math.log10(abs(base.numerator)) if base.numerator else 0
        if digits > _MAX_DIGITS:
            raise ToolInputError(f"result would have more than {_MAX_DIGITS} digits")
        return base ** int(exponent)
    if base < 0:
        raise ToolInputError("a negative number to a fractional power is not real")
    if exponent == Fraction(1, 2):
        return _sqrt(base)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _exact_or_decimal(_to_decimal(base) ** _to_decimal(exponent))


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ToolInputError(f"{node.value!r} is not a number")
        # Through the source text, so 0.1 is exactly one tenth.
        return Fraction(repr(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _eval(node.left), _eval(node.right))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ToolInputError(
            f"unknown name {node.id!r}; constants: {', '.join(_CONSTANTS)}; "
            f"functions: {', '.join(_FUNCTIONS)}"
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = _FUNCTIONS.get(node.func.id)
        if fn is None:
            raise ToolInputError(
                f"unknown function {node.func.id!r}; functions: {', '.join(_FUNCTIONS)}"
            )
        args = [_eval(arg) for arg in node.args]
        try:
            result = fn(*args)
        except TypeError:
            raise ToolInputError(f"wrong number of arguments for {node.func.id}()") from None
        return result if isinstance(result, Fraction | Decimal) else Fraction(result)
    raise ToolInputError(f"unsupported syntax: {ast.unparse(node)!r}")


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression exactly.

    Args:
        expression: Arithmetic with ``+ - * / // % **`` (or ``^``), parentheses,
            percentages (``17% of 2,340``), thousands separators, the constants
            ``pi`` and ``e``, and the functions listed in the error for an unknown name.

    Returns:
        A ``Fraction`` when the result is rational, else a 50-digit ``Decimal``.

    Raises:
        ToolInputError: The expression is empty, too long, malformed or undefined.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ToolInputError("the expression is empty; give arithmetic such as '17% of 2340'")
    if len(expression) > _MAX_LENGTH:
        raise ToolInputError(f"the expression is longer than {_MAX_LENGTH} characters")
    text = _normalize(expression)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolInputError(
            f"could not parse {expression!r} as arithmetic; use numbers, + - * / ** %, "
            "parentheses and functions such as sqrt(2) or round(x, 2)"
        ) from None
    try:
        return _eval(tree)
    except (ArithmeticError, ValueError) as exc:
        raise ToolInputError(f"cannot evaluate {expression!r}: {exc}") from None


def format_number(value: Number) -> str:
    """Format a result: integers in full, exact decimals as is, others to 15 digits."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        den = value.denominator
        for p in (2, 5):
            while den % p == 0:
                den //= p
        if den == 1:  # a terminating decimal: print it exactly
            with localcontext() as ctx:
                ctx.prec = max(_PRECISION, len(str(value.numerator)) + 5)
                text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
            return text
        approx = _to_decimal(value)
        return f"{_trim(approx)} (= {value.numerator}/{value.denominator})"
    return _trim(value)


def _trim(value: Decimal) -> str:
    text = format(value.normalize() if abs(value) >= 1e-6 else value, "f")
    with localcontext() as ctx:
        ctx.prec = 15
        rounded = +value
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@podium_tool
def calculator(expression: str) -> str:
    """Evaluate arithmetic exactly: percentages, powers, roots, rounding and math functions.

    Args:
        expression: The arithmetic to compute, e.g. "17% of 2,340", "(3 + 4) ** 2",
            "sqrt(2)", "round(19.99 * 3, 2)".
    """
    return format_number(evaluate(expression))


register_tools([calculator])
