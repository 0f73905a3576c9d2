"""Build a believable German demo programme. Idempotent: a second run changes nothing."""

import random

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Account, AccountTeamMember, Industry, Region, TeamRole
from kam.models import User
from kam.roles import Role

DEMO_PASSWORD = "kam-demo-2026"  # noqa: S105 - printed for the demo on purpose

# username, first name, last name, roles, staff/superuser
DEMO_USERS = (
    ("leitung", "Katrin", "Vogel", (Role.SALES_LEADERSHIP,), False),
    ("kam.becker", "Jonas", "Becker", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("kam.wolf", "Sabine", "Wolf", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("kam.aydin", "Murat", "Aydın", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("mentor", "Heinz", "Albrecht", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("finanz", "Petra", "Schulz", (Role.FINANCE,), False),
    ("gast", "Lena", "Krüger", (Role.VIEWER,), False),
    ("admin", "Thomas", "Richter", (Role.ADMINISTRATOR,), True),
)

NAME_STEMS = (
    "Müller",
    "Schneider",
    "Hoffmann",
    "Brandt",
    "Lindner",
    "Weber",
    "Kessler",
    "Hartmann",
    "Baumann",
    "Zimmermann",
    "Friedrich",
    "Lorenz",
    "Seidel",
    "Vogt",
    "Kraus",
    "Böhm",
)
NAME_SUFFIXES = {
    Industry.AUTOMOTIVE: ("Automotive", "Fahrzeugtechnik", "Zulieferteile"),
    Industry.MECHANICAL_ENGINEERING: ("Maschinenbau", "Antriebstechnik", "Anlagenbau"),
    Industry.CHEMICALS: ("Chemie", "Pharma", "Kunststoffe"),
    Industry.ELECTRONICS: ("Elektrotechnik", "Sensorik", "Elektronik"),
    Industry.RETAIL: ("Handelshaus", "Großhandel", "Warenhaus"),
    Industry.LOGISTICS: ("Logistik", "Spedition", "Transport"),
    Industry.FOOD: ("Lebensmittel", "Feinkost", "Getränke"),
    Industry.ENERGY: ("Energie", "Stadtwerke", "Solartechnik"),
    Industry.HEALTHCARE: ("Medizintechnik", "Kliniken", "Labordiagnostik"),
    Industry.PUBLIC_SECTOR: ("Verband", "Genossenschaft", "Zweckverband"),
}
LEGAL_FORMS = ("GmbH", "AG", "GmbH & Co. KG", "SE", "KG")
REGION_COUNTRIES = {
    Region.NORTH: ("DE",),
    Region.EAST: ("DE",),
    Region.SOUTH: ("DE", "AT"),
    Region.WEST: ("DE", "NL"),
    Region.INTERNATIONAL: ("CH", "FR", "IT", "PL", "US"),
}
ACCOUNT_COUNT = 80


def demo_accounts() -> list[dict[str, str]]:
    """The same 80 accounts every time (a fixed seed), each with a unique name and number."""
    rng = random.Random(2026)
    industries, regions = list(Industry), list(Region)
    accounts, names = [], set()
    while len(accounts) < ACCOUNT_COUNT:
        industry = rng.choice(industries)
        region = rng.choice(regions)
        stem, suffix = rng.choice(NAME_STEMS), rng.choice(NAME_SUFFIXES[industry])
        name = f"{stem} {suffix} {rng.choice(LEGAL_FORMS)}"
        if name in names:
            continue
        names.add(name)
        accounts.append(
            {
                "erp_number": f"D{10000 + len(accounts) * 37:06d}",
                "name": name,
                "industry": industry,
                "region": region,
                "country": rng.choice(REGION_COUNTRIES[region]),
            }
        )
    return accounts


class Command(BaseCommand):
    help = "Load demo users and accounts for a German KAM programme (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        users = self._users()
        accounts = self._accounts()
        self._teams(users, accounts)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(accounts)} accounts."))
        self.stdout.write(f"Log in at http://127.0.0.1:8000/ with password {DEMO_PASSWORD!r}:")
        for username, first, last, roles, _staff in DEMO_USERS:
            labels = ", ".join(str(role.label) for role in roles)
            self.stdout.write(f"  {username:<12} {first} {last} ({labels})")

    def _users(self) -> dict[str, User]:
        users = {}
        for username, first, last, roles, staff in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@kam-demo.example",
                    "is_staff": staff,
                    "is_superuser": staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                user.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
            users[username] = user
        return users

    def _accounts(self) -> list[Account]:
        rows = demo_accounts()
        existing = set(
            Account.objects.filter(erp_number__in=[r["erp_number"] for r in rows]).values_list(
                "erp_number", flat=True
            )
        )
        Account.objects.bulk_create(Account(**r) for r in rows if r["erp_number"] not in existing)
        return list(
            Account.objects.filter(erp_number__in=[r["erp_number"] for r in rows]).order_by(
                "erp_number"
            )
        )

    def _teams(self, users: dict[str, User], accounts: list[Account]) -> None:
        # The first 30 accounts are the key accounts, worked by three KAMs in turn; a mentor
        # and leadership's executive sponsorship on every fifth.
        kams = [users["kam.becker"], users["kam.wolf"], users["kam.aydin"]]
        members = []
        for index, account in enumerate(accounts[:30]):
            members.append(
                AccountTeamMember(
                    account=account, user=kams[index % 3], role=TeamRole.KEY_ACCOUNT_MANAGER
                )
            )
            deputy = kams[(index + 1) % 3]
            members.append(AccountTeamMember(account=account, user=deputy, role=TeamRole.DEPUTY))
            if index % 5 == 0:
                members.append(
                    AccountTeamMember(account=account, user=users["mentor"], role=TeamRole.MENTOR)
                )
                members.append(
                    AccountTeamMember(
                        account=account, user=users["leitung"], role=TeamRole.EXECUTIVE_SPONSOR
                    )
                )
        AccountTeamMember.objects.bulk_create(members, ignore_conflicts=True)
