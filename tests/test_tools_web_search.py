import importlib
import logging
from importlib.util import find_spec

import pytest

from podium.errors import ConfigError
from podium.tools import get_tools
from podium.tools.web_search import make_web_search_tool


def test_offline_by_default_no_web_search_tool():
    assert make_web_search_tool() is None
    assert "web_search" not in {tool.name for tool in get_tools()}


def test_a_key_without_the_package_names_the_extra(monkeypatch):
    if find_spec("langchain_tavily") is not None:
        pytest.skip("langchain-tavily is installed here")
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-test")
    with pytest.raises(ConfigError, match=r"pip install 'podium\[web\]'"):
        make_web_search_tool()


def test_module_import_with_key_but_no_package_only_warns(monkeypatch, caplog):
    if find_spec("langchain_tavily") is not None:
        pytest.skip("langchain-tavily is installed here")
    import podium.tools.web_search as module

    monkeypatch.setenv("TAVILY_API_KEY", "tvly-test")
    with caplog.at_level(logging.WARNING):
        importlib.reload(module)
    assert "web_search not available" in caplog.text
