import datetime
from decimal import Decimal

import pytest
import time_machine

from invoicing.models import Invoice, InvoiceLine, InvoiceSequence, Payment
from invoicing.services.configuration import settings_update, tax_rate_create, tax_rate_delete
from invoicing.services.invoices import (
    ClaimInput,
    Immutable,
    invoice_approve,
    invoice_approve_bulk,
    invoice_create_postpaid,
    invoice_create_prepaid,
    invoice_delete_draft,
    invoice_preview_postpaid,
    invoice_update_draft,
    invoice_void,
)
from invoicing.services.payments import payment_record
from msgplatform.accounts.models import BalanceTransaction
from msgplatform.core.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from msgplatform.core.models import Event
from msgplatform.messaging.models import UsageRollup
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import AccountFactory, record_row

D = datetime.date
NOW = datetime.datetime(2026, 3, 20, 15, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def vat(admin):
    return tax_rate_create(tenant=admin.tenant, actor_id=None, name="VAT", rate="7.5")


def usage(admin, account, *rows):
    return records_ingest(tenant=admin.tenant, rows=list(rows))


def snapshot():
    return (
        Invoice.objects.count(),
        Payment.objects.count(),
        BalanceTransaction.objects.count(),
        list(UsageRollup.objects.order_by("id").values_list("billed_by", flat=True)),
        InvoiceSequence.objects.values_list("last_value", flat=True).first(),
    )


# --- prepaid ----------------------------------------------------------------------------------------------------


def test_prepaid_invoice_is_approved_numbered_and_taxed(admin, user, vat):
    invoice = invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=admin.login.id,
        recharge_amount="1000.00",
        description="March top-up",
    )

    assert (invoice.number, invoice.status, invoice.payment_status) == ("INV-2026-00001", "approved", "unpaid")
    assert (invoice.subtotal, invoice.tax_total, invoice.total, invoice.balance_due) == (
        Decimal("1000.00"),
        Decimal("75.00"),
        Decimal("1075.00"),
        Decimal("1075.00"),
    )
    assert invoice.invoice_date == D(2026, 3, 20) and invoice.due_date == D(2026, 4, 4)
    assert list(invoice.taxes.values_list("name", "rate", "amount")) == [("VAT", Decimal("7.5"), Decimal("75.00"))]
    assert list(
        Event.objects.filter(subject_type="invoice", subject_id=invoice.id)
        .values_list("kind", flat=True)
        .order_by("id")
    ) == ["invoice.created", "invoice.approved"]
    assert BalanceTransaction.objects.count() == 0


def test_prepaid_user_without_apply_tax_pays_no_tax(admin, vat):
    exempt = AccountFactory(tenant=admin.tenant, apply_tax=False)
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=exempt.id, actor_id=None, recharge_amount="50")
    assert (invoice.tax_total, invoice.total) == (Decimal("0"), Decimal("50.00"))


def test_inactive_or_not_applicable_or_deleted_taxes_are_not_charged(admin, user, vat):
    tax_rate_create(tenant=admin.tenant, actor_id=None, name="Off", rate="5", active=False)
    tax_rate_create(tenant=admin.tenant, actor_id=None, name="NA", rate="5", applicable=False)
    gone = tax_rate_create(tenant=admin.tenant, actor_id=None, name="Gone", rate="5")
    tax_rate_delete(tenant=admin.tenant, tax_id=gone.id, actor_id=None)

    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="100")

    assert list(invoice.taxes.values_list("name", flat=True)) == ["VAT"]


def test_create_and_claim_records_the_payment_and_credits_the_recharge(admin, user, vat):
    invoice = invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        recharge_amount="1000.00",
        claim=ClaimInput(payment_date=D(2026, 3, 20), payment_type="bank_transfer", transaction_id="TX-1"),
    )

    user.refresh_from_db()
    assert (invoice.payment_status, invoice.amount_paid, invoice.balance_due) == (
        "paid",
        Decimal("1075.00"),
        Decimal("0.00"),
    )
    assert user.balance == Decimal("1000.00")
    assert list(BalanceTransaction.objects.values_list("kind", "amount")) == [("recharge", Decimal("1000.00"))]


