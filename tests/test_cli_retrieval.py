"""``podium ingest`` and ``podium ask`` through typer's runner (PODIUM_HOME in tmp_path)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli import app
from podium.retrievers import HANDBOOK_DIR

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for page in ("pets.md", "seat-selection.md"):
        shutil.copy(HANDBOOK_DIR / "travel" / page, docs / page)
    (docs / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return docs


def test_ingest_then_ask(folder):
    result = runner.invoke(app, ["ingest", str(folder), "--collection", "cli-kb"])
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("collection 'cli-kb': 2 files (2 added, 0 updated, 0 unchanged)")
    assert "1 skipped" in summary and "chunks embedded" in summary
    assert "warning: skipped" in result.stderr and "logo.png" in result.stderr
    assert "unsupported file type '.png'" in result.stderr

    again = runner.invoke(app, ["ingest", str(folder), "-c", "cli-kb"])
    assert again.exit_code == 0
    assert "(0 added, 0 updated, 2 unchanged), 0 chunks embedded" in again.stdout

    asked = runner.invoke(app, ["ask", "How heavy may a pet in the cabin be?", "-c", "cli-kb"])
    assert asked.exit_code == 0, asked.output
    answer, _, sources = asked.stdout.partition("Sources")
    assert "8 kg" in answer
    assert "[1] pets.md › Pets in the cabin" in sources


def test_ask_engines_and_json(folder):
    runner.invoke(app, ["ingest", str(folder), "-c", "cli-kb"])
    only = runner.invoke(
        app, ["ask", "exit row seats", "-c", "cli-kb", "--no-answer", "-k", "2", "-e", "vector"]
    )
    assert only.exit_code == 0
    assert only.stdout.startswith("Sources\n[1] seat-selection.md › ")
    assert "[3]" not in only.stdout

    as_json = runner.invoke(
        app, ["ask", "Can my dog fly?", "-c", "cli-kb", "--engine", "subquestion", "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["engine"] == "subquestion" and data["text"]
    assert data["sub_questions"] and data["citations"][0]["source"] == "pets.md"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/no/such/folder"], "error: path '/no/such/folder' does not exist"),
        (["ingest", ".", "-c", "x"], "error: collection name 'x' is not valid"),
        (
            ["ask", "anything?", "-c", "empty-kb"],
            "error: collection 'empty-kb' is empty; run: podium ingest PATH --collection empty-kb",
        ),
        (["ask", "anything?", "-e", "magic"], "error: unknown engine 'magic'; accepted: vector"),
        (["ask", "  "], "error: the question is empty"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
