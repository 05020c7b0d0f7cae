"""How money on an invoice moves its figures and the user's balance: the one place every payment, reversal,
credit application, allocation and credit note goes through (SPEC §2 cumulative rule, on SPEC §4's effective
figures).

The caller holds the invoice row locked. `invoice_settle` sets the applied amount, re-derives the balance due and
the payment status from the effective total, and writes the balance ledger row of the cumulative rule: credited so
far = round_half_up(effective base x applied / effective total), exactly the effective base once fully applied.
"""

from __future__ import annotations

from decimal import Decimal

from msgplatform.accounts.services.balance import balance_change

from ..models import Invoice
from ..money import credited_so_far
from ..rules import payment_status_for
from .stats import invoice_counted, state_of


def invoice_settle(invoice: Invoice, new_paid: Decimal, *, reference: str, kind: str, actor_id) -> Decimal:
    """Move the applied amount to `new_paid` and credit the balance by the cumulative rule; returns the ledger
    delta (0 when nothing moved). `new_paid` is at most the effective total (the database checks it too)."""
    effective_total = invoice.effective_total
    if new_paid < 0 or new_paid > effective_total:
        raise ValueError(f"applied amount {new_paid} outside 0..{effective_total} on invoice {invoice.pk}")
    credited = credited_so_far(
        base=invoice.effective_base, paid=new_paid, total=effective_total, currency=invoice.currency
    )
    delta = credited - invoice.credited
    before = state_of(invoice)
    invoice.amount_paid = new_paid
    invoice.balance_due = effective_total - new_paid
    invoice.payment_status = payment_status_for(
        total=invoice.total, amount_paid=new_paid, credited_total=invoice.credited_total
    )
    invoice.credited = credited
    invoice.save(
        update_fields=[
            "amount_paid",
            "balance_due",
            "payment_status",
            "credited",
            "credited_subtotal",
            "credited_total",
            "updated_at",
        ]
    )
    if delta:
        balance_change(account=invoice.account, amount=delta, kind=kind, reference=reference, actor_id=actor_id)
    invoice_counted(tenant_id=invoice.tenant_id, before=before, after=state_of(invoice))
    return delta
