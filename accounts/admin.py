from django.contrib import admin

from accounts.models import Account, AccountTeamMember


class AccountTeamMemberInline(admin.TabularInline):
    model = AccountTeamMember
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "erp_number", "industry", "region", "country")
    list_filter = ("industry", "region")
    search_fields = ("name", "erp_number")
    inlines = (AccountTeamMemberInline,)
