"""Reads of the accounts app, scoped through :mod:`kam.access`."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import (
    Exists,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
)
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.filters import (
    AccountFilterSet,
    cached_for_query,
    with_kam_name,
)
from accounts.models import (
    Account,
    AccountStatus,
    AccountTeamMember,
    AccountType,
    BuyingRole,
    Competitor,
    Contact,
    ContactRole,
    Industry,
    Influence,
    PotentialYear,
    Region,
    Relationship,
    TeamRole,
)
from kam import access
from kam.models import User

# The columns of the account list's rows.
LIST_COLUMNS = (
    "pk",
    "name",
    "erp_number",
    "tier",
    "account_type",
    "status",
    "industry",
    "region",
    "country",
    "openable",
)


def account_filterset(*, user: User, data: QueryDict | None) -> AccountFilterSet:
    """All accounts for anyone who may read the list, filtered and sorted by ``data``.

    Each account carries ``openable`` (whether the user may open it). A page (through
    ``AccountListPaginator``) and an export cost a constant number of queries however many
    rows. Users who may not read the list get an empty result.
    """
    if not access.may_list_accounts(user):
        queryset = Account.objects.none()
    else:
        queryset = Account.objects.annotate(
            openable=(
                Value(True)
                if access.reads_all_accounts(user)
                else Exists(access.scope(user, Account.objects.filter(pk=OuterRef("pk"))))
            )
        )
    return AccountFilterSet(data, queryset=queryset.order_by("name", "pk"))


class CachedCountPaginator(Paginator):
    """Pages of a list of accounts whose count is cached per filter in the list cache
    (``accounts.filters.cached_for_query``): counting a filter over 100,000 accounts costs
    more than showing one page of it."""

    @cached_property
    def count(self) -> int:
        return cached_for_query("count", self.object_list, self.object_list.count)


class AccountListPaginator(CachedCountPaginator):
    """The account list's pages, each a list of dicts with ``LIST_COLUMNS`` and the key account
    manager's ``kam_first``, ``kam_last`` and ``kam_username`` (None without one).

    - The count is cached per filter in the list cache (see ``CachedCountPaginator``).
    - A page's accounts are found first and the manager joined for them alone (a unique
      constraint allows one per account): joined in the same query, PostgreSQL walks the name
      index through thousands of filtered-out rows rather than sort the few that match.
    - A page in the back half is found from the end, so the last page costs what the first
      does instead of an OFFSET over every row before it. The list's orders are total (they
      end in name, pk), so the reverse is exact.
    """

    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        accounts = self.object_list
        if bottom <= self.count // 2:
            keys = accounts[bottom:top]
        else:
            keys = accounts.reverse()[self.count - top : self.count - bottom]
        rows = with_kam_name(accounts.filter(pk__in=keys.values("pk"))).values(
            *LIST_COLUMNS,
            kam_first=F("kam_first_name"),
            kam_last=F("kam_last_name"),
            kam_username=F("kam_membership__user__username"),
        )
        return self._get_page(list(rows), number, self)


@functools.cache
def _choice_labels_in(language: str | None) -> dict[str, dict[str, str]]:
    return {
        "account_type": {k: str(v) for k, v in AccountType.choices},
        "status": {k: str(v) for k, v in AccountStatus.choices},
        "industry": {k: str(v) for k, v in Industry.choices},
        "region": {k: str(v) for k, v in Region.choices},
        "country": {code: str(name) for code, name in countries},
    }


def choice_labels() -> dict[str, dict[str, str]]:
    """The labels of the account list's coded columns in the active language.

    Resolved once per language: ``get_FOO_display`` per cell translated the same words a
    hundred times over and cost a third of the list's rendering time.
    """
    return _choice_labels_in(get_language())


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One row of the account list, in display texts; ``url`` is empty when the user may not
    open the account, ``kam`` when it has no key account manager."""

    pk: int
    name: str
    url: str
    erp_number: str
    tier: str
    account_type: str
    status: str
    kam: str
    industry: str
    region: str
    country: str


