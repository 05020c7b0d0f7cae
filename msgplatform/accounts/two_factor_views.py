"""Logging in and two-factor pages: the password step, the code step, enrolling an authenticator app (QR code drawn
here as inline SVG, nothing fetched elsewhere), the recovery codes shown once, and each login's two-factor page with
the owners' "require two-factor for all staff" setting. Who must pass two-factor is decided in two_factor.py."""

import base64

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticToken

from msgplatform.core.errors import DomainError
from msgplatform.core.http import next_url as safe_next_url

from .forms import LoginForm, TwoFactorCodeForm, TwoFactorFirstCodeForm, TwoFactorRequirementForm
from .permissions import Perm, staff_can, staff_required
from .services.two_factor import (
    recovery_codes_replace,
    two_factor_check,
    two_factor_config_url,
    two_factor_enrol,
    two_factor_new_secret,
    two_factor_requirement_set,
)
from .two_factor import is_staff_login, two_factor_enrolled, two_factor_pending, two_factor_required, with_next

# Session keys: the secret being enrolled (never stored on a device before its first code), and the recovery codes
# between the enrolment and the page that shows them once.
SETUP_SECRET = "two_factor_setup_secret"
NEW_RECOVERY_CODES = "two_factor_new_recovery_codes"


def _next_url(request) -> str:
    return safe_next_url(request, request.POST.get("next") or request.GET.get("next"), reverse("home"))


def _staff_only(request) -> None:
    if not is_staff_login(request.user):
        raise PermissionDenied("Two-factor authentication is for staff logins.")


class LoginView(auth_views.LoginView):
    """The password step (throttled by django-axes, see throttle.py). Staff who have an authenticator go on to the
    code step; staff who must use two-factor and have none go to enrolment before anything else."""

    authentication_form = LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if two_factor_enrolled(user):
            return redirect(with_next("accounts:two-factor-verify", self.get_success_url()))
        if two_factor_required(user):
            return redirect(with_next("accounts:two-factor-setup", self.get_success_url()))
        return response


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The code step after the password: a code of the authenticator app or a recovery code."""
    next_url = _next_url(request)
    if not two_factor_pending(request.user):
        return redirect(next_url)
    if not two_factor_enrolled(request.user):
        return redirect(with_next("accounts:two-factor-setup", next_url))
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = two_factor_check(user=request.user, code=form.cleaned_data["code"])
        if check.accepted:
            otp_login(request, check.device)
            if check.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You used a recovery code; {check.recovery_codes_left} left. "
                    "Make new ones on your two-factor page if you are running out.",
                )
            return redirect(next_url)
        if check.retry_after:
            seconds = max(1, int((check.retry_after - timezone.now()).total_seconds() + 0.999))
            wait = f"{seconds} second{'' if seconds == 1 else 's'}"
            form.add_error("code", f"Too many wrong codes; wait {wait} and try again.")
        else:
            form.add_error("code", "That code is not right, or was already used.")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": next_url})


def _secret_for_display(secret: str) -> str:
    text = base64.b32encode(bytes.fromhex(secret)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrolment: scan the QR code (or type the secret), confirm with the first code; then the recovery codes.

    Open to staff without an authenticator, and to a session that already passed two-factor (a new phone). An
    enrolled session that has not passed the code step is sent there: enrolling again must not skip it.
    """
    _staff_only(request)
    next_url = _next_url(request)
    if two_factor_enrolled(request.user) and not request.user.is_verified():
        return redirect(with_next("accounts:two-factor-verify", next_url))
    secret = request.session.get(SETUP_SECRET)
    if not secret:
        secret = request.session[SETUP_SECRET] = two_factor_new_secret()
    form = TwoFactorFirstCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor_enrol(user=request.user, secret=secret, code=form.cleaned_data["code"])
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            del request.session[SETUP_SECRET]
            otp_login(request, device)
            request.session[NEW_RECOVERY_CODES] = codes
            return redirect(with_next("accounts:two-factor-recovery-codes", next_url))
    qr = segno.make(two_factor_config_url(user=request.user, secret=secret), error="m")
    context = {
        "form": form,
        "next": next_url,
        # segno writes the SVG here; it has no script and links to nothing.
        "qr_svg": mark_safe(qr.svg_inline(scale=4, border=4, light="white", title="QR code of the two-factor secret")),
        "secret": _secret_for_display(secret),
        "replacing": two_factor_enrolled(request.user),
        "required": two_factor_required(request.user),
    }
    return render(request, "registration/two_factor_setup.html", context)


@login_required
def two_factor_recovery_codes(request):
    """The new recovery codes, shown once: reloading the page does not show them again."""
    codes = request.session.pop(NEW_RECOVERY_CODES, None)
    if not codes:
        return redirect("accounts:two-factor")
    return render(request, "registration/two_factor_recovery_codes.html", {"codes": codes, "next": _next_url(request)})


@login_required
def two_factor_home(request):
    """A staff login's two-factor status, its recovery codes, and for owners the admin's requirement."""
    _staff_only(request)
    user = request.user
    tenant = user.tenant if user.tenant_id else None
    context = {
        "enrolled": two_factor_enrolled(user),
        "required": two_factor_required(user),
        "recovery_codes_left": StaticToken.objects.filter(device__user=user).count(),
        "tenant": tenant,
        "requirement_form": (
            TwoFactorRequirementForm(initial={"require_two_factor": tenant.require_two_factor})
            if tenant and staff_can(user, Perm.MANAGE)
            else None
        ),
    }
    return render(request, "accounts/two_factor.html", context)


@login_required
@require_POST
def two_factor_recovery_codes_new(request):
    _staff_only(request)
    try:
        codes = recovery_codes_replace(user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("accounts:two-factor")
    request.session[NEW_RECOVERY_CODES] = codes
    return redirect(with_next("accounts:two-factor-recovery-codes", reverse("accounts:two-factor")))


@staff_required(Perm.MANAGE)
@require_POST
def two_factor_requirement(request):
    form = TwoFactorRequirementForm(request.POST)
    form.is_valid()
    required = form.cleaned_data.get("require_two_factor", False)
    try:
        two_factor_requirement_set(tenant=request.tenant, required=required, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            "Two-factor is now required of all staff." if required else "Two-factor is now optional for staff.",
        )
    return redirect("accounts:two-factor")
