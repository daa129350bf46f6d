"""Query engines over ingested collections, answers with citations.

Every engine is assembled from LlamaIndex parts over the Chroma collection:

- ``vector``: ``VectorStoreIndex.from_vector_store(...).as_retriever()``;
- ``hybrid``: ``QueryFusionRetriever`` over that retriever and a ``BM25Retriever``
  built from the collection's chunks, fused by reciprocal rank
  (``num_queries=1``: no model writes extra queries);
- ``router``: ``RouterQueryEngine`` (or ``RouterRetriever``) picking one
  collection with an ``EmbeddingSingleSelector`` over collection descriptions;
- ``subquestion``: ``SubQuestionQueryEngine``; the model splits the question
  through structured output, each part is answered over its collection, and
  the parts are combined.

Answers are synthesized by ``RetrieverQueryEngine`` with the chat model from
``podium.models.load_chat_model`` wrapped for LlamaIndex; passages are numbered
``[n]`` so the model can cite them. :func:`retrieve` returns passages alone,
with no model.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from langchain_core.language_models import BaseChatModel
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from podium.errors import InputError
from podium.retrievers._store import (
    collection_or_none,
    docstore_path,
    empty_collection_error,
    home_dir,
    list_collection_names,
    load_docstore,
    validate_collection_name,
)
from podium.settings import get_settings

if TYPE_CHECKING:
    from llama_index.core.base.base_query_engine import BaseQueryEngine
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import BaseNode

__all__ = [
    "ENGINES",
    "RETRIEVAL_ENGINES",
    "Answer",
    "Citation",
    "EngineName",
    "ask",
    "build_query_engine",
    "build_retriever",
    "describe_collection",
    "retrieve",
]

EngineName = Literal["vector", "hybrid", "router", "subquestion"]
ENGINES: tuple[str, ...] = get_args(EngineName)
RETRIEVAL_ENGINES: tuple[str, ...] = ("vector", "hybrid", "router")
"""Engines that can return passages without a model (``subquestion`` needs one)."""

_MAX_TOP_K = 100
# Each ranked list fused by the hybrid engine is this deep at least: reciprocal
# rank fusion rewards a passage both lists rank well, so they must reach past top_k.
_FUSION_DEPTH = 20

_QA_SYSTEM = (
    "You answer questions from a knowledge base. Use only the numbered passages "
    "below and cite the ones you use as [n]. If they do not contain the answer, "
    "say that the knowledge base does not cover it.\n\nPassages:\n{context_str}"
)
# Parts of a sub-question plan are answered without [n] markers: their numbers
# would not match the combined answer's sources.
_PART_SYSTEM = (
    "You answer one part of a larger question from a knowledge base. Use only the "
    "passages below. If they do not contain the answer, say that the knowledge base "
    "does not cover it.\n\nPassages:\n{context_str}"
)
_COMBINE_SYSTEM = (
    "Combine the answers to the parts of the user's question into one answer. Use "
    "only these answers.\n\nContext (answers to the parts):\n{context_str}"
)


@dataclass(frozen=True)
class Citation:
    """One retrieved passage: where it comes from, how it scored, and its text.

    ``score`` is the engine's: ``exp(-cosine distance)`` for ``vector``, the
    reciprocal-rank-fusion score for ``hybrid``; higher is better in both.
    """

    source: str
    title: str
    heading: str
    score: float | None
    text: str
    collection: str
    position: int | None = None
    id: str = ""

    @property
    def label(self) -> str:
        """``source › heading``, the short form printed next to an answer."""
        return f"{self.source} › {self.heading}" if self.heading else self.source

    def to_dict(self) -> dict[str, Any]:
        """Return the citation as a plain dict."""
        return asdict(self)


@dataclass
class Answer:
    """An engine's answer with the passages it used."""

    question: str
    text: str | None
    citations: list[Citation]
    engine: str
    collections: list[str]
    sub_questions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as a plain dict (JSON-ready)."""
        return {
            "question": self.question,
            "text": self.text,
            "engine": self.engine,
            "collections": self.collections,
            "sub_questions": self.sub_questions,
            "citations": [c.to_dict() for c in self.citations],
        }


class _Passages(BaseNodePostprocessor):
    """Show the model each passage's text alone, numbered ``[n]`` when it should cite.

    Works on copies: citations keep the nodes as retrieved. Metadata stays out of
    the prompt: each chunk starts with its own heading, and a model that quotes
    sentences (the offline one) would quote metadata lines too.
    """

    numbered: bool = True

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        shown = []
        for i, item in enumerate(nodes, start=1):
            node = item.node.model_copy()
            node.text_template = f"[{i}] {{content}}" if self.numbered else "{content}"
            shown.append(NodeWithScore(node=node, score=item.score))
        return shown


def _bm25_class() -> type:
    from llama_index.retrievers.bm25 import BM25Retriever

    class _BM25(BM25Retriever):
        """BM25 that leaves out passages sharing no term with the query (score 0)."""

        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            return [n for n in super()._retrieve(query_bundle) if (n.score or 0.0) > 0.0]

    return _BM25


# BM25 indexes are built from every chunk of a collection; keep one per collection
# and rebuild it when the collection changes (its docstore is rewritten per batch).
_bm25_cache: dict[tuple[str, str, int], tuple[tuple[int, int, int], Any]] = {}
_cache_lock = threading.Lock()
_descriptions: dict[tuple[str, int], str] = {}
_SECTION = re.compile(r"^#{2,3}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _version(name: str, home: Path, count: int) -> tuple[int, int, int]:
    path = docstore_path(name, home)
    stat = path.stat() if path.exists() else None
    return (stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0, count)


def _check_top_k(top_k: int | None) -> int:
    top_k = get_settings().top_k if top_k is None else top_k
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= _MAX_TOP_K:
        raise InputError(f"top_k must be a whole number from 1 to {_MAX_TOP_K}, got {top_k!r}")
    return top_k


def _check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; accepted: {', '.join(ENGINES)}")
    return engine


def _collections(collection: str | Sequence[str] | None, engine: str, home: Path) -> list[str]:
    """Resolve the collections to query; each must exist and hold chunks."""
    if collection is None and engine == "router":
        names = [n for n in list_collection_names(home) if (_count(n, home) or 0) > 0]
        if not names:
            raise empty_collection_error(get_settings().collection)
        return names
    raw = [collection] if collection is None or isinstance(collection, str) else list(collection)
    if not raw:
        raise InputError("no collection given; name one or more collections")
    names = list(dict.fromkeys(validate_collection_name(n) for n in raw))
    for name in names:
        if not _count(name, home):
            raise empty_collection_error(name)
    return names


def _count(name: str, home: Path) -> int | None:
    chroma = collection_or_none(name, home)
    return None if chroma is None else chroma.count()


def _vector_store(name: str, home: Path) -> Any:
    from llama_index.vector_stores.chroma import ChromaVectorStore

    chroma = collection_or_none(name, home)
    if chroma is None:
        raise empty_collection_error(name)
    return ChromaVectorStore(chroma_collection=chroma)


def _nodes(name: str, home: Path) -> list[BaseNode]:
    """Every chunk of a collection, as LlamaIndex nodes (read back from Chroma)."""
    return _vector_store(name, home).get_nodes(None)


def _configure(llm: Any | None = None) -> None:
    """Point LlamaIndex's global defaults at Podium's models, never at its OpenAI defaults.

    Every part below is also given its models explicitly; this covers any part
    that falls back to ``Settings``. The LLM is set only by engines that have one,
    so retrieval alone leaves a caller's ``Settings.llm`` as it was.
    """
    from llama_index.core import Settings

    from podium.models import load_llama_embeddings

    Settings.embed_model = load_llama_embeddings()
    if llm is not None:
        Settings.llm = llm


def build_retriever(
    collection: str | None = None,
    *,
    engine: Literal["vector", "hybrid"] = "hybrid",
    top_k: int | None = None,
    home: str | Path | None = None,
) -> BaseRetriever:
    """Return a LlamaIndex retriever over one collection.

    Args:
        collection: Collection name (default: ``PODIUM_COLLECTION``).
        engine: ``"vector"`` (embedding similarity) or ``"hybrid"`` (BM25 + vector,
            reciprocal rank fusion).
        top_k: Passages to return (default: ``PODIUM_TOP_K``).
        home: Podium home holding the collection (default: ``PODIUM_HOME``).

    Raises:
        InputError: The collection is missing or empty, the engine is not a
            retrieval engine, or ``top_k`` is out of range.
    """
    from llama_index.core import VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import QueryFusionRetriever

    from podium.models import load_llama_embeddings

    if engine not in ("vector", "hybrid"):
        raise InputError(f"unknown retriever engine {engine!r}; accepted: vector, hybrid")
    top_k = _check_top_k(top_k)
    root = home_dir(home)
    (name,) = _collections(collection, engine, root)
    _configure()
    store = _vector_store(name, root)
    index = VectorStoreIndex.from_vector_store(store, embed_model=load_llama_embeddings())
    if engine == "vector":
        return index.as_retriever(similarity_top_k=top_k)
    depth = max(top_k, _FUSION_DEPTH)
    return QueryFusionRetriever(
        [index.as_retriever(similarity_top_k=depth), _bm25(name, root, depth)],
        llm=MockLLM(),  # never called: num_queries=1 generates no extra queries
        mode="reciprocal_rerank",
        num_queries=1,
        similarity_top_k=top_k,
        use_async=False,
    )


def _bm25(name: str, home: Path, top_k: int) -> Any:
    chroma = collection_or_none(name, home)
    count = chroma.count() if chroma is not None else 0
    depth = max(1, min(top_k, count))
    key = (str(home.resolve()), name, depth)
    version = _version(name, home, count)
    with _cache_lock:
        cached = _bm25_cache.get(key)
        if cached is None or cached[0] != version:
            retriever = _bm25_class().from_defaults(
                nodes=_nodes(name, home), similarity_top_k=depth
            )
            cached = (version, retriever)
            _bm25_cache[key] = cached
        return cached[1]


def describe_collection(name: str, home: str | Path | None = None) -> str:
    """Return a description of a collection: its documents' titles and section headings.

    The router and sub-question engines choose a collection by comparing the
    question with this text, so it lists what the collection covers.
    """
    path = docstore_path(name, home)
    stat = path.stat() if path.exists() else None
    key = (str(path.resolve()), stat.st_mtime_ns if stat else 0)
    with _cache_lock:
        if key in _descriptions:
            return _descriptions[key]
    parts = []
    for doc in sorted(load_docstore(path).docs.values(), key=lambda d: d.node_id):
        title = str(doc.metadata.get("title", "")) or doc.node_id
        headings = _SECTION.findall(doc.get_content())
        parts.append(f"{title} ({', '.join(headings)})" if headings else title)
    text = f"Knowledge base {name!r}: " + "; ".join(parts)
    with _cache_lock:
        _descriptions[key] = text
    return text


def _router_retriever(names: list[str], engine: str, top_k: int, home: Path) -> Any:
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import RouterRetriever
    from llama_index.core.selectors import EmbeddingSingleSelector
    from llama_index.core.tools import RetrieverTool

    from podium.models import load_llama_embeddings

    base = "hybrid" if engine in ("router", "hybrid") else "vector"
    tools = [
        RetrieverTool.from_defaults(
            _tagged(build_retriever(name, engine=base, top_k=top_k, home=home), name),  # type: ignore[arg-type]
            name=name,
            description=describe_collection(name, home),
        )
        for name in names
    ]
    return RouterRetriever(
        selector=EmbeddingSingleSelector.from_defaults(embed_model=load_llama_embeddings()),
        retriever_tools=tools,
        llm=MockLLM(),  # the embedding selector calls no model
    )


def _citations(nodes: Sequence[NodeWithScore], names: list[str]) -> list[Citation]:
    """Turn retrieved nodes into citations; drop nodes that are not chunks (sub-answers)."""
    best: dict[str, Citation] = {}
    for item in nodes:
        meta = item.node.metadata
        if "source" not in meta:
            continue
        citation = Citation(
            source=str(meta.get("source", "")),
            title=str(meta.get("title", "")),
            heading=str(meta.get("heading", "")),
            score=None if item.score is None else round(float(item.score), 6),
            text=item.node.get_content(),
            collection=str(meta.get("collection") or (names[0] if len(names) == 1 else "")),
            position=meta.get("position"),
            id=item.node.node_id,
        )
        kept = best.get(citation.id)
        if kept is None or (citation.score or 0.0) > (kept.score or 0.0):
            best[citation.id] = citation
    return list(best.values())


def retrieve(
    question: str,
    *,
    collection: str | Sequence[str] | None = None,
    engine: str = "hybrid",
    top_k: int | None = None,
    home: str | Path | None = None,
) -> list[Citation]:
    """Return the passages that best answer ``question``, best first; no model involved.

    Args:
        question: The question or search text.
        collection: A collection, several (routed: the closest one is searched), or
            None for ``PODIUM_COLLECTION`` (all collections with ``engine="router"``).
        engine: ``"vector"``, ``"hybrid"`` or ``"router"``.
        top_k: Passages to return (default: ``PODIUM_TOP_K``).
        home: Podium home holding the collections (default: ``PODIUM_HOME``).

    Raises:
        InputError: Empty question, unknown engine, ``top_k`` out of range, or a
            collection that is missing or empty (the message says how to ingest).
    """
    question = _check_question(question)
    engine = _check_engine(engine)
    if engine not in RETRIEVAL_ENGINES:
        raise InputError(
            f"engine {engine!r} needs a model; retrieval engines: {', '.join(RETRIEVAL_ENGINES)}"
        )
    top_k = _check_top_k(top_k)
    root = home_dir(home)
    names = _collections(collection, engine, root)
    if len(names) == 1:
        retriever = build_retriever(
            names[0], engine="vector" if engine == "vector" else "hybrid", top_k=top_k, home=root
        )
    else:
        retriever = _router_retriever(names, engine, top_k, root)
    nodes = retriever.retrieve(question)
    return _citations(_tag_collections(nodes, names), names)[:top_k]


def _tag_collections(nodes: list[NodeWithScore], names: list[str]) -> list[NodeWithScore]:
    """Note the collection on nodes from a single collection (routed ones carry theirs)."""
    if len(names) == 1:
        for item in nodes:
            item.node.metadata.setdefault("collection", names[0])
    return nodes


def _tagged(retriever: Any, collection: str) -> Any:
    """Wrap a retriever so its nodes name their collection (for routed retrieval)."""
    from llama_index.core.base.base_retriever import BaseRetriever as LlamaRetriever

    class _Tagged(LlamaRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            nodes = retriever.retrieve(query_bundle)
            for item in nodes:
                item.node.metadata["collection"] = collection
            return nodes

    return _Tagged()


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError(
            "the question is empty; ask something, e.g. 'What is the cabin bag limit?'"
        )
    return question.strip()


def build_query_engine(
    collection: str | Sequence[str] | None = None,
    *,
    engine: str = "hybrid",
    model: str | BaseChatModel | None = None,
    top_k: int | None = None,
    home: str | Path | None = None,
) -> BaseQueryEngine:
    """Return a LlamaIndex query engine that answers with the given chat model.

    Args:
        collection: A collection or several. Several collections make ``vector``
            and ``hybrid`` route (one collection per question); ``subquestion``
            may ask each part of a question of a different collection.
        engine: ``"vector"``, ``"hybrid"``, ``"router"`` or ``"subquestion"``.
        model: A chat model or spec for ``load_chat_model`` (default: ``PODIUM_MODEL``).
        top_k: Passages per retrieval (default: ``PODIUM_TOP_K``).
        home: Podium home holding the collections (default: ``PODIUM_HOME``).

    Raises:
        InputError: As for :func:`retrieve`.
        ConfigError: The model spec is not usable.
    """
    from llama_index.core.prompts import ChatPromptTemplate
    from llama_index.core.query_engine import (
        RetrieverQueryEngine,
        RouterQueryEngine,
        SubQuestionQueryEngine,
    )
    from llama_index.core.response_synthesizers import ResponseMode, get_response_synthesizer
    from llama_index.core.selectors import EmbeddingSingleSelector
    from llama_index.core.tools import QueryEngineTool

    from podium.models import load_chat_model, load_llama_embeddings
    from podium.retrievers._llm import LangChainLLM, StructuredQuestionGenerator

    engine = _check_engine(engine)
    top_k = _check_top_k(top_k)
    root = home_dir(home)
    names = _collections(collection, engine, root)
    llm = LangChainLLM(load_chat_model(model))
    _configure(llm)

    def synthesizer(system: str) -> Any:
        template = ChatPromptTemplate.from_messages([("system", system), ("user", "{query_str}")])
        return get_response_synthesizer(
            llm=llm, text_qa_template=template, response_mode=ResponseMode.COMPACT
        )

    def single(name: str) -> Any:
        base = "vector" if engine == "vector" else "hybrid"
        retriever = build_retriever(name, engine=base, top_k=top_k, home=root)  # type: ignore[arg-type]
        if len(names) > 1:
            retriever = _tagged(retriever, name)
        if engine == "subquestion":
            return RetrieverQueryEngine(
                retriever,
                response_synthesizer=synthesizer(_PART_SYSTEM),
                node_postprocessors=[_Passages(numbered=False)],
            )
        return RetrieverQueryEngine(
            retriever,
            response_synthesizer=synthesizer(_QA_SYSTEM),
            node_postprocessors=[_Passages()],
        )

    def tools() -> list[Any]:
        return [
            QueryEngineTool.from_defaults(
                single(name), name=name, description=describe_collection(name, root)
            )
            for name in names
        ]

    if engine == "subquestion":
        return SubQuestionQueryEngine(
            question_gen=StructuredQuestionGenerator(llm),
            response_synthesizer=synthesizer(_COMBINE_SYSTEM),
            query_engine_tools=tools(),
            verbose=False,
            use_async=False,
        )
    if len(names) == 1:
        return single(names[0])
    return RouterQueryEngine(
        selector=EmbeddingSingleSelector.from_defaults(embed_model=load_llama_embeddings()),
        query_engine_tools=tools(),
        llm=llm,
    )


def ask(
    question: str,
    *,
    collection: str | Sequence[str] | None = None,
    engine: str = "hybrid",
    model: str | BaseChatModel | None = None,
    top_k: int | None = None,
    home: str | Path | None = None,
    synthesize: bool = True,
) -> Answer:
    """Answer ``question`` from the knowledge base, with citations.

    Args:
        question: The question.
        collection: A collection, several, or None (see :func:`build_query_engine`).
        engine: ``"vector"``, ``"hybrid"``, ``"router"`` or ``"subquestion"``.
        model: The chat model that writes the answer (default: ``PODIUM_MODEL``).
        top_k: Passages per retrieval (default: ``PODIUM_TOP_K``).
        home: Podium home holding the collections (default: ``PODIUM_HOME``).
        synthesize: False returns the retrieved passages with ``text=None`` and
            calls no model (not available for ``subquestion``).

    Returns:
        The answer, its citations (source, heading, score, text) best first, and
        for ``subquestion`` the sub-questions asked.

    Raises:
        InputError: As for :func:`retrieve`.
        ConfigError: The model spec is not usable.
    """
    question = _check_question(question)
    engine = _check_engine(engine)
    root = home_dir(home)
    names = _collections(collection, engine, root)
    if not synthesize:
        citations = retrieve(
            question,
            collection=names,
            engine="router" if len(names) > 1 else engine,
            top_k=top_k,
            home=root,
        )
        return Answer(question, None, citations, engine, names)
    query_engine = build_query_engine(names, engine=engine, model=model, top_k=top_k, home=root)
    response = query_engine.query(question)
    nodes = _tag_collections(list(response.source_nodes), names)
    citations = sorted(_citations(nodes, names), key=lambda c: -(c.score or 0.0))
    sub_questions = []
    for item in response.source_nodes:
        text = item.node.get_content()
        if "source" not in item.node.metadata and text.startswith("Sub question: "):
            sub_questions.append(text.split("\n", 1)[0].removeprefix("Sub question: "))
    answer_text = str(response.response or "").strip() or None
    return Answer(question, answer_text, citations, engine, names, sub_questions)
