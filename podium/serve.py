"""An OpenAI-compatible HTTP server over a LangChain chat model and the MiniLM embeddings.

``podium serve-model`` puts Podium's offline model (or any ``load_chat_model``
spec) behind ``/v1/chat/completions``, ``/v1/embeddings`` and ``/v1/models``, so
that code written for a real provider (``ChatOpenAI``, the ``openai`` SDK, any
tool that takes ``OPENAI_BASE_URL``) runs unchanged and offline.

What the chat endpoint maps, and to what:

- ``messages`` become LangChain messages (``convert_to_messages``);
- ``tools`` and ``tool_choice`` become ``bind_tools(tools, tool_choice=...)``;
  ``"none"`` binds no tools at all;
- ``response_format`` (``json_schema`` or ``json_object``) is answered through the
  model's ``fill_schema(messages, schema)`` when it has one (the offline model),
  else through ``with_structured_output``; the JSON is the message content;
- ``stream: true`` streams ``chat.completion.chunk`` events (content and
  tool-call deltas), a last chunk with ``finish_reason``, a usage chunk when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``.

Sampling parameters (``temperature``, ``top_p``, ``seed``...) are accepted and
ignored; ``stop`` is passed to the model, and ``max_tokens`` /
``max_completion_tokens`` to models that take ``max_tokens``. A malformed request
gets HTTP 400 with an OpenAI-style error naming the bad field.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import struct
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_messages,
)
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.output_parsers import JsonOutputParser
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podium.errors import ConfigError, InputError, ModelBehaviorError, PodiumError, ToolInputError
from podium.models import EMBEDDING_DIM, OFFLINE, load_chat_model
from podium.offline import MODEL_NAME as OFFLINE_MODEL_ID

__all__ = ["EMBEDDING_MODEL_ID", "OFFLINE_MODEL_ID", "create_app", "run_server"]

EMBEDDING_MODEL_ID = "all-minilm-l6-v2"

logger = logging.getLogger(__name__)

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_TOOL_CHOICES = ("auto", "none", "required")
_TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"
_ROUTES = "GET /v1/models, POST /v1/chat/completions, POST /v1/embeddings"


# --- errors ------------------------------------------------------------------------


class _RequestError(Exception):
    """An error answered as OpenAI does: ``{"error": {message, type, param, code}}``."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status: int = 400,
        code: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.code = code
        self.type = type_

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def _param(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as ``messages[0].tool_calls[1].function``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _from_validation(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> _RequestError:
    """Turn the first pydantic error into a 400 naming the field."""
    first = exc.errors(include_url=False)[0]
    param = _param(prefix + tuple(first["loc"]))
    if first["type"] == "missing":
        return _RequestError(f"Missing required parameter: '{param}'.", param=param)
    reason = first["msg"].removeprefix("Value error, ")
    got = "" if "got " in reason else f" (got {_short(first['input'])})"
    return _RequestError(f"Invalid value for '{param}': {reason}{got}.", param=param)


# --- request schemas ---------------------------------------------------------------


class _Lenient(BaseModel):
    # OpenAI keeps adding optional fields; unknown ones are ignored, not refused.
    model_config = ConfigDict(extra="ignore")


def _text_parts(value: Any) -> Any:
    """Accept a string or a list of text parts; return one string."""
    if isinstance(value, list):
        texts = []
        for part in value:
            if not (
                isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            ):
                raise ValueError(
                    "expected a string or a list of {'type': 'text', 'text': ...} parts, "
                    f"got the part {_short(part)}"
                )
            texts.append(part["text"])
        return "".join(texts)
    if not isinstance(value, str):
        raise ValueError("expected a string or a list of {'type': 'text', 'text': ...} parts")
    return value


_USER_PART_TYPES = ("text", "image_url", "input_audio", "file")


def _user_content(value: Any) -> Any:
    """Accept a string or a list of content parts; join all-text lists into one string."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ValueError("expected a string or a list of content parts")
    for part in value:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in _USER_PART_TYPES:
            raise ValueError(
                f"each content part needs a 'type' among {', '.join(map(repr, _USER_PART_TYPES))}; "
                f"got {_short(part)}"
            )
        if kind == "text" and not isinstance(part.get("text"), str):
            raise ValueError(f"a text part needs a string 'text', got {_short(part)}")
    if all(part["type"] == "text" for part in value):
        return "".join(part["text"] for part in value)
    return value


_Text = Annotated[str, BeforeValidator(_text_parts)]


class _FunctionCall(_Lenient):
    name: str
    arguments: str


class _ToolCall(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: _FunctionCall


class _SystemMsg(_Lenient):
    role: Literal["system", "developer"]
    content: _Text
    name: str | None = None


class _UserMsg(_Lenient):
    role: Literal["user"]
    content: Annotated[str | list[dict[str, Any]], BeforeValidator(_user_content)]
    name: str | None = None


class _AssistantMsg(_Lenient):
    role: Literal["assistant"]
    content: _Text | None = None
    tool_calls: list[_ToolCall] | None = None
    name: str | None = None


class _ToolMsg(_Lenient):
    role: Literal["tool"]
    content: _Text
    tool_call_id: str


class _FunctionMsg(_Lenient):
    role: Literal["function"]
    content: str | None = None
    name: str


_MESSAGE_SCHEMAS: dict[str, type[_Lenient]] = {
    "system": _SystemMsg,
    "developer": _SystemMsg,
    "user": _UserMsg,
    "assistant": _AssistantMsg,
    "tool": _ToolMsg,
    "function": _FunctionMsg,
}


class _FunctionDef(_Lenient):
    name: Annotated[str, Field(pattern=_TOOL_NAME)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class _Tool(_Lenient):
    type: Literal["function"]
    function: _FunctionDef


def _tool_choice(value: Any) -> Any:
    """Accept 'auto' | 'none' | 'required' | {'type': 'function', 'function': {'name': ...}}."""
    if value is None or value in _TOOL_CHOICES:
        return value
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(value.get("function"), dict)
        and isinstance(value["function"].get("name"), str)
    ):
        return {"name": value["function"]["name"]}
    raise ValueError(
        "expected 'auto', 'none', 'required' or "
        "{'type': 'function', 'function': {'name': TOOL_NAME}}, "
        f"got {_short(value)}"
    )


class _NamedChoice(_Lenient):
    name: str


class _JsonSchemaSpec(_Lenient):
    name: Annotated[str, Field(pattern=_TOOL_NAME)]
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class _ResponseFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchemaSpec | None = None


class _StreamOptions(_Lenient):
    include_usage: bool = False


def _stop(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _ChatRequest(_Lenient):
    model: str
    messages: Annotated[list[Any], Field(min_length=1)]
    tools: list[_Tool] | None = None
    tool_choice: Annotated[
        Literal["auto", "none", "required"] | _NamedChoice | None, BeforeValidator(_tool_choice)
    ] = None
    parallel_tool_calls: bool | None = None
    response_format: _ResponseFormat | None = None
    stream: bool | None = False
    stream_options: _StreamOptions | None = None
    stop: Annotated[list[str] | None, BeforeValidator(_stop)] = None
    max_tokens: Annotated[int, Field(ge=0)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=0)] | None = None
    n: int | None = None

    def call_options(self, model: BaseChatModel) -> dict[str, Any]:
        """Keyword arguments for the model call: ``stop``, and ``max_tokens`` if it takes one."""
        options: dict[str, Any] = {"stop": self.stop}
        limit = (
            self.max_completion_tokens
            if self.max_completion_tokens is not None
            else (self.max_tokens)
        )
        # Passed only to models that declare the field: others may refuse unknown kwargs.
        if limit is not None and "max_tokens" in type(model).model_fields:
            options["max_tokens"] = limit
        return options


def _embedding_input(value: Any) -> Any:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise ValueError("expected a non-empty string or a non-empty list of strings")
    for i, text in enumerate(texts):
        if isinstance(text, int | list):
            raise ValueError(
                "token arrays are not supported here (the server has its own tokenizer); "
                "send a string or a list of strings"
            )
        if not isinstance(text, str) or not text:
            raise ValueError(f"item {i} must be a non-empty string, got {_short(text)}")
    return texts


class _EmbeddingRequest(_Lenient):
    model: str
    input: Annotated[list[str], BeforeValidator(_embedding_input)]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


# --- translation -------------------------------------------------------------------


def _parse_chat(body: dict[str, Any]) -> tuple[_ChatRequest, list[BaseMessage]]:
    """Validate a chat request and convert its messages; raise _RequestError on bad input."""
    try:
        request = _ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise _from_validation(exc) from None

    messages: list[dict[str, Any]] = []
    seen_call_ids: set[str] = set()
    for i, raw in enumerate(request.messages):
        where = f"messages[{i}]"
        if not isinstance(raw, dict):
            raise _RequestError(
                f"Invalid value for '{where}': expected an object with 'role' and 'content', "
                f"got {_short(raw)}.",
                param=where,
            )
        role = raw.get("role")
        if role not in _MESSAGE_SCHEMAS:
            missing = "role" not in raw
            raise _RequestError(
                (
                    f"Missing required parameter: '{where}.role'."
                    if missing
                    else f"Invalid value for '{where}.role': {_short(role)}."
                )
                + f" Supported values are: {', '.join(map(repr, _ROLES))}.",
                param=f"{where}.role",
            )
        try:
            message = _MESSAGE_SCHEMAS[role].model_validate(raw)
        except ValidationError as exc:
            raise _from_validation(exc, ("messages", i)) from None
        if isinstance(message, _AssistantMsg):
            if message.content is None and not message.tool_calls:
                raise _RequestError(
                    f"Missing required parameter: '{where}.content' "
                    "(an assistant message needs content or tool_calls).",
                    param=f"{where}.content",
                )
            for j, call in enumerate(message.tool_calls or []):
                _check_arguments(call.function.arguments, f"{where}.tool_calls[{j}].function")
                seen_call_ids.add(call.id)
        if isinstance(message, _ToolMsg) and message.tool_call_id not in seen_call_ids:
            raise _RequestError(
                f"Invalid value for '{where}.tool_call_id': {message.tool_call_id!r} answers no "
                "tool call of an earlier assistant message; a 'tool' message must follow the "
                "assistant message whose tool_calls it answers.",
                param=f"{where}.tool_call_id",
            )
        dumped = message.model_dump(exclude_none=True)
        if role == "assistant":
            dumped.setdefault("content", "")
        messages.append(dumped)

    if request.tool_choice is not None and not request.tools:
        raise _RequestError(
            "Invalid value for 'tool_choice': tool_choice is only allowed when 'tools' are "
            "specified.",
            param="tool_choice",
        )
    if isinstance(request.tool_choice, _NamedChoice):
        names = [tool.function.name for tool in request.tools or []]
        if request.tool_choice.name not in names:
            raise _RequestError(
                f"Invalid value for 'tool_choice.function.name': {request.tool_choice.name!r} "
                f"is not among the tools; tools: {', '.join(map(repr, names))}.",
                param="tool_choice.function.name",
            )
    if request.stream_options is not None and not request.stream:
        raise _RequestError(
            "Invalid value for 'stream_options': stream_options is only allowed when 'stream' "
            "is true.",
            param="stream_options",
        )
    if request.n not in (None, 1):
        raise _RequestError(
            f"Invalid value for 'n': {request.n!r}; this server returns one choice (n=1).",
            param="n",
        )
    rf = request.response_format
    if rf is not None and rf.type == "json_schema" and rf.json_schema is None:
        raise _RequestError(
            "Missing required parameter: 'response_format.json_schema' "
            "(needed when response_format.type is 'json_schema').",
            param="response_format.json_schema",
        )
    return request, convert_to_messages(messages)


def _check_arguments(arguments: str, where: str) -> None:
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise _RequestError(
            f"Invalid value for '{where}.arguments': not valid JSON ({exc.msg}); "
            "expected a JSON object as a string.",
            param=f"{where}.arguments",
        ) from None
    if not isinstance(parsed, dict):
        raise _RequestError(
            f"Invalid value for '{where}.arguments': expected a JSON object as a string, "
            f"got {_short(arguments)}.",
            param=f"{where}.arguments",
        )


def _structured_schema(request: _ChatRequest) -> dict[str, Any] | None:
    """The JSON schema a ``response_format`` asks for, or None for plain text."""
    rf = request.response_format
    if rf is None or rf.type == "text":
        return None
    if rf.type == "json_object":
        return {"type": "object"}
    spec = rf.json_schema
    assert spec is not None  # checked in _parse_chat
    schema = dict(spec.schema_ or {"type": "object"})
    schema.setdefault("title", spec.name)
    if spec.description:
        schema.setdefault("description", spec.description)
    return schema


def _usage(usage: UsageMetadata | None) -> dict[str, int] | None:
    if not usage:
        return None
    return {
        "prompt_tokens": usage.get("input_tokens", 0),
        "completion_tokens": usage.get("output_tokens", 0),
        "total_tokens": usage.get("total_tokens", 0),
    }


def _call_id(existing: str | None) -> str:
    return existing or f"call_{uuid.uuid4().hex[:24]}"


def _finish_reason(message: BaseMessage, has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    reason = message.response_metadata.get("finish_reason")
    return reason if reason in ("stop", "length", "content_filter") else "stop"


# --- the served model --------------------------------------------------------------


@dataclass
class _Served:
    """What one app serves: the chat model and the ids it answers to."""

    model: BaseChatModel
    model_id: str
    created: int
    embed_lock: threading.Lock

    def runnable(self, request: _ChatRequest) -> Any:
        """The model, with the request's tools bound unless tool_choice is 'none'."""
        if not request.tools or request.tool_choice == "none":
            return self.model
        tools = [tool.model_dump(exclude_none=True) for tool in request.tools]
        for tool in tools:
            tool["function"].setdefault("parameters", {"type": "object", "properties": {}})
        choice = request.tool_choice
        tool_choice = choice.name if isinstance(choice, _NamedChoice) else choice
        try:
            return self.model.bind_tools(tools, tool_choice=tool_choice)
        except NotImplementedError:
            raise _RequestError(
                f"model {self.model_id!r} cannot call tools; send the request without 'tools'.",
                param="tools",
            ) from None

    async def structured(self, messages: list[BaseMessage], schema: dict[str, Any]) -> AIMessage:
        """Answer with JSON filling ``schema``, as the message content."""
        fill = getattr(self.model, "fill_schema", None)
        if callable(fill):
            data = await run_in_threadpool(fill, messages, schema)
        elif "properties" not in schema:
            # JSON mode: no schema to fill, the model's own answer must be a JSON object.
            reply = await self.model.ainvoke(messages)
            try:
                data = JsonOutputParser().parse(reply.text)
            except OutputParserException:
                data = None
            if not isinstance(data, dict):
                raise ModelBehaviorError(
                    f"model {self.model_id!r} did not answer with a JSON object for "
                    f"response_format json_object: {_short(reply.text)}"
                )
        else:
            try:
                runnable = self.model.with_structured_output(schema)
            except NotImplementedError:
                raise _RequestError(
                    f"model {self.model_id!r} cannot produce structured output; "
                    "send the request without 'response_format'.",
                    param="response_format",
                ) from None
            data = await runnable.ainvoke(messages)
        content = json.dumps(data, ensure_ascii=False)
        # fill_schema returns data, not a message: the usage is estimated (about
        # four characters a token), as the offline model's own usage is.
        prompt = count_tokens_approximately(messages)
        completion = count_tokens_approximately([AIMessage(content=content)])
        return AIMessage(
            content=content,
            usage_metadata={
                "input_tokens": prompt,
                "output_tokens": completion,
                "total_tokens": prompt + completion,
            },
        )

    async def answer(self, request: _ChatRequest, messages: list[BaseMessage]) -> AIMessage:
        """The complete reply to a chat request."""
        schema = _structured_schema(request)
        runnable = self.runnable(request)
        if schema is not None and runnable is self.model:
            return await self.structured(messages, schema)
        reply = await runnable.ainvoke(messages, **request.call_options(self.model))
        if schema is not None and not reply.tool_calls:
            # With tools and a response_format, a reply that calls no tool is the
            # final answer, and that answer must fill the schema.
            return await self.structured(messages, schema)
        return reply


def _served_id(model: str | BaseChatModel | None, chat_model: BaseChatModel) -> str:
    if isinstance(model, str):
        return OFFLINE_MODEL_ID if model.strip() == OFFLINE else model.strip()
    if chat_model._llm_type == OFFLINE_MODEL_ID:
        return OFFLINE_MODEL_ID
    name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    return name if isinstance(name, str) and name else f"podium-{chat_model._llm_type}"


# --- handlers ----------------------------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _RequestError(
            "We could not parse the JSON body of your request: send a JSON object with "
            "Content-Type: application/json.",
        ) from None
    if not isinstance(body, dict):
        raise _RequestError(f"The request body must be a JSON object, got {_short(body)}.")
    return body


def _check_model(served: _Served, name: str, kind: Literal["chat", "embeddings"]) -> None:
    expected = served.model_id if kind == "chat" else EMBEDDING_MODEL_ID
    if name != expected:
        raise _RequestError(
            f"The model {name!r} is not served here; for {kind} use {expected!r} "
            f"(GET /v1/models lists {served.model_id!r} and {EMBEDDING_MODEL_ID!r}).",
            param="model",
            status=404,
            code="model_not_found",
        )


def _model_card(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "podium"}


async def _list_models(request: Request) -> Response:
    served: _Served = request.app.state.served
    return JSONResponse(
        {
            "object": "list",
            "data": [
                _model_card(served.model_id, served.created),
                _model_card(EMBEDDING_MODEL_ID, served.created),
            ],
        }
    )


async def _get_model(request: Request) -> Response:
    served: _Served = request.app.state.served
    model_id = request.path_params["model_id"]
    if model_id not in (served.model_id, EMBEDDING_MODEL_ID):
        raise _RequestError(
            f"The model {model_id!r} does not exist here; served: "
            f"{served.model_id!r}, {EMBEDDING_MODEL_ID!r}.",
            param="model",
            status=404,
            code="model_not_found",
        )
    return JSONResponse(_model_card(model_id, served.created))


def _completion(served: _Served, reply: AIMessage, parallel: bool) -> dict[str, Any]:
    calls = [
        {
            "id": _call_id(call.get("id")),
            "type": "function",
            "function": {
                "name": call["name"],
                "arguments": json.dumps(call["args"], ensure_ascii=False),
            },
        }
        for call in reply.tool_calls
    ] + [
        {
            "id": _call_id(call.get("id")),
            "type": "function",
            "function": {"name": call.get("name") or "", "arguments": call.get("args") or ""},
        }
        for call in reply.invalid_tool_calls
    ]
    if not parallel:
        calls = calls[:1]
    text = reply.text
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": served.model_id,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(reply, bool(calls)),
                "logprobs": None,
            }
        ],
        "system_fingerprint": None,
    }
    if (usage := _usage(reply.usage_metadata)) is not None:
        body["usage"] = usage
    return body


