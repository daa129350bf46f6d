"""Fill a JSON schema from a request: the offline model's argument extraction.

One function, :func:`fill_schema`, serves tool arguments and structured output.
Each field is filled by what its type, name and description suggest: numbers,
arithmetic spans, quoted strings, ISO dates (relative ones too), place names,
enum options by embedding similarity, booleans from yes/no and negation cues,
lists, nested objects, and free text (the request minus its filler words).
Required fields are always present; optional fields only when something in the
request fills them.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from podium._offline_dates import DateMention, find_dates, find_time
from podium._offline_embed import get_cache
from podium._offline_extract import (
    EMAIL,
    NUMBER,
    NUMBER_WORD,
    NUMBER_WORDS,
    PHONE,
    QUOTED,
    URL,
    arithmetic_span,
    explanations,
    fallback_place,
    find_places,
    people,
    split_list,
)
from podium._offline_text import split_clauses, strip_filler
from podium.errors import ConfigError

__all__ = ["FillReport", "fill_schema", "fill_schema_report", "normalize_schema"]

_MISSING = object()
# Confidence of an enum choice: softmax of option similarities; grows with the margin.
_SOFTMAX_TEMPERATURE = 0.1

# Field-name vocabularies (tokens of snake_case / camelCase names).
_DATE_TOKENS = {
    "date", "day", "dates", "when", "deadline", "due", "checkin", "checkout", "birthday",
    "datetime", "timestamp",
}  # fmt: skip
_START_TOKENS = {"start", "from", "begin", "begins", "depart", "departure", "checkin", "since",
                 "first", "outbound", "earliest", "after"}  # fmt: skip
_END_TOKENS = {"end", "to", "until", "till", "return", "returning", "checkout", "last",
               "finish", "latest", "before", "inbound"}  # fmt: skip
_ORIGIN_TOKENS = {"origin", "from", "source", "departure", "depart", "leaving", "start"}
_DEST_TOKENS = {"destination", "dest", "to", "arrival", "arrive", "going"}
_PLACE_TOKENS = _ORIGIN_TOKENS | _DEST_TOKENS | {
    "city", "location", "place", "country", "town", "region", "address", "where", "airport",
    "venue", "area", "locality", "state",
}  # fmt: skip
_EXPRESSION_TOKENS = {"expression", "formula", "equation", "calculation", "expr", "math",
                      "arithmetic", "calc"}  # fmt: skip
_PERSON_TOKENS = set(
    "name customer person username who attendee contact recipient author fullname first "
    "surname guest owner".split()
)
_PEOPLE_TOKENS = set(
    "attendees participants people guests invitees names members recipients contacts persons "
    "users authors".split()
)
_TITLE_TOKENS = {"title", "subject", "label", "summary", "headline", "event"}
_NAME_TOKENS = _PERSON_TOKENS | _TITLE_TOKENS
_PLACES_TOKENS = {"cities", "destinations", "locations", "places", "countries", "stops"}
_STEP_TOKENS = {"steps", "tasks", "subtasks", "questions", "queries", "parts", "plan"}
_CONFIDENCE_TOKENS = {"confidence", "score", "probability", "certainty", "likelihood", "prob"}
_COUNT_TOKENS = {"limit", "k", "top", "count", "n", "num", "max", "results", "size", "number"}
# Fields that hold what was computed or found: after tool results they take the
# results' numbers before the request's ("value" is 397.8, not the 17 in "17% of ...").
_RESULT_TOKENS = {"value", "result", "answer", "total", "sum", "product", "output", "amount",
                  "outcome", "solution", "computed", "final", "quotient", "difference", "res",
                  "val", "ans"}  # fmt: skip
_RESULT_DESCRIPTION = re.compile(r"\b(?:result|answer|computed|calculated|outcome)\b", re.I)
_NEGATION = re.compile(
    r"\b(?:no|not|don't|dont|do\s+not|never|without|exclude|excluding|skip|none|nor|isn't|"
    r"aren't|won't|false)\b",
    re.IGNORECASE,
)


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [t for t in re.split(r"[\s_\-.]+", spaced.lower()) if t]


def _humanize(name: str) -> str:
    return " ".join(_tokens(name))


@dataclass
class _Number:
    value: float
    span: tuple[int, int]
    is_int: bool


@dataclass
class _State:
    """What one request offers, and what earlier fields have already taken."""

    text: str
    today: date
    dates: list[DateMention]
    numbers: list[_Number]
    quotes: list[str]
    used_numbers: set[int] = field(default_factory=set)
    used_quotes: set[int] = field(default_factory=set)
    confidence: float | None = None
    missing: list[str] = field(default_factory=list)  # required fields nothing filled
    free: set[str] = field(default_factory=set)  # fields filled with the request's wording
    entities: set[str] = field(default_factory=set)  # fields filled with a value found in it
    parent: _State | None = None
    results: _State | None = None  # what tools returned, when the request was answered

    @property
    def sources(self) -> list[_State]:
        """This text, then the wider request, then the tool results."""
        return [s for s in (self, self.parent, self.root_results) if s is not None]

    @property
    def root_results(self) -> _State | None:
        return self.results or (self.parent.root_results if self.parent else None)

    @classmethod
    def build(cls, text: str, today: date, parent: _State | None = None) -> _State:
        dates = find_dates(text, today)
        taken = [m.span for m in dates]
        numbers: list[_Number] = []
        for match in NUMBER.finditer(text):
            span = match.span("num")
            if any(a <= span[0] < b for a, b in taken):
                continue
            if _is_time_number(text, match):
                continue
            raw = match["num"].replace(",", "")
            value = float(raw) * (-1 if match["neg"] else 1)
            numbers.append(_Number(value, match.span(), "." not in raw))
        if not numbers:
            for match in NUMBER_WORD.finditer(text):
                numbers.append(_Number(float(NUMBER_WORDS[match[1].lower()]), match.span(), True))
        quotes = [next(g for g in m.groups() if g) for m in QUOTED.finditer(text)]
        return cls(text, today, dates, numbers, quotes, parent=parent)


def _is_time_number(text: str, match: re.Match[str]) -> bool:
    after = text[match.end() : match.end() + 5].lower()
    return bool(re.match(r"\s*(?:am|pm|a\.m|p\.m|:\d)", after))


# --------------------------------------------------------------------------- schema


def normalize_schema(schema: Any) -> dict[str, Any]:
    """Return the JSON schema inside an OpenAI tool, function or response-format dict.

    Pydantic classes and TypedDicts are converted with LangChain's
    ``convert_to_json_schema``.
    """
    if not isinstance(schema, dict):
        from langchain_core.utils.function_calling import convert_to_json_schema

        try:
            return convert_to_json_schema(schema)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"cannot read a JSON schema from {schema!r}; accepted: a JSON-schema dict, an "
                "OpenAI tool or response_format dict, a pydantic class or a TypedDict"
            ) from exc
    if schema.get("type") == "function" and isinstance(schema.get("function"), dict):
        return schema["function"].get("parameters") or {"type": "object", "properties": {}}
    if schema.get("type") == "json_schema" and isinstance(schema.get("json_schema"), dict):
        return schema["json_schema"].get("schema") or {}
    if "parameters" in schema and "name" in schema and "properties" not in schema:
        return schema["parameters"] or {"type": "object", "properties": {}}
    if "schema" in schema and "name" in schema and "properties" not in schema:
        return schema["schema"] or {}
    return schema


def _resolve(spec: Any, root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(spec, dict) and "$ref" in spec and seen < 20:
        ref = spec["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        extra = {k: v for k, v in spec.items() if k != "$ref"}
        spec = {**target, **extra}
        seen += 1
    if isinstance(spec, dict) and isinstance(spec.get("allOf"), list) and len(spec["allOf"]) == 1:
        inner = _resolve(spec["allOf"][0], root)
        spec = {**inner, **{k: v for k, v in spec.items() if k != "allOf"}}
    return spec if isinstance(spec, dict) else {}


def _options(spec: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of an anyOf/oneOf (or a type list), without null."""
    alternatives = spec.get("anyOf") or spec.get("oneOf")
    if isinstance(alternatives, list):
        out = []
        for alt in alternatives:
            resolved = _resolve(alt, root)
            if resolved.get("type") != "null":
                merged = {**{k: v for k, v in spec.items() if k not in ("anyOf", "oneOf")}}
                merged.update(resolved)
                out.append(merged)
        return out
    if isinstance(spec.get("type"), list):
        return [{**spec, "type": t} for t in spec["type"] if t != "null"]
    return [spec]


