"""Invoices: the grid's search, create (prepaid, postpaid, with or without claim), the usage preview, one invoice
with its lines, taxes, payments and actions, draft edits, approval, void, delete, regeneration, PDF, evidence, email.
"""

from __future__ import annotations

import itertools

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from msgplatform.accounts.permissions import Perm
from msgplatform.accounts.rest import input_of, method_perms, path_id, problems
from msgplatform.core.http import content_disposition

from ...selectors.invoices import InvoiceFilters, invoice_detail_get, invoice_get, invoice_search
from ...selectors.usage import preview_records_page
from ...services.documents import invoice_pdf, invoice_pdf_version, invoice_pdf_versions
from ...services.emails import invoice_email_send
from ...services.evidence import evidence_csv_chunks
from ...services.invoices import (
    ClaimInput,
    invoice_approve,
    invoice_approve_bulk,
    invoice_create_postpaid,
    invoice_create_prepaid,
    invoice_delete_draft,
    invoice_preview_postpaid,
    invoice_update_draft,
    invoice_void,
)
from ...services.recurring import invoice_regenerate
from ...services.reminders import invoice_remind
from ..base import CSVRenderer, InvoicingAPIView, PDFRenderer, file_response
from ..idempotency import IDEMPOTENCY_PARAMETER, idempotent
from ..serializers.common import ReasonIn
from ..serializers.invoices import (
    BulkApproveIn,
    DocumentVersionOut,
    EmailLogOut,
    InvoiceDetailOut,
    InvoiceListQuery,
    InvoiceOut,
    InvoicePageOut,
    InvoiceUpdateIn,
    PostpaidInvoiceIn,
    PrepaidInvoiceIn,
    PreviewOut,
    PreviewQuery,
)
from ..serializers.operations import JobOut

INVOICE_ID = path_id("invoice_id")


def query_of(serializer_class, request) -> dict:
    return input_of(serializer_class, request, data=request.query_params.dict())


def _claim(data: dict) -> ClaimInput | None:
    claim = data.pop("claim", None)
    return ClaimInput(**claim) if claim else None


class InvoicingView(InvoicingAPIView):
    def detail(self, invoice_id, *, status_code=status.HTTP_200_OK) -> Response:
        """The invoice as the detail endpoint shows it, read (again) with everything it offers."""
        detail = invoice_detail_get(tenant=self.request.tenant, invoice_id=invoice_id)
        return Response(self.out(InvoiceDetailOut, detail), status=status_code)


class UsagePreviewView(InvoicingView):
    pagination_class = None

    @extend_schema(
        operation_id="usage_preview",
        summary="Postpaid: what an invoice of a user's range would bill, and a page of its records",
        parameters=[PreviewQuery],
        responses={200: PreviewOut, **problems(400, 404)},
    )
    def get(self, request):
        params = query_of(PreviewQuery, request)
        preview = invoice_preview_postpaid(
            tenant=request.tenant,
            account_id=params["user"],
            period_start=params["period_start"],
            period_end=params["period_end"],
        )
        page = preview_records_page(
            tenant=request.tenant,
            account_id=params["user"],
            period_start=params["period_start"],
            period_end=params["period_end"],
            page=params["page"],
            per_page=params["page_size"],
        )
        records = {
            "count": page.paginator.count,
            "page": page.number,
            "page_size": page.paginator.per_page,
            "num_pages": page.paginator.num_pages,
            "has_next": page.has_next(),
            "results": list(page.object_list),
        }
        body = {
            "user": params["user"],
            "period_start": params["period_start"],
            "period_end": params["period_end"],
            "lines": preview.lines,
            "totals": preview.totals,
            "usage_raw": preview.usage_raw,
            "messages": preview.messages,
            "conflict": preview.conflict,
            "records": records,
        }
        return Response(self.out(PreviewOut, body))


