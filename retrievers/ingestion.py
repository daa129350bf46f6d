"""Incremental ingestion of files into a Chroma collection, with LlamaIndex's pipeline.

Files are found and loaded by ``SimpleDirectoryReader``; an ``IngestionPipeline``
splits them along markdown headings (``MarkdownNodeParser``) and into chunks
(``SentenceSplitter``), embeds them with the shared MiniLM model and writes them
to a ``ChromaVectorStore``. Its docstore keeps one content hash per document
(``DocstoreStrategy.UPSERTS``), so an unchanged file embeds nothing and a changed
file replaces its old chunks.

Crash safety comes from the order of writes. Per batch: chunks go to Chroma
first, then the docstore is saved atomically. Chunk ids are deterministic
(``<document id>#<position>``). A document the docstore does not know may have
chunks from an interrupted run, so they are deleted before it is written again;
a document whose saved hash differs is replaced by the pipeline. A run killed at
any point and started again therefore ends as one clean run would.
"""

from __future__ import annotations

import importlib.resources
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.schema import BaseNode, Document, MetadataMode, TransformComponent

from podium.errors import InputError
from podium.retrievers._readers import FILE_TYPES, SkipFile, file_extractor
from podium.retrievers._store import (
    collection_or_none,
    docstore_path,
    load_docstore,
    open_collection,
    save_docstore,
    validate_collection_name,
)
from podium.settings import get_settings

__all__ = [
    "HANDBOOK_DIR",
    "SUPPORTED_SUFFIXES",
    "IngestProgress",
    "IngestReport",
    "SkippedFile",
    "ensure_handbook",
    "ingest",
]

HANDBOOK_DIR = Path(str(importlib.resources.files("podium").joinpath("data", "handbook")))
"""The handbook corpus shipped with Podium (markdown pages, package data of ``podium``)."""

SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(FILE_TYPES)
"""File suffixes ingestion reads; other files are skipped and counted."""

# Metadata the embedding sees (title and heading help retrieval); the rest is for
# citations and filters. The LLM additionally sees the source path.
_EMBED_KEYS = ("title", "heading")
_LLM_KEYS = ("source", "title", "heading")
_ALL_KEYS = ("source", "title", "heading", "position", "file_name", "file_type", "chunking")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_HEADER = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Documents (or characters) per pipeline run: large, because the embedding model
# pads each batch to its longest chunk and length-sorting pays off over many
# chunks; small enough that an interrupted run loses little work.
_BATCH_DOCS = 64
_BATCH_CHARS = 200_000


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not ingested, and why."""

    path: str
    reason: str


@dataclass
class IngestProgress:
    """Counts so far, passed to the ``on_progress`` callback after each file and batch."""

    files_total: int
    files_done: int = 0
    chunks: int = 0
    skipped: int = 0
    unchanged: int = 0
    current: str = ""
    last_skipped: SkippedFile | None = None


@dataclass
class IngestReport:
    """What an ingestion run did."""

    collection: str
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    pruned: int = 0
    total_chunks: int = 0
    elapsed_s: float = 0.0

    @property
    def embedded(self) -> int:
        """Chunks embedded in this run (0 when nothing changed)."""
        return self.chunks

    def summary(self) -> str:
        """Return a one-line summary of the run."""
        return (
            f"collection {self.collection!r}: {self.files} files "
            f"({self.added} added, {self.updated} updated, {self.unchanged} unchanged), "
            f"{self.chunks} chunks embedded, {len(self.skipped)} skipped, "
            f"{self.pruned} pruned; {self.total_chunks} chunks in the collection "
            f"· {self.elapsed_s:.1f} s"
        )


class _Sections(TransformComponent):
    """Split markdown and HTML documents along their headings; pass other documents on."""

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        from llama_index.core.node_parser import MarkdownNodeParser

        parser = MarkdownNodeParser(include_prev_next_rel=False)
        out: list[BaseNode] = []
        for node in nodes:
            if node.metadata.get("file_type") not in ("markdown", "html"):
                out.append(node)
                continue
            for section in parser.get_nodes_from_documents([node]):
                section.metadata["heading"] = _heading(section)
                section.metadata.pop("header_path", None)
                out.append(section)
        return out


def _heading(section: BaseNode) -> str:
    """Return a section's heading: its own header under the page title's sections."""
    first_line = section.get_content().split("\n", 1)[0]
    match = _HEADER.match(first_line)
    parents = [p for p in str(section.metadata.get("header_path", "")).split("/") if p]
    if match is None:
        return " › ".join(parents[1:]) if len(parents) > 1 else (parents[0] if parents else "")
    own = match.group(2)
    return " › ".join([*parents[1:], own])


class _Chunks(TransformComponent):
    """Give chunks deterministic ids ``<document id>#<position>`` and a ``position``."""

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        positions: dict[str, int] = {}
        for node in nodes:
            doc_id = node.ref_doc_id or node.node_id
            position = positions.get(doc_id, 0)
            positions[doc_id] = position + 1
            node.id_ = f"{doc_id}#{position}"
            node.metadata.setdefault("heading", "")
            node.metadata["position"] = position
        return nodes


