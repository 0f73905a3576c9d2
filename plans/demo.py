"""The demo's key account plans: one per key account, written through the real services.

Used by ``seed_demo``; idempotent (an account that has a plan is left as it is). The mix a
demo needs: approved plans with a history of versions and signed reviews, drafts (some sent
back with requested changes), submitted plans waiting for leadership, overdue mentor reviews
and overdue actions.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Sum

from accounts.models import Account, TeamRole
from kam.models import Notification, User
from plans import services
from plans.models import (
    ActionStatus,
    Department,
    Level,
    Plan,
)

SITUATION = {
    "business_goals": (
        "{name} will das Exportgeschäft bis {end} verdoppeln und die Fertigung in "
        "**Osteuropa** ausbauen.\n\n- Standardisierung der Baureihen\n- Ausbau des Servicegeschäfts"
    ),
    "market_trends": (
        "Der Markt konsolidiert sich; Automatisierung und Nachhaltigkeit treiben die "
        "Investitionen. Lieferfähigkeit ist wichtiger als der Preis."
    ),
    "purchasing_strategy": (
        "Zentraler Einkauf mit Rahmenverträgen über drei Jahre; maximal zwei Lieferanten je "
        "Warengruppe (Dual Sourcing)."
    ),
    "competition": "Zwei Wettbewerber sind gelistet; einer liefert über einen Exklusivvertrag.",
}
SWOT = {
    "strengths": "- Technologieführerschaft\n- Service vor Ort in 24 Stunden",
    "weaknesses": "- Wenig Kontakt zur Geschäftsführung\n- Lange Angebotszeiten",
    "opportunities": "- Neues Werk ab {start}\n- Ersatzteilgeschäft",
    "threats": "- Preisdruck durch asiatische Anbieter\n- Wechsel im Einkauf",
}
STRATEGY = {
    "value_proposition": (
        "Wir senken die Stillstandszeiten von {name} um 30 % durch vorbeugende Wartung und "
        "ein Ersatzteillager vor Ort."
    ),
    "account_strategy": (
        "Vom Lieferanten zum Entwicklungspartner: gemeinsame Projekte mit der Technik, "
        "Rahmenvertrag mit dem Einkauf, regelmäßige Treffen mit der Geschäftsführung."
    ),
}
OBJECTIVES = (
    ("Rahmenvertrag Ersatzteile abschließen", "Rahmenvertrag unterschrieben", 0, "revenue"),
    ("Share of Wallet auf 35 % steigern", "Anteil laut Jahresgespräch", 2, "share_of_wallet"),
    ("Pilotprojekt vorbeugende Wartung", "Pilot abgenommen", 1, "contribution_margin"),
)
ACTIONS = (
    ("Workshop mit dem Einkauf", -40),
    ("Angebot für das Ersatzteillager", 30),
    ("Besuch der Geschäftsführung mit unserem Vorstand", 75),
    ("Referenzbesuch bei einem Pilotkunden", -10),
)
RISKS = (
    ("Wechsel des Einkaufsleiters", Level.MEDIUM, Level.HIGH, "Beziehung zur Technik ausbauen."),
    ("Preisdruck im Rahmenvertrag", Level.HIGH, Level.MEDIUM, "Mehrwert über Service belegen."),
)
RESOURCES = (
    (Department.SERVICE, "Zwei Servicetechniker für den Pilot", "Frank Hoffmann"),
    (Department.LOGISTICS, "Konsignationslager beim Kunden", "Eva Lange"),
)


def _texts(account: Account, plan: Plan, table: dict[str, str]) -> dict[str, str]:
    return {
        key: text.format(name=account.name, start=plan.start_year, end=plan.end_year)
        for key, text in table.items()
    }


def _write(plan: Plan, kam: User, index: int, today: datetime.date) -> Plan:
    """Fill a new plan's sections and items the way a KAM would, section by section."""
    account = plan.account
    for section, table in (("situation", SITUATION), ("swot", SWOT), ("strategy", STRATEGY)):
        values = _texts(account, plan, table)
        if section == "strategy":
            values |= {"phase": ("negotiation", "delivery", "exploitation")[index % 3]}
        plan = services.plan_section_update(
            plan=plan, section=section, revision=plan.revision, values=values, user=kam
        )
    potential = account.potential_years.filter(year__in=plan.years).aggregate(
        revenue=Sum("expected_revenue"), margin=Sum("expected_margin")
    )
    base = potential["revenue"] or Decimal(800_000 + 50_000 * index)
    margin = potential["margin"] or base / 5
    # The plan aims at a growing share of the potential, starting from today's (as the
    # annual figures of kpis.demo do), not at the whole potential.
    share = Decimal(account.share_of_wallet or 20)
    growth = (Decimal("1.10"), Decimal("1.20"), Decimal("1.30"))
    figures = {
        "revenue": [round(base / 3 * share / 100 * g, -3) for g in growth],
        "contribution_margin": [round(margin / 3 * share / 100 * g, -3) for g in growth],
        "share_of_wallet": [round(share * g) for g in growth],
    }
    targets = {t.metric: t for t in plan.targets.all()}
    for metric, values in figures.items():
        target = targets[metric]
        services.item_update(
            item=target,
            revision=target.revision,
            values=dict(zip(("year_1", "year_2", "year_3"), values, strict=True)),
            user=kam,
        )
    team = [m.user for m in account.team_members.select_related("user")]
    contacts = list(account.contacts.filter(has_left=False).order_by("-influence", "pk")[:4])
    for number, (title, measure, year_offset, metric) in enumerate(OBJECTIVES[: 2 + index % 2]):
        objective = services.item_create(
            plan=plan,
            kind="objective",
            values={
                "title": title,
                "measure": measure,
                "target_year": plan.start_year + year_offset,
                "target": targets[metric],
            },
            user=kam,
        )
        for offset, (action, days) in enumerate(ACTIONS[number : number + 2]):
            services.item_create(
                plan=plan,
                kind="action",
                values={
                    "objective": objective,
                    "title": action,
                    "owner": team[(number + offset) % len(team)],
                    "due_date": today + datetime.timedelta(days=days + 7 * (index % 4)),
                    "status": ActionStatus.DONE if days < -30 else ActionStatus.OPEN,
                    "contacts": contacts[offset : offset + 2],
                },
                user=kam,
            )
    for description, likelihood, impact, mitigation in RISKS:
        services.item_create(
            plan=plan,
            kind="risk",
            values={
                "description": description,
                "likelihood": likelihood,
                "impact": impact,
                "mitigation": mitigation,
            },
            user=kam,
        )
    for department, description, person in RESOURCES[: 1 + index % 2]:
        services.item_create(
            plan=plan,
            kind="resource",
            values={"department": department, "description": description, "requested_from": person},
            user=kam,
        )
    for position, contact in enumerate(contacts[:3]):
        services.item_create(
            plan=plan,
            kind="contact-strategy",
            values={
                "contact": contact,
                "owner": team[position % len(team)],
                "target_strength": min(5, 3 + position % 3),
                "approach": "Regelmäßige Termine, Einladung zum Innovationstag.",
            },
            user=kam,
        )
    plan.refresh_from_db()
    return plan


