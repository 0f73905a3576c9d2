import sys

import kombu.exceptions
import redis.exceptions
from django import db
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView, ListView, TemplateView
from django.views.i18n import set_language

from kam import access, selectors, services
from kam.models import Job
from kam.roles import Role
from kpis.selectors import home as kpi_selectors
from payments import selectors as payment_selectors
from plans import selectors as plan_selectors


class HomeView(TemplateView):
    """The start page: the user's areas and today's work on their accounts, with each
    account's KPIs against plan (see kpis.selectors.home.my_work)."""

    template_name = "kam/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        today = timezone.localdate()
        return super().get_context_data(
            user_roles=sorted(user.roles, key=list(Role).index),
            plan_work=plan_selectors.plan_work(user=user),
            work=kpi_selectors.my_work(user=user, today=today),
            payment_work=payment_selectors.payment_work(user=user, today=today),
            today=today,
            **kwargs,
        )


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    problems = selectors.health_problems()
    if problems:
        return JsonResponse({"status": "unavailable", **problems}, status=503)
    return JsonResponse({"status": "ok"})


@login_not_required
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the language for this browser (Django's view) and remember it for the user."""
    response = set_language(request)
    language = request.POST.get("language", "")
    # Django's view has already ignored an unknown language; remember only a valid one.
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_set_language(user=request.user, language=language)
    return response


class JobListView(ListView):
    template_name = "kam/job_list.html"
    context_object_name = "jobs"
    paginate_by = 25

    def get_queryset(self):
        self.filterset = selectors.job_filterset(user=self.request.user, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filterset=self.filterset,
            may_run_system_check=access.may_run_system_check(self.request.user),
            **kwargs,
        )


class JobDetailView(DetailView):
    context_object_name = "job"

    def get_object(self, queryset=None) -> Job:
        return selectors.job_get(user=self.request.user, pk=self.kwargs["pk"])

    def get_template_names(self) -> list[str]:
        # htmx polls for the progress panel alone while the job runs.
        if self.request.htmx:
            return ["kam/includes/_job_progress.html"]
        return ["kam/job_detail.html"]

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response


@require_POST
def system_check_start(request: HttpRequest) -> HttpResponse:
    if not access.may_run_system_check(request.user):
        raise PermissionDenied
    job = services.job_enqueue(kind=Job.Kind.SYSTEM_CHECK, created_by=request.user)
    messages.success(request, _("The system check has been queued."))
    return redirect(job)


@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, pk=pk)
    try:
        services.job_retry(job=job)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("The job has been queued again."))
    return redirect(job)


@require_GET
def job_result_file(request: HttpRequest, pk: int) -> FileResponse:
    job = selectors.job_get(user=request.user, pk=pk)
    if not job.result_file:
        raise Http404
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(
        handle, as_attachment=True, filename=job.result_file.name.rsplit("/", 1)[-1]
    )


# Errors that mean a service the app needs (database, Redis) is down, not a bug: the request
# may succeed in a moment, so they answer 503 with Retry-After instead of 500.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    db.OperationalError,
    db.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a 503 page for an outage, the 500 page otherwise. Rendered without
    the request's context processors, which would query the unreachable database again."""
    if isinstance(sys.exc_info()[1], OUTAGE_ERRORS):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Explain an expired or missing CSRF token in the app's own shell."""
    return render(request, "403_csrf.html", status=403)


class NotificationListView(ListView):
    """The user's own notifications, newest first; unread ones stand out."""

    template_name = "kam/notification_list.html"
    context_object_name = "notifications"
    paginate_by = 50

    def get_queryset(self):
        return selectors.notifications_of(user=self.request.user)


@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications read and follow its link; a POST, because reading
    changes state and GET never may (tests/security/test_safe_methods.py)."""
    notification = selectors.notification_get(user=request.user, pk=pk)
    services.notification_mark_read(notification=notification)
    return redirect(notification.url or "kam:notification-list")


@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_read(user=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            count,
        )
        % {"count": count},
    )
    return redirect("kam:notification-list")
