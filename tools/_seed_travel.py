"""The travel database behind the travel tools: flights, the user's calendar, bookings.

Flights and calendar events are generated per calendar day from a
:class:`random.Random` seeded with that day, so the rows for a given day are the
same whenever they are made. :func:`ensure_travel_db` creates the database
atomically on first use with flights for the next 60 days, and on later calls tops
it up so the schedule always reaches 60 days ahead: the demo never goes stale and
bookings already made are kept.
"""

from __future__ import annotations

import math
import random
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from podium.tools._seed_sales import create_sqlite_atomically

__all__ = [
    "AIRPORTS",
    "CARRIERS",
    "FARES",
    "HORIZON_DAYS",
    "Airport",
    "connect",
    "ensure_travel_db",
]

HORIZON_DAYS = 60
_CALENDAR_PAST_DAYS = 30


@dataclass(frozen=True)
class Airport:
    """One city's airport; times at it are local, ``utc_offset`` hours from UTC."""

    code: str
    city: str
    country: str
    lat: float
    lon: float
    utc_offset: int
    size: int  # 1 (regional) to 3 (major hub): how many departures it gets


AIRPORTS: tuple[Airport, ...] = (
    Airport("LHR", "London", "United Kingdom", 51.47, -0.45, 0, 3),
    Airport("CDG", "Paris", "France", 49.01, 2.55, 1, 3),
    Airport("BER", "Berlin", "Germany", 52.37, 13.50, 1, 2),
    Airport("FCO", "Rome", "Italy", 41.80, 12.25, 1, 2),
    Airport("MAD", "Madrid", "Spain", 40.49, -3.57, 1, 2),
    Airport("BCN", "Barcelona", "Spain", 41.30, 2.08, 1, 2),
    Airport("AMS", "Amsterdam", "Netherlands", 52.31, 4.76, 1, 3),
    Airport("LIS", "Lisbon", "Portugal", 38.77, -9.13, 0, 1),
    Airport("DUB", "Dublin", "Ireland", 53.42, -6.27, 0, 1),
    Airport("VIE", "Vienna", "Austria", 48.11, 16.57, 1, 1),
    Airport("ZRH", "Zurich", "Switzerland", 47.46, 8.55, 1, 2),
    Airport("CPH", "Copenhagen", "Denmark", 55.62, 12.65, 1, 1),
    Airport("ARN", "Stockholm", "Sweden", 59.65, 17.92, 1, 1),
    Airport("ATH", "Athens", "Greece", 37.94, 23.94, 2, 1),
    Airport("IST", "Istanbul", "Turkey", 41.26, 28.74, 3, 3),
    Airport("DXB", "Dubai", "United Arab Emirates", 25.25, 55.36, 4, 3),
    Airport("JFK", "New York", "United States", 40.64, -73.78, -5, 3),
    Airport("YYZ", "Toronto", "Canada", 43.68, -79.63, -5, 2),
    Airport("HND", "Tokyo", "Japan", 35.55, 139.78, 9, 3),
    Airport("SIN", "Singapore", "Singapore", 1.36, 103.99, 8, 3),
)
_BY_CODE = {a.code: a for a in AIRPORTS}
# Long-haul flights leave only from these.
_HUBS = frozenset({"LHR", "CDG", "AMS", "MAD", "ZRH", "IST", "DXB", "JFK", "YYZ", "HND", "SIN"})
_LONG_HAUL = frozenset({"DXB", "JFK", "YYZ", "HND", "SIN"})