def seed_plans(
    *, key_accounts: list[Account], leadership: User, today: datetime.date
) -> dict[str, int]:
    """A plan for every key account without one; returns how many plans and versions it made."""
    plans = versions = 0
    started = datetime.datetime.now(tz=datetime.UTC)
    for index, account in enumerate(key_accounts):
        if account.plans.exists():
            continue
        kam_member = account.team_members.filter(role=TeamRole.KEY_ACCOUNT_MANAGER).first()
        if kam_member is None:
            continue
        kam = kam_member.user
        plan = services.plan_create(account=account, start_year=today.year, user=kam)
        plan = _write(plan, kam, index, today)
        plans += 1
        mentor = account.team_members.filter(role=TeamRole.MENTOR).first()
        if index % 3 == 0:
            services.plan_submit(plan=plan, user=kam)
            services.plan_approve(plan=plan, user=leadership)
            versions += 1
            if index % 2 == 0:
                # A second round: the KAM sharpened the strategy, leadership approved again.
                plan.refresh_from_db()
                plan = services.plan_section_update(
                    plan=plan,
                    section="strategy",
                    revision=plan.revision,
                    values={"partnership_level": "strategic", "development_strategy": "invest"},
                    user=kam,
                )
                services.plan_submit(plan=plan, user=kam)
                services.plan_approve(plan=plan, user=leadership)
                versions += 1
        elif index % 3 == 1 and index % 2 == 1:
            services.plan_submit(plan=plan, user=kam)
            services.plan_request_changes(
                plan=plan,
                user=leadership,
                comment="Bitte die Umsatzziele für das dritte Jahr begründen.",
            )
        elif index % 3 == 2:
            services.plan_submit(plan=plan, user=kam)
        if mentor is not None:
            # Every other mentored plan was last reviewed five months ago: overdue.
            months_ago = 5 if index % 2 else 1
            services.review_record(
                plan=plan,
                user=mentor.user,
                reviewed_on=today - datetime.timedelta(days=30 * months_ago),
                notes="Ziele realistisch; Beziehung zur Geschäftsführung ausbauen.",
                signed_off=not index % 2,
            )
    # The demo's history is not news: drop the notifications its workflow steps produced
    # (their e-mails, queued for the commit, then find nothing to send).
    Notification.objects.filter(created_at__gte=started, url__startswith="/plans/").delete()
    return {"plans": plans, "plan versions": versions}
