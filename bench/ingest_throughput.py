"""Benchmark: ingestion throughput against raw sentence-transformers ``encode``.

Ingests the shipped handbook into a fresh collection (read, split along headings
and into chunks, embed, write to Chroma, save the docstore) and records the exact
texts the pipeline embedded. Then it embeds those same texts with a bare
``SentenceTransformer.encode`` on the same shared MiniLM model. Rounds alternate
the two; the best round of each counts (damping noise from other load), and the
median of the per-round ratios is printed too, and the same ratio in CPU seconds
of this process, which other load on a shared machine does not skew.

Prints chunks/s for both and the ratio pipeline / raw (goal >= 0.85: the pipeline
costs little beyond the embedding itself).

Run: ``.venv/bin/python bench/ingest_throughput.py [--rounds 2]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from podium.models import load_llama_embeddings, load_sentence_transformer  # noqa: E402
from podium.retrievers import HANDBOOK_DIR, ingest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    model = load_sentence_transformer()
    embedding = load_llama_embeddings()
    model.encode(["warm up the model"] * 16, batch_size=16)
    # Warm the pipeline too (imports, tokenizer, Chroma client): steady state is measured.
    warm = tempfile.mkdtemp(prefix="podium-bench-warm-")
    ingest([HANDBOOK_DIR / "travel" / "pets.md"], collection="bench-warm", home=warm)

    recorded: list[str] = []
    real = type(embedding)._get_text_embeddings

    def recording(self, texts):
        recorded.extend(texts)
        return real(self, texts)

    type(embedding)._get_text_embeddings = recording

    pipeline_best = raw_best = float("inf")
    chunks = 0
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    for round_ in range(1, args.rounds + 1):
        home = tempfile.mkdtemp(prefix="podium-bench-ingest-")
        recorded.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        report = ingest([HANDBOOK_DIR], collection="bench-ingest", home=home)
        pipeline_s, pipeline_cpu = time.perf_counter() - t0, time.process_time() - c0
        chunks = report.chunks
        assert chunks == len(recorded) == report.total_chunks, (chunks, len(recorded))
        texts = list(recorded)

        t0, c0 = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=embedding.embed_batch_size, normalize_embeddings=True)
        raw_s, raw_cpu = time.perf_counter() - t0, time.process_time() - c0
        shutil.rmtree(home, ignore_errors=True)

        pipeline_best, raw_best = min(pipeline_best, pipeline_s), min(raw_best, raw_s)
        ratios.append(raw_s / pipeline_s)
        cpu_ratios.append(raw_cpu / pipeline_cpu)
        print(
            f"round {round_}: pipeline {chunks / pipeline_s:6.1f} chunks/s ({pipeline_s:.1f} s), "
            f"raw encode {chunks / raw_s:6.1f} chunks/s ({raw_s:.1f} s), ratio {ratios[-1]:.3f}; "
            f"CPU s {pipeline_cpu:.1f} vs {raw_cpu:.1f}, ratio {cpu_ratios[-1]:.3f}"
        )

    pipeline_rate, raw_rate = chunks / pipeline_best, chunks / raw_best
    ratio = pipeline_rate / raw_rate
    print(
        f"\n{report.files} files, {chunks} chunks; best of {args.rounds}: "
        f"pipeline {pipeline_rate:.1f} chunks/s, raw encode {raw_rate:.1f} chunks/s"
    )
    verdict = "met" if ratio >= 0.85 else "NOT met"
    print(
        f"ratio pipeline/raw: {ratio:.3f} best of each, {statistics.median(ratios):.3f} median "
        f"of rounds (goal >= 0.85: {verdict})"
    )
    print(
        f"CPU-time ratio (this process's CPU seconds, blind to other load on the machine): "
        f"{statistics.median(cpu_ratios):.3f} median of rounds"
    )


if __name__ == "__main__":
    main()
