"""The main job behind ``make demo``: Podium's graphs and knowledge base, offline.

It routes three requests through the router graph (math with the exact
calculator, code, general), ingests the shipped handbook on first run, and
answers two policy questions from it with citations.
"""

from __future__ import annotations

from rich.console import Console

from podium._runner import describe_update, run_graph
from podium.settings import get_settings

console = Console()

REQUESTS = [
    ("router", "What is 17% of 2,340?"),
    ("router", "What is 2**64 - 1 and what is the square root of 1,522,756?"),
    ("router", "Write a Python function that reverses a string"),
]
QUESTIONS = [
    "How much does it cost to add a checked bag to a Saver fare?",
    "How long must my passport be valid to travel?",
]


def _routing() -> None:
    for graph, text in REQUESTS:
        console.print(f"\n[bold]{graph}[/] ← {text}")
        result = run_graph(
            graph,
            text,
            on_step=lambda node, update: console.print(
                f"  [cyan]▸ {node}[/] {describe_update(update)}", highlight=False
            ),
        )
        console.print(f"  [green]answer:[/] {result.answer}", highlight=False)
        console.print(
            f"  [dim]{result.usage.get('total_tokens', 0)} tokens · {result.elapsed_s:.2f} s[/]"
        )


def _knowledge_base() -> None:
    from podium.retrievers import ask, ensure_handbook

    report = ensure_handbook()
    if report is None:
        console.print("\n[dim]handbook already ingested; nothing to embed[/]")
    else:
        console.print(f"\n[dim]ingested the handbook: {report.summary()}[/]", highlight=False)
    for question in QUESTIONS:
        console.print(f"\n[bold]ask[/] ← {question}")
        answer = ask(question, engine="hybrid", top_k=3)
        console.print(f"  [green]answer:[/] {answer.text}", highlight=False)
        for number, citation in enumerate(answer.citations, 1):
            console.print(f"  [dim][{number}] {citation.label}[/]", highlight=False)


def main() -> None:
    """Run the demo: routing, then the knowledge base."""
    settings = get_settings()
    console.rule(f"[bold]Podium demo[/] · model {settings.model!r} · home {settings.home}")
    _routing()
    _knowledge_base()


if __name__ == "__main__":
    main()
