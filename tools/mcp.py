"""Model Context Protocol both ways: use MCP servers' tools, and serve Podium's tools.

Client. :func:`load_mcp_tools` (or :func:`aload_mcp_tools`) reads a JSON config
and returns the servers' tools as LangChain tools, through
``langchain-mcp-adapters``' ``MultiServerMCPClient``::

    {"servers": {
        "podium": {"transport": "stdio", "command": "python",
                   "args": ["-m", "podium", "mcp", "serve"]},
        "remote": {"transport": "streamable_http", "url": "http://127.0.0.1:8000/mcp"}
    }}

The default path is ``PODIUM_HOME/mcp.json`` (``PODIUM_MCP_CONFIG`` overrides
it). Two ways to hold the servers:

* Per call: the tools from :func:`load_mcp_tools` / :func:`aload_mcp_tools` open a
  session for each call (for ``stdio``, a new server process each time, seconds
  per call), as the adapters' ``get_tools`` does; they work anywhere, any time,
  with ``invoke`` as well as ``ainvoke``.
* Persistent: ``async with open_mcp_tools() as tools`` opens one session per server
  for the block and every call reuses it; ``with MCPToolbox() as tools`` is the
  same for sync code (graphs, scripts), with the sessions held by an event loop in
  a background thread and ``invoke`` handing calls to it. Leaving the block closes
  the sessions (stops ``stdio`` servers); tools called after that raise an error.

Server. :func:`build_mcp_server` exposes tools from Podium's registry through the
official SDK's ``FastMCP``, each with its LangChain JSON schema as the MCP input
schema; :func:`serve_mcp` runs it over stdio or streamable HTTP (``podium mcp
serve``). A tool's expected failure (``Error: ...``) comes back as an MCP result
with ``isError`` set, so a client sees it as a tool error, not a crash.

This module registers no tools at import: which MCP servers to trust is the
caller's decision, and a registry that loaded them on import would make
``podium mcp serve`` start itself whenever its own config lists it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import sys
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from io import TextIOWrapper
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from podium.errors import ConfigError, PodiumError
from podium.settings import get_settings

__all__ = [
    "MCPToolbox",
    "aload_mcp_tools",
    "build_mcp_server",
    "load_mcp_tools",
    "open_mcp_tools",
    "read_mcp_config",
    "serve_mcp",
]

# Keys each transport accepts in the JSON config (what the adapters' connection
# types accept, less the ones that are Python objects: auth, httpx_client_factory).
_TRANSPORT_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "stdio": {
        "command": str,
        "args": list,
        "env": dict,
        "cwd": str,
        "encoding": str,
        "encoding_error_handler": str,
    },
    "streamable_http": {
        "url": str,
        "headers": dict,
        "timeout": (int, float),
        "sse_read_timeout": (int, float),
        "terminate_on_close": bool,
    },
    "sse": {"url": str, "headers": dict, "timeout": (int, float), "sse_read_timeout": (int, float)},
    "websocket": {"url": str},
}
_REQUIRED = {"stdio": "command", "streamable_http": "url", "sse": "url", "websocket": "url"}
_ALIASES = {"http": "streamable_http", "streamable-http": "streamable_http"}
_EXAMPLE = (
    '{"servers": {"name": {"transport": "stdio", "command": "python", "args": ["server.py"]}}}'
)


# --- client ---------------------------------------------------------------------------


def read_mcp_config(config_path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Read and check an MCP client config; return the adapters' connection dicts.

    Args:
        config_path: The JSON file; None uses ``PODIUM_MCP_CONFIG`` or
            ``PODIUM_HOME/mcp.json``.

    Returns:
        ``{server name: connection}`` for ``MultiServerMCPClient``.

    Raises:
        ConfigError: The file is missing or not JSON, or a key or value is wrong;
            the message names the key and lists what is accepted.
    """
    path = Path(config_path) if config_path is not None else get_settings().mcp_config_path
    if not path.is_file():
        raise ConfigError(f"no MCP config at {str(path)!r}; write one such as {_EXAMPLE}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{str(path)!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or "servers" not in data:
        raise ConfigError(f"{str(path)!r} needs a top-level 'servers' object, e.g. {_EXAMPLE}")
    extra = sorted(set(data) - {"servers"})
    if extra:
        raise ConfigError(
            f"unknown top-level key {extra[0]!r} in {str(path)!r}; the only key is 'servers'"
        )
    servers = data["servers"]
    if not isinstance(servers, dict) or not servers:
        raise ConfigError(f"'servers' in {str(path)!r} must be a non-empty object of servers")
    return {name: _connection(name, spec) for name, spec in servers.items()}


def _connection(name: str, spec: Any) -> dict[str, Any]:
    where = f"servers.{name}"
    accepted = ", ".join(sorted(_TRANSPORT_KEYS))
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be an object with a 'transport', got {spec!r}")
    raw = spec.get("transport")
    transport = _ALIASES.get(raw, raw) if isinstance(raw, str) else raw
    if transport not in _TRANSPORT_KEYS:
        raise ConfigError(
            f"{where}.transport is {raw!r}; accepted transports: {accepted} "
            "('http' and 'streamable-http' mean streamable_http)"
        )
    keys = _TRANSPORT_KEYS[transport]
    for key, value in spec.items():
        if key == "transport":
            continue
        if key not in keys:
            raise ConfigError(
                f"unknown key {where}.{key} for transport {transport!r}; "
                f"accepted keys: transport, {', '.join(keys)}"
            )
        if not isinstance(value, keys[key]) or isinstance(value, bool) != (keys[key] is bool):
            raise ConfigError(f"{where}.{key} has the wrong type: {value!r}")
    required = _REQUIRED[transport]
    if not spec.get(required):
        raise ConfigError(f"{where} (transport {transport!r}) needs {required!r}")
    if transport == "stdio":
        args = spec.get("args", [])
        if not all(isinstance(arg, str) for arg in args):
            raise ConfigError(f"{where}.args must be a list of strings, got {args!r}")
        env = spec.get("env") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise ConfigError(f"{where}.env must map names to strings, got {env!r}")
    elif not str(spec["url"]).startswith(
        ("ws://", "wss://") if transport == "websocket" else ("http://", "https://")
    ):
        raise ConfigError(f"{where}.url is not a {transport} URL: {spec['url']!r}")
    connection = {**spec, "transport": transport}
    if transport == "stdio":
        connection.setdefault("args", [])
    return connection


def _run_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine from sync code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _add_sync(tool: BaseTool) -> BaseTool:
    """Give an async-only adapter tool a ``func`` so ``invoke`` works too."""
    if isinstance(tool, StructuredTool) and tool.func is None and tool.coroutine is not None:
        coroutine = tool.coroutine

        def run(**kwargs: Any) -> Any:
            return _run_sync(coroutine(**kwargs))

        tool.func = run
    return tool


async def aload_mcp_tools(
    config_path: str | Path | None = None, *, tool_name_prefix: bool = False
) -> list[BaseTool]:
    """Load the tools of every server in an MCP config as LangChain tools.

    Args:
        config_path: The JSON config; None uses ``PODIUM_MCP_CONFIG`` or
            ``PODIUM_HOME/mcp.json``.
        tool_name_prefix: Prefix each tool's name with its server's name
            (``podium_calculator``), for servers whose tool names clash.

    Returns:
        The tools of all servers, in config order.

    Raises:
        ConfigError: The config is wrong, or a server could not be started or
            reached to list its tools (the message names the server).
    """
    from langchain_mcp_adapters.client import MultiServerMCPClient

    connections = read_mcp_config(config_path)
    client = MultiServerMCPClient(connections, tool_name_prefix=tool_name_prefix)  # type: ignore[arg-type]
    tools: list[BaseTool] = []
    for name, connection in connections.items():
        try:
            loaded = await client.get_tools(server_name=name)
        except Exception as exc:  # noqa: BLE001 - any failure here is the server's config
            raise _server_error(name, connection, exc) from exc
        tools.extend(_add_sync(tool) for tool in loaded)
    return tools


def _server_error(name: str, connection: dict[str, Any], exc: BaseException) -> ConfigError:
    target = connection.get("url") or " ".join([connection["command"], *connection.get("args", [])])
    return ConfigError(
        f"MCP server {name!r} ({connection['transport']}: {target}) could not list "
        f"its tools: {_describe(exc)}"
    )


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def load_mcp_tools(
    config_path: str | Path | None = None, *, tool_name_prefix: bool = False
) -> list[BaseTool]:
    """Load the tools of every server in an MCP config (sync form of :func:`aload_mcp_tools`).

    Args:
        config_path: The JSON config; None uses ``PODIUM_MCP_CONFIG`` or
            ``PODIUM_HOME/mcp.json``.
        tool_name_prefix: Prefix each tool's name with its server's name.

    Returns:
        LangChain tools that support both ``invoke`` and ``ainvoke``.

    Raises:
        ConfigError: The config is wrong or a server could not list its tools.
    """
    return _run_sync(aload_mcp_tools(config_path, tool_name_prefix=tool_name_prefix))


# --- persistent sessions --------------------------------------------------------------


def _bind_to_loop(
    tool: BaseTool, loop: asyncio.AbstractEventLoop, state: dict[str, bool]
) -> BaseTool:
    """Make a session-bound adapter tool callable from any thread or event loop.

    The tool's session lives on ``loop``: ``invoke`` (from another thread) and
    ``ainvoke`` (from another loop) hand the call to that loop; ``ainvoke`` on
    ``loop`` itself runs directly. Calls after the sessions closed raise a
    :class:`~podium.errors.PodiumError` that says so.
    """
    if not (isinstance(tool, StructuredTool) and tool.coroutine is not None):
        return tool
    coroutine = tool.coroutine
    name = tool.name

    def check_open() -> None:
        if not state["open"]:
            raise PodiumError(
                f"MCP tool {name!r} was called after its session closed; call it inside "
                "the `with MCPToolbox(...)` / `async with open_mcp_tools(...)` block"
            )

    async def arun(**kwargs: Any) -> Any:
        check_open()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - a coroutine always has a loop
            running = None
        if running is loop:
            return await coroutine(**kwargs)
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(coroutine(**kwargs), loop)
        )

    def run(**kwargs: Any) -> Any:
        check_open()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise PodiumError(
                f"MCP tool {name!r}: sync invoke on the event loop that holds its session "
                "would block that loop; use `await tool.ainvoke(...)` there, or MCPToolbox "
                "from sync code"
            )
        return asyncio.run_coroutine_threadsafe(coroutine(**kwargs), loop).result()

    tool.coroutine = arun
    tool.func = run
    return tool


