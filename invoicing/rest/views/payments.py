"""Payments received: record one against an approved invoice ("claim"), list them with filters, reverse one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from msgplatform.accounts.permissions import Perm
from msgplatform.accounts.rest import input_of, method_perms, path_id, problems

from ...selectors.invoices import payment_get, payments_list
from ...services.payments import payment_record, payment_reverse
from ..base import InvoicingAPIView
from ..idempotency import IDEMPOTENCY_PARAMETER, idempotent
from ..serializers.common import ReasonIn
from ..serializers.payments import PaymentIn, PaymentListQuery, PaymentOut


class PaymentListView(ListModelMixin, InvoicingAPIView):
    required_perm = method_perms()
    serializer_class = PaymentOut

    def get_queryset(self):
        params = input_of(PaymentListQuery, self.request, data=self.request.query_params.dict())
        return payments_list(
            tenant=self.request.tenant,
            account_id=params.get("user"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
            include_reversed=params["include_reversed"],
        )

    @extend_schema(
        operation_id="payments_list",
        summary="Payments received, newest first",
        parameters=[PaymentListQuery],
        responses={200: PaymentOut, **problems(400)},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="payments_create",
        summary="Record a payment against an approved invoice (partial allowed; never above the balance due)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PaymentIn,
        responses={201: PaymentOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(PaymentIn, request)
        payment = payment_record(
            tenant=request.tenant, invoice_id=data.pop("invoice"), actor_id=request.user.id, **data
        )
        return Response(
            self.out(PaymentOut, payment_get(tenant=request.tenant, payment_id=payment.pk)),
            status=status.HTTP_201_CREATED,
        )


class PaymentDetailView(InvoicingAPIView):
    @extend_schema(
        operation_id="payments_retrieve",
        summary="One payment",
        parameters=[path_id("payment_id")],
        responses={200: PaymentOut, **problems(404)},
    )
    def get(self, request, payment_id):
        return Response(self.out(PaymentOut, payment_get(tenant=request.tenant, payment_id=payment_id)))


class PaymentReverseView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="payments_reverse",
        summary="Reverse a payment: the invoice owes it again and the balance credit is taken back",
        parameters=[path_id("payment_id")],
        request=ReasonIn,
        responses={200: PaymentOut, **problems(400, 404, 409)},
    )
    def post(self, request, payment_id):
        data = input_of(ReasonIn, request)
        payment_reverse(tenant=request.tenant, payment_id=payment_id, actor_id=request.user.id, reason=data["reason"])
        return Response(self.out(PaymentOut, payment_get(tenant=request.tenant, payment_id=payment_id)))
