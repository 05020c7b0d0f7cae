from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "msgplatform.messaging"
    label = "messaging"
    verbose_name = "Messaging records"
