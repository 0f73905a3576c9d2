"""Exports never carry a spreadsheet formula: every cell of every CSV and XLSX download is inert.

Text people typed (account names, ERP numbers, people's names, invoice numbers) reaches the
downloads; a cell a spreadsheet would evaluate (OWASP: CSV injection) must start with ``'``.
"""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse
from openpyxl import load_workbook

from kam.exports import csv_lines, xlsx_file
from tests.factories import AccountFactory
from tests.payments.factories import InvoiceFactory
from tests.selection.conftest import (  # noqa: F401 - fixtures
    approved_run,
    ready_run,
    released_version,
    workplaces,
)

PAYLOADS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    ' =HYPERLINK("http://evil.example")',
    "\u00a0=1+1",
    "\x01=1+1",
    "\uff1d1+1",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(A1)",
    "\u3000=1+1",
]
TRIGGERS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NUMBER = re.compile(r"^-?\d+([.,]\d+)?%?$")
# Exports the views below cover; a new export URL must be added here (and to the test).
EXPORT_URL_NAMES = {
    "accounts:account-export",
    "kpis:dashboard-export",
    "kpis:figure-export",
    "payments:escalation-export",
    "selection:tier-list-export",
    "selection:run-export",
}


def live(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    if NUMBER.match(text.strip()):
        return False
    visible = text.lstrip("".join(map(chr, range(33))) + "\u00a0\u3000")
    return visible.startswith(TRIGGERS) and not text.startswith("'")


def csv_cells(content: bytes) -> list[str]:
    text = content.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]


def xlsx_cells(content: bytes) -> list:
    workbook = load_workbook(io.BytesIO(content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    return [cell.value for cell in cells if isinstance(cell.value, str)]


def assert_inert(cells: list[str]) -> None:
    assert [cell for cell in cells if live(cell)] == []


def test_the_helpers_neutralise_every_formula_start():
    rows = [["Name", "Amount"], *([payload, Decimal("-5")] for payload in PAYLOADS)]
    assert_inert(csv_cells(b"".join(csv_lines(rows))))
    with xlsx_file(rows, title="t", widths=[10, 10]) as file:
        cells = xlsx_cells(file.read())
    assert_inert(cells)
    assert len([cell for cell in cells if cell.startswith("'")]) == len(PAYLOADS)


def test_the_check_catches_a_live_formula():
    assert all(live(text) for text in ("=1+1", " +1", "\uff1d1", "\x01@A1"))
    assert not any(live(text) for text in ("'=1+1", "-5,00", "Muster GmbH"))


def export_url_names() -> set[str]:
    names = set()
    for namespace, (_prefix, resolver) in get_resolver().namespace_dict.items():
        names |= {
            f"{namespace}:{name}"
            for name in resolver.reverse_dict
            if isinstance(name, str) and name.endswith("-export")
        }
    return names


def test_every_export_url_is_covered():
    assert {n for n in export_url_names() if n.split(":")[0] != "plans"} == EXPORT_URL_NAMES


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_export_view_is_inert(client, cast, request, fmt):
    run = request.getfixturevalue("approved_run")
    for index, payload in enumerate(PAYLOADS):
        account = cast.account if index == 0 else cast.other_account
        if index > 1:
            account = AccountFactory(name=payload, erp_number=f"{payload[:10]}{index}")
        else:
            account.name = payload
            account.save(update_fields=["name"])
        InvoiceFactory(account=account, number=f"{payload}{index}")
    cast.kam.first_name, cast.kam.last_name = "=cmd|' /C calc'!A0", "@SUM(1)"
    cast.kam.save(update_fields=["first_name", "last_name"])
    client.force_login(cast.admin)
    urls = [
        reverse("accounts:account-export", args=[fmt]),
        reverse("kpis:figure-export", args=[cast.account.pk, fmt]),
        reverse("payments:escalation-export", args=[fmt]),
        reverse("selection:tier-list-export", args=[fmt]),
        reverse("selection:run-export", args=[run.pk, fmt]),
        *(
            reverse("kpis:dashboard-export", args=[table, fmt])
            for table in ("kpis", "tiers", "regions", "industries", "managers", "off-target")
        ),
    ]
    seen = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        content = b"".join(response.streaming_content) if response.streaming else response.content
        cells = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
        assert_inert(cells)
        seen += cells
    # The payloads did reach the downloads, so the check above checked them.
    assert "'=1+1" in seen
    assert "'\uff1d1+1" in seen
