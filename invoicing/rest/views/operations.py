"""Operations around invoices: bulk reminders, background jobs, Excel reports, the dashboard and the event log."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from msgplatform.accounts.rest import input_of, method_perms, path_id, problems
from msgplatform.core.models import Event

from ...models import Job
from ...selectors.activity import events, jobs
from ...selectors.dashboard import dashboard_figures
from ...selectors.invoices import InvoiceFilters
from ...services.jobs import job_get, job_result
from ...services.reminders import bulk_reminder_preview, bulk_reminder_start
from ...services.reports import invoice_report, payments_report
from ..base import XLSX, InvoicingAPIView, XLSXRenderer, file_response
from ..idempotency import IDEMPOTENCY_PARAMETER, idempotent
from ..serializers.invoices import InvoiceListQuery
from ..serializers.operations import (
    DashboardOut,
    EventOut,
    JobOut,
    PaymentsReportQuery,
    ReminderPreviewQuery,
    ReminderRecipientOut,
    ReminderStartIn,
)

# --- bulk reminders ---------------------------------------------------------------------------------------------


class ReminderView(InvoicingAPIView):
    required_perm = method_perms()
    pagination_class = None

    @extend_schema(
        operation_id="reminders_preview",
        summary="Who a bulk reminder would email: users with approved unpaid or partially paid invoices",
        parameters=[ReminderPreviewQuery],
        responses={200: ReminderRecipientOut(many=True), **problems(400)},
    )
    def get(self, request):
        params = input_of(ReminderPreviewQuery, request, data=request.query_params.dict())
        recipients = bulk_reminder_preview(
            tenant=request.tenant, overdue_only=params["overdue_only"], account_ids=params.get("users")
        )
        return Response(self.out(ReminderRecipientOut, recipients, many=True))

    @extend_schema(
        operation_id="reminders_start",
        summary="Send the bulk reminder (a job): one email per user, never twice within the reminder window",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ReminderStartIn,
        responses={202: JobOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(ReminderStartIn, request)
        job = bulk_reminder_start(
            tenant=request.tenant,
            actor_id=request.user.id,
            overdue_only=data["overdue_only"],
            account_ids=data.get("users"),
        )
        return Response(self.out(JobOut, job), status=status.HTTP_202_ACCEPTED)


# --- jobs -----------------------------------------------------------------------------------------------------------


class JobListView(ListModelMixin, InvoicingAPIView):
    serializer_class = JobOut

    def get_queryset(self):
        return jobs(tenant=self.request.tenant)

    @extend_schema(
        operation_id="jobs_list", summary="Background jobs, newest first", responses={200: JobOut, **problems()}
    )
    def get(self, request):
        return self.list(request)


class JobDetailView(InvoicingAPIView):
    @extend_schema(
        operation_id="jobs_retrieve",
        summary="A job's status and progress",
        parameters=[path_id("job_id")],
        responses={200: JobOut, **problems(404)},
    )
    def get(self, request, job_id):
        return Response(self.out(JobOut, job_get(tenant=request.tenant, job_id=job_id)))


class JobResultView(InvoicingAPIView):
    renderer_classes = [JSONRenderer, XLSXRenderer]

    @extend_schema(
        operation_id="jobs_result",
        summary="Download a finished job's file (e.g. a large invoice report); 409 while it has none",
        parameters=[path_id("job_id")],
        responses={(200, XLSX): OpenApiTypes.BINARY, **problems(404, 409)},
    )
    def get(self, request, job_id):
        name, content = job_result(tenant=request.tenant, job_id=job_id)
        return file_response(content, name=name, media_type=XLSX)


# --- reports ----------------------------------------------------------------------------------------------------


class InvoiceReportView(InvoicingAPIView):
    renderer_classes = [JSONRenderer, XLSXRenderer]

    @extend_schema(
        operation_id="reports_invoices",
        summary="Excel report of the invoice search filter (with a payments sheet); large ones become a job (202)",
        parameters=[InvoiceListQuery],
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The workbook"),
            202: OpenApiResponse(JobOut, description="Too large for a request: follow the job, then download"),
            **problems(400),
        },
    )
    def get(self, request):
        params = input_of(InvoiceListQuery, request, data=request.query_params.dict())
        filters_ = InvoiceFilters.from_params(params)
        result = invoice_report(
            tenant=request.tenant, filters=filters_, ordering=params["ordering"], actor_id=request.user.id
        )
        if isinstance(result, Job):
            return Response(self.out(JobOut, result), status=status.HTTP_202_ACCEPTED)
        name, content = result
        return file_response(content, name=name, media_type=XLSX)


class PaymentsReportView(InvoicingAPIView):
    renderer_classes = [JSONRenderer, XLSXRenderer]

    @extend_schema(
        operation_id="reports_payments",
        summary="Excel report of payments received",
        parameters=[PaymentsReportQuery],
        responses={(200, XLSX): OpenApiTypes.BINARY, **problems(400)},
    )
    def get(self, request):
        params = input_of(PaymentsReportQuery, request, data=request.query_params.dict())
        name, content = payments_report(
            tenant=request.tenant,
            account_id=params.get("user"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
        )
        return file_response(content, name=name, media_type=XLSX)


# --- dashboard and events ---------------------------------------------------------------------------------------


class DashboardView(InvoicingAPIView):
    @extend_schema(
        operation_id="dashboard",
        summary="Dashboard figures: counts, outstanding, overdue, received, 12 months invoiced vs received",
        responses={200: DashboardOut, **problems()},
    )
    def get(self, request):
        figures = dashboard_figures(tenant=request.tenant)
        return Response(self.out(DashboardOut, figures))


class EventFilter(filters.FilterSet):
    area = filters.CharFilter(max_length=20, help_text="accounts, messaging, invoicing")
    kind = filters.CharFilter(max_length=60, help_text="e.g. invoice.approved, email.failed")
    level = filters.ChoiceFilter(choices=Event.Level.choices)
    subject_type = filters.CharFilter(max_length=40, help_text="e.g. invoice, schedule, job")
    subject_id = filters.NumberFilter(min_value=0, max_value=2**63 - 1)
    date_from = filters.DateFilter(field_name="created_at", lookup_expr="date__gte", help_text="UTC day")
    date_to = filters.DateFilter(field_name="created_at", lookup_expr="date__lte", help_text="UTC day, inclusive")

    class Meta:
        model = Event
        fields = ["area", "kind", "level", "subject_type", "subject_id", "date_from", "date_to"]


class EventCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500


class EventListView(ListModelMixin, InvoicingAPIView):
    serializer_class = EventOut
    pagination_class = EventCursor
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = EventFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request tenant
            return Event.objects.none()
        return events(tenant=self.request.tenant)

    @extend_schema(
        operation_id="events_list",
        summary="The event log of this admin (invoicing, accounts, messaging), newest first",
        responses={200: EventOut, **problems(400, 404)},
    )
    def get(self, request):
        return self.list(request)
