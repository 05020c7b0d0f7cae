"""HTTP helpers every app's downloads use."""

from __future__ import annotations

import re

from django.utils.http import url_has_allowed_host_and_scheme

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """`name` as a file name any header can carry (a download, an email attachment): an invoice number follows an
    admin's format, a user name is typed by anyone, so only letters, digits and . _ - stay and anything else
    (quotes, CR/LF, slashes, non-ASCII) becomes "_"."""
    return _UNSAFE.sub("_", name or "").strip("._")[:150] or "download"


def content_disposition(name: str) -> str:
    """The Content-Disposition of a download named `name`: the header can neither break nor carry another one."""
    return f'attachment; filename="{safe_filename(name)}"'


def next_url(request, candidate: str | None, default: str) -> str:
    """Where to go back to after a form: `candidate` (a "next" parameter) when it is a path of this site, else
    `default`. Only a path: redirect() takes any other word for the name of a URL pattern (NoReverseMatch, a 500),
    and a full URL could send the person elsewhere."""
    candidate = candidate or ""
    if (
        candidate.startswith("/")
        and candidate.isprintable()
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default
