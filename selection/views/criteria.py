"""Placeholder until this area's views are written."""

from django.http import HttpResponse
from django.views import View


class _Todo(View):
    def get(self, request, *args, **kwargs):
        return HttpResponse(status=501)


def _todo(request, *args, **kwargs):
    return HttpResponse(status=501)


CriteriaSetListView = CriteriaSetCreateView = CriteriaSetDetailView = VersionDetailView = _Todo
VersionSettingsView = VersionTiersView = VersionPreviewView = KnockoutFormView = _Todo
CriterionFormView = AttributeListView = AttributeFormView = _Todo
version_draft_start = version_weights = version_release = knockout_delete = _todo
criterion_delete = _todo
