"""LlamaIndex adapter over the shared MiniLM model.

LlamaIndex's HuggingFace embedding would load a second copy of the weights; this
adapter reuses the one SentenceTransformer that ``podium.models`` holds.
"""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding

from podium.models import encode_texts


class MiniLMLlamaEmbedding(BaseEmbedding):
    """LlamaIndex embedding backed by the process-wide MiniLM model."""

    model_name: str = "all-MiniLM-L6-v2"
    embed_batch_size: int = 64  # texts per call from LlamaIndex; encode_texts sub-batches

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return encode_texts(texts).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