class InvoiceListView(InvoicingView):
    pagination_class = None

    @extend_schema(
        operation_id="invoices_list",
        summary="Search invoices: tabs, filters, sorting and pages of the Manage Invoices grid",
        parameters=[InvoiceListQuery],
        responses={200: InvoicePageOut, **problems(400)},
    )
    def get(self, request):
        params = query_of(InvoiceListQuery, request)
        filters = InvoiceFilters.from_params(params)
        page = invoice_search(
            tenant=request.tenant,
            filters=filters,
            ordering=params["ordering"],
            page=params["page"],
            page_size=params["page_size"],
        )
        return Response(self.out(InvoicePageOut, page))


class PrepaidInvoiceCreateView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_create_prepaid",
        summary="Create a prepaid (recharge) invoice; approved unless as_draft; with `claim`, also record a payment",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PrepaidInvoiceIn,
        responses={201: InvoiceDetailOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(PrepaidInvoiceIn, request)
        claim = _claim(data)
        invoice = invoice_create_prepaid(
            tenant=request.tenant, actor_id=request.user.id, account_id=data.pop("user"), claim=claim, **data
        )
        return self.detail(invoice.pk, status_code=status.HTTP_201_CREATED)


class PostpaidInvoiceCreateView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_create_postpaid",
        summary="Create a postpaid invoice from a user's unbilled usage of a range (refused if periods overlap)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PostpaidInvoiceIn,
        responses={201: InvoiceDetailOut, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request):
        data = input_of(PostpaidInvoiceIn, request)
        claim = _claim(data)
        invoice = invoice_create_postpaid(
            tenant=request.tenant, actor_id=request.user.id, account_id=data.pop("user"), claim=claim, **data
        )
        return self.detail(invoice.pk, status_code=status.HTTP_201_CREATED)


class InvoiceDetailView(InvoicingView):
    required_perm = method_perms()
    pagination_class = None

    @extend_schema(
        operation_id="invoices_retrieve",
        summary="An invoice with lines, taxes, payments, emails, due status and the actions it offers",
        parameters=[INVOICE_ID],
        responses={200: InvoiceDetailOut, **problems(404)},
    )
    def get(self, request, invoice_id):
        return self.detail(invoice_id)

    @extend_schema(
        operation_id="invoices_update_draft",
        summary="Edit a draft (approved invoices are immutable: 409)",
        parameters=[INVOICE_ID],
        request=InvoiceUpdateIn,
        responses={200: InvoiceDetailOut, **problems(400, 404, 409)},
    )
    def patch(self, request, invoice_id):
        changes = input_of(InvoiceUpdateIn, request, partial=True)
        invoice = invoice_update_draft(
            tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id, **changes
        )
        return self.detail(invoice.pk)

    @extend_schema(
        operation_id="invoices_delete_draft",
        summary="Delete a draft (its usage returns to unbilled); approved invoices are voided instead: 409",
        parameters=[INVOICE_ID],
        responses={204: OpenApiResponse(description="Deleted"), **problems(404, 409)},
    )
    def delete(self, request, invoice_id):
        invoice_delete_draft(tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvoiceApproveView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_approve",
        summary="Approve a draft: it takes the next number",
        parameters=[INVOICE_ID],
        request=None,
        responses={200: InvoiceDetailOut, **problems(404, 409)},
    )
    def post(self, request, invoice_id):
        invoice = invoice_approve(tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
        return self.detail(invoice.pk)


class InvoiceBulkApproveView(InvoicingView):
    required_perm = Perm.BILL
    pagination_class = None

    @extend_schema(
        operation_id="invoices_approve_bulk",
        summary="Approve drafts in id order; flagged drafts need confirm_flagged (409 flagged_need_confirmation)",
        request=BulkApproveIn,
        responses={200: InvoiceOut(many=True), **problems(400, 404, 409)},
    )
    def post(self, request):
        data = input_of(BulkApproveIn, request)
        approved = invoice_approve_bulk(
            tenant=request.tenant,
            invoice_ids=data["ids"],
            actor_id=request.user.id,
            confirm_flagged=data["confirm_flagged"],
        )
        return Response(self.out(InvoiceOut, approved, many=True))


class InvoiceVoidView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_void",
        summary="Void an approved invoice without payments (it keeps its number)",
        parameters=[INVOICE_ID],
        request=ReasonIn,
        responses={200: InvoiceDetailOut, **problems(400, 404, 409)},
    )
    def post(self, request, invoice_id):
        data = input_of(ReasonIn, request)
        invoice = invoice_void(
            tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id, reason=data["reason"]
        )
        return self.detail(invoice.pk)


class InvoiceRegenerateView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_regenerate",
        summary="Rebuild a postpaid draft from its period's usage (late records included)",
        parameters=[INVOICE_ID],
        request=None,
        responses={200: InvoiceDetailOut, **problems(400, 404, 409)},
    )
    def post(self, request, invoice_id):
        invoice = invoice_regenerate(tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
        return self.detail(invoice.pk)


class InvoicePDFView(InvoicingView):
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        operation_id="invoices_pdf",
        summary="The invoice PDF: the latest version (drafts render on demand with a DRAFT mark)",
        parameters=[INVOICE_ID],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **problems(404)},
    )
    def get(self, request, invoice_id):
        name, content = invoice_pdf(tenant=request.tenant, invoice_id=invoice_id)
        return file_response(content, name=name, media_type="application/pdf")