class _ChunkWriter:
    """Turns LangChain message chunks into ``chat.completion.chunk`` payloads."""

    def __init__(self, served: _Served, parallel: bool) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model_id = served.model_id
        self.parallel = parallel
        self.usage: UsageMetadata | None = None
        self.finish: str = "stop"
        self._indices: dict[Any, int] = {}
        self._last_key: Any = None

    def payload(self, delta: dict[str, Any] | None, finish: str | None = None) -> str:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model_id,
            "system_fingerprint": None,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        return json.dumps(body, ensure_ascii=False)

    def _tool_deltas(self, chunk: BaseMessage) -> list[dict[str, Any]]:
        if isinstance(chunk, AIMessageChunk):
            pieces = [
                (c.get("index"), c.get("id"), c.get("name"), c.get("args") or "")
                for c in chunk.tool_call_chunks
            ]
        elif isinstance(chunk, AIMessage):
            # A model that does not stream hands over one complete message.
            pieces = [
                (None, c.get("id"), c["name"], json.dumps(c["args"], ensure_ascii=False))
                for c in chunk.tool_calls
            ]
        else:
            pieces = []
        deltas = []
        for index, call_id, name, args in pieces:
            if index is not None:
                key = ("index", index)
            elif call_id is not None or name is not None or self._last_key is None:
                key = ("call", len(self._indices))
            else:
                key = self._last_key
            self._last_key = key
            delta: dict[str, Any] = {}
            if key not in self._indices:
                self._indices[key] = len(self._indices)
                delta = {"id": _call_id(call_id), "type": "function"}
                delta["function"] = {"name": name or "", "arguments": args}
            else:
                delta["function"] = {"arguments": args}
                if not args:
                    continue
            position = self._indices[key]
            if not self.parallel and position > 0:
                continue
            deltas.append({"index": position, **delta})
        return deltas

    def deltas(self, chunk: BaseMessage) -> list[dict[str, Any]]:
        """The deltas one message chunk adds; records usage and finish reason."""
        if usage := getattr(chunk, "usage_metadata", None):
            self.usage = add_usage(self.usage, usage)
        out: list[dict[str, Any]] = []
        if text := chunk.text:
            out.append({"content": text})
        if tool_deltas := self._tool_deltas(chunk):
            out.append({"tool_calls": tool_deltas})
        if self._indices:
            self.finish = "tool_calls"
        elif (reason := chunk.response_metadata.get("finish_reason")) in ("length", "stop"):
            self.finish = reason
        return out