# A stand-in primary key: the detail URL is reversed once per page, not once per row.
_PK_MARKER = 987654321


def account_list_rows(page: Iterable[dict]) -> list[AccountRow]:
    """The rows of a page of ``AccountListPaginator``."""
    labels = choice_labels()
    types, statuses, industries = labels["account_type"], labels["status"], labels["industry"]
    regions, country_names = labels["region"], labels["country"]
    url_head, url_tail = reverse("accounts:account-detail", args=[_PK_MARKER]).split(
        str(_PK_MARKER)
    )
    return [
        AccountRow(
            pk=row["pk"],
            name=row["name"],
            url=f"{url_head}{row['pk']}{url_tail}" if row["openable"] else "",
            erp_number=row["erp_number"],
            tier=row["tier"],
            account_type=types.get(row["account_type"], row["account_type"]),
            status=statuses.get(row["status"], row["status"]),
            # As User.__str__ names a user: the full name, else the username.
            kam=f"{row['kam_first'] or ''} {row['kam_last'] or ''}".strip()
            or row["kam_username"]
            or "",
            industry=industries.get(row["industry"], row["industry"]),
            region=regions.get(row["region"], row["region"]),
            country=country_names.get(row["country"], row["country"]),
        )
        for row in page
    ]


def account_get(*, user: User, pk: int) -> Account:
    """One account the user may open, with its parent group; raises Http404 otherwise."""
    return access.get_for_user(user, Account.objects.select_related("parent"), pk=pk)


def accounts_of_user(*, user: User) -> QuerySet[Account]:
    """The accounts on whose team the user is, for the start page."""
    return Account.objects.filter(team_members__user=user).order_by("name")


STALE_RELATIONSHIP_DAYS = 90
CHAMPION_ATTITUDE = 4
HOSTILE_ATTITUDE = -3


class RedFlag(models.TextChoices):
    """Warning signs of a buying center, computed on the fly."""

    NO_DECIDER = "no_decider", _("No decider or approver known")
    UNCOVERED_DECISION_MAKER = (
        "uncovered",
        _("Decider or high-influence contact without a relationship"),
    )
    HOSTILE_INFLUENCER = "hostile", _("High-influence contact against us")
    NO_CHAMPION = "no_champion", _("No champion (attitude +4 or better)")
    STALE_RELATIONSHIPS = "stale", _("Relationships not touched for 90 days")
    SINGLE_POINT_OF_CONTACT = "single_point", _("Single point of contact")
    NO_KEY_ACCOUNT_MANAGER = "no_kam", _("Key account without a key account manager")


@dataclass
class ContactCard:
    """A contact of the buying center with what the pictures need, computed once."""

    contact: Contact
    roles: list[str]
    relationships: list[Relationship]
    flags: list[RedFlag]
    reports: list[ContactCard] = field(default_factory=list)

    @property
    def best_strength(self) -> int:
        return max((r.strength for r in self.relationships), default=0)


@dataclass
class Coverage:
    roles_present: int
    roles_covered: int
    high_influence: int
    high_influence_covered: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def role_share(self) -> float | None:
        return self._share(self.roles_covered, self.roles_present)

    @property
    def high_influence_share(self) -> float | None:
        return self._share(self.high_influence_covered, self.high_influence)


@dataclass
class BuyingCenter:
    account: Account
    cards: list[ContactCard]
    roots: list[ContactCard]
    departed: list[Contact]
    team: list[AccountTeamMember]
    flags: list[RedFlag]
    coverage: Coverage
    stale_relationships: list[Relationship]

    @property
    def key_account_manager(self) -> AccountTeamMember | None:
        return next((m for m in self.team if m.role == TeamRole.KEY_ACCOUNT_MANAGER), None)

    def matrix(self) -> list[tuple[AccountTeamMember, list[Relationship | None]]]:
        """Rows of our team, one cell per active contact: the relationship or None."""
        by_pair = {
            (r.user_id, card.contact.pk): r for card in self.cards for r in card.relationships
        }
        return [
            (member, [by_pair.get((member.user_id, card.contact.pk)) for card in self.cards])
            for member in self.team
        ]


