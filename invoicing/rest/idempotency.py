"""`Idempotency-Key` for the POSTs that create or move money: a retried request happens once.

Same key and same request -> the first response is replayed (status and body, plus `Idempotent-Replayed: true`)
and nothing happens a second time. Same key with another body, path or staff login -> 409 idempotency_key_reused.
Keys are scoped per tenant and kept 24 hours; only successful (2xx) responses are kept: a refused request leaves
no key behind, so the client can correct it and send it again with the same key.

Concurrency: the key row is inserted first, inside the request's transaction, and the unique (tenant, key) index
decides. On PostgreSQL a second request with the same key blocks on that insert until the first commits, then
replays its stored response (or, if the first failed and rolled back, runs itself). On SQLite the IMMEDIATE
transactions already run one writer at a time. See docs/decisions.md.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from msgplatform.core.errors import Conflict, ValidationFailed

from ..models import IdempotencyKey
from ..models.idempotency import KEY_TTL

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (e.g. a UUID), at most 255 characters. A retry with the same key and body "
    "replays the first response instead of acting twice; kept 24 hours per admin.",
)


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


def request_fingerprint(request) -> str:
    """sha256 of method, path, staff login and the canonical JSON body (sorted keys, no spaces)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    raw = "\n".join([request.method, request.path, str(request.user.pk), body])
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay_or_claim(*, tenant, user, key: str, fingerprint: str) -> Response | None:
    """None when this request owns the key (its row is inserted); otherwise the response to send instead."""
    IdempotencyKey.objects.filter(tenant=tenant, key=key, created_at__lt=timezone.now() - KEY_TTL).delete()
    try:
        with transaction.atomic():
            # On PostgreSQL this INSERT waits while another transaction holds an uncommitted row with the same key.
            IdempotencyKey.objects.create(tenant=tenant, user=user, key=key, fingerprint=fingerprint)
        return None
    except IntegrityError:
        pass
    stored = IdempotencyKey.objects.filter(tenant=tenant, key=key).first()
    if stored is not None and stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another request; use a new key for a new request.", field=HEADER
        )
    if stored is None or stored.response_status is None:
        raise Conflict(
            "A request with this Idempotency-Key is in progress; retry later.", code="idempotency_in_progress"
        )
    return Response(
        json.loads(stored.response_body), status=stored.response_status, headers={"Idempotent-Replayed": "true"}
    )


def idempotent(handler):
    """Decorate a POST handler of an InvoicingAPIView (after the permission checks have set request.tenant)."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValidationFailed(
                f"The Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters.", field=HEADER, code="invalid"
            )
        with transaction.atomic():
            replay = _replay_or_claim(
                tenant=request.tenant, user=request.user, key=key, fingerprint=request_fingerprint(request)
            )
            if replay is not None:
                return replay
            response = handler(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)  # nothing kept: neither the key nor any write
                return response
            IdempotencyKey.objects.filter(tenant=request.tenant, key=key).update(
                response_status=response.status_code, response_body=JSONRenderer().render(response.data).decode()
            )
            return response

    return wrapper
