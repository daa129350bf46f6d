"""LangChain tools: calculator, sql, search, code, files, travel, http, mcp.

Find tools by name with :func:`get_tool` / :func:`get_tools`; add your own with
:func:`register_tools`.
"""

from podium.tools._registry import get_tool, get_tools, list_tools, register_tools

__all__ = ["get_tool", "get_tools", "list_tools", "register_tools"]
