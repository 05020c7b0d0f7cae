"""Postpaid invoices people can read: prior-period usage summed per route and unit price (days in the annex and the
evidence file), lines that round to nothing folded into one sub-cent line, unit prices in the currency with one
number of decimals per invoice, right plurals, and the same columns on the preview, the page and the PDF."""

import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader

from invoicing.models import LineKind
from invoicing.money import money_exact_format, unit_price_format, unit_price_places
from invoicing.services.builder import LineSpec, count_text, days_text, lines_write
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.documents import invoice_pdf
from invoicing.services.evidence import evidence_rows, prior_usage_days
from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid, invoice_preview_postpaid
from msgplatform.messaging.services.ingest import records_ingest
from tests.factories import record_row

D = datetime.date
MARCH = {"period_start": D(2026, 3, 1), "period_end": D(2026, 3, 31)}
ROUTES = [
    {"unit_price": "0.0075"},
    {"country": "GB", "network": "O2 UK", "unit_price": "0.031"},
    {"network": "Verizon", "channel": "whatsapp", "unit_price": "0.0125"},
]
FORTY_DAYS = [D(2026, 1, 20) + datetime.timedelta(days=i) for i in range(40)]  # 20 Jan to 28 Feb


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 4, 2, 16, tzinfo=datetime.UTC), tick=False):
        yield


def ingest(tenant, account, *rows):
    records_ingest(tenant=tenant, rows=list(rows))


def record(account, n, day, **route):
    return record_row(account, n, submitted_at=f"{day}T15:00:00Z", **route)


def create_march(admin, account, **kw):
    return invoice_create_postpaid(tenant=admin.tenant, account_id=account.id, actor_id=None, **MARCH, **kw)


def lines_of(invoice):
    return [
        (line.position, line.kind, line.description, line.quantity, line.unit_price, line.amount, line.usage_day)
        for line in invoice.lines.order_by("position")
    ]


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def forty_days(admin, postpaid_user):
    """One message a day on three routes for 40 days before March, and two parts of one in March."""
    rows = [record(postpaid_user, f"{day}-{r}", day, **route) for day in FORTY_DAYS for r, route in enumerate(ROUTES)]
    ingest(admin.tenant, postpaid_user, *rows, record(postpaid_user, "march", "2026-03-05", parts=2))
    return create_march(admin, postpaid_user)


# --- prior-period usage: one line per route and unit price -----------------------------------------------------


def test_forty_prior_days_of_three_routes_make_three_prior_period_lines(forty_days):
    invoice = forty_days

    assert lines_of(invoice) == [
        (1, LineKind.USAGE, "SMS US T-Mobile US (1 message)", Decimal(2), Decimal("0.0075"), Decimal("0.02"), None),
        (
            2,
            LineKind.PRIOR_USAGE,
            "Prior-period usage, 20 Jan – 28 Feb: SMS GB O2 UK (40 messages)",
            Decimal(40),
            Decimal("0.031"),
            Decimal("1.24"),
            D(2026, 1, 20),
        ),
        (
            3,
            LineKind.PRIOR_USAGE,
            "Prior-period usage, 20 Jan – 28 Feb: SMS US T-Mobile US (40 messages)",
            Decimal(40),
            Decimal("0.0075"),
            Decimal("0.30"),  # rounded once: 40 x 0.0075; by day it was 40 x 0.01
            D(2026, 1, 20),
        ),
        (
            4,
            LineKind.PRIOR_USAGE,
            "Prior-period usage, 20 Jan – 28 Feb: WhatsApp US Verizon (40 messages)",
            Decimal(40),
            Decimal("0.0125"),
            Decimal("0.50"),
            D(2026, 1, 20),
        ),
    ]
    assert invoice.subtotal == Decimal("2.06") == sum(line.amount for line in invoice.lines.all())
    assert invoice.usage_raw == Decimal("2.055")


def test_the_evidence_lists_every_prior_day_and_closes_on_the_subtotal(forty_days):
    rows = list(evidence_rows(forty_days))

    records = [r for r in rows[1:] if r[1]]
    days_by_line = {position: sorted(r[3] for r in records if r[0] == position) for position in "1234"}
    assert days_by_line == {
        "1": ["2026-03-05"],
        "2": [str(day) for day in FORTY_DAYS],
        "3": [str(day) for day in FORTY_DAYS],
        "4": [str(day) for day in FORTY_DAYS],
    }
    assert {(r[5], r[6], r[7], r[10]) for r in records if r[0] == "3"} == {("US", "T-Mobile US", "sms", "0.007500")}
    totals = [(r[0], r[8], r[11], r[12]) for r in rows[1:] if not r[1]]
    assert totals == [
        ("1", "2", "0.015000", "line 1 raw total; rounded line amount 0.02"),
        ("2", "40", "1.240000", "line 2 raw total; rounded line amount 1.24"),
        ("3", "40", "0.300000", "line 3 raw total; rounded line amount 0.30"),
        ("4", "40", "0.500000", "line 4 raw total; rounded line amount 0.50"),
        ("", "", "2.06", "closing total = invoice usage subtotal"),
    ]


