from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "msgplatform.core"
    label = "core"
    verbose_name = "Platform core"
