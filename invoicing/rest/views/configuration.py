"""Per-admin configuration: invoicing settings, numbering format, bank details, tax rates, email templates."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from msgplatform.accounts.permissions import Perm
from msgplatform.accounts.rest import input_of, method_perms, path_id, problems
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotFound

from ...models import EmailKind
from ...selectors.configuration import email_template_customised, invoice_sequence_last, tax_rates
from ...services.configuration import (
    bank_details_for,
    bank_details_update,
    settings_for,
    settings_update,
    tax_rate_create,
    tax_rate_delete,
    tax_rate_get,
    tax_rate_update,
)
from ...services.emails import PLACEHOLDERS, template_for, template_preview, template_update
from ...services.numbering import number_render
from ..base import InvoicingAPIView
from ..serializers.configuration import (
    BankDetailsIn,
    BankDetailsOut,
    EmailRenderedOut,
    EmailTemplateIn,
    EmailTemplateOut,
    EmailTemplatePreviewIn,
    NumberingIn,
    NumberingOut,
    SettingsIn,
    SettingsOut,
    TaxIn,
    TaxOut,
)

SETTINGS_PERMS = method_perms(get=Perm.VIEW, write=Perm.MANAGE)
KIND = OpenApiParameter(
    "kind", str, OpenApiParameter.PATH, enum=EmailKind.values, description="invoice, reminder or credit_note"
)


class SettingsView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS

    @extend_schema(
        operation_id="settings_retrieve", summary="Invoicing settings", responses={200: SettingsOut, **problems()}
    )
    def get(self, request):
        return Response(self.out(SettingsOut, settings_for(request.tenant)))

    @extend_schema(
        operation_id="settings_update",
        summary="Change invoicing settings (only the fields given)",
        request=SettingsIn,
        responses={200: SettingsOut, **problems(400)},
    )
    def patch(self, request):
        changes = input_of(SettingsIn, request, partial=True)
        return Response(
            self.out(SettingsOut, settings_update(tenant=request.tenant, actor_id=request.user.id, **changes))
        )


class NumberingView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS

    def _body(self, tenant) -> dict:
        number_format = settings_for(tenant).number_format
        last = invoice_sequence_last(tenant=tenant)
        return {
            "number_format": number_format,
            "last_sequence": last,
            "next_number": number_render(number_format, last + 1, tenant_today(tenant)),
        }

    @extend_schema(
        operation_id="numbering_retrieve",
        summary="Invoice number format, and the number the next approval would take",
        responses={200: NumberingOut, **problems()},
    )
    def get(self, request):
        return Response(self.out(NumberingOut, self._body(request.tenant)))

    @extend_schema(
        operation_id="numbering_update",
        summary="Change the invoice number format (the counter never resets)",
        request=NumberingIn,
        responses={200: NumberingOut, **problems(400)},
    )
    def put(self, request):
        data = input_of(NumberingIn, request)
        settings_update(tenant=request.tenant, actor_id=request.user.id, number_format=data["number_format"])
        return Response(self.out(NumberingOut, self._body(request.tenant)))


class BankDetailsView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS

    @extend_schema(
        operation_id="bank_details_retrieve",
        summary="Bank details printed on invoices",
        responses={200: BankDetailsOut, **problems()},
    )
    def get(self, request):
        return Response(self.out(BankDetailsOut, bank_details_for(request.tenant)))

    @extend_schema(
        operation_id="bank_details_update",
        summary="Change the bank details (only the fields given)",
        request=BankDetailsIn,
        responses={200: BankDetailsOut, **problems(400)},
    )
    def patch(self, request):
        changes = input_of(BankDetailsIn, request, partial=True)
        row = bank_details_update(tenant=request.tenant, actor_id=request.user.id, **changes)
        return Response(self.out(BankDetailsOut, row))


class TaxListView(ListModelMixin, InvoicingAPIView):
    required_perm = SETTINGS_PERMS
    serializer_class = TaxOut

    def get_queryset(self):
        return tax_rates(tenant=self.request.tenant, ordering="name")

    @extend_schema(
        operation_id="taxes_list", summary="Tax rates (deleted ones excluded)", responses={200: TaxOut, **problems()}
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="taxes_create",
        summary="Create a tax rate",
        request=TaxIn,
        responses={201: TaxOut, **problems(400)},
    )
    def post(self, request):
        data = input_of(TaxIn, request)
        tax = tax_rate_create(tenant=request.tenant, actor_id=request.user.id, **data)
        return Response(self.out(TaxOut, tax), status=status.HTTP_201_CREATED)


class TaxDetailView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS

    @extend_schema(
        operation_id="taxes_retrieve",
        summary="A tax rate",
        parameters=[path_id("tax_id")],
        responses={200: TaxOut, **problems(404)},
    )
    def get(self, request, tax_id):
        return Response(self.out(TaxOut, tax_rate_get(tenant=request.tenant, tax_id=tax_id)))

    @extend_schema(
        operation_id="taxes_update",
        summary="Change a tax rate (drafts computed from now on; approved invoices keep theirs)",
        parameters=[path_id("tax_id")],
        request=TaxIn,
        responses={200: TaxOut, **problems(400, 404)},
    )
    def patch(self, request, tax_id):
        changes = input_of(TaxIn, request, partial=True)
        tax = tax_rate_update(tenant=request.tenant, tax_id=tax_id, actor_id=request.user.id, **changes)
        return Response(self.out(TaxOut, tax))

    @extend_schema(
        operation_id="taxes_delete",
        summary="Delete a tax rate (soft: old invoices keep their tax lines)",
        parameters=[path_id("tax_id")],
        responses={204: OpenApiResponse(description="Deleted"), **problems(404)},
    )
    def delete(self, request, tax_id):
        tax_rate_delete(tenant=request.tenant, tax_id=tax_id, actor_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _kind(kind: str) -> str:
    if kind not in EmailKind.values:
        raise NotFound("No such email template.")
    return kind


def _template_body(tenant, kind: str) -> dict:
    subject, body = template_for(tenant, kind)
    return {
        "kind": kind,
        "subject": subject,
        "body": body,
        "placeholders": PLACEHOLDERS[kind],
        "customised": email_template_customised(tenant=tenant, kind=kind),
    }


class EmailTemplateListView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS
    pagination_class = None

    @extend_schema(
        operation_id="email_templates_list",
        summary="Email templates (invoice, reminder) with their placeholders",
        responses={200: EmailTemplateOut(many=True), **problems()},
    )
    def get(self, request):
        bodies = [_template_body(request.tenant, kind) for kind in EmailKind.values]
        return Response(self.out(EmailTemplateOut, bodies, many=True))


class EmailTemplateView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS

    @extend_schema(
        operation_id="email_templates_retrieve",
        summary="One email template",
        parameters=[KIND],
        responses={200: EmailTemplateOut, **problems(404)},
    )
    def get(self, request, kind):
        return Response(self.out(EmailTemplateOut, _template_body(request.tenant, _kind(kind))))

    @extend_schema(
        operation_id="email_templates_update",
        summary="Save an email template (unknown placeholders are refused)",
        parameters=[KIND],
        request=EmailTemplateIn,
        responses={200: EmailTemplateOut, **problems(400, 404)},
    )
    def put(self, request, kind):
        kind = _kind(kind)
        data = input_of(EmailTemplateIn, request)
        template_update(tenant=request.tenant, kind=kind, actor_id=request.user.id, **data)
        return Response(self.out(EmailTemplateOut, _template_body(request.tenant, kind)))


class EmailTemplatePreviewView(InvoicingAPIView):
    required_perm = SETTINGS_PERMS

    @extend_schema(
        operation_id="email_templates_preview",
        summary="The template filled with sample values (unsaved subject/body when given)",
        parameters=[KIND],
        request=EmailTemplatePreviewIn,
        responses={200: EmailRenderedOut, **problems(400, 404)},
    )
    def post(self, request, kind):
        kind = _kind(kind)
        data = input_of(EmailTemplatePreviewIn, request)
        subject, body = template_preview(tenant=request.tenant, kind=kind, **data)
        return Response(self.out(EmailRenderedOut, {"subject": subject, "body": body}))
