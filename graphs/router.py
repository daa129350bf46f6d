"""Routing pattern: classify a request, then hand it to a specialist.

``classify`` asks the model for a structured :class:`RouteDecision` (a route
name and a confidence). Below ``RouterContext.threshold`` the request goes to the
general specialist, which is also where a classification the model failed to
produce ends up. Specialists:

- ``math``: a tool-calling loop with the exact calculator (``solve_math`` ⇄ ``tools``);
- ``code``: writes or explains code;
- ``general``: everything else.

Run it::

    podium run router "What is 17% of 2,340?"
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from podium.errors import InputError
from podium.nodes import MODEL_RETRY, make_llm_step, model_from_context
from podium.settings import get_settings
from podium.tools.calculator import calculator

__all__ = [
    "ROUTES",
    "InputState",
    "RouteDecision",
    "RouterContext",
    "RouterState",
    "build",
    "classify",
    "graph",
    "route_after_classify",
    "route_after_solve_math",
]

log = logging.getLogger(__name__)

Route = Literal["math", "code", "general"]
ROUTES: tuple[Route, ...] = ("math", "code", "general")


class RouteDecision(BaseModel):
    """Which specialist should handle the request, and how sure the classifier is."""

    route: Route = Field(
        description=(
            "math: arithmetic and calculations with numbers: percentages, sums, products, "
            "powers, square roots, rounding; "
            "code: programming: writing, explaining or debugging source code, functions, "
            "scripts, SQL queries, software bugs and error messages; "
            "general: knowledge questions about the world, geography, history, people, travel, "
            "health, advice, recommendations, trivia and conversation"
        )
    )
    confidence: float = Field(ge=0.0, le=1.0, description="How sure you are, from 0 to 1.")


@dataclass(frozen=True)
class RouterContext:
    """Per-run knobs of the router graph."""

    model: str | BaseChatModel = field(default_factory=lambda: get_settings().model)
    """Chat model spec ('offline', 'openai:gpt-4o-mini', ...) or a model instance."""
    threshold: float = 0.3
    """Below this classification confidence the request goes to ``general``."""
    max_tool_rounds: int = 4
    """Calculator rounds the math specialist may take before it must answer without tools."""


class InputState(TypedDict):
    """What a caller sends: the conversation."""

    messages: Annotated[list[AnyMessage], add_messages]


class RouterState(InputState, total=False):
    """Full state of the router graph."""

    route: Route  # written by classify
    confidence: float  # written by classify


CLASSIFY_PROMPT = (
    "Classify the user's latest request for a team of specialists. "
    "Reply with the route and your confidence."
)
MATH_PROMPT = (
    "You are a careful mathematician. Use the calculator tool for every computation; "
    "never compute in your head. When the results are in, answer in one sentence."
)
CODE_PROMPT = (
    "You are a senior Python engineer. Write, explain or fix code. Answer with a short "
    "explanation and a code block."
)
GENERAL_PROMPT = "You are a helpful assistant. Answer briefly and say when you are unsure."


def _latest_request(messages: list[AnyMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    raise InputError("the router needs a user message; send {'messages': [('user', '...')]}")


def classify(state: RouterState, runtime: Runtime[RouterContext]) -> dict[str, Any]:
    """Choose a specialist for the latest request, with a confidence."""
    request = _latest_request(state["messages"])
    if not request.strip():
        raise InputError("the request is empty; ask a question or give a task")
    model = model_from_context(runtime).with_structured_output(RouteDecision)
    try:
        decision = model.invoke([SystemMessage(CLASSIFY_PROMPT), HumanMessage(request)])
        if not isinstance(decision, RouteDecision):  # some providers hand back a dict
            decision = RouteDecision.model_validate(decision)
    except (OutputParserException, ValidationError) as exc:
        # Degrade gracefully: an unusable classification is an unsure one.
        log.warning("classification unusable (%s); routing to general", exc)
        return {"route": "general", "confidence": 0.0}
    route: Route = decision.route
    if decision.confidence < runtime.context.threshold:
        log.info("confidence %.2f below threshold; routing to general", decision.confidence)
        route = "general"
    return {"route": route, "confidence": decision.confidence}


def route_after_classify(state: RouterState) -> Literal["solve_math", "write_code", "answer"]:
    """Send the request to the node of its route."""
    return {"math": "solve_math", "code": "write_code"}.get(state["route"], "answer")


def route_after_solve_math(state: RouterState) -> Literal["tools", "__end__"]:
    """Run the calculator while the model asks for it (``solve_math`` caps the rounds)."""
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else END


def build(*, checkpointer: Any = None, store: Any = None, tools: Any = None) -> CompiledStateGraph:
    """Build the router graph.

    Args:
        checkpointer: A LangGraph checkpointer, for threads that remember.
        store: A LangGraph store (unused by this graph; accepted for a uniform API).
        tools: The math specialist's tools (default: the calculator).

    Returns:
        The compiled graph; run-time knobs come from :class:`RouterContext`.
    """
    math_tools = list(tools) if tools is not None else [calculator]
    retry = MODEL_RETRY
    builder = StateGraph(RouterState, context_schema=RouterContext, input_schema=InputState)
    builder.add_node("classify", classify, retry_policy=retry)
    builder.add_node(
        "solve_math", make_llm_step("solve_math", MATH_PROMPT, tools=math_tools), retry_policy=retry
    )
    builder.add_node("tools", ToolNode(math_tools))
    builder.add_node("write_code", make_llm_step("write_code", CODE_PROMPT), retry_policy=retry)
    builder.add_node("answer", make_llm_step("answer", GENERAL_PROMPT), retry_policy=retry)
    builder.add_edge(START, "classify")
    builder.add_conditional_edges("classify", route_after_classify)
    builder.add_conditional_edges("solve_math", route_after_solve_math)
    builder.add_edge("tools", "solve_math")
    builder.add_edge("write_code", END)
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="router")


graph = build()
