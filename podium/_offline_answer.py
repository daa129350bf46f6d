"""Text answers of the offline model: from tool results, from context, or honest refusals.

Everything here is extractive: sentences are chosen from the material in the
conversation by MiniLM similarity, never written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from podium._offline_embed import get_cache
from podium._offline_text import content_words, is_chitchat, message_text, split_sentences, words

__all__ = [
    "INTRO",
    "answer_from_context",
    "compose_tool_answer",
    "find_context",
    "summarize",
    "text_answer",
    "tool_results",
    "wants_summary",
]

INTRO = (
    "I'm Podium's offline model: a deterministic heuristic for offline runs, demos and "
    "tests, not a language model. I can choose and call tools, fill structured output, and "
    "answer or summarise extractively from context you give me."
)
_NO_KNOWLEDGE = (
    "I'm Podium's offline model, a deterministic heuristic without world knowledge, so I "
    "can't answer that on my own. Give me tools or context documents and I will use them, "
    "or choose a real model (PODIUM_MODEL)."
)
_SUMMARY = re.compile(
    r"\b(?:summari[sz]e|summari[sz]ing|summary|tl;?dr|key\s+points|gist|recap|in\s+brief|"
    r"main\s+points|condense)\b",
    re.IGNORECASE,
)
_CONTEXT_MARKER = re.compile(
    r"^\s*(?:#+\s*)?(?:context|documents?|sources?|passages?|excerpts?|retrieved|"
    r"background|reference|text|article|notes?)\b[^\n:]*:\s*",
    re.IGNORECASE | re.MULTILINE,
)
_QUESTION_MARKER = re.compile(
    r"^\s*(?:#+\s*)?(?:question|query|user\s+question|q)\s*:\s*(?P<q>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_QUESTION = re.compile(
    r"\?|^\s*(?:what|who|whom|whose|which|when|where|why|how|is|are|was|were|do|does|did|"
    r"can|could|should|would|will|may|list|name|explain|describe|tell|give|find|show|compare)\b",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^\s*\[(?P<m>[^\]\n]{1,40})\]:?\s*", re.MULTILINE)
_MIN_CONTEXT_WORDS = 30
_RELEVANT = 0.2


@dataclass(frozen=True)
class _Unit:
    """One sentence of the context, with the source marker of its passage."""

    text: str
    marker: str | None
    position: int
    heading: str = ""  # the markdown heading above it, embedded with it as context

    @property
    def embed_text(self) -> str:
        return f"{self.heading}: {self.text}" if self.heading else self.text


def wants_summary(request: str) -> bool:
    """Return True when the request asks for a summary."""
    return bool(_SUMMARY.search(request))


def _units(context: str) -> list[_Unit]:
    units: list[_Unit] = []
    # Passages start at "[n]" lines; sentences inherit their passage's marker.
    starts = [(m.start(), m.end(), m["m"]) for m in _SOURCE_LINE.finditer(context)]
    if not starts:
        blocks = [(None, context)]
    else:
        blocks = []
        if context[: starts[0][0]].strip():
            blocks.append((None, context[: starts[0][0]]))
        for i, (_, end, marker) in enumerate(starts):
            stop = starts[i + 1][0] if i + 1 < len(starts) else len(context)
            blocks.append((marker, context[end:stop]))
    seen: set[tuple[str, str | None]] = set()
    for marker, block in blocks:
        heading = ""
        # Markdown headings are titles, not answers: they become the context of the
        # sentences below them ("Pets in the cabin: The fee is 50 EUR per flight.").
        for piece in re.split(r"^(#{1,6}[ \t]+[^\n]*)$", block, flags=re.MULTILINE):
            if re.match(r"#{1,6}[ \t]", piece):
                heading = piece.lstrip("#").strip()
                continue
            for sentence in split_sentences(piece):
                sentence = re.sub(r"\s+", " ", sentence.lstrip("*-•> ").strip()).rstrip(";:,")
                if len(words(sentence)) >= 4 and (sentence, marker) not in seen:
                    seen.add((sentence, marker))
                    units.append(_Unit(sentence, marker, len(units), heading))
    return units


def _relevance(question: str, units: Sequence[_Unit]) -> np.ndarray:
    """Similarity of each sentence (with its heading) to the question, plus shared words."""
    sims = get_cache().similarities([question], [u.embed_text for u in units])[0].astype(float)
    asked = content_words(question)
    for i, unit in enumerate(units):
        sims[i] += min(0.15, 0.05 * len(asked & content_words(unit.embed_text)))
    return np.round(sims, 5)


def _with_marker(unit: _Unit) -> str:
    text = unit.text
    if unit.marker and f"[{unit.marker}]" not in text:
        match = re.search(r"[.!?]+[\"')\]]*$", text)
        cut = match.start() if match else len(text)
        text = f"{text[:cut]} [{unit.marker}]{text[cut:]}"
    return text


def _join(units: Sequence[_Unit]) -> str:
    parts = []
    for unit in sorted(units, key=lambda u: u.position):
        text = _with_marker(unit)
        parts.append(text if re.search(r"[.!?\]\"')]$", text) else text + ".")
    return " ".join(parts)


def summarize(text: str, *, focus: str | None = None, max_sentences: int = 3) -> str:
    """Extractive summary: the sentences closest to the text's centroid, in order.

    With ``focus`` (the request, "summarise the pet rules"), closeness to it counts
    as much as centrality.
    """
    units = _units(text)
    if not units:
        return text.strip()
    if len(units) <= max_sentences:
        return _join(units)
    vectors = get_cache().embed([u.embed_text for u in units])
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    scores = vectors @ centroid
    if focus:
        scores = 0.5 * scores + 0.5 * _relevance(focus, units)
    scores = np.round(scores, 5)
    order = sorted(range(len(units)), key=lambda i: (-scores[i], i))
    return _join([units[i] for i in order[:max_sentences]])


def answer_from_context(question: str, context: str, *, max_sentences: int = 3) -> str:
    """Answer with the context sentences most similar to the question, markers kept."""
    units = _units(context)
    if not units:
        return "The context I was given is empty, so I cannot answer from it."
    sims = _relevance(question, units)
    best = float(sims.max())
    if best < _RELEVANT:
        return "The provided context does not answer that question."
    order = sorted(range(len(units)), key=lambda i: (-sims[i], i))
    chosen = [units[i] for i in order[:max_sentences] if sims[i] >= max(_RELEVANT, best - 0.12)]
    return _join(chosen)


def find_context(messages: Sequence[BaseMessage], request_index: int) -> tuple[str, str]:
    """Split the conversation into (question, context documents).

    Context is what the system prompt, earlier messages or the request itself
    carry beyond the question: text after a "Context:"-like heading, "[n]"
    passages, tool results, or any long block.
    """
    request = message_text(messages[request_index]) if request_index >= 0 else ""
    question, inline = _split_request(request)
    pieces: list[str] = []
    for i, message in enumerate(messages):
        if i == request_index:
            continue
        text = message_text(message)
        if isinstance(message, SystemMessage | HumanMessage):
            pieces.append(_context_part(text))
        elif isinstance(message, ToolMessage) and getattr(message, "status", "success") != "error":
            pieces.append(text)
    if inline:
        pieces.append(inline)
    context = "\n\n".join(p for p in pieces if p and p.strip())
    return question, context


def _context_part(text: str) -> str:
    marker = _CONTEXT_MARKER.search(text)
    if marker:
        return text[marker.end() :]
    if _SOURCE_LINE.search(text):
        return text[_SOURCE_LINE.search(text).start() :]  # type: ignore[union-attr]
    return text if len(words(text)) >= _MIN_CONTEXT_WORDS * 2 else ""


def _split_request(request: str) -> tuple[str, str]:
    """Separate a question from documents pasted into the same message."""
    marked = _QUESTION_MARKER.search(request)
    rest = request
    if marked:
        question = marked["q"].strip()
        rest = request[: marked.start()] + request[marked.end() :]
    else:
        lines = [line for line in request.splitlines() if line.strip()]
        if len(lines) < 2 or len(words(request)) < _MIN_CONTEXT_WORDS:
            return request.strip(), ""
        asked = [line for line in lines if line.rstrip().endswith("?")]
        question = (asked[-1] if asked else lines[0]).strip()
        rest = request.replace(question, "", 1)
    marker = _CONTEXT_MARKER.search(rest)
    if marker:
        rest = rest[marker.end() :]
    return question, rest.strip()


def text_answer(messages: Sequence[BaseMessage], request_index: int) -> str:
    """The offline model's reply when it calls no tool."""
    request = message_text(messages[request_index]).strip() if request_index >= 0 else ""
    if not request:
        return INTRO
    question, context = find_context(messages, request_index)
    if wants_summary(question):
        source = context or re.split(r":\s*", request, maxsplit=1)[-1]
        if len(words(source)) >= 8:
            return summarize(source, focus=question if context else None)
    if context and len(words(context)) >= 8:
        if not _QUESTION.search(question):
            # Notes pasted with no question: the useful extract is a summary.
            return summarize(context)
        return answer_from_context(question, context)
    if is_chitchat(request):
        if re.match(r"\s*(?:thanks|thank\s+you|thx|cheers)", request, re.IGNORECASE):
            return "You're welcome."
        if re.match(r"\s*(?:bye|goodbye|see\s+you)", request, re.IGNORECASE):
            return "Goodbye."
        return f"Hello! {INTRO}"
    return _NO_KNOWLEDGE


