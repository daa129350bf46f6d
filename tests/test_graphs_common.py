"""Conventions every graph keeps: indexed, registered, drawable, snapshot of its topology."""

import importlib
import json
from pathlib import Path

import pytest

from podium.graphs import list_graphs

ROOT = Path(__file__).resolve().parents[1]
GRAPH_FILES = sorted(p.stem for p in (ROOT / "graphs").glob("*.py") if not p.stem.startswith("_"))
LANGGRAPH = json.loads((ROOT / "langgraph.json").read_text())


def test_every_graph_module_is_in_langgraph_json_and_registry():
    assert GRAPH_FILES, "no graph modules found"
    assert sorted(LANGGRAPH["graphs"]) == GRAPH_FILES
    assert sorted(info.name for info in list_graphs()) == GRAPH_FILES
    for target in LANGGRAPH["graphs"].values():
        path, _, attr = target.partition(":")
        assert (ROOT / path).is_file() and attr == "graph", target


@pytest.mark.parametrize("name", GRAPH_FILES)
def test_graph_module_exposes_build_and_graph(name):
    module = importlib.import_module(f"podium.graphs.{name}")
    assert callable(module.build)
    assert module.graph.get_graph().nodes
    assert module.__doc__ and module.build.__doc__


@pytest.mark.parametrize("name", GRAPH_FILES)
def test_topology_snapshot(name, snapshot):
    module = importlib.import_module(f"podium.graphs.{name}")
    assert module.graph.get_graph().draw_mermaid(with_styles=False) == snapshot
