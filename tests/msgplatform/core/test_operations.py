import json
import logging

from django.test import Client

from msgplatform.core.logging import JsonFormatter, RequestIdFilter, request_id_var
from msgplatform.core.tasks import heartbeat


def test_healthz_reports_database_broker_and_scheduler(db):
    heartbeat()
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"
    assert body["checks"]["scheduler_last_beat"] is not None


def test_every_response_carries_a_request_id_and_keeps_a_good_incoming_one(db):
    client = Client()
    generated = client.get("/healthz")["X-Request-ID"]
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="abcd1234-feed")["X-Request-ID"]
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert len(generated) == 32 and kept == "abcd1234-feed" and replaced != "<script>"


def test_json_log_lines_carry_the_request_id():
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("invoicing", logging.WARNING, __file__, 1, "payment %s failed", ("7",), None)
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == (
        "WARNING",
        "invoicing",
        "payment 7 failed",
        "req-42",
    )
