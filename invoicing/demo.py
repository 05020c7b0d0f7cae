"""A year of an admin's invoicing for the demo (manage.py demo_data), made only through the services: every total,
number, status and ledger row is the one the product itself would write.

The host hands over its accounts, the months of the history (oldest first, the current month last), an estimate of
each account's usage in each month, and a callback that ingests one month's messaging records. Month by month, the
prepaid users recharge first and then send (a prepaid balance never goes below zero); once a month is over, its
postpaid usage is invoiced. At the end, the schedules' billing runs of the year run on their days, some invoices
are voided, one payment is reversed, some invoices are corrected by credit notes, one user pays several invoices
with one transfer, and reminders and invoice emails wait in the outbox.
"""

import datetime
import io
import math
from collections.abc import Callable
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from msgplatform.accounts.models import BillingMethod
from msgplatform.core.clock import tenant_today

from .models import Invoice, InvoiceSource, InvoiceStatus, PaymentType
from .money import money_round
from .services.billing_runs import billing_run_start
from .services.configuration import (
    bank_details_update,
    settings_logo_set,
    settings_update,
    tax_rate_create,
)
from .services.credit_notes import credit_note_issue
from .services.customer_credit import credit_adjust, refund_record
from .services.emails import invoice_email_send
from .services.invoices import (
    ClaimInput,
    invoice_approve,
    invoice_create_postpaid,
    invoice_create_prepaid,
    invoice_void,
)
from .services.payments import credit_apply, payment_record, payment_reverse
from .services.receipts import receipt_record
from .services.recurring import schedule_create, schedule_stop
from .services.reminders import bulk_reminder_start

DAY = datetime.timedelta(days=1)
DUE_DAYS = 15
# Every payment type shows up in the history: payments take them in turn.
PAYMENT_TYPES = list(PaymentType.values)


