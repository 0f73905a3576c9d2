"""Create many synthetic accounts with teams and buying centers, fast, for load tests.

Accounts are numbered ``B000000001`` … ``B<N>``, apart from the demo data (``D…``) and test
factories (``T…``). Running again skips the numbers that exist, so ``--accounts N`` means "make
sure the first N synthetic accounts exist"; raise N to add more. Work goes in chunks of
``--batch-size`` accounts, each chunk one transaction of a few bulk inserts and no per-row
queries, so an interrupted run leaves only complete accounts behind.

Synthetic accounts without annual figures then get three past years of them (revenue,
contribution margin and volume, and for a fifth of them a few product groups with targets),
each key account a plan over those years with revenue and margin targets, and their KPI rows
are recomputed; again in chunks, so a second run adds figures only where they are missing.
Accounts without invoices get four of the last year, a few of them overdue and unpaid, and the
daily escalation run opens the payment escalations of those of key accounts.
"""

import datetime
import random
import time
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.demo import NAME_SUFFIXES
from accounts.models import (
    Account,
    AccountStatus,
    AccountTeamMember,
    BuyingRole,
    Contact,
    ContactDecisionFactor,
    ContactMode,
    ContactRole,
    DecisionFactor,
    Industry,
    Influence,
    PartnershipStrategy,
    PotentialYear,
    Region,
    Relationship,
    TeamRole,
)
from kam.bulk import BulkWriter
from kam.models import User
from kam.roles import Role
from kpis.models import AccountKpi, AnnualFigure
from kpis.services import kpis_recompute
from payments.models import Escalation, EscalationEvent, Invoice
from payments.services.daily import escalations_run
from plans.models import Metric, Plan, Target
from selection.demo import demo_attributes
from selection.models import AccountAttributeValue

PREFIX = "B"
NUMBER_WIDTH = 9
# The synthetic team members: at least MIN_POOL, and one per ACCOUNTS_PER_POOL_USER accounts.
# Teams have three people on average, so each is on about 75 teams and manages about 25
# accounts whatever the size: a person's realistic share, where a fixed pool would put each
# of them on thousands of teams at 100,000 accounts.
MIN_POOL = 50
ACCOUNTS_PER_POOL_USER = 25
POOL_USERNAME = "bulk.kam{:02d}"
# With --password, users of the other roles for load tests (loadtest/), besides the pool.
ROLE_USERS = {
    "bulk.leitung": Role.SALES_LEADERSHIP,
    "bulk.finanz": Role.FINANCE,
    "bulk.gast": Role.VIEWER,
}

STEMS = (
    "Albers", "Arnold", "Bauer", "Beck", "Berger", "Brandt", "Busch", "Dietrich", "Engel",
    "Fischer", "Franke", "Fuchs", "Graf", "Haas", "Hahn", "Hartmann", "Horn", "Jansen", "Kaiser",
    "Keller", "Klein", "Koch", "König", "Kraus", "Lange", "Lehmann", "Lorenz", "Maier", "Meyer",
    "Neumann", "Otto", "Peters", "Roth", "Schmid", "Schulte", "Seidel", "Sommer", "Vogt",
    "Weber", "Winkler",
)  # fmt: skip
CITIES = {
    Region.NORTH: ("Hamburg", "Bremen", "Hannover", "Kiel", "Oldenburg", "Lübeck"),
    Region.EAST: ("Leipzig", "Dresden", "Berlin", "Erfurt", "Chemnitz", "Rostock"),
    Region.SOUTH: ("München", "Stuttgart", "Nürnberg", "Augsburg", "Ulm", "Regensburg"),
    Region.WEST: ("Köln", "Düsseldorf", "Dortmund", "Essen", "Aachen", "Münster"),
    Region.INTERNATIONAL: ("Basel", "Lyon", "Mailand", "Posen", "Chicago", "Wien"),
}
COUNTRIES = {
    Region.NORTH: ("DE",),
    Region.EAST: ("DE",),
    Region.SOUTH: ("DE", "AT"),
    Region.WEST: ("DE", "NL"),
    Region.INTERNATIONAL: ("CH", "FR", "IT", "PL", "US", "AT"),
}
INDUSTRIES = [industry.value for industry in Industry]
REGIONS = [region.value for region in Region]
LEGAL_FORMS = ("GmbH", "GmbH", "AG", "GmbH & Co. KG", "SE", "KG")
# Cumulative shares of the synthetic accounts per tier; the rest has no tier.
TIERS = ((0.03, "Gold", 1), (0.10, "Silver", 2), (0.20, "Bronze", 3))
STRATEGIES = {
    1: PartnershipStrategy.STRATEGIC.value,
    2: PartnershipStrategy.OPERATIONAL.value,
    3: PartnershipStrategy.LEAN.value,
}
OTHER_TEAM_ROLES = [
    role.value
    for role in (
        TeamRole.DEPUTY,
        TeamRole.SALES,
        TeamRole.SERVICE,
        TeamRole.TECHNICAL,
        TeamRole.MENTOR,
        TeamRole.FINANCE,
    )
]