@asynccontextmanager
async def open_mcp_tools(
    config_path: str | Path | None = None, *, tool_name_prefix: bool = False
) -> AsyncIterator[list[BaseTool]]:
    """Open one session per configured server and yield their tools; close them on exit.

    Unlike :func:`aload_mcp_tools`, every call goes through the server's one open
    session (for ``stdio``, one server process for the whole block)::

        async with open_mcp_tools() as tools:
            calculator = next(t for t in tools if t.name == "calculator")
            await calculator.ainvoke({"expression": "2 ** 10"})

    Args:
        config_path: The JSON config; None uses ``PODIUM_MCP_CONFIG`` or
            ``PODIUM_HOME/mcp.json``.
        tool_name_prefix: Prefix each tool's name with its server's name.

    Yields:
        The tools of all servers, in config order. ``ainvoke`` works on this loop
        and others; sync ``invoke`` works from other threads (see :class:`MCPToolbox`).

    Raises:
        ConfigError: The config is wrong, or a server could not be started or
            reached to list its tools (the message names the server).
    """
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langchain_mcp_adapters.tools import load_mcp_tools as load_session_tools

    connections = read_mcp_config(config_path)
    client = MultiServerMCPClient(connections, tool_name_prefix=tool_name_prefix)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    state = {"open": True}
    async with AsyncExitStack() as stack:
        tools: list[BaseTool] = []
        for name, connection in connections.items():
            try:
                session = await stack.enter_async_context(client.session(name))
                loaded = await load_session_tools(
                    session,
                    callbacks=client.callbacks,
                    tool_interceptors=client.tool_interceptors,
                    server_name=name,
                    tool_name_prefix=tool_name_prefix,
                    handle_tool_errors=client.handle_tool_errors,
                )
            except Exception as exc:  # noqa: BLE001 - any failure here is the server's config
                raise _server_error(name, connection, exc) from exc
            tools.extend(_bind_to_loop(tool, loop, state) for tool in loaded)
        try:
            yield tools
        finally:
            state["open"] = False