_PIECES = re.compile(r"\s*\S+\s*|\s+")


def _split_message(message: AIMessage) -> list[AIMessageChunk]:
    """Cut a complete message into chunks, a word each, for a streamed reply."""
    chunks = [AIMessageChunk(content=piece) for piece in _PIECES.findall(message.text)]
    for index, call in enumerate(message.tool_calls):
        args = json.dumps(call["args"], ensure_ascii=False)
        chunks.append(
            AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {"index": index, "id": call.get("id"), "name": call["name"], "args": ""}
                ],
            )
        )
        chunks.extend(
            AIMessageChunk(
                content="",
                tool_call_chunks=[{"index": index, "id": None, "name": None, "args": piece}],
            )
            for piece in _PIECES.findall(args)
        )
    chunks.append(AIMessageChunk(content="", usage_metadata=message.usage_metadata))
    return chunks


async def _stream_events(
    served: _Served, request: _ChatRequest, messages: list[BaseMessage], runnable: Any
) -> AsyncIterator[dict[str, str]]:
    writer = _ChunkWriter(served, parallel=request.parallel_tool_calls is not False)
    try:
        yield {"data": writer.payload({"role": "assistant", "content": ""})}
        if _structured_schema(request) is not None:
            # The reply must be known whole before it is sent (a text answer is
            # replaced by the schema's JSON), so it is computed, then cut up.
            reply = await served.answer(request, messages)
            source: AsyncIterator[BaseMessage] = _aiter(_split_message(reply))
        else:
            source = runnable.astream(messages, **request.call_options(served.model))
        async for chunk in source:
            for delta in writer.deltas(chunk):
                yield {"data": writer.payload(delta)}
        yield {"data": writer.payload({}, finish=writer.finish)}
        if request.stream_options is not None and request.stream_options.include_usage:
            body = json.loads(writer.payload(None))
            body["usage"] = _usage(writer.usage) or {
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "total_tokens": 0,
            }
            yield {"data": json.dumps(body)}
        yield {"data": "[DONE]"}
    except Exception as exc:  # the status line is sent: report the error in the stream
        error = _as_request_error(exc)
        yield {"data": json.dumps(error.body())}


