"""Placeholder until this area's views are written."""

from django.http import HttpResponse
from django.views import View


class _Todo(View):
    def get(self, request, *args, **kwargs):
        return HttpResponse(status=501)


def _todo(request, *args, **kwargs):
    return HttpResponse(status=501)


RunListView = RunCreateView = RunDetailView = ResultDetailView = TierChangeListView = _Todo
run_export = run_approve = run_discard = result_override = _todo
