"""API tokens of staff logins. The secret is returned once; only its SHA-256 is stored."""

import hashlib
import secrets

from django.utils import timezone

from msgplatform.core.errors import NotAllowed
from msgplatform.core.events import event_record

from ..models import ApiToken, User

TOKEN_PREFIX = "mb_"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    if not user.is_tenant_staff:
        raise NotAllowed("Only staff logins of an admin have API tokens.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:10], key_hash=token_hash(secret))
    event_record(
        area="accounts",
        kind="token.created",
        tenant_id=user.tenant_id,
        actor_id=user.id,
        subject_type="api_token",
        subject_id=token.id,
        message=f"API token {name} created",
    )
    return token, secret


def token_revoke(*, token: ApiToken, actor_id: int) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    event_record(
        area="accounts",
        kind="token.revoked",
        tenant_id=token.user.tenant_id,
        actor_id=actor_id,
        subject_type="api_token",
        subject_id=token.id,
        message=f"API token {token.name} revoked",
    )


def token_authenticate(secret: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user", "user__tenant")
        .filter(key_hash=token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
