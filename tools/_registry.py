"""The tool registry: graphs and the CLI find tools by name here.

Built-in families register themselves through the same ``register_tools`` call a
plugin uses; their modules are imported on first use of the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from langchain_core.tools import BaseTool

from podium.errors import ConfigError

__all__ = ["get_tool", "get_tools", "list_tools", "register_tools"]

# One module per built-in family; each calls register_tools() at import.
_BUILTIN_MODULES: tuple[str, ...] = (
    "podium.tools.calculator",
    "podium.tools.sql",
    "podium.tools.travel",
    "podium.tools.files",
    "podium.tools.search",
    "podium.tools.code",
    "podium.tools.http",
    "podium.tools.web_search",
)

_registry: dict[str, BaseTool] = {}
_loaded = False


def register_tools(tools: Iterable[BaseTool], *, replace: bool = False) -> None:
    """Add tools to the registry under their ``name``.

    Args:
        tools: LangChain tools.
        replace: Allow a name that is already registered to be replaced.

    Raises:
        ConfigError: A name is already taken and ``replace`` is False.
    """
    for tool in tools:
        if not isinstance(tool, BaseTool):
            raise ConfigError(f"register_tools expects LangChain BaseTool objects, got {tool!r}")
        if tool.name in _registry and not replace and _registry[tool.name] is not tool:
            raise ConfigError(
                f"a tool named {tool.name!r} is already registered; "
                "pass replace=True to replace it"
            )
        _registry[tool.name] = tool


def _ensure_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def get_tool(name: str) -> BaseTool:
    """Return the registered tool called ``name``.

    Raises:
        ConfigError: No tool has that name; the message lists the names there are.
    """
    _ensure_builtins()
    try:
        return _registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown tool {name!r}; registered tools: {', '.join(sorted(_registry))}"
        ) from None


def get_tools(names: Iterable[str] | None = None) -> list[BaseTool]:
    """Return the tools with these names, or every registered tool when ``names`` is None."""
    _ensure_builtins()
    if names is None:
        return [_registry[name] for name in sorted(_registry)]
    return [get_tool(name) for name in names]


def list_tools() -> list[tuple[str, str]]:
    """Return ``(name, first line of description)`` for every registered tool, sorted."""
    return [(tool.name, tool.description.strip().splitlines()[0]) for tool in get_tools()]
