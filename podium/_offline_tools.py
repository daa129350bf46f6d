"""Tool choice for the offline model: which tools to call, for which part of a request.

A request is scored against each bound tool by MiniLM similarity (cached) and
lexical cues; the best candidates are tried with :func:`fill_schema_report`, and a
tool whose required arguments the request says nothing about loses ground. A
request of several parts ("... and what's ...") gets one call per part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage, BaseMessage

from podium._offline_answer import compose_tool_answer, tool_results
from podium._offline_embed import get_cache
from podium._offline_extract import has_arithmetic
from podium._offline_schema import FillReport, fill_schema, fill_schema_report
from podium._offline_text import content_words, is_chitchat, split_clauses
from podium.errors import ConfigError

__all__ = ["ToolPlanner", "ToolSpec", "normalize_tool_choice"]

_MAX_TOOL_ROUNDS = 3
_CANDIDATES = 3  # tools whose arguments are tried before choosing
_MISSING_PENALTY = 0.06  # per required argument the request says nothing about
_LEXICAL = 0.08  # per content word shared with a tool, divided by how many tools share it
_EXPRESSION_FIELD = re.compile(r"expr|formula|equation|calculation|arithmetic|math", re.I)
_NAME_CUE = 0.1  # per concept of a tool's name the request names, divided by how many tools
_NAME_CUE_MAX = 0.15
# What a tool's name says, and the words requests use for it: a thin description
# ("Search the web for current information.") embeds far from "Google the population
# of Brazil", but "google" names the tool's "search" and "web". Concept: (words in
# tool names, words or phrases in requests).
_CONCEPTS: dict[str, tuple[frozenset[str], re.Pattern[str]]] = {
    name: (frozenset(tool_words.split()), re.compile(rf"\b(?:{request_words})\b", re.I))
    for name, tool_words, request_words in [
        ("search", "search lookup find query google browse",
         r"search(?:es|ing)?|google[ds]?|googling|look(?:ing)?\s+up|lookup|look\s+for|"
         r"find(?:\s+out)?|browse|research"),
        # "Look up" and "find out" ask for facts, which is what a web search finds.
        ("web", "web internet online google browse bing tavily duckduckgo",
         r"web|internet|online|google[ds]?|googling|website|bing|look\s+up|lookup|"
         r"find\s+out"),
        # "book" the verb ("book a table"), not the noun ("a good book about history").
        ("book", "book booking reserve reservation",
         r"book(?:ing)?(?=\s+(?:a|an|the|me|us|my|our|them|him|her|\d+|two|three|four|"
         r"five|six|seats?|tables?|rooms?|flights?|tickets?|hotels?)\b)|reserve|reservation"),
        # Whether a day is free is the calendar's; creating an event is the event tool's.
        ("calendar", "calendar schedule agenda availability free busy",
         r"calendar|schedule|agenda|free|busy|availability|available"),
        ("event", "event events meeting meetings appointment appointments reminder",
         r"events?|meetings?|appointments?|remind(?:er)?|schedule"),
        ("weather", "weather forecast",
         r"weather|forecast|rain(?:ing|y)?|snow(?:ing|y)?|sunny|temperature|umbrella|windy"),
        ("mail", "email mail inbox",
         r"e-?mails?|mail|inbox"),
        ("flight", "flight flights airline fly",
         r"flights?|fly|flying|plane|airline"),
        ("hotel", "hotel hotels room rooms accommodation lodging",
         r"hotels?|rooms?|accommodation|lodging"),
        ("file", "file files folder folders directory",
         r"files?|folders?|directory"),
        ("database", "sql database db",
         r"sql|database|db"),
    ]
}  # fmt: skip
Call = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class ToolSpec:
    """A bound tool as the offline model sees it."""

    name: str
    parameters: dict[str, Any]
    texts: tuple[str, str]  # the name in words, and the description's first line
    keywords: frozenset[str]  # content words of name, description and argument descriptions
    computes: bool  # has an arithmetic-expression argument
    concepts: frozenset[str] = frozenset()  # what its name says (see _CONCEPTS)

    @classmethod
    def from_openai(cls, tool: dict[str, Any]) -> ToolSpec:
        function = tool.get("function", tool)
        name = str(function.get("name", "tool"))
        description = str(function.get("description", "") or "").strip()
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        label = re.sub(r"[_\-.]+", " ", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)).lower()
        first_line = description.splitlines()[0] if description else label
        arg_texts = []
        for arg, spec in (parameters.get("properties") or {}).items():
            desc = spec.get("description", "") if isinstance(spec, dict) else ""
            arg_texts.append(f"{arg.replace('_', ' ')} {desc}")
        keywords = content_words(f"{label} {description} {' '.join(arg_texts)}")
        computes = any(
            _EXPRESSION_FIELD.search(arg)
            or _EXPRESSION_FIELD.search(str((spec or {}).get("description", "")))
            for arg, spec in (parameters.get("properties") or {}).items()
            if isinstance(spec, dict) and spec.get("type", "string") == "string"
        )
        name_words = set(label.split())
        concepts = frozenset(
            c for c, (tool_words, _) in _CONCEPTS.items() if tool_words & name_words
        )
        return cls(name, parameters, (label, first_line), frozenset(keywords), computes, concepts)


def normalize_tool_choice(choice: Any, names: Sequence[str]) -> str:
    """Return "auto", "any", "none" or a bound tool's name for a LangChain tool_choice."""
    if choice is None or choice == "auto":
        return "auto"
    if choice is True or choice in ("any", "required"):
        return "any"
    if choice is False or choice == "none":
        return "none"
    if isinstance(choice, dict):
        choice = (choice.get("function") or {}).get("name") or choice.get("name")
    if isinstance(choice, str) and choice in names:
        return choice
    accepted = ", ".join(repr(n) for n in ("auto", "any", "required", "none", *names))
    raise ConfigError(f"tool_choice {choice!r} is not accepted; accepted: {accepted}")


