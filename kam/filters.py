from __future__ import annotations

from collections.abc import Callable

import django_filters
from django.db.models import F, QuerySet
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kam.models import Job

# A sortable table's columns: URL parameter → (label, the fields it sorts by).
SortColumns = dict[str, tuple[str | Promise, tuple[str, ...]]]


class ColumnOrderingFilter(django_filters.OrderingFilter):
    """Sorts a table by its named columns (``?sort=tier`` or ``?sort=-tier``), empty values
    last on every database, then by ``tiebreak`` so pages never shuffle; without a choice,
    ``default`` orders the queryset."""

    def __init__(
        self,
        *args,
        columns: SortColumns,
        default: Callable[[QuerySet], QuerySet],
        tiebreak: tuple[str, ...],
        **kwargs,
    ) -> None:
        self.columns, self.default, self.tiebreak = columns, default, tiebreak
        kwargs.setdefault("fields", [(param, param) for param in columns])
        kwargs.setdefault("choices", self.sort_choices(columns))
        super().__init__(*args, **kwargs)

    @staticmethod
    def sort_choices(columns: SortColumns) -> list[tuple[str, str | Promise]]:
        choices: list[tuple[str, str | Promise]] = []
        for param, (label, _fields) in columns.items():
            choices.append((param, label))
            choices.append((f"-{param}", format_lazy(_("{label} (descending)"), label=label)))
        return choices

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return self.default(qs)
        ordering = []
        for param in value:
            descending = param.startswith("-")
            _label, fields = self.columns[param.removeprefix("-")]
            for name in fields:
                expression = F(name)
                ordering.append(
                    expression.desc(nulls_last=True)
                    if descending
                    else expression.asc(nulls_last=True)
                )
        return qs.order_by(*ordering, *self.tiebreak)


class JobFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=Job.State.choices, empty_label=_("All")
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Job.Kind.choices, empty_label=_("All")
    )

    class Meta:
        model = Job
        fields = ("state", "kind")