FIRST_NAMES = (
    "Andreas", "Anja", "Bernd", "Birgit", "Christian", "Claudia", "Daniel", "Elif", "Frank",
    "Julia", "Jürgen", "Karin", "Klaus", "Laura", "Markus", "Monika", "Michael", "Nadine",
    "Oliver", "Petra", "Ralf", "Sandra", "Stefan", "Susanne", "Thorsten", "Ulrike", "Uwe",
    "Verena", "Yusuf", "Zeynep",
)  # fmt: skip
LAST_NAMES = (*STEMS, "Schröder", "Wagner", "Ziegler", "Yılmaz", "Nowak", "Möller", "Kuhn")
# (department, position, buying roles to pick from). The top decides in two accounts of
# three; elsewhere purchasing may decide, or no one does: a red flag of the buying center.
TOP = (
    "Geschäftsführung",
    "Geschäftsführer/in",
    (BuyingRole.DECIDER, BuyingRole.DECIDER, BuyingRole.APPROVER),
)
HEADS = (
    ("Einkauf", "Leitung Einkauf", (BuyingRole.BUYER, BuyingRole.DECIDER)),
    ("Produktion", "Werksleitung", (BuyingRole.INITIATOR, BuyingRole.USER)),
    ("Technik", "Leitung Entwicklung", (BuyingRole.INFLUENCER, BuyingRole.INITIATOR)),
    ("Finanzen", "Kaufmännische Leitung", (BuyingRole.APPROVER,)),
    ("IT", "Leitung IT", (BuyingRole.INFLUENCER,)),
    ("Qualität", "Leitung Qualität", (BuyingRole.INFLUENCER,)),
    ("Logistik", "Leitung Logistik", (BuyingRole.USER,)),
)
STAFF = {
    "Einkauf": ("Einkäufer/in", (BuyingRole.BUYER, BuyingRole.GATEKEEPER)),
    "Produktion": ("Schichtleitung", (BuyingRole.USER,)),
    "Technik": ("Projektingenieur/in", (BuyingRole.INFLUENCER, BuyingRole.USER)),
    "Finanzen": ("Controller/in", (BuyingRole.INFLUENCER,)),
    "IT": ("IT-Architekt/in", (BuyingRole.INFLUENCER,)),
    "Qualität": ("Qualitätsingenieur/in", (BuyingRole.INFLUENCER, BuyingRole.GATEKEEPER)),
    "Logistik": ("Disponent/in", (BuyingRole.USER,)),
}
FACTORS = [factor.value for factor in DecisionFactor if factor != DecisionFactor.CUSTOM]
MODES = [*(mode.value for mode in ContactMode), ""]
INFLUENCE = (Influence.HIGH.value, Influence.HIGH.value, Influence.MEDIUM.value)

