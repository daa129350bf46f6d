"""Read-only SQL over SQLite or PostgreSQL: list tables, describe one, run a query.

The default database is a sample sales database (customers, products, orders,
order items) that Podium seeds under the data directory on first use; set
``PODIUM_SQL_URL`` or call :func:`make_sql_tools` with a URL to point the tools at
another database.

Read-only is enforced by the connection, not by reading the SQL:

* SQLite is opened through a ``file:...?mode=ro`` URI with an authorizer that
  allows reading only (no ATTACH, no PRAGMA writes, no temp tables) and a limit
  of zero attached databases; a progress handler stops a statement after the
  timeout.
* PostgreSQL sessions default to read-only transactions; every call opens its
  transaction with ``SET TRANSACTION READ ONLY`` and ``SET LOCAL
  statement_timeout``, runs one statement over the extended protocol (which
  refuses several statements), and rolls back.

A keyword check in front only makes the message clearer for the model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.exc import DBAPIError as SADBAPIError
from sqlalchemy.pool import QueuePool

from podium.errors import ConfigError, ToolInputError
from podium.settings import get_settings
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools
from podium.tools._seed_sales import ensure_sales_db

__all__ = [
    "make_sql_tools",
    "sample_database_path",
    "sql_describe_table",
    "sql_list_tables",
    "sql_query",
]

_MAX_QUERY_CHARS = 20_000
_MAX_CELL_CHARS = 200
_READ_KEYWORDS = ("select", "with", "values", "explain", "show", "table")
_READ_ONLY_HINT = (
    "the sql tool is read-only and runs one SELECT query per call "
    "(WITH ... SELECT, VALUES and EXPLAIN work too)"
)
# What a read-only SQLite connection may do; everything else is denied at prepare time.
_SQLITE_ALLOWED = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
# Pragmas that only report the schema (SQLAlchemy's inspector uses them).
_SQLITE_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}
)
# Settings SQLAlchemy reads on connect; reading them (no value given) changes nothing.
_SQLITE_PRAGMA_READS = frozenset({"read_uncommitted"})
_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|\()*", re.S)
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def sample_database_path() -> Path:
    """Return the sample sales database under the data directory, seeding it if missing."""
    return ensure_sales_db(get_settings().data_dir / "sales.sqlite")


# --- statements ------------------------------------------------------------------------


def split_statements(sql: str) -> list[str]:
    """Split SQL text on semicolons outside strings, identifiers and comments.

    Statements that hold only whitespace or comments are dropped, so a trailing
    ``;`` does not count as a second statement.
    """
    statements: list[str] = []
    start, i, n, has_code = 0, 0, len(sql), False
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = sql.find(ch, i + 1)
            while end != -1 and sql[end + 1 : end + 2] == ch:  # a doubled quote escapes
                end = sql.find(ch, end + 2)
            i, has_code = (n if end == -1 else end + 1), True
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif ch == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(tag.group(0), tag.end())
            i, has_code = (n if end == -1 else end + len(tag.group(0))), True
        elif ch == ";":
            if has_code:
                statements.append(sql[start:i].strip())
            start, i, has_code = i + 1, i + 1, False
        else:
            has_code = has_code or not ch.isspace()
            i += 1
    if has_code:
        statements.append(sql[start:].strip())
    return statements


def _first_keyword(statement: str) -> str:
    match = re.match(r"[A-Za-z_]+", statement[_LEADING_NOISE.match(statement).end() :])
    return match.group(0).lower() if match else ""


# --- connections -----------------------------------------------------------------------


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in _SQLITE_ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in _SQLITE_PRAGMAS or (name in _SQLITE_PRAGMA_READS and arg2 is None):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_engine(path: Path) -> Engine:
    uri = path.resolve().as_uri() + "?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.set_authorizer(_sqlite_authorizer)
        return conn

    return create_engine(f"sqlite:///{path}", creator=connect, poolclass=QueuePool)


def _postgres_engine(url: URL) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _read_only_session(dbapi_conn: Any, _record: Any) -> None:
        # A backstop for every transaction on this connection, the inspector's included.
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                cur.execute("SET statement_timeout = '30s'")
        finally:
            dbapi_conn.autocommit = autocommit

    return engine


def _normalize_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"sql url {str(url)!r} is malformed; expected e.g. 'sqlite:///path/to/db.sqlite' "
            "or 'postgresql+psycopg://user@host:5432/dbname'"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(
                "the sql tool needs a SQLite file (read-only), not an in-memory database; "
                "give 'sqlite:///path/to/db.sqlite'"
            )
        return parsed.set(drivername="sqlite", query={})
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"sql url {parsed.render_as_string(hide_password=True)!r} uses {backend!r}; "
        "the sql tool supports 'sqlite' and 'postgresql'"
    )


class _Database:
    """One engine per database, shared by every toolkit that points at it."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.label = url.render_as_string(hide_password=True)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            path = Path(url.database or "")
            if not path.is_file():
                raise ConfigError(f"SQLite database {str(path)!r} does not exist")
            self.engine = _sqlite_engine(path)
        else:
            try:
                self.engine = _postgres_engine(url)
            except NoSuchModuleError as exc:  # pragma: no cover - psycopg is a dependency
                raise ConfigError(f"cannot load the database driver: {exc}") from None

    @contextlib.contextmanager
    def _raw(self):
        try:
            raw = self.engine.raw_connection()
        except (SADBAPIError, sqlite3.Error) as exc:
            raise ToolInputError(
                f"cannot connect to the database {self.label}: "
                f"{_first_line(getattr(exc, 'orig', exc))}"
            ) from None
        try:
            yield raw.driver_connection
        finally:
            raw.close()  # rolls back and returns the connection to the pool

    def run(
        self, sql: str, *, max_rows: int, timeout_s: float
    ) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        """Run one statement on a read-only connection.

        Returns:
            Column names, at most ``max_rows`` rows, and whether rows were left out.

        Raises:
            ToolInputError: The database refused or failed the statement.
        """
        with self._raw() as conn:
            try:
                if self.is_sqlite:
                    columns, rows = _run_sqlite(conn, sql, max_rows + 1, timeout_s)
                else:
                    columns, rows = _run_postgres(conn, sql, max_rows + 1, timeout_s)
            except Exception as exc:  # driver errors become messages in _translate
                raise _translate(exc, timeout_s) from None
        return columns, rows[:max_rows], len(rows) > max_rows

    def inspector_call(self, fn: Callable[[Any], Any]) -> Any:
        """Call ``fn(inspector)`` on a fresh read-only connection."""
        try:
            with self.engine.connect() as conn:
                return fn(inspect(conn))
        except (SADBAPIError, sqlite3.Error) as exc:
            raise ToolInputError(
                f"cannot read the schema of {self.label}: {_first_line(getattr(exc, 'orig', exc))}"
            ) from None

    def quote(self, name: str) -> str:
        """Quote an identifier for this database."""
        return self.engine.dialect.identifier_preparer.quote(name)