def logo_png(name: str, colour: tuple[int, int, int]) -> bytes:
    """A small PNG logo: a coloured badge with the admin's initials and name."""
    image = Image.new("RGB", (360, 96), "white")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 88, 88), radius=18, fill=colour)
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    draw.text((30, 36), initials, fill="white", font_size=28)
    draw.text((104, 34), name, fill=colour, font_size=28)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class _History:
    def __init__(self, *, tenant, actor_id: int, accounts, months, usage, ingest):
        self.tenant = tenant
        self.actor_id = actor_id
        self.months = months
        self.usage = usage
        self.ingest = ingest
        self.today = tenant_today(tenant)
        self.prepaid = [a for a in accounts if a.billing_method == BillingMethod.PREPAID]
        self.postpaid = [a for a in accounts if a.billing_method == BillingMethod.POSTPAID]
        # The first postpaid user is billed by hand every month; the second by an active schedule; the third by hand
        # for the first half of the year and then by a schedule that was stopped; any others by hand.
        self.recurring = self.postpaid[1:2]
        self.stopped = self.postpaid[2:3]
        self.manual = [a for a in self.postpaid if a not in self.recurring]
        self.payments = 0

    # --- helpers ----------------------------------------------------------------------------------------------

    def _payment_type(self) -> str:
        self.payments += 1
        return PAYMENT_TYPES[self.payments % len(PAYMENT_TYPES)]

    def _paid_on(self, invoice_date: datetime.date, days: int) -> datetime.date:
        return min(invoice_date + datetime.timedelta(days=days), self.today)

    def _pay(self, invoice: Invoice, *, days: int, amount: Decimal | None = None):
        payment_type = self._payment_type()
        return payment_record(
            tenant=self.tenant,
            invoice_id=invoice.pk,
            actor_id=self.actor_id,
            amount=invoice.balance_due if amount is None else amount,
            payment_date=self._paid_on(invoice.invoice_date, days),
            payment_type=payment_type,
            transaction_id=f"DEMO-{self.tenant.pk}-{self.payments:05d}",
            bank_reference=f"REF {invoice.number}" if payment_type == PaymentType.BANK_TRANSFER else "",
        )

    def _recharge(self, account, *, day: datetime.date, amount: Decimal, claim: bool = True, **kwargs) -> Invoice:
        return invoice_create_prepaid(
            tenant=self.tenant,
            account_id=account.pk,
            actor_id=self.actor_id,
            recharge_amount=amount,
            invoice_date=day,
            due_date=day + datetime.timedelta(days=DUE_DAYS),
            claim=ClaimInput(payment_date=day, payment_type=self._payment_type()) if claim else None,
            **kwargs,
        )

    # --- the year ---------------------------------------------------------------------------------------------

    def configure(self) -> None:
        tenant = self.tenant
        settings_update(
            tenant=tenant,
            actor_id=self.actor_id,
            business_name=tenant.name,
            business_address="100 Harbour Road\nSuite 400\nSpringfield",
            business_tax_id=f"VAT-{tenant.pk:04d}-{tenant.currency}",
            business_email=f"billing@{tenant.signup_slug or 'demo'}.example.com",
            default_terms="Payment within 15 days of the invoice date by bank transfer. Late payments may suspend "
            "sending.",
            default_notes="Thank you for your business.",
            email_on_approval=False,
        )
        tax_rate_create(
            tenant=tenant,
            actor_id=self.actor_id,
            name="VAT" if tenant.currency == "EUR" else "Sales tax",
            rate="19" if tenant.currency == "EUR" else "8.875",
            description="Standard rate",
        )
        tax_rate_create(
            tenant=tenant,
            actor_id=self.actor_id,
            name="Digital services levy",
            rate="2",
            description="Not charged to our customers: shown for reference",
            applicable=False,
        )
        bank_details_update(
            tenant=tenant,
            actor_id=self.actor_id,
            bank_name="First Demo Bank",
            branch="Springfield Central",
            swift="DEMOUS33" if tenant.currency == "USD" else "DEMODEFF",
            address="1 Bank Plaza, Springfield",
            account_holder=tenant.name,
            account_number=f"0042-{tenant.pk:04d}-7781",
            notes="Quote the invoice number as the payment reference.",
        )
        colour = (31, 94, 168) if tenant.currency == "USD" else (168, 60, 31)
        logo = SimpleUploadedFile("logo.png", logo_png(tenant.name, colour), content_type="image/png")
        settings_logo_set(tenant=tenant, actor_id=self.actor_id, uploaded=logo)

    def month(self, index: int) -> None:
        start, end = self.months[index]
        # Prepaid users recharge at the start of the month, before they send: the balance covers the month's usage.
        for account in self.prepaid:
            need = self.usage.get(account.pk, [Decimal(0)] * len(self.months))[index]
            amount = Decimal(max(25, math.ceil((need * Decimal("1.3") + 5) / 25) * 25))
            self._recharge(account, day=start, amount=amount, description=f"Balance recharge {start:%B %Y}")
        self.ingest(index)
        if end >= self.today:
            return  # the current month is not over: its postpaid usage is not invoiced yet
        half = len(self.months) // 2
        for account in self.manual:
            if account in self.stopped and index >= half:
                continue  # billed by its schedule from then on
            if not self.usage.get(account.pk, [0] * len(self.months))[index]:
                continue
            invoice_create_postpaid(
                tenant=self.tenant,
                account_id=account.pk,
                actor_id=self.actor_id,
                period_start=start,
                period_end=end,
                invoice_date=end + DAY,
                due_date=end + DAY + datetime.timedelta(days=DUE_DAYS),
            )

    def schedules(self) -> None:
        half = len(self.months) // 2
        created = []
        for account in self.recurring:
            created.append(("active", self._schedule(account, self.months[0][0])))
        for account in self.stopped:
            created.append(("stopped", self._schedule(account, self.months[half][0])))
        if not created:
            return
        # The scheduler ran on time through the year: one run the day after each month ended (each draft dated
        # then), and one today.
        for _start, end in self.months:
            if end + DAY <= self.today:
                billing_run_start(tenant=self.tenant, as_of=end + DAY, actor_id=self.actor_id)
        billing_run_start(tenant=self.tenant, as_of=self.today, actor_id=self.actor_id)
        for state, schedule in created:
            if state == "stopped":
                schedule_stop(tenant=self.tenant, schedule_id=schedule.pk, actor_id=self.actor_id)
            drafts = list(
                Invoice.objects.filter(
                    tenant=self.tenant, account_id=schedule.account_id, source=InvoiceSource.RECURRING
                ).order_by("period_start")
            )
            # The active schedule's latest draft waits for review (its usage jumped: the anomaly flag says so).
            to_approve = drafts[:-1] if state == "active" else drafts
            for draft in to_approve:
                invoice_approve(tenant=self.tenant, invoice_id=draft.pk, actor_id=self.actor_id)

    def _schedule(self, account, start: datetime.date):
        return schedule_create(
            tenant=self.tenant,
            account_id=account.pk,
            actor_id=self.actor_id,
            interval="monthly",
            due_in_days=DUE_DAYS,
            start_date=start,
            confirm_past=True,  # the history's schedules start months ago and catch up at once
        )

    def payments_of_postpaid(self) -> None:
        """Most invoices are paid some days after their date; the latest ones of some users are still open."""
        for position, account in enumerate(self.postpaid):
            invoices = list(
                Invoice.objects.filter(
                    tenant=self.tenant, account_id=account.pk, status=InvoiceStatus.APPROVED
                ).order_by("invoice_date")
            )
            for age, invoice in enumerate(reversed(invoices)):
                if age == 0:
                    continue  # the latest: unpaid (not due yet, or due, depending on the day)
                if position == 0 and age == 1:
                    self._pay(invoice, days=5, amount=(invoice.balance_due / 2).quantize(Decimal("0.01")))
                    continue  # partially paid
                if position == 0 and age == 2:
                    continue  # unpaid and overdue
                payment = self._pay(invoice, days=3 + (invoice.pk % 18))
                if position == 0 and age == 3:
                    # A cheque that bounced: the payment is reversed, and the user paid again by bank transfer.
                    payment_reverse(
                        tenant=self.tenant, payment_id=payment.pk, actor_id=self.actor_id, reason="Cheque bounced"
                    )
                    invoice.refresh_from_db()
                    self._pay(invoice, days=10 + (invoice.pk % 10))

    def extras_of_prepaid(self) -> None:
        """Recharges that are not paid (or not in full) yet, one void and one draft."""
        if not self.prepaid:
            return
        current = self.months[-1][0]
        first = self.prepaid[0]
        self._recharge(first, day=self.today, amount=Decimal("250"), claim=False, description="Top-up for a campaign")
        mistaken = self._recharge(first, day=current, amount=Decimal("2500"), claim=False)
        invoice_void(
            tenant=self.tenant,
            invoice_id=mistaken.pk,
            actor_id=self.actor_id,
            reason="Wrong amount: issued again as a new invoice",
        )
        self._recharge(first, day=self.today, amount=Decimal("100"), as_draft=True, claim=False)
        other = self.prepaid[-1]
        if len(self.months) > 2:
            overdue_day = self.months[-3][0] + datetime.timedelta(days=9)
            self._recharge(other, day=overdue_day, amount=Decimal("300"), claim=False, description="Annual sender ID")
        partial = self._recharge(other, day=current, amount=Decimal("200"), claim=False)
        self._pay(partial, days=0, amount=Decimal("80.00"))

    def corrections(self) -> None:
        """Credit notes, customer credit and a payment across invoices (SPEC §4): a paid postpaid invoice credited in
        part (its excess becomes customer credit, half of it applied to the user's open invoice), a discount on an
        unpaid recharge, goodwill credit, and one bank transfer that settles a user's open invoices with the rest
        kept as credit and then refunded."""
        if self.postpaid:
            account = self.postpaid[0]
            paid = (
                Invoice.objects.filter(tenant=self.tenant, account_id=account.pk, payment_status="paid")
                .exclude(total=0)
                .order_by("invoice_date")
                .first()
            )
            if paid is not None:
                line = paid.lines.filter(amount__gt=0).order_by("-amount").first()
                note = credit_note_issue(
                    tenant=self.tenant,
                    invoice_id=paid.pk,
                    actor_id=self.actor_id,
                    reason="Undelivered messages on one route refunded",
                    lines={line.pk: str(money_round(line.amount / 10, self.tenant.currency))},
                )
                latest = (
                    Invoice.objects.filter(
                        tenant=self.tenant, account_id=account.pk, status=InvoiceStatus.APPROVED, balance_due__gt=0
                    )
                    .order_by("-invoice_date")
                    .first()
                )
                half = money_round(note.to_customer_credit / 2, self.tenant.currency)
                if latest is not None and half > 0:
                    credit_apply(
                        tenant=self.tenant,
                        invoice_id=latest.pk,
                        actor_id=self.actor_id,
                        amount=str(min(half, money_round(latest.balance_due, self.tenant.currency))),
                    )
        if self.prepaid:
            first = self.prepaid[0]
            top_up = (
                Invoice.objects.filter(
                    tenant=self.tenant, account_id=first.pk, status=InvoiceStatus.APPROVED, amount_paid=0
                )
                .order_by("-invoice_date")
                .first()
            )
            if top_up is not None:
                credit_note_issue(
                    tenant=self.tenant,
                    invoice_id=top_up.pk,
                    actor_id=self.actor_id,
                    reason="Campaign discount agreed",
                    amount=str(money_round(top_up.subtotal / 5, self.tenant.currency)),
                )
            credit_adjust(
                tenant=self.tenant,
                account_id=self.prepaid[-1].pk,
                actor_id=self.actor_id,
                amount="20.00",
                reason="Goodwill for the March outage",
            )
        payer = self.postpaid[-1] if len(self.postpaid) > 1 else None
        if payer is not None:
            owing = sum(
                Invoice.objects.filter(
                    tenant=self.tenant, account_id=payer.pk, status=InvoiceStatus.APPROVED, balance_due__gt=0
                ).values_list("balance_due", flat=True),
                Decimal(0),
            )
            receipt_record(
                tenant=self.tenant,
                account_id=payer.pk,
                actor_id=self.actor_id,
                amount=str(money_round(owing + Decimal("100.00"), self.tenant.currency)),
                payment_date=self.today,
                payment_type=PaymentType.BANK_TRANSFER,
                transaction_id=f"DEMO-{self.tenant.pk}-TRANSFER",
                bank_reference="One transfer for every open invoice",
            )
            refund_record(
                tenant=self.tenant,
                account_id=payer.pk,
                actor_id=self.actor_id,
                amount="100.00",
                method="bank_transfer",
                reference=f"RF-{self.tenant.pk}-0001",
                notes="Overpayment returned",
            )

    def outbox(self) -> None:
        """The latest invoice of each postpaid user is emailed; the overdue ones get a reminder."""
        for account in self.postpaid:
            latest = (
                Invoice.objects.filter(tenant=self.tenant, account_id=account.pk, status=InvoiceStatus.APPROVED)
                .order_by("-invoice_date")
                .first()
            )
            if latest is not None:
                invoice_email_send(tenant=self.tenant, invoice_id=latest.pk, actor_id=self.actor_id)
        if Invoice.objects.filter(
            tenant=self.tenant, status=InvoiceStatus.APPROVED, due_date__lt=self.today, balance_due__gt=0
        ).exists():
            bulk_reminder_start(tenant=self.tenant, actor_id=self.actor_id, overdue_only=True)


def demo_history(
    *,
    tenant,
    actor_id: int,
    accounts: list,
    months: list[tuple[datetime.date, datetime.date]],
    usage: dict[int, list[Decimal]],
    ingest: Callable[[int], None],
) -> None:
    """Build the admin's invoicing year (see the module's docstring); `usage[account id][month index]` is at least
    what the account's records of that month will cost, and `ingest(month index)` stores them.

    The second postpaid user's schedule flags its latest draft as an anomaly when that month's usage is far from
    the months before (the host sends more traffic for it in the last month that is over).
    """
    history = _History(tenant=tenant, actor_id=actor_id, accounts=accounts, months=months, usage=usage, ingest=ingest)
    history.configure()
    for index in range(len(months)):
        history.month(index)
    history.schedules()
    history.payments_of_postpaid()
    history.extras_of_prepaid()
    history.corrections()
    history.outbox()
