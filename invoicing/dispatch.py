"""Hands work to Celery workers by task name, after the current transaction commits.

Services never import `invoicing.tasks` (tasks import services): they name the task here. A dispatch is only the
fast path: what must happen (an email, a PDF render, a job) is a row written in the same transaction, and the
periodic sweeps pick up any row whose dispatch was lost (broker down, worker killed).
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)

RENDER_INVOICE_PDF = "invoicing.tasks.render_invoice_pdf"
DELIVER_EMAIL = "invoicing.tasks.deliver_email"
RUN_JOB = "invoicing.tasks.run_job"
RUN_BILLING_BATCH = "invoicing.tasks.run_billing_batch"


def task_send(name: str, *args) -> None:
    """Send a registered task now (eager in tests, to the broker otherwise)."""
    current_app.tasks[name].apply_async(args=args)


def task_send_after_commit(name: str, *args) -> None:
    """Send the task once the current transaction commits.

    robust: a failing dispatch (broker down) or a failing eager run is logged and never undoes what committed.
    """
    transaction.on_commit(lambda: task_send(name, *args), robust=True)
