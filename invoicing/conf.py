"""The plugin's settings: every one starts with INVOICING_, has a default here, and is read when used.

Read lazily (as django-oscar does) so tests can override settings and the host may leave any of them out.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULTS = {
    # The host's implementation of invoicing.contracts.UsageSource.
    "INVOICING_USAGE_SOURCE": "msgplatform.messaging.usage.MessagingUsageSource",
    # Test clock pages and API (also on whenever DEBUG is on).
    "INVOICING_TEST_CLOCK": False,
    # First retry of a failed email after this many seconds, doubling up to an hour.
    "INVOICING_EMAIL_BACKOFF_SECONDS": 30,
}


def setting(name: str):
    """The value of one INVOICING_ setting, falling back to its default."""
    return getattr(settings, name, DEFAULTS[name])


@lru_cache(maxsize=4)
def _usage_source(path: str):
    return import_string(path)()


def usage_source():
    """The configured UsageSource (one instance per implementation path)."""
    return _usage_source(setting("INVOICING_USAGE_SOURCE"))
