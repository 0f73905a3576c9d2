"""PostgreSQL and Redis really restarted under load (issue 8). Proven, while clients keep
reading pages and adding contacts through the real form:

- while a service is down, a request that needs it answers the translated 503 page with
  Retry-After; no request answers 500, loses its connection or times out, and no gunicorn
  worker dies or is replaced. Logging in and starting a job need no Redis: both work while
  it is down, and the job waits, queued, for the recovery sweep (tests/faults/test_jobs.py);
- every request sent once the service has started again answers normally (no stale
  connection fails it), every page within RECOVERY_SECONDS, from the same gunicorn workers
  and in the same browser sessions; a job started then reaches the new broker;
- every contact whose save was acknowledged is in the database afterwards, once, a crash of
  PostgreSQL (``pg_ctl stop -m immediate``, replayed from the WAL at start) included;
- a restart while no request is in flight, so that the workers still hold their database,
  cache and broker connections from before, costs the next requests nothing either.

Sessions live in PostgreSQL (Django's database session backend), so neither restart logs
anyone out; the cache lives in Redis and comes back empty, and the lists fill it again.

The app runs as in production: gunicorn with two sync workers, DEBUG off, persistent database
connections with health checks (DATABASE_CONN_MAX_AGE=60 as in .env.example), the cache and
the Celery broker on Redis. Only KAM_TESTING stays on, for the fast password hasher and static
files without collectstatic; neither is on the path of an outage. The services are the test's
own, a PostgreSQL cluster made by initdb and a redis-server, each on a free port, so the shared
ones on 5432 and 6379 are never stopped. CI runs the short variant (PostgreSQL crashed and
Redis restarted, a few seconds down each); --long stops each service both ways, for longer and
under more clients.
"""

import contextlib
import itertools
import math
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import pytest
import requests
from django.conf import settings
from django.utils import translation

from kam.views import RETRY_AFTER_SECONDS
from tests.faults.private_services import (
    PrivatePostgres,
    PrivateRedis,
    Server,
    postgres_bin,
    wait_for,
)

PASSWORD = "restart-2026"  # of the users seeded into the private database
ADMIN = "admin"  # a superuser, who may start the system check: a job through the broker
RECOVERY_SECONDS = 10
# Shorter than gunicorn's 30 s worker timeout: a request that hangs fails the test before
# gunicorn would kill its worker.
REQUEST_TIMEOUT = (3, 25)
PAUSE = 0.05  # between one client's requests, so two cores also serve the database
BASELINE_SECONDS = 1.0
SETTLE_SECONDS = 1.0
JOBS_PER_CHECK = 4  # enough that both gunicorn workers almost surely take one
# The server's queue: its environment has no PYTEST_XDIST_WORKER (see kam/settings.py).
BROKER_QUEUE = "celery"


@dataclass
class Stack:
    postgres: PrivatePostgres
    redis: PrivateRedis
    server: Server
    kam: str  # a key account manager, who may add contacts to ``account_pk``
    account_pk: int


