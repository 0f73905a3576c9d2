"""The payments records in the admin, to look up, not to change: invoices, escalations and
policies change through the app (services keep versions, the timeline and notifications
right), and the timeline is never changed at all."""

from django.contrib import admin

from payments.models import Escalation, EscalationEvent, EscalationPolicy, Invoice


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ReadOnlyAdmin):
    list_display = ("tier_rank", "covered", "grace_days", "clarification_days", "updated_by")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "account", "amount", "amount_paid", "currency", "due_date")
    list_filter = ("currency",)
    list_select_related = ("account",)
    search_fields = ("number", "account__name", "account__erp_number")
    date_hierarchy = "due_date"


class EscalationEventInline(admin.TabularInline):
    model = EscalationEvent
    fields = ("created_at", "action", "from_state", "to_state", "actor", "party", "comment")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "pk")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "account", "state", "tier", "deadline", "opened_at")
    list_filter = ("state", "tier")
    list_select_related = ("invoice", "account")
    search_fields = ("invoice__number", "account__name", "account__erp_number")
    raw_id_fields = ("invoice", "account")
    inlines = (EscalationEventInline,)


@admin.register(EscalationEvent)
class EscalationEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "escalation", "action", "to_state", "actor", "party")
    list_filter = ("action", "party")
    list_select_related = ("escalation__invoice", "actor")
    search_fields = ("escalation__invoice__number", "comment")
