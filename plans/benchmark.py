"""The ``pdf`` section of ``manage.py bench``: one typical plan's printout, and the annual
printout of many plans, timed.

Benchmark plans are written through :mod:`plans.services` like a KAM's, on accounts that
have contacts (``seed_bulk`` makes them), for the horizon from :data:`BENCH_YEAR` (far in
the future, so the annual printout of that year holds only them). They are kept for the
next run. The annual printout runs in this process with eager tasks (the local default):
once with every version's PDF to render, then again with all of them cached, which times
the assembly alone. With ``workers``, it runs instead through that many real Celery worker
processes (needs ``CELERY_BROKER_URL`` and a database they share).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import random
import statistics
import subprocess  # nosec B404 # runs our own interpreter with fixed arguments
import sys
import time
from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import Account, AccountTeamMember, TeamRole
from kam.models import Job, User
from plans import services
from plans.models import Plan, PlanVersion
from plans.selectors.printouts import printout_versions

BENCH_YEAR = 2090
PLAN_BAR_SECONDS = 1.5
PRINTOUT_BAR_SECONDS = 180.0
BAR_WORKERS = 2
WARMUPS = 2

TEXTS = {
    "business_goals": (
        "{name} wants to grow its **export business** by a third until {end} and to "
        "consolidate its supplier base.\n\n- Standardise the spare-parts range\n"
        "- Expand the service business in Eastern Europe\n- Cut lead times by 20 %"
    ),
    "market_trends": (
        "The market is consolidating; automation and sustainability drive investment. "
        "Delivery reliability matters more than price in the customer's tenders."
    ),
    "purchasing_strategy": (
        "Central purchasing with three-year framework contracts; at most two suppliers per "
        "commodity group (*dual sourcing*). Decisions are prepared by the technical department."
    ),
    "competition": (
        "Two competitors are established; one holds an exclusive contract for consumables "
        "until the end of {start}."
    ),
    "strengths": "- Technology leader in the core range\n- Service on site within 24 hours",
    "weaknesses": "- Little contact with the executive board\n- Long quotation lead times",
    "opportunities": "- New plant from {start}\n- Spare-parts business\n- Retrofit programme",
    "threats": "- Price pressure from Asian suppliers\n- Change of the head of purchasing",
    "value_proposition": (
        "We cut the customer's downtime by 30 % through predictive maintenance and keep "
        "spare parts in stock at their site."
    ),
    "account_strategy": (
        "From supplier to development partner: joint projects with engineering, a framework "
        "contract with purchasing, quarterly meetings with the board."
    ),
}
OBJECTIVES = (
    ("Framework contract for spare parts", "Contract signed", "revenue"),
    (
        "Raise the share of wallet to 35 %",
        "Share of wallet in the annual review",
        "share_of_wallet",
    ),
    ("Win the retrofit of the old plant", "Order received", "contribution_margin"),
)
ACTIONS = (
    "Workshop with purchasing on the framework contract",
    "Site visit with the technical director",
    "Quotation for the retrofit programme",
    "Invite the board to the customer day",
)
RISKS = (
    ("Change of the head of purchasing", "high", "medium"),
    ("Price pressure from Asian suppliers", "medium", "high"),
    ("Exclusive contract of a competitor is extended", "low", "high"),
    ("Delivery problems at our plant", "low", "medium"),
)
RESOURCES = (
    ("service", "Two service technicians for the pilot", "Head of service"),
    ("logistics", "Consignment stock at the customer's site", "Logistics manager"),
)


def _values(base: int, growth: float) -> dict[str, Decimal]:
    """Three years' targets growing by ``growth``, rounded to two significant digits."""
    return {
        f"year_{index + 1}": Decimal(round(value, 2 - len(str(int(value)))))
        for index, value in enumerate(base * (1 + growth) ** year for year in range(3))
    }


