"""Operational endpoints."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views import defaults

from .api import PROBLEM_TYPE_BASE
from .models import Heartbeat


def healthz(request):
    """Database reachable, broker reachable (when it is a network service), scheduler's last beat."""
    checks = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure
        checks["database"] = f"error: {exc.__class__.__name__}"
        ok = False
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis", "amqp")):
        from config.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
            ok = False
    else:
        checks["broker"] = "embedded"
    beat = Heartbeat.objects.filter(name="scheduler").first()
    checks["scheduler_last_beat"] = beat.beat_at.isoformat() if beat else None
    checks["time"] = timezone.now().isoformat()
    return JsonResponse({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)


# --- error pages: the API answers problem+json even for what no API view handled ------------------------------


def _api_problem(request) -> bool:
    return request.path.startswith("/api/")


def _problem(status: int, code: str, title: str) -> JsonResponse:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "code": code}
    return JsonResponse(body, status=status, content_type="application/problem+json")


def page_not_found(request, exception):
    if _api_problem(request):
        return _problem(404, "not_found", "No such endpoint.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api_problem(request):
        return _problem(500, "server_error", "Something went wrong on our side; the error is logged.")
    return defaults.server_error(request)