# Synthetic accounts with teams, contacts, figures, plans and invoices (as the load test's),
# their users' password, and a superuser; one process, as each start of Django costs a second.
SEED = (
    "from django.core.management import call_command; from kam.models import User; "
    f"call_command('seed_bulk', accounts=20, password={PASSWORD!r}); "
    f"User.objects.create_superuser({ADMIN!r}, 'admin@example.com', {PASSWORD!r})"
)


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The private PostgreSQL (migrated and seeded) and Redis, and gunicorn on them; shared by
    the module's tests, which each restart the services as they need."""
    bin_dir, redis_server = postgres_bin(), shutil.which("redis-server")
    if bin_dir is None or redis_server is None:
        pytest.skip("Needs PostgreSQL's initdb and pg_ctl and redis-server on this machine.")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("Run as root, the private cluster needs the OS user postgres.")
    tmp = tmp_path_factory.mktemp("restarts")
    with contextlib.ExitStack() as cleanup:
        postgres = PrivatePostgres(bin_dir)
        cleanup.callback(postgres.remove)
        postgres.create()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "kam.settings",
            "KAM_TESTING": "true",
            "DEBUG": "false",
            "DATABASE_URL": postgres.url,
            "MEDIA_ROOT": str(tmp / "media"),
            "LOG_LEVEL": "WARNING",
        }
        _manage(env, "migrate", "--noinput")
        # Seeded before the broker is configured, so the seed's own jobs run in-process.
        _manage(env, "shell", "-c", SEED)
        cache = PrivateRedis(redis_server, tmp)
        cleanup.callback(cache.remove)
        cache.start()
        server = Server(
            {
                **env,
                "DATABASE_CONN_MAX_AGE": "60",
                "CACHE_URL": cache.url(1).replace("redis://", "rediscache://"),
                "CELERY_BROKER_URL": cache.url(0),
            },
            tmp / "gunicorn.log",
        )
        cleanup.callback(server.stop)
        server.wait_ready()
        [(kam, account_pk)] = postgres.query(
            "SELECT u.username, m.account_id FROM accounts_accountteammember m"
            " JOIN kam_user u ON u.id = m.user_id WHERE m.role = 'key_account_manager'"
            " ORDER BY m.account_id LIMIT 1"
        )
        yield Stack(postgres, cache, server, kam, account_pk)


OK = "ok"
OUTAGE = "503 page"
LOGIN = "POST /auth/login/"
JOB_START = "POST /jobs/system-check/"


class Answer(NamedTuple):
    started: float
    finished: float
    request: str
    verdict: str  # OK, OUTAGE, or what went wrong


def outage_heading() -> str:
    with translation.override("de"):
        heading = translation.gettext("The app is briefly unavailable")
    assert heading != "The app is briefly unavailable", "compile the messages first"
    return heading


