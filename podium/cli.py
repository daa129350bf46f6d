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


@mcp_app.command("serve")
@handle_errors
def mcp_serve_command(
    transport: Annotated[
        str, typer.Option("--transport", "-t", help="stdio (a client starts us) or http.")
    ] = "stdio",
    host: Annotated[str, typer.Option("--host", help="Interface for --transport http.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", "-p", help="Port for --transport http.")] = 8000,
) -> None:
    """Serve Podium's registered tools over MCP (streamable HTTP endpoint: /mcp)."""
    from podium.tools.mcp import serve_mcp

    serve_mcp(transport, host, port)  # type: ignore[arg-type] - serve_mcp names the choices


# --- retrieval (issue: retrievers) ---------------------------------------------------

CollectionOption = Annotated[
    str | None,
    typer.Option(
        "--collection",
        "-c",
        envvar="PODIUM_COLLECTION",
        help="Collection name (default: handbook).",
    ),
]


@app.command("ingest")
@handle_errors
def ingest_command(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders: markdown, text, HTML and PDF.")
    ],
    collection: CollectionOption = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Remove chunks of documents no longer among PATHS (deleted files)."
        ),
    ] = False,
    chunk_size: Annotated[
        int | None, typer.Option("--chunk-size", help="Chunk size in tokens (default 256).")
    ] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option("--chunk-overlap", help="Tokens shared by neighbouring chunks.")
    ] = None,
) -> None:
    """Ingest files and folders into a collection; unchanged files are not embedded again."""
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from podium.retrievers import IngestProgress, ingest

    columns = (
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[chunks]} chunks · {task.fields[skipped]} skipped"),
        TimeElapsedColumn(),
    )
    # Started on the first file, so a bad path fails with one line and no bar.
    bar = Progress(*columns, console=err_console)
    task = bar.add_task("ingest", total=None, chunks=0, skipped=0)

    def show(state: IngestProgress) -> None:
        if not bar.live.is_started:
            bar.start()
        if state.last_skipped is not None:
            bar.console.print(
                f"[yellow]warning:[/] skipped {escape(state.last_skipped.path)}: "
                f"{escape(state.last_skipped.reason)}",
                highlight=False,
                soft_wrap=True,
            )
        bar.update(
            task,
            total=state.files_total,
            completed=state.files_done,
            chunks=state.chunks,
            skipped=state.skipped,
        )

    try:
        report = ingest(
            paths,
            collection=collection,
            prune=prune,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            on_progress=show,
        )
    except KeyboardInterrupt:
        bar.stop()
        err_console.print(
            "interrupted: what was written is consistent; run the same command to finish"
        )
        raise typer.Exit(130) from None
    finally:
        bar.stop()
    console.print(report.summary(), highlight=False, soft_wrap=True)


@app.command("ask")
@handle_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Annotated[
        list[str] | None,
        typer.Option(
            "--collection",
            "-c",
            envvar="PODIUM_COLLECTION",
            help="Collection; repeat to route between several.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option("--engine", "-e", help="vector, hybrid, router or subquestion."),
    ] = "hybrid",
    model: ModelOption = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", "-k", help="Passages to retrieve (default 5).")
    ] = None,
    no_answer: Annotated[
        bool, typer.Option("--no-answer", help="Print the passages only; call no model.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer QUESTION from a knowledge base and print the sources it used."""
    import json

    from rich.markup import escape

    from podium.retrievers import ask

    answer = ask(
        question,
        collection=collection or None,
        engine=engine,
        model=model,
        top_k=top_k,
        synthesize=not no_answer,
    )
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    if answer.text is not None:
        console.print(answer.text, highlight=False, soft_wrap=True, markup=False)
        console.print()
    for sub_question in answer.sub_questions:
        console.print(f"[dim]sub-question:[/] {escape(sub_question)}", highlight=False)
    console.print("[bold]Sources[/]")
    for i, citation in enumerate(answer.citations, start=1):
        score = "" if citation.score is None else f"  [dim]score {citation.score:.3f}[/]"
        console.print(f"{escape(f'[{i}]')} {escape(citation.label)}{score}", highlight=False)
        text = " ".join(citation.text.split())
        limit = 600 if answer.text is None else 160
        console.print(
            f"    [dim]{escape(text[:limit])}{'…' if len(text) > limit else ''}[/]",
            highlight=False,
            soft_wrap=True,
        )


def main() -> None:
    """Entry point for ``python -m podium``."""
    app(prog_name="podium")


if __name__ == "__main__":
    sys.exit(main())
