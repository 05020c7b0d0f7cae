"""What an event is about, in words: the invoice it names by its number (a draft by "Draft #id"), read for a page
of events at once."""

from __future__ import annotations

from collections.abc import Iterable

from msgplatform.core.models import Event

from ..models import Invoice


def invoice_labels(*, tenant, events: Iterable[Event]) -> dict[int, str]:
    """{invoice id: its number, or "Draft #id" while it is a draft, or "deleted draft #id"} for the invoices the
    events are about. An event keeps the id of its invoice; the number an approval gave it later is read here, so an
    event written while the invoice was a draft names it by the number it has now."""
    ids = {e.subject_id for e in events if e.subject_type == "invoice" and e.subject_id}
    found = {pk: number for pk, number in Invoice.objects.filter(tenant=tenant, pk__in=ids).values_list("pk", "number")}
    return {pk: (found[pk] or f"Draft #{pk}") if pk in found else f"deleted draft #{pk}" for pk in ids}
