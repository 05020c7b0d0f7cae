"""HTTP helpers every app's downloads use."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(name: str) -> str:
    """The Content-Disposition of a download named `name` (an invoice number follows an admin's format, a user
    name is typed by anyone): only letters, digits and . _ - stay, anything else (quotes, CR/LF, slashes,
    non-ASCII) becomes "_", so the header can neither break nor carry another header."""
    safe = _UNSAFE.sub("_", name or "").strip("._")[:150] or "download"
    return f'attachment; filename="{safe}"'