async def _aiter(items: list[AIMessageChunk]) -> AsyncIterator[BaseMessage]:
    for item in items:
        yield item


def _as_request_error(exc: Exception) -> _RequestError:
    if isinstance(exc, _RequestError):
        return exc
    if isinstance(exc, InputError | ConfigError | ToolInputError):
        return _RequestError(str(exc))
    if isinstance(exc, PodiumError):
        return _RequestError(str(exc), status=500, type_="server_error", code="model_error")
    logger.exception("the model failed")
    return _RequestError(
        f"The model failed: {type(exc).__name__}: {exc}", status=500, type_="server_error"
    )


async def _chat_completions(request: Request) -> Response:
    served: _Served = request.app.state.served
    chat, messages = _parse_chat(await _json_body(request))
    _check_model(served, chat.model, "chat")
    if chat.stream:
        # Bind tools before the 200 status line goes out, so a refusal is still a 400.
        runnable = served.runnable(chat)
        return EventSourceResponse(_stream_events(served, chat, messages, runnable), ping=0)
    try:
        reply = await served.answer(chat, messages)
    except Exception as exc:
        return _as_request_error(exc).response()
    return JSONResponse(_completion(served, reply, chat.parallel_tool_calls is not False))


def _embed_and_count(lock: threading.Lock, texts: list[str]) -> tuple[list[list[float]], int]:
    from podium.models import load_embeddings, load_sentence_transformer

    # One model, one fast tokenizer: concurrent calls can trip the tokenizer's
    # "Already borrowed" error, and the work is CPU-bound anyway.
    with lock:
        vectors = load_embeddings().embed_documents(texts)
        ids = load_sentence_transformer().tokenizer(texts, add_special_tokens=True)["input_ids"]
    return vectors, sum(len(row) for row in ids)


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


