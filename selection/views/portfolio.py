"""Placeholder until this area's views are written."""

from django.http import HttpResponse
from django.views import View


class _Todo(View):
    def get(self, request, *args, **kwargs):
        return HttpResponse(status=501)


def _todo(request, *args, **kwargs):
    return HttpResponse(status=501)


TierListView = PortfolioView = PortfolioSettingsView = AllocationView = _Todo
tier_list_export = allocation_json = _todo
