"""Benchmark: the offline model's latency per call, and MiniLM embedding throughput.

Prints
- median and p95 latency per call after warm-up, over a mix of plain calls, calls
  with five bound tools, and structured-output calls (goal: median <= 20 ms). Every
  request is distinct, so each call embeds its request for real;
- MiniLM throughput on 1,000 ~60-word chunks through ``load_embeddings()``
  next to raw ``SentenceTransformer.encode`` on the same chunks, and the ratio
  (goal >= 0.9).

Run: ``.venv/bin/python bench/offline_model.py``
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import date
from typing import Literal

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from langchain_core.tools import tool  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from podium.models import load_embeddings, load_sentence_transformer  # noqa: E402
from podium.offline import OfflineChatModel  # noqa: E402
from podium.tools.calculator import calculator  # noqa: E402

CITIES = ["Paris", "Oslo", "Rome", "Lisbon", "Berlin", "Madrid", "Vienna", "Prague", "Dublin",
          "Athens", "Tokyo", "Cairo", "Denver", "Boston", "Seattle", "Toronto"]  # fmt: skip
PEOPLE = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi"]


@tool
def get_weather(location: str) -> str:
    """Get the current weather forecast for a city.

    Args:
        location: City name.
    """
    return "sunny"


@tool
def search_flights(origin: str, destination: str, date_from: str, date_to: str) -> str:
    """Search for flights between two cities.

    Args:
        origin: Departure city.
        destination: Arrival city.
        date_from: Earliest departure date (YYYY-MM-DD).
        date_to: Latest departure date (YYYY-MM-DD).
    """
    return "[]"


@tool
def create_event(title: str, date: str, attendees: list[str]) -> str:
    """Create an event on the calendar: meetings, appointments, reminders.

    Args:
        title: Short title of the event.
        date: Day of the event (YYYY-MM-DD).
        attendees: Names of the people invited.
    """
    return "ok"


@tool
def web_search(query: str) -> str:
    """Search the web for pages about a topic.

    Args:
        query: What to search for.
    """
    return "[]"


class Ticket(BaseModel):
    """Support ticket triage."""

    category: Literal["billing", "technical", "account"] = Field(
        description="billing: charges, invoices, refunds\ntechnical: bugs, errors, crashes\n"
        "account: login, password, profile"
    )
    confidence: float = Field(ge=0, le=1)


CONTEXT = (
    "Context:\n[1] Cats and small dogs travel in the cabin in a soft carrier under the seat. "
    "The carrier counts as your personal item.\n[2] Checked bags may weigh up to 23 kg. "
    "Heavier bags pay an overweight fee of 60 EUR.\n[3] Refunds go back to the original form "
    "of payment within 14 days."
)


def requests(rng: random.Random, n: int) -> dict[str, list[str]]:
    """Distinct requests of each kind, so every call embeds a new text."""
    plain, tools, structured = [], [], []
    for i in range(n):
        a, b = rng.sample(CITIES, 2)
        p, q = rng.sample(PEOPLE, 2)
        plain.append(rng.choice([
            f"Hello, I am planning trip number {i} to {a}",
            f"Tell me something about {a} and {b}, question {i}",
            f"{CONTEXT}\n\nQuestion: how heavy may a checked bag be on flight {i}?",
            f"{CONTEXT}\n\nQuestion: can my pet travel with me to {a}?",
        ]))  # fmt: skip
        tools.append(rng.choice([
            f"What is {rng.randint(2, 99)}% of {rng.randint(100, 9999):,}?",
            f"What's the weather in {a} on day {i}?",
            f"Find flights from {a} to {b} next week, request {i}",
            f"Schedule a meeting with {p} and {q} in {rng.randint(2, 9)} days about item {i}",
            f"Search the web for museums in {a}, query {i}",
            f"What is {rng.randint(2, 99)} times {rng.randint(2, 99)} and what's the weather "
            f"in {a}?",
        ]))  # fmt: skip
        structured.append(rng.choice([
            f"I was charged twice on invoice {i}",
            f"The app crashes when I open screen {i}",
            f"I cannot log in to account {i}, the password reset fails",
        ]))  # fmt: skip
    return {"plain": plain, "bind_tools (5 tools)": tools, "structured output": structured}


def chunks(n: int = 1000, words: int = 60) -> list[str]:
    """Deterministic ~60-word handbook-like chunks."""
    rng = random.Random(7)
    subjects = ["Checked bags", "Cabin bags", "Pets", "Refunds", "Seat changes", "Miles",
                "Minors", "Vouchers", "Delays", "Travel documents"]  # fmt: skip
    verbs = ["must", "may", "can", "should", "will"]
    tails = ["be booked at least 48 hours before departure", "weigh no more than 23 kg",
             "travel in a soft carrier under the seat", "be requested through the app",
             "expire after 24 months", "earn miles on every eligible fare",
             "be refunded to the original form of payment", "be changed for a fee of 50 EUR",
             "need a valid passport for international routes",
             "stay with the cabin crew"]  # fmt: skip
    out = []
    for i in range(n):
        sentences = []
        while sum(len(s.split()) for s in sentences) < words:
            sentences.append(
                f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(tails)} "
                f"on route {rng.randint(100, 999)}."
            )
        out.append(f"Section {i}. " + " ".join(sentences))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_latency(per_kind: int = 60) -> None:
    model = OfflineChatModel(today=date(2025, 3, 5))
    runnables = {
        "plain": model,
        "bind_tools (5 tools)": model.bind_tools(
            [calculator, get_weather, search_flights, create_event, web_search]
        ),
        "structured output": model.with_structured_output(Ticket),
    }
    warm = requests(random.Random(1), 5)
    for kind, runnable in runnables.items():
        for text in warm[kind]:
            runnable.invoke(text)
    batches = requests(random.Random(2), per_kind)
    timings: dict[str, list[float]] = {kind: [] for kind in runnables}
    for i in range(per_kind):
        for kind, runnable in runnables.items():
            start = time.perf_counter()
            runnable.invoke(batches[kind][i])
            timings[kind].append((time.perf_counter() - start) * 1000)
    every = [t for values in timings.values() for t in values]
    print(f"offline model latency per call after warm-up ({len(every)} distinct calls):")
    for kind, values in timings.items():
        print(
            f"  {kind:22s} median {statistics.median(values):6.1f} ms   "
            f"p95 {percentile(values, 0.95):6.1f} ms"
        )
    median = statistics.median(every)
    print(
        f"  {'all':22s} median {median:6.1f} ms   p95 {percentile(every, 0.95):6.1f} ms   "
        f"(goal: median <= 20 ms: {'met' if median <= 20 else 'NOT met'})"
    )


def bench_throughput() -> None:
    texts = chunks()
    model = load_sentence_transformer()
    embeddings = load_embeddings()
    model.encode(texts[:64])
    embeddings.embed_documents(texts[:64])
    raw_runs, lc_runs = [], []
    for _ in range(2):  # alternate, keep the best of each, to damp noise from other load
        start = time.perf_counter()
        model.encode(texts)
        raw_runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        embeddings.embed_documents(texts)
        lc_runs.append(time.perf_counter() - start)
    raw = len(texts) / min(raw_runs)
    lc = len(texts) / min(lc_runs)
    words = statistics.mean(len(t.split()) for t in texts)
    print(f"MiniLM throughput on {len(texts)} chunks of ~{words:.0f} words:")
    print(f"  SentenceTransformer.encode       {raw:7.1f} chunks/s")
    print(f"  load_embeddings().embed_documents {lc:7.1f} chunks/s")
    ratio = lc / raw
    print(f"  ratio {ratio:.2f} (goal >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})")


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPUs: {os.cpu_count()}, load average (1 min) at start: {load:.2f}")
    bench_latency()
    bench_throughput()


if __name__ == "__main__":
    main()