@dataclass(frozen=True)
class ToolPlanner:
    """Plans the tool calls of one model turn."""

    tools: list[ToolSpec]
    threshold: float
    today: date | None

    def plan(self, request: str, choice: str, after: Sequence[BaseMessage] | None) -> list[Call]:
        """The calls for this turn.

        Args:
            request: The latest human message.
            choice: A normalized tool choice ("auto", "any" or a tool name).
            after: The messages after the request when tool results have come in
                (the model is answering), else None.
        """
        if after is None:
            return self._plan_calls(request, self.tools, choice)
        if choice == "auto":
            return self._unanswered(request, self.tools, after)
        return self._forced_after_results(request, self.tools, choice, after)

    def _scores(self, queries: list[str], tools: list[ToolSpec]) -> np.ndarray:
        """Score each query against each tool.

        Half the similarity to the tool's name in words, half the similarity to its
        description's first line (both MiniLM, cached), plus lexical overlap with the
        name, description and argument descriptions (a word shared by k bound
        tools counts 1/k), plus cues: arithmetic in the request for a tool with an
        expression argument, the tool's name written out, and words that name what
        the tool's name says ("google" for ``web_search``, "reserve" for
        ``book_table``; a concept k bound tools share counts 1/k).
        """
        targets = [text for tool in tools for text in tool.texts]
        sims = get_cache().similarities(queries, targets).reshape(len(queries), len(tools), 2)
        scores = sims.mean(axis=2).astype(float)
        spread: dict[str, int] = {}
        for tool in tools:
            for word in tool.keywords | {f"concept:{c}" for c in tool.concepts}:
                spread[word] = spread.get(word, 0) + 1
        for q, query in enumerate(queries):
            query_words = content_words(query)
            arithmetic = has_arithmetic(query)
            lowered = query.lower()
            named = {c for c, (_, pattern) in _CONCEPTS.items() if pattern.search(query)}
            for t, tool in enumerate(tools):
                shared = query_words & tool.keywords
                scores[q, t] += min(0.16, sum(_LEXICAL / spread[w] for w in shared))
                cues = named & tool.concepts
                scores[q, t] += min(
                    _NAME_CUE_MAX, sum(_NAME_CUE / spread[f"concept:{c}"] for c in cues)
                )
                if arithmetic and tool.computes:
                    scores[q, t] += 0.25
                if re.search(rf"\b{re.escape(tool.name.lower())}\b", lowered):
                    scores[q, t] += 0.3
        return np.round(scores, 5)

    def _choose(
        self,
        scores: np.ndarray,
        tools: list[ToolSpec],
        text: str,
        request: str,
        forced: bool,
        results: str | None = None,
    ) -> tuple[float, ToolSpec, FillReport] | None:
        """The best tool for ``text`` once missing required arguments count against it."""
        best: tuple[float, ToolSpec, FillReport] | None = None
        for t in np.argsort(-scores, kind="stable")[:_CANDIDATES]:
            if not forced and scores[t] < self.threshold:
                break
            tool = tools[int(t)]
            report = fill_schema_report(
                text, tool.parameters, today=self.today, context=request, results=results
            )
            adjusted = float(scores[t]) - _MISSING_PENALTY * min(len(report.missing), 3)
            if best is None or adjusted > best[0]:
                best = (adjusted, tool, report)
        if best is None or (not forced and best[0] < self.threshold):
            return None
        return best

    def _plan_calls(self, request: str, tools: list[ToolSpec], choice: str) -> list[Call]:
        forced = choice != "auto"
        if choice not in ("auto", "any"):
            tool = next(t for t in tools if t.name == choice)
            return [(tool.name, self._args(tool, request, request))]
        if not request:
            return [(tools[0].name, self._args(tools[0], "", ""))] if forced else []
        if not forced and is_chitchat(request):
            return []
        # One forced tool is a structured-output call: the whole request fills it.
        single = forced and len(tools) == 1
        parts = [] if single else [p for p in split_clauses(request) if not is_chitchat(p)]
        queries = [request, *parts] if len(parts) > 1 else [request]
        scores = self._scores(queries, tools)
        if len(parts) > 1:
            calls = self._part_calls(parts, scores[1:], tools, request)
            if len(calls) > 1:
                return calls
        chosen = self._choose(scores[0], tools, request, request, forced)
        return [(chosen[1].name, chosen[2].values)] if chosen else []

    def _part_calls(
        self, parts: list[str], scores: np.ndarray, tools: list[ToolSpec], request: str
    ) -> list[Call]:
        """One call per part; parts that ask one tool the same thing become one call.

        Two parts for the same tool stay two calls only when the values found in
        them (places, dates, numbers, quoted text) differ: "weather in Paris and
        weather in London" is two calls, "Will it rain in London? Use fahrenheit."
        is one.
        """
        by_tool: dict[str, list[tuple[str, FillReport]]] = {}
        for part, row in zip(parts, scores, strict=True):
            chosen = self._choose(row, tools, part, request, forced=False)
            if chosen:
                by_tool.setdefault(chosen[1].name, []).append((part, chosen[2]))
        calls: list[Call] = []
        for name, items in by_tool.items():
            tool = next(t for t in tools if t.name == name)
            found = {
                json.dumps(
                    {k: v for k, v in report.values.items() if k in report.entities},
                    sort_keys=True,
                    default=str,
                )
                for _, report in items
            }
            if len(items) > 1 and len(found) == 1:
                merged = " ".join(part for part, _ in items)
                calls.append((name, self._args(tool, merged, request)))
                continue
            for _, report in items:
                if (name, report.values) not in calls:
                    calls.append((name, report.values))
        return calls

    def _unanswered(
        self, request: str, tools: list[ToolSpec], after: Sequence[BaseMessage]
    ) -> list[Call]:
        """Calls for parts of the request that no tool call of this turn covered."""
        rounds = [m for m in after if isinstance(m, AIMessage) and m.tool_calls]
        if len(rounds) >= _MAX_TOOL_ROUNDS:
            return []
        called = {c["name"] for m in rounds for c in m.tool_calls}
        return [c for c in self._plan_calls(request, tools, "auto") if c[0] not in called]

    def _forced_after_results(
        self, request: str, tools: list[ToolSpec], choice: str, after: Sequence[BaseMessage]
    ) -> list[Call]:
        """A forced call once tool results are in.

        An unanswered part of the request first; else a tool not yet called this
        turn (an agent's structured-response tool), filled from what the results say.
        """
        if choice == "any":
            remaining = self._unanswered(request, tools, after)
            if remaining:
                return remaining
        findings = compose_tool_answer(request, after)
        results = tool_results(after)
        if choice not in ("auto", "any"):
            tool = next(t for t in tools if t.name == choice)
            return [(tool.name, self._args(tool, findings, request, results))]
        called = {c["name"] for m in after if isinstance(m, AIMessage) for c in m.tool_calls}
        fresh = [t for t in tools if t.name not in called] or tools
        scores = self._scores([f"{request} {findings}"], fresh)[0]
        chosen = self._choose(scores, fresh, findings, request, forced=True, results=results)
        return [(chosen[1].name, chosen[2].values)] if chosen else []

    def _args(
        self, tool: ToolSpec, text: str, request: str, results: str | None = None
    ) -> dict[str, Any]:
        return fill_schema(
            text, tool.parameters, today=self.today, context=request, results=results
        )
