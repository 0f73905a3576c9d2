"""Pages of the payments app: the finance queue and its export, an escalation with its timeline
and the steps the user may take, the daily job's button, invoices, the escalation policy, and
the account's payments tab.

Who may open what is kam.access's: the pages open for the read-all roles and key account
managers (others: 403); an escalation or invoice outside the user's scope answers 404; a step
the user takes no part in answers 403. Which steps exist now is the workflow table's alone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from accounts.views import AccountTabView
from accounts.views.common import CONFLICT, add_service_error
from kam import access
from kam.concurrency import EditConflict
from kam.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from kam.models import User
from kpis.models import ImportKind
from payments import exports, selectors, services, workflow
from payments.forms import (
    BasePolicyFormSet,
    EscalationStepForm,
    InvoiceForm,
    PolicyForm,
    PolicyFormSet,
)
from payments.models import Escalation, Invoice
from payments.services.escalations import PARTY_PREFERENCE


def _require_payments(user: User) -> None:
    if not access.may_open_payments(user):
        raise PermissionDenied


def _require_invoice_manager(user: User) -> None:
    if not access.may_manage_invoices(user):
        raise PermissionDenied


def _invoice_import_url() -> str:
    """The KPI imports' upload page, for a file of open items."""
    return f"{reverse('kpis:import-create')}?{urlencode({'kind': ImportKind.INVOICES})}"


class EscalationListView(ListView):
    """The finance queue (a key account manager's own escalations), filtered, sorted and
    paged, with the amounts at risk per currency; a constant number of queries."""

    template_name = "payments/escalation_list.html"
    context_object_name = "escalations"
    paginate_by = 50

    def get_queryset(self):
        _require_payments(self.request.user)
        self.today = timezone.localdate()
        self.filterset = selectors.escalation_filterset(
            user=self.request.user, data=self.request.GET, today=self.today
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        context = super().get_context_data(filterset=self.filterset, **kwargs)
        context.update(
            escalations=selectors.escalation_rows(context["escalations"], self.today),
            totals=selectors.escalation_totals(self.filterset.qs),
            reads_all=access.reads_all_payments(user),
            may_manage=access.may_manage_invoices(user),
            may_edit_policy=access.may_edit_escalation_policy(user),
            import_url=_invoice_import_url(),
            today=self.today,
        )
        return context


def escalation_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse | FileResponse:
    """The queue's rows for the same query string as a CSV or XLSX download."""
    _require_payments(request.user)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    today = timezone.localdate()
    queryset = selectors.escalation_filterset(user=request.user, data=request.GET, today=today).qs
    filename = f"escalations-{today:%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.escalation_csv(queryset, today), content_type=CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        exports.escalation_xlsx(queryset, today),
        as_attachment=True,
        filename=filename,
        content_type=XLSX_CONTENT_TYPE,
    )


def _step_forms(
    detail: selectors.EscalationDetail, bound: EscalationStepForm | None
) -> list[EscalationStepForm]:
    """One form per step the user may take now; a refused form keeps its input (also when
    its step is no longer offered, so that the user can copy what they wrote)."""
    forms = []
    for action, party in detail.steps:
        if bound is not None and bound.action == action:
            forms.append(bound)
        else:
            forms.append(
                EscalationStepForm(
                    action=action, party=party, initial={"version": detail.escalation.version}
                )
            )
    if bound is not None and bound not in forms:
        forms.insert(0, bound)
    return forms


def _render_detail(
    request: HttpRequest,
    escalation: Escalation,
    detail: selectors.EscalationDetail | None = None,
    bound: EscalationStepForm | None = None,
) -> HttpResponse:
    detail = detail or selectors.escalation_detail(user=request.user, escalation=escalation)
    return render(
        request,
        "payments/escalation_detail.html",
        {
            "escalation": escalation,
            "invoice": escalation.invoice,
            "detail": detail,
            "step_forms": _step_forms(detail, bound),
            "bound": bound,
            "reads_all": access.reads_all_payments(request.user),
            "may_manage": access.may_manage_invoices(request.user),
        },
    )


