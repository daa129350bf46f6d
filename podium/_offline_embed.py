"""Cached MiniLM embeddings for the offline model.

Tool descriptions, enum options and document sentences repeat from call to call,
so every text's vector is kept (keyed by the text, least recently used dropped
first) and a call embeds only what it has not seen, in one batch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from podium.models import EMBEDDING_DIM, encode_texts

__all__ = ["EmbeddingCache", "get_cache"]


class EmbeddingCache:
    """Unit-length MiniLM vectors by text, computed once per text."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), 384)`` float32 matrix of unit vectors."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vectors = encode_texts(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._vectors[text] = vector.astype(np.float32, copy=False)
                while len(self._vectors) > self._max:
                    self._vectors.popitem(last=False)
        with self._lock:
            rows = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # evicted by a concurrent call: embed it alone
                    vector = encode_texts([text])[0]
                else:
                    self._vectors.move_to_end(text)
                rows.append(vector)
        return np.stack(rows)

    def similarities(self, queries: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        """Cosine similarities, ``(len(queries), len(targets))``, in one embedding batch."""
        matrix = self.embed([*queries, *targets])
        return matrix[: len(queries)] @ matrix[len(queries) :].T


_cache = EmbeddingCache()


def get_cache() -> EmbeddingCache:
    """Return the process-wide embedding cache."""
    return _cache
