"""The account list, its export and the account page with its tabs and edit forms."""

import html

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import ListView, TemplateView

from accounts import exports, selectors, services
from accounts.forms import (
    AccountPotentialForm,
    AccountProfileForm,
    CompetitorFormSet,
    PotentialYearFormSet,
    TeamMemberForm,
)
from accounts.models import Account, AccountTeamMember
from accounts.views.common import add_service_error, show_conflict
from kam import access
from kam.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE


class AccountListView(ListView):
    template_name = "accounts/account_list.html"
    context_object_name = "accounts"
    paginate_by = 100
    paginator_class = selectors.AccountListPaginator

    def get_queryset(self):
        if not access.may_list_accounts(self.request.user):
            raise PermissionDenied
        self.filterset = selectors.account_filterset(user=self.request.user, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(filterset=self.filterset, **kwargs)
        context["accounts"] = selectors.account_list_rows(context["accounts"])
        context["account_rows"] = account_rows_html(context["accounts"])
        return context


def account_rows_html(rows: list[selectors.AccountRow]) -> SafeString:
    """The account list's table rows (``account_list.html`` holds the table around them).

    Written here rather than in the template, with the standard library's escape: through
    the template engine a page of a hundred rows cost more than the rest of the page.
    """
    escape = html.escape
    none = f'<span class="text-body-secondary">{escape(gettext("none"))}</span>'
    lines = []
    for row in rows:
        name = escape(row.name)
        if row.url:
            name = f'<a href="{escape(row.url)}">{name}</a>'
        tier = (
            f'<span class="badge text-bg-warning">{escape(row.tier)}</span>' if row.tier else none
        )
        lines.append(
            f"<tr><td>{name}</td><td>{escape(row.erp_number)}</td><td>{tier}</td>"
            f"<td>{escape(row.account_type)}</td><td>{escape(row.status)}</td>"
            f"<td>{escape(row.kam) if row.kam else none}</td><td>{escape(row.industry)}</td>"
            f"<td>{escape(row.region)}</td><td>{escape(row.country)}</td></tr>"
        )
    return mark_safe("".join(lines))  # noqa: S308 -- every value is escaped above  # nosec B308, B703


def account_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse | FileResponse:
    """The account list's rows for the same query string as a CSV or XLSX download."""
    if not access.may_list_accounts(request.user):
        raise PermissionDenied
    if fmt not in ("csv", "xlsx"):
        raise Http404
    queryset = selectors.account_filterset(user=request.user, data=request.GET).qs
    filename = f"accounts-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.account_csv(queryset), content_type=CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        exports.account_xlsx(queryset),
        as_attachment=True,
        filename=filename,
        content_type=XLSX_CONTENT_TYPE,
    )


class AccountTabView(TemplateView):
    """One tab of an account's page; the header and tabs are the same on every tab."""

    tab = "profile"
    template_name = "accounts/account_profile.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # LoginRequiredMiddleware has already sent anonymous visitors to the login page.
        self.account = selectors.account_get(user=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        center = selectors.buying_center(account=self.account)
        return super().get_context_data(
            account=self.account,
            tab=self.tab,
            tabs=[
                tab
                for tab in ACCOUNT_TABS
                if tab[0] != "escalations"
                or access.may_read_account_payments(self.request.user, self.account)
            ],
            can_edit=access.can_edit(self.request.user, self.account),
            center=center,
            **kwargs,
        )


class AccountDetailView(AccountTabView):
    tab = "profile"
    template_name = "accounts/account_profile.html"


class AccountPotentialView(AccountTabView):
    tab = "potential"
    template_name = "accounts/account_potential.html"

    def get_context_data(self, **kwargs):
        account = self.account
        texts = [
            (Account._meta.get_field(name).verbose_name, getattr(account, name))
            for name in (
                "requirements",
                "key_processes",
                "partnership_starting_points",
                "cooperation_history",
                "customer_goals",
            )
        ]
        return super().get_context_data(potential_texts=texts, **kwargs)


class AccountBuyingCenterView(AccountTabView):
    tab = "buying-center"
    template_name = "accounts/account_buying_center.html"


class AccountRelationshipsView(AccountTabView):
    tab = "relationships"
    template_name = "accounts/account_relationships.html"


PERSON_SEARCH_LENGTH = 100


class AccountTeamView(AccountTabView):
    """The account team; its form adds a member (only for those who may edit)."""

    tab = "team"
    template_name = "accounts/account_team.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault(
            "form",
            TeamMemberForm(search=self.request.GET.get("person", "")[:PERSON_SEARCH_LENGTH]),
        )
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = selectors.account_get_editable(user=request.user, pk=pk)
        form = TeamMemberForm(request.POST)
        if form.is_valid():
            try:
                services.team_member_add(account=account, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The team member has been added."))
                return redirect("accounts:account-team", pk=account.pk)
        return self.render_to_response(self.get_context_data(form=form))


class AccountHistoryView(AccountTabView):
    tab = "history"
    template_name = "accounts/account_history.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            entries=selectors.account_history(account=self.account), **kwargs
        )