def _type_of(spec: dict[str, Any]) -> str:
    if "enum" in spec or "const" in spec:
        return "enum"
    t = spec.get("type")
    if isinstance(t, str):
        return t
    if "properties" in spec:
        return "object"
    if "items" in spec:
        return "array"
    return "string"


# --------------------------------------------------------------------------- extractors


_POSITIVE = {"yes", "true", "relevant", "grounded", "supported", "pass", "useful", "correct",
             "accept", "approve", "approved", "good"}  # fmt: skip
_NEGATIVE = {"no", "false", "irrelevant", "not_relevant", "not relevant", "ungrounded",
             "not_grounded", "unsupported", "fail", "not_useful", "incorrect", "revise",
             "reject", "rejected", "bad"}  # fmt: skip
_JUDGED = re.compile(r"relevan|grounded|supported|useful|answers|addresses|correct", re.I)
_SECTION = re.compile(r"^[ \t]*(?P<label>[A-Za-z][A-Za-z ]{0,30}):[ \t]*", re.MULTILINE)
_RELATED = 0.3  # similarity above which two sections count as related


def _sections(text: str) -> dict[str, str]:
    """Labelled parts of a grading prompt: question, document(s), answer."""
    found: dict[str, str] = {}
    matches = list(_SECTION.finditer(text))
    for i, match in enumerate(matches):
        label = match["label"].lower()
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        for kind, words_ in (
            ("question", ("question", "query")),
            ("document", ("document", "context", "passage", "fact", "source", "retrieved")),
            ("answer", ("answer", "draft", "generation", "response")),
        ):
            if body and kind not in found and any(w in label for w in words_):
                found[kind] = body
    return found


