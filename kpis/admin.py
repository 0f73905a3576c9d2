from django.contrib import admin

from kpis.models import (
    AnnualRefresh,
    ClosedYear,
    FigureCorrection,
    ImportBatch,
    ImportSource,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the app's services only (imports, refreshes, corrections)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ImportSource)
class ImportSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "source", "year", "state", "rows", "errors", "uploaded_at")
    list_filter = ("state", "kind")
    search_fields = ("file_name", "file_sha256")


@admin.register(ClosedYear)
class ClosedYearAdmin(ReadOnlyAdmin):
    list_display = ("year", "closed_at", "closed_by")


@admin.register(FigureCorrection)
class FigureCorrectionAdmin(ReadOnlyAdmin):
    list_display = ("account", "year", "user", "created_at")
    search_fields = ("account__name", "reason")


@admin.register(AnnualRefresh)
class AnnualRefreshAdmin(ReadOnlyAdmin):
    list_display = ("year", "started_at", "finished_at", "started_by")
