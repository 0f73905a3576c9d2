"""The account values that criteria can test and score, read in bulk for many accounts.

A source key names one value per account: a built-in figure (``potential_revenue``) or a
custom attribute (``attribute:it_workplaces``). :class:`SourceValues` reads the values of a
whole segment with one query per family of sources and hands them to the scoring engine as
float arrays aligned with the accounts' ids, NaN where a value is unknown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from django.db import connection, connections, transaction
from django.db.models import FloatField, IntegerField, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Competitor, Contact, PotentialYear, Relationship
from selection.models import AccountAttribute, AccountAttributeValue, AttributeType

ATTRIBUTE_PREFIX = "attribute:"


@dataclass(frozen=True)
class Source:
    key: str
    label: str | Promise
    unit: str
    data_type: str = AttributeType.NUMBER

    @property
    def is_flag(self) -> bool:
        return self.data_type == AttributeType.YES_NO


BUILTIN_SOURCES: tuple[Source, ...] = (
    Source("potential_revenue", _("Revenue potential per year (potential analysis)"), "€"),
    Source("potential_margin", _("Contribution margin potential per year"), "€"),
    Source("potential_margin_rate", _("Achievable margin (% of revenue potential)"), "%"),
    Source("potential_growth", _("Growth of the revenue potential per year"), "%"),
    Source("addressable_potential", _("Addressable potential (not yet ours) per year"), "€"),
    Source("share_of_wallet", _("Share of wallet today"), "%"),
    Source("competitor_share", _("Competitors' estimated share"), "%"),
    Source("countries_of_operation", _("Countries of operation"), ""),
    Source("buying_center_size", _("People in the buying center"), ""),
    Source("relationship_coverage", _("Buying-center coverage by relationships"), "%"),
    Source("revenue_last_year", _("Revenue last year (annual figures)"), "€"),
    Source("margin_last_year", _("Contribution margin last year (annual figures)"), "€"),
    Source("revenue_growth", _("Revenue growth last year"), "%"),
    Source("revenue_attainment", _("Revenue target attainment last year"), "%"),
)
BUILTIN_KEYS = frozenset(source.key for source in BUILTIN_SOURCES)


def attribute_key(attribute: AccountAttribute) -> str:
    return f"{ATTRIBUTE_PREFIX}{attribute.key}"


def available_sources() -> list[Source]:
    """Every source a criterion may use: the built-ins, then leadership's attributes."""
    attributes = AccountAttribute.objects.order_by("name")
    return [
        *BUILTIN_SOURCES,
        *(Source(attribute_key(a), a.name, a.unit, a.data_type) for a in attributes),
    ]


def source_choices() -> list[tuple[str, str]]:
    return [(source.key, str(source.label)) for source in available_sources()]


def sources_by_key() -> dict[str, Source]:
    return {source.key: source for source in available_sources()}


def _rows(queryset: QuerySet) -> list[tuple]:
    """Fetch a values_list queryset as plain tuples, skipping Django's per-value conversion."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _float(value) -> float:
    return np.nan if value is None else float(value)


def _as_float(expression: str) -> Cast:
    """Read a decimal column as float8: psycopg then skips building a Decimal per value."""
    return Cast(expression, FloatField())


def _matrix(rows: list[tuple], columns: int) -> np.ndarray:
    """Rows of numbers (None → NaN) as a float matrix of shape (len(rows), columns)."""
    if not rows:
        return np.empty((0, columns))
    return np.array(rows, dtype=np.float64)


CONTACT_KEYS = frozenset({"buying_center_size", "relationship_coverage"})


@contextmanager
def _fast_reads() -> Iterator[None]:
    """A transaction for the big reads; on PostgreSQL without JIT, which compiles these few
    large aggregations for longer than they run (about half a second each)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


