"""Regenerate the demo's committed inputs (deterministic): input/orders.csv.gz, customers.xlsx.

    python examples/formats_demo/make_inputs.py

Orders: 3,000 rows; customers: 40 rows in one sheet (openpyxl, the ``excel`` extra).
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import random
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent / "input"
COUNTRIES = ["DE", "FR", "US", "GB", "JP"]
SEGMENTS = ["retail", "wholesale", "online"]
NAMES = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"]
NOTES = ["", "", "", "gift, wrapped", 'said "asap"', "Zürich depot"]
STATUSES = ["paid", "paid", "paid", "shipped", "refunded"]


def customers() -> list[tuple[str, str, str, str]]:
    rng = random.Random(1)
    return [
        (f"C{i:03d}", f"{rng.choice(NAMES)} {chr(65 + i % 26)}.", COUNTRIES[i % 5],
         rng.choice(SEGMENTS))
        for i in range(1, 41)
    ]  # fmt: skip


def orders(rows: int = 3000) -> str:
    rng = random.Random(2)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["order_id", "customer_id", "order_date", "quantity", "amount", "status",
                     "note"])  # fmt: skip
    start = datetime.date(2026, 1, 1)
    for order_id in range(1, rows + 1):
        writer.writerow([
            order_id,
            f"C{rng.randint(1, 40):03d}",
            (start + datetime.timedelta(days=rng.randrange(120))).isoformat(),
            rng.randint(1, 20),
            f"{rng.uniform(5, 500):.2f}",
            rng.choice(STATUSES),
            rng.choice(NOTES),
        ])  # fmt: skip
    return text.getvalue()


def main() -> None:
    # mtime 0 in the gzip header: the same bytes every time.
    with gzip.GzipFile(HERE / "orders.csv.gz", "wb", mtime=0) as raw:
        raw.write(orders().encode())
    book = Workbook()
    sheet = book.active
    sheet.title = "customers"
    sheet.append(["customer_id", "name", "country", "segment"])
    for row in customers():
        sheet.append(row)
    book.save(HERE / "customers.xlsx")


if __name__ == "__main__":
    main()
