"""Two people open the same edit form, one saves, then the other: the second is told someone
else saved (the form comes back with their input) and the first one's value stays.

``CASES`` holds one case per form that changes a row someone else may be changing too:
accounts, their potential years and competitors, contacts and their decision factors,
relationships, attribute definitions and values, criteria drafts, tier overrides, the portfolio
weights, plan sections and items, figures, import mappings, escalation steps, invoices and the
escalation policy. The pages are read and posted like a browser does, hidden counters and all.
``test_every_url_that_changes_rows_has_a_case`` fails when a URL that takes a POST has neither a
case nor a reason in ``NOT_EDITS``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve, reverse

from accounts.models import (
    Account,
    Competitor,
    Contact,
    ContactDecisionFactor,
    DecisionFactor,
    PotentialYear,
    Relationship,
)
from conftest import Cast
from kam.models import User
from kam.roles import Role
from kam.services import job_execute
from kpis.models import AnnualFigure, ImportBatch
from payments.models import Escalation, EscalationPolicy, Invoice
from payments.models import EscalationAction as A
from plans import services as plan_services
from plans.models import Plan, PlanItem
from selection import services as selection_services
from selection.models import (
    AccountAttribute,
    AccountAttributeValue,
    AttributeType,
    CriteriaVersion,
    KnockoutCriterion,
    PortfolioSettings,
    ScoredCriterion,
    TierOverride,
)
from tests.factories import UserFactory
from tests.kpis.test_import_services import csv_bytes, upload
from tests.payments.factories import InvoiceFactory
from tests.payments.test_views import open_escalation
from tests.plans.conftest import contact, plan  # noqa: F401 - fixtures
from tests.security._urls import url_patterns

pytestmark = pytest.mark.django_db

FIGURE_YEAR = 2025

# What each kind of form says when it refuses the second save.
SAVED_A_CHANGE = "Someone else saved a change after you opened this form."
MERGE = "Nothing of yours has been saved yet, and nothing is lost"
DRAFT = "Someone else changed this draft after you opened it."


class _Forms(HTMLParser):
    """The page's forms as a browser would submit them: (action, [(name, value), …])."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._select: str | None = None
        self._multiple = False
        self._selected: list[str] = []
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), []))
        elif not self.forms or "name" not in a:
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1][1].append(
                (a["name"], a.get("value", "on" if kind == "checkbox" else ""))
            )
        elif tag == "select":
            self._select, self._selected, self._first_option = a["name"], [], None
            self._multiple = "multiple" in a
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def _option(self, a: dict[str, str]) -> None:
        if self._first_option is None:
            self._first_option = a.get("value", "")
        if "selected" in a:
            self._selected.append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            # A single select without a selected option sends its first; a multiple one nothing.
            first = [] if self._multiple or self._first_option is None else [self._first_option]
            chosen = self._selected or first
            self.forms[-1][1].extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline that follows <textarea>.
            self.forms[-1][1].append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def _form(client: Client, page: str, action: str, pick: dict[str, str]) -> dict[str, list[str]]:
    response = client.get(page, headers={"accept-language": "en"})
    assert response.status_code == 200, page
    parser = _Forms()
    parser.feed(response.content.decode())
    for form_action, fields in parser.forms:
        data: dict[str, list[str]] = {}
        for name, value in fields:
            data.setdefault(name, []).append(value)
        if (form_action or page) == action and all(
            value in data.get(name, []) for name, value in pick.items()
        ):
            return data
    raise AssertionError(f"No form posting to {action} with {pick} on {page}")


@dataclass
class World:
    """The cast, a draft plan (tests/plans/conftest.py) and what a case's ``setup`` made."""

    cast: Cast
    plan: Plan
    made: dict[str, Any] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return getattr(self.cast, name, None) or self.made[name]


@dataclass
class Case:
    """An edit form: the URL name it posts to and its arguments, the page holding it when that
    is another URL (same arguments), the field two people change and how to read it back."""

    url: str
    args: Callable[[World], list[Any]]
    field: str  # may name what ``setup`` made: "value_{attribute.pk}"
    read: Callable[[World], object]
    setup: Callable[[World], None] = lambda w: None
    page: str | None = None
    told: str = SAVED_A_CHANGE
    users: tuple[str, str] = ("kam", "team_member")
    pick: dict[str, str] | None = None
    fill: Callable[[World], dict[str, list[str]]] = lambda w: {}  # what both choose alike
    values: tuple[list[str], list[str]] = (
        ["Saved first by one person"],
        ["Saved second by another person"],
    )


