"""Podium's offline chat model: deterministic, network-free, fast, and a heuristic.

:class:`OfflineChatModel` is a real LangChain ``BaseChatModel`` that stands in for a
language model in demos, notebooks, evals and tests. It does not generate
language. It

- chooses tools by MiniLM similarity between the request and each tool's name,
  description and argument descriptions, one call per part of a several-part
  request ("... and ..."), and answers in text when no tool is close enough;
- extracts arguments from the request by the tool's JSON schema
  (:func:`fill_schema`: numbers, arithmetic, dates, places, enums, lists, ...);
- after tool results, states what each tool computed or found;
- without tools, answers extractively from context in the conversation, or says
  plainly that it cannot answer;
- fills ``with_structured_output`` schemas through the same tool mechanism;
- streams word chunks and tool-call chunks, and reports token usage counted with
  a regex tokenizer.

Example:
    >>> from podium.offline import OfflineChatModel
    >>> from podium.tools.calculator import calculator
    >>> msg = OfflineChatModel().bind_tools([calculator]).invoke("What is 17% of 2,340?")
    >>> msg.tool_calls[0]["args"]
    {'expression': '17% of 2,340'}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import run_in_executor
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from podium._offline_answer import compose_tool_answer, text_answer
from podium._offline_embed import get_cache
from podium._offline_schema import FillReport, fill_schema, fill_schema_report, has_arithmetic
from podium._offline_text import (
    content_words,
    count_tokens,
    is_chitchat,
    message_text,
    split_clauses,
)
from podium.errors import ConfigError

__all__ = ["MODEL_NAME", "OfflineChatModel", "fill_schema"]

MODEL_NAME = "podium-offline"
_MAX_TOOL_ROUNDS = 3
_CANDIDATES = 3  # tools whose arguments are tried before choosing
_MISSING_PENALTY = 0.06  # per required argument the request says nothing about
_LEXICAL = 0.08  # per content word shared with a tool, divided by how many tools share it
_EXPRESSION_FIELD = re.compile(r"expr|formula|equation|calculation|arithmetic|math", re.I)
ToolChoice = Literal["auto", "any", "none"] | str


@dataclass(frozen=True)
class _ToolSpec:
    """A bound tool as the offline model sees it."""

    name: str
    parameters: dict[str, Any]
    texts: tuple[str, str]  # the name in words, and the description's first line
    keywords: frozenset[str]  # content words of name, description and argument descriptions
    computes: bool  # has an arithmetic-expression argument

    @classmethod
    def from_openai(cls, tool: dict[str, Any]) -> _ToolSpec:
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
        return cls(name, parameters, (label, first_line), frozenset(keywords), computes)


@dataclass
class _Reply:
    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    model_name: str
    usage: UsageMetadata


def _normalize_tool_choice(choice: Any, names: Sequence[str]) -> str:
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


def _call_id(messages: Sequence[BaseMessage], index: int, name: str, args: dict[str, Any]) -> str:
    seed = json.dumps([len(messages), index, name, args], sort_keys=True, default=str)
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


class OfflineChatModel(BaseChatModel):
    """Podium's deterministic offline model: tool choice and answers by heuristics.

    It needs no network and no key, and gives the same output for the same input.
    It is a heuristic for offline runs, demos and tests, not a language model:
    every graph that runs on it must also run unchanged on a real model.

    Attributes:
        model_name: Reported as ``model_name`` in response metadata (alias ``model``).
        tool_threshold: Similarity a request needs to a tool before the model calls
            it (unless ``tool_choice`` forces a call).
        today: The day relative dates ("tomorrow", "next week") count from; the
            local date when unset. Set it in tests.
        max_tokens: Cut text answers to this many tokens (``finish_reason='length'``).
        stop: Cut text answers at the first of these strings.
    """

    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    model_name: str = Field(default=MODEL_NAME, alias="model")
    tool_threshold: float = 0.24
    today: date | None = None
    temperature: float | None = None
    """Accepted for drop-in compatibility; the model is deterministic whatever its value."""
    max_tokens: int | None = None
    stop: list[str] | None = None
    timeout: float | None = None
    """Accepted for drop-in compatibility; calls take milliseconds."""
    max_retries: int | None = None
    """Accepted for drop-in compatibility; nothing here fails transiently."""

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "tool_threshold": self.tool_threshold,
            "today": self.today.isoformat() if self.today else None,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="podium",
            ls_model_name=str(kwargs.get("model") or self.model_name),
            ls_model_type="chat",
        )
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if isinstance(max_tokens, int):
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # ----------------------------------------------------------------- public API

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        tool_choice: ToolChoice | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools the model may call.

        Args:
            tools: LangChain tools, functions, pydantic classes, TypedDicts or
                OpenAI tool dicts.
            tool_choice: ``"auto"``/``None`` (call a tool when one fits), ``"any"``
                / ``"required"`` / ``True`` (always call one), a tool's name (always
                call that one), or ``"none"`` (never call).
            **kwargs: Bound as call options (``parallel_tool_calls=False`` keeps
                only the first call).

        Returns:
            The model with ``tools`` and ``tool_choice`` bound.

        Raises:
            ConfigError: A tool cannot be converted, or ``tool_choice`` names no
                bound tool.
        """
        formatted = []
        for tool in tools:
            try:
                formatted.append(convert_to_openai_tool(tool))
            except Exception as exc:  # convert_to_openai_tool raises several types
                raise ConfigError(
                    f"cannot bind {tool!r} as a tool ({exc}); accepted: a LangChain tool, a "
                    "function with a docstring, a pydantic class, a TypedDict or an OpenAI "
                    "tool dict"
                ) from exc
        names = [t["function"]["name"] for t in formatted]
        choice = _normalize_tool_choice(tool_choice, names)
        return super().bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Return a runnable whose output fills ``schema``.

        The schema is bound as a forced tool call (LangChain's default
        implementation), so one mechanism, :func:`fill_schema`, serves tools and
        structured output. Any ``method`` is accepted and served that way.

        Args:
            schema: A pydantic class, a TypedDict, a JSON-schema dict or an OpenAI
                tool dict. A JSON schema without a title is named
                ``structured_output``.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}``.
            **kwargs: ``method`` and ``strict`` are accepted and ignored.

        Returns:
            A runnable producing the schema's type (a dict for dict schemas).
        """
        if isinstance(schema, dict) and "properties" in schema and not schema.get("title"):
            schema = {**schema, "title": "structured_output"}
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    def fill_schema(self, messages: LanguageModelInput, json_schema: Any) -> dict[str, Any]:
        """Fill a JSON schema from a conversation's latest request.

        Used by Podium's OpenAI-compatible server for
        ``response_format: {"type": "json_schema", ...}``.

        Args:
            messages: A string, a list of messages, or a prompt value.
            json_schema: A JSON schema (or OpenAI response_format / tool dict,
                pydantic class, TypedDict).

        Returns:
            A dict with every required field of the schema.
        """
        converted = self._convert_input(messages).to_messages()
        index = _request_index(converted)
        text = message_text(converted[index]) if index >= 0 else ""
        return fill_schema(text, json_schema, today=self.today)

    # ----------------------------------------------------------------- generation

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(messages, stop, kwargs)
        message = AIMessage(
            content=reply.text,
            tool_calls=reply.tool_calls,
            usage_metadata=reply.usage,
            response_metadata={
                "model_name": reply.model_name,
                "finish_reason": reply.finish_reason,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await run_in_executor(None, self._generate, messages, stop, None, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, stop, kwargs)
        for chunk in _chunks(reply):
            if run_manager and isinstance(chunk.message.content, str) and chunk.message.content:
                run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = await run_in_executor(None, self._reply, messages, stop, kwargs)
        for chunk in _chunks(reply):
            if run_manager and isinstance(chunk.message.content, str) and chunk.message.content:
                await run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk

    # ----------------------------------------------------------------- the heuristics

    def _reply(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Reply:
        tools = [_ToolSpec.from_openai(t) for t in kwargs.get("tools") or []]
        choice = _normalize_tool_choice(kwargs.get("tool_choice"), [t.name for t in tools])
        model_name = str(kwargs.get("model") or self.model_name)
        calls: list[dict[str, Any]] = []
        text = ""
        index = _request_index(messages)
        request = message_text(messages[index]).strip() if index >= 0 else ""
        after = messages[index + 1 :] if index >= 0 else list(messages)
        answering = bool(after) and isinstance(after[-1], ToolMessage)
        if tools and choice != "none":
            if answering and choice == "auto":
                calls = self._unanswered(request, tools, after)
            elif answering:
                calls = self._forced_after_results(request, tools, choice, after)
            else:
                calls = self._plan_calls(request, tools, choice)
            if kwargs.get("parallel_tool_calls") is False:
                calls = calls[:1]
        if not calls:
            text = (
                compose_tool_answer(request, after) if answering else text_answer(messages, index)
            )
        tool_calls = [
            {
                "name": name,
                "args": args,
                "id": _call_id(messages, i, name, args),
                "type": "tool_call",
            }
            for i, (name, args) in enumerate(calls)
        ]
        finish = "tool_calls" if tool_calls else "stop"
        text, cut = _truncate(text, stop or self.stop, kwargs.get("max_tokens", self.max_tokens))
        if cut:
            finish = cut
        input_tokens = sum(_message_tokens(m) for m in messages)
        output_tokens = count_tokens(text) + sum(
            count_tokens(c["name"]) + count_tokens(json.dumps(c["args"], ensure_ascii=False))
            for c in tool_calls
        )
        usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        return _Reply(text, tool_calls, finish, model_name, usage)

    def _scores(self, queries: list[str], tools: list[_ToolSpec]) -> np.ndarray:
        """Score each query against each tool.

        Half the similarity to the tool's name in words, half the similarity to its
        description's first line (both MiniLM, cached), plus lexical overlap with the
        name, description and argument descriptions (a word shared by k bound
        tools counts 1/k), plus cues: arithmetic in the request for a tool with an
        expression argument, the tool's name written out.
        """
        targets = [text for tool in tools for text in tool.texts]
        sims = get_cache().similarities(queries, targets).reshape(len(queries), len(tools), 2)
        scores = sims.mean(axis=2).astype(float)
        spread: dict[str, int] = {}
        for tool in tools:
            for word in tool.keywords:
                spread[word] = spread.get(word, 0) + 1
        for q, query in enumerate(queries):
            query_words = content_words(query)
            arithmetic = has_arithmetic(query)
            lowered = query.lower()
            for t, tool in enumerate(tools):
                shared = query_words & tool.keywords
                scores[q, t] += min(0.16, sum(_LEXICAL / spread[w] for w in shared))
                if arithmetic and tool.computes:
                    scores[q, t] += 0.25
                if re.search(rf"\b{re.escape(tool.name.lower())}\b", lowered):
                    scores[q, t] += 0.3
        return np.round(scores, 5)

    def _choose(
        self, scores: np.ndarray, tools: list[_ToolSpec], text: str, request: str, forced: bool
    ) -> tuple[float, _ToolSpec, FillReport] | None:
        """The best tool for ``text`` once missing required arguments count against it."""
        best: tuple[float, _ToolSpec, FillReport] | None = None
        for t in np.argsort(-scores, kind="stable")[:_CANDIDATES]:
            if not forced and scores[t] < self.tool_threshold:
                break
            tool = tools[int(t)]
            report = fill_schema_report(text, tool.parameters, today=self.today, context=request)
            adjusted = float(scores[t]) - _MISSING_PENALTY * min(len(report.missing), 3)
            if best is None or adjusted > best[0]:
                best = (adjusted, tool, report)
        if best is None or (not forced and best[0] < self.tool_threshold):
            return None
        return best

    def _plan_calls(
        self, request: str, tools: list[_ToolSpec], choice: str
    ) -> list[tuple[str, dict[str, Any]]]:
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
        self, parts: list[str], scores: np.ndarray, tools: list[_ToolSpec], request: str
    ) -> list[tuple[str, dict[str, Any]]]:
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
        calls: list[tuple[str, dict[str, Any]]] = []
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
        self, request: str, tools: list[_ToolSpec], after: Sequence[BaseMessage]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Calls for parts of the request that no tool call of this turn covered."""
        rounds = [m for m in after if isinstance(m, AIMessage) and m.tool_calls]
        if len(rounds) >= _MAX_TOOL_ROUNDS:
            return []
        called = {c["name"] for m in rounds for c in m.tool_calls}
        return [c for c in self._plan_calls(request, tools, "auto") if c[0] not in called]

    def _forced_after_results(
        self, request: str, tools: list[_ToolSpec], choice: str, after: Sequence[BaseMessage]
    ) -> list[tuple[str, dict[str, Any]]]:
        """A forced call once tool results are in.

        An unanswered part of the request first; else a tool not yet called this
        turn (an agent's structured-response tool), filled from what the results say.
        """
        if choice == "any":
            remaining = self._unanswered(request, tools, after)
            if remaining:
                return remaining
        findings = compose_tool_answer(request, after)
        if choice not in ("auto", "any"):
            tool = next(t for t in tools if t.name == choice)
            return [(tool.name, self._args(tool, findings, request))]
        called = {c["name"] for m in after if isinstance(m, AIMessage) for c in m.tool_calls}
        fresh = [t for t in tools if t.name not in called] or tools
        scores = self._scores([f"{request} {findings}"], fresh)[0]
        chosen = self._choose(scores, fresh, findings, request, forced=True)
        return [(chosen[1].name, chosen[2].values)] if chosen else []

    def _args(self, tool: _ToolSpec, text: str, request: str) -> dict[str, Any]:
        return fill_schema(text, tool.parameters, today=self.today, context=request)


