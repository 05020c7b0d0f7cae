from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    label = "invoicing"
    verbose_name = "Invoicing"