def test_draft_has_no_number_and_can_be_edited_then_approved(admin, user, vat):
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10", as_draft=True
    )
    assert (draft.number, draft.status) == (None, "draft")

    edited = invoice_update_draft(
        tenant=admin.tenant,
        invoice_id=draft.id,
        actor_id=None,
        recharge_amount="20.00",
        customer_notes="Thanks",
        due_date=D(2026, 4, 30),
    )
    approved = invoice_approve(tenant=admin.tenant, invoice_id=draft.id, actor_id=None)

    assert (edited.total, edited.customer_notes) == (Decimal("21.50"), "Thanks")
    assert (approved.number, approved.total, approved.due_date) == ("INV-2026-00001", Decimal("21.50"), D(2026, 4, 30))


def test_jpy_and_kwd_amounts_follow_their_minor_unit(admin, other_admin):
    jpy_admin = other_admin.tenant
    jpy_admin.currency = "JPY"
    jpy_admin.save()
    tax_rate_create(tenant=jpy_admin, actor_id=None, name="CT", rate="10")
    jp_user = AccountFactory(tenant=jpy_admin)

    invoice = invoice_create_prepaid(tenant=jpy_admin, account_id=jp_user.id, actor_id=None, recharge_amount="1005")

    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (Decimal("1005"), Decimal("101"), Decimal("1106"))
    with pytest.raises(ValidationFailed, match="at most 0 decimals"):
        invoice_create_prepaid(tenant=jpy_admin, account_id=jp_user.id, actor_id=None, recharge_amount="10.5")


def test_zero_total_invoice_is_paid_on_approval_without_ledger_row(admin, user):
    invoice = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1", as_draft=True
    )
    Invoice.objects.filter(pk=invoice.pk).update(subtotal=0, total=0, balance_due=0, credit_base=0)

    approved = invoice_approve(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)

    assert approved.payment_status == "paid" and BalanceTransaction.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"recharge_amount": "0"}, "recharge_amount"),
        ({"recharge_amount": "-5"}, "recharge_amount"),
        ({"recharge_amount": "1.005"}, "recharge_amount"),
        ({"recharge_amount": "abc"}, "recharge_amount"),
        ({"recharge_amount": "10", "invoice_date": D(2026, 3, 10), "due_date": D(2026, 3, 9)}, "due_date"),
    ],
)
def test_bad_prepaid_input_is_refused_and_changes_nothing(admin, user, kwargs, field):
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, **kwargs)
    assert error.value.field == field
    assert snapshot() == before


def test_postpaid_user_cannot_get_a_recharge_invoice(admin, postpaid_user):
    with pytest.raises(ValidationFailed, match="postpaid user"):
        invoice_create_prepaid(tenant=admin.tenant, account_id=postpaid_user.id, actor_id=None, recharge_amount="5")


def test_another_tenants_user_is_not_found(admin, other_admin):
    foreign = AccountFactory(tenant=other_admin.tenant)
    with pytest.raises(NotFound):
        invoice_create_prepaid(tenant=admin.tenant, account_id=foreign.id, actor_id=None, recharge_amount="5")
    assert Invoice.objects.count() == 0


def test_unlicensed_mode_is_refused(admin, user):
    lic = admin.tenant.invoicing_license
    lic.prepaid = False
    lic.save()
    with pytest.raises(NotAllowed) as error:
        invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="5")
    assert error.value.code == "not_licensed"


def test_resellers_are_never_invoiced(admin):
    reseller = AccountFactory(tenant=admin.tenant, account_type="reseller")
    with pytest.raises(ValidationFailed, match="Resellers"):
        invoice_create_prepaid(tenant=admin.tenant, account_id=reseller.id, actor_id=None, recharge_amount="5")


# --- immutability, void, delete -----------------------------------------------------------------------------------


def test_approved_invoice_is_immutable(admin, user):
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    before = snapshot()
    with pytest.raises(Immutable):
        invoice_update_draft(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None, customer_notes="x")
    with pytest.raises(Immutable):
        invoice_delete_draft(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)
    with pytest.raises(Conflict):
        invoice_approve(tenant=admin.tenant, invoice_id=invoice.id, actor_id=None)
    assert snapshot() == before
    assert Invoice.objects.get().customer_notes == invoice.customer_notes