def test_the_pdf_states_each_prior_line_once_and_its_days_in_the_annex(admin, forty_days):
    text = text_of(invoice_pdf(tenant=admin.tenant, invoice_id=forty_days.id)[1])

    line = "3 Prior-period usage, 20 Jan – 28 Feb: SMS US T-Mobile US (40 messages) 40 $0.0075 $0.30"
    assert text.count(line) == 1
    assert text.count("Prior-period usage, 20 Jan") == 3
    assert "Prior-period usage by day" in text
    assert "3 2026-01-20 SMS US T-Mobile US 1 1 $0.0075 $0.0075" in text
    assert "2 2026-02-28 SMS GB O2 UK 1 1 $0.0310 $0.0310" in text
    assert len(re.findall(r"^\d 2026-0[12]-\d\d ", text, re.M)) == 120  # 40 days of 3 routes


def test_the_annex_days_add_up_to_each_prior_line(forty_days):
    days = prior_usage_days(forty_days)

    assert len(days) == 120
    by_line = {}
    for d in days:
        by_line.setdefault(d.line.position, []).append((d.day, d.messages, d.parts, d.charge))
    assert by_line[3][:2] == [(D(2026, 1, 20), 1, 1, Decimal("0.0075")), (D(2026, 1, 21), 1, 1, Decimal("0.0075"))]
    assert {p: sum(c for *_, c in v) for p, v in by_line.items()} == {
        2: Decimal("1.24"),
        3: Decimal("0.30"),
        4: Decimal("0.50"),
    }


def test_a_summarised_prior_line_is_credited_like_any_line(admin, forty_days):
    line = forty_days.lines.get(position=3)

    credit_note_issue(
        tenant=admin.tenant, invoice_id=forty_days.id, actor_id=None, reason="duplicate", lines={line.id: "0.30"}
    )

    line.refresh_from_db()
    forty_days.refresh_from_db()
    assert line.credited_amount == Decimal("0.30")
    totals = [(r[0], r[11], r[13]) for r in evidence_rows(forty_days) if r[0] == "3" and not r[1]]
    assert totals == [("3", "0.300000", "0.30")]


def test_corrections_are_summed_per_route_over_their_days(admin, postpaid_user):
    tenant = admin.tenant
    january = [record(postpaid_user, n, f"2026-01-1{n}", unit_price="0.50") for n in (1, 2)]
    ingest(tenant, postpaid_user, *january)
    invoice_create_postpaid(
        tenant=tenant, account_id=postpaid_user.id, actor_id=None, period_start=D(2026, 1, 1), period_end=D(2026, 1, 31)
    )
    rolled_back = [{**row, "rolled_back": True} for row in january]
    ingest(tenant, postpaid_user, *rolled_back, record(postpaid_user, 3, "2026-03-05", unit_price="2"))

    march = create_march(admin, postpaid_user)

    assert lines_of(march) == [
        (1, LineKind.USAGE, "SMS US T-Mobile US (1 message)", Decimal(1), Decimal(2), Decimal("2.00"), None),
        (
            2,
            LineKind.CORRECTION,
            "Correction, 11 Jan – 12 Jan: SMS US T-Mobile US (-2 messages)",
            Decimal(-2),
            Decimal("0.50"),
            Decimal("-1.00"),
            D(2026, 1, 11),
        ),
    ]
    rows = [r for r in evidence_rows(march) if r[0] == "2"]
    assert [(r[1], r[3], r[11], r[12]) for r in rows] == [
        ("m-1", "2026-01-11", "-0.500000", "rolled back"),
        ("m-2", "2026-01-12", "-0.500000", "rolled back"),
        ("", "", "-1.000000", "line 2 raw total; rounded line amount -1.00"),
    ]
    assert [(d.day, d.messages, d.parts, d.charge) for d in prior_usage_days(march)] == [
        (D(2026, 1, 11), -1, -1, Decimal("-0.5")),
        (D(2026, 1, 12), -1, -1, Decimal("-0.5")),
    ]


