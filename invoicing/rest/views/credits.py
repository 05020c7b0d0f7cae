"""Corrections and credits (SPEC §4): credit notes (issue against an invoice, list, one note, its PDF and email),
a user's customer credit (read, adjust, apply to an invoice), refunds of customer credit and payments received for
a user, allocated across its invoices (record, list, reverse)."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from msgplatform.accounts.permissions import Perm
from msgplatform.accounts.rest import input_of, method_perms, path_id, problems

from ...selectors.credits import (
    CreditNoteFilters,
    credit_note_get,
    credit_notes_list,
    customer_credit_get,
    invoice_credit_notes,
    receipt_get,
    receipts_list,
    refund_get,
    refunds_list,
)
from ...selectors.invoices import invoice_get, payment_get
from ...services.credit_notes import credit_note_issue
from ...services.customer_credit import credit_adjust, refund_record, refund_reverse
from ...services.documents import credit_note_pdf
from ...services.emails import credit_note_email_send
from ...services.payments import credit_apply
from ...services.receipts import receipt_record, receipt_reverse
from ..base import InvoicingAPIView, PDFRenderer, file_response
from ..idempotency import IDEMPOTENCY_PARAMETER, idempotent
from ..serializers.common import ReasonIn
from ..serializers.credits import (
    CreditAdjustIn,
    CreditApplyIn,
    CreditEntryOut,
    CreditNoteIn,
    CreditNoteListQuery,
    CreditNoteOut,
    CreditNoteSummaryOut,
    CustomerCreditOut,
    DateRangeQuery,
    ReceiptIn,
    ReceiptOut,
    RefundIn,
    RefundOut,
)
from ..serializers.invoices import EmailLogOut
from ..serializers.payments import PaymentOut

INVOICE_ID = path_id("invoice_id")
CREDIT_NOTE_ID = path_id("credit_note_id")
ACCOUNT_ID = path_id("account_id", "The user's id")
REFUND_ID = path_id("refund_id")
RECEIPT_ID = path_id("receipt_id")


def query_of(serializer_class, request) -> dict:
    return input_of(serializer_class, request, data=request.query_params.dict())


# --- credit notes -------------------------------------------------------------------------------------------------


class InvoiceCreditNoteListView(InvoicingAPIView):
    required_perm = method_perms()
    pagination_class = None

    @extend_schema(
        operation_id="invoices_credit_notes",
        summary="The invoice's credit notes, in issue order, with their lines and taxes",
        parameters=[INVOICE_ID],
        responses={200: CreditNoteOut(many=True), **problems(404)},
    )
    def get(self, request, invoice_id):
        notes = invoice_credit_notes(invoice_get(tenant=request.tenant, invoice_id=invoice_id))
        prefetch_related_objects(notes, "lines", "taxes")
        return Response(self.out(CreditNoteOut, notes, many=True))

    @extend_schema(
        operation_id="invoices_credit_note_issue",
        summary="Issue a credit note against an approved invoice: invoice lines (each up to what is left "
        "uncredited) or one adjustment amount, with a reason; numbered at issue, immutable",
        parameters=[INVOICE_ID, IDEMPOTENCY_PARAMETER],
        request=CreditNoteIn,
        responses={201: CreditNoteOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request, invoice_id):
        data = input_of(CreditNoteIn, request)
        note = credit_note_issue(
            tenant=request.tenant,
            invoice_id=invoice_id,
            actor_id=request.user.id,
            reason=data["reason"],
            lines=data.get("lines"),
            amount=data.get("amount"),
            issue_date=data.get("issue_date"),
        )
        return Response(
            self.out(CreditNoteOut, credit_note_get(tenant=request.tenant, credit_note_id=note.pk)),
            status=status.HTTP_201_CREATED,
        )


class CreditNoteListView(ListModelMixin, InvoicingAPIView):
    serializer_class = CreditNoteSummaryOut

    def get_queryset(self):
        params = query_of(CreditNoteListQuery, self.request)
        filters = CreditNoteFilters(
            account_id=params.get("user"),
            invoice_id=params.get("invoice"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
            text=params.get("q", ""),
        )
        return credit_notes_list(tenant=self.request.tenant, filters=filters)

    @extend_schema(
        operation_id="credit_notes_list",
        summary="Credit notes, newest first; filters: user, invoice, issue dates, text (numbers or user name)",
        parameters=[CreditNoteListQuery],
        responses={200: CreditNoteSummaryOut, **problems(400)},
    )
    def get(self, request):
        return self.list(request)


class CreditNoteDetailView(InvoicingAPIView):
    @extend_schema(
        operation_id="credit_notes_retrieve",
        summary="One credit note: its lines (with the invoice line each credits), taxes, totals, reason, what it "
        "moved to customer credit",
        parameters=[CREDIT_NOTE_ID],
        responses={200: CreditNoteOut, **problems(404)},
    )
    def get(self, request, credit_note_id):
        return Response(self.out(CreditNoteOut, credit_note_get(tenant=request.tenant, credit_note_id=credit_note_id)))


class CreditNotePDFView(InvoicingAPIView):
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        operation_id="credit_notes_pdf",
        summary="The credit note PDF: the admin's branding, the invoice it corrects, lines, taxes, totals, reason",
        parameters=[CREDIT_NOTE_ID],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **problems(404)},
    )
    def get(self, request, credit_note_id):
        note = credit_note_get(tenant=request.tenant, credit_note_id=credit_note_id)
        return file_response(credit_note_pdf(note), name=f"{note.number}.pdf", media_type="application/pdf")


class CreditNoteEmailView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="credit_notes_email",
        summary="Email the credit note with its PDF to the user (queued; the log shows the outcome); "
        "409 email_recent when it was emailed less than a minute ago",
        parameters=[CREDIT_NOTE_ID],
        request=None,
        responses={202: EmailLogOut, **problems(400, 404, 409)},
    )
    def post(self, request, credit_note_id):
        entry = credit_note_email_send(tenant=request.tenant, credit_note_id=credit_note_id, actor_id=request.user.id)
        return Response(self.out(EmailLogOut, entry), status=status.HTTP_202_ACCEPTED)


# --- customer credit ----------------------------------------------------------------------------------------------


class CustomerCreditView(InvoicingAPIView):
    pagination_class = None

    @extend_schema(
        operation_id="users_customer_credit",
        summary="A user's customer credit: the balance, its ledger, refunds and payments received for the user",
        parameters=[ACCOUNT_ID],
        responses={200: CustomerCreditOut, **problems(404)},
    )
    def get(self, request, account_id):
        return Response(self.out(CustomerCreditOut, customer_credit_get(tenant=request.tenant, account_id=account_id)))


class CreditAdjustView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="users_customer_credit_adjust",
        summary="Adjust a user's customer credit by a signed amount, with a reason (never below zero: 409 "
        "insufficient_credit)",
        parameters=[ACCOUNT_ID, IDEMPOTENCY_PARAMETER],
        request=CreditAdjustIn,
        responses={201: CreditEntryOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request, account_id):
        data = input_of(CreditAdjustIn, request)
        entry = credit_adjust(tenant=request.tenant, account_id=account_id, actor_id=request.user.id, **data)
        return Response(self.out(CreditEntryOut, entry), status=status.HTTP_201_CREATED)


class CreditApplyView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_apply_credit",
        summary="Apply the user's customer credit to an approved invoice: a payment of type credit (reversible "
        "like any payment); no amount: as much as the balance due and the credit allow",
        parameters=[INVOICE_ID, IDEMPOTENCY_PARAMETER],
        request=CreditApplyIn,
        responses={201: PaymentOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request, invoice_id):
        data = input_of(CreditApplyIn, request)
        payment = credit_apply(
            tenant=request.tenant,
            invoice_id=invoice_id,
            actor_id=request.user.id,
            amount=data.get("amount"),
            payment_date=data.get("payment_date"),
        )
        return Response(
            self.out(PaymentOut, payment_get(tenant=request.tenant, payment_id=payment.pk)),
            status=status.HTTP_201_CREATED,
        )


# --- refunds ------------------------------------------------------------------------------------------------------


class RefundListView(ListModelMixin, InvoicingAPIView):
    required_perm = method_perms()
    serializer_class = RefundOut

    def get_queryset(self):
        params = query_of(DateRangeQuery, self.request)
        return refunds_list(
            tenant=self.request.tenant,
            account_id=params.get("user"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
        )

    @extend_schema(
        operation_id="refunds_list",
        summary="Refunds of customer credit, newest first",
        parameters=[DateRangeQuery],
        responses={200: RefundOut, **problems(400)},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="refunds_create",
        summary="Refund customer credit to the user (never more than its credit: 409 insufficient_credit)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=RefundIn,
        responses={201: RefundOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(RefundIn, request)
        refund = refund_record(tenant=request.tenant, account_id=data.pop("user"), actor_id=request.user.id, **data)
        return Response(
            self.out(RefundOut, refund_get(tenant=request.tenant, refund_id=refund.pk)),
            status=status.HTTP_201_CREATED,
        )


class RefundDetailView(InvoicingAPIView):
    @extend_schema(
        operation_id="refunds_retrieve",
        summary="One refund",
        parameters=[REFUND_ID],
        responses={200: RefundOut, **problems(404)},
    )
    def get(self, request, refund_id):
        return Response(self.out(RefundOut, refund_get(tenant=request.tenant, refund_id=refund_id)))


class RefundReverseView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="refunds_reverse",
        summary="Reverse a refund that did not happen: its amount returns to the user's customer credit",
        parameters=[REFUND_ID],
        request=ReasonIn,
        responses={200: RefundOut, **problems(400, 404, 409)},
    )
    def post(self, request, refund_id):
        data = input_of(ReasonIn, request)
        refund_reverse(tenant=request.tenant, refund_id=refund_id, actor_id=request.user.id, reason=data["reason"])
        return Response(self.out(RefundOut, refund_get(tenant=request.tenant, refund_id=refund_id)))


# --- payments received for a user ---------------------------------------------------------------------------------


class ReceiptListView(ListModelMixin, InvoicingAPIView):
    required_perm = method_perms()
    serializer_class = ReceiptOut

    def get_queryset(self):
        params = query_of(DateRangeQuery, self.request)
        return receipts_list(
            tenant=self.request.tenant,
            account_id=params.get("user"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
        ).prefetch_related("allocations__invoice")

    @extend_schema(
        operation_id="receipts_list",
        summary="Payments received for users (allocated across their invoices), newest first",
        parameters=[DateRangeQuery],
        responses={200: ReceiptOut, **problems(400)},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="receipts_create",
        summary="Record a payment received for a user: allocated to its open invoices (given, or oldest due "
        "first), the rest kept as its customer credit",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ReceiptIn,
        responses={201: ReceiptOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(ReceiptIn, request)
        allocations = data.pop("allocations", None)
        receipt = receipt_record(
            tenant=request.tenant,
            account_id=data.pop("user"),
            actor_id=request.user.id,
            allocations=None if allocations is None else [dict(item) for item in allocations],
            **data,
        )
        return Response(
            self.out(ReceiptOut, receipt_get(tenant=request.tenant, receipt_id=receipt.pk)),
            status=status.HTTP_201_CREATED,
        )


class ReceiptDetailView(InvoicingAPIView):
    @extend_schema(
        operation_id="receipts_retrieve",
        summary="One payment received for a user, with its allocations",
        parameters=[RECEIPT_ID],
        responses={200: ReceiptOut, **problems(404)},
    )
    def get(self, request, receipt_id):
        return Response(self.out(ReceiptOut, receipt_get(tenant=request.tenant, receipt_id=receipt_id)))


class ReceiptReverseView(InvoicingAPIView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="receipts_reverse",
        summary="Reverse a payment received as a whole: every allocation, and the customer credit it left",
        parameters=[RECEIPT_ID],
        request=ReasonIn,
        responses={200: ReceiptOut, **problems(400, 404, 409)},
    )
    def post(self, request, receipt_id):
        data = input_of(ReasonIn, request)
        receipt_reverse(tenant=request.tenant, receipt_id=receipt_id, actor_id=request.user.id, reason=data["reason"])
        return Response(self.out(ReceiptOut, receipt_get(tenant=request.tenant, receipt_id=receipt_id)))
