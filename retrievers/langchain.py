"""Podium's retrieval as a LangChain retriever.

``KnowledgeBaseRetriever`` runs the vector, hybrid or router engine of
:mod:`podium.retrievers.engines` and returns LangChain ``Document`` objects whose
metadata carry the citation: source, title, heading, position, score, collection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from podium.retrievers.engines import Citation, retrieve
from podium.settings import get_settings

__all__ = ["KnowledgeBaseRetriever", "citation_to_document"]


def citation_to_document(citation: Citation) -> Document:
    """Return a citation as a LangChain document (text + citation metadata, chunk id)."""
    return Document(
        page_content=citation.text,
        metadata={
            "source": citation.source,
            "title": citation.title,
            "heading": citation.heading,
            "position": citation.position,
            "score": citation.score,
            "collection": citation.collection,
        },
        id=citation.id or None,
    )


class KnowledgeBaseRetriever(BaseRetriever):
    """Retrieve passages from a Podium knowledge base (a Chroma collection).

    Example:
        >>> retriever = KnowledgeBaseRetriever(collection="handbook", k=3)  # doctest: +SKIP
        >>> retriever.invoke("How big may a cabin bag be?")  # doctest: +SKIP
    """

    collection: str | list[str] | None = Field(
        default=None,
        description="Collection name, several (routed), or None for PODIUM_COLLECTION.",
    )
    engine: Literal["vector", "hybrid", "router"] = Field(
        default="hybrid", description="Retrieval engine: vector, hybrid (BM25 + vector) or router."
    )
    k: int = Field(
        default_factory=lambda: get_settings().top_k,
        ge=1,
        le=100,
        description="Documents to return (default: PODIUM_TOP_K).",
    )
    home: Path | None = Field(default=None, description="Podium home (default: PODIUM_HOME).")

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        citations = retrieve(
            query,
            collection=self.collection,
            engine=self.engine,
            top_k=self.k if k is None else k,
            home=self.home,
        )
        return [citation_to_document(c) for c in citations]