def _contact_flags(card: ContactCard) -> list[RedFlag]:
    contact, flags = card.contact, []
    decision_maker = contact.influence == Influence.HIGH or {
        BuyingRole.DECIDER,
        BuyingRole.APPROVER,
    } & set(card.roles)
    if decision_maker and not card.relationships:
        flags.append(RedFlag.UNCOVERED_DECISION_MAKER)
    if contact.influence == Influence.HIGH and contact.attitude <= HOSTILE_ATTITUDE:
        flags.append(RedFlag.HOSTILE_INFLUENCER)
    return flags


def buying_center(*, account: Account, today: date | None = None) -> BuyingCenter:
    """The account's buying center with red flags, coverage and the org-chart tree.

    Reads a fixed number of queries whatever the number of contacts.
    """
    today = today or timezone.localdate()
    contacts = list(
        account.contacts.select_related("reports_to")
        .prefetch_related(
            "roles",
            "decision_factors",
            Prefetch("relationships", queryset=Relationship.objects.select_related("user")),
        )
        .order_by("last_name", "first_name", "pk")
    )
    team = list(
        account.team_members.select_related("user").order_by("role", "user__last_name", "pk")
    )
    active = [c for c in contacts if not c.has_left]
    cards = [
        ContactCard(
            contact=c,
            roles=[r.role for r in c.roles.all()],
            relationships=list(c.relationships.all()),
            flags=[],
        )
        for c in active
    ]
    for card in cards:
        card.flags = _contact_flags(card)

    by_pk = {card.contact.pk: card for card in cards}
    roots = []
    for card in cards:
        manager = by_pk.get(card.contact.reports_to_id)
        (manager.reports if manager else roots).append(card)

    stale_before = today - timedelta(days=STALE_RELATIONSHIP_DAYS)
    relationships = [r for card in cards for r in card.relationships]
    stale = [r for r in relationships if r.last_touched is None or r.last_touched < stale_before]
    roles_present = {role for card in cards for role in card.roles}
    roles_covered = {role for card in cards if card.relationships for role in card.roles}
    high = [card for card in cards if card.contact.influence == Influence.HIGH]

    flags = []
    if cards and not roles_present & {BuyingRole.DECIDER, BuyingRole.APPROVER}:
        flags.append(RedFlag.NO_DECIDER)
    if any(RedFlag.UNCOVERED_DECISION_MAKER in card.flags for card in cards):
        flags.append(RedFlag.UNCOVERED_DECISION_MAKER)
    if any(RedFlag.HOSTILE_INFLUENCER in card.flags for card in cards):
        flags.append(RedFlag.HOSTILE_INFLUENCER)
    if cards and not any(card.contact.attitude >= CHAMPION_ATTITUDE for card in cards):
        flags.append(RedFlag.NO_CHAMPION)
    if stale:
        flags.append(RedFlag.STALE_RELATIONSHIPS)
    if len({r.contact_id for r in relationships}) == 1 and len(cards) > 1:
        flags.append(RedFlag.SINGLE_POINT_OF_CONTACT)
    if account.is_key_account and not any(m.role == TeamRole.KEY_ACCOUNT_MANAGER for m in team):
        flags.append(RedFlag.NO_KEY_ACCOUNT_MANAGER)

    return BuyingCenter(
        account=account,
        cards=cards,
        roots=roots,
        departed=[c for c in contacts if c.has_left],
        team=team,
        flags=flags,
        coverage=Coverage(
            roles_present=len(roles_present),
            roles_covered=len(roles_covered),
            high_influence=len(high),
            high_influence_covered=sum(1 for card in high if card.relationships),
        ),
        stale_relationships=stale,
    )