def _run_sqlite(
    conn: sqlite3.Connection, sql: str, limit: int, timeout_s: float
) -> tuple[list[str], list[tuple[Any, ...]]]:
    deadline = time.monotonic() + timeout_s
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
    try:
        cur = conn.execute(sql)
        try:
            columns = [d[0] for d in cur.description or ()]
            return columns, cur.fetchmany(limit) if columns else []
        finally:
            cur.close()
    finally:
        conn.set_progress_handler(None, 0)


def _run_postgres(
    conn: Any, sql: str, limit: int, timeout_s: float
) -> tuple[list[str], list[tuple[Any, ...]]]:
    with conn.cursor() as cur:
        cur.execute("SET TRANSACTION READ ONLY")
        cur.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
    if _first_keyword(sql) in ("select", "with", "values", "table"):
        # A server-side cursor fetches only the rows shown; DECLARE also goes over
        # the extended protocol, which refuses a second statement.
        cursor = conn.cursor(name="podium_sql")
        with cursor as cur:
            cur.execute(sql)
            columns = [d.name for d in cur.description or ()]
            return columns, cur.fetchmany(limit)
    with conn.cursor() as cur:
        cur.execute(sql, prepare=True)  # extended protocol: one statement only
        columns = [d.name for d in cur.description or ()]
        return columns, cur.fetchmany(limit) if columns else []


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _translate(exc: BaseException, timeout_s: float) -> Exception:
    """Turn a driver error into a message the model can act on; re-raise the unknown."""
    timeout = ToolInputError(
        f"the query ran longer than the {timeout_s:g} s limit and was stopped; "
        "add WHERE conditions, LIMIT or aggregate to make it cheaper"
    )
    if isinstance(exc, sqlite3.Error):
        text = str(exc)
        if "interrupted" in text:
            return timeout
        if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in text:
            return ToolInputError(f"{_READ_ONLY_HINT}; the input holds several statements")
        if "not authorized" in text or "authorization denied" in text or "readonly" in text:
            return ToolInputError(f"refused: {_READ_ONLY_HINT} ({text})")
        hint = " (call sql_list_tables to see the tables)" if "no such" in text else ""
        return ToolInputError(f"the database rejected the query: {text}{hint}")
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        psycopg = None
    if psycopg is not None and isinstance(exc, psycopg.Error):
        text = _first_line(exc)
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return timeout
        if isinstance(
            exc, psycopg.errors.ReadOnlySqlTransaction | psycopg.errors.InsufficientPrivilege
        ):
            return ToolInputError(f"refused: {_READ_ONLY_HINT} ({text})")
        if "multiple commands" in text:
            return ToolInputError(f"{_READ_ONLY_HINT}; the input holds several statements")
        hint = " (call sql_list_tables to see the tables)" if "does not exist" in text else ""
        return ToolInputError(f"the database rejected the query: {text}{hint}")
    return exc


