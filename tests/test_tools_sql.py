"""The sql tools on the real sample SQLite file, and on PostgreSQL when it runs locally."""

from __future__ import annotations

import hashlib
import shutil
import socket
import sqlite3
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from podium.errors import ConfigError, ToolInputError
from podium.settings import get_settings
from podium.tools import get_tool
from podium.tools._seed_sales import create_sqlite_atomically, ensure_sales_db
from podium.tools.sql import (
    _database,
    make_sql_tools,
    sample_database_path,
    split_statements,
    sql_describe_table,
    sql_list_tables,
    sql_query,
)

TABLES = ("customers", "products", "orders", "order_items")


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def _rows(reply: str) -> list[list[str]]:
    """Parse the tool's text table: header, rows, then a '(...)' footer."""
    lines = reply.splitlines()
    assert lines[-1].startswith("("), reply
    return [line.split(" | ") for line in lines[1:-1]]


@pytest.fixture(scope="module")
def _sample_template(tmp_path_factory) -> Path:
    return ensure_sales_db(tmp_path_factory.mktemp("sales") / "sales.sqlite")


@pytest.fixture
def sample(_sample_template) -> Path:
    """The default tools' database, copied from a module-wide seed to save time."""
    target = get_settings().data_dir / "sales.sqlite"
    target.parent.mkdir(parents=True)
    shutil.copyfile(_sample_template, target)
    assert sample_database_path() == target
    return target


def test_sample_database_is_realistic(sample):
    counts = _counts(sample)
    assert counts["customers"] == 200 and counts["products"] == 50
    assert counts["orders"] == 3000 and counts["order_items"] > counts["orders"]
    with sqlite3.connect(sample) as conn:
        first, last = conn.execute("SELECT MIN(order_date), MAX(order_date) FROM orders").fetchone()
        categories = conn.execute("SELECT COUNT(DISTINCT category) FROM products").fetchone()[0]
        orphans = conn.execute(
            "SELECT COUNT(*) FROM order_items oi LEFT JOIN orders o USING (order_id) "
            "WHERE o.order_id IS NULL"
        ).fetchone()[0]
    assert date.fromisoformat(first) >= date.today() - timedelta(days=731)
    assert date.fromisoformat(last) < date.today()
    assert categories >= 5 and orphans == 0


