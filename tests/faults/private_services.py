"""Processes of a test's own: a PostgreSQL cluster made by initdb, a redis-server and gunicorn,
each on a free port, to be stopped and started as an outage would (tests/faults/test_restarts.py);
the shared PostgreSQL and Redis are never touched."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis
import requests
from django.conf import settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: from PATH, else the newest Debian/Ubuntu install."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    installs = [
        initdb
        for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if initdb.parent.parent.name.isdigit()
    ]
    newest = max(installs, default=None, key=lambda initdb: int(initdb.parent.parent.name))
    return newest.parent if newest else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own in a temporary folder, on a free port, with the
    database ``kam``; stopped by an administrator (``fast``) or as in a crash (``immediate``)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Not under pytest's tmp_path: only the test's user may enter that, and the cluster
        # runs as ``postgres`` when the test runs as root (initdb refuses root).
        self.root = Path(tempfile.mkdtemp(prefix="kam-pg-"))
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/kam"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self.as_owner, str(self.bin_dir / tool), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"{tool} {args[-1]} failed: {result.stdout}{result.stderr}")

    def create(self) -> None:
        self._run(
            "initdb", "-D", str(self.root / "data"), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        self.start()
        with psycopg.connect(self.url.replace("/kam", "/postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE kam")

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"), "-w",
            "-t", "60", "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
            "start",
        )  # fmt: skip

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url) as connection:
            return connection.execute(sql, params).fetchall()


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence: a restart empties
    it, as a crash of an unpersisted cache would."""

    def __init__(self, executable: str, root: Path) -> None:
        self.executable, self.port = executable, free_port()
        self.config = root / "redis.conf"
        self.config.write_text(
            f'port {self.port}\nbind 127.0.0.1\nsave ""\nappendonly no\ndaemonize no\n'
            f"dir {root}\nlogfile {root / 'redis.log'}\n"
        )
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_timeout=5)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                return bool(self.client(0).ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=20, what="redis-server to answer")

    def stop(self, signum: int) -> None:
        """SIGTERM: Redis shuts down in order; SIGKILL: it dies as in a crash."""
        assert self.process is not None
        self.process.send_signal(signum)
        self.process.wait(timeout=20)

    def remove(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop(signal.SIGKILL)


class Server:
    """gunicorn with two sync workers; logs go to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port, self.log = free_port(), log
        self.host = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    Path(sys.executable).parent / "gunicorn",
                    "kam.wsgi:application",
                    f"--bind=127.0.0.1:{self.port}",
                    "--workers=2",
                    "--timeout=30",
                ],
                env=env,
                cwd=settings.BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        def ready() -> bool:
            try:
                return requests.get(f"{self.host}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_for(ready, timeout=60, what="gunicorn to answer /healthz")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tail()}") from None

    def workers(self) -> set[int]:
        """The process ids of gunicorn's workers (a replaced worker has a new one)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # a quick shutdown: the test is over
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
