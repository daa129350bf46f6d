"""The README's snippets run: Python blocks are executed, console commands are invoked."""

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
COMMANDS = [
    line.removeprefix("$ ").strip()
    for block in re.findall(r"```console\n(.*?)```", README, re.S)
    for line in block.splitlines()
    if line.startswith("$ podium ")
]


def test_readme_opens_with_the_two_commands():
    head = README.split("\n## ")[0]
    assert "make demo" in head and "make test" in head


@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=lambda c: c.splitlines()[0][:40])
def test_python_snippet_runs(code):
    exec(compile(code, "README.md", "exec"), {})


def test_console_commands_run_in_order(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    runner = CliRunner()
    assert COMMANDS
    for command in COMMANDS:
        result = runner.invoke(app, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"
