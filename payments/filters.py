"""Filters and sorting of the finance queue (escalations) and of the invoice list.

Both expect the querysets of :mod:`payments.selectors` (the queue's annotated with
``open_amount``, ``overdue_for`` and ``kam_name``, the invoices' with ``unpaid_amount``); the
query string carries every filter, so the export of the queue reads the same rows as the page.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.filters import cached_choices, kam_choices
from accounts.models import AccountTeamMember, TeamRole
from kam.filters import ColumnOrderingFilter, SortColumns
from kam.widgets import FastSelect
from payments.models import CLOSED_STATES, Escalation, EscalationState, Invoice

ACTIVE, ALL = "active", "all"
YES, NO = "true", "false"
PAID, UNPAID = "paid", "unpaid"

# Sort parameter → (label, order_by fields) of the queue.
ESCALATION_SORT_COLUMNS: SortColumns = {
    "deadline": (_("Deadline"), ("deadline",)),
    "days_overdue": (_("Days overdue"), ("overdue_for",)),
    "amount": (_("Open amount"), ("open_amount",)),
    "account": (_("Account"), ("account__name",)),
    "state": (_("State"), ("state",)),
}

INVOICE_SORT_COLUMNS: SortColumns = {
    "due_date": (_("Due date"), ("due_date",)),
    "number": (_("Invoice number"), ("number",)),
    "account": (_("Account"), ("account__name",)),
    "amount": (_("Open amount"), ("unpaid_amount",)),
}


def default_escalation_order(queryset: QuerySet[Escalation]) -> QuerySet[Escalation]:
    """The nearest deadline first: what needs an answer soonest."""
    return queryset.order_by("deadline", "pk")


def default_invoice_order(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """The longest overdue first."""
    return queryset.order_by("due_date", "pk")


def state_choices() -> list[tuple[str, str]]:
    return [(ALL, str(_("All, closed ones too"))), *EscalationState.choices]


def _search(queryset: QuerySet, value: str, number: str) -> QuerySet:
    """An account's name fragment, or its ERP customer number or an invoice number (the
    lookup ``number``) exactly."""
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(
        Q(account__name__icontains=value)
        | Q(account__erp_number__iexact=value)
        | Q(**{f"{number}__iexact": value})
    )


class EscalationFilterSet(django_filters.FilterSet):
    """The finance queue's filters; without a state chosen, the active escalations."""

    q = django_filters.CharFilter(
        label=_("Account"),
        method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, ERP customer number or invoice number")}
        ),
    )
    state = django_filters.ChoiceFilter(
        label=_("State"), method="filter_state", empty_label=_("Active (not closed)")
    )
    tier = django_filters.ChoiceFilter(label=_("Tier"), empty_label=_("All"))
    kam = django_filters.ChoiceFilter(
        label=_("Key account manager"), method="filter_kam", empty_label=_("All")
    )
    deadline_passed = django_filters.ChoiceFilter(
        label=_("Deadline passed"),
        method="filter_deadline_passed",
        choices=((YES, _("Passed")), (NO, _("Not passed"))),
        empty_label=_("All"),
    )
    days_overdue = django_filters.NumberFilter(
        label=_("Days overdue at least"),
        method="filter_days_overdue",
        min_value=0,
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
    )
    amount_min = django_filters.NumberFilter(
        label=_("Open amount from"),
        field_name="open_amount",
        lookup_expr="gte",
        min_value=0,
        widget=forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
    )
    amount_max = django_filters.NumberFilter(
        label=_("Open amount up to"),
        field_name="open_amount",
        lookup_expr="lte",
        min_value=0,
        widget=forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
    )
    sort = ColumnOrderingFilter(
        label=_("Sort by"),
        columns=ESCALATION_SORT_COLUMNS,
        default=default_escalation_order,
        tiebreak=("deadline", "pk"),
        empty_label=_("Default (nearest deadline)"),
    )

    more_filters = ("days_overdue", "amount_min", "amount_max", "sort")

    class Meta:
        model = Escalation
        fields = (
            "q",
            "state",
            "tier",
            "kam",
            "deadline_passed",
            "days_overdue",
            "amount_min",
            "amount_max",
        )

    def __init__(
        self,
        *args,
        tiers: list[tuple[str, str]],
        by_kam: bool = True,
        today: datetime.date | None = None,
        **kwargs,
    ) -> None:
        """``by_kam`` False leaves out the manager filter (a KAM sees only their own)."""
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.filters["state"].extra["choices"] = state_choices
        self.filters["tier"].extra["choices"] = tiers
        if by_kam:
            self.filters["kam"].extra["choices"] = cached_choices(
                "kam", kam_choices, value=self.data.get("kam")
            )
        else:
            del self.filters["kam"]
        for name in ("state", "tier", "kam", "deadline_passed", "sort"):
            if name in self.filters:
                self.filters[name].extra["widget"] = FastSelect

    @property
    def more_filters_active(self) -> bool:
        return any(self.data.get(name) for name in ("days_overdue", "amount_min", "amount_max"))

    def filter_queryset(self, queryset: QuerySet[Escalation]) -> QuerySet[Escalation]:
        if not getattr(self.form, "cleaned_data", {}).get("state"):
            queryset = queryset.exclude(state__in=CLOSED_STATES)
        return super().filter_queryset(queryset)

    def filter_search(
        self, queryset: QuerySet[Escalation], name: str, value: str
    ) -> QuerySet[Escalation]:
        return _search(queryset, value, "invoice__number")

    def filter_state(
        self, queryset: QuerySet[Escalation], name: str, value: str
    ) -> QuerySet[Escalation]:
        return queryset if value == ALL else queryset.filter(state=value)

    def filter_kam(self, queryset: QuerySet[Escalation], name: str, value: str) -> QuerySet:
        managed = AccountTeamMember.objects.filter(
            account=OuterRef("account_id"), user_id=value, role=TeamRole.KEY_ACCOUNT_MANAGER
        )
        return queryset.filter(Exists(managed))

    def filter_deadline_passed(
        self, queryset: QuerySet[Escalation], name: str, value: str
    ) -> QuerySet[Escalation]:
        passed = Q(deadline__lt=self.today)
        return queryset.filter(passed) if value == YES else queryset.exclude(passed)

    def filter_days_overdue(
        self, queryset: QuerySet[Escalation], name: str, value: object
    ) -> QuerySet[Escalation]:
        days = int(value)  # type: ignore[call-overload]
        return queryset.filter(invoice__due_date__lte=self.today - datetime.timedelta(days=days))