ACCOUNT_COLUMNS = (
    "name", "erp_number", "legal_form", "industry", "region", "country", "status", "tier",
    "tier_rank", "strategy", "share_of_wallet",
)  # fmt: skip
CONTACT_COLUMNS = (
    "account_id", "first_name", "last_name", "position", "department", "reports_to_id",
    "influence", "attitude", "mode", "last_contact_date", "has_left",
)  # fmt: skip
FIGURE_YEARS = 3
PRODUCT_GROUPS = ("Antriebe", "Ersatzteile", "Service", "Steuerungen")
PRODUCT_GROUP_SHARE = 0.2
FIGURE_COLUMNS = (
    "account_id", "year", "measure", "product_group", "region", "actual", "target",
)  # fmt: skip
TARGET_COLUMNS = ("plan_id", "metric", "position", "year_1", "year_2", "year_3")
# Invoices of the last year per account, paid on time but for a few that are overdue unpaid;
# the daily escalation run then opens cases for those of key accounts.
INVOICES_PER_ACCOUNT = 4
OVERDUE_SHARE = 0.04
INVOICE_COLUMNS = (
    "account_id", "number", "amount", "currency", "issue_date", "due_date", "amount_paid",
    "paid_date",
)  # fmt: skip
FIGURE_MODELS = (AnnualFigure, Plan, Target, AccountKpi, Invoice, Escalation, EscalationEvent)
BULK_MODELS = (
    Account,
    AccountTeamMember,
    Contact,
    ContactRole,
    ContactDecisionFactor,
    Relationship,
    PotentialYear,
    AccountAttributeValue,
)


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _invoices(
    rng: random.Random, account_id: int, number: str, today: datetime.date
) -> list[tuple]:
    """The account's invoices of the last year, each due 30 days after issue and paid on
    time, but the last one overdue and unpaid for ``OVERDUE_SHARE`` of the accounts."""
    rows = []
    revenue = rng.lognormvariate(12.5, 1.1)
    overdue = rng.random() < OVERDUE_SHARE
    for index in range(INVOICES_PER_ACCOUNT):
        issued = today - datetime.timedelta(days=330 - 90 * index - rng.randint(0, 30))
        due = issued + datetime.timedelta(days=30)
        amount = _money(revenue / 12 * rng.uniform(0.5, 1.5))
        last = index == INVOICES_PER_ACCOUNT - 1
        if overdue and last:
            issued = today - datetime.timedelta(days=rng.randint(45, 120))
            due = issued + datetime.timedelta(days=30)
        paid = not (overdue and last) and due < today
        rows.append(
            (
                account_id,
                f"{number}-{index + 1}",
                amount,
                "EUR",
                issued,
                due,
                amount if paid else Decimal("0"),
                due - datetime.timedelta(days=rng.randint(0, 10)) if paid else None,
            )
        )
    return rows


def erp_number(number: int) -> str:
    return f"{PREFIX}{number:0{NUMBER_WIDTH}d}"


