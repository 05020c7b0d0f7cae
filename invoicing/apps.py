from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    label = "invoicing"
    verbose_name = "Invoicing"

    def ready(self) -> None:
        # Register the Celery tasks: services send them by name (invoicing.dispatch), never import them.
        from . import tasks  # noqa: F401
