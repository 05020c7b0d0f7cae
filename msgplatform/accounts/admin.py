from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Account, ApiToken, BalanceTransaction, Tenant, User


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ("username", "email", "tenant", "role", "account", "is_superuser")
    fieldsets = (*UserAdmin.fieldsets, ("Tenant", {"fields": ("tenant", "role", "account")}))


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "timezone", "signup_slug", "is_active")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "account_type", "billing_method", "balance")
    list_filter = ("tenant", "billing_method")
    readonly_fields = ("balance",)


@admin.register(BalanceTransaction)
class BalanceTransactionAdmin(admin.ModelAdmin):
    list_display = ("account", "kind", "amount", "balance_after", "created_at")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


admin.site.register(ApiToken)
