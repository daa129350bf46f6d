"""Extractors for the offline model: arithmetic, places, people, lists, enum glosses.

Regular expressions over the request; :mod:`podium._offline_schema` decides which
field gets what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EMAIL",
    "NON_PLACES",
    "NUMBER",
    "NUMBER_WORD",
    "NUMBER_WORDS",
    "PHONE",
    "QUOTED",
    "URL",
    "Places",
    "arithmetic_span",
    "explanations",
    "fallback_place",
    "find_places",
    "has_arithmetic",
    "people",
    "split_list",
]

NUMBER = re.compile(
    r"(?<![\w.])(?P<neg>-)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<pct>\s*%)?(?![\w])"
)
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "twenty": 20,
}  # fmt: skip
NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)|‘([^’]+)’|「([^」]+)」")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://[^\s)>\]]+|\bwww\.[^\s)>\]]+")
PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
NON_PLACES = {
    "i", "me", "my", "you", "we", "the", "a", "an", "it", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april",
    "may", "june", "july", "august", "september", "october", "november", "december", "mon",
    "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "today", "tomorrow", "tonight", "what", "who", "how",
    "when", "where", "why", "which", "please", "book", "find", "get", "search", "show", "tell",
    "schedule", "create", "make", "add", "set", "is", "are", "will", "can", "could", "would",
    "should", "do", "does", "use", "give", "list", "send", "check", "compare", "plan", "ask",
    "also", "then", "and", "or", "hello", "hi", "hey", "thanks", "ok", "next", "this", "last",
}  # fmt: skip
_CONNECTORS = {"de", "del", "da", "do", "dos", "la", "le", "el", "upon", "on", "sur", "am", "of"}
_PLACE_NAME = (
    r"(?P<place>[A-Z][\w'’.-]*(?:\s+(?:(?:de|del|da|do|dos|la|le|el|upon|on|sur|am|of)\s+)?"
    r"[A-Z][\w'’-]*)*(?:,\s*[A-Z]{2}\b)?)"
)
_PLACE_AFTER = re.compile(
    r"\b(?P<prep>(?i:to|from|in|at|for|near|into|via|towards|around|between|and|leaving|"
    r"visiting|visit|out\s+of))\s+(?:(?i:the)\s+)?" + _PLACE_NAME
)
_CAPITALISED = re.compile(r"(?<![\w'’])" + _PLACE_NAME)
# Arithmetic: numbers, operators, functions and the words the calculator reads.
_MATH_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[-+*/^%×÷()=]|\*\*|"
    r"\b(?:plus|minus|times|multiplied\s+by|divided\s+by|over|to\s+the\s+power\s+of|"
    r"squared|cubed|percent|of|mod|sqrt|square\s+root\s+of|log|ln|exp|sin|cos|tan|abs|"
    r"round|floor|ceil|factorial|pi|e|x)\b|,",
    re.IGNORECASE,
)
_OPERATOR = re.compile(
    r"[-+*/^%×÷]|\b(?:plus|minus|times|multiplied|divided|over|power|squared|cubed|percent|"
    r"mod|sqrt|root|log|ln|exp|sin|cos|tan|abs|round|floor|ceil|factorial)\b",
    re.IGNORECASE,
)
_PAY = r"what\s+(?:do|will|would|should|does)\s+(?:i|we|you|it|one)\s+(?:pay|owe|spend)"
_ASKS_AMOUNT = re.compile(
    rf"\bhow\s+(?:much|many)\b|\bwhat(?:\s+is|'s)\b|\b(?:calculate|compute|work\s+out)\b|"
    rf"\b{_PAY}\b",
    re.IGNORECASE,
)
# A percentage taken away and the rest asked for: "spend 35% ... how much is left?"
_ASKS_REST = re.compile(
    rf"\b(?:left|remain(?:s|ing)?|still\s+(?:have|got)|final\s+price|net|{_PAY})\b", re.I
)
_TAKES_AWAY = re.compile(
    r"\b(?:spen[dt]|spending|discount(?:s|ed)?|off|lose|los[et]|drop(?:s|ped)?|fall(?:s)?|"
    r"fell|cut|reduc(?:e|ed|es|tion)|withdraw(?:n|s)?|gave|give|use[ds]?)\b",
    re.I,
)
# A percentage added and the total asked for: "tip 15% ... what do I pay in total?"
_ASKS_TOTAL = re.compile(rf"\b(?:in\s+total|total|altogether|{_PAY})\b", re.I)
_ADDS = re.compile(
    r"\b(?:tip(?:s|ping)?|tax(?:es)?|vat|interest|increase[ds]?|rais(?:e|ed|es)|gr[eo]w[ns]?|"
    r"rise[ns]?|rose|add(?:s|ed)?|surcharge|markup|fee)\b",
    re.I,
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_FUNCTION = re.compile(
    r"\b(?:sqrt|log|ln|exp|sin|cos|tan|abs|round|floor|ceil|factorial)\b|\*\*", re.IGNORECASE
)
_N = r"\$?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_N_LIST = rf"{_N}(?:\s*,\s*{_N})*(?:\s*,)?\s+(?:and|plus|to)\s+{_N}"
# Arithmetic said in words: "add 0.1 and 0.2", "divide 144 by 12", "250 ... spend 35%".
_VERBAL: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:add|sum(?:\s+up)?|total|sum\s+of|total\s+of)\s+{_N_LIST}", re.I), "+"),
    (re.compile(rf"\b(?:multiply|product\s+of)\s+{_N}\s+(?:by|and|with|times)\s+{_N}", re.I), "*"),
    (re.compile(rf"\b(?:divide|quotient\s+of)\s+{_N}\s+(?:by|and)\s+{_N}", re.I), "/"),
    (re.compile(rf"\bdifference\s+between\s+{_N}\s+and\s+{_N}", re.I), "-"),
    (re.compile(rf"\bsubtract\s+{_N}\s+from\s+{_N}", re.I), "from"),
    (re.compile(rf"\b(?:average|mean)\s+of\s+{_N_LIST}", re.I), "mean"),
    (re.compile(rf"\b(?:increase|raise|grow)\s+{_N}\s+by\s+{_N}\s*%", re.I), "up"),
    (re.compile(rf"\b(?:decrease|reduce|discount|lower|cut)\s+{_N}\s+by\s+{_N}\s*%", re.I), "down"),
    (re.compile(rf"\b{_N}\s*%\s+off\s+(?:of\s+)?{_N}", re.I), "off"),
]  # fmt: skip


def _verbal_arithmetic(text: str) -> str | None:
    for pattern, op in _VERBAL:
        match = pattern.search(text)
        if not match:
            continue
        numbers = re.findall(_N, match.group(0))
        if op in ("+", "*", "/", "-"):
            return f" {op} ".join(numbers)
        if op == "from":
            return f"{numbers[1]} - {numbers[0]}"
        if op == "mean":
            return f"({' + '.join(numbers)}) / {len(numbers)}"
        if op == "up":
            return f"{numbers[0]} + {numbers[1]}% of {numbers[0]}"
        if op == "down":
            return f"{numbers[0]} - {numbers[1]}% of {numbers[0]}"
        return f"{numbers[1]} - {numbers[0]}% of {numbers[1]}"  # "20% off 80"
    return None


def arithmetic_span(text: str, *, lenient: bool = False) -> str | None:
    """Return the arithmetic in a request: "What is 17% of 2,340?" -> "17% of 2,340".

    Arithmetic said in words becomes an expression ("Add 0.1 and 0.2" -> "0.1 + 0.2",
    "I have 250 and spend 35%, how much is that?" -> "35% of 250").

    Args:
        text: The request.
        lenient: Read a bare percentage next to one other amount as "P% of N" even
            when the request asks for no amount (filling a calculator call: "15%"
            alone evaluates to 0.15). Tool choice stays strict: "revenue grew by
            12% to 1,200" is not arithmetic.
    """
    verbal = _verbal_arithmetic(text)
    if verbal:
        return verbal
    best: tuple[int, int] | None = None
    run_start = run_end = -1
    for match in _MATH_TOKEN.finditer(text):
        gap = text[run_end : match.start()] if run_end >= 0 else ""
        if run_end >= 0 and gap.strip() == "":
            run_end = match.end()
        else:
            best = _better_run(text, best, (run_start, run_end))
            run_start, run_end = match.start(), match.end()
    best = _better_run(text, best, (run_start, run_end))
    if best is None:
        return None
    span = text[best[0] : best[1]].strip(" ,=")
    span = re.sub(r"^(?:of|x|e)\s+", "", span, flags=re.IGNORECASE)
    span = re.sub(r"\s+(?:of|x|e)$", "", span, flags=re.IGNORECASE).strip(" ,=")
    span = _balance(span)
    span = re.sub(r"\bpercent\b", "%", span, flags=re.IGNORECASE)
    span = re.sub(r"(\d)\s+%", r"\1%", span)
    span = re.sub(r"\bsquare\s+root\s+of\s+(\d[\d,.]*)", r"sqrt(\1)", span, flags=re.I)
    span = re.sub(r"(\d[\d,.]*)\s+squared\b", r"\1 ** 2", span, flags=re.IGNORECASE)
    span = re.sub(r"(\d[\d,.]*)\s+cubed\b", r"\1 ** 3", span, flags=re.IGNORECASE)
    span = re.sub(r"(?<=\d)\s*\bx\b\s*(?=\d)", " * ", span, flags=re.IGNORECASE)
    span = re.sub(r"(?<=\d)\s*\bover\b\s*(?=\d)", " / ", span, flags=re.IGNORECASE)
    return _percentage_of(span, text, lenient) or None


def _percentage_of(span: str, text: str, lenient: bool) -> str:
    """Give a percentage the amount it is of, and subtract or add it where asked.

    "I have 250 and spend 35%, how much is that?" -> "35% of 250"; "... how much is
    left?" -> "250 - 35% of 250"; "bill of 60, tip 15%, what do I pay in total?" ->
    "60 + 15% of 60". A bare percentage with one other amount (not a year) gets "of"
    when the request asks for an amount, or always when ``lenient``.
    """
    if len(text.split()) > 30:
        return span
    of = re.fullmatch(r"(\d+(?:\.\d+)?)% of \$?(\d[\d,]*(?:\.\d+)?)", span)
    percent = re.fullmatch(r"(\d+(?:\.\d+)?)%", span)
    if percent:
        others = [
            m.group(1)
            for m in re.finditer(_N, text)
            if m.group(1) != percent.group(1)
            and not text[m.end() :].lstrip().startswith("%")
            and not (_YEAR.fullmatch(m.group(1)) and not m.group(0).startswith("$"))
        ]
        if len(others) != 1 or not (lenient or _ASKS_AMOUNT.search(text)):
            return span
        span = f"{span} of {others[0]}"
        of = re.fullmatch(r"(\d+(?:\.\d+)?)% of (\S+)", span)
    if of:
        base = of.group(2)
        if _ASKS_REST.search(text) and _TAKES_AWAY.search(text):
            return f"{base} - {span}"
        if _ASKS_TOTAL.search(text) and _ADDS.search(text):
            return f"{base} + {span}"
    return span


def _balance(span: str) -> str:
    while span.count("(") > span.count(")") and span.startswith("("):
        span = span[1:].strip()
    while span.count(")") > span.count("(") and span.endswith(")"):
        span = span[:-1].strip()
    return span


def _better_run(
    text: str, best: tuple[int, int] | None, run: tuple[int, int]
) -> tuple[int, int] | None:
    if run[0] < 0:
        return best
    piece = text[run[0] : run[1]]
    if not re.search(r"\d|\bpi\b", piece):
        return best
    score = (bool(_OPERATOR.search(piece)), len(piece))
    if best is None:
        return run
    old = text[best[0] : best[1]]
    return run if score > (bool(_OPERATOR.search(old)), len(old)) else best


def has_arithmetic(text: str) -> bool:
    """Return True when the request asks for arithmetic, not just mentions a figure.

    Two numbers and an operator ("3 + 4", "17% of 2,340"), a function ("sqrt(2)",
    "9 squared") or arithmetic in words count; "revenue grew by 12 percent" does not.
    """
    if _verbal_arithmetic(text):
        return True
    span = arithmetic_span(text)
    if span is None or not _OPERATOR.search(span):
        return False
    numbers = re.findall(r"\d+(?:[.,]\d+)*", span)
    return len(numbers) >= 2 or bool(_FUNCTION.search(span))


@dataclass(frozen=True)
class Places:
    """Place names in a request, by the preposition before them."""

    origin: str | None
    destination: str | None
    general: list[str]


def _clean_place(place: str) -> str | None:
    place = place.strip(" .,'’")
    first = place.split()[0].lower().strip(",") if place else ""
    if not place or first in NON_PLACES:
        return None
    # Drop a trailing month or weekday swallowed by the capitalised run ("Paris Monday").
    parts = place.split()
    while parts and (
        parts[-1].lower().strip(",") in NON_PLACES or parts[-1].lower() in _CONNECTORS
    ):
        parts.pop()
    return " ".join(parts) or None


def find_places(text: str) -> Places:
    """Find the places in a request: "from X" is the origin, "to X" the destination."""
    origin = destination = None
    general: list[str] = []
    for match in _PLACE_AFTER.finditer(text):
        place = _clean_place(match["place"])
        if place is None:
            continue
        prep = match["prep"].lower()
        if prep in ("from", "leaving", "out of") and origin is None:
            origin = place
        elif prep in ("to", "into", "towards", "visiting", "visit") and destination is None:
            destination = place
        elif prep == "between" and origin is None:
            origin = place
        elif (
            prep == "and"
            and origin is not None
            and destination is None
            and re.search(r"\bbetween\b", text, re.IGNORECASE)
        ):
            destination = place
        if prep != "and" and place not in general:
            general.append(place)
    return Places(origin, destination, general)


def fallback_place(text: str) -> str | None:
    for match in _CAPITALISED.finditer(text):
        place = _clean_place(match["place"])
        if place:
            return place
    return None


def explanations(description: str, options: list[Any]) -> dict[Any, str]:
    """Find "option: explanation" segments for each option in a field description."""
    out: dict[Any, str] = {}
    for option in options:
        label = re.escape(str(option))
        match = re.search(
            rf"(?:^|[\s\n;,(•*-])['\"`]?{label}['\"`]?\s*(?:[:=]|–|—|->|-\s)\s*(?P<x>[^\n;]+)",
            description,
            re.IGNORECASE,
        )
        if match:
            explanation = re.split(r"\s*[,|]\s*['\"`]?\w+['\"`]?\s*[:=]", match["x"])[0]
            out[option] = explanation.strip(" .")
    return out


def split_list(text: str) -> list[str]:
    """Items of a comma list ("Python, Rust and Go"), trimmed to the listed phrases."""
    match = re.search(
        r"(?P<items>[^,;:.?!]+(?:,\s*[^,;:.?!]+)+(?:,?\s+(?:and|or)\s+[^,;:.?!]+)|"
        r"[^,;:.?!]+\s+(?:and|or)\s+[^,;:.?!]+)",
        text,
    )
    if not match:
        return []
    parts = re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", match["items"])
    parts = [p.strip(" .?!") for p in parts if p.strip(" .?!")]
    if len(parts) < 2:
        return []
    width = max(len(p.split()) for p in parts[1:])
    first = parts[0].split()
    parts[0] = " ".join(first[-width:])
    return parts


def people(text: str) -> list[str]:
    """Capitalised names that are not places, dates or sentence-opening verbs."""
    places = find_places(text)
    taken = {p for p in [places.origin, places.destination, *places.general] if p}
    names: list[str] = []
    for match in re.finditer(r"(?<![\w'’])[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)*", text):
        parts = match.group(0).split()
        while parts and parts[0].lower() in NON_PLACES:
            parts.pop(0)
        while parts and parts[-1].lower() in NON_PLACES:
            parts.pop()
        name = " ".join(parts)
        if name and name not in taken and not any(name in place for place in taken):
            names.append(name)
    return list(dict.fromkeys(names))
