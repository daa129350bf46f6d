"""Run a registered graph on one input: the engine behind ``podium run``.

Kept apart from the CLI so notebooks and tests call the same code path.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from podium.errors import InputError
from podium.models import load_chat_model
from podium.settings import get_settings

__all__ = ["RunResult", "final_answer", "run_graph"]


@dataclass
class RunResult:
    """The outcome of one graph run."""

    graph: str
    answer: str
    state: dict[str, Any]
    usage: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    thread_id: str | None = None
    steps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary (messages as role/content pairs)."""
        state = {}
        for key, value in self.state.items():
            if key == "messages":
                value = [{"role": m.type, "content": m.text} for m in value]
            elif hasattr(value, "model_dump"):
                value = value.model_dump()
            state[key] = value
        return {
            "graph": self.graph,
            "answer": self.answer,
            "steps": self.steps,
            "usage": self.usage,
            "elapsed_s": round(self.elapsed_s, 3),
            "thread_id": self.thread_id,
            "state": state,
        }


def final_answer(state: dict[str, Any]) -> str:
    """Return the answer of a finished run: an ``answer`` key, else the last AI message."""
    answer = state.get("answer")
    if isinstance(answer, str) and answer:
        return answer
    for message in reversed(state.get("messages", [])):
        if isinstance(message, AIMessage) and message.text and not message.tool_calls:
            return message.text
    return ""


@contextmanager
def _checkpointer(thread_id: str | None) -> Iterator[Any]:
    if thread_id is None:
        yield None
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    home = get_settings().home
    home.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(home / "checkpoints.sqlite")) as saver:
        yield saver


def _merge_usage(handler: UsageMetadataCallbackHandler) -> dict[str, int]:
    totals = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    for usage in handler.usage_metadata.values():
        for key in totals:
            totals[key] += int(usage.get(key, 0) or 0)
    return totals


def run_graph(
    name: str,
    text: str,
    *,
    model: str | None = None,
    thread_id: str | None = None,
    on_step: Callable[[str, dict[str, Any]], None] | None = None,
    **context: Any,
) -> RunResult:
    """Run the graph called ``name`` on ``text`` and return its answer.

    Args:
        name: A registered graph (see ``podium graphs``).
        text: The user's request.
        model: Model spec for this run (default: ``PODIUM_MODEL``).
        thread_id: Keep the conversation in a SQLite checkpoint under
            ``PODIUM_HOME`` so a later run with the same id continues it.
        on_step: Called with ``(node, update)`` after each node finishes.
        **context: Other fields of the graph's context schema.

    Raises:
        InputError: Empty input or an unknown graph.
        ConfigError: A malformed or unavailable model spec (checked before running).
    """
    from podium.graphs import get_graph_module

    if not text or not text.strip():
        raise InputError("the input is empty; give the graph a request, e.g. 'What is 2 + 2?'")
    module = get_graph_module(name)
    if model is not None:
        load_chat_model(model)  # fail on a bad spec before anything runs
        context["model"] = model
    handler = UsageMetadataCallbackHandler()
    steps: list[str] = []
    started = time.perf_counter()
    with _checkpointer(thread_id) as saver:
        graph = module.build(checkpointer=saver) if saver is not None else module.graph
        schema = graph.builder.context_schema
        unknown = set(context) - {f.name for f in dataclasses.fields(schema)} if schema else set()
        if unknown:
            raise InputError(
                f"graph {name!r} has no settings {sorted(unknown)}; "
                f"it accepts {[f.name for f in dataclasses.fields(schema)]}"
            )
        config: dict[str, Any] = {"callbacks": [handler]}
        if thread_id is not None:
            config["configurable"] = {"thread_id": thread_id}
        state: dict[str, Any] = {}
        for mode, chunk in graph.stream(
            {"messages": [HumanMessage(text)]},
            config=config,
            context=schema(**context) if schema else None,
            stream_mode=["updates", "values"],
        ):
            if mode == "values":
                state = chunk
                continue
            for node, update in chunk.items():
                steps.append(node)
                if on_step is not None:
                    on_step(node, update or {})
    return RunResult(
        graph=name,
        answer=final_answer(state),
        state=state,
        usage=_merge_usage(handler),
        elapsed_s=time.perf_counter() - started,
        thread_id=thread_id,
        steps=steps,
    )


def new_thread_id() -> str:
    """Return a fresh thread id."""
    return uuid.uuid4().hex[:12]


def describe_update(update: dict[str, Any]) -> str:
    """Summarise a node's state update in one short line for progress output."""
    parts = []
    for key, value in update.items():
        if key == "messages":
            for message in value if isinstance(value, list) else [value]:
                if isinstance(message, AIMessage) and message.tool_calls:
                    calls = ", ".join(
                        f"{c['name']}({', '.join(f'{k}={v!r}' for k, v in c['args'].items())})"
                        for c in message.tool_calls
                    )
                    parts.append(f"calls {calls}")
                elif isinstance(message, BaseMessage):
                    text = " ".join(message.text.split())
                    parts.append(f"{message.type}: {text[:80]}{'…' if len(text) > 80 else ''}")
        elif isinstance(value, float):
            parts.append(f"{key}={value:.2f}")
        elif isinstance(value, str | int | bool):
            parts.append(f"{key}={value}")
        else:
            parts.append(key)
    return "; ".join(parts)