class _ByLength(TransformComponent):
    """Order chunks by the length of their embedding text.

    The embedding model pads every batch to its longest text; batches of chunks
    of similar length waste little on padding. Order is free: ids are set already.
    """

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        return sorted(nodes, key=lambda n: len(n.get_content(metadata_mode=MetadataMode.EMBED)))


def _discover(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """Return ``(file, document id)`` pairs; ids are paths relative to the folder given."""
    from llama_index.core import SimpleDirectoryReader

    found: list[tuple[Path, str]] = []
    paths = list(paths)
    if not paths:
        raise InputError("no paths given; pass files or folders to ingest")
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists() and not path.is_symlink():
            raise InputError(
                f"path {str(raw)!r} does not exist; pass files or folders "
                f"(accepted files: {', '.join(SUPPORTED_SUFFIXES)})"
            )
        if path.is_dir():
            root = path.resolve()
            try:
                files = SimpleDirectoryReader(input_dir=str(root), recursive=True).input_files
            except ValueError:  # "No files found": an empty folder ingests nothing
                files = []
            found.extend((Path(f), Path(f).relative_to(root).as_posix()) for f in files)
        else:
            found.append((path.absolute(), path.name))
    seen: dict[str, Path] = {}
    for file, doc_id in found:
        if doc_id in seen and seen[doc_id] != file:
            raise InputError(
                f"{str(seen[doc_id])!r} and {str(file)!r} would both be document {doc_id!r}; "
                "ingest them into separate collections or pass their common parent folder"
            )
        seen[doc_id] = file
    return list({doc_id: (file, doc_id) for file, doc_id in found}.values())


def _title(doc: Document, file: Path) -> str:
    """Return the document title: its first ``#`` heading, an HTML title, or the file name."""
    match = _H1.search(doc.text)
    if match and doc.metadata.get("file_type") in ("markdown", "html"):
        return match.group(1).strip()
    html_title = doc.metadata.pop("html_title", "")
    if html_title:
        return str(html_title)
    return re.sub(r"[-_]+", " ", file.stem).strip() or file.name


def _load(file: Path, doc_id: str, extractor: dict[str, Any], chunking: str) -> Document:
    """Load one file as a single document, or raise SkipFile with the reason."""
    from llama_index.core import SimpleDirectoryReader

    suffix = file.suffix.lower()
    if suffix not in FILE_TYPES:
        raise SkipFile(
            f"unsupported file type {suffix or '(no suffix)'!r}; "
            f"accepted: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not file.is_file():
        raise SkipFile("unreadable: not a regular file (a broken link?)")
    metadata = {
        "source": doc_id,
        "file_name": file.name,
        "file_type": FILE_TYPES[suffix],
        "chunking": chunking,
    }
    try:
        docs = SimpleDirectoryReader.load_file(
            file,
            file_metadata=lambda _path: dict(metadata),
            file_extractor=extractor,
            raise_on_error=True,
        )
    except SkipFile:
        raise
    except Exception as exc:  # readers raise anything; the cause says what went wrong
        cause = exc.__cause__ or exc
        if isinstance(cause, SkipFile):
            raise cause from None
        while getattr(cause, "last_attempt", None) is not None:  # tenacity's RetryError
            cause = cause.last_attempt.exception() or cause
            if not hasattr(cause, "last_attempt"):
                break
        if isinstance(cause, OSError):
            raise SkipFile(f"unreadable: {cause.strerror or cause}") from None
        kind = "corrupt PDF" if suffix == ".pdf" else "unreadable"
        raise SkipFile(f"{kind}: {type(cause).__name__}: {cause}") from None
    text = "\n".join(d.text for d in docs).strip()
    if not text:
        raise SkipFile("empty: no text to ingest")
    doc = Document(id_=doc_id, text=text, metadata={**docs[0].metadata, **metadata})
    doc.metadata["title"] = _title(doc, file)
    doc.excluded_embed_metadata_keys = [k for k in _ALL_KEYS if k not in _EMBED_KEYS]
    doc.excluded_llm_metadata_keys = [k for k in _ALL_KEYS if k not in _LLM_KEYS]
    doc.metadata = {k: doc.metadata[k] for k in _ALL_KEYS if k in doc.metadata}
    return doc


def ingest(
    paths: Iterable[str | Path],
    *,
    collection: str | None = None,
    prune: bool = False,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    home: str | Path | None = None,
    on_progress: Callable[[IngestProgress], None] | None = None,
    batch_size: int = _BATCH_DOCS,
) -> IngestReport:
    """Ingest files and folders into a collection, incrementally.

    Args:
        paths: Files or folders (read recursively; hidden files are left out).
            Markdown, text, HTML and PDF are read; other files are skipped.
        collection: Collection name (default: ``PODIUM_COLLECTION``).
        prune: Make the collection mirror ``paths``: documents from earlier runs
            that are not among them now (deleted, renamed or unreadable files)
            lose their chunks.
        chunk_size: Chunk size in tokens (default: ``PODIUM_CHUNK_SIZE``). A new
            size re-chunks every file, since it is part of each document's hash.
        chunk_overlap: Tokens shared by neighbouring chunks (default: ``PODIUM_CHUNK_OVERLAP``).
        home: Podium home holding the collection (default: ``PODIUM_HOME``).
        on_progress: Called with the counts after each file and each written batch.
        batch_size: Documents per pipeline run; each batch is written to Chroma and
            then recorded in the docstore, so an interrupted run loses at most one.

    Returns:
        What the run did; bad files are listed in ``skipped``, never raised.

    Raises:
        InputError: A path does not exist, two files map to one document id, the
            collection name or the chunking is invalid. Raised before any write.
    """
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from podium.models import load_llama_embeddings

    started = time.perf_counter()
    settings = get_settings()
    name = validate_collection_name(collection)
    size = settings.chunk_size if chunk_size is None else chunk_size
    overlap = settings.chunk_overlap if chunk_overlap is None else chunk_overlap
    if size < 32 or not 0 <= overlap < size:
        raise InputError(
            f"chunking size={size!r}, overlap={overlap!r} is not valid; "
            "the size must be at least 32 tokens and the overlap from 0 to below the size"
        )
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size!r}")
    files = _discover(paths)

    chroma = open_collection(name, home)
    store = ChromaVectorStore(chroma_collection=chroma)
    ds_path = docstore_path(name, home)
    docstore = load_docstore(ds_path)
    pipeline = IngestionPipeline(
        transformations=[
            _Sections(),
            SentenceSplitter(chunk_size=size, chunk_overlap=overlap, include_prev_next_rel=False),
            _Chunks(),
            _ByLength(),
            load_llama_embeddings(),
        ],
        vector_store=store,
        docstore=docstore,
        docstore_strategy=DocstoreStrategy.UPSERTS,
        disable_cache=True,
    )
    report = IngestReport(collection=name)
    progress = IngestProgress(files_total=len(files))
    extractor = file_extractor()
    chunking = f"{size}/{overlap}"
    seen: set[str] = set()
    batch: list[Document] = []

    def notify() -> None:
        if on_progress is not None:
            on_progress(progress)

    def flush() -> None:
        if not batch:
            return
        known = {doc.id_: docstore.get_document_hash(doc.id_) for doc in batch}
        fresh = [doc_id for doc_id, digest in known.items() if digest is None]
        # Chunks of a document the docstore does not know can only come from an
        # interrupted run; Chroma's add keeps existing ids, so clear them first.
        if fresh and chroma.count():
            chroma.delete(where={"document_id": {"$in": fresh}})
        nodes = pipeline.run(documents=list(batch))
        save_docstore(docstore, ds_path)
        for doc in batch:
            digest = known[doc.id_]
            if digest is None:
                report.added += 1
            elif digest != doc.hash:
                report.updated += 1
            else:
                report.unchanged += 1
        report.chunks += len(nodes)
        progress.chunks = report.chunks
        progress.unchanged = report.unchanged
        batch.clear()
        notify()

    for file, doc_id in files:
        progress.current = doc_id
        progress.last_skipped = None
        try:
            doc = _load(file, doc_id, extractor, chunking)
        except SkipFile as exc:
            reason = str(exc)
            if docstore.get_document_hash(doc_id) is not None and not prune:
                reason += "; its earlier chunks are kept (--prune removes them)"
            skipped = SkippedFile(path=str(file), reason=reason)
            report.skipped.append(skipped)
            progress.skipped += 1
            progress.last_skipped = skipped
        else:
            seen.add(doc_id)
            report.files += 1
            batch.append(doc)
            if len(batch) >= batch_size or sum(len(d.text) for d in batch) >= _BATCH_CHARS:
                flush()
        progress.files_done += 1
        notify()
    flush()

    if prune:
        stale = sorted(set(docstore.get_all_document_hashes().values()) - seen)
        if stale:
            # Chroma first, then the docstore: a kill in between leaves the
            # documents listed, and the next --prune deletes them again.
            chroma.delete(where={"document_id": {"$in": stale}})
            for doc_id in stale:
                docstore.delete_document(doc_id, raise_error=False)
            save_docstore(docstore, ds_path)
            report.pruned = len(stale)

    report.total_chunks = chroma.count()
    report.elapsed_s = time.perf_counter() - started
    return report


def ensure_handbook(
    *,
    collection: str | None = None,
    home: str | Path | None = None,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport | None:
    """Ingest the shipped handbook when the collection is missing or empty (a first run).

    Demos call this before using the knowledge base. A collection that already
    holds chunks is left alone, whatever it holds, so a user's own collection is
    never mixed with the handbook.

    Args:
        collection: Collection name (default: ``PODIUM_COLLECTION``, ``handbook``).
        home: Podium home (default: ``PODIUM_HOME``).
        on_progress: Passed to :func:`ingest`.

    Returns:
        The ingestion report, or None when the collection already held chunks.
    """
    name = validate_collection_name(collection)
    existing = collection_or_none(name, home)
    if existing is not None and existing.count():
        return None
    return ingest([HANDBOOK_DIR], collection=name, home=home, on_progress=on_progress)