def _judged_similarity(text: str) -> float | None:
    """How related a grading prompt's labelled parts are, or None without such parts.

    Answer to documents (grounding), question to documents (relevance), or question
    to answer (does it address it), whichever pair the text has first.
    """
    parts = _sections(text)
    pairs = (("answer", "document"), ("question", "document"), ("question", "answer"))
    for first, second in pairs:
        if first in parts and second in parts:
            return float(get_cache().similarities([parts[first]], [parts[second]])[0, 0])
    return None


def _binary_verdict(options: list[Any], text: str) -> tuple[Any, float] | None:
    """For a yes/no choice over a grading prompt, answer by how related its parts are."""
    if len(options) != 2:
        return None
    positive = [o for o in options if str(o).lower() in _POSITIVE]
    negative = [o for o in options if str(o).lower() in _NEGATIVE]
    if len(positive) != 1 or len(negative) != 1:
        return None
    similarity = _judged_similarity(text)
    if similarity is None:
        return None
    confidence = round(0.5 + min(0.5, abs(similarity - _RELATED)), 4)
    return (positive[0] if similarity >= _RELATED else negative[0]), confidence


def _choose_enum(name: str, spec: dict[str, Any], state: _State) -> tuple[Any, float]:
    """Choose the option most similar to the request; return it and its confidence."""
    options = list(spec.get("enum") or [spec.get("const")])
    if len(options) == 1:
        return options[0], 1.0
    verdict = _binary_verdict(options, state.text)
    if verdict is not None:
        return verdict
    glosses = explanations(spec.get("description", ""), options)
    texts = []
    for option in options:
        label = _humanize(str(option))
        extra = glosses.get(option)
        texts.append(f"{label}: {extra}" if extra else label)
    sims = get_cache().similarities([state.text], texts)[0].astype(float)
    lowered = state.text.lower()
    for i, option in enumerate(options):
        label = str(option).lower()
        human = _humanize(str(option))
        if re.search(rf"\b{re.escape(label)}\b", lowered) or (
            human != label and re.search(rf"\b{re.escape(human)}\b", lowered)
        ):
            sims[i] += 0.3
    sims = np.round(sims, 5)
    best = int(np.argmax(sims))
    weights = np.exp((sims - sims.max()) / _SOFTMAX_TEMPERATURE)
    confidence = float(weights[best] / weights.sum())
    return options[best], round(confidence, 4)


def _negated_near(text: str, position: int) -> bool:
    window = text[max(0, position - 25) : position]
    return bool(_NEGATION.search(window))


def _field_mention(text: str, tokens: list[str]) -> int | None:
    lowered = text.lower()
    for token in tokens:
        if len(token) < 3 or token in ("include", "is", "has", "use", "with"):
            continue
        stem = token[:-1] if token.endswith("s") and len(token) > 4 else token
        match = re.search(rf"\b{re.escape(stem)}", lowered)
        if match:
            return match.start()
    return None


