"""Cross-cutting rows of the platform: the event log every module writes to, and the scheduler heartbeat."""

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One thing that happened, for the Event Viewer and for audit. Append-only.

    `area` says which module wrote it (accounts, messaging, invoicing); `subject_type`/`subject_id` point at the
    row it is about without a foreign key, so events outlive what they describe.
    """

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    tenant = models.ForeignKey("accounts.Tenant", null=True, blank=True, on_delete=models.CASCADE)
    area = models.CharField(max_length=20)
    kind = models.CharField(max_length=60)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-id"], name="event_tenant_recent"),
            models.Index(fields=["tenant", "subject_type", "subject_id"], name="event_tenant_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.area}.{self.kind} {self.subject_type}#{self.subject_id}"


class Heartbeat(models.Model):
    """Last time each periodic loop ran; /healthz and the operations docs read it."""

    name = models.CharField(max_length=60, primary_key=True)
    beat_at = models.DateTimeField()