def test_an_invoice_with_prior_lines_by_day_still_reads_each_days_records(admin, postpaid_user):
    ingest(
        admin.tenant,
        postpaid_user,
        record(postpaid_user, 1, "2026-02-10"),
        record(postpaid_user, 2, "2026-02-11"),
        record(postpaid_user, 3, "2026-03-05"),
    )
    invoice = create_march(admin, postpaid_user, as_draft=True)
    # Lines as invoices made before summaries had them: one prior-period line per day.
    by_day = [
        LineSpec(
            kind=kind,
            description=description,
            quantity=Decimal(1),
            unit_price=Decimal("0.0075"),
            amount=Decimal("0.01"),
            country="US",
            network="T-Mobile US",
            channel="sms",
            messages=1,
            parts=1,
            raw_charge=Decimal("0.0075"),
            usage_day=day,
        )
        for kind, description, day in [
            (LineKind.USAGE, "SMS US T-Mobile US (1 messages)", None),
            (LineKind.PRIOR_USAGE, "Prior-period usage 2026-02-10: SMS US T-Mobile US (1 messages)", D(2026, 2, 10)),
            (LineKind.PRIOR_USAGE, "Prior-period usage 2026-02-11: SMS US T-Mobile US (1 messages)", D(2026, 2, 11)),
        ]
    ]
    lines_write(invoice, by_day, [])
    invoice.save()

    rows = list(evidence_rows(invoice))

    assert [(r[0], r[1]) for r in rows[1:] if r[1]] == [("1", "m-3"), ("2", "m-1"), ("3", "m-2")]
    assert rows[-1][11] == "0.03"


# --- the sub-cent line --------------------------------------------------------------------------------------------


def test_lines_that_round_to_nothing_fold_into_one_sub_cent_line(admin, postpaid_user):
    ingest(
        admin.tenant,
        postpaid_user,
        record(postpaid_user, 1, "2026-03-05", unit_price="0.004"),
        record(postpaid_user, 2, "2026-03-06", unit_price="0.003", country="GB", network="O2 UK"),
        record(postpaid_user, 3, "2026-02-10", unit_price="0.002", parts=2, network="Verizon", channel="whatsapp"),
        record(postpaid_user, 4, "2026-03-07", unit_price="0.5"),
    )

    invoice = create_march(admin, postpaid_user)

    assert lines_of(invoice) == [
        (1, LineKind.USAGE, "SMS US T-Mobile US (1 message)", Decimal(1), Decimal("0.5"), Decimal("0.50"), None),
        (
            2,
            LineKind.USAGE,
            "Sub-cent usage: 3 messages, 4 parts, exactly $0.011",
            Decimal(4),
            Decimal(0),
            Decimal("0.01"),  # the rounded sum of 0.004 + 0.003 + 0.004: each line alone was 0.00
            None,
        ),
    ]
    sub_cent = invoice.lines.get(position=2)
    assert (sub_cent.messages, sub_cent.parts, sub_cent.raw_charge) == (3, 4, Decimal("0.011"))
    assert invoice.subtotal == Decimal("0.51")
    rows = list(evidence_rows(invoice))
    assert sorted((r[1], r[3], r[11]) for r in rows if r[0] == "2" and r[1]) == [
        ("m-1", "2026-03-05", "0.004000"),
        ("m-2", "2026-03-06", "0.003000"),
        ("m-3", "2026-02-10", "0.004000"),
    ]
    assert [(r[11], r[12]) for r in rows if r[0] == "2" and not r[1]] == [
        ("0.011000", "line 2 raw total; rounded line amount 0.01")
    ]
    assert rows[-1][11] == "0.51"


def test_one_sub_cent_message_is_one_line_of_its_exact_amount(admin, postpaid_user):
    ingest(admin.tenant, postpaid_user, record(postpaid_user, 1, "2026-03-05", unit_price="0.004175"))

    preview = invoice_preview_postpaid(tenant=admin.tenant, account_id=postpaid_user.id, **MARCH)

    assert [(line.description, line.quantity, line.amount, line.raw_charge) for line in preview.lines] == [
        ("Sub-cent usage: 1 message, 1 part, exactly $0.004175", Decimal(1), Decimal("0.00"), Decimal("0.004175"))
    ]
    assert preview.totals.subtotal == Decimal("0.00")


def test_the_sub_cent_line_shows_no_unit_price_on_the_page_and_in_the_pdf(admin, postpaid_user):
    ingest(
        admin.tenant,
        postpaid_user,
        record(postpaid_user, 1, "2026-03-05", unit_price="0.004"),
        record(postpaid_user, 2, "2026-03-07", unit_price="0.5"),
    )
    invoice = create_march(admin, postpaid_user)

    page = admin.client.get(f"/invoicing/invoices/{invoice.id}/").content.decode()
    text = text_of(invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)[1])

    assert unit_prices_on(page) == ["$0.50", "—"]
    assert "2 Sub-cent usage: 1 message, 1 part, exactly $0.004 1 — $0.00" in text
    assert "Sub-cent usage 1 1 — $0.00" in text  # its row of the annex


# --- unit prices, plurals and columns -----------------------------------------------------------------------------