_engines: OrderedDict[str, _Database] = OrderedDict()
_engines_lock = threading.Lock()
_MAX_ENGINES = 8


def _database(url: str | URL) -> _Database:
    normalized = _normalize_url(url)
    key = normalized.render_as_string(hide_password=False)
    with _engines_lock:
        db = _engines.get(key)
        if db is None:
            db = _engines[key] = _Database(normalized)
            while len(_engines) > _MAX_ENGINES:  # e.g. one sample database per test home
                _, old = _engines.popitem(last=False)
                old.engine.dispose()
        _engines.move_to_end(key)
        return db


# --- formatting ------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    text = str(value).replace("\r", "\\r").replace("\n", "\\n").replace("|", "\\|")
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


def format_table(columns: list[str], rows: list[tuple[Any, ...]], truncated: bool) -> str:
    """Render rows as a compact text table: a header line, then one line per row.

    Args:
        columns: Column names.
        rows: The rows shown.
        truncated: Whether the query returned more rows than shown.
    """
    if not columns:
        return "(the statement ran and returns no rows)"
    lines = [" | ".join(columns)]
    lines.extend(" | ".join(_cell(v) for v in row) for row in rows)
    if truncated:
        lines.append(
            f"(first {len(rows)} rows shown; the query returned more: "
            "add WHERE, LIMIT or GROUP BY to narrow it)"
        )
    else:
        lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines)


# --- tools -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    url: str | URL
    max_rows: int
    timeout_s: float


def _check_query(query: str) -> str:
    if not query.strip():
        raise ToolInputError("the query is empty; give one SELECT statement")
    if len(query) > _MAX_QUERY_CHARS:
        raise ToolInputError(f"the query is longer than {_MAX_QUERY_CHARS} characters")
    statements = split_statements(query)
    if not statements:
        raise ToolInputError("the query holds only comments; give one SELECT statement")
    if len(statements) > 1:
        raise ToolInputError(
            f"one statement per call, and the input holds {len(statements)} separated by ';'; "
            "send them one at a time"
        )
    keyword = _first_keyword(statements[0])
    if keyword not in _READ_KEYWORDS:
        raise ToolInputError(
            f"refused {keyword.upper() or 'the statement'!s}: {_READ_ONLY_HINT}; "
            "it cannot change data or the schema"
        )
    return statements[0]


