from django.contrib import admin

from selection.models import AccountAttribute, CriteriaSet, CriteriaVersion, SelectionRun


@admin.register(AccountAttribute)
class AccountAttributeAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "data_type", "unit")
    search_fields = ("name", "key")


@admin.register(CriteriaSet)
class CriteriaSetAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")


@admin.register(CriteriaVersion)
class CriteriaVersionAdmin(admin.ModelAdmin):
    list_display = ("criteria_set", "number", "state", "released_at")
    list_filter = ("state",)


@admin.register(SelectionRun)
class SelectionRunAdmin(admin.ModelAdmin):
    """Read-only: runs are snapshots and change only through review and approval."""

    list_display = ("pk", "version", "state", "account_count", "created_at", "is_current")
    list_filter = ("state",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
