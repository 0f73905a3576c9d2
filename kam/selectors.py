"""Reads of the platform, already scoped to what the user may see."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404

from kam import access
from kam.filters import JobFilterSet
from kam.models import Job, Notification, User


def job_filterset(*, user: User, data: QueryDict | None) -> JobFilterSet:
    """The jobs the user may see, newest first, filtered by ``data``; ``.qs`` holds the rows."""
    queryset = access.scope_jobs(user, Job.objects.select_related("created_by"))
    return JobFilterSet(data, queryset=queryset)


def job_get(*, user: User, pk: int) -> Job:
    """One job the user may see; raises Http404 otherwise."""
    return get_object_or_404(
        access.scope_jobs(user, Job.objects.select_related("created_by")), pk=pk
    )


def health_problems() -> dict[str, str]:
    """Ask the database and, when configured, the broker; return the ones that fail.

    The reasons are short and generic so the public health endpoint leaks nothing.
    """
    problems: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        problems["database"] = "unavailable"
    if settings.CELERY_BROKER_URL:
        try:
            client = redis.Redis.from_url(
                settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
            )
            client.ping()
        except (redis.RedisError, OSError):
            problems["broker"] = "unavailable"
    return problems


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first (nobody reads another's)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def notification_get(*, user: User, pk: int) -> Notification:
    try:
        return notifications_of(user=user).get(pk=pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc


def unread_notification_count(*, user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
