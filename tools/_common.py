"""Shared plumbing for Podium's tools: one error contract for every family.

A tool raises ``ToolException`` (or ``ToolInputError``) for an expected failure;
LangChain turns it into a tool message with ``status="error"`` that the model
reads and may act on. Argument validation errors name the bad field and the
fields the tool accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, ToolException
from langchain_core.tools import tool as _lc_tool
from pydantic import ValidationError

from podium.errors import ToolInputError

__all__ = ["ToolException", "podium_tool", "validation_message"]


def _type_name(spec: dict[str, Any]) -> str:
    """Name a JSON-schema type, reading ``anyOf`` the way optional fields use it."""
    if "type" in spec:
        return str(spec["type"])
    options = [_type_name(option) for option in spec.get("anyOf", [])]
    options = [option for option in options if option != "null"]
    if "enum" in spec:
        return " | ".join(repr(value) for value in spec["enum"])
    return " | ".join(options) or "any"


def validation_message(tool: BaseTool, error: ValidationError) -> str:
    """Return a short message naming each bad field and the accepted arguments."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item.get("loc", ())) or "(arguments)"
        problems.append(f"{field!r}: {item.get('msg', 'invalid')}")
    schema = tool.tool_call_schema
    json_schema = (
        schema.model_json_schema() if hasattr(schema, "model_json_schema") else dict(schema)
    )
    required = set(json_schema.get("required", []))
    accepted = ", ".join(
        f"{name} ({_type_name(spec)}{', required' if name in required else ''})"
        for name, spec in json_schema.get("properties", {}).items()
    )
    return f"Invalid arguments for {tool.name}: {'; '.join(problems)}. Accepted: {accepted}."


def _handle_tool_error(error: ToolException) -> str:
    return f"Error: {error}"


def podium_tool(func: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """Decorate a function as a LangChain tool with Podium's error contract.

    The docstring is parsed (Google style): its first line is the description the
    model reads and ``Args:`` describes every argument. ``ToolInputError`` and
    ``ToolException`` raised inside become a message for the model.
    """

    def wrap(fn: Callable[..., Any]) -> BaseTool:
        import functools
        import inspect

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded(*args: Any, **kw: Any) -> Any:
                try:
                    return await fn(*args, **kw)
                except ToolInputError as exc:
                    raise ToolException(str(exc)) from exc

        else:

            @functools.wraps(fn)
            def guarded(*args: Any, **kw: Any) -> Any:
                try:
                    return fn(*args, **kw)
                except ToolInputError as exc:
                    raise ToolException(str(exc)) from exc

        built: BaseTool = _lc_tool(parse_docstring=True, **kwargs)(guarded)
        built.handle_tool_error = _handle_tool_error
        built.handle_validation_error = lambda error: validation_message(built, error)
        return built

    return wrap(func) if func is not None else wrap
