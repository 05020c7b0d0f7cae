"""Platform owner endpoints (superuser, session login): admins, their Invoicing Licence, the test clock.

The owner is outside any tenant (it sees every admin), so the licence check in front never stops it.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from msgplatform.accounts.models import Tenant
from msgplatform.accounts.rest import ApiPagination, ApiRateThrottle, input_of, path_id, problems
from msgplatform.accounts.services.tenants import tenant_create
from msgplatform.core.clock import tenant_today

from ... import api
from ...services.clock import clock_advance, clock_reset
from ...services.licenses import license_grant, license_revoke
from ..permissions import InvoicingLicensed, PlatformOwner
from ..serializers import AdminCreateIn, AdminOut, ClockAdvanceIn, LicenceIn

TENANT_ID = path_id("tenant_id", "The admin (tenant) id")


def _admin_body(tenant: Tenant) -> dict:
    info = api.license_for(tenant)
    return {
        "id": tenant.id,
        "name": tenant.name,
        "currency": tenant.currency,
        "timezone": tenant.timezone,
        "signup_slug": tenant.signup_slug,
        "is_active": tenant.is_active,
        "today": tenant_today(tenant),
        "clock_offset_days": tenant.clock_offset_days,
        "licence": {
            "active": info.active,
            "prepaid": info.prepaid,
            "postpaid": info.postpaid,
            "valid_until": info.valid_until,
        },
    }


class PlatformAPIView(GenericAPIView):
    # The licence check first, like every invoicing endpoint: a tenant's staff never passes PlatformOwner anyway,
    # and an unlicensed tenant's staff learns only that invoicing is not licensed.
    permission_classes = [InvoicingLicensed, PlatformOwner]
    throttle_classes = [ApiRateThrottle]
    pagination_class = ApiPagination


class AdminListView(ListModelMixin, PlatformAPIView):
    serializer_class = AdminOut

    def get_queryset(self):
        return Tenant.objects.order_by("name", "id")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AdminOut([_admin_body(t) for t in page], many=True).data)

    @extend_schema(
        operation_id="platform_admins_list",
        summary="Every admin with its licence",
        responses={200: AdminOut, **problems()},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="platform_admins_create",
        summary="Create an admin (tenant) and its owner login",
        request=AdminCreateIn,
        responses={201: AdminOut, **problems(400, 409)},
    )
    def post(self, request):
        data = input_of(AdminCreateIn, request)
        tenant = tenant_create(actor_id=request.user.id, **data)
        return Response(AdminOut(_admin_body(tenant)).data, status=status.HTTP_201_CREATED)


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
        return Response(AdminOut(_admin_body(tenant)).data)

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
        return Response(AdminOut(_admin_body(tenant)).data)


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
        return Response(AdminOut(_admin_body(tenant)).data)
