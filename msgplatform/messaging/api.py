"""REST entry points of messaging records: POST /api/v1/records/ ingests a JSON batch (a list, or {"records": [...]});
GET /api/v1/records/ lists the admin's records, newest ingested first, with a cursor.

Ingestion is never licence-gated (SPEC §3): unbilled usage waits for a later invoice.
"""

import orjson
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.mixins import ListModelMixin
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from msgplatform.accounts.permissions import Perm
from msgplatform.accounts.rest import (
    PROBLEM_MEDIA_TYPE,
    ApiRateThrottle,
    ProblemSerializer,
    StaffAPIView,
    method_perms,
    problems,
)
from msgplatform.core.ids import MAX_ID
from msgplatform.core.parsers import body_read

from .models import CHANNEL_CHOICES, STATUS_CHOICES, MessageRecord
from .services.ingest import records_ingest


class FastJSONParser(BaseParser):
    """orjson instead of json: batches of 10,000 records parse several times faster. The body is bounded like every
    API body (`body_read`, the view's limit); orjson itself refuses JSON nested deeper than 1024 levels, and the
    records' fields refuse arrays and objects (services/ingest/parse.py)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = body_read(stream, parser_context)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}")


class IngestRateThrottle(ApiRateThrottle):
    """Ingestion and listing of records have their own budget per token (rate `records`)."""

    scope = "records"


_record_error = inline_serializer(
    "RecordError",
    many=True,
    fields={
        "index": serializers.IntegerField(help_text="The record's position in the batch, from 0"),
        "field": serializers.CharField(allow_null=True, help_text="The first bad field (null: the whole record)"),
        "reason": serializers.CharField(),
        "message_id": serializers.CharField(allow_null=True, help_text="The record's message_id when it is text"),
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


class RecordOut(serializers.ModelSerializer):
    """One messaging record as stored: charge = unit_price x parts, 6 decimals, in the admin's base currency."""

    user = serializers.IntegerField(source="account_id")

    class Meta:
        model = MessageRecord
        fields = [
            "id",
            "message_id",
            "user",
            "submitted_at",
            "day",
            "destination",
            "sender_id",
            "country",
            "mcc",
            "mnc",
            "network",
            "channel",
            "encoding",
            "parts",
            "status",
            "unit_price",
            "charge",
            "rolled_back",
            "billing_method",
            "ingested_at",
        ]
        read_only_fields = fields


class RecordFilter(filters.FilterSet):
    user = filters.NumberFilter(field_name="account_id", min_value=1, max_value=MAX_ID, help_text="User id")
    date_from = filters.DateFilter(field_name="day", lookup_expr="gte", help_text="Local day (admin's time zone)")
    date_to = filters.DateFilter(field_name="day", lookup_expr="lte", help_text="Local day, inclusive")
    status = filters.ChoiceFilter(choices=STATUS_CHOICES)
    channel = filters.ChoiceFilter(choices=CHANNEL_CHOICES)

    class Meta:
        model = MessageRecord
        fields = ["user", "date_from", "date_to", "status", "channel"]


class RecordCursor(CursorPagination):
    """A cursor over the id: stable while records keep arriving, constant cost at any depth."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class RecordsView(ListModelMixin, StaffAPIView):
    parser_classes = [FastJSONParser]
    body_limit_setting = "API_RECORDS_MAX_BODY_BYTES"  # a batch of INGEST_MAX_BATCH records fits
    throttle_classes = [IngestRateThrottle]
    required_perm = method_perms(get=Perm.VIEW, write=Perm.BILL)
    serializer_class = RecordOut
    pagination_class = RecordCursor
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = RecordFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request tenant
            return MessageRecord.objects.none()
        return MessageRecord.objects.filter(tenant=self.request.tenant)

    @extend_schema(
        operation_id="records_list",
        summary="The admin's messaging records, newest ingested first (cursor pagination)",
        responses={200: RecordOut, **problems(400, 404)},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="records_ingest",
        summary="Push a batch of messaging records (up to 10,000)",
        description="Each record is checked on its own: a refused record is one entry of `errors` (its index in the "
        "batch from 0, the field and the reason) and the batch's other records are stored. `submitted_at` must fall "
        "on a day from 1970-01-01 to 2999-12-31 in the admin's time zone; text fields refuse control characters "
        "(NUL included) other than tab, line feed and carriage return.",
        request={"application/json": {"type": "object", "properties": {"records": {"type": "array"}}}},
        responses={
            200: OpenApiResponse(_ingest_result, description="The batch's outcome, with the refused records"),
            **problems(400),
            (413, PROBLEM_MEDIA_TYPE): OpenApiResponse(
                ProblemSerializer,
                description="Refused whole, nothing stored: more than INGEST_MAX_BATCH records (code batch_too_large) "
                "or a body over API_RECORDS_MAX_BODY_BYTES (code payload_too_large)",
            ),
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
