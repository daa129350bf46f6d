"""Podium's offline chat model: deterministic, network-free, fast, and a heuristic.

:class:`OfflineChatModel` is a real LangChain ``BaseChatModel`` that stands in for a
language model in demos, notebooks, evals and tests. It does not generate
language. It

- chooses tools by MiniLM similarity between the request and each tool's name,
  description and argument descriptions (plus shared words, arithmetic cues, and
  words for what a tool's name says: "google"/"look up" for ``web_search``,
  "reserve" for ``book_table``, "free"/"busy" for ``check_calendar``),
  one call per part of a several-part request ("... and what's ...", "...; ...",
  "... then ..."), and answers in text when no tool is close enough
  (``tool_threshold``) or the request is small talk;
- extracts arguments from the request by the tool's JSON schema
  (:func:`fill_schema`: numbers, arithmetic, ISO dates incl. relative ones
  against ``today``, places, people, quoted text, enums by similarity, booleans,
  lists, nested objects, free text). A ``confidence``/``score`` number in [0, 1]
  gets the softmax probability of the chosen option over the options'
  similarities, which grows with its margin over the others; a yes/no choice over
  a prompt with labelled parts ("Question:", "Document:", "Answer:") is decided by
  how similar those parts are;
- after tool results, states what each tool computed or found (errors included),
  calling tools again only for parts of the request still unanswered;
- without tools, answers extractively from context in the conversation (keeping
  ``[n]`` markers), summarises when asked (or when given notes and no question),
  and otherwise says plainly that it cannot answer;
- fills ``with_structured_output`` schemas through the same tool mechanism; after
  tool results, from what the tools returned (``value`` gets the calculator's
  397.8, not the request's 17); a bound ``response_format`` (json_schema, as
  LangChain's ``ProviderStrategy`` sends, or json_object) is answered as JSON
  content, JSON mode as ``{"answer": <the text reply>}``;
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

from podium._offline_answer import compose_tool_answer, text_answer, tool_results
from podium._offline_schema import fill_schema, normalize_schema
from podium._offline_text import count_tokens, message_text
from podium._offline_tools import ToolPlanner, ToolSpec, normalize_tool_choice
from podium.errors import ConfigError

__all__ = ["MODEL_NAME", "OfflineChatModel", "fill_schema"]

MODEL_NAME = "podium-offline"
ToolChoice = Literal["auto", "any", "none"] | str


@dataclass
class _Reply:
    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    model_name: str
    usage: UsageMetadata


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
        choice = normalize_tool_choice(tool_choice, names)
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
        """Fill a JSON schema from a conversation's latest request and its tool results.

        Used by Podium's OpenAI-compatible server for
        ``response_format: {"type": "json_schema", ...}``, and by the model itself
        for a bound ``response_format`` (LangChain's ``ProviderStrategy``).

        When tool results follow the request, fields are filled from the answer the
        model would give (what each tool computed or found), with the request as
        wider context; result-like number fields (``value``, ``result``,
        ``total``, ...) take the tools' numbers first.

        JSON mode: an object schema without ``properties`` (``{"type": "object"}``,
        what ``response_format: {"type": "json_object"}`` asks for) gets
        ``{"answer": <the text reply the model would give>}``.

        Args:
            messages: A string, a list of messages, or a prompt value.
            json_schema: A JSON schema (or OpenAI response_format / tool dict,
                pydantic class, TypedDict).

        Returns:
            A dict with every required field of the schema.
        """
        return self._fill(self._convert_input(messages).to_messages(), json_schema)

    def _fill(self, messages: Sequence[BaseMessage], json_schema: Any) -> dict[str, Any]:
        index = _request_index(messages)
        request = message_text(messages[index]).strip() if index >= 0 else ""
        after = messages[index + 1 :] if index >= 0 else list(messages)
        answered = any(isinstance(m, ToolMessage) for m in after)
        if _json_mode(json_schema):
            # No fields to fill: the useful object is the reply itself.
            reply = compose_tool_answer(request, after) if answered else None
            return {"answer": reply or text_answer(messages, index)}
        if not answered:
            return fill_schema(request, json_schema, today=self.today)
        findings = compose_tool_answer(request, after)
        return fill_schema(
            findings, json_schema, today=self.today, context=request, results=tool_results(after)
        )

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
        tools = [ToolSpec.from_openai(t) for t in kwargs.get("tools") or []]
        choice = normalize_tool_choice(kwargs.get("tool_choice"), [t.name for t in tools])
        model_name = str(kwargs.get("model") or self.model_name)
        calls: list[dict[str, Any]] = []
        text = ""
        index = _request_index(messages)
        request = message_text(messages[index]).strip() if index >= 0 else ""
        after = messages[index + 1 :] if index >= 0 else list(messages)
        answering = bool(after) and isinstance(after[-1], ToolMessage)
        if tools and choice != "none":
            planner = ToolPlanner(tools, self.tool_threshold, self.today)
            calls = planner.plan(request, choice, after if answering else None)
            if kwargs.get("parallel_tool_calls") is False:
                calls = calls[:1]
        response_format = _response_schema(kwargs.get("response_format"))
        if not calls and response_format is not None:
            # A bound response_format (ProviderStrategy, OpenAI-style): answer in JSON.
            text = json.dumps(self._fill(messages, response_format), ensure_ascii=False)
        elif not calls:
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


def _response_schema(response_format: Any) -> Any:
    """The schema a bound ``response_format`` asks for, or None for plain text."""
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            return response_format
        if response_format.get("type") == "json_object":
            return {"type": "object"}
        return None
    if isinstance(response_format, type):
        return response_format  # a pydantic class or TypedDict
    return None


def _json_mode(json_schema: Any) -> bool:
    """True for an open object schema with no properties: JSON mode, nothing to fill."""
    if not isinstance(json_schema, dict):
        return False
    schema = normalize_schema(json_schema)
    return (
        schema.get("type", "object") == "object"
        and "properties" not in schema
        and not any(k in schema for k in ("$ref", "anyOf", "oneOf", "allOf"))
        and schema.get("additionalProperties", True) is not False
    )


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