class EscalationDetailView(View):
    """The invoice's facts, who decided what, the full timeline and the step forms."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _render_detail(request, selectors.escalation_get(user=request.user, pk=pk))


@require_POST
def escalation_act(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the posted step (``action``) with the form prefixed by it. A refused step renders
    the page again with the input and the reason; a stale ``version`` says someone was first."""
    escalation = selectors.escalation_get(user=request.user, pk=pk)
    detail = selectors.escalation_detail(user=request.user, escalation=escalation)
    action = request.POST.get("action", "")
    if not detail.parties:
        raise PermissionDenied
    if action not in workflow.USER_ACTIONS:
        messages.error(request, _("Choose one of the steps below."))
        return _render_detail(request, escalation, detail)
    if not workflow.RULES[action].parties & detail.parties:
        raise PermissionDenied
    offered = dict(detail.steps)
    party = offered.get(action) or next(p for p in PARTY_PREFERENCE if p in detail.parties)
    form = EscalationStepForm(request.POST, action=action, party=party)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.escalation_act(
                escalation=escalation,
                user=request.user,
                action=action,
                comment=data["comment"],
                resolution=data.get("resolution", ""),
                promised_date=data.get("promised_date"),
                version=data["version"],
            )
        except ValidationError as error:
            if error.code == "stale":
                escalation = selectors.escalation_get(user=request.user, pk=pk)
                form.data = form.data.copy()
                form.data[form.add_prefix("version")] = escalation.version
                detail = None
            form.add_step_error(error)
        else:
            messages.success(request, _("Recorded: %(step)s.") % {"step": form.label})
            return redirect(escalation)
    return _render_detail(request, escalation, detail, form)


@require_POST
def escalation_run_start(request: HttpRequest) -> HttpResponse:
    """Queue the daily job now (finance) and follow it on its job page."""
    _require_invoice_manager(request.user)
    job = services.escalation_run_start(user=request.user)
    messages.success(request, _("The daily escalation job has been started."))
    return redirect("kam:job-detail", pk=job.pk)


