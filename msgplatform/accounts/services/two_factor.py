"""Two-factor authentication of staff logins (django-otp): enrolling an authenticator app (TOTP), recovery codes,
checking a code at login, and an admin's requirement for all its staff.

An authenticator is stored only once its first code proves the app holds the secret: until then the secret lives in
the enrolling session. Recovery codes are django-otp static tokens, each deleted when used.
"""

import datetime
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from msgplatform.core.errors import NotAllowed, ValidationFailed
from msgplatform.core.events import event_record

from ..models import Tenant, User
from ..two_factor import is_staff_login, two_factor_enrolled

RECOVERY_CODE_COUNT = 10
TOTP_TOLERANCE = 1  # steps of 30 s either side: the phone's clock may be a little off
WRONG_FIRST_CODE = "That code does not match. Check the phone's time and enter the code now shown."


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a code entered at login: the device that accepted it, or why not."""

    device: TOTPDevice | StaticDevice | None
    retry_after: datetime.datetime | None = None  # too many wrong codes: no code is checked before then
    recovery_codes_left: int | None = None  # a recovery code was used

    @property
    def accepted(self) -> bool:
        return self.device is not None


def two_factor_new_secret() -> str:
    """A new authenticator secret (20 random bytes, hex), kept by the enrolling session until confirmed."""
    return random_hex(20)


def two_factor_config_url(*, user: User, secret: str) -> str:
    """The otpauth:// URL the authenticator app reads from the QR code."""
    return TOTPDevice(user=user, key=secret).config_url


def _normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _recovery_codes_create(user: User) -> list[str]:
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return sorted(codes)


@transaction.atomic
def two_factor_enrol(*, user: User, secret: str, code: str) -> tuple[TOTPDevice, list[str]]:
    """Store the authenticator once `code` proves the app holds `secret`; replaces any earlier authenticator and
    recovery codes. Returns the device and the new recovery codes (shown once, stored only as tokens to match)."""
    if not is_staff_login(user):
        raise NotAllowed("Two-factor authentication is for staff logins.")
    code = _normalise(code)
    totp = TOTP(bytes.fromhex(secret))
    totp.time = time.time()
    if not (code.isdigit() and len(code) == 6 and totp.verify(int(code), tolerance=TOTP_TOLERANCE)):
        raise ValidationFailed(WRONG_FIRST_CODE, field="code")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    # last_t: the code just used cannot be used again to log in.
    device = TOTPDevice.objects.create(
        user=user, name="Authenticator app", key=secret, confirmed=True, last_t=totp.t(), drift=totp.drift
    )
    codes = _recovery_codes_create(user)
    event_record(
        area="accounts",
        kind="two_factor.enrolled",
        tenant_id=user.tenant_id,
        actor_id=user.id,
        subject_type="user",
        subject_id=user.id,
        message=f"{user.username} set up two-factor authentication",
    )
    return device, codes


@transaction.atomic
def recovery_codes_replace(*, user: User) -> list[str]:
    """New recovery codes for an enrolled login; the old ones stop working."""
    if not two_factor_enrolled(user):
        raise NotAllowed("Set up two-factor authentication first.")
    StaticDevice.objects.filter(user=user).delete()
    codes = _recovery_codes_create(user)
    event_record(
        area="accounts",
        kind="two_factor.recovery_codes_replaced",
        tenant_id=user.tenant_id,
        actor_id=user.id,
        subject_type="user",
        subject_id=user.id,
        message=f"{user.username} replaced the two-factor recovery codes",
    )
    return codes


def two_factor_check(*, user: User, code: str) -> CodeCheck:
    """Check a code from the authenticator app (6 digits) or a recovery code (each works once).

    The devices are locked for the check (django-otp's `for_verify`), so one recovery code cannot log in two
    sessions at once. django-otp doubles the wait after each wrong code (1 s, 2 s, 4 s...) per device.
    """
    code = _normalise(code)
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    retry_after = None
    with transaction.atomic():
        for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
            allowed, why = device.verify_is_allowed()
            if not allowed:
                retry_after = (why or {}).get("locked_until") or timezone.now()
                continue
            if device.verify_token(code):
                if model is TOTPDevice:
                    return CodeCheck(device=device)
                left = device.token_set.count()
                event_record(
                    area="accounts",
                    kind="two_factor.recovery_code_used",
                    tenant_id=user.tenant_id,
                    actor_id=user.id,
                    subject_type="user",
                    subject_id=user.id,
                    message=f"{user.username} logged in with a recovery code ({left} left)",
                )
                return CodeCheck(device=device, recovery_codes_left=left)
    return CodeCheck(device=None, retry_after=retry_after)


@transaction.atomic
def two_factor_requirement_set(*, tenant: Tenant, required: bool, actor: User) -> None:
    """An owner requires (or stops requiring) two-factor of every staff login of the admin."""
    if required and not two_factor_enrolled(actor):
        raise NotAllowed(
            "Set up two-factor for your own login first, so that you are not locked out.", field="require_two_factor"
        )
    changed = (
        Tenant.objects.filter(pk=tenant.pk).exclude(require_two_factor=required).update(require_two_factor=required)
    )
    tenant.require_two_factor = required
    if changed:
        event_record(
            area="accounts",
            kind="two_factor.required" if required else "two_factor.not_required",
            tenant_id=tenant.id,
            actor_id=actor.id,
            subject_type="tenant",
            subject_id=tenant.id,
            message="Two-factor is now required of all staff" if required else "Two-factor is now optional for staff",
        )