def _account(w: World) -> list[Any]:
    return [w.cast.account.pk]


def _contact(w: World) -> Contact:
    return Contact.objects.get(account=w.cast.account)


def _made(*names: str) -> Callable[[World], list[Any]]:
    return lambda w: [w.made[name].pk for name in names]


def _attribute_value(w: World) -> None:
    w.made["attribute"] = AccountAttribute.objects.create(
        key="it_workplaces", name="IT workplaces", data_type=AttributeType.NUMBER
    )
    selection_services.attribute_value_set(
        account=w.cast.account,
        attribute=w.made["attribute"],
        number=Decimal(1000),
        user=w.cast.leadership,
    )


def _attribute(w: World) -> None:
    w.made["attribute"] = AccountAttribute.objects.create(
        key="it_workplaces", name="IT workplaces", data_type=AttributeType.NUMBER
    )


def _draft(w: World) -> None:
    """A criteria set's first draft with a K.O. criterion and a scored criterion."""
    criteria_set = selection_services.criteria_set_create(
        name="Key accounts", user=w.cast.leadership
    )
    draft = w.made["draft"] = criteria_set.versions.get()
    w.made["knockout"] = selection_services.knockout_save(
        version=draft,
        revision=draft.revision,
        name="Revenue potential over 1,000",
        group=1,
        source="potential_revenue",
        operator="gt",
        threshold=Decimal(1000),
    )
    w.made["criterion"] = selection_services.criterion_save(
        version=draft,
        revision=draft.revision,
        name="Revenue potential",
        source="potential_revenue",
        method="bands",
        weight=Decimal(3),
        bands=[(Decimal(0), Decimal(0)), (Decimal(1_000_000), Decimal(10))],
    )


def _ready_run(w: World) -> None:
    """A released version's run over all accounts, computed and waiting for review."""
    _draft(w)
    draft = w.made["draft"]
    version = selection_services.version_release(
        version=draft, revision=draft.revision, user=w.cast.leadership
    )
    run = selection_services.selection_run_start(version=version, user=w.cast.leadership)
    job_execute(job_id=run.job_id, work=selection_services.selection_run_compute)
    w.made["run"] = run


def _item(kind: str) -> Callable[[World], PlanItem]:
    return lambda w: plan_services.ITEM_MODELS[kind].objects.filter(plan=w.plan).earliest("pk")


def _item_args(kind: str) -> Callable[[World], list[Any]]:
    return lambda w: [w.plan.pk, kind, _item(kind)(w).pk]


def _item_made(kind: str, values: Callable[[World], dict[str, Any]]) -> Callable[[World], None]:
    def setup(w: World) -> None:
        plan_services.item_create(plan=w.plan, kind=kind, values=values(w), user=w.cast.kam)

    return setup


def _section(name: str, field_name: str, **overrides: Any) -> Case:
    return Case(
        url="plans:section-edit",
        args=lambda w: [w.plan.pk, name],
        field=field_name,
        read=lambda w: getattr(Plan.objects.get(pk=w.plan.pk), field_name),
        told=MERGE,
        **overrides,
    )


def _item_case(kind: str, field_name: str, **overrides: Any) -> Case:
    return Case(
        url="plans:item-edit",
        args=_item_args(kind),
        field=field_name,
        read=lambda w: getattr(_item(kind)(w), field_name),
        told=MERGE,
        **overrides,
    )


def _draft_case(
    url: str,
    args: Callable[[World], list[Any]],
    field_name: str,
    read: Callable[[World], object],
    **kw: Any,
) -> Case:
    return Case(
        url=url,
        args=args,
        field=field_name,
        read=read,
        setup=_draft,
        told=DRAFT,
        users=("leadership", "admin"),
        **kw,
    )


def _import_batch(w: World) -> None:
    w.made["batch"] = upload(
        w.cast.leadership, csv_bytes("Kundennummer;Wert", f"{w.cast.account.erp_number};5")
    )


def _finance_colleague(w: World) -> None:
    w.made["invoice"] = InvoiceFactory(account=w.cast.account)
    w.made["finance_colleague"] = UserFactory(username="finance2", roles=[Role.FINANCE])


def _tier_one(w: World) -> None:
    Account.objects.filter(pk=w.cast.account.pk).update(tier="Gold", tier_rank=1)


