"""Retrieval: LlamaIndex ingestion and query engines over Chroma, with citations.

:func:`ingest` builds a collection incrementally from files; :func:`ask` answers a
question with the ``vector``, ``hybrid`` (BM25 + vector), ``router`` or
``subquestion`` engine; :func:`retrieve` returns the passages alone.
:class:`KnowledgeBaseRetriever` offers the same retrieval as a LangChain
retriever. :data:`HANDBOOK_DIR` is the handbook corpus shipped with Podium.
"""

from podium.retrievers.engines import (
    ENGINES,
    RETRIEVAL_ENGINES,
    Answer,
    Citation,
    ask,
    build_query_engine,
    build_retriever,
    describe_collection,
    retrieve,
)
from podium.retrievers.ingestion import (
    HANDBOOK_DIR,
    SUPPORTED_SUFFIXES,
    IngestProgress,
    IngestReport,
    SkippedFile,
    ensure_handbook,
    ingest,
)
from podium.retrievers.langchain import KnowledgeBaseRetriever, citation_to_document

__all__ = [
    "ENGINES",
    "HANDBOOK_DIR",
    "RETRIEVAL_ENGINES",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "Citation",
    "IngestProgress",
    "IngestReport",
    "KnowledgeBaseRetriever",
    "SkippedFile",
    "ask",
    "build_query_engine",
    "build_retriever",
    "citation_to_document",
    "describe_collection",
    "ensure_handbook",
    "ingest",
    "retrieve",
]