def _build(config: Callable[[], _Config]) -> list[BaseTool]:
    def table_names(db: _Database) -> list[str]:
        return db.inspector_call(
            lambda insp: sorted(insp.get_table_names()) + sorted(insp.get_view_names())
        )

    @podium_tool
    def sql_list_tables() -> str:
        """List the tables of the SQL database and their columns; call it before writing a query."""
        db = _database(config().url)

        def describe(insp: Any) -> list[str]:
            lines = []
            for name in sorted(insp.get_table_names()):
                columns = ", ".join(c["name"] for c in insp.get_columns(name))
                lines.append(f"{name}: {columns}")
            for name in sorted(insp.get_view_names()):
                columns = ", ".join(c["name"] for c in insp.get_columns(name))
                lines.append(f"{name} (view): {columns}")
            return lines

        lines = db.inspector_call(describe)
        return "\n".join(lines) if lines else "(the database has no tables)"

    @podium_tool
    def sql_describe_table(table: str) -> str:
        """Describe one SQL table: columns with types, keys, its row count and 3 sample rows.

        Args:
            table: The table name exactly as sql_list_tables shows it, e.g. "orders".
        """
        cfg = config()
        db = _database(cfg.url)
        names = table_names(db)
        wanted = table.strip().strip('"`[]')
        match = next((n for n in names if n == wanted), None) or next(
            (n for n in names if n.lower() == wanted.lower()), None
        )
        if match is None:
            raise ToolInputError(
                f"no table named {table!r}; tables: {', '.join(names) or '(none)'}"
            )

        def schema(insp: Any) -> tuple[list[dict], dict, list[dict]]:
            return (
                insp.get_columns(match),
                insp.get_pk_constraint(match),
                insp.get_foreign_keys(match),
            )

        columns, pk, fks = db.inspector_call(schema)
        primary = set(pk.get("constrained_columns") or ())
        refs = {
            col: f"{fk['referred_table']}.{ref}"
            for fk in fks
            for col, ref in zip(fk["constrained_columns"], fk["referred_columns"], strict=False)
        }
        lines = [f"table {match}"]
        for col in columns:
            notes = [str(col["type"])]
            if col["name"] in primary:
                notes.append("primary key")
            if not col.get("nullable", True) and col["name"] not in primary:
                notes.append("not null")
            if col["name"] in refs:
                notes.append(f"references {refs[col['name']]}")
            lines.append(f"  {col['name']}: {', '.join(notes)}")
        quoted = db.quote(match)
        _, count, _ = db.run(f"SELECT COUNT(*) FROM {quoted}", max_rows=1, timeout_s=cfg.timeout_s)
        lines.append(f"rows: {count[0][0]}")
        sample = db.run(f"SELECT * FROM {quoted} LIMIT 3", max_rows=3, timeout_s=cfg.timeout_s)
        lines.append("sample rows:")
        lines.append(format_table(*sample))
        return "\n".join(lines)

    @podium_tool
    def sql_query(query: str) -> str:
        """Run one read-only SQL query (SELECT) on the SQL database and return the rows as a table.

        Args:
            query: One SELECT statement (WITH ... SELECT, VALUES and EXPLAIN work too) in the
                database's dialect, e.g. "SELECT category, COUNT(*) FROM products GROUP BY
                category". Large results are cut to the first rows; use LIMIT or GROUP BY.
        """
        cfg = config()
        statement = _check_query(query)
        db = _database(cfg.url)
        return format_table(*db.run(statement, max_rows=cfg.max_rows, timeout_s=cfg.timeout_s))

    return [sql_list_tables, sql_describe_table, sql_query]


def _default_url() -> str | URL:
    settings = get_settings()
    if settings.sql_url:
        return settings.sql_url
    return URL.create("sqlite", database=str(sample_database_path()))


def make_sql_tools(
    url: str | None = None, *, max_rows: int = 50, timeout_s: float = 5.0
) -> list[BaseTool]:
    """Build the three SQL tools for one database.

    Args:
        url: A SQLAlchemy URL (``sqlite:///path.sqlite`` or
            ``postgresql+psycopg://user@host:5432/db``). None: ``PODIUM_SQL_URL`` when
            set, else the sample sales database, looked up on each call.
        max_rows: Rows a query returns at most; the reply says when there were more.
        timeout_s: Seconds a statement may run before it is stopped.

    Returns:
        ``[sql_list_tables, sql_describe_table, sql_query]``.

    Raises:
        ConfigError: The URL is malformed, names another database kind, or names a
            SQLite file that does not exist; the limits are not positive.
    """
    if max_rows < 1 or timeout_s <= 0:
        raise ConfigError(
            f"max_rows must be >= 1 and timeout_s > 0, got max_rows={max_rows!r}, "
            f"timeout_s={timeout_s!r}"
        )
    if url is not None:
        _database(url)  # fail now, before any tool call, on a bad URL or a missing file
    return _build(lambda: _Config(url if url is not None else _default_url(), max_rows, timeout_s))


def _settings_config() -> _Config:
    settings = get_settings()
    return _Config(_default_url(), settings.sql_max_rows, settings.sql_timeout_s)


sql_list_tables, sql_describe_table, sql_query = _build(_settings_config)

register_tools([sql_list_tables, sql_describe_table, sql_query])