def _request_index(messages: Sequence[BaseMessage]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return -1


def _message_tokens(message: BaseMessage) -> int:
    tokens = 3 + count_tokens(message_text(message))
    for call in getattr(message, "tool_calls", None) or []:
        tokens += count_tokens(call["name"]) + count_tokens(json.dumps(call["args"], default=str))
    return tokens


def _truncate(text: str, stop: list[str] | None, max_tokens: Any) -> tuple[str, str | None]:
    cut: str | None = None
    if stop:
        positions = [text.find(s) for s in stop if s and s in text]
        if positions:
            text, cut = text[: min(positions)], "stop"
    if isinstance(max_tokens, int) and max_tokens >= 0 and count_tokens(text) > max_tokens:
        ends = [m.end() for m in re.finditer(r"\w+|[^\w\s]", text)]
        text, cut = (text[: ends[max_tokens - 1]] if max_tokens else ""), "length"
    return text, cut


def _chunks(reply: _Reply) -> Iterator[ChatGenerationChunk]:
    for piece in re.findall(r"\s*\S+\s*", reply.text):
        yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
    for i, call in enumerate(reply.tool_calls):
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    tool_call_chunk(
                        name=call["name"],
                        args=json.dumps(call["args"], ensure_ascii=False),
                        id=call["id"],
                        index=i,
                    )
                ],
            )
        )
    yield ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            usage_metadata=reply.usage,
            response_metadata={
                "model_name": reply.model_name,
                "finish_reason": reply.finish_reason,
            },
            chunk_position="last",
        )
    )
