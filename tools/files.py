"""File tools confined to one workspace directory: read, write, append, list, search.

Every path is relative to the workspace root (``PODIUM_HOME/workspace`` unless
:func:`make_file_tools` is given another root). A path is resolved with its
symlinks and refused unless the result lies inside the resolved root, so
``..``, absolute paths and symlinks (files or directories) that lead out are all
refused; the final component is opened with ``O_NOFOLLOW`` so a link swapped in
after the check is not followed either. Reads and writes are capped in size,
and a write goes to a temporary file that replaces the target in one
``os.replace``, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from langchain_core.tools import BaseTool

from podium._atomic import atomic_write
from podium.errors import ToolInputError
from podium.settings import get_settings
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools

__all__ = [
    "append_file",
    "list_files",
    "make_file_tools",
    "read_file",
    "search_files",
    "write_file",
]

PATH_RULE = (
    "paths are relative to the workspace root and must stay inside it "
    "(no absolute paths, no '..' leading out, no symlinks pointing outside)"
)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_MAX_LISTED = 200
_MAX_MATCHES = 100
_MAX_LINE = 200


class _Workspace:
    """The root and the size caps, looked up on each call so settings changes apply."""

    def __init__(
        self,
        root: Callable[[], Path],
        max_read: Callable[[], int],
        max_write: Callable[[], int],
    ) -> None:
        self._root = root
        self.max_read = max_read
        self.max_write = max_write

    def root(self) -> Path:
        root = self._root()
        root.mkdir(parents=True, exist_ok=True)
        return root.resolve()

    def resolve(self, path: str) -> tuple[Path, Path]:
        """Return ``(root, resolved path)`` or refuse a path that leaves the workspace."""
        root = self.root()
        text = path.strip()
        if not text:
            raise ToolInputError(f"path is empty; {PATH_RULE}")
        if "\x00" in text:
            raise ToolInputError(f"path {path!r} contains a NUL byte")
        if os.path.isabs(text) or text.startswith("~"):
            raise ToolInputError(f"path {path!r} is absolute: refused, {PATH_RULE}")
        lexical = Path(os.path.normpath(root / text))
        if not lexical.is_relative_to(root):
            raise ToolInputError(f"path {path!r} leads outside the workspace: refused, {PATH_RULE}")
        resolved = (root / text).resolve()
        if not resolved.is_relative_to(root):
            raise ToolInputError(
                f"path {path!r} goes through a symlink that points outside the workspace: "
                f"refused, {PATH_RULE}"
            )
        return root, resolved

    def show(self, root: Path, path: Path) -> str:
        rel = path.relative_to(root).as_posix()
        return rel if rel != "." else "."


@contextlib.contextmanager
def _open_nofollow(path: Path, flags: int, shown: str) -> Iterator[int]:
    try:
        fd = os.open(path, flags | _O_NOFOLLOW)
    except FileNotFoundError:
        raise ToolInputError(f"no file at {shown!r}; list_files shows what exists") from None
    except IsADirectoryError:
        raise ToolInputError(f"{shown!r} is a directory, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the final component became a symlink after the check
            raise ToolInputError(f"{shown!r} is a symlink: refused, {PATH_RULE}") from None
        raise ToolInputError(f"cannot open {shown!r}: {exc.strerror}") from None
    try:
        yield fd
    finally:
        os.close(fd)


def _read_text(path: Path, shown: str, limit: int) -> str:
    with _open_nofollow(path, os.O_RDONLY, shown) as fd:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ToolInputError(f"{shown!r} is a directory, not a file; use list_files")
        if not stat.S_ISREG(info.st_mode):
            raise ToolInputError(f"{shown!r} is not a regular file")
        if info.st_size > limit:
            raise ToolInputError(
                f"{shown!r} is {info.st_size} bytes, over the read limit of {limit} bytes"
            )
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # grew since fstat
                raise ToolInputError(f"{shown!r} is over the read limit of {limit} bytes")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ToolInputError(f"{shown!r} is not UTF-8 text") from None


def _write_atomically(root: Path, path: Path, data: bytes, shown: str) -> None:
    if path.is_dir():
        raise ToolInputError(f"{shown!r} is a directory; give a file path")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ToolInputError(f"a parent of {shown!r} is a file, not a directory") from None
    if not parent.resolve().is_relative_to(root):  # a directory swapped for a link meanwhile
        raise ToolInputError(f"path {shown!r} leads outside the workspace: refused, {PATH_RULE}")
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    atomic_write(path, data, mode=mode)  # replaces a link itself, never writes through one


def _check_size(data: bytes, limit: int, what: str) -> None:
    if len(data) > limit:
        raise ToolInputError(
            f"{what} would be {len(data)} bytes, over the write limit of {limit} bytes"
        )


def _walk(root: Path, top: Path) -> Iterator[tuple[Path, bool, bool]]:
    """Yield ``(path, is_dir, inside)`` under ``top``, sorted, never following links out."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames + filenames):
            entry = base / name
            inside = entry.resolve().is_relative_to(root)
            yield entry, name in dirnames, inside
        # Symlinked directories stay unvisited: os.walk does not follow them.


