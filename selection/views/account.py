"""The selection on an account's page: its tier, why, its tier history, its attribute values."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts import selectors as account_selectors
from accounts.models import Account
from accounts.views.accounts import AccountTabView
from accounts.views.common import add_service_error
from kam import access
from selection import selectors, services
from selection.forms.criteria import AttributeValuesForm
from selection.models import AccountAttribute, AccountAttributeValue
from selection.selectors import criteria as selectors_criteria


class AccountSelectionView(AccountTabView):
    """The account's tier with its explanation (the current run's, or ``?run=`` of an approved
    run the account was in), its tier history and its custom attribute values."""

    tab = "selection"
    template_name = "accounts/account_selection.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        results = list(selectors.account_results(account=self.account))
        current = selectors.current_run()
        chosen = self.request.GET.get("run", "")
        result = next((r for r in results if str(r.run_id) == chosen), None) or next(
            (r for r in results if current and r.run_id == current.pk), None
        )
        if result is not None:
            result = selectors.result_get(user=user, run=result.run, account_pk=self.account.pk)
        return super().get_context_data(
            current_run=current,
            result=result,
            explanation=selectors.explanation(result) if result else None,
            changes=selectors.tier_changes(user=user, account=self.account),
            run_ids=[r.run_id for r in results],
            attribute_rows=selectors_criteria.account_attribute_values(account_id=self.account.pk),
            may_read_selection=access.may_read_selection(user),
            **kwargs,
        )


class AttributeValuesEditView(View):
    """Edit an account's values of leadership's custom attributes (its team and leadership)."""

    template_name = "selection/attribute_values_form.html"

    def _form(self, account, data=None) -> AttributeValuesForm:
        values = {v.attribute_id: v for v in AccountAttributeValue.objects.filter(account=account)}
        return AttributeValuesForm(
            data, attributes=list(AccountAttribute.objects.order_by("name")), values=values
        )

    @staticmethod
    def _save(request: HttpRequest, account, form: AttributeValuesForm) -> bool:
        """Store the changed values, all or none; a refused value is shown on its field."""
        try:
            services.attribute_values_set(
                account=account, values=form.changed_values(), user=request.user
            )
        except services.AttributeValueRefused as error:
            add_service_error(form, error, {"number": f"value_{error.attribute.pk}"})
            return False
        return True

    @staticmethod
    def _seen(account) -> str:
        """A digest of the account's attribute values as stored now. The form carries the one
        the user started from, so a save over someone else's newer values is refused."""
        rows = (
            AccountAttributeValue.objects.filter(account=account)
            .order_by("attribute_id")
            .values_list("attribute_id", "number", "flag", "comment")
        )
        return hashlib.sha256(repr(list(rows)).encode()).hexdigest()[:32]

    def _render(self, request: HttpRequest, account, form: AttributeValuesForm) -> HttpResponse:
        return render(
            request,
            self.template_name,
            {"account": account, "form": form, "seen": self._seen(account)},
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = account_selectors.account_get_editable(user=request.user, pk=pk)
        return self._render(request, account, self._form(account))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = account_selectors.account_get_editable(user=request.user, pk=pk)
        with transaction.atomic():
            # Two saves of the same account's values take turns, so the check below holds.
            Account.objects.select_for_update().filter(pk=account.pk).exists()
            form = self._form(account, request.POST)
            seen = request.POST.get("seen")
            # A post without the digest (not from this form, e.g. a script) is not checked.
            if form.is_valid() and seen is not None and seen != self._seen(account):
                form.add_error(
                    None,
                    ValidationError(
                        _(
                            "Someone else saved attribute values of this account after you "
                            "opened this form. Nothing was saved; your entries are kept below. "
                            "Save again to replace their values with yours."
                        ),
                        code="edit_conflict",
                    ),
                )
            elif form.is_valid() and self._save(request, account, form):
                messages.success(request, _("The attribute values have been saved."))
                return redirect("accounts:account-selection", pk=account.pk)
        return self._render(request, account, form)