def unit_prices_on(page: str) -> list[str]:
    return re.findall(r'data-testid="unit-price">([^<]*)<', page)


def headers_of(fragment: str) -> list[str]:
    table = re.search(r"<table.*?</thead>", fragment, re.S).group(0)
    return re.findall(r"<th[^>]*>([^<]*)</th>", table)


def test_unit_prices_show_the_currency_with_the_same_decimals_on_the_page_and_in_the_pdf(admin, postpaid_user):
    ingest(
        admin.tenant,
        postpaid_user,
        record(postpaid_user, 1, "2026-03-05", unit_price="0.004175", parts=3),
        record(postpaid_user, 2, "2026-03-06", unit_price="0.5", country="GB", network="O2 UK"),
    )
    invoice = create_march(admin, postpaid_user)

    page = admin.client.get(f"/invoicing/invoices/{invoice.id}/").content.decode()
    text = text_of(invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)[1])

    assert unit_prices_on(page) == ["$0.500000", "$0.004175"]
    assert "1 SMS GB O2 UK (1 message) 1 $0.500000 $0.50" in text
    assert "2 SMS US T-Mobile US (1 message) 3 $0.004175 $0.01" in text
    assert "GB O2 UK SMS 1 1 $0.500000 $0.50" in text  # the annex shows them the same way


def test_a_recharge_shows_its_unit_price_in_the_currency(admin, user):
    invoice = invoice_create_prepaid(tenant=admin.tenant, account_id=user.id, actor_id=None, recharge_amount="1000")

    page = admin.client.get(f"/invoicing/invoices/{invoice.id}/").content.decode()
    text = text_of(invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)[1])

    assert unit_prices_on(page) == ["$1,000.00"]
    assert "1 $1,000.00 $1,000.00" in text


def test_the_preview_shows_the_invoices_columns_and_unit_prices(admin, postpaid_user):
    ingest(
        admin.tenant,
        postpaid_user,
        record(postpaid_user, 1, "2026-03-05", unit_price="0.004175", parts=3),
        record(postpaid_user, 2, "2026-03-06", unit_price="0.5", country="GB", network="O2 UK"),
    )
    form = {"type": "postpaid", "account": postpaid_user.id, "period_start": "2026-03-01", "period_end": "2026-03-31"}

    preview = admin.client.post(
        "/invoicing/invoices/new/?type=postpaid", {**form, "action": "fetch"}, headers={"HX-Request": "true"}
    ).content.decode()
    invoice = create_march(admin, postpaid_user)
    page = admin.client.get(f"/invoicing/invoices/{invoice.id}/").content.decode()
    text = text_of(invoice_pdf(tenant=admin.tenant, invoice_id=invoice.id)[1])

    lines_table = page[page.index('id="lines-title"') :]
    assert headers_of(preview) == headers_of(lines_table) == ["#", "Description", "Quantity", "Unit price", "Amount"]
    assert "# Description Quantity Unit price Amount" in text
    assert unit_prices_on(preview) == unit_prices_on(page) == ["$0.500000", "$0.004175"]
    assert "SMS GB O2 UK (1 message)" in preview
    # The records under the preview: unit price and charge at the 6 decimals records are rated at.
    assert '$0.004175</td><td class="amount">$0.012525</td>' in preview


def test_counts_and_days_read_as_words():
    assert [count_text(n, "message") for n in (1, 2, 0, -1, 1234)] == [
        "1 message",
        "2 messages",
        "0 messages",
        "-1 message",
        "1,234 messages",
    ]
    assert count_text(1, "part") == "1 part"
    assert days_text(D(2026, 9, 30), D(2026, 9, 30)) == "30 Sep"
    assert days_text(D(2026, 9, 30), D(2026, 10, 31)) == "30 Sep – 31 Oct"
    assert days_text(D(2025, 12, 30), D(2026, 1, 2)) == "30 Dec 2025 – 2 Jan 2026"


def test_unit_price_decimals_follow_the_most_precise_price_and_never_fewer_than_the_currencys():
    prices = [Decimal("0.031000"), Decimal("0.0075"), Decimal("0.5")]

    assert unit_price_places(prices, "USD") == 4
    assert [unit_price_format(p, "USD", 4) for p in prices] == ["$0.0310", "$0.0075", "$0.5000"]
    assert unit_price_places([Decimal("0.50")], "USD") == 2
    assert unit_price_places([Decimal("3")], "JPY") == 0
    assert unit_price_places([Decimal("0.125")], "KWD") == 3
    assert unit_price_format(Decimal("0.004175"), "USD", 2) == "$0.004175"  # never rounded away
    assert money_exact_format(Decimal("0.011000"), "USD") == "$0.011"
    assert money_exact_format(Decimal("0.010000"), "USD") == "$0.01"
