"""Who must pass two-factor authentication (django-otp), and the check every staff page and session API call gets.

Staff are the logins of an admin (tenant) and the platform owner; users' portal logins never use two-factor.
A staff login must pass two-factor in its session when it has a confirmed authenticator (it enrolled), when its
admin requires it of all staff (`Tenant.require_two_factor`), and always for the platform owner
(`TWO_FACTOR_OWNER_REQUIRED`, off only in the test settings). Verification lives in the session (django-otp's
`OTPMiddleware` sets `user.is_verified()`); `TwoFactorMiddleware` keeps an unverified session on the code step or
on enrolment, and the API's session authentication answers 403 `two_factor_required`. API tokens are unaffected.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice


def is_staff_login(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.tenant_id or user.is_superuser))


def two_factor_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(user) -> bool:
    """The login may not work without two-factor, whether or not it has enrolled yet."""
    if not is_staff_login(user):
        return False
    if user.is_superuser:
        return settings.TWO_FACTOR_OWNER_REQUIRED
    return user.tenant.require_two_factor


def two_factor_pending(user) -> bool:
    """A staff session that must pass two-factor and has not yet (it enrolled, or it is required to)."""
    if not is_staff_login(user) or user.is_verified():
        return False
    return two_factor_required(user) or two_factor_enrolled(user)


def with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


# Paths an unverified session still reaches: the steps themselves, logging out, static files, health, and the API
# (whose session authentication answers for itself, and whose tokens are not sessions).
_OPEN_NAMES = ("login", "logout", "two-factor-verify", "two-factor-setup")


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: a session that must pass two-factor and has not reaches nothing else
    than the code step (enrolled) or enrolment (not yet enrolled); everything else redirects there first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._open(request.path_info) and two_factor_pending(request.user):
            step = "accounts:two-factor-verify" if two_factor_enrolled(request.user) else "accounts:two-factor-setup"
            url = with_next(step, request.get_full_path() if request.method == "GET" else "")
            if request.headers.get("HX-Request"):
                # An htmx fragment request: the browser would follow a 302 inside the fragment; move the page.
                response = HttpResponse(status=200)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        if path.startswith(("/api/", "/" + settings.STATIC_URL.lstrip("/"), "/healthz")):
            return True
        return path in {reverse(f"accounts:{name}") for name in _OPEN_NAMES}