# --------------------------------------------------------------------------- filling


def _date_value(tokens: list[str], spec: dict[str, Any], state: _State, required: bool) -> Any:
    mentions = state.dates or (state.parent.dates if state.parent else [])
    if not mentions:
        return _MISSING
    token_set = set(tokens)
    is_end = bool(token_set & _END_TOKENS) and not token_set & {"start", "from", "depart"}
    if is_end:
        if len(mentions) >= 2:
            day = mentions[1].end
        elif mentions[0].end != mentions[0].start or required:
            day = mentions[0].end
        else:
            return _MISSING
    else:
        day = mentions[0].start
    wants_time = spec.get("format") == "date-time" or bool(
        token_set & {"datetime", "timestamp", "time", "at"}
    )
    if wants_time:
        clock = find_time(state.text) or ("23:59:00" if is_end else "09:00:00")
        return f"{day.isoformat()}T{clock}"
    return day.isoformat()


def _place_value(tokens: list[str], state: _State) -> Any:
    token_set = set(tokens)
    wants_origin = bool(token_set & _ORIGIN_TOKENS) and not token_set & _DEST_TOKENS
    wants_destination = bool(token_set & _DEST_TOKENS) and not wants_origin
    for source in (state, state.parent):
        if source is None:
            continue
        places = find_places(source.text)
        if wants_origin:
            if places.origin:
                return places.origin
            continue
        if wants_destination:
            if places.destination:
                return places.destination
            others = [p for p in places.general if p != places.origin]
            if others:
                return others[0]
            continue
        candidates = ([places.destination] if places.destination else []) + places.general
        if candidates:
            return candidates[0]
    return _MISSING


def _take_quote(state: _State) -> Any:
    for i, quote in enumerate(state.quotes):
        if i not in state.used_quotes:
            state.used_quotes.add(i)
            return quote
    return _MISSING


def _name_value(tokens: list[str], state: _State) -> Any:
    quote = _take_quote(state)
    if quote is not _MISSING:
        return quote
    match = re.search(
        r"\b(?:named|called|titled|entitled|name\s+is|title\s+is)\s+(?P<v>[\w'’-]+(?:\s+[A-Z][\w'’-]*)*)",
        state.text,
    )
    if match:
        return match["v"]
    if set(tokens) & _PERSON_TOKENS and not set(tokens) & _TITLE_TOKENS:
        names = people(state.text)
        if names:
            return names[0]
    return _MISSING


def _free_text(tokens: list[str], state: _State) -> str:
    text = state.text
    if set(tokens) & (_NAME_TOKENS - {"who"}):
        # A title reads better without the when: "meeting with Bob", not "... tomorrow".
        for mention in reversed(state.dates):
            text = text[: mention.span[0]] + text[mention.span[1] :]
        text = re.sub(r"\s+(?:at|on|for)\s*(?=[\s,.?!]|$)", " ", text)
        text = re.sub(r"\b(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:am|pm)\b", "", text, flags=re.I)
        text = re.sub(r"^\s*(?:schedule|book|create|add|set\s+up|make|plan|organi[sz]e|"
                      r"remind\s+me\s+(?:to|about)|put)\s+",
                      "", text, flags=re.I)  # fmt: skip
    cleaned = strip_filler(re.sub(r"\s{2,}", " ", text))
    return cleaned


def _number_value(name: str, tokens: list[str], spec: dict[str, Any], state: _State) -> Any:
    integer = spec.get("type") == "integer"

    def fits(value: float) -> bool:
        if "minimum" in spec and value < spec["minimum"]:
            return False
        if "exclusiveMinimum" in spec and value <= spec["exclusiveMinimum"]:
            return False
        if "maximum" in spec and value > spec["maximum"]:
            return False
        if "exclusiveMaximum" in spec and value >= spec["exclusiveMaximum"]:
            return False
        return not integer or float(value).is_integer()

    sources = state.sources
    results = state.root_results
    description = str(spec.get("description", ""))
    if results is not None and (
        set(tokens) & _RESULT_TOKENS or _RESULT_DESCRIPTION.search(description)
    ):
        sources = [results, *(s for s in sources if s is not results)]
    for source in sources:
        free = [i for i in range(len(source.numbers)) if i not in source.used_numbers]
        # A number next to the field's name ("3 adults", "top 5", "age 30") wins.
        lowered = source.text.lower()
        for i in free:
            number = source.numbers[i]
            around = lowered[max(0, number.span[0] - 20) : number.span[1] + 20]
            if any(len(t) > 1 and re.search(rf"\b{re.escape(t)}", around) for t in tokens):
                if fits(number.value):
                    source.used_numbers.add(i)
                    return _as_number(number.value, integer)
        for i in free:
            if fits(source.numbers[i].value):
                source.used_numbers.add(i)
                return _as_number(source.numbers[i].value, integer)
    return _MISSING


