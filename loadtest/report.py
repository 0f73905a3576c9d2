"""Read locust's ``--csv`` statistics and judge them against the load bar.

The bar (issue "Prove it holds"): zero failed requests, no error in the journeys themselves,
and a 95th percentile of at most ``--p95-ms`` (300) for page views. Logging in is not a page
view: its password hashing is deliberately slow. Usage:
``python loadtest/report.py PREFIX [--p95-ms 300]``; exits 1 when the run misses the bar, after
printing a table of every page and the throughput.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

NOT_PAGE_VIEWS = {"login (POST)", "/auth/login/"}


@dataclass
class Row:
    method: str
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    rps: float


@dataclass
class Report:
    rows: list[Row]
    total: Row
    page_p95_ms: float
    failures: list[str]
    # Errors in the journeys themselves (a task that raised): the run did not do what it says.
    exceptions: list[str]

    def passes(self, p95_ms: float) -> bool:
        return not self.total.failures and not self.exceptions and self.page_p95_ms <= p95_ms


def _number(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def _row(record: dict[str, str]) -> Row:
    return Row(
        method=record["Type"],
        name=record["Name"],
        requests=int(record["Request Count"]),
        failures=int(record["Failure Count"]),
        median_ms=_number(record["Median Response Time"]),
        p95_ms=_number(record["95%"]),
        rps=_number(record["Requests/s"]),
    )


def read(prefix: str | Path) -> Report:
    """The statistics of the run whose ``--csv`` prefix is ``prefix``.

    The page-view p95 is the worst p95 of any page, so every page meets the bar on its own.
    """
    prefix = Path(prefix)
    with open(f"{prefix}_stats.csv", newline="") as handle:
        records = [_row(record) for record in csv.DictReader(handle)]
    total = next(row for row in records if row.name == "Aggregated")
    rows = [row for row in records if row.name != "Aggregated"]
    pages = [row for row in rows if row.name not in NOT_PAGE_VIEWS and row.requests]
    page_p95 = max((row.p95_ms for row in pages), default=0.0)
    failures = []
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with open(failures_file, newline="") as handle:
            failures = [
                f"{record['Method']} {record['Name']}: {record['Error']} ×{record['Occurrences']}"
                for record in csv.DictReader(handle)
            ]
    exceptions = []
    exceptions_file = Path(f"{prefix}_exceptions.csv")
    if exceptions_file.exists():
        with open(exceptions_file, newline="") as handle:
            exceptions = [
                f"{record['Message']} ×{record['Count']}" for record in csv.DictReader(handle)
            ]
    return Report(
        rows=rows, total=total, page_p95_ms=page_p95, failures=failures, exceptions=exceptions
    )


def print_report(report: Report, p95_ms: float, out=sys.stdout) -> None:
    out.write(
        f"{'method':<6} {'page':<36} {'requests':>9} {'failed':>7} {'median':>7} {'p95':>7}\n"
    )
    for row in sorted(report.rows, key=lambda row: -row.p95_ms):
        out.write(
            f"{row.method:<6} {row.name[:36]:<36} {row.requests:>9} {row.failures:>7} "
            f"{row.median_ms:>7.0f} {row.p95_ms:>7.0f}\n"
        )
    total = report.total
    out.write(
        f"Total {total.requests} requests, {total.failures} failed, {total.rps:.1f} requests/s; "
        f"slowest page's p95 {report.page_p95_ms:.0f} ms (bar {p95_ms:.0f} ms): "
        f"{'ok' if report.passes(p95_ms) else 'MISSED'}\n"
    )
    for failure in report.failures:
        out.write(f"  failed: {failure}\n")
    for exception in report.exceptions:
        out.write(f"  error in a journey: {exception}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="The --csv prefix locust wrote.")
    parser.add_argument("--p95-ms", type=float, default=300.0)
    args = parser.parse_args()
    report = read(args.prefix)
    print_report(report, args.p95_ms)
    return 0 if report.passes(args.p95_ms) else 1


if __name__ == "__main__":
    sys.exit(main())