def test_void_keeps_the_number_used(admin, user):
    first = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")

    voided = invoice_void(tenant=admin.tenant, invoice_id=first.id, actor_id=None, reason="wrong amount")
    second = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")

    assert (voided.status, voided.number) == ("void", "INV-2026-00001")
    assert second.number == "INV-2026-00002"


def test_void_is_refused_with_payments_without_reason_and_for_drafts(admin, user):
    paid = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10")
    payment_record(
        tenant=admin.tenant,
        invoice_id=paid.id,
        actor_id=None,
        amount="1.00",
        payment_date=D(2026, 3, 20),
        payment_type="cash",
    )
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="10", as_draft=True
    )
    before = snapshot()

    with pytest.raises(Conflict, match="has payments"):
        invoice_void(tenant=admin.tenant, invoice_id=paid.id, actor_id=None, reason="x")
    with pytest.raises(ValidationFailed):
        invoice_void(tenant=admin.tenant, invoice_id=paid.id, actor_id=None, reason=" ")
    with pytest.raises(Conflict, match="Drafts are deleted"):
        invoice_void(tenant=admin.tenant, invoice_id=draft.id, actor_id=None, reason="x")
    assert snapshot() == before


def test_numbers_are_consecutive_per_admin_and_independent_between_admins(admin, other_admin, user):
    foreign = AccountFactory(tenant=other_admin.tenant)
    settings_update(tenant=other_admin.tenant, actor_id=None, number_format="G{YY}{MM}-{seq}")
    drafts = [
        invoice_create_prepaid(
            tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1", as_draft=True
        )
        for _ in range(3)
    ]
    invoice_create_prepaid(tenant=other_admin.tenant, account_id=foreign.id, actor_id=None, recharge_amount="1")

    approved = invoice_approve_bulk(tenant=admin.tenant, invoice_ids=[d.id for d in reversed(drafts)], actor_id=None)

    assert [i.number for i in approved] == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
    assert Invoice.objects.get(tenant=other_admin.tenant).number == "G2603-1"


def test_bad_number_format_is_refused(admin):
    with pytest.raises(ValidationFailed):
        settings_update(tenant=admin.tenant, actor_id=None, number_format="INV-{YYYY}")
    with pytest.raises(ValidationFailed):
        settings_update(tenant=admin.tenant, actor_id=None, number_format="INV-{seq}-{WEEK}")


# --- postpaid -------------------------------------------------------------------------------------------------


def postpaid_usage(admin, account):
    """Four records in early March (New York days), one on 17 March (after the billed ranges), one rolled back."""
    return usage(
        admin,
        account,
        record_row(account, 1, submitted_at="2026-03-02T15:00:00Z", unit_price="0.004175", parts=1),
        record_row(account, 2, submitted_at="2026-03-03T15:00:00Z", unit_price="0.004175", parts=2),
        record_row(
            account, 3, submitted_at="2026-03-04T15:00:00Z", unit_price="0.031", parts=1, country="GB", network="O2 UK"
        ),
        record_row(
            account,
            4,
            submitted_at="2026-03-05T15:00:00Z",
            unit_price="0.031",
            parts=1,
            country="GB",
            network="O2 UK",
            status="UNDELIV",
        ),
        record_row(account, 5, submitted_at="2026-03-17T15:00:00Z", unit_price="0.5"),
        record_row(account, 6, submitted_at="2026-03-05T15:00:00Z", unit_price="9.0", rolled_back=True),
    )


def test_postpaid_preview_builds_lines_without_writing(admin, postpaid_user, vat):
    postpaid_usage(admin, postpaid_user)
    before = snapshot()

    preview = invoice_preview_postpaid(
        tenant=admin.tenant, account_id=postpaid_user.id, period_start=D(2026, 3, 1), period_end=D(2026, 3, 15)
    )

    assert [(line.country, line.quantity, line.unit_price, line.amount) for line in preview.lines] == [
        ("GB", Decimal("2"), Decimal("0.031"), Decimal("0.06")),
        ("US", Decimal("3"), Decimal("0.004175"), Decimal("0.01")),
    ]
    assert (preview.totals.subtotal, preview.totals.total, preview.usage_raw, preview.messages) == (
        Decimal("0.07"),
        Decimal("0.08"),
        Decimal("0.074525"),
        4,
    )
    assert snapshot() == before


