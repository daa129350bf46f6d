"""MCP both ways: Podium's client against Podium's server, run as a real subprocess."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from podium.errors import ConfigError, PodiumError
from podium.settings import get_settings
from podium.tools import get_tool, get_tools
from podium.tools.mcp import (
    MCPToolbox,
    aload_mcp_tools,
    build_mcp_server,
    load_mcp_tools,
    open_mcp_tools,
    read_mcp_config,
)

SERVE = [sys.executable, "-m", "podium", "mcp", "serve"]


def _server_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PODIUM_HOME": str(home),
        "PODIUM_ALLOW_NETWORK_MODELS": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "LANGSMITH_TRACING": "false",
    }


def _write(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content if block.get("type") == "text")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    """``podium mcp serve --transport http`` on a free loopback port."""
    home = tmp_path_factory.mktemp("mcp-http-home")
    port = _free_port()
    proc = subprocess.Popen(
        [*SERVE, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=_server_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the MCP server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the MCP server did not open its port within 60 s")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stderr.close()


@pytest.fixture
def http_config(tmp_path, http_server):
    return _write(
        tmp_path / "mcp.json",
        {"servers": {"podium": {"transport": "streamable_http", "url": http_server}}},
    )


# --- round trips --------------------------------------------------------------------


def test_stdio_round_trip_lists_and_calls_tools(tmp_path):
    config = _write(
        tmp_path / "mcp.json",
        {
            "servers": {
                "podium": {
                    "transport": "stdio",
                    "command": SERVE[0],
                    "args": [*SERVE[1:], "--transport", "stdio"],
                    "env": _server_env(tmp_path / "server-home"),
                }
            }
        },
    )
    tools = load_mcp_tools(config)  # sync API: one server process lists the tools
    assert sorted(t.name for t in tools) == sorted(t.name for t in get_tools())
    calculator = next(t for t in tools if t.name == "calculator")
    # Sync invoke of an MCP tool: another server process, started for this call.
    assert _text(calculator.invoke({"expression": "2 ** 100"})) == str(2**100)


async def test_http_round_trip_calls_calculator_exactly(http_config):
    tools = {t.name: t for t in await aload_mcp_tools(http_config)}
    assert set(tools) == {t.name for t in get_tools()}
    calculator = tools["calculator"]
    assert _text(await calculator.ainvoke({"expression": "17% of 2,340"})) == "397.8"
    assert _text(await calculator.ainvoke({"expression": "0.1 + 0.2"})) == "0.3"
    assert _text(await calculator.ainvoke({"expression": "2 ** 100"})) == str(2**100)


async def test_http_schemas_are_the_tools_own(http_config):
    tools = {t.name: t for t in await aload_mcp_tools(http_config)}
    for name in ("calculator", "http_post", "run_python", "sql_query"):
        local = get_tool(name)
        remote = tools[name]
        assert remote.description == local.description
        expected = local.tool_call_schema.model_json_schema()
        assert remote.args_schema["properties"] == expected["properties"]
        assert remote.args_schema.get("required", []) == expected.get("required", [])


async def test_http_tool_errors_come_back_as_tool_errors(http_config):
    tools = {t.name: t for t in await aload_mcp_tools(http_config)}
    calculator = tools["calculator"]
    message = await calculator.ainvoke(
        {"type": "tool_call", "id": "m1", "name": "calculator", "args": {"expression": "1/0"}}
    )
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert _text(message.content) == "Error: division by zero"
    missing = await calculator.ainvoke(
        {"type": "tool_call", "id": "m2", "name": "calculator", "args": {}}
    )
    assert missing.status == "error"
    assert "'expression'" in _text(missing.content) and "required" in _text(missing.content)


async def test_http_round_trip_runs_code_in_the_servers_sandbox(http_config):
    tools = {t.name: t for t in await aload_mcp_tools(http_config)}
    text = _text(await tools["run_python"].ainvoke({"code": "sum(range(101))"}))
    assert text.startswith("[sandbox: ") and text.endswith("5050")


async def test_tool_name_prefix(http_config):
    names = {t.name for t in await aload_mcp_tools(http_config, tool_name_prefix=True)}
    assert "podium_calculator" in names


async def test_in_process_server_lists_every_registered_tool():
    server = build_mcp_server()
    listed = {tool.name: tool for tool in await server.list_tools()}
    assert set(listed) == {t.name for t in get_tools()}
    assert listed["calculator"].inputSchema == get_tool(
        "calculator"
    ).tool_call_schema.model_json_schema()
    result = await server.call_tool("calculator", {"expression": "sqrt(16)"})
    assert result.isError is False and result.content[0].text == "4"


# --- bad config ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        (
            {"servers": {"x": {"transport": "carrier-pigeon", "url": "http://a"}}},
            ["servers.x.transport", "'carrier-pigeon'", "sse, stdio, streamable_http, websocket"],
        ),
        ({"servers": {"x": {"command": "python"}}}, ["servers.x.transport is None"]),
        (
            {"servers": {"x": {"transport": "stdio", "command": "python", "port": 3}}},
            ["unknown key servers.x.port", "accepted keys: transport, command, args"],
        ),
        ({"servers": {"x": {"transport": "stdio"}}}, ["servers.x", "needs 'command'"]),
        (
            {"servers": {"x": {"transport": "http", "url": "ftp://a"}}},
            ["servers.x.url is not a streamable_http URL"],
        ),
        (
            {"servers": {"x": {"transport": "stdio", "command": "python", "args": "-m x"}}},
            ["servers.x.args has the wrong type"],
        ),
        ({"servers": {}}, ["must be a non-empty object"]),
        ({"mcpServers": {}}, ["needs a top-level 'servers' object"]),
        ({"servers": {"x": {"transport": "sse", "url": "http://a"}}, "extra": 1}, ["'extra'"]),
    ],
)
def test_bad_config_names_the_key(tmp_path, config, fragments):
    path = _write(tmp_path / "mcp.json", config)
    with pytest.raises(ConfigError) as info:
        load_mcp_tools(path)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_invalid_json_and_missing_file(tmp_path):
    path = tmp_path / "mcp.json"
    path.write_text('{"servers": {', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        read_mcp_config(path)
    with pytest.raises(ConfigError, match="no MCP config at"):
        read_mcp_config(tmp_path / "absent.json")


def test_default_path_is_under_podium_home(monkeypatch, tmp_path):
    default = get_settings().mcp_config_path
    assert default == get_settings().home / "mcp.json"
    default.parent.mkdir(parents=True, exist_ok=True)
    _write(default, {"servers": {"a": {"transport": "http", "url": "http://127.0.0.1:9/mcp"}}})
    assert read_mcp_config() == {
        "a": {"transport": "streamable_http", "url": "http://127.0.0.1:9/mcp"}
    }
    other = _write(tmp_path / "other.json", {"servers": {"b": {"transport": "stdio",
                                                               "command": "true"}}})
    monkeypatch.setenv("PODIUM_MCP_CONFIG", str(other))
    get_settings.cache_clear()
    assert read_mcp_config() == {"b": {"transport": "stdio", "command": "true", "args": []}}


def test_a_server_that_does_not_start_is_named(tmp_path):
    path = _write(
        tmp_path / "mcp.json",
        {"servers": {"broken": {"transport": "stdio", "command": str(tmp_path / "no-such")}}},
    )
    with pytest.raises(ConfigError, match=r"MCP server 'broken' \(stdio: .*no-such\) could not"):
        load_mcp_tools(path)


def test_stdio_server_keeps_stray_prints_off_the_protocol(tmp_path, caplog):
    script = tmp_path / "noisy_server.py"
    script.write_text(
        "from langchain_core.tools import tool\n"
        "from podium.tools.mcp import serve_mcp\n"
        "@tool\n"
        "def shout(word: str) -> str:\n"
        "    '''Shout a word.'''\n"
        "    print('chatter inside a tool call', flush=True)\n"
        "    return word.upper()\n"
        "serve_mcp('stdio', tools=[shout])\n",
        encoding="utf-8",
    )
    config = _write(
        tmp_path / "mcp.json",
        {
            "servers": {
                "noisy": {
                    "transport": "stdio",
                    "command": sys.executable,
                    "args": [str(script)],
                    "env": _server_env(tmp_path / "home"),
                }
            }
        },
    )
    (shout,) = load_mcp_tools(config)
    assert _text(shout.invoke({"word": "hello"})) == "HELLO"
    # The client survives a non-JSON line on the protocol stream but logs it; the
    # server sent the print to its stderr, so nothing was logged.
    assert "Failed to parse JSONRPC message" not in caplog.text
    assert "chatter" not in caplog.text


# --- persistent sessions ------------------------------------------------------------

_COUNTING_SERVER = """\
import os, sys
with open(sys.argv[1], "a", encoding="utf-8") as starts:
    starts.write(f"{os.getpid()}\\n")
