"""Recurring billing: one schedule per postpaid user, and the billing runs that generate drafts from them."""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Interval(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    FORTNIGHTLY = "fortnightly", "Fortnightly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    EVERY_N_DAYS = "every_n_days", "Every N days"


class ScheduleStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"
    COMPLETED = "completed", "Completed"


class BillingSchedule(models.Model):
    """When a postpaid user is billed. Periods are local dates in the admin's time zone, anchored to start_date.

    `covered_through` is the cursor: the last day whose usage is on an invoice (of this schedule, or a manual
    one that covered the schedule's next period). The next period starts the day after it.
    """

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="billing_schedules")
    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="billing_schedule")
    interval = models.CharField(max_length=16, choices=Interval.choices, default=Interval.MONTHLY)
    every_n_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(366)]
    )
    due_in_days = models.PositiveSmallIntegerField(default=15, validators=[MaxValueValidator(365)])
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Empty: never expires")
    status = models.CharField(max_length=10, choices=ScheduleStatus.choices, default=ScheduleStatus.ACTIVE)
    covered_through = models.DateField()
    resumed_on = models.DateField(null=True, blank=True, help_text="Restart date after a stop")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(interval=Interval.EVERY_N_DAYS) | Q(every_n_days__gte=1), name="schedule_n_days_set"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="schedule_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["status", "tenant"], name="schedule_status_tenant")]

    @property
    def is_active(self) -> bool:
        return self.status == ScheduleStatus.ACTIVE

    @property
    def never_expires(self) -> bool:
        return self.end_date is None

    def covers(self, day: datetime.date) -> bool:
        return day <= self.covered_through


class BillingRun(models.Model):
    """One tick of the billing run (all tenants, or one), split into batches of schedules."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey("accounts.Tenant", null=True, blank=True, on_delete=models.CASCADE)
    as_of = models.DateField(null=True, blank=True, help_text="Empty: each tenant's own today")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    schedules_total = models.PositiveIntegerField(default=0)
    schedules_done = models.PositiveIntegerField(default=0)
    drafts_created = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
