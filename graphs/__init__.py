"""Podium's graphs: one module per orchestration pattern or assistant.

Each module exposes ``build(...)`` and a compiled default ``graph``; import the
module you need (``from podium.graphs import router``).
"""

from podium.graphs._registry import GraphInfo, get_graph_module, list_graphs, register_graph

__all__ = ["GraphInfo", "get_graph_module", "list_graphs", "register_graph"]
