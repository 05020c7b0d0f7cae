"""Plumbing of the invoicing API views: the licensed base view, file responses and their renderers."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.renderers import BaseRenderer, JSONRenderer

from msgplatform.accounts.permissions import StaffPermission
from msgplatform.accounts.rest import StaffAPIView
from msgplatform.core.clock import tenant_today
from msgplatform.core.http import content_disposition

from .permissions import InvoicingLicensed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class InvoicingAPIView(StaffAPIView):
    """Every invoicing endpoint: licence first (403 not_licensed), then the role (`required_perm`)."""

    permission_classes = [InvoicingLicensed, StaffPermission]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        tenant = getattr(self.request, "tenant", None)
        if tenant is not None:
            context.update(currency=tenant.currency, today=tenant_today(tenant))
        return context

    def out(self, serializer_class, instance, *, many: bool = False):
        """Serialise for the response with the tenant's today and its currency (that of amounts which belong to no
        invoice: an invoice's and its payments' amounts are in the invoice's own) in the context."""
        return serializer_class(instance, many=many, context=self.get_serializer_context()).data


class FileRenderer(BaseRenderer):
    """Lets a client ask for the file's media type in Accept; errors still go out as problem+json."""

    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return JSONRenderer().render(data)


class PDFRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class CSVRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XLSXRenderer(FileRenderer):
    media_type = XLSX
    format = "xlsx"


FILE_RENDERERS = [JSONRenderer, PDFRenderer, CSVRenderer, XLSXRenderer]


def file_response(content: bytes, *, name: str, media_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=media_type)
    response["Content-Disposition"] = content_disposition(name)
    return response
