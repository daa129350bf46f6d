"""File readers for ingestion: one LlamaIndex ``Document`` per file, or a reason to skip it.

``SimpleDirectoryReader.load_file`` drives them (through ``file_extractor``). PDF
goes through LlamaIndex's own ``PDFReader`` (pypdf). Text and markdown get a
reader that refuses binary content instead of decoding it into noise, and HTML
a small BeautifulSoup reader that keeps headings as markdown ``#`` lines, so
every format reaches the same heading-aware splitter.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

__all__ = ["FILE_TYPES", "HTMLReader", "SkipFile", "TextFileReader", "file_extractor"]

# Suffix -> file_type metadata; anything else is skipped as unsupported.
FILE_TYPES: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

_BLOCK_TAGS = (
    "p", "div", "section", "article", "li", "tr", "br", "pre", "blockquote",
    "dt", "dd", "table", "ul", "ol", "header", "footer", "main", "aside",
)  # fmt: skip
_BLANK_RUNS = re.compile(r"\n{3,}")


class SkipFile(Exception):  # noqa: N818 - a signal, not a failure of the program
    """A file that cannot be ingested; the message says why."""


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise SkipFile("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


class TextFileReader(BaseReader):
    """Read a UTF-8 text or markdown file whole; refuse binary content."""

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None) -> list[Document]:
        """Return the file as one document."""
        return [Document(text=_read_text(Path(file)), metadata=dict(extra_info or {}))]


class HTMLReader(BaseReader):
    """Read an HTML file as text, headings turned into markdown ``#`` lines."""

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None) -> list[Document]:
        """Return the page's visible text as one document (title in ``html_title``)."""
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(_read_text(Path(file)), "html.parser")
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        for tag in soup(["script", "style", "noscript", "template", "head"]):
            tag.decompose()
        for level in range(1, 7):
            for heading in soup.find_all(f"h{level}"):
                text = heading.get_text(" ", strip=True)
                heading.replace_with(f"\n\n{'#' * level} {text}\n\n" if text else "")
        for tag in soup.find_all(_BLOCK_TAGS):
            tag.append("\n")
        lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
        text = _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
        metadata = dict(extra_info or {})
        if title:
            metadata["html_title"] = title
        return [Document(text=text, metadata=metadata)]


def _import_file_readers() -> Any:
    # Importing llama_index.readers.file runs logging.basicConfig(level=INFO) (in
    # its slides reader), which would flood the console with library logs and
    # progress bars. basicConfig does nothing while the root logger has a handler.
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        import llama_index.readers.file as readers
    finally:
        root.removeHandler(guard)
    return readers


def file_extractor() -> dict[str, BaseReader]:
    """Return the ``SimpleDirectoryReader`` file extractor for every supported suffix."""
    PDFReader = _import_file_readers().PDFReader  # noqa: N806 - a class

    text, html = TextFileReader(), HTMLReader()
    pdf = PDFReader(return_full_document=True)
    readers: dict[str, BaseReader] = {}
    for suffix, kind in FILE_TYPES.items():
        readers[suffix] = {"pdf": pdf, "html": html}.get(kind, text)
    return readers
