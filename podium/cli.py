"""The ``podium`` command line: thin commands that parse and call into the packages.

Any :class:`~podium.errors.PodiumError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
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
        "--model",
        "-m",
        envvar="PODIUM_MODEL",
        help="'offline' or provider:model, e.g. openai:gpt-4o-mini.",
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


@app.command("run")
@handle_errors
def run_command(
    graph: Annotated[str, typer.Argument(help="Graph name (see `podium graphs`).")],
    text: Annotated[str, typer.Argument(help="The request.")],
    model: ModelOption = None,
    thread: Annotated[
        str | None,
        typer.Option("--thread", "-t", help="Thread id: keep and continue the conversation."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run GRAPH on TEXT, showing each step, then the answer, tokens and time."""
    import json

    from podium._runner import describe_update, run_graph

    def show(node: str, update: dict[str, Any]) -> None:
        if not as_json:
            console.print(f"[cyan]▸ {node}[/]  {describe_update(update)}", highlight=False)

    result = run_graph(graph, text, model=model, thread_id=thread, on_step=show)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, default=str))
        return
    console.print()
    console.print(result.answer or "[dim](no answer)[/]", highlight=False)
    usage = result.usage
    console.print(
        f"[dim]{usage.get('total_tokens', 0)} tokens "
        f"({usage.get('input_tokens', 0)} in, {usage.get('output_tokens', 0)} out) · "
        f"{result.elapsed_s:.2f} s"
        + (f" · thread {result.thread_id}" if result.thread_id else "")
        + "[/]",
        highlight=False,
    )


@app.command("serve-model")
@handle_errors
def serve_model_command(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.")] = 8000,
    model: ModelOption = None,
) -> None:
    """Serve a chat model and MiniLM embeddings over an OpenAI-compatible HTTP API."""
    from podium.serve import run_server

    def announce(base_url: str, model_id: str) -> None:
        console.print(
            f"Serving [bold]{model_id}[/] at {base_url}\n"
            f"  OPENAI_BASE_URL={base_url}  (model {model_id!r}; any API key)",
            highlight=False,
            soft_wrap=True,
        )

    run_server(host=host, port=port, model=model, announce=announce)


# --- tools (issue: tools) -----------------------------------------------------------


@app.command("tools")
@handle_errors
def tools_command() -> None:
    """List the registered tools with their descriptions."""
    from podium.tools import list_tools

    for name, description in list_tools():
        console.print(f"[bold]{name}[/]  {description}", highlight=False)


@app.command("call")
@handle_errors
def call_command(
    tool: Annotated[str, typer.Argument(help="Tool name (see `podium tools`).")],
    arguments: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE pairs; values may be JSON.")
    ] = None,
) -> None:
    """Call one tool directly, e.g. `podium call calculator expression="17% of 2340"`."""
    import json

    from podium.errors import InputError
    from podium.tools import get_tool

    args: dict[str, Any] = {}
    for item in arguments or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"argument {item!r} is not KEY=VALUE, e.g. expression=\"2 + 2\"")
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            args[key] = value
    result = get_tool(tool).invoke({"type": "tool_call", "id": "cli", "name": tool, "args": args})
    if getattr(result, "status", "success") == "error":
        message = str(result.content).removeprefix("Error: ")
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    console.print(getattr(result, "content", result), highlight=False)


# --- retrieval (issue: retrievers) ---------------------------------------------------


def main() -> None:
    """Entry point for ``python -m podium``."""
    app(prog_name="podium")


if __name__ == "__main__":
    sys.exit(main())
