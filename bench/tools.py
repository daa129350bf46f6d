"""Tool latency: the code tool's start-up overhead and the sql tool's query latency.

Run: ``.venv/bin/python bench/tools.py``. Prints medians and p95s in milliseconds.

* Code tool: ``run_python`` on ``print(1)``, measured end to end, against a bare
  ``python -c pass`` subprocess of the same interpreter; the difference is what the
  sandbox (bubblewrap, runner, limits, pipes, temp dir) adds. Goal: <= 150 ms.
* SQL tool: ``sql_query`` (``get_tool("sql_query")``) on the seeded sample sales
  database, a few typical queries, after one warm-up call each.
* MCP client: ``calculator`` through ``podium mcp serve`` over stdio, per-call
  sessions (``load_mcp_tools``: a server process per call) against one persistent
  session (``MCPToolbox``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

RUNS = 20
GOAL_MS = 150.0


def measure(fn: Callable[[], object], runs: int = RUNS) -> list[float]:
    fn()  # warm-up: first-call probes, caches, page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def p95(times: list[float]) -> float:
    return times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def line(label: str, times: list[float]) -> str:
    return f"  {label:<46} median {statistics.median(times):7.1f} ms   p95 {p95(times):7.1f} ms"


def bench_code() -> None:
    from podium.tools.code import _interpreter, run_code, run_python, sandbox_status

    level, skipped = sandbox_status()
    print(f"code tool (isolation: {level}{'; skipped: ' + '; '.join(skipped) if skipped else ''})")
    python = _interpreter()
    bare = measure(lambda: subprocess.run([python, "-c", "pass"], check=True))
    bare_isolated = measure(lambda: subprocess.run([python, "-I", "-S", "-c", "pass"], check=True))
    direct = measure(lambda: run_code("print(1)"))
    tool = measure(lambda: run_python.invoke({"code": "print(1)"}))
    print(line("baseline: python -c pass", bare))
    print(line("baseline: python -I -S -c pass", bare_isolated))
    print(line("run_code('print(1)') total", direct))
    print(line("run_python.invoke (tool layer included) total", tool))
    for label, base in (("python -c pass", bare), ("python -I -S -c pass", bare_isolated)):
        overhead = statistics.median(tool) - statistics.median(base)
        overhead_p95 = p95(tool) - p95(base)
        verdict = "meets" if overhead <= GOAL_MS else "MISSES"
        print(
            f"  overhead over {label}: median {overhead:.1f} ms, p95 {overhead_p95:.1f} ms "
            f"({verdict} the {GOAL_MS:.0f} ms goal); ratio total/bare "
            f"{statistics.median(tool) / statistics.median(base):.2f}x"
        )
    print(
        "  (the sandbox runs python -I -S, which skips site-packages start-up; the second "
        "line is the sandbox's own cost)"
    )


def bench_sql() -> None:
    from podium.tools import get_tool

    sql = get_tool("sql_query")
    queries = {
        "group by": "SELECT category, COUNT(*) FROM products GROUP BY category",
        "join + aggregate": (
            "SELECT c.name, ROUND(SUM(oi.quantity * oi.unit_price), 2) AS total "
            "FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
            "JOIN order_items oi ON oi.order_id = o.order_id "
            "GROUP BY c.customer_id ORDER BY total DESC LIMIT 5"
        ),
        "point lookup": "SELECT * FROM products WHERE product_id = 3",
    }
    print("sql tool (sample sales database, SQLite)")
    for label, query in queries.items():
        reply = sql.invoke({"query": query})
        if str(reply).startswith("Error"):
            print(f"  {label:<46} skipped: {reply}")
            continue
        print(line(label, measure(lambda q=query: sql.invoke({"query": q}))))


def bench_mcp(home: str) -> None:
    import json

    from podium.tools.mcp import MCPToolbox, load_mcp_tools

    config = os.path.join(home, "mcp.json")
    server = {
        "transport": "stdio",
        "command": sys.executable,
        "args": ["-m", "podium", "mcp", "serve", "--transport", "stdio"],
        "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PODIUM_HOME": home,
                "HF_HUB_OFFLINE": "1", "LANGSMITH_TRACING": "false"},
    }
    with open(config, "w", encoding="utf-8") as f:
        json.dump({"servers": {"podium": server}}, f)
    args = {"expression": "2 ** 100"}
    print("mcp client (calculator over stdio, podium mcp serve)")
    per_call_tool = next(t for t in load_mcp_tools(config) if t.name == "calculator")
    per_call = measure(lambda: per_call_tool.invoke(args), runs=5)
    print(line("per-call session (load_mcp_tools), 5 runs", per_call))
    with MCPToolbox(config) as tools:
        calculator = next(t for t in tools if t.name == "calculator")
        persistent = measure(lambda: calculator.invoke(args))
    print(line("persistent session (MCPToolbox)", persistent))
    ratio = statistics.median(per_call) / statistics.median(persistent)
    print(f"  per-call / persistent median: {ratio:.0f}x")


def main() -> None:
    # Runtime state for the run (the seeded database) goes to a throwaway home.
    home = tempfile.mkdtemp(prefix="podium-bench-")
    os.environ["PODIUM_HOME"] = home
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {RUNS} runs each")
    bench_code()
    try:
        bench_sql()
    except Exception as exc:  # noqa: BLE001 - report and carry on: this bench is informative
        print(f"sql tool: not measured ({type(exc).__name__}: {exc})")
    try:
        bench_mcp(home)
    except Exception as exc:  # noqa: BLE001 - report and carry on: this bench is informative
        print(f"mcp client: not measured ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()
