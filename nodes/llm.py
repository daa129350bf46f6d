"""Reusable model-calling nodes.

``make_llm_step`` builds a node that sends the conversation, under a system
prompt, to the model named in ``runtime.context.model`` (optionally with tools
bound) and appends the reply. One compiled graph thus serves any model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy, default_retry_on

from podium.errors import PodiumError
from podium.models import load_chat_model

__all__ = ["MODEL_RETRY", "make_llm_step", "model_from_context", "tool_rounds"]


def _transient(error: Exception) -> bool:
    # A PodiumError (bad input, bad configuration) fails the same way every time.
    return not isinstance(error, PodiumError) and default_retry_on(error)


MODEL_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.5, retry_on=_transient)
"""Retry policy for nodes that call a model: transient provider errors only."""


def model_from_context(runtime: Runtime[Any]) -> Any:
    """Return the chat model named by ``runtime.context.model`` (default: settings)."""
    spec = getattr(runtime.context, "model", None) if runtime.context is not None else None
    return load_chat_model(spec)


def tool_rounds(messages: Sequence[AnyMessage]) -> int:
    """Count the model's tool-calling turns since the latest user message."""
    rounds = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and message.tool_calls:
            rounds += 1
    return rounds


def make_llm_step(
    name: str,
    system_prompt: str,
    *,
    tools: Sequence[BaseTool] = (),
) -> Callable[[dict[str, Any], Runtime[Any]], dict[str, list[AnyMessage]]]:
    """Build a node that answers the conversation with the context's model.

    Tools stay bound while the model has made fewer tool-calling turns since the
    latest user message than ``runtime.context.max_tool_rounds`` (when the context
    has that field); after that the model must answer with what it has, so a
    looping model cannot leave a tool call unanswered.

    Args:
        name: The node's name (also its ``__name__``, so traces and drawings show it).
        system_prompt: Instructions prepended to the conversation.
        tools: Tools bound to the model; the graph routes its tool calls to a ``ToolNode``.

    Returns:
        A node ``(state, runtime) -> {"messages": [reply]}``.
    """

    def step(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, list[AnyMessage]]:
        model = model_from_context(runtime)
        limit = getattr(runtime.context, "max_tool_rounds", None)
        if tools and (limit is None or tool_rounds(state["messages"]) < limit):
            model = model.bind_tools(list(tools))
        reply = model.invoke([SystemMessage(system_prompt), *state["messages"]])
        return {"messages": [reply]}

    step.__name__ = step.__qualname__ = name
    return step