def bench_plan(account: Account, user: User, rng: random.Random) -> PlanVersion:
    """A typical plan of ``account`` (texts, four KPIs, three objectives with their actions,
    risks, resources, contact strategies, a review) written, submitted and approved by
    ``user`` (sales leadership)."""
    start, end = BENCH_YEAR, BENCH_YEAR + 2
    plan = services.plan_create(account=account, start_year=start, user=user)
    context = {"name": account.name, "start": start, "end": end}
    for section in ("situation", "swot", "strategy"):
        plan = services.plan_section_update(
            plan=plan,
            section=section,
            revision=plan.revision,
            values={
                name: TEXTS[name].format(**context)
                for name in services.SECTIONS[section]
                if name in TEXTS
            },
            user=user,
        )
    revenue = rng.randrange(800_000, 5_000_000)
    targets = {target.metric: target for target in plan.targets.all()}
    for metric, values in (
        ("revenue", _values(revenue, 0.12)),
        ("contribution_margin", _values(revenue // 4, 0.1)),
        ("share_of_wallet", _values(rng.randrange(15, 40), 0.15)),
    ):
        target = targets[metric]
        services.item_update(item=target, revision=target.revision, values=values, user=user)
    services.item_create(
        plan=plan,
        kind="target",
        values={"metric": "volume", "unit": "t", **_values(rng.randrange(500, 3000), 0.1)},
        user=user,
    )
    kam = account.team_members.filter(role=TeamRole.KEY_ACCOUNT_MANAGER).first()
    owner = kam.user if kam else user
    contacts = list(account.contacts.filter(has_left=False).order_by("pk")[:4])
    for index, (title, measure, metric) in enumerate(OBJECTIVES):
        objective = services.item_create(
            plan=plan,
            kind="objective",
            values={
                "title": title,
                "measure": measure,
                "target_year": start + index,
                "target": targets[metric],
            },
            user=user,
        )
        for number, action in enumerate(rng.sample(ACTIONS, 3)):
            services.item_create(
                plan=plan,
                kind="action",
                values={
                    "objective": objective,
                    "title": action,
                    "owner": owner,
                    "due_date": datetime.date(start + index, 3 + number * 3, 15),
                    "phase": "negotiation" if number == 0 else "delivery",
                    "contacts": contacts[number : number + 2],
                },
                user=user,
            )
    for description, likelihood, impact in RISKS:
        services.item_create(
            plan=plan,
            kind="risk",
            values={
                "description": description,
                "likelihood": likelihood,
                "impact": impact,
                "mitigation": "Build relationships beyond purchasing; agree a price formula.",
            },
            user=user,
        )
    for department, description, requested_from in RESOURCES:
        services.item_create(
            plan=plan,
            kind="resource",
            values={
                "department": department,
                "description": description,
                "requested_from": requested_from,
            },
            user=user,
        )
    for strength, contact in enumerate(contacts, start=2):
        services.item_create(
            plan=plan,
            kind="contact-strategy",
            values={
                "contact": contact,
                "owner": owner,
                "target_strength": min(5, strength + 1),
                "approach": "Regular meetings; invite to the customer day.",
            },
            user=user,
        )
    services.review_record(
        plan=plan,
        user=user,
        reviewed_on=timezone.localdate(),
        notes="Plan is on track; the framework contract needs the board's support.",
        signed_off=True,
    )
    services.plan_submit(plan=plan, user=user)
    return services.plan_approve(plan=plan, user=user)


def bench_plans(*, count: int, user: User) -> list[PlanVersion]:
    """Exactly ``count`` approved benchmark plans: created as needed (accounts with the most
    contacts first), surplus ones from an earlier, larger run deleted; returns their versions."""
    existing = Plan.objects.filter(start_year=BENCH_YEAR).order_by("pk")
    surplus = existing[count:].values_list("pk", flat=True)
    _forget_pdfs(PlanVersion.objects.filter(plan__in=list(surplus)))
    Plan.objects.filter(pk__in=list(surplus)).delete()
    Plan.objects.filter(start_year=BENCH_YEAR).exclude(
        Exists(PlanVersion.objects.filter(plan=OuterRef("pk")))
    ).delete()
    missing = count - existing.count()
    if missing > 0:
        accounts = (
            Account.objects.exclude(plans__start_year=BENCH_YEAR)
            .filter(Exists(AccountTeamMember.objects.filter(account=OuterRef("pk"))))
            .annotate(contacts_count=Count("contacts"))
            .order_by("-contacts_count", "pk")[:missing]
        )
        for index, account in enumerate(accounts):
            bench_plan(account, user, random.Random(account.pk * 7919 + index))  # noqa: S311  # nosec B311 # seeded synthetic data, not secrets
    versions = list(printout_versions(year=BENCH_YEAR).order_by("pk")[:count])
    if len(versions) < count:
        raise RuntimeError(
            f"Only {len(versions)} accounts can carry a benchmark plan; run seed_bulk first."
        )
    return versions


@contextlib.contextmanager
def _eager_tasks() -> Iterator[None]:
    from kam.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def _forget_pdfs(versions) -> None:
    """Delete the cached printouts of ``versions``, so the next printout renders them."""
    ids = [version.pk for version in versions]
    for version in PlanVersion.objects.filter(pk__in=ids).exclude(pdf=""):
        version.pdf.delete(save=False)
    PlanVersion.objects.filter(pk__in=ids).update(pdf="")


def _discard(job: Job) -> None:
    if job.result_file:
        job.result_file.delete(save=False)
    job.delete()


def _printout(user: User) -> tuple[float, Job]:
    """The printout job run in this process: its first task called here, the tasks it
    queues run eagerly (so it also works inside a test's transaction)."""
    job = Job.objects.create(
        kind=Job.Kind.PLAN_PRINTOUT,
        created_by=user,
        params={"year": BENCH_YEAR, "tier": "", "kam_id": None},
    )
    started = time.perf_counter()
    with _eager_tasks():
        services.printout_fan_out(job_id=job.pk)
    job.refresh_from_db()
    elapsed = time.perf_counter() - started
    if job.state != Job.State.SUCCEEDED:
        raise RuntimeError(f"The benchmark printout failed: {job.error}")
    return elapsed, job


def _printout_with_workers(user: User, workers: int) -> float:
    """Seconds of the printout through ``workers`` real Celery worker processes."""
    if not settings.CELERY_BROKER_URL:
        raise RuntimeError("Timing real workers needs CELERY_BROKER_URL (and a shared database).")
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments  # nosec B603
        [
            sys.executable, "-m", "celery", "-A", "kam", "worker", "--pool=prefork",
            f"--concurrency={workers}", "--loglevel=WARNING", "--without-gossip",
            "--without-mingle", "--hostname=bench-pdf@%h",
        ],
        cwd=settings.BASE_DIR,
        env=os.environ.copy(),
    )  # fmt: skip
    try:
        time.sleep(5)  # the workers boot and connect before the clock starts
        started = time.perf_counter()
        job = services.printout_start(user=user, year=BENCH_YEAR)
        while Job.objects.get(pk=job.pk).state not in Job.FINISHED_STATES:
            if worker.poll() is not None:
                raise RuntimeError("The benchmark's Celery workers stopped.")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        job.refresh_from_db()
        if job.state != Job.State.SUCCEEDED:
            raise RuntimeError(f"The benchmark printout failed: {job.error}")
        _discard(job)
        return elapsed
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def measure_pdf(*, user: User, plans: int, repeat: int, workers: int = 0) -> dict[str, object]:
    """Seconds to render one typical plan (median and max over ``repeat``), and of the annual
    printout of ``plans`` plans: in this process, or through ``workers`` real workers. The
    in-process run also yields the estimate for :data:`BAR_WORKERS` workers: the rendering
    shared out, the assembly (which one worker does) added."""
    versions = bench_plans(count=max(1, plans), user=user)
    typical = PlanVersion.objects.get(pk=versions[0].pk)
    pdf = services.plan_pdf_render(typical.snapshot)
    samples = []
    for index in range(WARMUPS + repeat):
        started = time.perf_counter()
        services.plan_pdf_render(typical.snapshot)
        if index >= WARMUPS:
            samples.append(time.perf_counter() - started)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    plan_result = {
        "pages": pages,
        "median_s": round(statistics.median(samples), 3),
        "max_s": round(max(samples), 3),
        "bar_s": PLAN_BAR_SECONDS,
        "passes": statistics.median(samples) <= PLAN_BAR_SECONDS,
    }
    _forget_pdfs(versions)
    if workers:
        elapsed = _printout_with_workers(user, workers)
        printout = {
            "plans": len(versions),
            "workers": workers,
            "total_s": round(elapsed, 1),
            "bar_s": PRINTOUT_BAR_SECONDS,
            "passes": elapsed <= PRINTOUT_BAR_SECONDS if workers <= BAR_WORKERS else None,
        }
        return {"plan": plan_result, "printout": printout}
    total, job = _printout(user)
    pages_total = job.result["pages"]
    _discard(job)
    assemble, job = _printout(user)
    _discard(job)
    render = max(0.0, total - assemble)
    estimate = render / BAR_WORKERS + assemble
    printout = {
        "plans": len(versions),
        "pages": pages_total,
        "workers": 0,
        "total_s": round(total, 1),
        "render_s": round(render, 1),
        "assemble_s": round(assemble, 2),
        "per_plan_s": round(render / len(versions), 3),
        "estimate_two_workers_s": round(estimate, 1),
        "bar_s": PRINTOUT_BAR_SECONDS,
        "passes": estimate <= PRINTOUT_BAR_SECONDS,
    }
    return {"plan": plan_result, "printout": printout}