class AccountProfileEditView(View):
    """Edit the profile. The form binds to a fresh copy of the row, so a refused save never
    shows the unsaved values in the page header."""

    template_name = "accounts/account_form.html"
    title = _("Edit profile")
    form_class = AccountProfileForm

    def _render(self, request, account, form, formsets=()):
        return render(
            request,
            self.template_name,
            {"account": account, "form": form, "formsets": formsets, "title": self.title},
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = selectors.account_get_editable(user=request.user, pk=pk)
        return self._render(request, account, self.form_class(instance=account))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = selectors.account_get_editable(user=request.user, pk=pk)
        form = self.form_class(request.POST, instance=Account.objects.get(pk=pk))
        if form.is_valid():
            try:
                services.account_update(
                    account=account, version=form.cleaned_data["version"], values=form.values()
                )
            except services.EditConflict as conflict:
                show_conflict(form, conflict)
            except ValidationError as error:
                add_service_error(form, error, {"parent": "parent_erp_number"})
            else:
                messages.success(request, _("The profile has been saved."))
                return redirect(account)
        return self._render(request, account, form)


class AccountPotentialEditView(AccountProfileEditView):
    title = _("Edit potential analysis")
    form_class = AccountPotentialForm

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = selectors.account_get_editable(user=request.user, pk=pk)
        formsets = (
            PotentialYearFormSet(instance=account, prefix="years"),
            CompetitorFormSet(instance=account, prefix="competitors"),
        )
        return self._render(request, account, self.form_class(instance=account), formsets)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = selectors.account_get_editable(user=request.user, pk=pk)
        form = self.form_class(request.POST, instance=Account.objects.get(pk=pk))
        years = PotentialYearFormSet(request.POST, instance=account, prefix="years")
        competitors = CompetitorFormSet(request.POST, instance=account, prefix="competitors")
        if form.is_valid() and years.is_valid() and competitors.is_valid():
            try:
                services.account_potential_update(
                    account=account,
                    version=form.cleaned_data["version"],
                    values=form.values(),
                    year_formset=years,
                    competitor_formset=competitors,
                )
            except services.EditConflict as conflict:
                show_conflict(form, conflict)
            except ValidationError as error:
                add_service_error(form, error)
            except IntegrityError:
                form.add_error(
                    None,
                    forms.ValidationError(
                        _("Each year and each competitor may appear only once."),
                        code="duplicate",
                    ),
                )
            else:
                messages.success(request, _("The potential analysis has been saved."))
                return redirect("accounts:account-potential", pk=account.pk)
        return self._render(request, account, form, (years, competitors))


@require_POST
def team_member_remove(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = access.get_editable_for_user(
        request.user,
        AccountTeamMember.objects.select_related("account"),
        account_path="account",
        pk=member_pk,
    )
    services.team_member_remove(member=member)
    messages.success(request, _("The team member has been removed."))
    return redirect("accounts:account-team", pk=member.account_id)


ACCOUNT_TABS = (
    ("profile", "accounts:account-detail", _("Profile")),
    ("potential", "accounts:account-potential", _("Potential")),
    ("buying-center", "accounts:account-buying-center", _("Buying center")),
    ("relationships", "accounts:account-relationships", _("Relationship map")),
    ("team", "accounts:account-team", _("Team")),
    ("plan", "accounts:account-plan", _("Plan")),
    ("kpis", "accounts:account-kpis", _("KPIs")),
    ("escalations", "accounts:account-escalations", _("Payments")),
    ("selection", "accounts:account-selection", _("Selection history")),
    ("history", "accounts:account-history", _("Change history")),
)
