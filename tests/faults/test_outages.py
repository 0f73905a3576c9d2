"""PostgreSQL or Redis unreachable: the request gets a translated 503 page with Retry-After
instead of a 500, the app answers normally as soon as the service is back, and a job started
while the broker is down stays queued for the recovery sweep. Outages are made with closed
ports in this process only; the shared PostgreSQL and Redis are never stopped."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from kam.celery import app
from kam.models import Job

CLOSED_PORT = 9  # discard: nothing listens on it here


@pytest.fixture
def client_of(cast):
    def make(user) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        return client

    return make


def _assert_outage_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "<h1" in page
    assert "503" in page
    assert "Traceback" not in page


def test_the_database_down_answers_503_and_the_app_recovers(transactional_db, cast, client_of):
    client = client_of(cast.kam)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = CLOSED_PORT
    try:
        down = client.get(reverse("kam:home"), HTTP_ACCEPT_LANGUAGE="en")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port

    _assert_outage_page(down)
    assert "The app is briefly unavailable" in down.content.decode()
    back = client.get(reverse("kam:home"))
    assert back.status_code == 200


def test_the_cache_redis_down_answers_503_and_the_app_recovers(cast, client_of, settings):
    client = client_of(cast.kam)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
        }
    }

    down = client.get(reverse("accounts:account-list"))

    _assert_outage_page(down)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert client.get(reverse("accounts:account-list")).status_code == 200


def test_a_real_error_still_answers_500(cast, client_of, settings):
    settings.ROOT_URLCONF = "tests.faults.urls_broken"

    response = client_of(cast.kam).get("/broken/")

    assert response.status_code == 500
    assert "Retry-After" not in response


@pytest.fixture
def broker_down():
    """Point the Celery app at a closed port, then back (the shared Redis keeps running)."""
    previous, eager = app.conf.broker_url, app.conf.task_always_eager
    # Celery keeps its connection pool once made; a fresh one is made from the changed URL.
    app._pool = None
    app.conf.broker_url, app.conf.task_always_eager = f"redis://127.0.0.1:{CLOSED_PORT}/0", False
    yield
    app._pool = None
    app.conf.broker_url, app.conf.task_always_eager = previous, eager


def test_starting_a_job_while_the_broker_is_down_keeps_it_queued(
    transactional_db, cast, client_of, broker_down
):
    response = client_of(cast.admin).post(reverse("kam:job-system-check"))

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    assert job.state == Job.State.QUEUED
    assert job.heartbeat_at is not None