# Partner airlines: code, name, home airports, price factor.
CARRIERS: dict[str, tuple[str, frozenset[str], float]] = {
    "AU": ("Aurora Airways", frozenset({"LHR", "DUB", "JFK"}), 1.05),
    "ME": ("Meridian Air", frozenset({"CDG", "AMS", "YYZ"}), 1.0),
    "NW": ("Nordic Wings", frozenset({"CPH", "ARN", "BER"}), 0.95),
    "SO": ("Sol Airlines", frozenset({"MAD", "BCN", "LIS", "FCO"}), 0.9),
    "AX": ("Alpine Express", frozenset({"ZRH", "VIE"}), 1.1),
    "LV": ("Levant Air", frozenset({"IST", "ATH", "DXB"}), 0.95),
    "PC": ("Pacific Crest", frozenset({"HND", "SIN"}), 1.1),
    "BJ": ("BlueJet", frozenset(), 0.65),  # low-cost, short-haul only, Saver fares
}
FARES = ("Saver", "Standard", "Flex", "Business")
_FARE_FACTOR = {"Saver": 1.0, "Standard": 1.3, "Flex": 1.75, "Business": 3.4}

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE airports (
    code TEXT PRIMARY KEY, city TEXT NOT NULL UNIQUE, country TEXT NOT NULL,
    utc_offset INTEGER NOT NULL
);
CREATE TABLE carriers (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE flights (
    flight_id TEXT PRIMARY KEY,
    carrier TEXT NOT NULL REFERENCES carriers (code),
    flight_number TEXT NOT NULL,
    origin TEXT NOT NULL REFERENCES airports (code),
    destination TEXT NOT NULL REFERENCES airports (code),
    depart_date TEXT NOT NULL,
    depart_time TEXT NOT NULL,
    arrive_date TEXT NOT NULL,
    arrive_time TEXT NOT NULL,
    duration_min INTEGER NOT NULL,
    fare TEXT NOT NULL CHECK (fare IN ('Saver', 'Standard', 'Flex', 'Business')),
    price_eur REAL NOT NULL CHECK (price_eur > 0),
    seats_left INTEGER NOT NULL CHECK (seats_left >= 0)
);
CREATE INDEX flights_route ON flights (origin, destination, depart_date);
CREATE TABLE bookings (
    booking_id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    flight_id TEXT NOT NULL REFERENCES flights (flight_id),
    passenger TEXT NOT NULL,
    price_eur REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    created_at TEXT NOT NULL,
    cancelled_at TEXT
);
CREATE TABLE calendar_events (
    event_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    location TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    start_time TEXT,
    end_time TEXT
);
CREATE INDEX calendar_dates ON calendar_events (start_date, end_date);
"""


@dataclass(frozen=True)
class _Departure:
    carrier: str
    number: int
    minute: int  # departure, local minutes after midnight
    weekdays: frozenset[int]  # days it operates (0 = Monday)
    business: bool  # also sold as a Business fare


def _distance_km(a: Airport, b: Airport) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def _routes() -> list[tuple[Airport, Airport, float, list[_Departure]]]:
    """The weekly timetable: which carriers fly each route, when, on which days."""
    routes = []
    numbers: dict[str, int] = {code: 100 for code in CARRIERS}
    for a in AIRPORTS:
        for b in AIRPORTS:
            if a is b:
                continue
            long_haul = a.code in _LONG_HAUL or b.code in _LONG_HAUL
            if long_haul and not (a.code in _HUBS and b.code in _HUBS):
                continue
            rng = random.Random(f"route:{a.code}-{b.code}")
            km = _distance_km(a, b)
            homes = [c for c, (_, home, _) in CARRIERS.items() if {a.code, b.code} & home]
            if a.size + b.size <= 3 and not homes:  # two regional airports: no market
                continue
            if long_haul:
                carriers = [rng.choice(homes or ["AU", "ME", "LV", "PC"])]
            else:
                carriers = homes[:2] or [rng.choice(["AU", "ME", "SO", "NW", "AX", "LV"])]
                if a.size + b.size >= 5 or rng.random() < 0.3:
                    carriers.append("BJ")
            departures = []
            for carrier in carriers:
                per_day = 2 if a.size + b.size >= 6 and not long_haul and carrier != "BJ" else 1
                thin = a.size + b.size <= 4 and carrier != "BJ"
                weekdays = frozenset(rng.sample(range(7), 3)) if thin else frozenset(range(7))
                slots = sorted(rng.sample(range(6 * 12, 21 * 12), per_day))
                for slot in slots:
                    numbers[carrier] += rng.randint(1, 9)
                    departures.append(
                        _Departure(
                            carrier, numbers[carrier], slot * 5, weekdays,
                            business=carrier != "BJ" and (long_haul or a.size + b.size >= 6),
                        )
                    )
            routes.append((a, b, km, departures))
    return routes


_ROUTES = _routes()


def _flights_for(day: date) -> list[tuple]:
    rng = random.Random(f"flights:{day.isoformat()}")
    weekday = day.weekday()
    demand = {4: 1.15, 6: 1.12, 5: 0.95}.get(weekday, 1.0)
    rows = []
    for a, b, km, departures in _ROUTES:
        duration = int(round((km / 820 + 0.6) * 12)) * 5
        base = 35 + 0.11 * km if km < 3000 else 160 + 0.055 * km
        for dep in departures:
            if weekday not in dep.weekdays:
                continue
            name, _, carrier_factor = CARRIERS[dep.carrier]
            depart = datetime(day.year, day.month, day.day) + timedelta(minutes=dep.minute)
            arrive = depart + timedelta(minutes=duration, hours=b.utc_offset - a.utc_offset)
            fares = ["Saver"] if dep.carrier == "BJ" else [
                rng.choices(("Saver", "Standard", "Flex"), weights=(3, 5, 2))[0]
            ]
            if dep.business:
                fares.append("Business")
            for fare in fares:
                price = base * carrier_factor * demand * _FARE_FACTOR[fare] * rng.uniform(0.85, 1.3)
                seats = (
                    rng.choice((0, 1, 2, 4, 6, 9, 12))
                    if fare == "Business"
                    else rng.choice((0, 2, 5, 9, 14, 20, 28, 35, 42, 60))
                )
                rows.append(
                    (
                        f"{dep.carrier}{dep.number}-{day:%Y%m%d}-{fare[:3].upper()}",
                        dep.carrier,
                        f"{dep.carrier}{dep.number}",
                        a.code,
                        b.code,
                        depart.date().isoformat(),
                        depart.strftime("%H:%M"),
                        arrive.date().isoformat(),
                        arrive.strftime("%H:%M"),
                        duration,
                        fare,
                        round(price, 0) - 0.01,
                        seats,
                    )
                )
    return rows


_WEEKLY = {
    0: ("Team planning", "Office", "09:30", "10:30"),
    2: ("1:1 with Sam", "Video call", "14:00", "14:30"),
    3: ("Design review", "Office", "16:00", "17:00"),
}
_ONE_OFF = (
    ("Dentist appointment", "Harley Street Dental"),
    ("Lunch with Priya", "Dishoom"),
    ("Quarterly business review", "Office"),
    ("Customer call: Northwind", "Video call"),
    ("Yoga class", "Studio 4"),
    ("Haircut", "Barber on Main Street"),
    ("Parent-teacher meeting", "School"),
    ("Interview panel", "Office"),
)
_MULTI_DAY = (
    ("Conference: DataConf", "Berlin", 2),
    ("Family visit", "Manchester", 2),
    ("Team offsite", "Lisbon", 3),
    ("Annual leave", "", 4),
)


def _events_for(day: date) -> list[tuple]:
    rng = random.Random(f"calendar:{day.isoformat()}")
    rows = []
    if day.weekday() in _WEEKLY:
        title, where, start, end = _WEEKLY[day.weekday()]
        rows.append((f"{day.isoformat()}-w", title, where, day.isoformat(), day.isoformat(),
                     start, end))
    if day.weekday() < 5 and rng.random() < 0.3:
        title, where = rng.choice(_ONE_OFF)
        hour = rng.choice((8, 9, 11, 12, 13, 15, 17))
        rows.append((f"{day.isoformat()}-e", title, where, day.isoformat(), day.isoformat(),
                     f"{hour:02d}:00", f"{hour + 1:02d}:00"))
    if rng.random() < 0.04:
        title, where, length = rng.choice(_MULTI_DAY)
        end = day + timedelta(days=length - 1)
        rows.append((f"{day.isoformat()}-m", title, where, day.isoformat(), end.isoformat(),
                     None, None))
    return rows


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _add_days(conn: sqlite3.Connection, flights_from: date, calendar_from: date, through: date):
    for day in _days(flights_from, through):
        conn.executemany(
            "INSERT OR IGNORE INTO flights VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _flights_for(day),
        )
    for day in _days(calendar_from, through):
        conn.executemany(
            "INSERT OR IGNORE INTO calendar_events VALUES (?, ?, ?, ?, ?, ?, ?)",
            _events_for(day),
        )
    conn.execute(
        "INSERT INTO meta VALUES ('through', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (through.isoformat(),),
    )


def _populate(conn: sqlite3.Connection, today: date) -> None:
    conn.execute("PRAGMA journal_mode = OFF")  # a temporary file: durability comes later
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO airports VALUES (?, ?, ?, ?)",
        [(a.code, a.city, a.country, a.utc_offset) for a in AIRPORTS],
    )
    conn.executemany(
        "INSERT INTO carriers VALUES (?, ?)", [(c, v[0]) for c, v in CARRIERS.items()]
    )
    _add_days(
        conn, today, today - timedelta(days=_CALENDAR_PAST_DAYS),
        today + timedelta(days=HORIZON_DAYS),
    )
    conn.commit()
    # WAL lets searches read while a booking writes; the mode is stored in the file.
    conn.execute("PRAGMA journal_mode = WAL")


def connect(path: Path) -> sqlite3.Connection:
    """Open the travel database for one call: autocommit, explicit transactions."""
    conn = sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode=rw", uri=True, timeout=30, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def ensure_travel_db(path: Path, today: date | None = None) -> Path:
    """Create the travel database if it is missing, and extend it to 60 days ahead.

    Args:
        path: The SQLite file.
        today: The first day of the schedule; today by default.

    Returns:
        ``path``.
    """
    day = today or date.today()
    path = Path(path)
    through = day + timedelta(days=HORIZON_DAYS)
    if create_sqlite_atomically(path, lambda conn: _populate(conn, day)):
        return path
    conn = connect(path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'through'").fetchone()
        if row is not None and date.fromisoformat(row[0]) >= through:
            return path
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'through'").fetchone()
            done = date.fromisoformat(row[0]) if row else day - timedelta(days=1)
            if done < through:
                start = max(done + timedelta(days=1), day)
                _add_days(conn, start, start, through)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return path
