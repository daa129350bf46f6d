from fractions import Fraction

import pytest

from podium.errors import ToolInputError
from podium.tools.calculator import calculator, evaluate, format_number


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("What is 17% of 2,340?", "397.8"),
        ("0.1 + 0.2", "0.3"),
        ("2 ** 100", "1267650600228229401496703205376"),
        ("1/3", "0.333333333333333 (= 1/3)"),
        ("sqrt(16)", "4"),
        ("sqrt(2)", "1.4142135623731"),
        ("round(2.675, 2)", "2.68"),
        ("5 plus 3 times 2", "11"),
        ("(3 + 4) ^ 2", "49"),
        ("factorial(20)", "2432902008176640000"),
        ("1,000,000 * 1,000,000", "1000000000000"),
        ("max(3, 7, 5) - min(3, 7, 5)", "4"),
        ("12% of 50 + 4", "10"),
    ],
)
def test_calculator_is_exact(expression, expected):
    assert calculator.invoke({"expression": expression}) == expected


def test_big_integers_have_no_float_drift():
    assert evaluate("99999999999999999999 + 1") == Fraction(10**20)
    assert format_number(evaluate("0.1 * 3")) == "0.3"


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("", "empty"),
        ("2 +", "could not parse"),
        ("__import__('os').system('ls')", "unsupported syntax"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("x + 1", "unknown name 'x'"),
        ("1/0", "division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("sqrt(-1)", "not real"),
        ("'a' * 3", "not a number"),
        ("[1, 2][0]", "unsupported syntax"),
        ("1" * 600, "longer than"),
    ],
)
def test_calculator_garbage_gets_a_message(expression, fragment):
    with pytest.raises(ToolInputError, match=None) as info:
        evaluate(expression)
    assert fragment in str(info.value)
    message = calculator.invoke({"expression": expression})
    assert message.startswith("Error:") and fragment in message


def test_missing_argument_names_the_field():
    message = calculator.invoke({})
    assert "'expression'" in message and "required" in message
