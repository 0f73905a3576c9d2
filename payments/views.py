"""Placeholder: the views are being written."""

from django.http import Http404
from django.views import View


class _Todo(View):
    def get(self, request, *args, **kwargs):
        raise Http404


EscalationListView = EscalationDetailView = InvoiceListView = _Todo
InvoiceCreateView = InvoiceUpdateView = PolicyView = _Todo


def escalation_export(request, fmt):
    raise Http404


def escalation_act(request, pk):
    raise Http404


def escalation_run_start(request):
    raise Http404