class MCPToolbox:
    """Sync counterpart of :func:`open_mcp_tools`, for graphs and scripts that are not async.

    Runs an event loop in a background thread that holds one session per server;
    the tools' ``invoke`` hands each call to that loop (``ainvoke`` works too)::

        with MCPToolbox() as tools:
            calculator = next(t for t in tools if t.name == "calculator")
            calculator.invoke({"expression": "2 ** 10"})

    Leaving the block closes the sessions (stops ``stdio`` servers) and the thread.

    Args:
        config_path: The JSON config; None uses ``PODIUM_MCP_CONFIG`` or
            ``PODIUM_HOME/mcp.json``.
        tool_name_prefix: Prefix each tool's name with its server's name.
    """

    def __init__(
        self, config_path: str | Path | None = None, *, tool_name_prefix: bool = False
    ) -> None:
        """Remember the config; nothing starts until the ``with`` block is entered."""
        self.config_path = config_path
        self.tool_name_prefix = tool_name_prefix
        self.tools: list[BaseTool] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._held: concurrent.futures.Future[None] | None = None
        self._stop: asyncio.Event | None = None

    async def _hold(self, ready: concurrent.futures.Future[list[BaseTool]]) -> None:
        # One task enters and exits open_mcp_tools: anyio's cancel scopes (stdio,
        # HTTP transports) must be left by the task that entered them.
        self._stop = asyncio.Event()
        async with open_mcp_tools(
            self.config_path, tool_name_prefix=self.tool_name_prefix
        ) as tools:
            ready.set_result(tools)
            await self._stop.wait()

    def __enter__(self) -> list[BaseTool]:
        """Start the loop thread, open the sessions and return the tools.

        Raises:
            ConfigError: The config is wrong or a server could not list its tools;
                the thread is stopped before it is raised.
            PodiumError: The toolbox is already open.
        """
        if self._thread is not None:
            raise PodiumError("this MCPToolbox is already open; use a new one")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="podium-mcp-toolbox", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        ready: concurrent.futures.Future[list[BaseTool]] = concurrent.futures.Future()
        self._held = asyncio.run_coroutine_threadsafe(self._hold(ready), loop)
        concurrent.futures.wait([ready, self._held], return_when=concurrent.futures.FIRST_COMPLETED)
        if not ready.done():
            try:
                self._held.result()
            finally:
                self._shutdown()
        self.tools = ready.result()
        return self.tools

    def __exit__(self, *exc_info: object) -> None:
        """Close the sessions, stop the loop and join its thread."""
        if self._loop is None or self._held is None:
            return
        try:
            if self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
            self._held.result()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop = self._thread = self._held = self._stop = None