class InvoiceListView(ListView):
    """The invoices the user may read; overdue ones without an escalation say why."""

    template_name = "payments/invoice_list.html"
    context_object_name = "invoices"
    paginate_by = 50

    def get_queryset(self):
        _require_payments(self.request.user)
        self.today = timezone.localdate()
        self.filterset = selectors.invoice_filterset(
            user=self.request.user, data=self.request.GET, today=self.today
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(filterset=self.filterset, **kwargs)
        context.update(
            invoices=selectors.invoice_rows(context["invoices"], self.today),
            reads_all=access.reads_all_payments(self.request.user),
            may_manage=access.may_manage_invoices(self.request.user),
            import_url=_invoice_import_url(),
        )
        return context


class InvoiceFormView(View):
    """Enter (``invoice`` None) or change an invoice: finance only (others 403)."""

    template_name = "payments/invoice_form.html"
    invoice: Invoice | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "pk" in kwargs:
            self.invoice = selectors.invoice_get(user=request.user, pk=kwargs["pk"])
        _require_invoice_manager(request.user)
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form: InvoiceForm, stored: Invoice | None = None) -> HttpResponse:
        return render(
            self.request,
            self.template_name,
            {"form": form, "invoice": self.invoice, "stored": stored},
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        initial = InvoiceForm.initial_of(self.invoice) if self.invoice else None
        return self._render(InvoiceForm(initial=initial, editing=self.invoice is not None))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = InvoiceForm(request.POST, editing=self.invoice is not None)
        stored = None
        if form.is_valid():
            try:
                invoice = services.invoice_save(
                    user=request.user,
                    invoice=self.invoice,
                    version=form.cleaned_data["version"] if self.invoice else None,
                    **form.values(),
                )
            except ValidationError as error:
                if getattr(error, "code", None) == "stale" and self.invoice:
                    # Show what is stored now and take its version, so saving again is a
                    # deliberate overwrite.
                    stored = selectors.invoice_get(user=request.user, pk=self.invoice.pk)
                    form.data = form.data.copy()
                    form.data["version"] = stored.version
                add_service_error(form, error)
            else:
                messages.success(
                    request, _("Invoice %(number)s has been saved.") % {"number": invoice.number}
                )
                return redirect(
                    f"{reverse('payments:invoice-list')}?{urlencode({'q': invoice.number})}"
                )
        return self._render(form, stored)


class InvoiceCreateView(InvoiceFormView):
    pass


class InvoiceUpdateView(InvoiceFormView):
    pass


class PolicyView(View):
    """The escalation terms per tier rank: read by the read-all roles (others 403), changed
    by finance and sales leadership (others 403) all at once."""

    template_name = "payments/policy.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.reads_all_payments(request.user):
            raise PermissionDenied
        self.rows = selectors.policy_rows()
        self.may_edit = access.may_edit_escalation_policy(request.user)
        return super().dispatch(request, *args, **kwargs)

    def _initial(self) -> list[dict[str, Any]]:
        return [
            {
                "tier_rank": row.tier_rank,
                "covered": row.covered,
                "grace_days": row.grace_days,
                "clarification_days": row.clarification_days,
                "was": PolicyForm.started(row.covered, row.grace_days, row.clarification_days),
            }
            for row in self.rows
        ]

    def _rebased(self, formset: BasePolicyFormSet) -> BasePolicyFormSet:
        """After a conflict: the rows the user changed keep their input, the others show the
        terms stored now, and every row starts from now, so saving again is deliberate."""
        stored = {row.tier_rank: row for row in selectors.policy_rows()}
        data = formset.data.copy()
        for form in formset:
            row = stored.get(form.cleaned_data["tier_rank"])
            if row is None:
                continue
            data[form.add_prefix("was")] = PolicyForm.started(
                row.covered, row.grace_days, row.clarification_days
            )
            if form.changed_by_user():
                continue
            data[form.add_prefix("grace_days")] = str(row.grace_days)
            data[form.add_prefix("clarification_days")] = str(row.clarification_days)
            if row.covered:
                data[form.add_prefix("covered")] = "on"
            else:
                data.pop(form.add_prefix("covered"), None)
        rebased = PolicyFormSet(data, initial=self._initial())
        rebased.is_valid()
        return rebased

    def _render(self, formset=None) -> HttpResponse:
        forms = {}
        if formset is not None:
            forms = {str(form["tier_rank"].value()): form for form in formset}
        return render(
            self.request,
            self.template_name,
            {
                "formset": formset,
                "rows": [(row, forms.get(str(row.tier_rank))) for row in self.rows],
                "may_edit": self.may_edit,
            },
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(PolicyFormSet(initial=self._initial()) if self.may_edit else None)

    def post(self, request: HttpRequest) -> HttpResponse:
        if not self.may_edit:
            raise PermissionDenied
        formset = PolicyFormSet(request.POST, initial=self._initial())
        if formset.is_valid():
            changed = [form for form in formset if form.changed_by_user()]
            started_from = {
                form.cleaned_data["tier_rank"]: form.cleaned_data["was"]
                for form in changed
                if form.cleaned_data["was"] is not None
            }
            try:
                services.policies_save(
                    user=request.user,
                    terms=[form.values() for form in changed],
                    started_from=started_from,
                )
            except EditConflict as conflict:
                formset = self._rebased(formset)
                formset.refuse(CONFLICT, conflict.changes)
            except ValidationError as error:
                # The service validates as the form did; a refusal belongs to the formset.
                add_service_error(changed[0] if changed else formset.forms[0], error)
            else:
                messages.success(request, _("The escalation policy has been saved."))
                return redirect("payments:policy")
        return self._render(formset)


class AccountEscalationsView(AccountTabView):
    """The account's payments tab: for the read-all payment roles and the account's key
    account manager; everyone else who may open the account gets 404."""

    tab = "escalations"
    template_name = "payments/account_escalations.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        today = timezone.localdate()
        payments = selectors.account_payments(
            user=self.request.user, account=self.account, today=today
        )
        return super().get_context_data(
            payments=payments,
            today=today,
            reads_all=access.reads_all_payments(self.request.user),
            **kwargs,
        )