def _humanize(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    text = re.sub(r"[_\-.]+", " ", spaced).strip()
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or re.search(r"[.!?\]\"')]$", text) else text + "."


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _summarize_result(content: str, request: str) -> str:
    try:
        data = json.loads(content)
    except (ValueError, TypeError):
        data = None
    if isinstance(data, dict):
        items = list(data.items())
        shown = "; ".join(f"{k}: {_short(v, 60)}" for k, v in items[:8])
        more = f" (and {len(items) - 8} more fields)" if len(items) > 8 else ""
        return _sentence(shown + more)
    if isinstance(data, list):
        if not data:
            return "nothing found."
        shown = "; ".join(_short(item, 80) for item in data[:3])
        more = f" (and {len(data) - 3} more)" if len(data) > 3 else ""
        return _sentence(f"{len(data)} result{'s' if len(data) != 1 else ''}: {shown}{more}")
    if len(words(content)) > 60:
        return answer_from_context(request, content)
    return _sentence(content)


def tool_results(after_request: Sequence[BaseMessage]) -> str:
    """The content of the successful tool results after a request, one per line."""
    return "\n".join(
        message_text(m).strip()
        for m in after_request
        if isinstance(m, ToolMessage)
        and getattr(m, "status", "success") != "error"
        and not message_text(m).lower().lstrip().startswith("error")
    )


def compose_tool_answer(request: str, after_request: Sequence[BaseMessage]) -> str:
    """A final answer naming what each tool computed or found, errors reported as such."""
    calls: dict[str, dict[str, Any]] = {}
    for message in after_request:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call.get("id"):
                    calls[call["id"]] = call
    sentences: list[str] = []
    for message in after_request:
        if not isinstance(message, ToolMessage):
            continue
        call = calls.get(message.tool_call_id, {})
        name = call.get("name") or message.name or "tool"
        args = call.get("args") or {}
        content = message_text(message).strip()
        if not content and message.artifact is not None:
            content = _short(message.artifact, 400)
        failed = getattr(message, "status", "success") == "error" or content.lower().startswith(
            "error"
        )
        if failed:
            reason = re.sub(r"^error:?\s*", "", content, flags=re.IGNORECASE) or "no details"
            sentences.append(_sentence(f"The {name} tool reported an error: {reason}"))
            continue
        expression = next(
            (v for k, v in args.items() if isinstance(v, str) and re.search(
                r"expr|formula|equation|calculation|math", k, re.IGNORECASE)),
            None,
        )  # fmt: skip
        if expression and len(content) <= 80 and "\n" not in content:
            sentences.append(_sentence(f"{expression} is {content}"))
            continue
        values = [
            str(v) for v in args.values() if isinstance(v, str | int | float) and len(str(v)) <= 40
        ][:2]
        label = _humanize(name) + (f" for {', '.join(values)}" if values else "")
        if not content:
            sentences.append(_sentence(f"{label}: no output"))
            continue
        sentences.append(f"{label}: {_summarize_result(content, request)}")
    return " ".join(sentences) if sentences else "The tools returned nothing."