def test_postpaid_invoice_claims_usage_writes_rounding_and_full_payment_restores_balance(admin, postpaid_user):
    postpaid_usage(admin, postpaid_user)
    postpaid_user.refresh_from_db()
    assert postpaid_user.balance == Decimal("-0.574525")

    invoice = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
    )

    assert (invoice.subtotal, invoice.total, invoice.usage_raw) == (
        Decimal("0.07"),
        Decimal("0.07"),
        Decimal("0.074525"),
    )
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 2
    assert UsageRollup.objects.filter(billed_by=invoice.id).count() == 4
    rounding = BalanceTransaction.objects.get(kind="rounding")
    assert rounding.amount == Decimal("0.004525")

    payment_record(
        tenant=admin.tenant,
        invoice_id=invoice.id,
        actor_id=None,
        amount="0.07",
        payment_date=D(2026, 3, 20),
        payment_type="online",
    )

    postpaid_user.refresh_from_db()
    # Only the unbilled 0.50 of 17 March remains owed.
    assert postpaid_user.balance == Decimal("-0.500000")


def test_overlapping_period_is_refused_naming_the_invoice(admin, postpaid_user):
    postpaid_usage(admin, postpaid_user)
    first = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 10),
    )
    before = snapshot()

    with pytest.raises(Conflict) as error:
        invoice_create_postpaid(
            tenant=admin.tenant,
            account_id=postpaid_user.id,
            actor_id=None,
            period_start=D(2026, 2, 1),
            period_end=D(2026, 3, 1),
        )

    assert error.value.code == "period_overlap"
    assert first.number in error.value.message
    assert snapshot() == before
    preview = invoice_preview_postpaid(
        tenant=admin.tenant, account_id=postpaid_user.id, period_start=D(2026, 3, 5), period_end=D(2026, 3, 12)
    )
    assert first.number in preview.conflict


def test_void_releases_usage_and_reverses_rounding_so_it_can_be_billed_again(admin, postpaid_user):
    postpaid_usage(admin, postpaid_user)
    first = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
    )

    invoice_void(tenant=admin.tenant, invoice_id=first.id, actor_id=None, reason="wrong period")
    second = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
    )

    assert second.total == first.total == Decimal("0.07")
    assert UsageRollup.objects.filter(billed_by=first.id).count() == 0
    assert list(BalanceTransaction.objects.filter(kind="rounding").values_list("amount", flat=True).order_by("id")) == [
        Decimal("0.004525"),
        Decimal("-0.004525"),
        Decimal("0.004525"),
    ]


def test_deleting_a_postpaid_draft_returns_its_usage_merging_late_records(admin, postpaid_user):
    postpaid_usage(admin, postpaid_user)
    draft = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
        as_draft=True,
    )
    # A late record of an already claimed key opens a second bucket meanwhile.
    usage(
        admin, postpaid_user, record_row(postpaid_user, 7, submitted_at="2026-03-02T16:00:00Z", unit_price="0.004175")
    )

    invoice_delete_draft(tenant=admin.tenant, invoice_id=draft.id, actor_id=None)

    assert not Invoice.objects.filter(pk=draft.pk).exists()
    merged = UsageRollup.objects.get(day=D(2026, 3, 2))
    assert (merged.messages, merged.billed_by) == (2, None)
    assert merged.records.count() == 2


def test_empty_period_is_refused(admin, postpaid_user):
    with pytest.raises(ValidationFailed) as error:
        invoice_create_postpaid(
            tenant=admin.tenant,
            account_id=postpaid_user.id,
            actor_id=None,
            period_start=D(2026, 1, 1),
            period_end=D(2026, 1, 31),
        )
    assert error.value.code == "no_usage" and Invoice.objects.count() == 0