def test_seeding_is_deterministic_and_atomic(tmp_path):
    day = date(2025, 6, 1)
    a, b = ensure_sales_db(tmp_path / "a.sqlite", day), ensure_sales_db(tmp_path / "b.sqlite", day)
    with sqlite3.connect(a) as ca, sqlite3.connect(b) as cb:
        assert list(ca.iterdump()) == list(cb.iterdump())

    def crash(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("killed while seeding")

    with pytest.raises(RuntimeError):
        create_sqlite_atomically(tmp_path / "c.sqlite", crash)
    assert not (tmp_path / "c.sqlite").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sqlite", "b.sqlite"]
    # An existing file is never replaced.
    assert create_sqlite_atomically(a, crash) is False


def test_count_matches_the_file(sample):
    reply = sql_query.invoke({"query": "SELECT COUNT(*) AS n FROM customers"})
    assert reply.splitlines()[0] == "n"
    assert int(_rows(reply)[0][0]) == _counts(sample)["customers"]


def test_join_and_group_by_return_the_real_rows(sample):
    query = (
        "SELECT c.name, ROUND(SUM(oi.quantity * oi.unit_price * (1 - oi.discount)), 2) AS revenue "
        "FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
        "JOIN order_items oi ON oi.order_id = o.order_id "
        "WHERE o.status != 'cancelled' GROUP BY c.customer_id ORDER BY revenue DESC LIMIT 5"
    )
    reply = sql_query.invoke({"query": query})
    with sqlite3.connect(sample) as conn:
        expected = conn.execute(query).fetchall()
    assert reply.splitlines()[0] == "name | revenue"
    assert [(r[0], float(r[1])) for r in _rows(reply)] == expected
    assert reply.endswith("(5 rows)")

    grouped = sql_query.invoke(
        {"query": "SELECT category, COUNT(*) AS n FROM products GROUP BY category ORDER BY 1"}
    )
    rows = _rows(grouped)
    assert sum(int(n) for _, n in rows) == 50 and len(rows) == len({c for c, _ in rows})


def test_list_and_describe(sample):
    listing = sql_list_tables.invoke({})
    assert {line.split(":")[0] for line in listing.splitlines()} == set(TABLES)
    assert "orders: order_id, customer_id, order_date, status, channel" in listing
    described = sql_describe_table.invoke({"table": "Orders"})
    assert "customer_id: INTEGER, not null, references customers.customer_id" in described
    assert f"rows: {_counts(sample)['orders']}" in described
    assert "sample rows:\norder_id | customer_id" in described
    missing = sql_describe_table.invoke({"table": "invoices"})
    assert missing.startswith("Error: no table named 'invoices'") and "order_items" in missing


def test_registered_under_their_names():
    assert get_tool("sql_query") is sql_query
    assert get_tool("sql_list_tables") is sql_list_tables


def test_row_cap_says_when_truncated(sample):
    capped = sql_query.invoke({"query": "SELECT order_id FROM orders ORDER BY order_id"})
    rows = _rows(capped)
    assert len(rows) == 50 and rows[-1] == ["50"]
    assert "first 50 rows shown" in capped.splitlines()[-1]
    _, _, small = make_sql_tools(f"sqlite:///{sample}", max_rows=3)
    reply = small.invoke({"query": "SELECT order_id FROM orders"})
    assert len(_rows(reply)) == 3 and "first 3 rows shown" in reply
    exact = small.invoke({"query": "SELECT order_id FROM orders LIMIT 3"})
    assert exact.endswith("(3 rows)")


def test_timeout_stops_a_runaway_query(sample):
    _, _, query = make_sql_tools(f"sqlite:///{sample}", timeout_s=0.3)
    started = time.monotonic()
    reply = query.invoke(
        {
            "query": "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
            "SELECT COUNT(*) FROM n"
        }
    )
    elapsed = time.monotonic() - started
    assert reply.startswith("Error: the query ran longer than the 0.3 s limit")
    assert elapsed < 3
    # The pooled connection is usable afterwards and has no leftover handler.
    assert _rows(query.invoke({"query": "SELECT COUNT(*) FROM products"})) == [["50"]]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("DROP TABLE customers", "refused DROP"),
        ("DELETE FROM orders", "refused DELETE"),
        ("UPDATE products SET unit_price = 0", "refused UPDATE"),
        ("INSERT INTO products VALUES (99, 'x', 'y', 1)", "refused INSERT"),
        ("ATTACH DATABASE '{attach}' AS evil", "refused ATTACH"),
        ("PRAGMA writable_schema=ON", "refused PRAGMA"),
        ("VACUUM INTO '{attach}'", "refused VACUUM"),
        ("SELECT 1; DROP TABLE customers", "one statement per call"),
        ("SELECT 1;DELETE FROM orders;", "one statement per call"),
        # Passes the keyword check; the connection's authorizer refuses it.
        ("WITH x AS (SELECT 1) DELETE FROM customers", "read-only"),
        ("", "empty"),
        ("-- only a comment", "only comments"),
    ],
)
def test_hostile_input_is_refused_and_data_intact(sample, tmp_path, query, fragment):
    attach = tmp_path / "attached.sqlite"
    before_counts, before_hash = _counts(sample), hashlib.sha256(sample.read_bytes()).hexdigest()
    reply = sql_query.invoke({"query": query.format(attach=attach)})
    assert reply.startswith("Error:") and fragment in reply, reply
    assert _counts(sample) == before_counts
    assert hashlib.sha256(sample.read_bytes()).hexdigest() == before_hash
    assert not attach.exists()


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE customers",
        "DELETE FROM orders",
        "UPDATE products SET unit_price = 0",
        "CREATE TABLE evil (x)",
        "CREATE TEMP TABLE scratch (x)",
        "ATTACH DATABASE '{attach}' AS evil",
        "VACUUM INTO '{attach}'",
        "PRAGMA writable_schema=ON",
        "PRAGMA journal_mode=DELETE",
        "SELECT 1; DROP TABLE customers",
        "BEGIN",
    ],
)
def test_the_connection_itself_is_read_only(sample, tmp_path, query):
    """Past the keyword check: the SQLite connection refuses every write on its own."""
    attach = tmp_path / "attached.sqlite"
    before = _counts(sample)
    db = _database(f"sqlite:///{sample}")
    with pytest.raises(ToolInputError) as info:
        db.run(query.format(attach=attach), max_rows=5, timeout_s=2)
    message = str(info.value)
    assert "read-only" in message, message
    assert _counts(sample) == before and not attach.exists()


def test_split_statements_respects_quotes_and_comments():
    assert split_statements("SELECT ';' AS a, \"b;c\" -- x;y\n;") == [
        "SELECT ';' AS a, \"b;c\" -- x;y"
    ]
    assert split_statements("SELECT $$a;b$$; SELECT 2 /* ; */") == [
        "SELECT $$a;b$$",
        "SELECT 2 /* ; */",
    ]
    assert split_statements("SELECT 'it''s; fine'") == ["SELECT 'it''s; fine'"]
    assert split_statements(" ; -- nothing\n ;") == []


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        (sql_query, {}, "'query': Field required"),
        (sql_query, {"query": 42}, "'query': Input should be a valid string"),
        (sql_query, {"sql": "SELECT 1"}, "'query': Field required"),
        (sql_describe_table, {}, "'table': Field required"),
        (sql_describe_table, {"table": ["orders"]}, "'table': Input should be a valid string"),
    ],
)
def test_malformed_arguments_name_the_field(tool, args, field):
    reply = tool.invoke(args)
    assert reply.startswith(f"Invalid arguments for {tool.name}") and field in reply, reply


