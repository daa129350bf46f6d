"""Travel tools for the travel assistant: calendar, flight search, booking, cancellation.

They work on one SQLite database (``travel.sqlite`` under the data directory by
default) that holds the user's calendar, a flight schedule for the next 60 days
between 20 cities, and the bookings. Booking is idempotent: the same
``idempotency_key`` always names the same booking, however often a step is
retried or a graph resumed; a UNIQUE constraint on the key, ``INSERT ... ON
CONFLICT DO NOTHING`` and ``BEGIN IMMEDIATE`` make sure a seat is taken once.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from langchain_core.tools import BaseTool

from podium.errors import ToolInputError
from podium.settings import get_settings
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools
from podium.tools._seed_travel import AIRPORTS, CARRIERS, HORIZON_DAYS, Airport, connect
from podium.tools._seed_travel import ensure_travel_db as _ensure

__all__ = [
    "book_flight",
    "cancel_booking",
    "check_calendar",
    "make_travel_tools",
    "search_flights",
    "travel_database_path",
]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_REFERENCE = re.compile(r"^[A-Z0-9]{6}$")
_MAX_SEARCH_DAYS = 31
_MAX_CALENDAR_DAYS = 92
_MAX_RESULTS = 10
_MAX_TEXT = 200
_ALIASES = {"nyc": "JFK", "new york city": "JFK", "rome fiumicino": "FCO", "roma": "FCO"}


def travel_database_path() -> Path:
    """Return the default travel database under the data directory."""
    return get_settings().data_dir / "travel.sqlite"


def _today() -> date:
    return date.today()


def _parse_date(value: str, field: str) -> date:
    text = value.strip()
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ToolInputError(
        f"{field} {value!r} is not a date; use YYYY-MM-DD, e.g. {_today().isoformat()} (today)"
    )


def _airport(value: str, field: str) -> Airport:
    text = value.strip().split(",")[0].strip().lower()
    code = _ALIASES.get(text, text.upper())
    for airport in AIRPORTS:
        if airport.code == code or airport.city.lower() == text:
            return airport
    cities = ", ".join(f"{a.city} ({a.code})" for a in AIRPORTS)
    raise ToolInputError(f"{field} {value!r} is not a city we fly to; cities: {cities}")


def _clean(value: str, field: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ToolInputError(f"{field} is empty")
    if len(text) > _MAX_TEXT:
        raise ToolInputError(f"{field} is longer than {_MAX_TEXT} characters")
    return text


def _hours(minutes: int) -> str:
    return f"{minutes // 60}h{minutes % 60:02d}"


def _describe_flight(row: sqlite3.Row) -> str:
    depart = date.fromisoformat(row["depart_date"])
    arrive = date.fromisoformat(row["arrive_date"])
    plus = f" (+{(arrive - depart).days})" if arrive != depart else ""
    return (
        f"{row['flight_id']} | {depart:%a} {row['depart_date']} {row['depart_time']} "
        f"{row['origin']} -> {row['arrive_time']}{plus} {row['destination']} | "
        f"{_hours(row['duration_min'])} | {CARRIERS[row['carrier']][0]} | {row['fare']} | "
        f"EUR {row['price_eur']:.2f} | {row['seats_left']} seats left"
    )


class _TravelDB:
    """The database file, made and topped up on first use each day."""

    def __init__(self, path: Callable[[], Path]) -> None:
        self._path = path
        self._ready: set[tuple[Path, date]] = set()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        path, today = self._path(), _today()
        if (path, today) not in self._ready or not path.exists():
            _ensure(path, today)
            self._ready.add((path, today))
        conn = connect(path)
        try:
            yield conn
        finally:
            conn.close()


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction that takes the write lock at once, so readers cannot race it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _booking_text(row: sqlite3.Row, flight: sqlite3.Row, lead: str) -> str:
    state = "confirmed" if row["status"] == "confirmed" else f"cancelled at {row['cancelled_at']}"
    return (
        f"{lead} Booking reference {row['reference']} ({state}): passenger {row['passenger']}, "
        f"flight {_describe_flight(flight).rsplit(' | ', 2)[0]}, paid EUR {row['price_eur']:.2f}."
    )


def _build(db: _TravelDB, home_city: Callable[[], str]) -> list[BaseTool]:
    @podium_tool
    def check_calendar(start: str, end: str | None = None) -> str:
        """Show the user's calendar events between two dates and the days left free.

        Args:
            start: First day to check, YYYY-MM-DD.
            end: Last day to check (inclusive), YYYY-MM-DD; the same as start when omitted.
        """
        first = _parse_date(start, "start")
        last = _parse_date(end, "end") if end is not None else first
        if last < first:
            raise ToolInputError(f"end {last} is before start {first}; give end >= start")
        if (last - first).days >= _MAX_CALENDAR_DAYS:
            raise ToolInputError(f"check at most {_MAX_CALENDAR_DAYS} days at a time")
        with db.connection() as conn:
            events = conn.execute(
                "SELECT * FROM calendar_events WHERE start_date <= ? AND end_date >= ? "
                "ORDER BY start_date, start_time",
                (last.isoformat(), first.isoformat()),
            ).fetchall()
        busy: set[date] = set()
        lines = [f"Calendar {first} to {last}:"]
        for event in events:
            s, e = date.fromisoformat(event["start_date"]), date.fromisoformat(event["end_date"])
            busy.update(s + timedelta(days=i) for i in range((e - s).days + 1))
            when = (
                f"{s:%a} {s} {event['start_time']}-{event['end_time']}"
                if event["start_time"]
                else f"{s:%a} {s} to {e:%a} {e} (all day)" if e != s else f"{s:%a} {s} (all day)"
            )
            where = f" ({event['location']})" if event["location"] else ""
            lines.append(f"- {when}: {event['title']}{where}")
        if not events:
            lines.append("- no events")
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        free = [f"{d:%a} {d}" for d in days if d not in busy]
        lines.append(f"Free days (nothing scheduled): {', '.join(free) if free else 'none'}")
        return "\n".join(lines)

    @podium_tool
    def search_flights(
        destination: str,
        date_from: str,
        date_to: str | None = None,
        origin: str | None = None,
        max_price: float | None = None,
    ) -> str:
        """Search flights with free seats between two cities over a range of dates, cheapest first.

        Args:
            destination: City or airport code to fly to, e.g. "Paris" or "CDG".
            date_from: Earliest departure date, YYYY-MM-DD.
            date_to: Latest departure date (inclusive), YYYY-MM-DD; the same as date_from
                when omitted.
            origin: City or airport code to fly from; the user's home city when omitted.
            max_price: Highest price in EUR to show.
        """
        today = _today()
        start = _parse_date(date_from, "date_from")
        stop = _parse_date(date_to, "date_to") if date_to is not None else start
        if stop < start:
            raise ToolInputError(f"date_to {stop} is before date_from {start}")
        if (stop - start).days >= _MAX_SEARCH_DAYS:
            raise ToolInputError(f"search at most {_MAX_SEARCH_DAYS} days at a time")
        if stop < today:
            raise ToolInputError(f"those dates are in the past; today is {today}")
        horizon = today + timedelta(days=HORIZON_DAYS)
        if start > horizon:
            raise ToolInputError(f"flights are on sale up to {horizon} ({HORIZON_DAYS} days)")
        start = max(start, today)
        dest = _airport(destination, "destination")
        src = _airport(origin, "origin") if origin is not None else _airport(
            home_city(), "home_city setting"
        )
        if src == dest:
            raise ToolInputError(f"origin and destination are both {src.city}")
        if max_price is not None and max_price <= 0:
            raise ToolInputError(f"max_price must be a positive amount in EUR, got {max_price}")
        query = (
            "SELECT * FROM flights WHERE origin = ? AND destination = ? AND depart_date "
            "BETWEEN ? AND ? AND seats_left > 0"
        )
        params: list = [src.code, dest.code, start.isoformat(), stop.isoformat()]
        if max_price is not None:
            query += " AND price_eur <= ?"
            params.append(max_price)
        with db.connection() as conn:
            rows = conn.execute(
                query + " ORDER BY price_eur, depart_date, depart_time", params
            ).fetchall()
        span = f"{start}" if start == stop else f"{start} to {stop}"
        route = f"{src.city} ({src.code}) to {dest.city} ({dest.code}), {span}"
        if not rows:
            limit = f" at or under EUR {max_price:.2f}" if max_price is not None else ""
            return f"No flights with free seats{limit} from {route}."
        shown = rows[:_MAX_RESULTS]
        more = (
            f"; {len(rows)} found, the {len(shown)} cheapest shown (narrow the dates or set "
            "max_price for others)"
            if len(rows) > len(shown)
            else f"; {len(rows)} found"
        )
        head = f"Flights from {route}, cheapest first{more}. Book with the flight id:"
        return "\n".join([head, *(_describe_flight(r) for r in shown)])

    @podium_tool
    def book_flight(flight_id: str, passenger: str, idempotency_key: str) -> str:
        """Book a seat on a flight from search_flights; the same idempotency_key never books twice.

        Args:
            flight_id: The flight id from search_flights, e.g. "AU104-20250612-STA".
            passenger: Full name of the passenger as on their passport.
            idempotency_key: A unique key for this booking request (e.g. the conversation
                and step id). Sending the same key again returns the same booking instead
                of booking twice.
        """
        flight_key = _clean(flight_id, "flight_id").upper()
        name = _clean(passenger, "passenger")
        if not any(ch.isalpha() for ch in name):
            raise ToolInputError(f"passenger {passenger!r} is not a name")
        key = _clean(idempotency_key, "idempotency_key")
        today = _today()
        with db.connection() as conn, _immediate(conn):
            existing = conn.execute(
                "SELECT * FROM bookings WHERE idempotency_key = ?", (key,)
            ).fetchone()
            if existing is not None and (
                existing["flight_id"] != flight_key
                or existing["passenger"].casefold() != name.casefold()
            ):
                raise ToolInputError(
                    f"idempotency_key {key!r} was already used for booking "
                    f"{existing['reference']} (flight {existing['flight_id']}, passenger "
                    f"{existing['passenger']}); use a new key for a different booking"
                )
            flight = conn.execute(
                "SELECT * FROM flights WHERE flight_id = ?", (flight_key,)
            ).fetchone()
            if flight is None:
                raise ToolInputError(
                    f"no flight with id {flight_id!r}; use an id from search_flights, "
                    "e.g. 'AU104-20250612-STA'"
                )
            if existing is None:
                if date.fromisoformat(flight["depart_date"]) < today:
                    raise ToolInputError(f"flight {flight_key} has already departed")
                if flight["seats_left"] < 1:
                    raise ToolInputError(
                        f"flight {flight_key} is sold out; search again for another flight"
                    )
                _insert_booking(conn, key, flight, name)
            row = conn.execute(
                "SELECT * FROM bookings WHERE idempotency_key = ?", (key,)
            ).fetchone()
        lead = (
            "Booked."
            if existing is None
            else "Already booked with this idempotency_key; no second booking was made."
        )
        return _booking_text(row, flight, lead)

    @podium_tool
    def cancel_booking(
        booking_reference: str | None = None, idempotency_key: str | None = None
    ) -> str:
        """Cancel a flight booking and release its seat; cancelling twice changes nothing.

        Args:
            booking_reference: The 6-character booking reference, e.g. "K7M2QD".
            idempotency_key: Or the idempotency_key the booking was made with.
        """
        if booking_reference is None and idempotency_key is None:
            raise ToolInputError(
                "give booking_reference (6 letters and digits, e.g. 'K7M2QD') or the "
                "idempotency_key the booking was made with"
            )
        ref = _clean(booking_reference, "booking_reference").upper() if booking_reference else None
        if ref is not None and not _REFERENCE.match(ref):
            raise ToolInputError(
                f"booking_reference {booking_reference!r} is not a reference; it has 6 "
                "letters and digits, e.g. 'K7M2QD'"
            )
        key = _clean(idempotency_key, "idempotency_key") if idempotency_key else None
        with db.connection() as conn, _immediate(conn):
            where, params = [], []
            if ref is not None:
                where.append("reference = ?")
                params.append(ref)
            if key is not None:
                where.append("idempotency_key = ?")
                params.append(key)
            row = conn.execute(
                f"SELECT * FROM bookings WHERE {' AND '.join(where)}", params
            ).fetchone()
            if row is None:
                given = " and ".join(
                    f"{label} {value!r}"
                    for label, value in (("booking_reference", ref), ("idempotency_key", key))
                    if value is not None
                )
                raise ToolInputError(f"no booking with {given}")
            flight = conn.execute(
                "SELECT * FROM flights WHERE flight_id = ?", (row["flight_id"],)
            ).fetchone()
            if row["status"] == "cancelled":
                return _booking_text(row, flight, "Already cancelled; nothing changed.")
            done = conn.execute(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = ? "
                "WHERE booking_id = ? AND status = 'confirmed'",
                (_now(), row["booking_id"]),
            ).rowcount
            if done:
                conn.execute(
                    "UPDATE flights SET seats_left = seats_left + 1 WHERE flight_id = ?",
                    (row["flight_id"],),
                )
            row = conn.execute(
                "SELECT * FROM bookings WHERE booking_id = ?", (row["booking_id"],)
            ).fetchone()
        return _booking_text(
            row, flight, f"Cancelled; the seat is released and the {flight['fare']} fare rules "
            "decide the refund."
        )

    return [check_calendar, search_flights, book_flight, cancel_booking]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _insert_booking(conn: sqlite3.Connection, key: str, flight: sqlite3.Row, name: str) -> None:
    """Insert the booking for ``key`` unless it exists; take the seat only if it was inserted."""
    for _ in range(10):
        reference = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        try:
            inserted = conn.execute(
                "INSERT INTO bookings (reference, idempotency_key, flight_id, passenger, "
                "price_eur, status, created_at) VALUES (?, ?, ?, ?, ?, 'confirmed', ?) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                (reference, key, flight["flight_id"], name, flight["price_eur"], _now()),
            ).rowcount
        except sqlite3.IntegrityError:  # the random reference is taken: draw another
            continue
        if inserted:
            taken = conn.execute(
                "UPDATE flights SET seats_left = seats_left - 1 "
                "WHERE flight_id = ? AND seats_left > 0",
                (flight["flight_id"],),
            ).rowcount
            if not taken:
                raise ToolInputError(f"flight {flight['flight_id']} is sold out")
        return
    raise RuntimeError("could not draw an unused booking reference in 10 tries")


def make_travel_tools(db_path: str | Path | None = None) -> list[BaseTool]:
    """Build the travel tools on one database.

    Args:
        db_path: The SQLite file; created and seeded on first use. None: ``travel.sqlite``
            under the data directory, looked up on each call.

    Returns:
        ``[check_calendar, search_flights, book_flight, cancel_booking]``.
    """
    resolve = (lambda: Path(db_path)) if db_path is not None else travel_database_path
    return _build(_TravelDB(resolve), lambda: get_settings().home_city)


check_calendar, search_flights, book_flight, cancel_booking = make_travel_tools()

register_tools([check_calendar, search_flights, book_flight, cancel_booking])
