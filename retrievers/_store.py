"""Where a knowledge base lives: the Chroma client, collection names, docstore files.

A knowledge base is a Chroma collection under ``PODIUM_HOME/chroma`` plus an
ingestion docstore (document ids and content hashes) under
``PODIUM_HOME/docstores/<collection>.json``. Both are found from the collection
name and an optional ``home`` (default: ``get_settings().home``).
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium._atomic import atomic_write
from podium.errors import InputError
from podium.settings import get_settings

if TYPE_CHECKING:
    import chromadb
    from chromadb.api.models.Collection import Collection
    from llama_index.core.storage.docstore import SimpleDocumentStore

__all__ = [
    "chroma_client",
    "collection_or_none",
    "docstore_path",
    "empty_collection_error",
    "home_dir",
    "list_collection_names",
    "load_docstore",
    "open_collection",
    "save_docstore",
    "validate_collection_name",
]

# Chroma's own rule, checked here so the message can say what is accepted.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
# Cosine distance: MiniLM vectors are unit length, and scores then read as similarities.
_COLLECTION_METADATA = {"hnsw:space": "cosine"}

_clients: dict[str, chromadb.ClientAPI] = {}
_lock = threading.Lock()


def home_dir(home: Path | str | None = None) -> Path:
    """Return ``home`` or, when None, the configured ``PODIUM_HOME``."""
    return Path(home) if home is not None else get_settings().home


def validate_collection_name(name: str | None) -> str:
    """Return a valid collection name: ``name``, or the configured default when None.

    Raises:
        InputError: The name breaks Chroma's naming rule.
    """
    name = get_settings().collection if name is None else name
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InputError(
            f"collection name {name!r} is not valid; use 3-512 characters from "
            "letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
        )
    return name


def chroma_client(home: Path | str | None = None) -> chromadb.ClientAPI:
    """Return the process-wide persistent Chroma client for ``home`` (telemetry off)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = str((home_dir(home) / "chroma").resolve())
    with _lock:
        client = _clients.get(path)
        if client is None:
            Path(path).mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=path, settings=ChromaSettings(anonymized_telemetry=False)
            )
            _clients[path] = client
        return client


def open_collection(name: str, home: Path | str | None = None) -> Collection:
    """Return the collection ``name``, creating it (cosine space, no embedding function)."""
    return chroma_client(home).get_or_create_collection(
        name=validate_collection_name(name),
        embedding_function=None,
        metadata=dict(_COLLECTION_METADATA),
    )


def collection_or_none(name: str, home: Path | str | None = None) -> Collection | None:
    """Return the existing collection ``name``, or None when there is none."""
    from chromadb.errors import NotFoundError

    try:
        return chroma_client(home).get_collection(
            name=validate_collection_name(name), embedding_function=None
        )
    except (NotFoundError, ValueError):
        return None


def list_collection_names(home: Path | str | None = None) -> list[str]:
    """Return the names of the collections under ``home``, sorted."""
    return sorted(c.name for c in chroma_client(home).list_collections())


def empty_collection_error(name: str) -> InputError:
    """Return the error for querying a collection that is missing or empty."""
    return InputError(f"collection {name!r} is empty; run: podium ingest PATH --collection {name}")


def docstore_path(name: str, home: Path | str | None = None) -> Path:
    """Return the path of the ingestion docstore of collection ``name``."""
    return home_dir(home) / "docstores" / f"{validate_collection_name(name)}.json"


def load_docstore(path: Path) -> SimpleDocumentStore:
    """Load a docstore written by :func:`save_docstore`, or return an empty one."""
    from llama_index.core.storage.docstore import SimpleDocumentStore

    if not path.exists():
        return SimpleDocumentStore()
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return SimpleDocumentStore.from_dict(data)


def save_docstore(docstore: SimpleDocumentStore, path: Path) -> None:
    """Write ``docstore`` atomically: a temporary file, fsync, then ``os.replace``.

    A kill at any moment leaves either the previous file or the new one, never a
    half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(docstore.to_dict()).encode("utf-8"))
