"""DRF authentication: by staff API token (`Authorization: Bearer <token>`), or by the pages' session once it has
passed two-factor where the login must (two_factor.py)."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .services.tokens import token_authenticate
from .two_factor import two_factor_pending


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0] not in (self.keyword, "Token"):
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        user = token_authenticate(parts[1])
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return (user, None)

    def authenticate_header(self, request):
        return self.keyword


class TwoFactorRequired(exceptions.PermissionDenied):
    default_detail = "Two-factor authentication is required: enter your code on the login page first."
    default_code = "two_factor_required"


class TwoFactorSessionAuthentication(authentication.SessionAuthentication):
    """The session of the pages, refused with 403 `two_factor_required` while it must and has not passed
    two-factor. API tokens are authenticated before this class and never reach it."""

    def authenticate(self, request):
        result = super().authenticate(request)
        # request._request.user is the login as django-otp's middleware left it, with is_verified().
        if result is not None and two_factor_pending(request._request.user):
            raise TwoFactorRequired()
        return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema."""

    target_class = "msgplatform.accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A staff API token: `Bearer mb_...`"}


class TwoFactorSessionScheme(OpenApiAuthenticationExtension):
    """Documents the session scheme as drf-spectacular does Django REST framework's own."""

    target_class = "msgplatform.accounts.authentication.TwoFactorSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
