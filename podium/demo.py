"""The main job behind ``make demo``: Podium's graphs answering real requests offline."""

from __future__ import annotations

from rich.console import Console

from podium._runner import describe_update, run_graph
from podium.settings import get_settings

console = Console()

REQUESTS = [
    ("router", "What is 17% of 2,340?"),
    ("router", "Compute (2 ** 64) - 1 and the square root of 1,522,756"),
    ("router", "Write a Python function that reverses a string"),
]


def main() -> None:
    """Run each demo request, showing the steps, the answer, tokens and time."""
    settings = get_settings()
    console.rule(f"[bold]Podium demo[/] · model {settings.model!r} · home {settings.home}")
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


if __name__ == "__main__":
    main()