def _as_number(value: float, integer: bool) -> int | float:
    if integer or float(value).is_integer():
        return int(round(value))
    return value


def _fallback(name: str, spec: dict[str, Any], root: dict[str, Any], state: _State) -> Any:
    """A valid value for a required field the request says nothing about."""
    if "default" in spec:
        return copy.deepcopy(spec["default"])
    kind = _type_of(spec)
    tokens = _tokens(name)
    if kind == "enum":
        return _choose_enum(name, spec, state)[0]
    if kind in ("integer", "number"):
        value: float = 1 if set(tokens) & _COUNT_TOKENS else 0
        if "minimum" in spec:
            value = max(value, spec["minimum"])
        if "exclusiveMinimum" in spec:
            value = max(value, math.floor(spec["exclusiveMinimum"]) + 1)
        if "maximum" in spec:
            value = min(value, spec["maximum"])
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return _fill_object(spec, root, state)
    if kind == "null":
        return None
    return _free_text(tokens, state) or state.text.strip() or name


def _fill_value(
    name: str, spec: dict[str, Any], root: dict[str, Any], state: _State, required: bool
) -> Any:
    spec = _resolve(spec, root)
    options = _options(spec, root)
    if len(options) > 1:
        for option in options:
            value = _fill_value(name, option, root, state, required=False)
            if value is not _MISSING:
                return value
        return _fallback(name, options[0], root, state) if required else _MISSING
    spec = options[0] if options else spec
    kind = _type_of(spec)
    tokens = _tokens(name)
    token_set = set(tokens)
    description = str(spec.get("description", "")).lower()

    if kind == "enum":
        if "const" in spec:
            return spec["const"]
        if not required:
            # An optional choice keeps its default unless the request names an option.
            return _mentioned_option(spec.get("enum") or [], state.text)
        value, confidence = _choose_enum(name, spec, state)
        if state.confidence is None:
            state.confidence = confidence
        return value
    if kind in ("integer", "number"):
        return _number_value(name, tokens, spec, state)
    if kind == "boolean":
        if _JUDGED.search(f"{name} {description}"):
            similarity = _judged_similarity(state.text)
            if similarity is not None:
                return similarity >= _RELATED
        position = _field_mention(state.text, tokens)
        if position is not None:
            return not _negated_near(state.text, position + 1)
        if re.search(r"\b(?:no|nope|false)\b", state.text, re.IGNORECASE):
            return False
        if re.search(r"^\s*(?:yes|yeah|yep|sure|true)\b", state.text, re.IGNORECASE):
            return True
        return _MISSING
    if kind == "array":
        return _array_value(name, spec, root, state, required)
    if kind == "object":
        if not spec.get("properties"):
            return _MISSING
        return _fill_object(spec, root, state)
    if kind == "null":
        return _MISSING
    return _string_value(name, tokens, token_set, description, spec, state, required)


