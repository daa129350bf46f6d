import json

import pytest
from typer.testing import CliRunner

from podium.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("graphs", "run", "tools", "call"):
        assert command in result.output


def test_graphs_lists_router_with_description():
    result = invoke("graphs")
    assert result.exit_code == 0
    assert "router" in result.output and "specialist" in result.output


def test_tools_lists_calculator():
    result = invoke("tools")
    assert result.exit_code == 0
    assert "calculator" in result.output


def test_call_tool_prints_result():
    result = invoke("call", "calculator", "expression=17% of 2,340")
    assert result.exit_code == 0
    assert result.output.strip() == "397.8"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("run", "router", ""), "the input is empty"),
        (("run", "router", "   "), "the input is empty"),
        (("run", "nonexistent", "hi"), "unknown graph 'nonexistent'; available graphs: "),
        (("run", "router", "hi", "-m", "not a spec"), "model spec 'not a spec' is malformed"),
        (("run", "router", "hi", "-m", "nosuch:model"), "unknown provider 'nosuch'"),
        (("run", "router", "hi", "-m", "openai:gpt-4o-mini"), "network-backed models are refused"),
        (("call", "calculator", "expression=2 +"), "could not parse '2 +'"),
        (("call", "calculator", "expression=1/0"), "division by zero"),
        (("call", "calculator"), "'expression': Field required"),
        (("call", "calculator", "oops"), "is not KEY=VALUE"),
        (("call", "nosuchtool"), "unknown tool 'nosuchtool'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    text = " ".join(" ".join(lines).split())
    assert text.startswith("error:") and fragment in text


def test_run_router_offline_json():
    result = invoke("run", "router", "What is 17% of 2,340?", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["state"]["route"] == "math"
    assert "397.8" in payload["answer"]
    assert payload["steps"][:2] == ["classify", "solve_math"]
    assert "tools" in payload["steps"]
    assert payload["usage"]["total_tokens"] > 0


def test_run_router_offline_streams_steps():
    result = invoke("run", "router", "What is 17% of 2,340?")
    assert result.exit_code == 0, result.output
    assert "▸ classify" in result.output and "route=math" in result.output
    assert "calculator(" in result.output
    assert "397.8" in result.output and "tokens" in result.output


def test_thread_keeps_the_conversation(tmp_path):
    first = invoke("run", "router", "What is 2 + 3?", "--thread", "t1", "--json")
    assert first.exit_code == 0, first.output
    second = invoke("run", "router", "What is 10 * 4?", "--thread", "t1", "--json")
    assert second.exit_code == 0, second.output
    messages = json.loads(second.output)["state"]["messages"]
    humans = [m["content"] for m in messages if m["role"] == "human"]
    assert humans == ["What is 2 + 3?", "What is 10 * 4?"]


def test_invalid_setting_is_one_line_naming_the_variable(monkeypatch):
    from podium.settings import get_settings

    monkeypatch.setenv("PODIUM_SQL_MAX_ROWS", "lots")
    get_settings.cache_clear()
    result = invoke("run", "router", "What is 2 + 2?")
    assert result.exit_code == 2
    assert "PODIUM_SQL_MAX_ROWS" in result.output and "'lots'" in result.output
    assert "Traceback" not in result.output