class InvoicePDFVersionListView(InvoicingView):
    pagination_class = None

    @extend_schema(
        operation_id="invoices_pdf_versions",
        summary="Stored PDF versions of an approved invoice (one per payment state), oldest first",
        parameters=[INVOICE_ID],
        responses={200: DocumentVersionOut(many=True), **problems(404)},
    )
    def get(self, request, invoice_id):
        versions = invoice_pdf_versions(tenant=request.tenant, invoice_id=invoice_id)
        return Response(self.out(DocumentVersionOut, versions, many=True))


class InvoicePDFVersionView(InvoicingView):
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        operation_id="invoices_pdf_version",
        summary="One stored PDF version, as it was rendered",
        parameters=[INVOICE_ID, path_id("version")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **problems(404)},
    )
    def get(self, request, invoice_id, version):
        name, content = invoice_pdf_version(tenant=request.tenant, invoice_id=invoice_id, version=version)
        return file_response(content, name=name, media_type="application/pdf")


class InvoiceEvidenceView(InvoicingView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="invoices_evidence",
        summary="Postpaid: the billed records at full precision, per line, with the closing total (streamed CSV)",
        parameters=[INVOICE_ID],
        responses={(200, "text/csv"): OpenApiTypes.STR, **problems(400, 404)},
    )
    def get(self, request, invoice_id):
        invoice = invoice_get(tenant=request.tenant, invoice_id=invoice_id)
        chunks = evidence_csv_chunks(invoice)
        first = next(chunks)  # raises for a prepaid invoice before the response starts
        name = f"evidence-{invoice.number or f'draft-{invoice.pk}'}.csv"
        response = StreamingHttpResponse(itertools.chain([first], chunks), content_type="text/csv")
        response["Content-Disposition"] = content_disposition(name)
        return response


class InvoiceEmailView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_email",
        summary="Email the approved invoice with its PDF to the user (queued; the log shows the outcome); "
        "409 email_recent when it was emailed less than a minute ago",
        parameters=[INVOICE_ID],
        request=None,
        responses={202: EmailLogOut, **problems(400, 404, 409)},
    )
    def post(self, request, invoice_id):
        entry = invoice_email_send(tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
        return Response(self.out(EmailLogOut, entry), status=status.HTTP_202_ACCEPTED)


class InvoiceRemindView(InvoicingView):
    required_perm = Perm.BILL

    @extend_schema(
        operation_id="invoices_remind",
        summary="Remind the invoice's user of its open invoices (one email; a job, at most one per window)",
        parameters=[INVOICE_ID],
        request=None,
        responses={202: JobOut, **problems(400, 404, 409)},
    )
    def post(self, request, invoice_id):
        job = invoice_remind(tenant=request.tenant, invoice_id=invoice_id, actor_id=request.user.id)
        return Response(self.out(JobOut, job), status=status.HTTP_202_ACCEPTED)