def contact_get(*, user: User, pk: int) -> Contact:
    """A contact of an account the user may open; raises Http404 otherwise."""
    queryset = Contact.objects.select_related("account").prefetch_related("roles")
    return access.get_for_user(user, queryset, account_path="account", pk=pk)


def contact_get_editable(*, user: User, pk: int) -> Contact:
    """A contact the user may change: 404 out of scope, 403 when only readable."""
    queryset = Contact.objects.select_related("account").prefetch_related("roles")
    return access.get_editable_for_user(user, queryset, account_path="account", pk=pk)


def account_get_editable(*, user: User, pk: int) -> Account:
    """An account the user may change: 404 out of scope, 403 when only readable."""
    return access.get_editable_for_user(user, Account.objects.all(), pk=pk)


HISTORY_LIMIT = 100


@dataclass
class HistoryEntry:
    when: datetime
    who: User | None
    kind: str
    subject: str
    action: str
    changes: list[tuple[str, str, str]]


def _history_of(model_history, subject_of, base_filter, limit: int) -> list[HistoryEntry]:
    """Turn historical rows into entries with field diffs, comparing consecutive versions."""
    records = list(
        model_history.filter(**base_filter)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit * 4]
    )
    by_object: dict[int, list] = {}
    for record in reversed(records):
        by_object.setdefault(record.id, []).append(record)
    entries = []
    actions = {"+": _("created"), "~": _("changed"), "-": _("deleted")}
    for versions in by_object.values():
        previous = None
        for record in versions:
            changes = []
            if previous is not None and record.history_type == "~":
                delta = record.diff_against(previous, excluded_fields=["version", "updated_at"])
                for change in delta.changes:
                    model_field = record.instance_type._meta.get_field(change.field)
                    changes.append((str(model_field.verbose_name), change.old, change.new))
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=record.history_user,
                    kind=str(record.instance_type._meta.verbose_name),
                    subject=subject_of(record),
                    action=str(actions[record.history_type]),
                    changes=[(label, _plain(old), _plain(new)) for label, old, new in changes],
                )
            )
            previous = record
    return entries


def _plain(value) -> str:
    if value in (None, "", []):
        return "–"
    return str(value)


def account_history(*, account: Account, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """The latest changes to the account and everything on it, newest first."""
    contact_ids = list(
        Contact.history.filter(account_id=account.pk).values_list("id", flat=True).distinct()
    )
    names = {
        row["id"]: f"{row['first_name']} {row['last_name']}".strip()
        for row in Contact.history.filter(id__in=contact_ids)
        .order_by("id", "-history_date")
        .values("id", "first_name", "last_name")
    }
    entries = [
        *_history_of(Account.history, lambda r: r.name, {"id": account.pk}, limit),
        *_history_of(
            Contact.history, lambda r: names.get(r.id, ""), {"account_id": account.pk}, limit
        ),
        *_history_of(
            ContactRole.history,
            lambda r: f"{names.get(r.contact_id, '')}: {r.get_role_display()}",
            {"contact_id__in": contact_ids},
            limit,
        ),
        *_history_of(
            Relationship.history,
            lambda r: names.get(r.contact_id, ""),
            {"contact_id__in": contact_ids},
            limit,
        ),
        *_history_of(
            AccountTeamMember.history,
            lambda r: r.get_role_display(),
            {"account_id": account.pk},
            limit,
        ),
        *_history_of(
            PotentialYear.history, lambda r: str(r.year), {"account_id": account.pk}, limit
        ),
        *_history_of(Competitor.history, lambda r: r.name, {"account_id": account.pk}, limit),
    ]
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def relationships_seen(*, contact: Contact) -> str:
    """A digest of the contact's relationships as stored now. The relationship form carries
    the one the user started from, so a save over a relationship saved since is refused."""
    rows = (
        Relationship.objects.filter(contact=contact)
        .order_by("user_id")
        .values_list("user_id", "strength", "last_touched", "notes")
    )
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()[:32]
