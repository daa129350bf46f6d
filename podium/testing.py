"""Testing helpers shipped with Podium: a scripted chat model for exact trajectories.

:class:`ScriptedChatModel` answers each call with the next scripted reply and
fails loudly on a call nobody scripted, so a test states the exact trajectory
(model turn, tool call, model turn, ...) that a graph must take.

Example:
    >>> from langchain_core.messages import AIMessage
    >>> from podium.testing import ScriptedChatModel
    >>> model = ScriptedChatModel([
    ...     AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "2+2"},
    ...                                "id": "c1"}]),
    ...     "2 + 2 is 4.",
    ... ])
    >>> model.invoke("What is 2+2?").tool_calls[0]["name"]
    'calculator'
    >>> model.invoke("...").content
    '2 + 2 is 4.'
    >>> model.assert_complete()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, PrivateAttr

from podium.errors import ConfigError, UnexpectedModelCall

__all__ = ["ScriptedChatModel"]

Reply = AIMessage | str | dict[str, Any] | BaseModel
_ACCEPTED = (
    "an AIMessage (tool_calls allowed), a str, or a dict / pydantic instance (a call to the "
    "structured-output schema)"
)


def _describe(message: BaseMessage) -> str:
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    text = text if len(text) <= 200 else text[:199] + "…"
    calls = getattr(message, "tool_calls", None)
    extra = f", tool_calls={[c['name'] for c in calls]}" if calls else ""
    return f"{type(message).__name__}({text!r}{extra})"


class ScriptedChatModel(BaseChatModel):
    """A chat model that replays scripted replies, one per call, and nothing else.

    Replies may be an ``AIMessage`` (with ``tool_calls`` for a tool-calling turn),
    a ``str`` (a text turn), or a ``dict`` / pydantic instance, which becomes a call
    to the bound structured-output schema, so ``with_structured_output`` returns it.
    Copies made by ``bind_tools``, ``with_structured_output`` and ``bind`` share one
    script.

    Attributes:
        replies: The script, in call order.
        calls: The message lists received, one per call (for assertions).
        bound_tools: The tool names of each ``bind_tools`` call, in order.

    Raises:
        UnexpectedModelCall: On a call after the script is used up.
    """

    model_config = ConfigDict(protected_namespaces=())

    replies: list[Any]
    model_name: str = "podium-scripted"

    _cursor: int = PrivateAttr(default=0)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _bound: list[list[str]] = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, replies: Sequence[Reply] = (), **kwargs: Any) -> None:
        replies = list(kwargs.pop("replies", replies))
        for i, reply in enumerate(replies):
            if not isinstance(reply, AIMessage | str | dict | BaseModel):
                raise ConfigError(
                    f"scripted reply {i} is {type(reply).__name__} ({reply!r}); accepted: "
                    f"{_ACCEPTED}"
                )
        super().__init__(replies=replies, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "podium-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "replies": len(self.replies)}

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The message lists this model (and its bound copies) received, in order."""
        return self._calls

    @property
    def bound_tools(self) -> list[list[str]]:
        """The tool names passed to each ``bind_tools`` call, in order."""
        return self._bound

    @property
    def remaining(self) -> int:
        """How many scripted replies are still unused."""
        return len(self.replies) - self._cursor

    def assert_complete(self) -> None:
        """Raise ``AssertionError`` when scripted replies were never used."""
        if self.remaining:
            raise AssertionError(
                f"{self.remaining} of {len(self.replies)} scripted replies were never used; "
                f"the next one is {self.replies[self._cursor]!r}. The graph stopped calling the "
                "model earlier than the script expects."
            )

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (recorded in :attr:`bound_tools`); the script is shared.

        Args:
            tools: Anything ``convert_to_openai_tool`` accepts.
            tool_choice: Recorded and used to name structured-output replies.
            **kwargs: Bound as call options.

        Returns:
            This model with the tools bound.
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        with self._lock:
            self._bound.append([t["function"]["name"] for t in formatted])
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _next_reply(self, messages: list[BaseMessage]) -> tuple[int, Any]:
        with self._lock:
            self._calls.append(list(messages))
            index = self._cursor
            if index >= len(self.replies):
                last = _describe(messages[-1]) if messages else "no messages"
                raise UnexpectedModelCall(
                    f"ScriptedChatModel was called {len(self._calls)} times but only "
                    f"{len(self.replies)} replies were scripted; the last message received was "
                    f"{last}. Script another reply, or find why the graph called the model again."
                )
            self._cursor += 1
            return index, self.replies[index]

    def _message(self, index: int, reply: Any, kwargs: dict[str, Any]) -> AIMessage:
        if isinstance(reply, str):
            return AIMessage(content=reply)
        if isinstance(reply, AIMessage):
            message = reply.model_copy(deep=True)
            if message.tool_calls:
                calls = []
                for i, call in enumerate(message.tool_calls):
                    call = dict(call)
                    call["id"] = call.get("id") or f"call_{index}_{i}"
                    calls.append(call)
                message.tool_calls = calls  # type: ignore[assignment]
            return message
        name = self._schema_name(index, reply, kwargs)
        args = reply.model_dump(mode="json") if isinstance(reply, BaseModel) else dict(reply)
        return AIMessage(
            content="",
            tool_calls=[{"name": name, "args": args, "id": f"call_{index}_0", "type": "tool_call"}],
        )

    def _schema_name(self, index: int, reply: Any, kwargs: dict[str, Any]) -> str:
        names = [t["function"]["name"] for t in kwargs.get("tools") or []]
        choice = kwargs.get("tool_choice")
        if isinstance(reply, BaseModel) and type(reply).__name__ in names:
            return type(reply).__name__
        if isinstance(choice, str) and choice in names:
            return choice
        if len(names) == 1:
            return names[0]
        raise ConfigError(
            f"scripted reply {index} is a {type(reply).__name__}, which becomes a call to the "
            f"structured-output schema, but {len(names)} tools are bound ({names}); use "
            "with_structured_output(...) for it, or script an AIMessage with tool_calls"
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        index, reply = self._next_reply(messages)
        return ChatResult(generations=[ChatGeneration(message=self._message(index, reply, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        index, reply = self._next_reply(messages)
        message = self._message(index, reply, kwargs)
        chunk = AIMessageChunk(
            content=message.content,
            additional_kwargs=message.additional_kwargs,
            response_metadata=message.response_metadata,
            usage_metadata=message.usage_metadata,
            tool_call_chunks=[
                tool_call_chunk(
                    name=call["name"],
                    args=json.dumps(call["args"], ensure_ascii=False),
                    id=call["id"],
                    index=i,
                )
                for i, call in enumerate(message.tool_calls)
            ],
            chunk_position="last",
        )
        if run_manager and isinstance(message.content, str) and message.content:
            run_manager.on_llm_new_token(message.content)
        yield ChatGenerationChunk(message=chunk)
