import django_filters
from django.utils.translation import gettext_lazy as _

from kam.models import Job


class JobFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=Job.State.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Job.Kind.choices)

    class Meta:
        model = Job
        fields = ("state", "kind")
