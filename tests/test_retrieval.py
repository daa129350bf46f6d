"""Query engines, citations, the LangChain retriever, the search tool and the retrieve node.

One small knowledge base per module (real MiniLM, real Chroma in a tmp dir): four
travel pages in ``travel-kb`` and two Podium pages in ``podium-kb``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_tests.integration_tests import RetrieversIntegrationTests
from langgraph.runtime import Runtime

from podium.errors import InputError
from podium.nodes import retrieve as retrieve_node
from podium.retrievers import (
    HANDBOOK_DIR,
    KnowledgeBaseRetriever,
    ask,
    ingest,
    retrieve,
)
from podium.retrievers._store import open_collection
from podium.settings import get_settings
from podium.tools import get_tool

TRAVEL = ["baggage-cabin.md", "pets.md", "no-shows.md", "seat-selection.md"]
PODIUM = ["knowledge-base-ingestion.md", "cli-reference.md"]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Podium home with the collections ``travel-kb`` and ``podium-kb``."""
    root = tmp_path_factory.mktemp("kb")
    for collection, folder, pages in (
        ("travel-kb", "travel", TRAVEL),
        ("podium-kb", "podium", PODIUM),
    ):
        source = root / "src" / collection
        source.mkdir(parents=True)
        for page in pages:
            shutil.copy(HANDBOOK_DIR / folder / page, source / page)
        ingest([source], collection=collection, home=root / "home")
    return root / "home"


@pytest.fixture
def kb_env(kb: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point PODIUM_HOME and PODIUM_COLLECTION at the module's knowledge base."""
    monkeypatch.setenv("PODIUM_HOME", str(kb))
    monkeypatch.setenv("PODIUM_COLLECTION", "travel-kb")
    get_settings.cache_clear()
    return kb


@pytest.mark.parametrize("engine", ["vector", "hybrid"])
def test_engines_answer_with_citations(kb, engine):
    answer = ask(
        "How much may a pet and its carrier weigh in the cabin?",
        collection="travel-kb",
        engine=engine,
        home=kb,
    )
    assert answer.text and "8 kg" in answer.text
    assert "[1]" in answer.text  # the model cites the numbered passages
    top = answer.citations[0]
    assert (top.source, top.heading) == ("pets.md", "Pets in the cabin")
    assert top.title == "Travelling with Pets" and top.collection == "travel-kb"
    assert "8 kg" in top.text and top.score is not None
    scores = [c.score for c in answer.citations]
    assert scores == sorted(scores, reverse=True)
    if engine == "hybrid":  # reciprocal rank fusion over two lists: at most 2 / 60
        assert all(0 < s <= 2 / 60 for s in scores)


def test_hybrid_ranks_an_exact_term_match_first(kb):
    # "IATA" is one rare token: BM25 finds it even where embeddings are vague.
    hybrid = retrieve("IATA crate", collection="travel-kb", engine="hybrid", top_k=3, home=kb)
    assert hybrid[0].heading == "Pets in the hold" and "IATA" in hybrid[0].text


def test_retrieval_without_a_model_returns_passages(kb):
    answer = ask(
        "Where can I sit with extra legroom?",
        collection="travel-kb",
        home=kb,
        top_k=3,
        synthesize=False,
    )
    assert answer.text is None
    assert len(answer.citations) == 3
    assert answer.citations[0].source == "seat-selection.md"


def test_subquestion_engine_answers_each_part(kb):
    answer = ask(
        "How big may my cabin bag be, and can my cat travel in the cabin?",
        collection="travel-kb",
        engine="subquestion",
        home=kb,
    )
    assert len(answer.sub_questions) >= 2
    assert answer.text
    sources = {c.source for c in answer.citations}
    assert {"baggage-cabin.md", "pets.md"} <= sources
    assert all(c.heading and c.text for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What fee applies when I miss my flight without cancelling?", "travel-kb"),
        ("Which command ingests documents, and what does --prune do?", "podium-kb"),
    ],
)
def test_router_picks_the_collection(kb, question, expected):
    passages = retrieve(question, collection=["travel-kb", "podium-kb"], home=kb, top_k=3)
    assert passages and {c.collection for c in passages} == {expected}
    answer = ask(question, collection=["travel-kb", "podium-kb"], home=kb, engine="router")
    assert answer.text and {c.collection for c in answer.citations} == {expected}


def test_router_without_collections_uses_every_collection(kb_env):
    answer = ask("How do I ingest a folder of PDFs?", engine="router", synthesize=False)
    assert answer.collections == ["podium-kb", "travel-kb"]
    assert answer.citations[0].collection == "podium-kb"