class _Background(threading.Thread):
    """Runs ``work`` in its own database connection; :meth:`finish` waits and re-raises."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work, self.error = work, None
        self.start()

    def run(self) -> None:
        try:
            with _fast_reads():
                self.work()
        except BaseException as exc:  # handed to the waiting thread by finish()
            self.error = exc
        finally:
            connections.close_all()

    def finish(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


class SourceValues:
    """The values of a segment of accounts, read lazily one family of sources at a time.

    ``ids`` holds the accounts' primary keys in ascending order; every array that
    :meth:`array` returns is aligned with it.
    """

    def __init__(self, accounts: QuerySet[Account]) -> None:
        self.accounts = accounts.order_by()
        # Every account when the queryset has no condition: the reads below then skip the
        # "account in segment" semi-join.
        self.is_everything = not self.accounts.query.where
        data = _matrix(
            _rows(
                self.accounts.order_by("pk").values_list(
                    "pk", "tier_rank", _as_float("share_of_wallet")
                )
            ),
            3,
        )
        self.ids = data[:, 0].astype(np.int64)
        self.tier_ranks = np.nan_to_num(data[:, 1]).astype(np.int16)
        self._share_of_wallet = data[:, 2]
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def _scatter(self, pairs: Iterable[tuple[int, object]] | np.ndarray) -> np.ndarray:
        """An array aligned with ``ids`` from (account id, value) pairs; NaN where missing."""
        data = pairs if isinstance(pairs, np.ndarray) else _matrix(list(pairs), 2)
        out = np.full(len(self.ids), np.nan)
        if not len(data):
            return out
        keys, values = data[:, 0].astype(np.int64), data[:, 1]
        positions = np.searchsorted(self.ids, keys)
        positions = np.clip(positions, 0, max(len(self.ids) - 1, 0))
        found = self.ids[positions] == keys
        out[positions[found]] = values[found]
        return out

    def _in_segment(self, queryset: QuerySet, path: str = "account_id") -> QuerySet:
        if self.is_everything:
            return queryset
        return queryset.filter(**{f"{path}__in": self.accounts.values("pk")})

    @cached_property
    def _potential(self) -> dict[str, np.ndarray]:
        """The potential-analysis figures, from one ordered read of the potential years."""
        rows = _rows(
            self._in_segment(PotentialYear.objects.all())
            .order_by("account_id", "year")
            .values_list(
                "account_id", "year", _as_float("expected_revenue"), _as_float("expected_margin")
            )
        )
        n = len(self.ids)
        result = {key: np.full(n, np.nan) for key in ("revenue", "margin", "rate", "growth")}
        if not rows:
            return result
        data = _matrix(rows, 4)
        accounts, years, revenue, margin = data.T
        starts = np.flatnonzero(np.r_[True, accounts[1:] != accounts[:-1]])
        ends = np.r_[starts[1:], len(accounts)] - 1
        counts = ends - starts + 1
        revenue_sum = np.add.reduceat(np.nan_to_num(revenue), starts)
        margin_known = ~np.isnan(margin)
        margin_sum = np.add.reduceat(np.where(margin_known, margin, 0), starts)
        margin_count = np.add.reduceat(margin_known.astype(np.int64), starts)
        first, last = revenue[starts], revenue[ends]
        span = years[ends] - years[starts]
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where(
                (span > 0) & (first > 0), ((last / first) ** (1 / span) - 1) * 100, np.nan
            )
            rate = np.where(
                (margin_count > 0) & (revenue_sum > 0), margin_sum / revenue_sum * 100, np.nan
            )
            margin_avg = np.where(margin_count > 0, margin_sum / margin_count, np.nan)
        positions = np.searchsorted(self.ids, accounts[starts].astype(np.int64))
        for key, values in (
            ("revenue", revenue_sum / counts),
            ("margin", margin_avg),
            ("rate", rate),
            ("growth", growth),
        ):
            result[key][positions] = values
        return result

    def _builtin(self, key: str) -> np.ndarray:
        readers: dict[str, Callable[[], np.ndarray]] = {
            "potential_revenue": lambda: self._potential["revenue"],
            "potential_margin": lambda: self._potential["margin"],
            "potential_margin_rate": lambda: self._potential["rate"],
            "potential_growth": lambda: self._potential["growth"],
            "addressable_potential": lambda: (
                self._potential["revenue"] * (100 - np.nan_to_num(self._share_of_wallet)) / 100
            ),
            "share_of_wallet": lambda: self._share_of_wallet,
            "competitor_share": self._competitor_share,
            "countries_of_operation": self._countries,
            "buying_center_size": self._buying_center_size,
            "relationship_coverage": self._relationship_coverage,
            "revenue_last_year": lambda: self._last_year["revenue"],
            "margin_last_year": lambda: self._last_year["margin"],
            "revenue_growth": lambda: self._last_year["growth"],
            "revenue_attainment": lambda: self._last_year["attainment"],
        }
        return readers[key]()

    @cached_property
    def _last_year(self) -> dict[str, np.ndarray]:
        """The KPI figures of the year before the current one (what the annual refresh has
        just closed): revenue, contribution margin, growth and target attainment (%)."""
        from kpis.models import AccountKpi

        rows = _rows(
            self._in_segment(AccountKpi.objects.filter(year=timezone.localdate().year - 1))
            .order_by()
            .values_list(
                "account_id",
                _as_float("revenue"),
                _as_float("contribution_margin"),
                _as_float("revenue_prior"),
                _as_float("revenue_target"),
            )
        )
        data = _matrix(rows, 5)
        revenue, margin, prior, target = (self._scatter(data[:, [0, i]]) for i in range(1, 5))
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where(prior > 0, (revenue - prior) / prior * 100, np.nan)
            attainment = np.where(target > 0, revenue / target * 100, np.nan)
        return {"revenue": revenue, "margin": margin, "growth": growth, "attainment": attainment}

    def _competitor_share(self) -> np.ndarray:
        return self._scatter(
            _rows(
                self._in_segment(Competitor.objects.all())
                .order_by()
                .values("account_id")
                .annotate(share=_as_float(Sum("estimated_share")))
                .values_list("account_id", "share")
            )
        )

    def _countries(self) -> np.ndarray:
        # Stored as a comma-separated list; an empty list counts 0, not unknown.
        rows = _rows(self.accounts.values_list("pk", "countries_of_operation"))
        return self._scatter(
            (pk, len([c for c in (text or "").split(",") if c])) for pk, text in rows
        )

    @cached_property
    def _contacts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per account: current contacts, and the share of them (%) we have a relationship with.

        People who have left count for neither, as on the buying-center page. One grouped read
        over the contacts joined to the (distinct) contacts that have a relationship.
        """
        contacts = self._in_segment(Contact.objects.filter(has_left=False))
        sql, params = contacts.values("id", "account_id").query.sql_with_params()
        quote = connection.ops.quote_name
        relationships = quote(Relationship._meta.db_table)
        with connection.cursor() as cursor:
            # The inner SQL is the ORM's with its own parameters; the table name is quoted.
            select = "SELECT c.account_id, COUNT(*), COUNT(r.contact_id)"
            covered = f"(SELECT DISTINCT contact_id FROM {relationships}) r"  # noqa: S608  # nosec B608 # identifiers from model metadata; values are query parameters
            query = f"{select} FROM ({sql}) c LEFT JOIN {covered} ON r.contact_id = c.id"
            cursor.execute(f"{query} GROUP BY c.account_id", params)
            data = _matrix(cursor.fetchall(), 3)
        size = np.nan_to_num(self._scatter(data[:, [0, 1]]))
        with np.errstate(divide="ignore", invalid="ignore"):
            covered = self._scatter(np.column_stack([data[:, 0], data[:, 2] / data[:, 1] * 100]))
        return size, covered

    def _buying_center_size(self) -> np.ndarray:
        return self._contacts[0]

    def _relationship_coverage(self) -> np.ndarray:
        return self._contacts[1]

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the custom attributes among ``keys`` with one query (values as float, yes = 1)."""
        slugs = {
            key.removeprefix(ATTRIBUTE_PREFIX)
            for key in keys
            if key.startswith(ATTRIBUTE_PREFIX) and key not in self._cache
        }
        if not slugs:
            return
        ids = dict(AccountAttribute.objects.filter(key__in=slugs).values_list("pk", "key"))
        rows = _rows(
            self._in_segment(AccountAttributeValue.objects.filter(attribute_id__in=ids))
            .order_by()
            .values_list(
                "attribute_id",
                "account_id",
                Coalesce(
                    _as_float("number"), Cast("flag", IntegerField()), output_field=FloatField()
                ),
            )
        )
        data = _matrix(rows, 3)
        for slug in slugs:
            self._cache[f"{ATTRIBUTE_PREFIX}{slug}"] = np.full(len(self.ids), np.nan)
        for pk, slug in ids.items():
            self._cache[f"{ATTRIBUTE_PREFIX}{slug}"] = self._scatter(data[data[:, 0] == pk][:, 1:])

    def read(self, keys: Iterable[str]) -> None:
        """Read the values of every key now, as fast as the database allows.

        On PostgreSQL outside a transaction, the buying-center figures (the slowest read: every
        contact against every relationship) come through a second connection while this one
        reads the rest. Inside a transaction a second connection would not see its uncommitted
        rows, so everything is read here, one after the other.
        """
        keys = list(dict.fromkeys(keys))
        background = None
        if (
            connection.vendor == "postgresql"
            and not connection.in_atomic_block
            and CONTACT_KEYS.intersection(keys)
        ):
            background = _Background(lambda: self._contacts)
        with _fast_reads():
            self.prefetch(keys)
            for key in keys:
                if background is None or key not in CONTACT_KEYS:
                    self.array(key)
        if background is not None:
            background.finish()
        for key in keys:
            self.array(key)

    def array(self, key: str) -> np.ndarray:
        """The values of ``key`` aligned with ``ids``. Raises KeyError for an unknown key."""
        if key not in self._cache:
            if key.startswith(ATTRIBUTE_PREFIX):
                self.prefetch([key])
            elif key in BUILTIN_KEYS:
                self._cache[key] = self._builtin(key)
            else:
                raise KeyError(key)
        return self._cache[key]