def post(client: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    return client.post(
        url,
        data,
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )


def visitor(host: str) -> requests.Session:
    """A German browser that has opened the login page, so it holds a CSRF cookie."""
    client = requests.Session()
    client.headers["Accept-Language"] = "de"
    client.get(f"{host}/auth/login/", timeout=REQUEST_TIMEOUT).raise_for_status()
    return client


def log_in(client: requests.Session, host: str, username: str) -> requests.Response:
    return post(client, f"{host}/auth/login/", {"username": username, "password": PASSWORD})


def entered(response: requests.Response) -> bool:
    return response.status_code == 302 and response.headers["Location"] == "/"


def logged_in(host: str, username: str) -> requests.Session:
    client = visitor(host)
    assert entered(log_in(client, host, username)), f"{username} could not log in"
    return client


class Load:
    """Clients of one key account manager that keep reading pages and adding contacts until
    stopped, each logged in once in its own session. Every answer is recorded (a redirect to
    the login page counts as a failure: the session was lost), and every contact whose save
    was acknowledged, by the redirect to the buying center."""

    def __init__(self, stack: Stack, *, readers: int, prefix: str) -> None:
        self.host, self.prefix = stack.server.host, prefix
        self.pages = self.pages_of(stack.account_pk)
        self.contact_path = f"/accounts/{stack.account_pk}/contacts/new/"
        self.requests = {f"GET {path}" for path in self.pages} | {f"POST {self.contact_path}"}
        self.heading = outage_heading()
        self.answers: list[Answer] = []
        self.acknowledged: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=work, args=(logged_in(self.host, stack.kam), n), daemon=True)
            for n, work in enumerate([self._write] + [self._read] * readers)
        ]

    @staticmethod
    def pages_of(account_pk: int) -> list[str]:
        return [
            "/",
            "/accounts/",  # reads its choices and counts through the Redis cache
            f"/accounts/{account_pk}/",
            f"/accounts/{account_pk}/buying-center/",
            "/plans/",  # reads its filter choices through the Redis cache
            "/payments/",
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def verdict(self, response: requests.Response, ok: Callable[[requests.Response], bool]) -> str:
        if ok(response):
            return OK
        if response.status_code == 503:
            if response.headers.get("Retry-After") != str(RETRY_AFTER_SECONDS):
                return "503 without Retry-After"
            if self.heading not in response.text:
                return "503 without the translated outage page"
            return OUTAGE
        if response.headers.get("Location", "").startswith("/auth/login/"):
            return "sent to the login page: the session is gone"
        return f"HTTP {response.status_code}"

    def call(
        self,
        request: str,
        send: Callable[[], requests.Response],
        ok: Callable[[requests.Response], bool],
    ) -> requests.Response | None:
        """Send, record the answer, and return the response if ``ok`` holds for it."""
        started, response = time.monotonic(), None
        try:
            response = send()
            verdict = self.verdict(response, ok)
        except requests.RequestException as error:
            verdict = f"no answer: {type(error).__name__}"
        self.answers.append(Answer(started, time.monotonic(), request, verdict))
        return response if verdict == OK else None

    def _read(self, client: requests.Session, offset: int) -> None:
        pages = self.pages[offset:] + self.pages[:offset]
        for path in itertools.cycle(pages):
            if self._stop.is_set():
                return
            self.call(
                f"GET {path}",
                lambda path=path: client.get(
                    self.host + path, allow_redirects=False, timeout=REQUEST_TIMEOUT
                ),
                lambda response: response.status_code == 200,
            )
            self._stop.wait(PAUSE)

    def _write(self, client: requests.Session, _offset: int) -> None:
        for number in itertools.count(1):
            if self._stop.is_set():
                return
            name = f"{self.prefix}-{number:05d}"
            form = {
                "last_name": name,
                "influence": "medium",
                "attitude": "0",
                "factors-TOTAL_FORMS": "0",
                "factors-INITIAL_FORMS": "0",
            }
            saved = self.call(
                f"POST {self.contact_path}",
                lambda form=form: post(client, self.host + self.contact_path, form),
                lambda response: (
                    response.status_code == 302
                    and response.headers["Location"].endswith("/buying-center/")
                ),
            )
            if saved is not None:
                self.acknowledged.append(name)
            self._stop.wait(PAUSE)


@dataclass
class Restart:
    """One service stopped and started again; :func:`down` records when (time.monotonic())."""

    name: str
    stop: Callable[[], None]
    start: Callable[[], None]
    needed_by_every_page: bool
    stopping_at: float = 0.0
    stopped_at: float = 0.0
    starting_at: float = 0.0
    started_at: float = 0.0
    recovered_at: float = 0.0


def restart_postgres(stack: Stack, mode: str) -> Restart:
    return Restart(
        f"PostgreSQL (pg_ctl stop -m {mode})",
        lambda: stack.postgres.stop(mode),
        stack.postgres.start,
        needed_by_every_page=True,  # the session and the user, at least, are read from it
    )


def restart_redis(stack: Stack, signum: signal.Signals) -> Restart:
    return Restart(
        f"Redis ({signum.name})",
        lambda: stack.redis.stop(signum),
        stack.redis.start,
        needed_by_every_page=False,  # only the lists that read the cache
    )


@contextlib.contextmanager
def down(restart: Restart) -> Iterator[None]:
    """The service stopped for the body, and started again even if the body fails, so the
    module's next test finds it running."""
    restart.stopping_at = time.monotonic()
    restart.stop()
    restart.stopped_at = time.monotonic()
    try:
        yield
    finally:
        restart.starting_at = time.monotonic()
        restart.start()
        restart.started_at = time.monotonic()


def wait_recovered(load: Load, since: float) -> float:
    """Wait until every page and the contact form have answered a client well again, each to
    a request sent after ``since``; return the time the last of them did."""

    def first_answers() -> dict[str, float]:
        first: dict[str, float] = {}
        for answer in list(load.answers):
            if answer.started >= since and answer.verdict == OK:
                first[answer.request] = min(answer.finished, first.get(answer.request, math.inf))
        return first

    wait_for(
        lambda: first_answers().keys() >= load.requests,
        timeout=RECOVERY_SECONDS,
        what="every page and the contact form to answer",
    )
    return max(first_answers()[request] for request in load.requests)


def start_job(stack: Stack, admin: requests.Session) -> requests.Response:
    return post(admin, stack.server.host + JOB_START.split()[1], {})


def start_jobs(stack: Stack, admin: requests.Session) -> None:
    """Start system checks and see each one's message arrive in the broker."""
    broker = stack.redis.client(0)
    queued = broker.llen(BROKER_QUEUE)
    for _ in range(JOBS_PER_CHECK):
        response = start_job(stack, admin)
        assert response.status_code == 302, response.status_code
    assert broker.llen(BROKER_QUEUE) == queued + JOBS_PER_CHECK, (
        f"a job's message did not reach the broker\n{stack.server.log_tail()}"
    )


def restart_under_load(
    stack: Stack, restarts: list[Restart], *, down_seconds: float, readers: int, prefix: str
) -> None:
    """Run the load, restart each service in turn, then check every answer and every write.
    Halfway through each outage a new visitor logs in and the admin starts a job."""
    host, workers = stack.server.host, stack.server.workers()
    admin, newcomer = logged_in(host, ADMIN), visitor(host)
    # The workers open their broker connections now, so the restarts leave them stale.
    start_jobs(stack, admin)
    load = Load(stack, readers=readers, prefix=prefix)
    jobs_while_down: list[int] = []
    began = time.monotonic()
    load.start()
    try:
        time.sleep(BASELINE_SECONDS)
        for restart in restarts:
            with down(restart):
                time.sleep(down_seconds / 2)
                load.call(LOGIN, lambda: log_in(newcomer, host, stack.kam), entered)
                job = load.call(
                    JOB_START, lambda: start_job(stack, admin), lambda r: r.status_code == 302
                )
                if job is not None:
                    jobs_while_down.append(int(job.headers["Location"].strip("/").split("/")[-1]))
                time.sleep(down_seconds / 2)
            restart.recovered_at = wait_recovered(load, restart.started_at)
            start_jobs(stack, admin)
            time.sleep(SETTLE_SECONDS)
    finally:
        load.stop()
    ended = time.monotonic()
    print(f"\n{len(load.answers)} answers in {ended - began:.1f} s")

    check_answers(load.answers, restarts, ended=ended, log=stack.server.log_tail())
    assert stack.server.process.poll() is None
    assert stack.server.workers() == workers, "a gunicorn worker died or was replaced"
    stored = Counter(
        name
        for (name,) in stack.postgres.query(
            "SELECT last_name FROM accounts_contact WHERE last_name LIKE %s", f"{prefix}-%"
        )
    )
    lost = sorted(set(load.acknowledged) - set(stored))
    assert not lost, f"acknowledged, but not in the database: {lost}"
    assert set(stored.values()) == {1}
    assert any(
        a.started >= restarts[-1].recovered_at
        and a.request == f"POST {load.contact_path}"
        and a.verdict == OK
        for a in load.answers
    ), "no contact was saved after the last restart"
    print(f"{len(load.acknowledged)} contacts acknowledged, every one stored once")
    # A job started while the broker was down waits, queued, for the recovery sweep.
    assert jobs_while_down
    assert stack.postgres.query(
        "SELECT DISTINCT state FROM kam_job WHERE id = ANY(%s)", jobs_while_down
    ) == [("queued",)]


def check_answers(
    answers: list[Answer], restarts: list[Restart], *, ended: float, log: str
) -> None:
    """Only the 503 page went wrong, only while a service was down, and every request sent
    after its start answered normally."""
    failed = Counter(f"{a.request}: {a.verdict}" for a in answers if a.verdict not in {OK, OUTAGE})
    assert not failed, f"{failed}\n{log}"
    before = [a for a in answers if a.finished < restarts[0].stopping_at]
    assert before
    assert all(a.verdict == OK for a in before), Counter(a.verdict for a in before)
    next_stops = [r.stopping_at for r in restarts[1:]] + [ended]
    for restart, next_stop in zip(restarts, next_stops, strict=True):
        while_down = [a for a in answers if restart.stopped_at <= a.started < restart.starting_at]
        outages = [a for a in while_down if a.verdict == OUTAGE]
        assert outages, f"nobody saw {restart.name} down: {Counter(a.request for a in while_down)}"
        if restart.needed_by_every_page:
            assert len(outages) == len(while_down), f"{restart.name} down, yet a page answered"
        else:
            # Logging in and starting a job need no cache, and a job waits for the broker.
            assert [
                (a.request, a.verdict) for a in while_down if a.request in {LOGIN, JOB_START}
            ] == [(LOGIN, OK), (JOB_START, OK)]
        back = [a for a in answers if restart.started_at <= a.started and a.finished < next_stop]
        assert back
        late = [
            f"{a.started - restart.started_at:.2f} s after the start: {a.request}: {a.verdict}"
            for a in back
            if a.verdict != OK
        ]
        assert not late, f"after {restart.name} was back: {late}\n{log}"
        slowest = max(a.finished - a.started for a in outages)
        first = min(a.finished for a in back) - restart.started_at
        every = restart.recovered_at - restart.started_at
        print(
            f"{restart.name}: {len(outages)} of {len(while_down)} answers the 503 page while"
            f" down, each within {slowest:.2f} s ({dict(Counter(a.request for a in outages))});"
            f" after the start a first 200 in {first:.1f} s, every page in {every:.1f} s"
        )


def restart_while_idle(stack: Stack, restarts: list[Restart]) -> None:
    """Restart each service with no request in flight, so the gunicorn workers still hold their
    connections from before (database, cache pool, broker); then the first requests, several
    at once so that each worker takes some, must all answer normally."""
    host = stack.server.host
    clients = [logged_in(host, stack.kam) for _ in range(3)]
    admin = logged_in(host, ADMIN)
    pages = Load.pages_of(stack.account_pk)

    def read_all(client: requests.Session) -> list[int]:
        return [
            client.get(host + path, allow_redirects=False, timeout=REQUEST_TIMEOUT).status_code
            for path in pages
        ]

    for restart in restarts:
        with down(restart):
            pass
        with ThreadPoolExecutor(len(clients)) as pool:
            statuses = Counter(itertools.chain.from_iterable(pool.map(read_all, clients)))
        assert statuses == {200: len(clients) * len(pages)}, (
            f"after {restart.name} while idle: {statuses}\n{stack.server.log_tail()}"
        )
        start_jobs(stack, admin)


def test_postgres_crash_and_redis_restart_under_load(stack) -> None:
    restart_under_load(
        stack,
        [restart_postgres(stack, "immediate"), restart_redis(stack, signal.SIGTERM)],
        down_seconds=2,
        readers=2,
        prefix="Restart-short",
    )
    restart_while_idle(
        stack, [restart_postgres(stack, "fast"), restart_redis(stack, signal.SIGTERM)]
    )


@pytest.mark.long
def test_every_kind_of_restart_under_more_load(stack) -> None:
    restart_under_load(
        stack,
        [
            restart_postgres(stack, "fast"),
            restart_postgres(stack, "immediate"),
            restart_redis(stack, signal.SIGTERM),
            restart_redis(stack, signal.SIGKILL),
        ],
        down_seconds=10,
        readers=4,
        prefix="Restart-long",
    )
    restart_while_idle(
        stack,
        [
            restart_postgres(stack, "fast"),
            restart_postgres(stack, "immediate"),
            restart_redis(stack, signal.SIGTERM),
            restart_redis(stack, signal.SIGKILL),
        ],
    )
