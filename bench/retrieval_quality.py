"""Benchmark: retrieval quality on the handbook eval set, vector vs hybrid, side by side.

Ingests the shipped handbook (``HANDBOOK_DIR``) into a fresh collection, then asks
every question of ``evals/datasets/retrieval.jsonl`` through the vector and the
hybrid (BM25 + vector, reciprocal rank fusion) retrievers and prints, per engine,

- hit@5: share of questions with a page that answers them among the top 5;
- MRR: mean reciprocal rank of the first such page (0 when none in the top 5).

Goal: hybrid >= vector, and hit@5 >= 0.9. The retrieval path is exactly the one
``podium ask`` and the ``search_knowledge_base`` tool use.

Run: ``.venv/bin/python bench/retrieval_quality.py [--top-k 5] [--home DIR]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from podium.evals._datasets import load_dataset  # noqa: E402
from podium.retrievers import HANDBOOK_DIR, ingest, retrieve  # noqa: E402

ENGINES = ("vector", "hybrid")


def score(ranked_sources: list[str], expected: set[str]) -> tuple[float, float]:
    """Return (hit, reciprocal rank) of the first expected source in a ranking."""
    for rank, source in enumerate(ranked_sources, start=1):
        if source in expected:
            return 1.0, 1.0 / rank
    return 0.0, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--home", default=None, help="Podium home (default: a temp dir)")
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="podium-bench-quality-")

    started = time.perf_counter()
    report = ingest([HANDBOOK_DIR], collection="bench-handbook", home=home)
    print(f"ingested: {report.summary()} ({time.perf_counter() - started:.1f} s)")

    examples = load_dataset("retrieval")
    totals = {engine: [0.0, 0.0] for engine in ENGINES}
    misses: dict[str, list[str]] = {engine: [] for engine in ENGINES}
    latency = {engine: 0.0 for engine in ENGINES}
    for example in examples:
        expected = set(example["sources"])
        for engine in ENGINES:
            t0 = time.perf_counter()
            passages = retrieve(
                example["question"],
                collection="bench-handbook",
                engine=engine,
                top_k=args.top_k,
                home=home,
            )
            latency[engine] += time.perf_counter() - t0
            hit, rr = score([p.source for p in passages], expected)
            totals[engine][0] += hit
            totals[engine][1] += rr
            if not hit:
                misses[engine].append(example["id"])

    n = len(examples)
    k = args.top_k
    print(f"\n{n} questions, top {k}, {report.total_chunks} chunks\n")
    print(f"{'engine':<8} {f'hit@{k}':>7} {'MRR':>7} {'ms/query':>9}  misses")
    for engine in ENGINES:
        hit, mrr = totals[engine][0] / n, totals[engine][1] / n
        ms = 1000 * latency[engine] / n
        print(f"{engine:<8} {hit:>7.3f} {mrr:>7.3f} {ms:>9.1f}  {', '.join(misses[engine]) or '-'}")
    v_hit, h_hit = (totals[e][0] / n for e in ENGINES)
    v_mrr, h_mrr = (totals[e][1] / n for e in ENGINES)
    print(
        f"\nhybrid/vector: hit@{k} ratio {h_hit / v_hit:.3f}, MRR ratio {h_mrr / v_mrr:.3f} "
        f"(goal: hybrid >= vector, hit@{k} >= 0.9: "
        f"{'met' if h_hit >= v_hit and h_mrr >= v_mrr and h_hit >= 0.9 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
