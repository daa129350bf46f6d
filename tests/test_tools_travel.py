"""The travel tools on a real seeded SQLite file: search, calendar, idempotent booking, cancel."""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from podium.settings import get_settings
from podium.tools import get_tool
from podium.tools._seed_travel import HORIZON_DAYS, ensure_travel_db
from podium.tools.travel import (
    book_flight,
    cancel_booking,
    check_calendar,
    make_travel_tools,
    search_flights,
    travel_database_path,
)

REFERENCE = re.compile(r"Booking reference ([A-Z0-9]{6}) ")


def _next_week() -> tuple[date, date]:
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    return monday, monday + timedelta(days=6)


@pytest.fixture(scope="module")
def _template(tmp_path_factory) -> Path:
    return ensure_travel_db(tmp_path_factory.mktemp("travel") / "travel.sqlite")


@pytest.fixture
def db(_template, tmp_path) -> Path:
    """A fresh copy of a module-wide seed (seeding takes a few tenths of a second)."""
    path = tmp_path / "travel.sqlite"
    shutil.copyfile(_template, path)
    return path


@pytest.fixture
def tools(db):
    calendar, search, book, cancel = make_travel_tools(db)
    return {"calendar": calendar, "search": search, "book": book, "cancel": cancel}


def _query(db: Path, sql: str, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def _seats(db: Path, flight_id: str) -> int:
    return _query(db, "SELECT seats_left FROM flights WHERE flight_id = ?", flight_id)[0][0]


def _flight_rows(reply: str) -> list[list[str]]:
    return [line.split(" | ") for line in reply.splitlines()[1:]]


def _bookable(db: Path, route=("LHR", "CDG")) -> str:
    monday, _ = _next_week()
    return _query(
        db,
        "SELECT flight_id FROM flights WHERE origin = ? AND destination = ? AND depart_date = ? "
        "AND seats_left > 3 ORDER BY flight_id LIMIT 1",
        *route,
        monday.isoformat(),
    )[0][0]


def test_search_finds_paris_flights_next_week(tools, db):
    monday, sunday = _next_week()
    reply = tools["search"].invoke(
        {"destination": "Paris", "date_from": str(monday), "date_to": str(sunday)}
    )
    assert reply.startswith(f"Flights from London (LHR) to Paris (CDG), {monday} to {sunday}")
    rows = _flight_rows(reply)
    assert 1 <= len(rows) <= 10
    prices = [float(r[5].removeprefix("EUR ")) for r in rows]
    assert prices == sorted(prices)
    for _, when, *_ in rows:
        day = date.fromisoformat(when.split()[1])
        assert monday <= day <= sunday and "LHR ->" in when and when.endswith("CDG")
    total = _query(
        db,
        "SELECT COUNT(*) FROM flights WHERE origin = 'LHR' AND destination = 'CDG' "
        "AND depart_date BETWEEN ? AND ? AND seats_left > 0",
        str(monday),
        str(sunday),
    )[0][0]
    assert f"{total} found" in reply
    cheapest = _query(
        db,
        "SELECT MIN(price_eur) FROM flights WHERE origin = 'LHR' AND destination = 'CDG' "
        "AND depart_date BETWEEN ? AND ? AND seats_left > 0",
        str(monday),
        str(sunday),
    )[0][0]
    assert prices[0] == pytest.approx(cheapest)


def test_search_filters_by_price_and_origin(tools, db, monkeypatch):
    monday, sunday = _next_week()
    limit = _query(
        db,
        "SELECT MIN(price_eur) + 150 FROM flights WHERE origin = 'JFK' AND destination = 'LHR' "
        "AND depart_date BETWEEN ? AND ? AND seats_left > 0",
        str(monday),
        str(sunday),
    )[0][0]
    reply = tools["search"].invoke(
        {"origin": "nyc", "destination": "LHR", "date_from": str(monday),
         "date_to": str(sunday), "max_price": limit}
    )
    assert reply.startswith("Flights from New York (JFK) to London (LHR)"), reply
    prices = [float(r[5].removeprefix("EUR ")) for r in _flight_rows(reply)]
    assert prices and max(prices) <= limit
    nothing = tools["search"].invoke(
        {"origin": "JFK", "destination": "London", "date_from": str(monday), "max_price": 1}
    )
    assert nothing.startswith("No flights with free seats at or under EUR 1.00 from New York")
    monkeypatch.setenv("PODIUM_HOME_CITY", "Berlin")
    get_settings.cache_clear()
    assert tools["search"].invoke({"destination": "Rome", "date_from": str(monday)}).startswith(
        "Flights from Berlin (BER) to Rome (FCO)"
    )


def test_schedule_is_relative_to_today_and_deterministic(tmp_path):
    day = date(2030, 1, 7)
    a = ensure_travel_db(tmp_path / "a.sqlite", day)
    b = ensure_travel_db(tmp_path / "b.sqlite", day)
    dump = "SELECT * FROM flights ORDER BY flight_id"
    assert _query(a, dump) == _query(b, dump)
    first, last = _query(a, "SELECT MIN(depart_date), MAX(depart_date) FROM flights")[0]
    assert (first, last) == (str(day), str(day + timedelta(days=HORIZON_DAYS)))
    cities = _query(a, "SELECT city FROM airports")
    assert {"Paris", "London", "Berlin", "Rome", "New York", "Tokyo"} <= {c for (c,) in cities}
    assert len(cities) == 20
    assert len(_query(a, "SELECT DISTINCT carrier FROM flights")) >= 5


def test_a_later_day_tops_the_schedule_up_and_keeps_bookings(tmp_path):
    day = date(2030, 1, 7)
    path = ensure_travel_db(tmp_path / "t.sqlite", day)
    _, _, book, _ = make_travel_tools(path)
    flight = _query(path, "SELECT flight_id FROM flights WHERE seats_left > 0 AND depart_date = ?",
                    str(day + timedelta(days=20)))[0][0]
    with sqlite3.connect(path) as conn:  # a booking made back then
        conn.execute(
            "INSERT INTO bookings (reference, idempotency_key, flight_id, passenger, price_eur, "
            "status, created_at) VALUES ('ABC234', 'k', ?, 'Ada', 10, 'confirmed', 'then')",
            (flight,),
        )
    ensure_travel_db(path, day + timedelta(days=10))
    last = _query(path, "SELECT MAX(depart_date) FROM flights")[0][0]
    assert last == str(day + timedelta(days=10 + HORIZON_DAYS))
    assert _query(path, "SELECT reference FROM bookings") == [("ABC234",)]
    fresh = make_travel_tools(tmp_path / "fresh.sqlite")[1]  # created on first use
    monday, _ = _next_week()
    assert fresh.invoke({"destination": "Tokyo", "date_from": str(monday)})
    assert (tmp_path / "fresh.sqlite").exists()


def test_calendar_lists_events_and_free_days(tools, db):
    monday, sunday = _next_week()
    reply = tools["calendar"].invoke({"start": str(monday), "end": str(sunday)})
    lines = reply.splitlines()
    assert lines[0] == f"Calendar {monday} to {sunday}:"
    events = _query(
        db,
        "SELECT title, start_date, end_date FROM calendar_events "
        "WHERE start_date <= ? AND end_date >= ?",
        str(sunday),
        str(monday),
    )
    assert len([line for line in lines if line.startswith("- ")]) == max(1, len(events))
    for title, _, _ in events:
        assert title in reply
    busy = set()
    for _, start, end in events:
        s, e = date.fromisoformat(start), date.fromisoformat(end)
        busy |= {s + timedelta(days=i) for i in range((e - s).days + 1)}
    free = [monday + timedelta(days=i) for i in range(7)]
    free = [d for d in free if d not in busy]
    assert lines[-1].startswith("Free days")
    for d in free:
        assert str(d) in lines[-1]
    for d in busy & {monday + timedelta(days=i) for i in range(7)}:
        assert str(d) not in lines[-1]
    single = tools["calendar"].invoke({"start": str(monday)})
    assert single.startswith(f"Calendar {monday} to {monday}:")


def test_booking_returns_a_reference_and_takes_one_seat(tools, db):
    flight = _bookable(db)
    seats = _seats(db, flight)
    reply = tools["book"].invoke(
        {"flight_id": flight, "passenger": "Ada Lovelace", "idempotency_key": "trip-1"}
    )
    assert reply.startswith("Booked."), reply
    reference = REFERENCE.search(reply).group(1)
    assert _seats(db, flight) == seats - 1
    assert _query(db, "SELECT reference, flight_id, passenger, status FROM bookings") == [
        (reference, flight, "Ada Lovelace", "confirmed")
    ]


def test_a_retry_with_the_same_key_books_once(tools, db):
    flight = _bookable(db)
    seats = _seats(db, flight)
    args = {"flight_id": flight, "passenger": "Ada Lovelace", "idempotency_key": "trip-2"}
    first = tools["book"].invoke(args)
    again = tools["book"].invoke({**args, "flight_id": flight.lower(), "passenger": "ada lovelace"})
    assert again.startswith("Already booked with this idempotency_key")
    assert REFERENCE.search(first).group(1) == REFERENCE.search(again).group(1)
    assert _seats(db, flight) == seats - 1
    assert _query(db, "SELECT COUNT(*) FROM bookings")[0][0] == 1


def test_concurrent_retries_make_exactly_one_booking(db):
    flight = _bookable(db)
    seats = _seats(db, flight)
    workers = 8
    barrier = threading.Barrier(workers)
    replies: list[str] = []

    def attempt() -> None:
        # Each thread has its own tool objects, as separate workers of a graph would.
        book = make_travel_tools(db)[2]
        barrier.wait()
        replies.append(
            book.invoke({"flight_id": flight, "passenger": "Grace Hopper", "idempotency_key": "k9"})
        )

    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(replies) == workers
    references = {REFERENCE.search(r).group(1) for r in replies}
    assert len(references) == 1, replies
    assert sum(r.startswith("Booked.") for r in replies) == 1
    assert _query(db, "SELECT COUNT(*) FROM bookings WHERE idempotency_key = 'k9'")[0][0] == 1
    assert _seats(db, flight) == seats - 1


def test_same_key_with_other_arguments_is_an_error(tools, db):
    flight = _bookable(db)
    other = _bookable(db, ("LHR", "FCO"))
    tools["book"].invoke({"flight_id": flight, "passenger": "Ada", "idempotency_key": "k"})
    seats_other = _seats(db, other)
    for args in (
        {"flight_id": other, "passenger": "Ada", "idempotency_key": "k"},
        {"flight_id": flight, "passenger": "Someone Else", "idempotency_key": "k"},
    ):
        reply = tools["book"].invoke(args)
        assert reply.startswith("Error: idempotency_key 'k' was already used for booking")
        assert "use a new key" in reply
    assert _seats(db, other) == seats_other
    assert _query(db, "SELECT COUNT(*) FROM bookings")[0][0] == 1


def test_cancel_releases_the_seat_once(tools, db):
    flight = _bookable(db)
    seats = _seats(db, flight)
    booked = tools["book"].invoke(
        {"flight_id": flight, "passenger": "Ada Lovelace", "idempotency_key": "c-1"}
    )
    reference = REFERENCE.search(booked).group(1)
    reply = tools["cancel"].invoke({"booking_reference": reference.lower()})
    assert reply.startswith("Cancelled;") and reference in reply
    assert _seats(db, flight) == seats
    again = tools["cancel"].invoke({"idempotency_key": "c-1"})
    assert again.startswith("Already cancelled; nothing changed.")
    assert _seats(db, flight) == seats
    assert _query(db, "SELECT status FROM bookings") == [("cancelled",)]
    # The key still names the cancelled booking: a retry of the old booking does not rebook.
    retry = tools["book"].invoke(
        {"flight_id": flight, "passenger": "Ada Lovelace", "idempotency_key": "c-1"}
    )
    assert "cancelled at" in retry and _seats(db, flight) == seats


def test_sold_out_and_unknown_flights(tools, db):
    monday, _ = _next_week()
    sold_out = _query(
        db, "SELECT flight_id FROM flights WHERE seats_left = 0 AND depart_date >= ? LIMIT 1",
        str(monday),
    )[0][0]
    book = tools["book"]
    reply = book.invoke({"flight_id": sold_out, "passenger": "Ada", "idempotency_key": "s"})
    assert reply.startswith(f"Error: flight {sold_out} is sold out")
    missing = book.invoke({"flight_id": "XX1", "passenger": "Ada", "idempotency_key": "s"})
    assert missing.startswith("Error: no flight with id 'XX1'")
    assert _query(db, "SELECT COUNT(*) FROM bookings")[0][0] == 0
    assert tools["cancel"].invoke({"booking_reference": "ZZZZ22"}).startswith(
        "Error: no booking with booking_reference 'ZZZZ22'"
    )


@pytest.mark.parametrize(
    ("tool", "args", "fragment"),
    [
        ("search", {"destination": "Paris", "date_from": "next week"}, "date_from 'next week'"),
        ("search", {"destination": "Paris", "date_from": "2030-02-30"}, "date_from '2030-02-30'"),
        ("search", {"destination": "Paris", "date_from": "12/03/2030"}, "date_from '12/03/2030'"),
        ("search", {"destination": "Paris", "date_from": "{monday}", "date_to": "soon"},
         "date_to 'soon'"),
        ("calendar", {"start": "tomorrow"}, "start 'tomorrow'"),
        ("calendar", {"start": "{monday}", "end": "2030-13-01"}, "end '2030-13-01'"),
    ],
)
def test_bad_dates_name_the_field_and_the_format(tools, tool, args, fragment):
    monday, _ = _next_week()
    args = {k: v.format(monday=monday) for k, v in args.items()}
    reply = tools[tool].invoke(args)
    assert reply.startswith("Error:") and fragment in reply and "YYYY-MM-DD" in reply, reply


def test_other_bad_search_input(tools):
    monday, sunday = _next_week()
    cases = [
        ({"destination": "Atlantis", "date_from": str(monday)}, "is not a city we fly to"),
        ({"destination": "London", "date_from": str(monday)}, "both London"),
        ({"destination": "Paris", "date_from": str(sunday), "date_to": str(monday)},
         "before date_from"),
        ({"destination": "Paris", "date_from": "2001-01-01"}, "in the past"),
        ({"destination": "Paris", "date_from": str(monday + timedelta(days=200))}, "on sale up to"),
        ({"destination": "Paris", "date_from": str(monday), "max_price": -5}, "max_price"),
    ]
    for args, fragment in cases:
        reply = tools["search"].invoke(args)
        assert reply.startswith("Error:") and fragment in reply, (args, reply)


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("check_calendar", {}, "'start': Field required"),
        ("check_calendar", {"start": 20300101}, "'start': Input should be a valid string"),
        ("search_flights", {"date_from": "2030-01-01"}, "'destination': Field required"),
        ("search_flights", {"destination": "Paris"}, "'date_from': Field required"),
        ("search_flights", {"destination": "Paris", "date_from": "2030-01-01",
                            "max_price": "cheap"}, "'max_price'"),
        ("book_flight", {"flight_id": "X", "passenger": "A"}, "'idempotency_key': Field required"),
        ("book_flight", {"flight_id": "X", "idempotency_key": "k"}, "'passenger': Field required"),
        ("cancel_booking", {"booking_reference": 123456}, "'booking_reference'"),
    ],
)
def test_malformed_arguments_name_the_field(name, args, field):
    reply = get_tool(name).invoke(args)
    assert reply.startswith(f"Invalid arguments for {name}") and field in reply, reply


def test_empty_and_missing_values_get_a_message(tools):
    assert "give booking_reference" in tools["cancel"].invoke({})
    assert "passenger is empty" in tools["book"].invoke(
        {"flight_id": "X", "passenger": "  ", "idempotency_key": "k"}
    )
    assert "is not a reference" in tools["cancel"].invoke({"booking_reference": "K7"})


def test_default_tools_use_the_data_directory():
    monday, _ = _next_week()
    assert check_calendar.invoke({"start": str(monday)}).startswith("Calendar")
    assert travel_database_path() == get_settings().data_dir / "travel.sqlite"
    assert travel_database_path().exists()
    assert get_tool("book_flight") is book_flight and get_tool("cancel_booking") is cancel_booking
    assert get_tool("search_flights") is search_flights
