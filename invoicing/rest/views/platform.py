"""Platform owner endpoints (superuser, session login) of an admin's Invoicing Licence and its test clock.

The admins themselves (list, create) are the host's endpoints (msgplatform.accounts.rest); these answer with the
host's representation of the admin (AdminOut). The owner is outside any tenant, so the licence check in front
never stops it.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from msgplatform.accounts.models import Tenant
from msgplatform.accounts.rest import AdminOut, ApiRateThrottle, admin_body, input_of, path_id, problems

from ...services.clock import clock_advance, clock_reset
from ...services.licenses import license_grant, license_revoke
from ..permissions import InvoicingLicensed, PlatformOwner
from ..serializers.platform import ClockAdvanceIn, LicenceIn

TENANT_ID = path_id("tenant_id", "The admin (tenant) id")


class PlatformAPIView(GenericAPIView):
    # The licence check first, like every invoicing endpoint: a tenant's staff never passes PlatformOwner anyway,
    # and an unlicensed tenant's staff learns only that invoicing is not licensed.
    permission_classes = [InvoicingLicensed, PlatformOwner]
    throttle_classes = [ApiRateThrottle]


class LicenceView(PlatformAPIView):
    @extend_schema(
        operation_id="platform_licence_grant",
        summary="Grant (or change) an admin's Invoicing Licence",
        parameters=[TENANT_ID],
        request=LicenceIn,
        responses={200: AdminOut, **problems(400, 404)},
    )
    def put(self, request, tenant_id):
        tenant = get_object_or_404(Tenant, pk=tenant_id)
        data = input_of(LicenceIn, request)
        license_grant(tenant=tenant, actor_id=request.user.id, **data)
        return Response(AdminOut(admin_body(tenant)).data)

    @extend_schema(
        operation_id="platform_licence_revoke",
        summary="Revoke an admin's Invoicing Licence (invoicing answers not_licensed at once)",
        parameters=[TENANT_ID],
        responses={204: OpenApiResponse(description="Revoked"), **problems(404)},
    )
    def delete(self, request, tenant_id):
        license_revoke(tenant=get_object_or_404(Tenant, pk=tenant_id), actor_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TestClockAdvanceView(PlatformAPIView):
    @extend_schema(
        operation_id="platform_test_clock_advance",
        summary="Move an admin's today forward (test installations only: 403 test_clock_disabled otherwise)",
        parameters=[TENANT_ID],
        request=ClockAdvanceIn,
        responses={200: AdminOut, **problems(400, 404)},
    )
    def post(self, request, tenant_id):
        tenant = get_object_or_404(Tenant, pk=tenant_id)
        data = input_of(ClockAdvanceIn, request)
        tenant = clock_advance(tenant=tenant, days=data["days"], actor_id=request.user.id)
        return Response(AdminOut(admin_body(tenant)).data)


class TestClockResetView(PlatformAPIView):
    @extend_schema(
        operation_id="platform_test_clock_reset",
        summary="Put an admin's today back to the real date",
        parameters=[TENANT_ID],
        request=None,
        responses={200: AdminOut, **problems(404)},
    )
    def post(self, request, tenant_id):
        tenant = clock_reset(tenant=get_object_or_404(Tenant, pk=tenant_id), actor_id=request.user.id)
        return Response(AdminOut(admin_body(tenant)).data)
