from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "msgplatform.accounts"
    label = "accounts"
    verbose_name = "Accounts and tenants"