def test_missing_or_empty_collection_says_how_to_ingest(kb, tmp_path):
    message = (
        "collection 'nothing-here' is empty; run: podium ingest PATH --collection nothing-here"
    )
    with pytest.raises(InputError) as missing:
        ask("anything?", collection="nothing-here", home=kb)
    assert str(missing.value) == message
    open_collection("hollow", tmp_path)  # exists, holds no chunks
    with pytest.raises(InputError, match="collection 'hollow' is empty; run: podium ingest"):
        retrieve("anything?", collection="hollow", home=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"engine": "semantic"}, "unknown engine 'semantic'; accepted: vector, hybrid"),
        ({"top_k": 0}, "top_k must be a whole number from 1 to 100, got 0"),
        ({"collection": "x"}, "collection name 'x' is not valid"),
    ],
)
def test_bad_arguments_name_what_is_accepted(kb, kwargs, fragment):
    with pytest.raises(InputError) as info:
        retrieve("cabin bags", **{"collection": "travel-kb", "home": kb, **kwargs})
    assert fragment in str(info.value)
    with pytest.raises(InputError, match="question is empty"):
        ask("  ", collection="travel-kb", home=kb)


class TestKnowledgeBaseRetriever(RetrieversIntegrationTests):
    """LangChain's standard retriever tests, over the module's knowledge base."""

    home: Path | None = None

    @pytest.fixture(autouse=True)
    def _kb(self, kb: Path) -> None:
        type(self).home = kb

    @property
    def retriever_constructor(self) -> type[KnowledgeBaseRetriever]:
        return KnowledgeBaseRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"collection": "travel-kb", "home": type(self).home}

    @property
    def retriever_query_example(self) -> str:
        return "What happens to my booking if I do not show up?"


def test_retriever_documents_carry_citations(kb):
    retriever = KnowledgeBaseRetriever(collection="travel-kb", engine="vector", k=2, home=kb)
    docs = retriever.invoke("window or aisle seat")
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    meta = docs[0].metadata
    assert meta["source"] == "seat-selection.md" and meta["heading"]
    assert meta["collection"] == "travel-kb" and isinstance(meta["score"], float)
    assert docs[0].id == f"seat-selection.md#{meta['position']}"
    assert docs[0].page_content.strip()
    with pytest.raises(ValueError):
        KnowledgeBaseRetriever(k=0)


def test_search_tool_returns_numbered_passages(kb_env):
    tool = get_tool("search_knowledge_base")
    text = tool.invoke({"query": "gate fee for an oversized cabin bag", "top_k": 2})
    assert text.startswith("[1] baggage-cabin.md › ") and "\n\n[2] " in text
    assert "[3]" not in text and "€60" in text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"query": "  "}, "query is empty"),
        ({"query": "pets", "top_k": 50}, "top_k must be from 1 to 20"),
    ],
)
def test_search_tool_errors_reach_the_model(kb_env, args, fragment):
    tool = get_tool("search_knowledge_base")
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert message.status == "error" and fragment in message.content


def test_search_tool_on_an_empty_knowledge_base(monkeypatch):
    monkeypatch.setenv("PODIUM_COLLECTION", "handbook")
    get_settings.cache_clear()
    tool = get_tool("search_knowledge_base")
    message = tool.invoke(
        {"type": "tool_call", "id": "1", "name": tool.name, "args": {"query": "pets"}}
    )
    assert message.status == "error"
    assert message.content == (
        "Error: collection 'handbook' is empty; run: podium ingest PATH --collection handbook"
    )


@dataclass(frozen=True)
class Context:
    collection: str = "travel-kb"
    top_k: int = 2
    retrieval_engine: str = "hybrid"


def test_retrieve_node_reads_the_last_human_message(kb_env):
    state = {
        "messages": [
            HumanMessage("hi"),
            AIMessage("Hello!"),
            HumanMessage("Can I pick an exit row seat?"),
        ]
    }
    update = retrieve_node(state, Runtime(context=Context()))
    assert set(update) == {"documents"}
    docs = update["documents"]
    assert len(docs) == 2 and docs[0].metadata["source"] == "seat-selection.md"


def test_retrieve_node_prefers_the_question_key_and_context_knobs(kb_env):
    state = {"question": "What does --prune remove?", "messages": [HumanMessage("ignored")]}
    update = retrieve_node(state, Runtime(context=Context(collection="podium-kb", top_k=1)))
    (doc,) = update["documents"]
    assert doc.metadata["source"] == "knowledge-base-ingestion.md"
    # No context at all: defaults from settings (PODIUM_COLLECTION, PODIUM_TOP_K).
    update = retrieve_node({"question": "pets in the hold"}, Runtime(context=None))
    assert len(update["documents"]) == get_settings().top_k
    with pytest.raises(InputError, match="needs a 'question'"):
        retrieve_node({"messages": [AIMessage("no question here")]}, Runtime(context=Context()))
