"""Knowledge-base search: the handbook (or any ingested collection) as a tool.

``search_knowledge_base`` runs hybrid retrieval (BM25 + vector) over the
collection named by ``PODIUM_COLLECTION`` and returns numbered passages with
their source and section, so the model can quote and cite them.
"""

from __future__ import annotations

from podium.errors import InputError, ToolInputError
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools

__all__ = ["format_passages", "search_knowledge_base"]

_MAX_TOP_K = 20
_MAX_CHARS = 1500


def format_passages(citations: list) -> str:
    """Format citations as numbered passages: ``[n] source › heading (score)`` then text."""
    blocks = []
    for i, citation in enumerate(citations, start=1):
        text = citation.text.strip()
        if len(text) > _MAX_CHARS:
            text = text[:_MAX_CHARS].rsplit(" ", 1)[0] + " ..."
        score = "" if citation.score is None else f" (score {citation.score:.3f})"
        blocks.append(f"[{i}] {citation.label}{score}\n{text}")
    return "\n\n".join(blocks)


@podium_tool
def search_knowledge_base(query: str, top_k: int = 5) -> str:
    """Search the knowledge base (Podium handbook, travel policies); returns cited passages.

    Args:
        query: What to look up, in plain words, e.g. "cabin bag size limit".
        top_k: How many passages to return, from 1 to 20.
    """
    if not query or not query.strip():
        raise ToolInputError("query is empty; describe what to look up, e.g. 'pet travel rules'")
    if not 1 <= top_k <= _MAX_TOP_K:
        raise ToolInputError(f"top_k must be from 1 to {_MAX_TOP_K}, got {top_k}")
    # Imported here: LlamaIndex and Chroma load only when the tool runs.
    from podium.retrievers.engines import retrieve

    try:
        citations = retrieve(query, engine="hybrid", top_k=top_k)
    except InputError as exc:
        raise ToolInputError(str(exc)) from exc
    if not citations:
        return f"No passages found for {query!r}."
    return format_passages(citations)


register_tools([search_knowledge_base])