class Command(BaseCommand):
    help = (
        "Create N synthetic accounts (ERP numbers B…) with teams, contacts, buying-center roles "
        "and relationships in bulk; existing numbers are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, required=True, help="Accounts B1…BN to have.")
        parser.add_argument("--contacts-per-account", type=int, default=8)
        parser.add_argument("--seed", type=int, default=1, help="Seed of the generator.")
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Accounts per chunk and transaction."
        )
        parser.add_argument(
            "--team-pool",
            type=int,
            default=None,
            help=f"Synthetic team members to draw teams from (default: one per "
            f"{ACCOUNTS_PER_POOL_USER} accounts, at least {MIN_POOL}).",
        )
        parser.add_argument(
            "--no-figures",
            dest="figures",
            action="store_false",
            help="Leave out the annual figures, plans, KPI rows, invoices and escalations.",
        )
        parser.add_argument(
            "--password",
            default="",
            help="Let the synthetic users log in with this password (for load tests), and "
            "add bulk.leitung, bulk.finanz and bulk.gast (leadership, finance, viewer).",
        )

    def handle(self, *args, **options) -> None:
        total, per_account = options["accounts"], options["contacts_per_account"]
        batch_size, seed = options["batch_size"], options["seed"]
        pool_size = options["team_pool"] or max(MIN_POOL, -(-total // ACCOUNTS_PER_POOL_USER))
        if total < 0 or not 1 <= per_account <= 200 or batch_size < 1 or pool_size < 4:
            raise CommandError(
                "Need --accounts ≥ 0, 1 ≤ --contacts-per-account ≤ 200, --batch-size ≥ 1 "
                "and --team-pool ≥ 4."
            )
        started = time.perf_counter()
        pool = self._user_pool(pool_size)
        if options["password"]:
            self._give_logins(options["password"], pool_size)
        existing = set(
            Account.objects.filter(erp_number__startswith=PREFIX).values_list(
                "erp_number", flat=True
            )
        )
        numbers = [n for n in range(1, total + 1) if erp_number(n) not in existing]
        self.stdout.write(
            f"{total:,} synthetic accounts wanted, {total - len(numbers):,} exist, "
            f"{len(numbers):,} to create ({per_account} contacts each, "
            f"{'COPY' if connection.vendor == 'postgresql' else 'bulk_create'})."
        )
        writer = BulkWriter(batch_size)
        today = timezone.localdate()
        attributes = {key: attribute.pk for key, attribute in demo_attributes().items()}
        for start in range(0, len(numbers), batch_size):
            chunk = numbers[start : start + batch_size]
            with transaction.atomic():
                self._create_chunk(writer, chunk, pool, per_account, seed, today, attributes)
            done, elapsed = start + len(chunk), time.perf_counter() - started
            self.stdout.write(
                f"  {done:>9,} / {len(numbers):,} accounts  {elapsed:7.1f} s  "
                f"({done / elapsed:,.0f} accounts/s)"
            )
        with_figures = (
            self._figures(writer, batch_size, seed, today, started)
            + self._invoices(writer, batch_size, seed, today, started)
            if options["figures"]
            else 0
        )
        if (numbers or with_figures) and connection.vendor == "postgresql":
            # Freshly loaded tables have no planner statistics until autovacuum comes by;
            # queries (and benchmarks) run right after would get bad plans.
            tables = [model._meta.db_table for model in (*BULK_MODELS, *FIGURE_MODELS)]
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(map(connection.ops.quote_name, tables))}")
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{count:,} {what}" for what, count in writer.created.items() if count)
        self.stdout.write(self.style.SUCCESS(f"Created {summary or 'nothing'} in {elapsed:.1f} s."))
        self.stdout.write(f"Accounts in the database: {Account.objects.count():,}.")

    def _figures(
        self, writer: BulkWriter, batch_size: int, seed: int, today: datetime.date, started: float
    ) -> int:
        """Annual figures and plans with targets, chunk by chunk, for the synthetic accounts
        that have no figures yet, then the KPI rows; returns how many accounts got figures.

        The KPI rows are recomputed once at the end, after fresh planner statistics (per chunk
        the recompute slowed down with every chunk), and again on a later run if one was
        interrupted before it.
        """
        synthetic = Account.objects.filter(erp_number__startswith=PREFIX)
        accounts = list(
            synthetic.exclude(Exists(AnnualFigure.objects.filter(account=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", "erp_number", "tier")
        )
        if accounts:
            self.stdout.write(
                f"{len(accounts):,} synthetic accounts without annual figures: "
                f"{FIGURE_YEARS} years of figures, plans of key accounts, KPI rows."
            )
        for start in range(0, len(accounts), batch_size):
            chunk = accounts[start : start + batch_size]
            with transaction.atomic():
                self._figure_chunk(writer, chunk, seed, today)
            done, elapsed = start + len(chunk), time.perf_counter() - started
            self.stdout.write(f"  {done:>9,} / {len(accounts):,} accounts  {elapsed:7.1f} s")
        unrecomputed = synthetic.filter(
            Exists(AnnualFigure.objects.filter(account=OuterRef("pk"))),
            ~Exists(AccountKpi.objects.filter(account=OuterRef("pk"))),
        )
        if accounts or unrecomputed.exists():
            if connection.vendor == "postgresql":
                tables = [model._meta.db_table for model in FIGURE_MODELS]
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {', '.join(map(connection.ops.quote_name, tables))}")
            kpis_recompute()
            self.stdout.write(f"  KPI rows recomputed  {time.perf_counter() - started:7.1f} s")
        return len(accounts)

    def _invoices(
        self, writer: BulkWriter, batch_size: int, seed: int, today: datetime.date, started: float
    ) -> int:
        """Invoices for the synthetic accounts that have none yet, chunk by chunk, then the
        daily escalation run over them; returns how many accounts got invoices."""
        accounts = list(
            Account.objects.filter(erp_number__startswith=PREFIX)
            .exclude(Exists(Invoice.objects.filter(account=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", "erp_number")
        )
        for start in range(0, len(accounts), batch_size):
            rows = []
            for account_id, number in accounts[start : start + batch_size]:
                rng = random.Random(f"seed-bulk:invoices:{seed}:{number}")  # noqa: S311  # nosec B311 # seeded synthetic data, not secrets
                rows += _invoices(rng, account_id, number, today)
            with transaction.atomic():
                writer.insert(Invoice, INVOICE_COLUMNS, rows, ids=False)
        if accounts:
            done = escalations_run(on=today)
            self.stdout.write(
                f"  invoices of {len(accounts):,} accounts, {done['opened']:,} payment "
                f"escalations opened  {time.perf_counter() - started:7.1f} s"
            )
        return len(accounts)

    @staticmethod
    def _figure_chunk(
        writer: BulkWriter, accounts: list[tuple[int, str, str]], seed: int, today: datetime.date
    ) -> None:
        """Revenue, contribution margin and volume of the last three years per account, a few
        product groups (with targets) for some, and for key accounts a draft plan over those
        years whose revenue and margin targets are near the actuals."""
        first_year = today.year - FIGURE_YEARS
        years = range(first_year, today.year)
        planned = set(
            Plan.objects.filter(
                account_id__in=[pk for pk, _number, _tier in accounts], start_year=first_year
            ).values_list("account_id", flat=True)
        )
        figures, plans, plan_values = [], [], []
        for account_id, number, tier in accounts:
            rng = random.Random(f"seed-bulk:figures:{seed}:{number}")  # noqa: S311  # nosec B311 # seeded synthetic data, not secrets
            revenue = rng.lognormvariate(12.5, 1.1)
            margin_rate = rng.uniform(0.08, 0.35)
            price = rng.uniform(20, 200)
            groups = (
                rng.sample(PRODUCT_GROUPS, rng.randint(2, 3))
                if rng.random() < PRODUCT_GROUP_SHARE
                else []
            )
            revenues, margins = [], []
            for year in years:
                revenue *= 1 + rng.uniform(-0.12, 0.2)
                margin = revenue * margin_rate * rng.uniform(0.85, 1.15)
                revenues.append(revenue)
                margins.append(margin)
                figures += [
                    (account_id, year, "revenue", "", "", _money(revenue), None),
                    (account_id, year, "contribution_margin", "", "", _money(margin), None),
                    (account_id, year, "volume", "", "", _money(round(revenue / price)), None),
                ]
                shares = [rng.uniform(0.5, 1.5) for _group in groups]
                for group, share in zip(groups, shares, strict=True):
                    actual = revenue * share / sum(shares)
                    target = actual * rng.uniform(0.85, 1.2)
                    figures.append(
                        (account_id, year, "revenue", group, "", _money(actual), _money(target))
                    )
            if tier and account_id not in planned:
                plans.append((account_id, first_year))
                plan_values.append(
                    [
                        [_money(v * rng.uniform(0.9, 1.15)) for v in revenues],
                        [_money(v * rng.uniform(0.9, 1.15)) for v in margins],
                    ]
                )
        writer.insert(AnnualFigure, FIGURE_COLUMNS, figures, ids=False)
        plan_ids = writer.insert(Plan, ("account_id", "start_year"), plans)
        targets = []
        for plan_id, (revenue_targets, margin_targets) in zip(plan_ids, plan_values, strict=True):
            targets.append((plan_id, Metric.REVENUE.value, 0, *revenue_targets))
            targets.append((plan_id, Metric.CONTRIBUTION_MARGIN.value, 1, *margin_targets))
        writer.insert(Target, TARGET_COLUMNS, targets, ids=False)

    def _user_pool(self, size: int) -> list[int]:
        """The ids of the first ``size`` synthetic team members, creating the missing ones
        (they cannot log in)."""
        usernames = [POOL_USERNAME.format(n) for n in range(1, size + 1)]
        existing = set(
            User.objects.filter(username__in=usernames).values_list("username", flat=True)
        )
        rng = random.Random("seed-bulk:users")  # noqa: S311 - synthetic data, not secrets  # nosec B311
        User.objects.bulk_create(
            User(
                username=username,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                # No address: the escalation run would mail every synthetic manager.
                email="",
                password=make_password(None),
            )
            for username in usernames
            if username not in existing
        )
        users = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
        group, _created = Group.objects.get_or_create(name=Role.KEY_ACCOUNT_MANAGER.value)
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=pk, group_id=group.pk) for pk in users.values()],
            ignore_conflicts=True,
        )
        return [users[username] for username in usernames]

    def _give_logins(self, password: str, pool_size: int) -> None:
        """Give the pool and one user per other role the password (hashed once, shared)."""
        hashed = make_password(password)
        for username, role in ROLE_USERS.items():
            user, _created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": "Bulk", "last_name": str(role.label), "email": ""},
            )
            group, _created = Group.objects.get_or_create(name=role.value)
            user.groups.add(group)
        usernames = [*ROLE_USERS, *(POOL_USERNAME.format(n) for n in range(1, pool_size + 1))]
        User.objects.filter(username__in=usernames).update(password=hashed)
        self.stdout.write(f"{len(usernames)} synthetic users can log in with the given password.")

    @staticmethod
    def _potential_and_attributes(
        account_ids: list[int],
        rngs: list[random.Random],
        today: datetime.date,
        attributes: dict[str, int],
    ) -> tuple[list[tuple], list[tuple]]:
        """Three years of potential and the custom attribute values per account."""
        years, values = [], []
        for account_id, rng in zip(account_ids, rngs, strict=True):
            revenue = rng.lognormvariate(13, 1.2)
            growth = rng.uniform(-0.05, 0.15)
            for offset in range(1, 4):
                expected = round(revenue * (1 + growth) ** offset, 2)
                years.append(
                    (
                        account_id,
                        today.year + offset,
                        expected,
                        round(expected * rng.uniform(0.08, 0.35), 2),
                    )
                )
            values += [
                (account_id, attributes["it_workplaces"], rng.randint(20, 6000), None),
                (account_id, attributes["strategic_importance"], rng.randint(0, 10), None),
                (account_id, attributes["cross_selling"], rng.randint(0, 10), None),
                (
                    account_id,
                    attributes["exclusive_competitor_contract"],
                    None,
                    rng.random() < 0.05,
                ),
            ]
            if rng.random() < 0.7:
                values.append(
                    (account_id, attributes["customer_requests"], rng.randint(100, 9000), None)
                )
        return years, values

    def _create_chunk(
        self,
        writer: BulkWriter,
        numbers: list[int],
        pool: list[int],
        per_account: int,
        seed: int,
        today: datetime.date,
        attributes: dict[str, int],
    ) -> None:
        """Accounts, teams, a three-level buying center, roles, factors and relationships,
        three years of potential and the selection's custom attribute values.

        Each account draws from its own generator, so its data depends only on seed and number.
        """
        rngs = [random.Random(seed * 1_000_000_007 + n) for n in numbers]  # noqa: S311  # nosec B311 # seeded synthetic data, not secrets
        account_ids = writer.insert(
            Account,
            ACCOUNT_COLUMNS,
            [self._account(number, rng) for number, rng in zip(numbers, rngs, strict=True)],
        )

        years, values = self._potential_and_attributes(account_ids, rngs, today, attributes)
        writer.insert(
            PotentialYear, ("account_id", "year", "expected_revenue", "expected_margin"), years
        )
        writer.insert(
            AccountAttributeValue, ("account_id", "attribute_id", "number", "flag"), values
        )

        members, teams = [], []
        for account_id, rng in zip(account_ids, rngs, strict=True):
            users = rng.sample(pool, 1 + rng.randint(1, 3))
            roles = [
                TeamRole.KEY_ACCOUNT_MANAGER.value,
                *rng.sample(OTHER_TEAM_ROLES, len(users) - 1),
            ]
            members += zip([account_id] * len(users), users, roles, strict=True)
            teams.append(users)
        writer.insert(AccountTeamMember, ("account_id", "user_id", "role"), members)

        # Three levels, each inserted once its managers have ids: top, department heads, staff.
        # A level holds, per account, (id, department, buying roles to pick from) per contact.
        names: list[set[tuple[str, str]]] = [set() for _ in numbers]
        heads_per_account = min(3, per_account - 1)
        levels: list[list[list[tuple[int, str, tuple[str, ...]]]]] = []
        for level, count in enumerate((1, heads_per_account, per_account - 1 - heads_per_account)):
            rows, shapes = [], []
            for index, (account_id, rng) in enumerate(zip(account_ids, rngs, strict=True)):
                mine = []
                # Purchasing always has a head; the other departments vary by account.
                heads = (
                    [HEADS[0], *rng.sample(HEADS[1:], heads_per_account - 1)]
                    if level == 1 and heads_per_account
                    else []
                )
                for position in range(count):
                    if level == 0:
                        (department, title, choices), manager = TOP, None
                    elif level == 1:
                        department, title, choices = heads[position]
                        manager = levels[0][index][0][0]
                    else:
                        manager, department, _choices = rng.choice(levels[1][index])
                        title, choices = STAFF[department]
                    first, last = self._name(rng, names[index])
                    rows.append(
                        (
                            account_id,
                            first,
                            last,
                            title,
                            department,
                            manager,
                            INFLUENCE[level],
                            rng.randint(-5, 5),
                            rng.choice(MODES),
                            today - datetime.timedelta(rng.randint(1, 365)),
                            level == 2 and rng.random() < 0.05,
                        )
                    )
                    mine.append((department, choices))
                shapes.append(mine)
            ids = iter(writer.insert(Contact, CONTACT_COLUMNS, rows))
            levels.append(
                [
                    [(next(ids), department, choices) for department, choices in mine]
                    for mine in shapes
                ]
            )

        roles, factors, relationships = [], [], []
        for index, rng in enumerate(rngs):
            team = teams[index]
            for depth, contacts in enumerate(layer[index] for layer in levels):
                for contact_id, _department, choices in contacts:
                    roles.append((contact_id, rng.choice(choices)))
                    factors += [
                        (contact_id, factor, "", rng.randint(1, 5))
                        for factor in rng.sample(FACTORS, rng.randint(1, 2))
                    ]
                    for position, user in enumerate(team):
                        if rng.random() < (0.95 if position == 0 else 0.35) - 0.2 * depth:
                            touched = today - datetime.timedelta(rng.randint(1, 300))
                            relationships.append((contact_id, user, rng.randint(1, 5), touched))
        writer.insert(ContactRole, ("contact_id", "role"), roles)
        writer.insert(
            ContactDecisionFactor, ("contact_id", "factor", "custom_name", "importance"), factors
        )
        writer.insert(
            Relationship, ("contact_id", "user_id", "strength", "last_touched"), relationships
        )

    @staticmethod
    def _account(number: int, rng: random.Random) -> tuple:
        industry, region = rng.choice(INDUSTRIES), rng.choice(REGIONS)
        legal_form = rng.choice(LEGAL_FORMS)
        name = (
            f"{rng.choice(STEMS)} {rng.choice(NAME_SUFFIXES[industry])} "
            f"{rng.choice(CITIES[region])} {legal_form}"
        )
        draw, tier, tier_rank = rng.random(), "", None
        for share, tier_name, rank in TIERS:
            if draw < share:
                tier, tier_rank = tier_name, rank
                break
        status = AccountStatus.ACTIVE if rng.random() < 0.9 else AccountStatus.PROSPECT
        return (
            name,
            erp_number(number),
            legal_form,
            industry,
            region,
            rng.choice(COUNTRIES[region]),
            status.value,
            tier,
            tier_rank,
            STRATEGIES[tier_rank] if tier_rank else "",
            rng.randint(0, 60) if tier else None,
        )

    @staticmethod
    def _name(rng: random.Random, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """A first and last name not yet used at this account (the contact's natural key)."""
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (last, first) not in taken:
                taken.add((last, first))
                return first, last
