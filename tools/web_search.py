"""Web search that plugs in when a provider's key is set.

Offline is the default: without a key nothing is registered and the model
searches only the knowledge base (``search_knowledge_base``). With
``TAVILY_API_KEY`` set and the ``web`` extra installed (``pip install
'podium[web]'``, which brings ``langchain-tavily``), the registry gains a
``web_search`` tool built on LangChain's Tavily integration.
"""

from __future__ import annotations

import logging

from langchain_core.tools import BaseTool

from podium.errors import ConfigError
from podium.settings import provider_env
from podium.tools._registry import register_tools

__all__ = ["make_web_search_tool"]

log = logging.getLogger(__name__)


def make_web_search_tool(max_results: int = 5) -> BaseTool | None:
    """Return a ``web_search`` tool for the provider whose key is set, or None.

    Args:
        max_results: How many results one search returns.

    Raises:
        ConfigError: A key is set but the provider's package is not installed.
    """
    if not provider_env("TAVILY_API_KEY"):
        return None
    try:
        from langchain_tavily import TavilySearch
    except ImportError:
        raise ConfigError(
            "TAVILY_API_KEY is set but langchain-tavily is not installed; "
            "run: pip install 'podium[web]'"
        ) from None
    return TavilySearch(max_results=max_results, name="web_search")


try:
    _tool = make_web_search_tool()
except ConfigError as exc:
    # Listing or using the other tools must not fail for an optional provider.
    log.warning("web_search not available: %s", exc)
    _tool = None
if _tool is not None:
    register_tools([_tool])