class InvoiceFilterSet(django_filters.FilterSet):
    """The invoice list's filters: by default every invoice the user may read."""

    q = django_filters.CharFilter(
        label=_("Account"),
        method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, ERP customer number or invoice number")}
        ),
    )
    paid = django_filters.ChoiceFilter(
        label=_("Payment"),
        method="filter_paid",
        choices=((UNPAID, _("Not fully paid")), (PAID, _("Paid"))),
        empty_label=_("All"),
    )
    currency = django_filters.ChoiceFilter(label=_("Currency"), empty_label=_("All"))
    overdue = django_filters.BooleanFilter(
        label=_("Only overdue invoices"), method="filter_overdue", widget=forms.CheckboxInput
    )
    key_accounts = django_filters.BooleanFilter(
        label=_("Only key accounts"), method="filter_key_accounts", widget=forms.CheckboxInput
    )
    sort = ColumnOrderingFilter(
        label=_("Sort by"),
        columns=INVOICE_SORT_COLUMNS,
        default=default_invoice_order,
        tiebreak=("due_date", "pk"),
        empty_label=_("Default (longest overdue first)"),
    )

    more_filters = ("sort",)

    class Meta:
        model = Invoice
        fields = ("q", "paid", "currency", "overdue", "key_accounts")

    def __init__(
        self,
        *args,
        currencies: list[tuple[str, str]],
        today: datetime.date | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.filters["currency"].extra["choices"] = currencies
        for name in ("paid", "currency", "sort"):
            self.filters[name].extra["widget"] = FastSelect

    more_filters_active = False

    def filter_search(self, queryset: QuerySet[Invoice], name: str, value: str) -> QuerySet:
        return _search(queryset, value, "number")

    def filter_paid(self, queryset: QuerySet[Invoice], name: str, value: str) -> QuerySet:
        paid = Q(amount_paid__gte=F("amount"))
        return queryset.filter(paid) if value == PAID else queryset.exclude(paid)

    def filter_overdue(
        self, queryset: QuerySet[Invoice], name: str, value: bool | None
    ) -> QuerySet[Invoice]:
        if not value:
            return queryset
        return queryset.filter(due_date__lt=self.today, amount_paid__lt=F("amount"))

    def filter_key_accounts(
        self, queryset: QuerySet[Invoice], name: str, value: bool | None
    ) -> QuerySet:
        return queryset.exclude(account__tier="") if value else queryset
