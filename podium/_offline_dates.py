"""Dates in requests, relative to a given day: "tomorrow", "next week", "March 3".

Each mention becomes a :class:`DateMention` with a start and an end day (equal
for a single day; a week or a month for "next week", "next month"). Explicit
dates are parsed with ``dateutil``; relative phrases use ``relativedelta``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta

__all__ = ["DateMention", "find_dates", "find_time"]

_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = (
    r"mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|"
    r"sat(?:urday)?|sun(?:day)?"
)
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fourteen": 14, "twenty": 20, "thirty": 30, "couple of": 2, "few": 3,
}  # fmt: skip
_COUNT = "|".join([r"\d+", r"couple\s+of", *(w for w in _NUMBER_WORDS if " " not in w)])
_DAY = r"(?P<{name}>\d{{1,2}})(?:st|nd|rd|th)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ][\d:]+)?\b")),
    ("slash", re.compile(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{2,4})\b")),
    (
        "month_range",
        re.compile(
            rf"\b(?P<mon>{_MONTHS})\.?\s+{_DAY.format(name='d1')}\s*(?:-|–|to|until|through|till)\s*"
            rf"{_DAY.format(name='d2')}\b(?:,?\s*(?P<y>\d{{4}}))?",
            re.IGNORECASE,
        ),
    ),
    (
        "month_day",
        re.compile(
            rf"\b(?P<mon>{_MONTHS})\.?\s+{_DAY.format(name='d')}\b(?:,?\s*(?P<y>\d{{4}}))?",
            re.IGNORECASE,
        ),
    ),
    (
        "day_month",
        re.compile(
            rf"\b{_DAY.format(name='d')}\s+(?:of\s+)?(?P<mon>{_MONTHS})\b\.?(?:,?\s*(?P<y>\d{{4}}))?",
            re.IGNORECASE,
        ),
    ),
    ("day_after_tomorrow", re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b", re.IGNORECASE)),
    ("today", re.compile(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", re.I)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.IGNORECASE)),
    ("yesterday", re.compile(r"\byesterday\b", re.IGNORECASE)),
    (
        "in_n",
        re.compile(
            rf"\b(?:in\s+(?P<n>{_COUNT})\s+(?P<unit>day|week|month)s?|"
            rf"(?P<n2>{_COUNT})\s+(?P<unit2>day|week|month)s?\s+from\s+(?:now|today))\b",
            re.IGNORECASE,
        ),
    ),
    ("weekend", re.compile(r"\b(?P<which>this|next)\s+weekend\b", re.IGNORECASE)),
    ("week", re.compile(r"\b(?P<which>this|next|last)\s+week\b", re.IGNORECASE)),
    ("month", re.compile(r"\b(?P<which>this|next|last)\s+month\b", re.IGNORECASE)),
    (
        "weekday",
        re.compile(
            rf"\b(?:(?P<which>next|this|coming|on|last)\s+)?(?P<wd>{_WEEKDAY})\b(?!\s*\d)",
            re.IGNORECASE,
        ),
    ),
]
_TIME = re.compile(
    r"\b(?:at\s+)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?!\w)|"
    r"\b(?:at\s+)(?P<h2>\d{1,2}):(?P<m2>\d{2})\b|\b(?P<noon>noon|midday|midnight)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateMention:
    """A date phrase found in text: the days it covers and where it was."""

    start: date
    end: date
    span: tuple[int, int]
    text: str
    yearless: bool = False  # an explicit day without a year ("March 3")


def _count(word: str) -> int:
    word = re.sub(r"\s+", " ", word.lower())
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 1)


def _weekday_index(word: str) -> int:
    word = word.lower()[:3]
    return [d[:3] for d in _WEEKDAYS].index(word)


def _explicit(text: str, today: date, *, future: bool = True) -> date | None:
    """Parse an explicit date; without a year, the next such day from ``today``."""
    has_year = re.search(r"\d{4}", text) is not None
    try:
        parsed = date_parser.parse(text, default=_at_midnight(today), fuzzy=True).date()
    except (ValueError, OverflowError):
        return None
    if not has_year and future and parsed < today:
        parsed = parsed + relativedelta(years=1)
    return parsed


def _at_midnight(day: date):
    from datetime import datetime

    return datetime(day.year, day.month, day.day)  # noqa: DTZ001 - a calendar day, no zone


def _resolve(kind: str, match: re.Match[str], today: date) -> tuple[date, date] | None:
    g = match.groupdict()
    if kind == "iso":
        try:
            d = date(int(g["y"]), int(g["m"]), int(g["d"]))
        except ValueError:
            return None
        return d, d
    if kind == "slash":
        d = _explicit(match.group(0), today, future=False)
        return (d, d) if d else None
    if kind == "month_range":
        year = f" {g['y']}" if g.get("y") else ""
        first = _explicit(f"{g['mon']} {g['d1']}{year}", today)
        last = _explicit(f"{g['mon']} {g['d2']}{year}", today)
        if first is None or last is None:
            return None
        if last < first:
            last = last + relativedelta(years=1)
        return first, last
    if kind in ("month_day", "day_month"):
        year = f" {g['y']}" if g.get("y") else ""
        d = _explicit(f"{g['mon']} {g['d']}{year}", today)
        return (d, d) if d else None
    if kind == "today":
        return today, today
    if kind == "tomorrow":
        d = today + timedelta(days=1)
        return d, d
    if kind == "day_after_tomorrow":
        d = today + timedelta(days=2)
        return d, d
    if kind == "yesterday":
        d = today - timedelta(days=1)
        return d, d
    if kind == "in_n":
        n = _count(g.get("n") or g.get("n2") or "1")
        unit = (g.get("unit") or g.get("unit2") or "day").lower()
        delta = {"day": relativedelta(days=n), "week": relativedelta(weeks=n)}.get(
            unit, relativedelta(months=n)
        )
        d = today + delta
        return d, d
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        shift = {"this": 0, "next": 7, "last": -7}[g["which"].lower()]
        start = monday + timedelta(days=shift)
        if shift == 0:
            start = today
        return start, monday + timedelta(days=shift + 6)
    if kind == "weekend":
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if g["which"].lower() == "next":
            saturday += timedelta(days=7)
        return saturday, saturday + timedelta(days=1)
    if kind == "month":
        first = today.replace(day=1)
        shift = {"this": 0, "next": 1, "last": -1}[g["which"].lower()]
        start = first + relativedelta(months=shift)
        end = start + relativedelta(months=1) - timedelta(days=1)
        return (today if shift == 0 else start), end
    if kind == "weekday":
        target = _weekday_index(g["wd"])
        which = (g.get("which") or "").lower()
        if which == "last":
            back = (today.weekday() - target) % 7 or 7
            d = today - timedelta(days=back)
        else:
            # "Friday", "on Friday", "this Friday", "next Friday": the first such day
            # after today. (Some people mean the one a week later by "next"; a fixed,
            # documented reading beats a guess.)
            ahead = (target - today.weekday()) % 7 or 7
            d = today + timedelta(days=ahead)
        return d, d
    return None


def find_dates(text: str, today: date) -> list[DateMention]:
    """Return the date mentions in ``text``, in order of appearance.

    Args:
        text: The request.
        today: The day relative phrases are counted from.

    Returns:
        Non-overlapping mentions; earlier patterns in the table win overlaps.
    """
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < b and a < span[1] for a, b in taken):
                continue
            if (
                kind == "weekday"
                and not match.group("which")
                and match.group("wd").lower()
                in (
                    "sat",
                    "sun",
                    "mon",
                    "wed",
                )
            ):
                continue  # "sat", "sun", "mon", "wed" alone are usually other words
            resolved = _resolve(kind, match, today)
            if resolved is None:
                continue
            taken.append(span)
            yearless = kind in ("month_range", "month_day", "day_month") and not match["y"]
            found.append(DateMention(resolved[0], resolved[1], span, match.group(0), yearless))
    found.sort(key=lambda m: m.span[0])
    # "from March 3 to March 7" once March 3 has passed: both next year, not a range
    # running backwards.
    for i in range(1, len(found)):
        previous, current = found[i - 1], found[i]
        if current.yearless and previous.yearless and current.start < previous.start:
            shift = relativedelta(years=1)
            found[i] = DateMention(
                current.start + shift, current.end + shift, current.span, current.text, True
            )
    return found


def find_time(text: str) -> str | None:
    """Return the first clock time in ``text`` as ``HH:MM:SS`` ("3pm" -> "15:00:00")."""
    match = _TIME.search(text)
    if match is None:
        return None
    g = match.groupdict()
    if g.get("noon"):
        return "00:00:00" if g["noon"].lower() == "midnight" else "12:00:00"
    if g.get("h2"):
        hour, minute = int(g["h2"]), int(g["m2"])
    else:
        hour, minute = int(g["h"]), int(g["m"] or 0)
        pm = g["ampm"].lower().startswith("p")
        if pm and hour < 12:
            hour += 12
        if not pm and hour == 12:
            hour = 0
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}:00"