os.execv(sys.executable, [sys.executable, "-m", "podium", "mcp", "serve", "--transport", "stdio"])
"""


def _counting_config(tmp_path: Path) -> tuple[Path, Path]:
    """A stdio config whose server appends its pid to a file each time it starts."""
    wrapper = tmp_path / "counting_server.py"
    wrapper.write_text(_COUNTING_SERVER, encoding="utf-8")
    starts = tmp_path / "starts.txt"
    config = _write(
        tmp_path / "mcp.json",
        {
            "servers": {
                "podium": {
                    "transport": "stdio",
                    "command": sys.executable,
                    "args": [str(wrapper), str(starts)],
                    "env": _server_env(tmp_path / "server-home"),
                }
            }
        },
    )
    return config, starts


def _started(starts: Path) -> list[int]:
    return [int(pid) for pid in starts.read_text().split()] if starts.exists() else []


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _toolbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "podium-mcp-toolbox"]


def test_toolbox_keeps_one_stdio_server_for_all_calls(tmp_path):
    config, starts = _counting_config(tmp_path)
    persistent = []
    with MCPToolbox(config) as tools:
        assert sorted(t.name for t in tools) == sorted(t.name for t in get_tools())
        calculator = next(t for t in tools if t.name == "calculator")
        for expression, expected in (
            ("2 ** 100", str(2**100)),
            ("17% of 2,340", "397.8"),
            ("0.1 + 0.2", "0.3"),
        ):
            started = time.perf_counter()
            assert _text(calculator.invoke({"expression": expression})) == expected
            persistent.append(time.perf_counter() - started)
        message = calculator.invoke(
            {"type": "tool_call", "id": "t1", "name": "calculator", "args": {"expression": "1/0"}}
        )
        assert message.status == "error" and _text(message.content) == "Error: division by zero"
        assert len(_started(starts)) == 1  # listing and four calls: one server process
        (pid,) = _started(starts)
    assert _gone(pid), "leaving the block did not stop the stdio server"
    assert _toolbox_threads() == []
    with pytest.raises(PodiumError, match="after its session closed"):
        calculator.invoke({"expression": "1 + 1"})

    # The per-call path, for comparison: every call starts another server.
    per_call_tool = next(t for t in load_mcp_tools(config) if t.name == "calculator")
    before = len(_started(starts))
    started = time.perf_counter()
    assert _text(per_call_tool.invoke({"expression": "2 ** 100"})) == str(2**100)
    per_call = time.perf_counter() - started
    assert len(_started(starts)) == before + 1
    print(
        f"\nMCP stdio calculator call: persistent median "
        f"{statistics.median(persistent) * 1000:.1f} ms (max {max(persistent) * 1000:.1f}), "
        f"per-call session {per_call * 1000:.0f} ms"
    )
    assert max(persistent) < per_call


async def test_open_mcp_tools_holds_one_session(tmp_path):
    config, starts = _counting_config(tmp_path)
    async with open_mcp_tools(config) as tools:
        calculator = next(t for t in tools if t.name == "calculator")
        assert _text(await calculator.ainvoke({"expression": "2 ** 100"})) == str(2**100)
        assert _text(await calculator.ainvoke({"expression": "17% of 2,340"})) == "397.8"
        assert _text(await calculator.ainvoke({"expression": "sqrt(16)"})) == "4"
        # A sync call on the loop that holds the session would deadlock it: refused.
        with pytest.raises(PodiumError, match="use `await tool.ainvoke"):
            calculator.invoke({"expression": "1 + 1"})
        assert len(_started(starts)) == 1
        (pid,) = _started(starts)
    assert _gone(pid)
    with pytest.raises(PodiumError, match="after its session closed"):
        await calculator.ainvoke({"expression": "1 + 1"})


async def test_toolbox_tools_work_from_another_event_loop(http_config):
    # The toolbox's sessions live on its own loop; ainvoke from this test's loop
    # hands the call over to it.
    with MCPToolbox(http_config, tool_name_prefix=True) as tools:
        calculator = next(t for t in tools if t.name == "podium_calculator")
        assert _text(await calculator.ainvoke({"expression": "2 ** 10"})) == "1024"
        assert _text(calculator.invoke({"expression": "7 * 6"})) == "42"
    assert _toolbox_threads() == []


def test_toolbox_setup_failure_names_the_server_and_leaves_no_thread(tmp_path):
    path = _write(
        tmp_path / "mcp.json",
        {"servers": {"broken": {"transport": "stdio", "command": str(tmp_path / "no-such")}}},
    )
    toolbox = MCPToolbox(path)
    with pytest.raises(ConfigError, match=r"MCP server 'broken' \(stdio: .*no-such\) could not"):
        toolbox.__enter__()
    assert _toolbox_threads() == []
    with pytest.raises(ConfigError, match="no MCP config at"):
        with MCPToolbox(tmp_path / "absent.json"):
            pass
    assert _toolbox_threads() == []