CASES = {
    "account profile": Case(
        url="accounts:account-edit",
        args=_account,
        field="name",
        read=lambda w: Account.objects.get(pk=w.cast.account.pk).name,
    ),
    # A change to a multiple-choice field is listed in the conflict too (it once failed).
    "account countries": Case(
        url="accounts:account-edit",
        args=_account,
        field="countries_of_operation",
        read=lambda w: [
            c.code for c in Account.objects.get(pk=w.cast.account.pk).countries_of_operation
        ],
        values=(["AT", "CH"], ["FR"]),
    ),
    "account potential": Case(
        url="accounts:account-potential-edit",
        args=_account,
        field="requirements",
        read=lambda w: Account.objects.get(pk=w.cast.account.pk).requirements,
    ),
    # The formsets on the potential's page are saved under the account's version.
    "potential year": Case(
        url="accounts:account-potential-edit",
        args=_account,
        field="years-0-expected_revenue",
        read=lambda w: PotentialYear.objects.get(account=w.cast.account).expected_revenue,
        setup=lambda w: PotentialYear.objects.create(
            account=w.cast.account, year=2027, expected_revenue=1000, expected_margin=100
        ),
        values=(["1500"], ["2500"]),
    ),
    "competitor": Case(
        url="accounts:account-potential-edit",
        args=_account,
        field="competitors-0-name",
        read=lambda w: Competitor.objects.get(account=w.cast.account).name,
        setup=lambda w: Competitor.objects.create(account=w.cast.account, name="Rival AG"),
    ),
    "contact": Case(
        url="accounts:contact-edit",
        args=lambda w: [_contact(w).pk],
        field="position",
        read=lambda w: _contact(w).position,
    ),
    # Decision factors are saved under the contact's version.
    "decision factor": Case(
        url="accounts:contact-edit",
        args=lambda w: [_contact(w).pk],
        field="factors-0-custom_name",
        read=lambda w: ContactDecisionFactor.objects.get().custom_name,
        setup=lambda w: ContactDecisionFactor.objects.create(
            contact=_contact(w), factor=DecisionFactor.CUSTOM, custom_name="Delivery times"
        ),
    ),
    # Adding a relationship the chosen person already holds replaces it: not unseen.
    "relationship": Case(
        url="accounts:relationship-create",
        args=lambda w: [_contact(w).pk],
        field="notes",
        read=lambda w: Relationship.objects.get().notes,
        fill=lambda w: {"user": [str(w.cast.team_member.pk)]},
        told="Someone else saved a relationship with this contact after you opened this form.",
    ),
    "attribute values": Case(
        url="selection:attribute-values-edit",
        args=_account,
        field="value_{attribute.pk}",
        read=lambda w: str(AccountAttributeValue.objects.get(account=w.cast.account).number),
        setup=_attribute_value,
        told="Someone else saved attribute values of this account after you opened this form.",
        values=(["1500"], ["2500"]),
    ),
    "attribute definition": Case(
        url="selection:attribute-edit",
        args=_made("attribute"),
        field="description",
        read=lambda w: AccountAttribute.objects.get().description,
        setup=_attribute,
        users=("leadership", "admin"),
    ),
    "draft settings": _draft_case(
        "selection:version-settings",
        _made("draft"),
        "change_note",
        lambda w: CriteriaVersion.objects.get(pk=w.made["draft"].pk).change_note,
    ),
    "draft tiers": _draft_case(
        "selection:version-tiers",
        _made("draft"),
        "tiers-0-name",
        lambda w: [tier.name for tier in w.made["draft"].tiers.order_by("rank")],
    ),
    "K.O. criterion": _draft_case(
        "selection:knockout-edit",
        _made("knockout"),
        "name",
        lambda w: KnockoutCriterion.objects.get().name,
    ),
    "scored criterion": _draft_case(
        "selection:criterion-edit",
        _made("criterion"),
        "name",
        lambda w: ScoredCriterion.objects.get().name,
    ),
    "draft weights": _draft_case(
        "selection:version-weights",
        _made("draft"),
        "weight_{criterion.pk}",
        lambda w: ScoredCriterion.objects.get().weight,
        page="selection:version-detail",
        values=(["2.5"], ["4.75"]),
    ),
    "tier override": Case(
        url="selection:result-override",
        args=lambda w: [w.made["run"].pk, w.cast.account.pk],
        page="selection:result-detail",
        field="reason",
        read=lambda w: TierOverride.objects.get().reason,
        setup=_ready_run,
        users=("leadership", "admin"),
    ),
    "portfolio weights": Case(
        url="selection:portfolio-settings",
        args=lambda w: [],
        field="coverage_weight",
        read=lambda w: PortfolioSettings.objects.get().coverage_weight,
        users=("leadership", "admin"),
        values=(["60"], ["70"]),
    ),
    "plan situation": _section("situation", "business_goals"),
    "plan SWOT": _section("swot", "strengths"),
    "plan strategy": _section("strategy", "value_proposition"),
    "plan settings": _section("settings", "review_interval_months", values=(["6"], ["12"])),
    "plan target": _item_case("target", "year_1", values=(["1300000"], ["1400000"])),
    "plan objective": _item_case("objective", "title"),
    "plan action": _item_case("action", "title"),
    "plan risk": _item_case(
        "risk",
        "description",
        setup=_item_made(
            "risk",
            lambda w: {"description": "Budget freeze", "likelihood": "low", "impact": "high"},
        ),
    ),
    "plan resource": _item_case(
        "resource",
        "description",
        setup=_item_made(
            "resource",
            lambda w: {"department": "service", "description": "Pilot", "requested_from": "Weber"},
        ),
    ),
    "plan contact strategy": _item_case(
        "contact-strategy",
        "approach",
        setup=_item_made(
            "contact-strategy",
            lambda w: {"contact": _contact(w), "owner": w.cast.kam, "target_strength": 4},
        ),
    ),
    "figures": Case(
        url="kpis:figure-grid",
        args=lambda w: [w.cast.account.pk, FIGURE_YEAR],
        field="total-revenue-actual",
        read=lambda w: (
            AnnualFigure.objects.get(
                account=w.cast.account, year=FIGURE_YEAR, measure="revenue"
            ).actual
        ),
        told="Someone else saved figures after you opened this page",
        values=(["1500"], ["2500"]),
    ),
    "import mapping": Case(
        url="kpis:import-mapping",
        args=_made("batch"),
        field="column_1",
        read=lambda w: ImportBatch.objects.get().report["mapping"],
        setup=_import_batch,
        users=("leadership", "admin"),
        values=(["revenue.actual"], ["volume.actual"]),
    ),
    "escalation step": Case(
        url="payments:escalation-act",
        args=lambda w: [Escalation.objects.get().pk],
        page="payments:escalation-detail",
        field="comment-comment",
        read=lambda w: [
            e.comment for e in Escalation.objects.get().events.filter(action=A.COMMENT)
        ],
        setup=lambda w: open_escalation(w.cast.account),
        users=("kam", "finance"),
        pick={"action": A.COMMENT},
        told="Someone else took a step on this escalation since you opened it.",
    ),
    "invoice": Case(
        url="payments:invoice-update",
        args=_made("invoice"),
        field="number",
        read=lambda w: Invoice.objects.get().number,
        setup=_finance_colleague,
        users=("finance", "finance_colleague"),
        told="Someone else changed this invoice since you opened it.",
        values=(["RE-FIRST"], ["RE-SECOND"]),
    ),
    "escalation policy": Case(
        url="payments:policy",
        args=lambda w: [],
        field="form-0-grace_days",
        read=lambda w: EscalationPolicy.objects.get(tier_rank=1).grace_days,
        setup=_tier_one,
        users=("finance", "leadership"),
        values=(["17"], ["23"]),
    ),
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("name", CASES)
def test_the_second_save_is_told_and_overwrites_nothing(cast, plan, name) -> None:  # noqa: F811
    case = CASES[name]
    w = World(cast=cast, plan=plan)
    case.setup(w)
    field_name = case.field.format(**w.made)
    clients = []
    for username in case.users:
        client = Client()
        client.force_login(w.user(username))
        clients.append(client)
    args = case.args(w)
    page, action = reverse(case.page or case.url, args=args), reverse(case.url, args=args)
    first, second = (_form(c, page, action, case.pick or {}) for c in clients)

    for data in (first, second):
        data.update(case.fill(w))
    first[field_name], second[field_name] = case.values
    saved = clients[0].post(action, first, headers={"accept-language": "en"})
    assert saved.status_code == 302, saved.content.decode()[:3000]
    after_first = case.read(w)
    assert all(value in str(after_first) for value in case.values[0])
    refused = clients[1].post(action, second, headers={"accept-language": "en"})

    assert refused.status_code == 200, f"{name}: the second save was not refused"
    page_text = refused.content.decode()
    assert case.told in page_text
    # The input is kept for the person to look at and save again.
    assert all(value in page_text for value in case.values[1])
    assert case.read(w) == after_first


# URLs that take a POST without changing a row that two people edit, each for a reason.
NOT_EDITS = {
    "login": "signs in",
    "logout": "signs out",
    "password_change": "the user's own password",
    "password_reset": "sends a mail with a one-time link",
    "password_reset_confirm": "the user's own password, by a one-time link",
    "healthz": "a health probe; reads only",
    "kam:language-set": "the user's own language; nobody else changes it",
    "kam:job-system-check": "starts a new job",
    "kam:job-retry": "queues a failed job again; refused once it is no longer failed",
    "kam:job-file": "a download",
    "kam:notification-read-all": "marks the user's own notifications read",
    "kam:notification-open": "marks the user's own notification read",
    "accounts:account-export": "a download",
    "accounts:account-team": "adds a team member; the same person twice is refused",
    "accounts:team-member-remove": "removes a team member; nothing typed is replaced",
    "accounts:contact-create": "adds a contact",
    "accounts:contact-delete": "removes a contact; nothing typed is replaced",
    "accounts:relationship-delete": "removes a relationship; nothing typed is replaced",
    "selection:tier-list-export": "a download",
    "selection:allocation-json": "reads only",
    "selection:criteria-set-create": "adds a criteria set with its first draft",
    "selection:version-draft": "starts the set's one draft; a second start opens the same",
    "selection:version-release": "freezes the draft at the revision the user saw",
    "selection:knockout-create": "adds a K.O. criterion at the draft's revision the user saw",
    "selection:knockout-delete": "removes it at the draft's revision the user saw",
    "selection:criterion-create": "adds a scored criterion at the draft's revision the user saw",
    "selection:criterion-delete": "removes it at the draft's revision the user saw",
    "selection:attribute-create": "adds an attribute; a second with the same key is refused",
    "selection:run-create": "starts a new run",
    "selection:run-export": "a download",
    "selection:run-approve": "approves a run under review; refused once it is not",
    "selection:run-discard": "discards a run under review; refused once it is not",
    "plans:printout-create": "starts a print job",
    "plans:plan-create": "adds a plan; a second for the same year is refused",
    "plans:item-create": "adds an item to the plan",
    "plans:item-delete": "removes an item at the revision the user saw",
    "plans:item-move": "swaps two items' places; nothing typed is replaced",
    "plans:plan-submit": "a step of the plan's workflow, refused from the wrong state",
    "plans:plan-withdraw": "a step of the plan's workflow, refused from the wrong state",
    "plans:plan-request-changes": "a step of the plan's workflow, refused from the wrong state",
    "plans:plan-approve": "a step of the plan's workflow, refused from the wrong state",
    "plans:plan-roll-forward": "starts the next plan; a second roll-forward is refused",
    "plans:review-create": "adds a review",
    "plans:plan-pdf": "starts a print job",
    "kpis:dashboard-export": "a download",
    "kpis:figure-export": "a download",
    "kpis:import-create": "uploads a new file",
    "kpis:import-confirm": "a previewed import's next step, refused from any other state",
    "kpis:import-discard": "a previewed import's next step, refused from any other state",
    "kpis:refresh-start": "starts the annual refresh job",
    "payments:escalation-export": "a download",
    "payments:escalation-run": "starts the daily job",
    "payments:invoice-create": "adds an invoice; a second with the same number is refused",
}


def _takes_post(name: str, arguments: tuple[str, ...]) -> bool:
    """Whether the URL's view may handle a POST: a class-based view without a POST (or PUT,
    PATCH, DELETE) handler only reads; a function view may do anything, so it counts."""
    view = resolve(reverse(name, kwargs=dict.fromkeys(arguments, "1"))).func
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return True
    return any(hasattr(view_class, method) for method in ("post", "put", "patch", "delete"))


def test_every_url_that_changes_rows_has_a_case() -> None:
    patterns = url_patterns()
    cased = {case.url for case in CASES.values()}
    missing = [
        p.name
        for p in patterns
        if p.name not in cased and p.name not in NOT_EDITS and _takes_post(p.name, p.arguments)
    ]

    assert not missing, f"Add a case to CASES (or a reason to NOT_EDITS) for {missing}"
    assert not cased & NOT_EDITS.keys()
    assert not NOT_EDITS.keys() - {p.name for p in patterns}, "NOT_EDITS names a gone URL"
