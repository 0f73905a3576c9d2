"""The four users' journeys through KAM, for locust (see loadtest/run.sh and README).

Each simulated user logs in through the real login form once, then walks pages the way its
role does: a key account manager works on the own accounts (home, list, account tabs, plan,
buying center), sales leadership looks at the programme (selection, portfolio, dashboard,
plans, account lists with filters), finance at payment escalations and account KPIs, and a
mentor (a team member who is not the manager) reads plans and accounts of the own teams.
Accounts are picked from the links the list pages show, so every request is one a person
could make. Users and passwords come from ``seed_bulk --password``.

Page views are named by route (``/accounts/[id]/``), so the statistics group them per page.
The server is gunicorn on loopback, speaking TLS itself with a throwaway certificate
(loadtest/run.sh), so production settings apply unchanged: Secure cookies, HTTPS-only CSRF.
"""

from __future__ import annotations

import os
import random
import re

import urllib3
from locust import HttpUser, between, task

# The run's own certificate (run.sh) is not verified; say so once, not per request.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

PASSWORD = os.environ.get("KAM_LOAD_PASSWORD", "kam-load-2026")
POOL_SIZE = int(os.environ.get("KAM_LOAD_POOL", "50"))
ACCOUNT_LINK = re.compile(r'href="/accounts/(\d+)/"')
PLAN_LINK = re.compile(r'href="/plans/(\d+)/"')
ESCALATION_LINK = re.compile(r'href="/payments/(\d+)/"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class KamUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    username = ""

    def on_start(self) -> None:
        origin = self.host.rstrip("/")
        # The certificate is the run's own, made by run.sh; browsers send Origin on POSTs.
        self.client.verify = False
        self.client.headers.update({"Origin": origin, "Referer": origin + "/"})
        self.known_accounts: list[str] = []
        self.login()

    def login(self) -> None:
        page = self.client.get("/auth/login/", name="/auth/login/")
        token = CSRF_INPUT.search(page.text)
        with self.client.post(
            "/auth/login/",
            {
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="login (POST)",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login of {self.username} failed: HTTP {response.status_code}")

    def page(self, url: str, name: str | None = None) -> str:
        """GET a page; anything but 200, or landing on the login page, counts as a failure."""
        with self.client.get(url, name=name or url, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif "/auth/login/" in response.url:
                response.failure("sent to the login page: the session is gone")
            return response.text or ""

    def pick_account(self) -> str | None:
        """One of the accounts the last list showed (helpers are not named like tasks: a
        task of the same name would shadow them)."""
        return random.choice(self.known_accounts) if self.known_accounts else None  # noqa: S311

    def remember_accounts(self, html: str) -> None:
        found = ACCOUNT_LINK.findall(html)
        if found:
            self.known_accounts = found[:50]


class KeyAccountManager(KamUser):
    weight = 5

    def on_start(self) -> None:
        self.username = f"bulk.kam{random.randint(2, POOL_SIZE):02d}"  # noqa: S311
        super().on_start()
        self.remember_accounts(self.page("/"))

    @task(3)
    def home(self) -> None:
        self.remember_accounts(self.page("/"))

    @task(2)
    def account_list(self) -> None:
        self.page("/accounts/")

    @task(5)
    def account_tabs(self) -> None:
        pk = self.pick_account()
        if pk is None:
            return
        self.page(f"/accounts/{pk}/", "/accounts/[id]/")
        tab = random.choice(  # noqa: S311
            ["buying-center", "relationships", "team", "potential", "kpis", "plan", "selection"]
        )
        self.page(f"/accounts/{pk}/{tab}/", f"/accounts/[id]/{tab}/")

    @task(1)
    def plans(self) -> None:
        self.page("/plans/")
        self.page("/plans/actions/")


class SalesLeadership(KamUser):
    weight = 2
    username = "bulk.leitung"

    def on_start(self) -> None:
        super().on_start()
        self.remember_accounts(self.page("/accounts/?tier=Gold", "/accounts/?tier=…"))

    @task(2)
    def home(self) -> None:
        self.page("/")

    @task(3)
    def programme(self) -> None:
        self.page("/kpis/")

    @task(2)
    def selection(self) -> None:
        self.page("/selection/")
        self.page("/selection/portfolio/")

    @task(2)
    def lists(self) -> None:
        region = random.choice(["north", "south", "east", "west"])  # noqa: S311
        self.remember_accounts(
            self.page(f"/accounts/?tier=Gold&region={region}", "/accounts/?tier=…&region=…")
        )
        self.page("/plans/")

    @task(3)
    def account(self) -> None:
        pk = self.pick_account()
        if pk is not None:
            self.page(f"/accounts/{pk}/", "/accounts/[id]/")
            self.page(f"/accounts/{pk}/kpis/", "/accounts/[id]/kpis/")


class Finance(KamUser):
    weight = 2
    username = "bulk.finanz"

    def on_start(self) -> None:
        super().on_start()
        self.page("/payments/")

    @task(3)
    def queue(self) -> None:
        html = self.page("/payments/")
        found = ESCALATION_LINK.findall(html)
        if found:
            pk = random.choice(found)  # noqa: S311
            self.page(f"/payments/{pk}/", "/payments/[id]/")

    @task(2)
    def invoices(self) -> None:
        self.page("/payments/invoices/")

    @task(2)
    def accounts(self) -> None:
        self.remember_accounts(self.page("/accounts/?tier=Silver", "/accounts/?tier=…"))
        pk = self.pick_account()
        if pk is not None:
            self.page(f"/accounts/{pk}/kpis/", "/accounts/[id]/kpis/")
            self.page(f"/accounts/{pk}/escalations/", "/accounts/[id]/escalations/")

    @task(1)
    def home(self) -> None:
        self.page("/")


class Mentor(KamUser):
    """A team member who is not the manager: ``bulk.kam01`` is on teams in every role."""

    weight = 1
    username = "bulk.kam01"

    def on_start(self) -> None:
        super().on_start()
        self.remember_accounts(self.page("/"))
        self.page("/plans/")

    @task(3)
    def plan(self) -> None:
        pk = self.pick_account()
        if pk is not None:
            self.page(f"/accounts/{pk}/plan/", "/accounts/[id]/plan/")

    @task(2)
    def plans(self) -> None:
        html = self.page("/plans/")
        found = PLAN_LINK.findall(html)
        if found:
            pk = random.choice(found)  # noqa: S311
            self.page(f"/plans/{pk}/", "/plans/[id]/")

    @task(1)
    def home(self) -> None:
        self.page("/")