# --- server ---------------------------------------------------------------------------


def _mcp_tool(tool: BaseTool):
    """Wrap a LangChain tool as a FastMCP tool with the tool's own JSON schema."""
    from langchain_mcp_adapters.tools import to_fastmcp
    from mcp.server.fastmcp.tools import Tool as FastMCPTool
    from mcp.server.fastmcp.utilities.func_metadata import ArgModelBase, FuncMetadata
    from mcp.types import CallToolResult, TextContent
    from pydantic import ConfigDict

    class _PassThrough(ArgModelBase):
        """Accept any arguments: the LangChain tool validates them with Podium's messages."""

        model_config = ConfigDict(extra="allow")

        def model_dump_one_level(self) -> dict[str, Any]:
            return dict(self.model_extra or {})

    if isinstance(tool.args_schema, dict):
        parameters = dict(tool.tool_call_schema)  # type: ignore[arg-type]
        typed = None
    else:
        try:
            # The adapters' converter checks the schema (pydantic, no injected
            # arguments) and builds the typed metadata used for JSON pre-parsing.
            with warnings.catch_warnings():
                # pydantic warns about a field named "json" (http_post's body); harmless.
                warnings.filterwarnings("ignore", message="Field name", category=UserWarning)
                converted = to_fastmcp(tool)
        except (TypeError, NotImplementedError) as exc:
            raise ConfigError(f"tool {tool.name!r} cannot be served over MCP: {exc}") from exc
        parameters, typed = converted.parameters, converted.fn_metadata

    async def call(**arguments: Any) -> CallToolResult:
        if typed is not None:
            # Some clients send objects and lists as JSON strings; decode those.
            arguments = typed.pre_parse_json(arguments)
        message = await tool.ainvoke(
            {"type": "tool_call", "id": f"mcp-{uuid.uuid4().hex[:12]}", "name": tool.name,
             "args": arguments}
        )
        text = _text(message)
        failed = isinstance(message, ToolMessage) and message.status == "error"
        return CallToolResult(content=[TextContent(type="text", text=text)], isError=failed)

    return FastMCPTool(
        fn=call,
        name=tool.name,
        description=tool.description,
        parameters=parameters,
        fn_metadata=FuncMetadata(arg_model=_PassThrough),
        is_async=True,
    )


