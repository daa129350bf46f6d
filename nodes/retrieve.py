"""The ``retrieve`` node: look up passages for the current question.

It reads the question from ``state["question"]`` or, failing that, the latest
human message, searches the knowledge base and writes ``documents`` (LangChain
``Document`` objects carrying source, title, heading and score). Knobs come from
``runtime.context`` attributes, each optional: ``collection``, ``top_k`` and
``retrieval_engine`` (or ``engine``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime

from podium.errors import InputError

__all__ = ["question_from_state", "retrieve"]

_DEFAULT_ENGINE = "hybrid"


def question_from_state(state: dict[str, Any]) -> str:
    """Return ``state["question"]``, or the text of the latest human message.

    Raises:
        InputError: The state has neither.
    """
    question = state.get("question")
    if isinstance(question, str) and question.strip():
        return question.strip()
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage) and str(message.text).strip():
            return str(message.text).strip()
    raise InputError("retrieve needs a 'question' in the state or a human message to answer")


def retrieve(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, list[Document]]:
    """Retrieve passages for the question and write them to ``documents``.

    Args:
        state: Graph state with ``question`` or ``messages``.
        runtime: ``runtime.context`` may set ``collection`` (default:
            ``PODIUM_COLLECTION``), ``top_k`` (default: ``PODIUM_TOP_K``) and
            ``retrieval_engine`` or ``engine`` (``vector``, ``hybrid`` or
            ``router``; default ``hybrid``).

    Returns:
        ``{"documents": [...]}``, best first.

    Raises:
        InputError: No question, or the collection is missing or empty.
    """
    # Imported here: LlamaIndex and Chroma load only when a graph retrieves.
    from podium.retrievers.engines import RETRIEVAL_ENGINES
    from podium.retrievers.engines import retrieve as retrieve_passages
    from podium.retrievers.langchain import citation_to_document

    context = runtime.context
    engine = getattr(context, "retrieval_engine", None) or getattr(context, "engine", None)
    if engine not in RETRIEVAL_ENGINES:
        engine = _DEFAULT_ENGINE
    citations = retrieve_passages(
        question_from_state(state),
        collection=getattr(context, "collection", None),
        engine=engine,
        top_k=getattr(context, "top_k", None),
    )
    return {"documents": [citation_to_document(c) for c in citations]}
