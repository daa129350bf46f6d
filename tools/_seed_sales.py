"""The sample sales database behind the sql tool, and atomic creation of SQLite files.

:func:`ensure_sales_db` creates ``sales.sqlite`` on first use: about 200
customers, 50 products in 7 categories, and about 3,000 orders with their items
over the two years before today. A seeded :class:`random.Random` makes the
content a function of the date alone. :func:`create_sqlite_atomically` builds a
database under a temporary name and links it into place, so a crash never leaves
a half-seeded file and two processes seeding at once keep one copy.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

__all__ = ["SALES_SCHEMA", "create_sqlite_atomically", "ensure_sales_db", "populate_sales"]

SALES_SCHEMA = """
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    segment TEXT NOT NULL CHECK (segment IN ('consumer', 'small business', 'enterprise')),
    signup_date TEXT NOT NULL
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL,
    unit_price REAL NOT NULL CHECK (unit_price > 0)
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    order_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('completed', 'shipped', 'cancelled', 'returned')),
    channel TEXT NOT NULL CHECK (channel IN ('web', 'store', 'phone'))
);
CREATE TABLE order_items (
    order_item_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price REAL NOT NULL,
    discount REAL NOT NULL DEFAULT 0 CHECK (discount >= 0 AND discount < 1)
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_date ON orders (order_date);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX order_items_product ON order_items (product_id);
"""

_FIRST = (
    "Olivia Liam Emma Noah Amelia Oliver Sophia Elijah Mia Lucas Isabella Mateo Ava Levi "
    "Charlotte Leo Harper Ezra Luna Hugo Chloe Arthur Ines Jonas Freya Luca Aisha Omar "
    "Yuki Kenji Priya Arjun Sofia Marco Elena Pablo Clara Felix Nora Ravi"
).split()
_LAST = (
    "Smith Johnson Brown Garcia Miller Davis Martin Bernard Dubois Muller Schmidt Rossi "
    "Bianchi Fernandez Lopez Silva Santos Jansen De-Vries Nielsen Andersson Novak Kowalski "
    "Tanaka Sato Patel Sharma Khan Okafor Mensah Murphy Kelly Walsh Moreau Laurent Weber "
    "Fischer Romano Costa Berg"
).split()
_CITIES = (
    ("London", "United Kingdom", 14),
    ("Manchester", "United Kingdom", 5),
    ("Paris", "France", 10),
    ("Lyon", "France", 4),
    ("Berlin", "Germany", 8),
    ("Munich", "Germany", 5),
    ("Madrid", "Spain", 6),
    ("Barcelona", "Spain", 5),
    ("Rome", "Italy", 5),
    ("Milan", "Italy", 5),
    ("Amsterdam", "Netherlands", 6),
    ("Dublin", "Ireland", 4),
    ("Lisbon", "Portugal", 3),
    ("Stockholm", "Sweden", 3),
    ("Vienna", "Austria", 3),
    ("New York", "United States", 8),
    ("Toronto", "Canada", 3),
    ("Tokyo", "Japan", 4),
)
_SEGMENTS = (("consumer", 70), ("small business", 22), ("enterprise", 8))
_CATEGORIES: dict[str, tuple[tuple[str, float], ...]] = {
    "Electronics": (
        ("Wireless Earbuds", 79.0),
        ("Noise-Cancelling Headphones", 249.0),
        ("USB-C Charger 65W", 39.0),
        ("Portable SSD 1TB", 119.0),
        ("Smart Speaker", 99.0),
        ("E-Reader", 139.0),
        ("Webcam 1080p", 59.0),
        ("Mechanical Keyboard", 129.0),
    ),
    "Home & Kitchen": (
        ("Espresso Machine", 329.0),
        ("Chef's Knife", 89.0),
        ("Cast Iron Skillet", 45.0),
        ("Electric Kettle", 49.0),
        ("Blender", 79.0),
        ("Linen Bedding Set", 159.0),
        ("Ceramic Dinner Set", 119.0),
        ("Air Purifier", 199.0),
    ),
    "Books": (
        ("The Data Garden", 24.0),
        ("Practical Statistics", 42.0),
        ("A Short History of Maps", 19.0),
        ("Cooking for Two", 29.0),
        ("Night Trains of Europe", 22.0),
        ("Learning SQL the Calm Way", 38.0),
        ("The Patient Gardener", 26.0),
    ),
    "Sports & Outdoors": (
        ("Yoga Mat", 35.0),
        ("Trail Running Shoes", 129.0),
        ("Camping Tent 2P", 189.0),
        ("Insulated Water Bottle", 29.0),
        ("Cycling Helmet", 79.0),
        ("Hiking Backpack 30L", 99.0),
        ("Adjustable Dumbbells", 219.0),
    ),
    "Toys & Games": (
        ("Wooden Train Set", 59.0),
        ("Strategy Board Game", 49.0),
        ("1000-Piece Puzzle", 22.0),
        ("Building Blocks Kit", 79.0),
        ("Card Game Classic", 15.0),
        ("Remote Control Car", 69.0),
        ("Plush Bear", 25.0),
    ),
    "Clothing": (
        ("Merino Sweater", 95.0),
        ("Rain Jacket", 149.0),
        ("Cotton T-Shirt", 19.0),
        ("Denim Jeans", 79.0),
        ("Wool Socks (3 pairs)", 24.0),
        ("Leather Belt", 45.0),
        ("Winter Gloves", 35.0),
    ),
    "Office Supplies": (
        ("Ergonomic Office Chair", 349.0),
        ("Standing Desk", 499.0),
        ("Notebook A5 (5 pack)", 18.0),
        ("Fountain Pen", 55.0),
        ("Desk Lamp", 65.0),
        ("Monitor Arm", 89.0),
    ),
}
_N_CUSTOMERS = 200
_N_ORDERS = 3000
_DAYS = 730
_SEED = 20_240_601


def create_sqlite_atomically(path: Path, populate: Callable[[sqlite3.Connection], None]) -> bool:
    """Create the SQLite file ``path`` whole or not at all.

    The database is built under a temporary name in the same directory, flushed
    to disk, and then hard-linked to ``path``, which fails if ``path`` exists:
    a process that loses a race to seed keeps the winner's file (bookings in it
    included) and discards its own.

    Args:
        path: Where the database should end up.
        populate: Creates the schema and rows on the connection it is given.

    Returns:
        True when this call created ``path``, False when it already existed.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            populate(conn)
            conn.commit()
        finally:
            conn.close()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links; the race window is tiny
            if path.exists():
                return False
            os.replace(tmp, path)
        with contextlib.suppress(OSError):  # make the new name durable where we can
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp + suffix)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def populate_sales(conn: sqlite3.Connection, today: date) -> None:
    """Create the sales schema and its deterministic sample rows on ``conn``.

    Args:
        conn: An open connection to an empty database.
        today: Orders fall in the ``730`` days before this date.
    """
    rng = random.Random(_SEED)
    conn.executescript(SALES_SCHEMA)
    start = today - timedelta(days=_DAYS)

    customers = []
    emails: set[str] = set()
    city_weights = [c[2] for c in _CITIES]
    for customer_id in range(1, _N_CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}".lower().replace("-", "")
        while email + "@example.com" in emails:
            email += str(rng.randint(0, 9))
        emails.add(email + "@example.com")
        city, country, _ = rng.choices(_CITIES, weights=city_weights)[0]
        # Sign-ups go back a year before the first order.
        signup = start - timedelta(days=365) + timedelta(days=rng.randrange(_DAYS + 300))
        customers.append(
            (customer_id, f"{first} {last.replace('-', ' ')}", email + "@example.com", city,
             country, _weighted(rng, _SEGMENTS), min(signup, today).isoformat())
        )
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", customers)

    products = []
    for category, items in _CATEGORIES.items():
        for name, price in items:
            products.append((len(products) + 1, name, category, price))
    conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", products)

    # A few loyal customers buy much more than the rest; popular products sell more.
    customer_weights = [rng.lognormvariate(0, 0.9) for _ in customers]
    product_weights = [rng.uniform(0.3, 3.0) / (price / 60) ** 0.4 for *_, price in products]
    signup_of = {c[0]: date.fromisoformat(c[6]) for c in customers}
    day_weights = []
    for offset in range(_DAYS):
        day = start + timedelta(days=offset)
        trend = 0.75 + 0.5 * offset / _DAYS  # the business grows
        season = {11: 1.35, 12: 1.7, 1: 0.8, 7: 1.1}.get(day.month, 1.0)
        weekend = 1.15 if day.weekday() >= 5 else 1.0
        day_weights.append(trend * season * weekend)
    order_days = sorted(rng.choices(range(_DAYS), weights=day_weights, k=_N_ORDERS))

    orders, items = [], []
    for order_id, offset in enumerate(order_days, start=1):
        day = start + timedelta(days=offset)
        customer_id = rng.choices(customers, weights=customer_weights)[0][0]
        if signup_of[customer_id] > day:  # nobody orders before signing up
            signup_of[customer_id] = day
        age = (today - day).days
        status = _weighted(
            rng,
            (("completed", 88), ("cancelled", 5), ("returned", 7))
            if age > 10
            else (("shipped", 70), ("completed", 25), ("cancelled", 5)),
        )
        orders.append(
            (order_id, customer_id, day.isoformat(), status,
             _weighted(rng, (("web", 68), ("store", 24), ("phone", 8))))
        )
        chosen = rng.choices(products, weights=product_weights, k=rng.choice((1, 1, 1, 2, 2, 3, 4)))
        for product in {p[0]: p for p in chosen}.values():
            quantity = rng.choices((1, 2, 3, 5), weights=(75, 16, 6, 3))[0]
            discount = rng.choices((0.0, 0.05, 0.1, 0.2), weights=(70, 12, 12, 6))[0]
            items.append((len(items) + 1, order_id, product[0], quantity, product[3], discount))
    conn.executemany(
        "UPDATE customers SET signup_date = ? WHERE customer_id = ?",
        [(d.isoformat(), cid) for cid, d in signup_of.items()],
    )
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", orders)
    conn.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)", items)


def ensure_sales_db(path: Path, today: date | None = None) -> Path:
    """Return ``path``, creating and seeding the sample sales database if it is missing.

    Args:
        path: The SQLite file.
        today: The date orders lead up to; today by default.
    """
    day = today or date.today()
    create_sqlite_atomically(Path(path), lambda conn: populate_sales(conn, day))
    return Path(path)