def test_factory_refuses_bad_urls_before_any_call(tmp_path):
    with pytest.raises(ConfigError, match="supports 'sqlite' and 'postgresql'"):
        make_sql_tools("mysql://root@localhost/db")
    with pytest.raises(ConfigError, match="does not exist"):
        make_sql_tools(f"sqlite:///{tmp_path / 'missing.sqlite'}")
    with pytest.raises(ConfigError, match="not an in-memory database"):
        make_sql_tools("sqlite://")
    with pytest.raises(ConfigError, match="malformed"):
        make_sql_tools("not a url")
    with pytest.raises(ConfigError, match="max_rows"):
        make_sql_tools(max_rows=0)
    assert not (tmp_path / "missing.sqlite").exists()


def test_settings_url_points_the_default_tools_elsewhere(tmp_path, monkeypatch):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE planets (name TEXT)")
        conn.executemany("INSERT INTO planets VALUES (?)", [("Mercury",), ("Venus",)])
    monkeypatch.setenv("PODIUM_SQL_URL", f"sqlite:///{other}")
    monkeypatch.setenv("PODIUM_SQL_MAX_ROWS", "1")
    get_settings.cache_clear()
    assert sql_list_tables.invoke({}) == "planets: name"
    reply = sql_query.invoke({"query": "SELECT name FROM planets ORDER BY name"})
    assert _rows(reply) == [["Mercury"]] and "first 1 rows shown" in reply


# --- PostgreSQL ------------------------------------------------------------------------


def _postgres_url() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return None
    import psycopg

    configured = get_settings().postgres_url
    candidates = [configured] if configured else [
        f"postgresql://{user}@127.0.0.1:5432/test" for user in ("postgres", "root")
    ]
    for url in candidates:
        try:
            psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2).close()
            return url
        except psycopg.Error:
            continue
    return None


@pytest.fixture
def pg_table():
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 with trust auth")
    import psycopg

    table = f"podium_sql_test_{uuid.uuid4().hex[:10]}"
    plain = url.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        admin.execute(
            f"INSERT INTO {table} SELECT g, 'row ' || g FROM generate_series(1, 120) AS g"
        )
    try:
        yield url, table
    finally:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f"DROP TABLE IF EXISTS {table}")


def _pg_count(url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


@pytest.mark.integration
def test_postgres_reads_and_cannot_write(pg_table):
    url, table = pg_table
    list_tables, describe, query = make_sql_tools(url, max_rows=10, timeout_s=0.5)
    assert f"{table}: id, name" in list_tables.invoke({})
    described = describe.invoke({"table": table})
    assert "id: INTEGER, primary key" in described and "rows: 120" in described
    reply = query.invoke({"query": f"SELECT COUNT(*) AS n, MAX(id) AS top FROM {table}"})
    assert _rows(reply) == [["120", "120"]]
    capped = query.invoke({"query": f"SELECT id FROM {table} ORDER BY id"})
    assert len(_rows(capped)) == 10 and "first 10 rows shown" in capped
    assert "a%b" in query.invoke({"query": "SELECT 'a%b' AS s"})  # no placeholder parsing

    started = time.monotonic()
    slow = query.invoke({"query": "SELECT pg_sleep(5)"})
    assert slow.startswith("Error: the query ran longer") and time.monotonic() - started < 3

    for hostile, fragment in [
        (f"DROP TABLE {table}", "refused DROP"),
        (f"DELETE FROM {table}", "refused DELETE"),
        (f"SELECT 1; DROP TABLE {table}", "one statement per call"),
        (f"WITH d AS (DELETE FROM {table} RETURNING *) SELECT * FROM d", "Error:"),
    ]:
        assert fragment in query.invoke({"query": hostile}), hostile

    # Past the keyword check, the connection refuses writes and stacked statements itself.
    db = _database(url)
    for hostile in [
        f"DROP TABLE {table}",
        f"DELETE FROM {table}",
        f"INSERT INTO {table} VALUES (999, 'x')",
        f"UPDATE {table} SET name = 'x'",
        f"SELECT 1; DROP TABLE {table}",
        f"COMMIT; DROP TABLE {table}",
        "CREATE TABLE podium_should_not_exist (x int)",
    ]:
        with pytest.raises(ToolInputError, match="read-only"):
            db.run(hostile, max_rows=5, timeout_s=1)
    # A session change inside a call is rolled back with the call.
    db.run("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", max_rows=1, timeout_s=1)
    with pytest.raises(ToolInputError, match="read-only"):
        db.run(f"DELETE FROM {table}", max_rows=1, timeout_s=1)
    assert _pg_count(url, table) == 120
