"""Recurring invoices: schedules (create, edit, start, stop, dry run) and billing runs ("run billing now")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from msgplatform.accounts.permissions import Perm
from msgplatform.accounts.rest import input_of, method_perms, path_id, problems

from ...selectors.recurring import billing_run_get, billing_runs, schedule_get, schedules
from ...services.billing_runs import batch_dispatch, billing_run_start
from ...services.recurring import (
    schedule_create,
    schedule_dry_run,
    schedule_start,
    schedule_stop,
    schedule_update,
)
from ..base import InvoicingAPIView
from ..idempotency import IDEMPOTENCY_PARAMETER, idempotent
from ..serializers.recurring import BillingRunIn, BillingRunOut, DryRunOut, ScheduleIn, ScheduleOut, ScheduleUpdateIn

SCHEDULE_ID = path_id("schedule_id")


class ScheduleListView(ListModelMixin, InvoicingAPIView):
    required_perm = method_perms()
    serializer_class = ScheduleOut

    def get_queryset(self):
        return schedules(tenant=self.request.tenant, ordering="id")

    @extend_schema(
        operation_id="schedules_list", summary="Recurring schedules", responses={200: ScheduleOut, **problems()}
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="schedules_create",
        summary="Create the recurring schedule of a postpaid user (one per user)",
        request=ScheduleIn,
        responses={201: ScheduleOut, **problems(400, 404, 409)},
    )
    def post(self, request):
        data = input_of(ScheduleIn, request)
        schedule = schedule_create(tenant=request.tenant, account_id=data.pop("user"), actor_id=request.user.id, **data)
        return Response(
            self.out(ScheduleOut, schedule_get(tenant=request.tenant, schedule_id=schedule.pk)),
            status=status.HTTP_201_CREATED,
        )


class ScheduleDetailView(InvoicingAPIView):
    required_perm = method_perms()

    @extend_schema(
        operation_id="schedules_retrieve",
        summary="A schedule with its next period",
        parameters=[SCHEDULE_ID],
        responses={200: ScheduleOut, **problems(404)},
    )
    def get(self, request, schedule_id):
        return Response(self.out(ScheduleOut, schedule_get(tenant=request.tenant, schedule_id=schedule_id)))

    @extend_schema(
        operation_id="schedules_update",
        summary="Edit a schedule (only the fields given)",
        parameters=[SCHEDULE_ID],
        request=ScheduleUpdateIn,
        responses={200: ScheduleOut, **problems(400, 404, 409)},
    )
    def patch(self, request, schedule_id):
        changes = input_of(ScheduleUpdateIn, request, partial=True)
        schedule_update(tenant=request.tenant, schedule_id=schedule_id, actor_id=request.user.id, **changes)
        return Response(self.out(ScheduleOut, schedule_get(tenant=request.tenant, schedule_id=schedule_id)))


class ScheduleStartView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="schedules_start",
        summary="Start a stopped schedule again (the next period starts where coverage ended)",
        parameters=[SCHEDULE_ID],
        request=None,
        responses={200: ScheduleOut, **problems(404, 409)},
    )
    def post(self, request, schedule_id):
        schedule_start(tenant=request.tenant, schedule_id=schedule_id, actor_id=request.user.id)
        return Response(self.out(ScheduleOut, schedule_get(tenant=request.tenant, schedule_id=schedule_id)))


class ScheduleStopView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="schedules_stop",
        summary="Stop a schedule: it generates nothing until started again",
        parameters=[SCHEDULE_ID],
        request=None,
        responses={200: ScheduleOut, **problems(404, 409)},
    )
    def post(self, request, schedule_id):
        schedule_stop(tenant=request.tenant, schedule_id=schedule_id, actor_id=request.user.id)
        return Response(self.out(ScheduleOut, schedule_get(tenant=request.tenant, schedule_id=schedule_id)))


class ScheduleDryRunView(InvoicingAPIView):
    pagination_class = None

    @extend_schema(
        operation_id="schedules_dry_run",
        summary="The draft the schedule would generate next, computed without writing anything",
        parameters=[SCHEDULE_ID],
        responses={200: DryRunOut, **problems(404)},
    )
    def get(self, request, schedule_id):
        result = schedule_dry_run(tenant=request.tenant, schedule_id=schedule_id)
        return Response(self.out(DryRunOut, result))


class BillingRunListView(ListModelMixin, InvoicingAPIView):
    required_perm = method_perms()
    serializer_class = BillingRunOut

    def get_queryset(self):
        return billing_runs(tenant=self.request.tenant)

    @extend_schema(
        operation_id="billing_runs_list",
        summary="Billing runs of this admin",
        responses={200: BillingRunOut, **problems()},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="billing_runs_start",
        summary='Run billing now "as of" a day (not after today): due periods become drafts, in Celery batches',
        parameters=[IDEMPOTENCY_PARAMETER],
        request=BillingRunIn,
        responses={202: BillingRunOut, **problems(400, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(BillingRunIn, request)
        run = billing_run_start(
            tenant=request.tenant, as_of=data.get("as_of"), actor_id=request.user.id, dispatch=batch_dispatch
        )
        return Response(self.out(BillingRunOut, run), status=status.HTTP_202_ACCEPTED)


class BillingRunDetailView(InvoicingAPIView):
    @extend_schema(
        operation_id="billing_runs_retrieve",
        summary="A billing run's progress",
        parameters=[path_id("run_id")],
        responses={200: BillingRunOut, **problems(404)},
    )
    def get(self, request, run_id):
        return Response(self.out(BillingRunOut, billing_run_get(tenant=request.tenant, run_id=run_id)))
