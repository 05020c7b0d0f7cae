"""Reminders: the per-user guard against sending twice in a window, and the automatic reminder rules."""

from django.db import models


class ReminderSlot(models.Model):
    """One row per (user, reminder kind): a reminder is sent only by the transaction that moves `last_sent_at`
    forward with a conditional UPDATE, so two clicks or two admins at once send one reminder per window."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE)
    kind = models.CharField(max_length=20)
    last_sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind"], name="reminder_slot_per_user_kind")]


class AutoReminder(models.Model):
    """Automatic reminders already decided for an invoice on a day: at most one per invoice per day."""

    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.CASCADE, related_name="auto_reminders")
    day = models.DateField()
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["invoice", "day"], name="auto_reminder_once_a_day")]
