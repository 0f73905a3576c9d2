import django_filters
from django.utils.translation import gettext_lazy as _

from kam.models import Job


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
