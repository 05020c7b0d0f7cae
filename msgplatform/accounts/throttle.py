"""Login and password-reset throttling: who is refused, for how long, and how the client address is found.

Logins go through django-axes (`AxesStandaloneBackend` first in AUTHENTICATION_BACKENDS, this module's handler as
AXES_HANDLER). A client is one username from one address:

- after AXES_FAILURE_LIMIT failed passwords within AXES_COOLOFF_TIME, that username from that address is refused
  for AXES_COOLOFF_TIME; other users of the address (an office, a proxy) and the same user elsewhere are not;
- an address that fails LOGIN_IP_FAILURE_LIMIT times, whatever the usernames (password spraying), is refused;
- a correct password resets its own username and address only, and is not counted against the address.

Axes decides from the failures it recorded, but it reads them before the password check and writes them after,
so concurrent attempts would all pass its check. Here every attempt is first claimed atomically on both counters
(services.attempts): at most the limit of passwords is ever checked, however many requests arrive at once.
The API's tokens never pass through here.
"""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render

from .services.attempts import attempt_claim, attempt_give_back, attempts_clear

LOGIN = "login"
LOGIN_IP = "login-ip"
RESET_ADDRESS = "reset-address"
RESET_IP = "reset-ip"
RESET_THROTTLED = "Too many password reset requests; try again in an hour."


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind our own proxy (BEHIND_PROXY=1) the last X-Forwarded-For hop.

    The last hop is the address the proxy itself saw (nginx's `proxy_add_x_forwarded_for` appends it); anything
    before it was written by the client and is never trusted. Without BEHIND_PROXY the header is ignored.
    """
    if settings.BEHIND_PROXY:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if hops[-1] and _valid_ip(hops[-1]):
            return hops[-1]
    address = request.META.get("REMOTE_ADDR", "")
    return address if _valid_ip(address) else None


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes' database handler plus the atomic claim of each attempt on the username+address and address counters."""

    def is_allowed(self, request, credentials=None) -> bool:
        # Called by the Axes backend once per authentication, before any password is checked.
        if not super().is_allowed(request, credentials):
            return False
        if hasattr(request, "login_claims"):
            return True
        window = settings.AXES_COOLOFF_TIME
        pair = {
            "kind": LOGIN,
            "ip_address": request.axes_ip_address,
            "subject": get_client_username(request, credentials) or "",
        }
        if not attempt_claim(**pair, limit=settings.AXES_FAILURE_LIMIT, window=window):
            return False
        address = {"kind": LOGIN_IP, "ip_address": request.axes_ip_address}
        if not attempt_claim(**address, limit=settings.LOGIN_IP_FAILURE_LIMIT, window=window):
            attempt_give_back(**pair)
            return False
        # A failed password keeps both claims: they are its failures. A correct one hands them back at login.
        request.login_claims = (pair, address)
        return True

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)  # resets axes' failures of this username+address
        claims = getattr(request, "login_claims", None)
        if claims:
            pair, address = claims
            attempts_clear(kinds=[LOGIN], ip_address=pair["ip_address"] or "", subject=pair["subject"])
            attempt_give_back(**address)
            request.login_claims = ()

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        """`manage.py axes_reset`, `axes_reset_ip`, `axes_reset_username`: the counters are forgotten too."""
        count = super().reset_attempts(ip_address=ip_address, username=username, ip_or_username=ip_or_username)
        if ip_or_username:
            attempts_clear(kinds=[LOGIN, LOGIN_IP], ip_address=ip_address)
            attempts_clear(kinds=[LOGIN], subject=username)
        elif username is not None:
            attempts_clear(kinds=[LOGIN], ip_address=ip_address, subject=username)
        else:
            attempts_clear(kinds=[LOGIN, LOGIN_IP], ip_address=ip_address)
        return count


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the login form again, with the refusal. It reads the same for unknown usernames."""
    context = {
        "form": AuthenticationForm(request),
        "lockout": settings.AXES_COOLOFF_MESSAGE,
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Password reset requests: at most PASSWORD_RESET_LIMIT_PER_ADDRESS per address asked for and
    PASSWORD_RESET_LIMIT_PER_IP per client address in PASSWORD_RESET_WINDOW. Counted whether or not a login has
    that address, so the refusal says nothing about which addresses exist."""

    def form_valid(self, form):
        window = settings.PASSWORD_RESET_WINDOW
        by_address = attempt_claim(
            kind=RESET_ADDRESS,
            subject=form.cleaned_data["email"].strip().lower(),
            limit=settings.PASSWORD_RESET_LIMIT_PER_ADDRESS,
            window=window,
        )
        by_ip = attempt_claim(
            kind=RESET_IP, ip_address=client_ip(self.request), limit=settings.PASSWORD_RESET_LIMIT_PER_IP, window=window
        )
        if not (by_address and by_ip):
            form.add_error(None, RESET_THROTTLED)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)
