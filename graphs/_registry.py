"""Registry of Podium's graphs, used by the CLI, the evals and ``langgraph.json``.

A graph is registered by name and module path; its module is imported only when
the graph is used, so listing graphs stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from podium.errors import InputError

__all__ = ["GraphInfo", "get_graph_module", "list_graphs", "register_graph"]


@dataclass(frozen=True)
class GraphInfo:
    """A registered graph: its name, module path and one-line description."""

    name: str
    module: str
    description: str


_graphs: dict[str, GraphInfo] = {}


def register_graph(name: str, module: str, description: str) -> None:
    """Register a graph module (one exposing ``build()`` and ``graph``) under ``name``."""
    _graphs[name] = GraphInfo(name=name, module=module, description=description)


def list_graphs() -> list[GraphInfo]:
    """Return every registered graph, sorted by name."""
    return [_graphs[name] for name in sorted(_graphs)]


def get_graph_module(name: str) -> ModuleType:
    """Import and return the module of the graph called ``name``.

    Raises:
        InputError: No graph has that name; the message lists the names there are.
    """
    info = _graphs.get(name)
    if info is None:
        raise InputError(f"unknown graph {name!r}; available graphs: {', '.join(sorted(_graphs))}")
    return importlib.import_module(info.module)


register_graph(
    "router",
    "podium.graphs.router",
    "Classify a request and hand it to a specialist: math (calculator), code, or general.",
)
