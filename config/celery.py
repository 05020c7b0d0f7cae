"""The Celery app. Tasks live in each app's tasks.py; the broker comes from CELERY_BROKER_URL."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("msgbilling")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_filesystem_broker(sender, **kwargs):
    """The embedded filesystem transport needs its folders before the first message."""
    from pathlib import Path

    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = sender.conf.broker_transport_options.get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
