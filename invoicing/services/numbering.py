"""Invoice numbers: a per-admin counter row locked in the approving transaction, rendered by the admin's format.

Format tokens: {YYYY} {YY} {MM} {DD} from the invoice date, {seq} or {seq:05} (zero-padded) from the counter.
Numbers are unique and gapless per admin because the counter moves only inside the transaction that assigns
the number: a rolled-back approval gives the value back.
"""

import datetime
import re

from msgplatform.core.errors import ValidationFailed

from ..locks import credit_note_sequence_lock, sequence_lock
from ..models import CreditNoteSequence, InvoiceSequence

_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|seq(?::0?(\d{1,2}))?)\}")


# What a number may contain around its tokens: it is printed on PDFs, put in email subjects and in file names.
_ALLOWED = re.compile(r"[A-Za-z0-9 ._/#-]*")


def number_format_validate(fmt: str, field: str = "number_format") -> str:
    """The admin's number format, or a field error: {seq} present, known tokens only, letters, digits, spaces and
    . _ / # - around them (no quotes, no control characters such as CR/LF), numbers of at most 60 characters."""
    fmt = (fmt or "").strip()
    if not fmt or "{seq" not in fmt:
        raise ValidationFailed("The number format must contain {seq} (for example INV-{YYYY}-{seq:05}).", field=field)
    leftover = _TOKEN.sub("", fmt)
    if "{" in leftover or "}" in leftover:
        raise ValidationFailed("Unknown token in the number format; use {YYYY} {YY} {MM} {DD} {seq:05}.", field=field)
    if not _ALLOWED.fullmatch(leftover):
        raise ValidationFailed(
            "Use letters, digits, spaces and . _ / # - around the tokens (no quotes or line breaks).",
            field=field,
        )
    if len(number_render(fmt, 10**9, datetime.date(2000, 1, 1))) > 60:
        raise ValidationFailed("The number format makes numbers longer than 60 characters.", field=field)
    return fmt


def number_render(fmt: str, seq: int, invoice_date: datetime.date) -> str:
    def replace(match: re.Match) -> str:
        token = match.group(1)
        if token == "YYYY":
            return f"{invoice_date.year:04d}"
        if token == "YY":
            return f"{invoice_date.year % 100:02d}"
        if token == "MM":
            return f"{invoice_date.month:02d}"
        if token == "DD":
            return f"{invoice_date.day:02d}"
        width = int(match.group(2) or 0)
        return f"{seq:0{width}d}"

    return _TOKEN.sub(replace, fmt)


def sequence_next(*, tenant_id: int) -> int:
    """Take the next value of the admin's counter; the row stays locked until the caller's transaction ends."""
    row = sequence_lock(tenant_id=tenant_id)
    row.last_value += 1
    InvoiceSequence.objects.filter(pk=row.pk).update(last_value=row.last_value)
    return row.last_value


def credit_note_sequence_next(*, tenant_id: int) -> int:
    """Take the next value of the admin's credit-note counter, locked until the issuing transaction ends."""
    row = credit_note_sequence_lock(tenant_id=tenant_id)
    row.last_value += 1
    CreditNoteSequence.objects.filter(pk=row.pk).update(last_value=row.last_value)
    return row.last_value