def _text(message: Any) -> str:
    content = message.content if isinstance(message, ToolMessage) else message
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            block if isinstance(block, str) else block.get("text", json.dumps(block))
            for block in content
        ]
        return "\n".join(parts)
    return json.dumps(content, default=str)


def build_mcp_server(
    tools: Sequence[BaseTool] | None = None,
    *,
    name: str = "podium",
    host: str = "127.0.0.1",
    port: int = 8000,
):
    """Build a FastMCP server that exposes Podium's tools.

    Args:
        tools: The tools to serve; None serves every tool in Podium's registry.
        name: The server name clients see.
        host: Interface the HTTP transport binds.
        port: Port of the HTTP transport (its endpoint is ``/mcp``).

    Returns:
        A ``mcp.server.fastmcp.FastMCP`` server, not yet running.

    Raises:
        ConfigError: A tool cannot be expressed as an MCP tool.
    """
    from mcp.server.fastmcp import FastMCP

    from podium.tools import get_tools

    served = get_tools() if tools is None else list(tools)
    return FastMCP(
        name,
        instructions="Podium's tools: calculator, SQL, search, code, files, travel, http.",
        tools=[_mcp_tool(tool) for tool in served],
        host=host,
        port=port,
        log_level="WARNING",
    )


def serve_mcp(
    transport: Literal["stdio", "http"] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    tools: Sequence[BaseTool] | None = None,
) -> None:
    """Serve Podium's tools over MCP until the client disconnects or the process stops.

    Args:
        transport: ``stdio`` (the client starts this process) or ``http``
            (streamable HTTP at ``http://HOST:PORT/mcp``).
        host: Interface the HTTP transport binds.
        port: Port of the HTTP transport.
        tools: The tools to serve; None serves every registered tool.

    Raises:
        ConfigError: The transport is unknown or a tool cannot be served.
    """
    if transport not in ("stdio", "http"):
        raise ConfigError(f"unknown MCP transport {transport!r}; choose 'stdio' or 'http'")
    if transport == "http":
        build_mcp_server(tools, host=host, port=port).run("streamable-http")
        return
    # stdout carries the protocol: keep the real one for it and send fd 1 (any print
    # or library chatter, including from tools) to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    server = build_mcp_server(tools)
    import anyio

    anyio.run(_serve_stdio, server, protocol)


async def _serve_stdio(server: Any, protocol: Any) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    stdin = anyio.wrap_file(TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    stdout = anyio.wrap_file(TextIOWrapper(protocol, encoding="utf-8", write_through=True))
    async with stdio_server(stdin, stdout) as (read_stream, write_stream):
        # FastMCP.run_stdio_async always uses sys.stdout; this is the same call with
        # the protocol stream passed in.
        lowlevel = server._mcp_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