async def _embeddings(request: Request) -> Response:
    served: _Served = request.app.state.served
    try:
        body = _EmbeddingRequest.model_validate(await _json_body(request))
    except ValidationError as exc:
        raise _from_validation(exc) from None
    _check_model(served, body.model, "embeddings")
    if body.dimensions is not None and body.dimensions != EMBEDDING_DIM:
        raise _RequestError(
            f"Invalid value for 'dimensions': {body.dimensions}; {EMBEDDING_MODEL_ID} "
            f"has {EMBEDDING_DIM} dimensions (leave 'dimensions' out or send {EMBEDDING_DIM}).",
            param="dimensions",
        )
    vectors, tokens = await run_in_threadpool(_embed_and_count, served.embed_lock, body.input)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
                for i, v in enumerate(vectors)
            ],
            "model": EMBEDDING_MODEL_ID,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _RequestError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Unknown path: {request.method} {request.url.path}; served: {_ROUTES}."
    elif exc.status_code == 405:
        message = (
            f"Method {request.method} is not allowed on {request.url.path}; served: {_ROUTES}."
        )
    else:
        message = str(exc.detail)
    return _RequestError(message, status=exc.status_code, code=str(exc.status_code)).response()


# --- public ------------------------------------------------------------------------


def create_app(
    model: str | BaseChatModel | None = OFFLINE, *, model_id: str | None = None
) -> Starlette:
    """Build the OpenAI-compatible app serving ``model`` and the MiniLM embeddings.

    Args:
        model: A ``load_chat_model`` spec (``"offline"`` by default; ``None`` reads
            ``PODIUM_MODEL``) or a chat model instance.
        model_id: The id clients send as ``model``; by default ``"podium-offline"``
            for the offline model, else the spec or the model's name.

    Returns:
        A Starlette app with ``GET /v1/models``, ``POST /v1/chat/completions`` and
        ``POST /v1/embeddings``.

    Raises:
        ConfigError: The model spec is malformed or the model cannot start.
    """
    chat_model = load_chat_model(model)
    served = _Served(
        model=chat_model,
        model_id=model_id or _served_id(model, chat_model),
        created=int(time.time()),
        embed_lock=threading.Lock(),
    )
    app = Starlette(
        routes=[
            Route("/v1/models", _list_models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", _get_model, methods=["GET"]),
            Route("/v1/chat/completions", _chat_completions, methods=["POST"]),
            Route("/v1/embeddings", _embeddings, methods=["POST"]),
        ],
        exception_handlers={_RequestError: _request_error, HTTPException: _http_error},
    )
    app.state.served = served
    return app


def run_server(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str | BaseChatModel | None = OFFLINE,
    *,
    announce: Callable[[str, str], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``model`` over HTTP with uvicorn until interrupted.

    Args:
        host: Interface to bind; the default serves this machine only.
        port: TCP port.
        model: A ``load_chat_model`` spec or a chat model instance.
        announce: Called with the base URL (for ``OPENAI_BASE_URL``) and the served
            model id once the app is built, before the server starts.
        log_level: uvicorn's log level.

    Raises:
        ConfigError: The model spec is malformed or the model cannot start.
    """
    import uvicorn

    app = create_app(model)
    if announce is not None:
        announce(f"http://{host}:{port}/v1", app.state.served.model_id)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