def _string_value(
    name: str,
    tokens: list[str],
    token_set: set[str],
    description: str,
    spec: dict[str, Any],
    state: _State,
    required: bool,
) -> Any:
    fmt = spec.get("format", "")
    if (
        fmt in ("date", "date-time")
        or token_set & _DATE_TOKENS
        or "date" in name.lower()
        or (
            token_set & (_START_TOKENS | _END_TOKENS)
            and not token_set & _PLACE_TOKENS - {"from", "to", "start"}
            and ("date" in description or "yyyy" in description or "day" in description)
        )
    ):
        return _date_value(tokens, spec, state, required)
    if token_set == {"time"} or fmt == "time":
        return find_time(state.text) or _MISSING
    if fmt == "email" or "email" in token_set or re.search(r"\be-?mail\b", description):
        match = EMAIL.search(state.text)
        return match.group(0) if match else _MISSING
    if (
        fmt in ("uri", "url")
        or token_set & {"url", "link", "website", "uri", "href"}
        or (re.search(r"\b(?:url|link|web\s*address)\b", description))
    ):
        match = URL.search(state.text)
        return match.group(0) if match else _MISSING
    if token_set & {"phone", "telephone", "mobile"} or "phone number" in description:
        match = PHONE.search(state.text)
        return match.group(0).strip() if match else _MISSING
    if token_set & _EXPRESSION_TOKENS or "arithmetic" in description:
        return arithmetic_span(state.text, lenient=True) or _MISSING
    if token_set & _PLACE_TOKENS:
        value = _place_value(tokens, state)
        if value is _MISSING and required and token_set & {"location", "city", "place", "where"}:
            value = fallback_place(state.text) or _MISSING
        if value is _MISSING and required:
            # Say so rather than pass the whole request off as a place name.
            state.missing.append(name)
            value = str(spec["default"]) if "default" in spec else "unknown"
        return value
    if token_set & _NAME_TOKENS:
        value = _name_value(tokens, state)
        if value is not _MISSING:
            return value
    if token_set & {"time", "hour"} and find_time(state.text):
        return find_time(state.text)
    quote = _take_quote(state)
    if quote is not _MISSING:
        return quote
    if required or token_set & {
        "query", "question", "text", "topic", "prompt", "input", "message", "content",
        "request", "q", "search", "keywords", "terms", "task", "goal", "instruction",
        "instructions", "subject", "title", "description", "summary", "body", "note", "notes",
    }:  # fmt: skip
        state.free.add(name)
        return _free_text(tokens, state) or _MISSING
    return _MISSING


def _mentioned_option(options: list[Any], text: str) -> Any:
    lowered = text.lower()
    for option in options:
        label = str(option).lower()
        human = _humanize(str(option))
        if re.search(rf"\b{re.escape(label)}\b", lowered) or re.search(
            rf"\b{re.escape(human)}\b", lowered
        ):
            return option
    return _MISSING


def _array_value(
    name: str, spec: dict[str, Any], root: dict[str, Any], state: _State, required: bool
) -> Any:
    items = _resolve(spec.get("items", {}), root)
    item_options = _options(items, root)
    items = item_options[0] if item_options else items
    kind = _type_of(items)
    tokens = _tokens(name)
    token_set = set(tokens)
    values: list[Any]
    if kind == "enum":
        options = items.get("enum") or [items.get("const")]
        lowered = state.text.lower()
        values = [
            o
            for o in options
            if re.search(rf"\b{re.escape(_humanize(str(o)))}\b", lowered)
            or re.search(rf"\b{re.escape(str(o).lower())}\b", lowered)
        ]
        if not values and required:
            choice, confidence = _choose_enum(name, items, state)
            if state.confidence is None:
                state.confidence = confidence
            values = [choice]
    elif kind in ("integer", "number"):
        values = [_as_number(n.value, kind == "integer") for n in state.numbers]
    elif kind == "object" and required:
        clauses = split_clauses(state.text)
        values = [
            _fill_object(items, root, _State.build(clause, state.today, parent=state))
            for clause in clauses
        ]
    elif kind == "string" and (
        items.get("format") in ("date", "date-time") or token_set & (_DATE_TOKENS | {"days"})
    ):
        values = [m.start.isoformat() for m in state.dates]
    elif kind == "string" and token_set & _PEOPLE_TOKENS:
        values = list(state.quotes) or people(state.text)
    elif kind == "string" and token_set & (_PLACE_TOKENS | _PLACES_TOKENS):
        places = find_places(state.text)
        values = [p for p in [places.origin, places.destination, *places.general] if p]
        values = list(dict.fromkeys(values))
    elif kind == "string":
        values = [] if token_set & _STEP_TOKENS else split_list(state.text)
        if not values and (required or token_set & _STEP_TOKENS):
            clauses = split_clauses(state.text)
            values = [strip_filler(c) for c in clauses] if clauses else []
    else:
        values = []
    if not values:
        return _MISSING
    low = spec.get("minItems", 0)
    high = spec.get("maxItems")
    if high is not None:
        values = values[:high]
    while values and len(values) < low:
        values.append(values[-1])
    return values


def _is_confidence(name: str, spec: dict[str, Any]) -> bool:
    if _type_of(spec) not in ("number", "integer"):
        return False
    if not set(_tokens(name)) & _CONFIDENCE_TOKENS:
        return False
    maximum = spec.get("maximum", spec.get("exclusiveMaximum"))
    return (maximum is not None and maximum <= 1) or (
        maximum is None and spec.get("type") == "number"
    )