@pytest.mark.parametrize(
    "start,end,field",
    [
        (D(2026, 3, 10), D(2026, 3, 1), "period_end"),
        (D(2026, 3, 10), D(2026, 3, 21), "period_end"),
    ],
)
def test_bad_periods_are_refused(admin, postpaid_user, start, end, field):
    with pytest.raises(DomainError) as error:
        invoice_create_postpaid(
            tenant=admin.tenant, account_id=postpaid_user.id, actor_id=None, period_start=start, period_end=end
        )
    assert error.value.field == field


def test_postpaid_draft_lines_can_be_renamed_but_amounts_only_come_from_usage(admin, postpaid_user):
    postpaid_usage(admin, postpaid_user)
    draft = invoice_create_postpaid(
        tenant=admin.tenant,
        account_id=postpaid_user.id,
        actor_id=None,
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 15),
        as_draft=True,
    )

    invoice_update_draft(tenant=admin.tenant, invoice_id=draft.id, actor_id=None, line_descriptions={1: "UK traffic"})
    with pytest.raises(ValidationFailed):
        invoice_update_draft(tenant=admin.tenant, invoice_id=draft.id, actor_id=None, recharge_amount="5")

    assert InvoiceLine.objects.get(invoice=draft, position=1).description == "UK traffic"


def test_bulk_approval_refuses_the_whole_selection_when_one_is_not_a_draft(admin, user, other_admin):
    drafts = [
        invoice_create_prepaid(
            tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1", as_draft=True
        )
        for _ in range(2)
    ]
    approved = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1")
    foreign_user = AccountFactory(tenant=other_admin.tenant)
    foreign = invoice_create_prepaid(
        tenant=other_admin.tenant, account_id=foreign_user.id, actor_id=None, recharge_amount="1", as_draft=True
    )

    with pytest.raises(Conflict):
        invoice_approve_bulk(tenant=admin.tenant, invoice_ids=[drafts[0].id, approved.id, drafts[1].id], actor_id=None)
    with pytest.raises(NotFound):
        invoice_approve_bulk(tenant=admin.tenant, invoice_ids=[drafts[0].id, foreign.id], actor_id=None)

    assert Invoice.objects.filter(pk__in=[d.id for d in drafts], status="draft").count() == 2


def test_a_draft_edit_with_the_same_amount_keeps_its_lines_and_a_new_one_rewrites_them(admin, user, vat):
    draft = invoice_create_prepaid(
        tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1000.00", as_draft=True
    )
    line_ids = list(draft.lines.values_list("id", flat=True))

    same = invoice_update_draft(
        tenant=admin.tenant, invoice_id=draft.id, actor_id=None, recharge_amount="1,000.00", description="Top-up"
    )
    assert list(same.lines.values_list("id", flat=True)) == line_ids
    assert Event.objects.filter(kind="invoice.updated").latest("id").data["fields"] == ["description"]

    changed = invoice_update_draft(tenant=admin.tenant, invoice_id=draft.id, actor_id=None, recharge_amount="200")
    assert (changed.subtotal, changed.total) == (Decimal("200.00"), Decimal("215.00"))
    assert list(changed.lines.values_list("id", flat=True)) != line_ids


def test_a_refused_create_and_claim_names_no_invoice_number_and_gives_none_away(admin, user):
    first = invoice_create_prepaid(
        tenant=admin.tenant,
        account_id=user.id,
        actor_id=None,
        recharge_amount="10.00",
        claim=ClaimInput(payment_date=D(2026, 3, 20), payment_type="cash", transaction_id="TX-1"),
    )
    for claim in (
        ClaimInput(payment_date=D(2026, 3, 20), payment_type="cash", transaction_id="TX-1"),
        ClaimInput(payment_date=D(2026, 3, 20), payment_type="cash", amount="20.01"),
        ClaimInput(payment_date=D(2026, 3, 21), payment_type="cash"),
    ):
        with pytest.raises(DomainError) as refused:
            invoice_create_prepaid(
                tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="20.00", claim=claim
            )
        assert "INV-" not in refused.value.message, refused.value.message
    second = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="20.00")
    assert (first.number, second.number) == ("INV-2026-00001", "INV-2026-00002")
