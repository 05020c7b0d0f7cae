"""REST API v1 of the host platform: users (the billed accounts), their balance and ledger, staff API tokens, and
the platform owner's admins (tenants).

It also holds the plumbing every API module shares (the invoicing plugin's too): the problem+json schema of the
error responses, the per-token throttle, the list pagination and the base view. Views are thin: parse with an input
serializer, call one service or selector, render with an output serializer.
"""

from __future__ import annotations

import hashlib

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import get_authorization_header
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from invoicing import api as invoicing_api
from msgplatform.core.clock import tenant_today
from msgplatform.core.errors import NotFound
from msgplatform.core.ids import MAX_ID

from . import selectors
from .models import Account, AccountType, ApiToken, BillingMethod, StaffRole, Tenant, User
from .permissions import Perm, PlatformOwnerPermission, StaffPermission
from .services.accounts import account_create, account_update
from .services.tenants import tenant_create
from .services.tokens import token_create, token_revoke

# --- shared plumbing --------------------------------------------------------------------------------------------

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="The input the error is about (dotted for nesting)")
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, with a machine-readable `code` and, for invalid input, field errors."""

    type = serializers.CharField(help_text="A URI naming the kind of problem")
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. not_licensed, overpayment")
    detail = serializers.CharField(required=False)
    errors = FieldErrorSerializer(many=True, required=False)


PROBLEM_DESCRIPTIONS = {
    400: "Invalid input: `errors` lists the fields (code validation_failed, or a rule's own code)",
    401: "No credentials, or an invalid or revoked API token",
    403: "The role does not allow this, the login is not an admin's staff, or invoicing is not licensed "
    "(code not_licensed)",
    404: "No such object in this admin's data (another admin's objects are never revealed), or an invalid cursor",
    409: "Conflicts with the current state (e.g. not a draft, period overlap, Idempotency-Key reused)",
    413: "Batch over the limit, refused whole",
    429: "Too many requests for this token; retry after the Retry-After seconds",
}


def problems(*codes: int, authenticated: bool = True) -> dict:
    """The problem+json responses of an operation: 401, 403 and 429 for every authenticated one, plus `codes`."""
    every = (401, 403, 429) if authenticated else ()
    return {
        (code, PROBLEM_MEDIA_TYPE): OpenApiResponse(ProblemSerializer, description=PROBLEM_DESCRIPTIONS[code])
        for code in sorted({*every, *codes})
    }


def path_id(name: str, description: str = "") -> OpenApiParameter:
    """An integer id in the path (Django's int converter takes digits only)."""
    return OpenApiParameter(
        name,
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        OpenApiParameter.PATH,
        description=description,
    )


class IdField(serializers.IntegerField):
    """An object id in a body or query: a positive 64-bit integer."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class ApiRateThrottle(SimpleRateThrottle):
    """Requests per API token (per login for session users), rate from REST_FRAMEWORK's DEFAULT_THROTTLE_RATES.

    The identity is a hash of the presented token, so each token has its own budget; the rate is read at each
    request (not at import) so that settings overrides apply. Anonymous requests are refused before throttling.
    """

    scope = "api"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        parts = get_authorization_header(request).split()
        if len(parts) == 2 and parts[0].lower() in (b"bearer", b"token"):
            ident = "token:" + hashlib.sha256(parts[1]).hexdigest()[:40]
        else:
            ident = f"login:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class StaffAPIView(GenericAPIView):
    """Base of the admins' staff endpoints: role check (`required_perm`), per-token throttle, limit/offset lists."""

    permission_classes = [StaffPermission]
    throttle_classes = [ApiRateThrottle]
    pagination_class = ApiPagination
    required_perm: Perm | dict | None = None  # None: view for reads, bill for writes (StaffPermission)


def method_perms(get: Perm = Perm.VIEW, write: Perm = Perm.BILL) -> dict:
    """`required_perm` for a view with reads and writes."""
    return {"GET": get, "HEAD": get, "OPTIONS": get, "POST": write, "PUT": write, "PATCH": write, "DELETE": write}


def input_of(serializer_class, request, *, partial: bool = False, data=None) -> dict:
    serializer = serializer_class(data=request.data if data is None else data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- users (accounts) -------------------------------------------------------------------------------------------


class UserOut(serializers.ModelSerializer):
    """A User of the admin (an account that sends messages and is billed)."""

    email = serializers.CharField(read_only=True, help_text="May be empty")
    billing_email = serializers.CharField(read_only=True, help_text="May be empty")

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "email",
            "account_type",
            "billing_method",
            "billing_name",
            "billing_address",
            "billing_email",
            "tax_id",
            "apply_tax",
            "overdraft_limit",
            "balance",
            "signed_up",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class UserIn(serializers.Serializer):
    """A user's billing profile: `name` is required on create; a PATCH changes only the fields it gives."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    account_type = serializers.ChoiceField(choices=AccountType.choices, required=False)
    billing_method = serializers.ChoiceField(
        choices=BillingMethod.choices, required=False, help_text="postpaid needs an invoicing licence that covers it"
    )
    billing_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    billing_address = serializers.CharField(allow_blank=True, required=False)
    billing_email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    tax_id = serializers.CharField(max_length=60, allow_blank=True, required=False)
    apply_tax = serializers.BooleanField(required=False)
    overdraft_limit = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Postpaid only: how far below zero the balance may go",
    )


class UserCreateIn(UserIn):
    login_username = serializers.CharField(
        max_length=150, required=False, allow_blank=True, help_text="Also create the user's own portal login"
    )
    login_password = serializers.CharField(max_length=128, required=False, allow_blank=True, write_only=True)


class UserListQuery(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Name or email contains")
    billing_method = serializers.ChoiceField(choices=BillingMethod.choices, required=False)
    ordering = serializers.ChoiceField(
        choices=["name", "-name", "balance", "-balance", "created_at", "-created_at"], required=False
    )


class BalanceOut(serializers.Serializer):
    user = serializers.IntegerField()
    billing_method = serializers.CharField()
    balance = serializers.DecimalField(max_digits=20, decimal_places=6)
    overdraft_limit = serializers.DecimalField(max_digits=18, decimal_places=2)
    floor = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="Lowest balance spending may reach")
    currency = serializers.CharField()


class LedgerEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=6)
    kind = serializers.CharField()
    reference = serializers.CharField()
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    balance_before = serializers.DecimalField(max_digits=20, decimal_places=6)
    balance_after = serializers.DecimalField(max_digits=20, decimal_places=6)
    created_at = serializers.DateTimeField()


class UserListView(ListModelMixin, StaffAPIView):
    required_perm = method_perms()
    serializer_class = UserOut

    def get_queryset(self):
        params = input_of(UserListQuery, self.request, data=self.request.query_params)
        qs = selectors.account_list(
            tenant=self.request.tenant, search=params.get("q", ""), billing_method=params.get("billing_method", "")
        )
        if params.get("ordering"):
            qs = qs.order_by(params["ordering"], "id")
        return qs

    @extend_schema(
        operation_id="users_list",
        summary="List the admin's users",
        parameters=[UserListQuery],
        responses={200: UserOut, **problems(400)},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="users_create",
        summary="Create a user (billing profile; optionally its portal login)",
        request=UserCreateIn,
        responses={201: UserOut, **problems(400, 409)},
    )
    def post(self, request):
        data = input_of(UserCreateIn, request)
        account = account_create(tenant=request.tenant, actor_id=request.user.id, **data)
        return Response(UserOut(account).data, status=status.HTTP_201_CREATED)


class UserDetailView(StaffAPIView):
    required_perm = method_perms()

    @extend_schema(
        operation_id="users_retrieve",
        summary="A user with its billing profile and balance",
        parameters=[path_id("account_id")],
        responses={200: UserOut, **problems(404)},
    )
    def get(self, request, account_id):
        return Response(UserOut(selectors.account_get(tenant=request.tenant, account_id=account_id)).data)

    @extend_schema(
        operation_id="users_update",
        summary="Edit a user's billing profile (only the fields given)",
        parameters=[path_id("account_id")],
        request=UserIn,
        responses={200: UserOut, **problems(400, 404, 409)},
    )
    def patch(self, request, account_id):
        account = selectors.account_get(tenant=request.tenant, account_id=account_id)
        changes = input_of(UserIn, request, partial=True)
        return Response(UserOut(account_update(account=account, actor_id=request.user.id, **changes)).data)


class UserBalanceView(StaffAPIView):
    @extend_schema(
        operation_id="users_balance",
        summary="A user's balance and its floor",
        parameters=[path_id("account_id")],
        responses={200: BalanceOut, **problems(404)},
    )
    def get(self, request, account_id):
        account = selectors.account_get(tenant=request.tenant, account_id=account_id)
        return Response(
            BalanceOut(
                {
                    "user": account.id,
                    "billing_method": account.billing_method,
                    "balance": account.balance,
                    "overdraft_limit": account.overdraft_limit,
                    "floor": account.balance_floor,
                    "currency": request.tenant.currency,
                }
            ).data
        )


class UserLedgerView(ListModelMixin, StaffAPIView):
    serializer_class = LedgerEntryOut

    def get_queryset(self):
        account = selectors.account_get(tenant=self.request.tenant, account_id=self.kwargs["account_id"])
        return selectors.ledger_for(tenant=self.request.tenant, account_id=account.id)

    @extend_schema(
        operation_id="users_ledger",
        summary="A user's balance ledger, newest first",
        parameters=[path_id("account_id")],
        responses={200: LedgerEntryOut, **problems(404)},
    )
    def get(self, request, account_id):
        return self.list(request)


# --- API tokens -------------------------------------------------------------------------------------------------


class StaffRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=StaffRole.choices)


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="First characters of the secret, to recognise it")
    staff = StaffRefOut(source="user")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class TokenCreatedOut(TokenOut):
    secret = serializers.CharField(help_text="Shown once: only its hash is stored")


class TokenCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    staff = IdField(required=False, help_text="The staff login the token acts as (default: yourself); its role applies")


def _tokens_of(tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user__tenant=tenant).select_related("user").order_by("-id")


class TokenListView(ListModelMixin, StaffAPIView):
    required_perm = Perm.MANAGE
    serializer_class = TokenOut

    def get_queryset(self):
        return _tokens_of(self.request.tenant)

    @extend_schema(
        operation_id="tokens_list", summary="API tokens of the admin's staff", responses={200: TokenOut, **problems()}
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="tokens_create",
        summary="Create an API token (the secret is returned once)",
        request=TokenCreateIn,
        responses={201: TokenCreatedOut, **problems(400, 404)},
    )
    def post(self, request):
        data = input_of(TokenCreateIn, request)
        owner = request.user
        if data.get("staff"):
            owner = User.objects.filter(tenant=request.tenant, pk=data["staff"]).first()
            if owner is None:
                raise NotFound("No such staff login.", field="staff")
        token, secret = token_create(user=owner, name=data["name"])
        body = TokenOut(token).data | {"secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailView(StaffAPIView):
    required_perm = Perm.MANAGE

    @extend_schema(
        operation_id="tokens_revoke",
        summary="Revoke an API token (it stops working at once)",
        parameters=[path_id("token_id")],
        responses={204: OpenApiResponse(description="Revoked"), **problems(404)},
    )
    def delete(self, request, token_id):
        token = _tokens_of(request.tenant).filter(pk=token_id).first()
        if token is None:
            raise NotFound("No such token.")
        token_revoke(token=token, actor_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- platform owner: admins (tenants) ------------------------------------------------------------------------------
# The owner is outside any tenant: it sees every admin. Licence and test clock endpoints are the invoicing plugin's
# (invoicing/rest/views/platform.py); they answer with the same AdminOut.


class LicenceOut(serializers.Serializer):
    active = serializers.BooleanField()
    prepaid = serializers.BooleanField()
    postpaid = serializers.BooleanField()
    valid_until = serializers.DateField(allow_null=True)


class AdminOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField()
    signup_slug = serializers.CharField()
    is_active = serializers.BooleanField()
    today = serializers.DateField(help_text="The admin's today (test clock included)")
    clock_offset_days = serializers.IntegerField()
    licence = LicenceOut()


class AdminCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    timezone = serializers.CharField(max_length=64, help_text="IANA name, e.g. Europe/Berlin")
    signup_slug = serializers.SlugField(max_length=60)
    owner_username = serializers.CharField(max_length=150)
    owner_email = serializers.EmailField(max_length=254)
    owner_password = serializers.CharField(min_length=8, max_length=128, write_only=True)


def admin_body(tenant: Tenant) -> dict:
    """What AdminOut renders for an admin: its settings, its today and its licence (from the invoicing facade)."""
    info = invoicing_api.license_for(tenant)
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


class AdminListView(ListModelMixin, GenericAPIView):
    permission_classes = [PlatformOwnerPermission]
    throttle_classes = [ApiRateThrottle]
    pagination_class = ApiPagination
    serializer_class = AdminOut

    def get_queryset(self):
        return Tenant.objects.order_by("name", "id")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AdminOut([admin_body(t) for t in page], many=True).data)

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
        return Response(AdminOut(admin_body(tenant)).data, status=status.HTTP_201_CREATED)