def _fill_object(spec: dict[str, Any], root: dict[str, Any], state: _State) -> dict[str, Any]:
    properties: dict[str, Any] = spec.get("properties") or {}
    required = set(spec.get("required") or [])
    values: dict[str, Any] = {}
    deferred: list[str] = []
    for name, raw in properties.items():
        field_spec = _resolve(raw, root)
        alternatives = _options(field_spec, root)
        field_spec = alternatives[0] if len(alternatives) == 1 else field_spec
        if _is_confidence(name, field_spec):
            deferred.append(name)
            continue
        value = _fill_value(name, field_spec, root, state, name in required)
        if value is _MISSING:
            if name in required:
                first = alternatives[0] if alternatives else field_spec
                state.missing.append(name)
                values[name] = _fallback(name, first, root, state)
        else:
            values[name] = value
            kind = _type_of(alternatives[0] if alternatives else field_spec)
            if kind not in ("enum", "boolean") and name not in state.free | set(state.missing):
                state.entities.add(name)
    for name in deferred:
        values[name] = _confidence_value(spec, state)
    return {name: values[name] for name in properties if name in values}


def _confidence_value(spec: dict[str, Any], state: _State) -> float:
    if state.confidence is not None:
        return state.confidence
    label = (
        " ".join(str(spec.get(k, "")) for k in ("title", "description") if spec.get(k)) or "answer"
    )
    similarity = float(get_cache().similarities([state.text], [label])[0, 0])
    state.confidence = round(min(1.0, max(0.0, similarity)), 4)
    return state.confidence


def fill_schema(
    text: str,
    json_schema: Any,
    *,
    today: date | None = None,
    context: str | None = None,
    results: str | None = None,
) -> dict[str, Any]:
    """Fill a JSON schema with values taken from a request.

    Args:
        text: The request (or the part of it a tool call answers).
        json_schema: A JSON-schema object, an OpenAI tool / response_format dict, a
            pydantic class or a TypedDict.
        today: The day relative dates count from; the local date when omitted.
        context: A wider text (the whole request) consulted for dates, places and
            numbers that ``text`` lacks.
        results: What tools returned for the request. Result-like number fields
            (``value``, ``result``, ``total``, ...) take its numbers first.

    Returns:
        A dict with every required field, and optional fields the request fills.

    Raises:
        ConfigError: The schema is not an object schema.
    """
    return fill_schema_report(
        text, json_schema, today=today, context=context, results=results
    ).values


@dataclass(frozen=True)
class FillReport:
    """What :func:`fill_schema_report` filled, and from what."""

    values: dict[str, Any]
    missing: list[str]  # required fields the request said nothing about
    entities: set[str]  # fields holding a value found in the request (place, date, ...)


def fill_schema_report(
    text: str,
    json_schema: Any,
    *,
    today: date | None = None,
    context: str | None = None,
    results: str | None = None,
) -> FillReport:
    """Fill a JSON schema and say which fields the request filled and which it left empty.

    Args:
        text: The request (or the part of it a tool call answers).
        json_schema: A JSON-schema object, an OpenAI tool / response_format dict, a
            pydantic class or a TypedDict.
        today: The day relative dates count from; the local date when omitted.
        context: A wider text (the whole request) consulted for dates, places and
            numbers that ``text`` lacks.
        results: What tools returned for the request. Result-like number fields
            (``value``, ``result``, ``total``, ...) take its numbers first.

    Returns:
        The filled dict, the required fields the request said nothing about (filled
        with defaults or placeholders), and the fields holding extracted values.

    Raises:
        ConfigError: The schema is not an object schema.
    """
    schema = normalize_schema(json_schema)
    root = schema
    resolved = _resolve(schema, root)
    if _type_of(resolved) != "object":
        raise ConfigError(
            f"fill_schema needs an object schema (type 'object' with properties); got "
            f"type {resolved.get('type')!r}"
        )
    day = today or date.today()
    parent = _State.build(context, day) if context and context != text else None
    state = _State.build(text, day, parent=parent)
    state.results = _State.build(results, day) if results and results.strip() else None
    values = _fill_object(resolved, root, state)
    return FillReport(values, list(state.missing), set(state.entities))
