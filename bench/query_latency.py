"""Benchmark: query latency of the vector retriever against a raw Chroma query.

For each size (default 1k, 10k and 100k chunks) it builds a collection of
synthetic chunks: random unit vectors from a seeded numpy generator, with the
metadata LlamaIndex writes for a real chunk (so the retriever rebuilds real
nodes), inserted straight into Chroma in batches. Then, for the same query
vectors, it times

- raw: ``collection.query(query_embeddings=[v], n_results=k)``;
- retriever: Podium's vector retriever (``build_retriever(engine="vector")``,
  LlamaIndex ``VectorIndexRetriever`` over ``ChromaVectorStore``) given the
  vector in its ``QueryBundle``, so query embedding is excluded from both.

Calls alternate between the two. Prints p50/p95 per size and the p50 ratio
(goal: ratio <= 1.5, and retriever p50 at 100k <= 50 ms).

Run: ``.venv/bin/python bench/query_latency.py [--sizes 1000 10000 100000] [--queries 300]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402
from llama_index.core.schema import (  # noqa: E402
    NodeRelationship,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.utils import node_to_metadata_dict  # noqa: E402

from podium.models import EMBEDDING_DIM  # noqa: E402
from podium.retrievers import build_retriever  # noqa: E402
from podium.retrievers._store import chroma_client, open_collection  # noqa: E402

WORDS = (
    "baggage fare refund seat meal pet flight delay voucher miles upgrade lounge "
    "passport visa insurance booking change cancel gate cabin"
).split()


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, EMBEDDING_DIM), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(name: str, home: str, size: int, rng: np.random.Generator, batch: int = 5000) -> float:
    """Fill collection ``name`` with ``size`` synthetic chunks; return seconds taken."""
    collection = open_collection(name, home)
    started = time.perf_counter()
    for start in range(0, size, batch):
        count = min(batch, size - start)
        ids, documents, metadatas = [], [], []
        for i in range(start, start + count):
            doc_id = f"synthetic/doc-{i // 10}.md"
            text = " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(60))
            node = TextNode(
                id_=f"{doc_id}#{i % 10}",
                text=text,
                metadata={
                    "source": doc_id,
                    "title": f"Synthetic document {i // 10}",
                    "heading": f"Section {i % 10}",
                    "position": i % 10,
                },
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc_id)},
            )
            ids.append(node.node_id)
            documents.append(text)
            metadatas.append(node_to_metadata_dict(node, remove_text=True, flat_metadata=True))
        collection.add(
            ids=ids,
            embeddings=unit_vectors(rng, count),
            documents=documents,
            metadatas=metadatas,
        )
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--home", default=None, help="Podium home (default: a temp dir)")
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="podium-bench-latency-")
    rng = np.random.default_rng(20240601)

    rows = []
    for size in args.sizes:
        name = f"bench-latency-{size}"
        collection = open_collection(name, home)
        if collection.count() != size:  # build once; a --home keeps it for later runs
            chroma_client(home).delete_collection(name)
            seconds = build(name, home, size, rng)
            collection = open_collection(name, home)
            print(f"built {size:>7} chunks in {seconds:.1f} s ({size / seconds:.0f} chunks/s)")
        retriever = build_retriever(name, engine="vector", top_k=args.top_k, home=home)
        queries = unit_vectors(rng, args.queries + 20)
        raw_ms, ret_ms = [], []
        for i, vector in enumerate(queries):
            as_list = vector.tolist()
            t0 = time.perf_counter()
            raw = collection.query(query_embeddings=[as_list], n_results=args.top_k)
            t1 = time.perf_counter()
            nodes = retriever.retrieve(QueryBundle(query_str="synthetic query", embedding=as_list))
            t2 = time.perf_counter()
            assert [n.node.node_id for n in nodes] == raw["ids"][0]
            if i >= 20:  # the first calls warm caches
                raw_ms.append(1000 * (t1 - t0))
                ret_ms.append(1000 * (t2 - t1))
        row = (
            size,
            percentile(raw_ms, 50),
            percentile(raw_ms, 95),
            percentile(ret_ms, 50),
            percentile(ret_ms, 95),
        )
        rows.append(row)
        print(
            f"{size:>7} chunks: raw p50 {row[1]:.2f} ms p95 {row[2]:.2f} ms | "
            f"retriever p50 {row[3]:.2f} ms p95 {row[4]:.2f} ms | p50 ratio {row[3] / row[1]:.2f}"
        )

    print(
        f"\n{'chunks':>8} {'raw p50':>9} {'raw p95':>9} {'ret p50':>9} {'ret p95':>9} {'ratio':>6}"
    )
    for size, r50, r95, q50, q95 in rows:
        print(f"{size:>8} {r50:>9.2f} {r95:>9.2f} {q50:>9.2f} {q95:>9.2f} {q50 / r50:>6.2f}")
    worst = max(q50 / r50 for _, r50, _, q50, _ in rows)
    largest = rows[-1]
    ratio_ok = "met" if worst <= 1.5 else "NOT met"
    p50_ok = "met" if largest[3] <= 50 else "NOT met"
    print(
        f"\nworst p50 overhead ratio {worst:.2f} (goal <= 1.5: {ratio_ok}); retriever p50 at "
        f"{largest[0]} chunks {largest[3]:.2f} ms (goal <= 50 ms at 100k: {p50_ok})"
    )
    print(
        f"median over sizes of the ratio: {statistics.median(q / r for _, r, _, q, _ in rows):.2f}"
    )


if __name__ == "__main__":
    main()
