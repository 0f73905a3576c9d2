"""The account list's filters and sorting, and the cache behind its choice lists and counts.

The list sits on every user's path and on 100,000 accounts, so what it would otherwise read on
each view (the tiers, key account managers and groups in use, the number of matching accounts)
is cached under a generation token that changes whenever an account, a team membership or a
user is saved or deleted in this process. Other processes' writes (and ``update()`` or COPY,
which send no signals) show after ``LIST_CACHE_TIMEOUT`` seconds at the latest.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import django_filters
from django import forms
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models import Exists, F, FilteredRelation, Min, OuterRef, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils.choices import BaseChoiceIterator
from django.utils.text import format_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models import (
    Account,
    AccountStatus,
    AccountTeamMember,
    AccountType,
    Industry,
    PartnershipStrategy,
    Region,
    TeamRole,
)
from kam.models import User
from kam.widgets import FastSelect

# Sort parameter → (label, order_by fields). The first field is the column itself; the rest
# break ties so that pages never overlap.
SORT_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": (_("Name"), ("name",)),
    "erp_number": (_("ERP customer number"), ("erp_number",)),
    "tier": (_("Tier"), ("tier_rank", "tier")),
    "account_type": (_("Account type"), ("account_type",)),
    "status": (_("Status"), ("status",)),
    "kam": (_("Key account manager"), ("kam_last_name", "kam_first_name")),
    "industry": (_("Industry"), ("industry",)),
    "region": (_("Region"), ("region",)),
    "country": (_("Country"), ("country",)),
}


LIST_CACHE_TIMEOUT = 60  # seconds
_GENERATION_KEY = "accounts:list:generation"

Choices = list[tuple[str, str]]
T = TypeVar("T")


def list_cache_generation() -> str:
    """The token under which the account list's choices and counts are cached."""
    return cache.get_or_set(_GENERATION_KEY, lambda: uuid.uuid4().hex, timeout=None)


def cached_in_generation(
    prefix: str, key: object, compute: Callable[[], T], *, timeout: int = LIST_CACHE_TIMEOUT
) -> T:
    """``compute()``, kept ``timeout`` seconds per ``key`` under the account list's cache
    generation: a write to accounts or teams starts a new generation, so such changes show at
    once; other changes show after ``timeout`` seconds at the latest."""
    digest = hashlib.sha256(repr(key).encode()).hexdigest()
    cache_key = f"{prefix}:{list_cache_generation()}:{digest}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, timeout)
    return value


