"""The ``podium`` command line: thin commands that parse and call into the packages.

Any :class:`~podium.errors.PodiumError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from podium.errors import PodiumError

app = typer.Typer(
    help="Podium: ready-to-run AI orchestration graphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
mcp_app = typer.Typer(help="Model Context Protocol: serve Podium's tools.", no_args_is_help=True)
app.add_typer(mcp_app, name="mcp")

console = Console()
err_console = Console(stderr=True)

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", envvar="PODIUM_MODEL", help="'offline' or provider:model, e.g. openai:gpt-4o-mini."
    ),
]


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PodiumError into one line on stderr and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PodiumError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


# --- foundation: graphs, run, serve-model ------------------------------------------


@app.command("graphs")
@handle_errors
def graphs_command() -> None:
    """List the graphs with a one-line description each."""
    from podium.graphs import list_graphs

    for info in list_graphs():
        console.print(f"[bold]{info.name}[/]  {info.description}", highlight=False)


# --- tools (issue: tools) -----------------------------------------------------------


@app.command("tools")
@handle_errors
def tools_command() -> None:
    """List the registered tools with their descriptions."""
    from podium.tools import list_tools

    for name, description in list_tools():
        console.print(f"[bold]{name}[/]  {description}", highlight=False)


# --- retrieval (issue: retrievers) ---------------------------------------------------


def main() -> None:
    """Entry point for ``python -m podium``."""
    app(prog_name="podium")


if __name__ == "__main__":
    sys.exit(main())
