"""The file tools on a real workspace in tmp_path: round trips, escapes, size caps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podium.settings import get_settings
from podium.tools import get_tool
from podium.tools.files import (
    PATH_RULE,
    append_file,
    list_files,
    make_file_tools,
    read_file,
    search_files,
    write_file,
)

RULE = "must stay inside"  # a phrase of PATH_RULE that every refusal carries
assert RULE in PATH_RULE


@pytest.fixture
def ws() -> Path:
    root = get_settings().workspace_dir
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("top secret\n")
    return folder


def test_round_trip(ws):
    assert write_file.invoke({"path": "notes/todo.md", "content": "buy milk\n"}) == (
        "Wrote 9 bytes to notes/todo.md."
    )
    assert (ws / "notes" / "todo.md").read_text() == "buy milk\n"
    reply = append_file.invoke({"path": "notes/todo.md", "content": "Call the Bank\n"})
    assert reply == "Appended 14 bytes to notes/todo.md (now 23 bytes)."
    assert read_file.invoke({"path": "notes/todo.md"}) == "buy milk\nCall the Bank\n"
    append_file.invoke({"path": "log.txt", "content": "first\n"})  # append creates
    write_file.invoke({"path": "notes/todo.md", "content": "replaced\n"})  # write replaces
    assert read_file.invoke({"path": "./notes/../notes/todo.md"}) == "replaced\n"

    listing = list_files.invoke({})
    assert listing.splitlines() == ["log.txt (6 bytes)", "notes/", "notes/todo.md (9 bytes)"]
    assert list_files.invoke({"path": "notes"}) == "notes/todo.md (9 bytes)"

    write_file.invoke({"path": "b.md", "content": "nothing\nthe BANK is closed\nbank\n"})
    assert search_files.invoke({"pattern": "bank"}).splitlines() == [
        "b.md:2: the BANK is closed",
        "b.md:3: bank",
    ]
    assert search_files.invoke({"pattern": "replaced", "path": "notes"}) == (
        "notes/todo.md:1: replaced"
    )
    assert search_files.invoke({"pattern": "zebra"}) == "No matches for 'zebra'."
    assert not [p for p in ws.rglob("*.tmp")]  # atomic writes leave no temporary files


def test_write_keeps_the_file_mode_and_replaces_whole(ws):
    target = ws / "script.sh"
    target.write_text("old\n")
    target.chmod(0o751)
    inode = target.stat().st_ino
    write_file.invoke({"path": "script.sh", "content": "new\n"})
    assert target.read_text() == "new\n" and (target.stat().st_mode & 0o777) == 0o751
    assert target.stat().st_ino != inode  # a new file renamed over the old one


def test_make_file_tools_uses_its_root(tmp_path):
    root = tmp_path / "elsewhere"
    read, write, *_ = make_file_tools(root)
    write.invoke({"path": "x.txt", "content": "hi"})
    assert (root / "x.txt").read_text() == "hi" and read.invoke({"path": "x.txt"}) == "hi"
    assert not (get_settings().workspace_dir / "x.txt").exists()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../../etc/passwd", "leads outside the workspace"),
        ("notes/../../secret.txt", "leads outside the workspace"),
        ("/etc/passwd", "is absolute"),
        ("~/.ssh/id_rsa", "is absolute"),
        ("", "path is empty"),
    ],
)
def test_escapes_are_refused(ws, path, reason):
    for tool, args in [
        (read_file, {"path": path}),
        (write_file, {"path": path, "content": "x"}),
        (append_file, {"path": path, "content": "x"}),
        (list_files, {"path": path}),
        (search_files, {"pattern": "root", "path": path}),
    ]:
        reply = tool.invoke(args)
        assert reply.startswith("Error:") and reason in reply and RULE in reply, (tool.name, reply)


def test_symlinked_file_pointing_outside_is_refused(ws, outside):
    secret = outside / "secret.txt"
    (ws / "link.txt").symlink_to(secret)
    reply = read_file.invoke({"path": "link.txt"})
    assert reply.startswith("Error:") and "symlink that points outside" in reply and RULE in reply
    for tool in (write_file, append_file):
        reply = tool.invoke({"path": "link.txt", "content": "pwned"})
        assert "symlink that points outside" in reply and RULE in reply
    assert secret.read_text() == "top secret\n"
    assert search_files.invoke({"pattern": "secret"}) == "No matches for 'secret'."
    assert "link.txt -> symlink outside the workspace (not followed)" in list_files.invoke({})


def test_symlinked_directory_escape_is_refused(ws, outside):
    (ws / "docs").symlink_to(outside, target_is_directory=True)
    assert "symlink that points outside" in read_file.invoke({"path": "docs/secret.txt"})
    reply = write_file.invoke({"path": "docs/new.txt", "content": "pwned"})
    assert "symlink that points outside" in reply and RULE in reply
    reply = write_file.invoke({"path": "docs/deeper/new.txt", "content": "pwned"})
    assert "symlink that points outside" in reply
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert "symlink that points outside" in list_files.invoke({"path": "docs"})
    assert "symlink that points outside" in search_files.invoke({"pattern": "x", "path": "docs"})


def test_symlinks_inside_the_workspace_work(ws):
    write_file.invoke({"path": "real/a.txt", "content": "alpha\n"})
    (ws / "alias.txt").symlink_to(ws / "real" / "a.txt")
    (ws / "dir").symlink_to(ws / "real", target_is_directory=True)
    assert read_file.invoke({"path": "alias.txt"}) == "alpha\n"
    assert read_file.invoke({"path": "dir/a.txt"}) == "alpha\n"
    write_file.invoke({"path": "alias.txt", "content": "beta\n"})
    assert (ws / "real" / "a.txt").read_text() == "beta\n" and (ws / "alias.txt").is_symlink()


def test_size_caps(ws, monkeypatch):
    monkeypatch.setenv("PODIUM_FILES_MAX_READ_BYTES", "100")
    monkeypatch.setenv("PODIUM_FILES_MAX_WRITE_BYTES", "50")
    get_settings.cache_clear()
    (ws / "big.txt").write_text("x" * 101)
    reply = read_file.invoke({"path": "big.txt"})
    assert reply == "Error: 'big.txt' is 101 bytes, over the read limit of 100 bytes"
    reply = write_file.invoke({"path": "w.txt", "content": "y" * 51})
    assert reply == "Error: the file would be 51 bytes, over the write limit of 50 bytes"
    assert not (ws / "w.txt").exists()
    write_file.invoke({"path": "w.txt", "content": "y" * 40})
    reply = append_file.invoke({"path": "w.txt", "content": "z" * 11})
    assert "over the write limit of 50 bytes" in reply
    assert (ws / "w.txt").read_text() == "y" * 40
    # Multi-byte characters count as bytes, not characters.
    assert "over the write limit" in write_file.invoke({"path": "u.txt", "content": "€" * 17})


def test_binary_and_directories_and_missing(ws):
    (ws / "blob.bin").write_bytes(b"\xff\xfe\x00\x01")
    (ws / "folder").mkdir()
    assert read_file.invoke({"path": "blob.bin"}) == "Error: 'blob.bin' is not UTF-8 text"
    assert "is a directory" in read_file.invoke({"path": "folder"})
    assert "is a directory" in write_file.invoke({"path": "folder", "content": "x"})
    assert read_file.invoke({"path": "nope.txt"}).startswith("Error: no file at 'nope.txt'")
    assert list_files.invoke({"path": "nowhere"}).startswith("Error: no folder at 'nowhere'")
    assert "a parent of" in write_file.invoke({"path": "blob.bin/x.txt", "content": "x"})
    assert search_files.invoke({"pattern": "x"}) == "No matches for 'x'."  # binary skipped


def test_search_is_capped(ws):
    write_file.invoke({"path": "many.txt", "content": "needle\n" * 150})
    lines = search_files.invoke({"pattern": "NEEDLE"}).splitlines()
    assert len(lines) == 101 and lines[0] == "many.txt:1: needle"
    assert lines[-1] == "(first 100 of 150 matches shown; narrow the path or pattern)"


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("read_file", {}, "'path': Field required"),
        ("read_file", {"path": ["a"]}, "'path': Input should be a valid string"),
        ("write_file", {"path": "a.txt"}, "'content': Field required"),
        ("write_file", {"content": "x"}, "'path': Field required"),
        ("append_file", {"path": "a.txt", "content": 5}, "'content': Input should be"),
        ("list_files", {"path": 3}, "'path': Input should be a valid string"),
        ("search_files", {}, "'pattern': Field required"),
        ("search_files", {"pattern": "x", "path": None}, "'path': Input should be"),
    ],
)
def test_malformed_arguments_name_the_field(name, args, field):
    reply = get_tool(name).invoke(args)
    assert reply.startswith(f"Invalid arguments for {name}") and field in reply, reply


def test_empty_pattern_and_nul_byte(ws):
    assert "pattern is empty" in search_files.invoke({"pattern": "  "})
    assert "NUL byte" in read_file.invoke({"path": "a\x00b"})


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="O_NOFOLLOW is POSIX only")
def test_a_link_swapped_in_after_the_check_is_not_followed(ws, outside):
    from podium.errors import ToolInputError
    from podium.tools.files import _read_text

    (ws / "late.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(ToolInputError, match="is a symlink"):
        _read_text(ws / "late.txt", "late.txt", 1000)