def _build(ws: _Workspace) -> list[BaseTool]:
    @podium_tool
    def read_file(path: str) -> str:
        """Read a UTF-8 text file from the workspace and return its content.

        Args:
            path: File path relative to the workspace root, e.g. "notes/todo.md".
        """
        root, target = ws.resolve(path)
        return _read_text(target, ws.show(root, target), ws.max_read())

    @podium_tool
    def write_file(path: str, content: str) -> str:
        """Write text to a file in the workspace, creating it (and its folders) or replacing it.

        Args:
            path: File path relative to the workspace root, e.g. "reports/summary.md".
            content: The full text the file should hold.
        """
        root, target = ws.resolve(path)
        shown = ws.show(root, target)
        data = content.encode("utf-8")
        _check_size(data, ws.max_write(), "the file")
        _write_atomically(root, target, data, shown)
        return f"Wrote {len(data)} bytes to {shown}."

    @podium_tool
    def append_file(path: str, content: str) -> str:
        """Append text to the end of a file in the workspace, creating the file if needed.

        Args:
            path: File path relative to the workspace root, e.g. "logs/journal.md".
            content: The text to add at the end (include a trailing newline if you want one).
        """
        root, target = ws.resolve(path)
        shown = ws.show(root, target)
        limit = ws.max_write()
        before = b""
        if target.exists():
            before = _read_text(target, shown, limit).encode("utf-8")
        data = before + content.encode("utf-8")
        _check_size(data, limit, "the file after appending")
        _write_atomically(root, target, data, shown)
        return f"Appended {len(data) - len(before)} bytes to {shown} (now {len(data)} bytes)."

    @podium_tool
    def list_files(path: str = ".") -> str:
        """List the files and folders in the workspace (or one folder of it), with sizes.

        Args:
            path: Folder relative to the workspace root; "." for the whole workspace.
        """
        root, top = ws.resolve(path)
        shown = ws.show(root, top)
        if not top.exists():
            raise ToolInputError(f"no folder at {shown!r}; list_files with path '.' shows all")
        if not top.is_dir():
            return f"{shown} ({top.stat().st_size} bytes)"
        lines, total = [], 0
        for entry, is_dir, inside in _walk(root, top):
            total += 1
            if len(lines) >= _MAX_LISTED:
                continue
            rel = entry.relative_to(root).as_posix()
            if not inside:
                lines.append(f"{rel} -> symlink outside the workspace (not followed)")
            elif is_dir:
                lines.append(f"{rel}/")
            else:
                lines.append(f"{rel} ({entry.stat().st_size} bytes)")
        if not lines:
            return f"{shown}: empty"
        if total > len(lines):
            lines.append(f"... and {total - len(lines)} more; list a subfolder to see them")
        return "\n".join(lines)

    @podium_tool
    def search_files(pattern: str, path: str = ".") -> str:
        """Search text files in the workspace for a phrase; returns path:line: text for each hit.

        Args:
            pattern: The text to look for, matched literally and ignoring case.
            path: Folder (or file) relative to the workspace root to search; "." for all.
        """
        if not pattern.strip():
            raise ToolInputError("pattern is empty; give the text to look for")
        root, top = ws.resolve(path)
        if not top.exists():
            raise ToolInputError(f"no file or folder at {ws.show(root, top)!r}")
        limit = ws.max_read()
        needle = pattern.casefold()
        if top.is_dir():
            files = [e for e, is_dir, inside in _walk(root, top) if inside and not is_dir]
        else:
            files = [top]
        hits, total = [], 0
        for file in files:
            if not file.is_file() or file.stat().st_size > limit:
                continue
            try:
                text = _read_text(file.resolve(), file.name, limit)
            except ToolInputError:  # binary, vanished or unreadable: not a text hit
                continue
            rel = file.relative_to(root).as_posix()
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line.casefold():
                    total += 1
                    if len(hits) < _MAX_MATCHES:
                        trimmed = line.strip()
                        if len(trimmed) > _MAX_LINE:
                            trimmed = trimmed[: _MAX_LINE - 1] + "…"
                        hits.append(f"{rel}:{number}: {trimmed}")
        if not hits:
            return f"No matches for {pattern!r}."
        if total > len(hits):
            hits.append(f"(first {len(hits)} of {total} matches shown; narrow the path or pattern)")
        return "\n".join(hits)

    return [read_file, write_file, append_file, list_files, search_files]


def make_file_tools(root: str | Path | None = None) -> list[BaseTool]:
    """Build the file tools on one workspace directory.

    Args:
        root: The workspace root, created if missing. None: the settings'
            ``workspace_dir``, looked up on each call. Size caps come from the settings
            ``files_max_read_bytes`` and ``files_max_write_bytes``.

    Returns:
        ``[read_file, write_file, append_file, list_files, search_files]``.
    """
    resolve = (lambda: Path(root)) if root is not None else lambda: get_settings().workspace_dir
    return _build(
        _Workspace(
            resolve,
            lambda: get_settings().files_max_read_bytes,
            lambda: get_settings().files_max_write_bytes,
        )
    )


read_file, write_file, append_file, list_files, search_files = make_file_tools()

register_tools([read_file, write_file, append_file, list_files, search_files])
