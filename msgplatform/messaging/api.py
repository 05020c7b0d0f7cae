"""REST entry point of ingestion: POST /api/v1/records/ with a JSON batch (a list, or {"records": [...]})."""

import orjson
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from msgplatform.accounts.permissions import Perm, StaffPermission

from .services.ingest import records_ingest


class FastJSONParser(BaseParser):
    """orjson instead of json: batches of 10,000 records parse several times faster."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}")


_record_error = inline_serializer(
    "RecordError",
    many=True,
    fields={
        "index": serializers.IntegerField(),
        "field": serializers.CharField(allow_null=True),
        "reason": serializers.CharField(),
        "message_id": serializers.CharField(allow_null=True),
    },
)
_ingest_result = inline_serializer(
    "IngestResult",
    {
        "batch_id": serializers.IntegerField(),
        "received": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "errors": _record_error,
    },
)


class RecordsIngestView(APIView):
    parser_classes = [FastJSONParser]
    permission_classes = [StaffPermission]
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="records_ingest",
        summary="Push a batch of messaging records (up to 10,000)",
        request={"application/json": {"type": "object", "properties": {"records": {"type": "array"}}}},
        responses={
            200: _ingest_result,
            400: OpenApiResponse(description="Malformed body"),
            401: OpenApiResponse(description="No or invalid credentials"),
            403: OpenApiResponse(description="Role not allowed"),
            413: OpenApiResponse(description="Batch over the limit, refused whole"),
        },
    )
    def post(self, request):
        body = request.data
        rows = body.get("records") if isinstance(body, dict) else body
        if not isinstance(rows, list):
            raise ParseError('The body must be a JSON list of records or {"records": [...]}.')
        result = records_ingest(tenant=request.tenant, rows=rows, actor_id=request.user.id)
        payload = {
            "batch_id": result.batch_id,
            "received": result.received,
            "created": result.created,
            "duplicates": result.duplicates,
            "updated": result.updated,
            "rejected": result.rejected,
            "errors": [e.__dict__ for e in result.errors],
        }
        return Response(payload)
