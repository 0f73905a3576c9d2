"""Import pages: the list of imports, the upload, the preview (and progress and report), the
column mapping, and the confirm and discard actions.

Each import kind has its own readers and importers (``kam.access.may_read_imports`` and
``may_import``: figures are sales leadership's, invoices finance's). A user who reads no kind
gets 403 on every page, one who imports no kind 403 on the writing pages; an import of a kind
the user may not read answers 404, a write to one they only read 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from accounts.views.common import add_service_error, show_conflict
from kam import access
from kam.concurrency import EditConflict
from kam.models import User
from kpis import services
from kpis.forms.imports import ImportMappingForm, ImportUploadForm
from kpis.models import ImportBatch, ImportKind, ImportState
from kpis.selectors import imports as selectors
from kpis.services.imports import SPECS


def _require_reader(user: User) -> None:
    if not selectors.readable_kinds(user):
        raise PermissionDenied


def _require_importer(user: User) -> None:
    if not selectors.importable_kinds(user):
        raise PermissionDenied


def _importer_batch(request: HttpRequest, pk: int) -> ImportBatch:
    """The import ``pk`` if the user may change imports of its kind (404 outside their reading
    scope, 403 inside it)."""
    _require_importer(request.user)
    batch = selectors.import_get(user=request.user, pk=pk)
    if not access.may_import(request.user, batch.kind):
        raise PermissionDenied
    return batch


class ImportListView(ListView):
    template_name = "kpis/import_list.html"
    context_object_name = "batches"
    paginate_by = 25

    def get_queryset(self):
        _require_reader(self.request.user)
        self.filterset = selectors.import_filterset(user=self.request.user, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filterset=self.filterset,
            importable_kinds=selectors.importable_kinds(self.request.user),
            readable_kinds=selectors.readable_kinds(self.request.user),
            **kwargs,
        )


class ImportCreateView(View):
    """The upload of a file of one kind: ``?kind=invoices`` (figures when not given), carried
    in a hidden field when the form is sent."""

    template_name = "kpis/import_form.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _require_importer(request.user)
        data = request.POST if request.method == "POST" else request.GET
        self.kind = data.get("kind") or ImportKind.FIGURES
        if self.kind not in SPECS:
            raise Http404
        if not access.may_import(request.user, self.kind):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _form(self, *args) -> ImportUploadForm:
        return ImportUploadForm(*args, kind=self.kind, yearly=SPECS[self.kind].yearly)

    def _render(self, form: ImportUploadForm) -> HttpResponse:
        return render(self.request, self.template_name, {"form": form, "kind": self.kind})

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(self._form())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self._form(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = services.import_batch_upload(
                    user=request.user,
                    source_name=form.source_name(),
                    year=form.cleaned_data.get("year"),
                    number_format=form.cleaned_data["number_format"],
                    file_name=form.cleaned_data["file"].name,
                    data=form.file_data(),
                    kind=self.kind,
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    add_service_error(form, error, {"source_name": "new_source"})
                else:
                    form.add_error("file", error)
            else:
                if batch.errors:
                    messages.warning(request, _("The file has been read; check the errors below."))
                else:
                    messages.success(request, _("The file has been read. Check the preview."))
                return redirect(batch)
        return self._render(form)


class ImportDetailView(View):
    """The preview (before the import), the progress (while importing), the report (after)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require_reader(request.user)
        batch = selectors.import_get(user=request.user, pk=pk)
        if request.htmx:
            response = _progress_response(request, batch)
        else:
            may_import = access.may_import(request.user, batch.kind)
            response = render(
                request,
                f"kpis/import_detail_{batch.kind}.html",
                {
                    "batch": batch,
                    "preview": selectors.import_preview(batch=batch),
                    "may_import": may_import,
                    "done": batch.state == ImportState.IMPORTED,
                    "may_change": may_import and batch.state == ImportState.PREVIEWED,
                    "may_discard": may_import
                    and batch.state in (ImportState.PREVIEWED, ImportState.FAILED),
                },
            )
        patch_vary_headers(response, ["HX-Request"])
        return response


def _progress_response(request: HttpRequest, batch: ImportBatch) -> HttpResponse:
    """The progress panel htmx polls while importing; a full reload once it is done."""
    if batch.state != ImportState.IMPORTING or (batch.job and batch.job.is_finished):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request, "kpis/includes/_import_progress.html", {"batch": batch, "job": batch.job}
    )


class ImportMappingView(View):
    template_name = "kpis/import_mapping.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.batch = _importer_batch(request, kwargs["pk"])
        if self.batch.state != ImportState.PREVIEWED:
            messages.error(request, _("The mapping of this import can no longer change."))
            return redirect(self.batch)
        return super().dispatch(request, *args, **kwargs)

    def _form(self, data=None) -> ImportMappingForm:
        report = self.batch.report
        return ImportMappingForm(
            data,
            spec=SPECS[self.batch.kind],
            headers=report.get("headers", []),
            samples=report.get("samples", {}),
            mapping=report.get("mapping", {}),
            initial={
                "number_format": report.get("number_format"),
                "was": ImportMappingForm.started(report),
            },
        )

    def _render(self, form: ImportMappingForm) -> HttpResponse:
        return render(self.request, self.template_name, {"batch": self.batch, "form": form})

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(self._form())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = self._form(request.POST)
        if form.is_valid():
            try:
                services.import_batch_map(
                    batch=self.batch,
                    user=request.user,
                    mapping=form.mapping(),
                    number_format=form.cleaned_data["number_format"],
                    started_from=form.cleaned_data["was"],
                )
            except EditConflict as conflict:
                show_conflict(
                    form,
                    conflict,
                    started_from={"was": ImportMappingForm.started(conflict.current.report)},
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, _("The mapping has been saved for this source. Check the preview.")
                )
                return redirect(self.batch)
        return self._render(form)


def _error_messages(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _importer_batch(request, pk)
    try:
        services.import_batch_confirm(batch=batch, user=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    else:
        # Without a separate worker the job has already run when the transaction committed.
        batch.refresh_from_db()
        if batch.state == ImportState.IMPORTED and batch.kind == ImportKind.INVOICES:
            messages.success(request, _("The invoices have been imported."))
        elif batch.state == ImportState.IMPORTED:
            messages.success(request, _("The figures have been imported."))
        elif batch.state == ImportState.IMPORTING:
            messages.success(request, _("The import has started."))
        else:
            messages.error(request, _("The import failed and wrote nothing."))
    return redirect(batch)


@require_POST
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _importer_batch(request, pk)
    try:
        services.import_batch_discard(batch=batch, user=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    else:
        messages.success(request, _("The import has been discarded and its file deleted."))
    return redirect(batch)