def cached_for_query(name: str, queryset: QuerySet, build: Callable[[], T]) -> T:
    """``build()`` (a count or sums over ``queryset``) from the list cache, keyed by the
    query's SQL, so another filter is another entry (see :func:`cached_in_generation`)."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:
        return build()
    return cached_in_generation(f"accounts:list:{name}", (sql, params), build)


def renew_list_cache(*, update_fields: frozenset[str] | None = None, **kwargs: object) -> None:
    """Start a new generation: the list reads its choices and counts afresh. Bulk writers
    that bypass signals (the selection's approval) call it once they have committed.

    A login's save of ``last_login`` starts none: the list shows no such thing, and a login
    must neither empty everyone's list cache nor need Redis (a 503 while Redis is down)."""
    if update_fields is not None and update_fields <= {"last_login"}:
        return
    cache.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def renew_list_cache_on_writes() -> None:
    """Connect :func:`renew_list_cache` to saves and deletes (AccountsConfig.ready)."""
    for model in (Account, AccountTeamMember, User):
        for signal in (post_save, post_delete):
            signal.connect(
                renew_list_cache,
                sender=model,
                dispatch_uid=f"accounts-list-cache-{model._meta.label_lower}",
            )


def cached_choices_for(
    name: str, queryset: QuerySet, build: Callable[[QuerySet], Choices], *, value: str | None
) -> Choices:
    """``build(queryset)``'s choices from the list cache per ``queryset`` (keyed by its SQL),
    for choices read from the rows a user may see, such as the managers of their plans; see
    :func:`cached_choices`."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # the user may see no rows: nothing to read or keep
        return build(queryset)
    digest = hashlib.sha256(repr((sql, params)).encode()).hexdigest()[:24]
    return cached_choices(f"{name}:{digest}", lambda: build(queryset), value=value)


def cached_choices(name: str, build: Callable[[], Choices], *, value: str | None) -> Choices:
    """``build()``'s choices from the list cache; built afresh when ``value`` is not among them,
    so a tier or manager that another process added a moment ago filters at once."""
    key = f"accounts:list:choices:{name}:{list_cache_generation()}"
    choices = cache.get(key)
    if choices is None or (value and all(value != code for code, _label in choices)):
        choices = build()
        cache.set(key, choices, LIST_CACHE_TIMEOUT)
    return choices


class _PlainChoices(BaseChoiceIterator):
    """Choices that are pairs of strings already, read from ``build`` whenever iterated.

    A list would be deep-copied twice per request (with the filters, then with the form's
    fields) and normalised by Django on each pass; a country list has 250 entries.
    """

    def __init__(self, build: Callable[[], Choices]) -> None:
        self.build = build

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.build())

    def __len__(self) -> int:
        return len(self.build())

    def __deepcopy__(self, memo: dict) -> _PlainChoices:
        return self  # nothing in it changes


def _constant(choices: Choices) -> _PlainChoices:
    return _PlainChoices(lambda: choices)


def _per_language(build: Callable[[], Choices]) -> _PlainChoices:
    """``build()``'s choices, built once per language: their labels are translated."""
    built: dict[str | None, Choices] = {}

    def choices() -> Choices:
        language = get_language()
        if language not in built:
            built[language] = build()
        return built[language]

    return _PlainChoices(choices)


def _labels_of(choices_class: type[models.TextChoices]) -> _PlainChoices:
    return _per_language(lambda: [(value, str(label)) for value, label in choices_class.choices])


def _sort_choices() -> Choices:
    choices = []
    for param, (label, _fields) in SORT_COLUMNS.items():
        choices.append((param, str(label)))
        choices.append((f"-{param}", str(format_lazy(_("{label} (descending)"), label=label))))
    return choices


def _country_choices() -> Choices:
    """All countries, named and ordered in the active language."""
    return [(code, str(name)) for code, name in countries]


def _tier_choices() -> Choices:
    """The tiers in use, best rank first (tiers are named by the selection app, not a fixed set)."""
    tiers = (
        Account.objects.exclude(tier="")
        .values("tier")
        .annotate(rank=Min("tier_rank"))
        .order_by(F("rank").asc(nulls_last=True), "tier")
    )
    return [(row["tier"], row["tier"]) for row in tiers]


def with_kam_name(queryset: QuerySet[Account]) -> QuerySet[Account]:
    """Alias ``kam_first_name``/``kam_last_name``: one LEFT JOIN, only for those who need it.

    A unique constraint allows one key account manager per account, so rows never multiply.
    """
    return queryset.alias(
        kam_membership=FilteredRelation(
            "team_members", condition=Q(team_members__role=TeamRole.KEY_ACCOUNT_MANAGER)
        ),
        kam_first_name=F("kam_membership__user__first_name"),
        kam_last_name=F("kam_membership__user__last_name"),
    )


def kam_choices() -> Choices:
    """Users who manage at least one account (an index lookup per user, not a team scan)."""
    managers = User.objects.filter(
        Exists(
            AccountTeamMember.objects.filter(user=OuterRef("pk"), role=TeamRole.KEY_ACCOUNT_MANAGER)
        )
    ).order_by("last_name", "first_name", "pk")
    return [
        (str(pk), f"{first} {last}".strip() or username)
        for pk, first, last, username in managers.values_list(
            "pk", "first_name", "last_name", "username"
        )
    ]


def _group_choices() -> Choices:
    """Accounts that head a group: the partial index on parent_id finds the few there are."""
    heads = Account.objects.filter(
        pk__in=Account.objects.filter(parent__isnull=False).values("parent_id")
    ).order_by("name", "pk")
    return [(str(pk), name) for pk, name in heads.values_list("pk", "name")]


class AccountOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen columns, empty values last on every database, then by name and pk."""

    def filter(self, qs: QuerySet[Account], value: list[str] | None) -> QuerySet[Account]:
        if not value:
            return qs
        ordering = []
        if any(param.removeprefix("-") == "kam" for param in value):
            qs = with_kam_name(qs)
        for param in value:
            descending = param.startswith("-")
            _label, fields = SORT_COLUMNS[param.removeprefix("-")]
            for field in fields:
                expression = F(field)
                ordering.append(
                    expression.desc(nulls_last=True)
                    if descending
                    else expression.asc(nulls_last=True)
                )
        return qs.order_by(*ordering, "name", "pk")


class AccountFilterSet(django_filters.FilterSet):
    """Filters and sorting of the account list; the URL's query string carries all of them.

    ``more_filters`` names the filters the form folds away until one of them is in use.
    """

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.SearchInput(attrs={"placeholder": _("Name or ERP customer number")}),
    )
    tier = django_filters.ChoiceFilter(label=_("Tier"), empty_label=_("All"))
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=_labels_of(AccountStatus), empty_label=_("All")
    )
    kam = django_filters.ChoiceFilter(
        label=_("Key account manager"), method="filter_kam", empty_label=_("All")
    )
    account_type = django_filters.ChoiceFilter(
        label=_("Account type"), choices=_labels_of(AccountType), empty_label=_("All")
    )
    industry = django_filters.ChoiceFilter(
        label=_("Industry"), choices=_labels_of(Industry), empty_label=_("All")
    )
    region = django_filters.ChoiceFilter(
        label=_("Region"), choices=_labels_of(Region), empty_label=_("All")
    )
    country = django_filters.ChoiceFilter(
        label=_("Country"), choices=_per_language(_country_choices), empty_label=_("All")
    )
    strategy = django_filters.ChoiceFilter(
        label=_("Partnership strategy"),
        choices=_labels_of(PartnershipStrategy),
        empty_label=_("All"),
    )
    parent = django_filters.ChoiceFilter(
        label=_("Group"), method="filter_group", empty_label=_("All")
    )
    sort = AccountOrderingFilter(
        label=_("Sort by"),
        fields=[(param, param) for param in SORT_COLUMNS],
        choices=_per_language(_sort_choices),
        empty_label=_("Default (by name)"),
    )

    more_filters = ("account_type", "industry", "region", "country", "strategy", "parent", "sort")

    class Meta:
        model = Account
        fields = (
            "q",
            "tier",
            "status",
            "kam",
            "account_type",
            "industry",
            "region",
            "country",
            "strategy",
            "parent",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Tiers change with each approved selection, managers and groups with the teams and
        # accounts: read through the list cache. Plain choices rather than ModelChoiceFilter:
        # Django reads model choices through a server-side cursor, three round trips each.
        for name, build in (
            ("tier", _tier_choices),
            ("kam", kam_choices),
            ("parent", _group_choices),
        ):
            choices = cached_choices(name, build, value=self.data.get(name))
            self.filters[name].extra["choices"] = _constant(choices)
        for filter_ in self.filters.values():
            if isinstance(
                filter_, django_filters.ChoiceFilter | django_filters.ModelChoiceFilter
            ) and not isinstance(filter_, django_filters.OrderingFilter):
                filter_.extra["widget"] = FastSelect

    @property
    def more_filters_active(self) -> bool:
        """Whether a folded-away filter (not merely the sort order) is set."""
        return any(
            self.data.get(name)
            for name in self.more_filters
            if not isinstance(self.filters[name], django_filters.OrderingFilter)
        )

    def filter_search(
        self, queryset: QuerySet[Account], name: str, value: str
    ) -> QuerySet[Account]:
        # Both sides are indexed on PostgreSQL (migration 0002): a trigram index on
        # UPPER(name) for the fragment and a btree index on UPPER(erp_number) for the number.
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(erp_number__iexact=value))

    def filter_kam(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        managed = AccountTeamMember.objects.filter(
            account=OuterRef("pk"), user_id=value, role=TeamRole.KEY_ACCOUNT_MANAGER
        )
        return queryset.filter(Exists(managed))

    def filter_group(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        """The group's parent account and all its members."""
        return queryset.filter(Q(parent_id=value) | Q(pk=value))
