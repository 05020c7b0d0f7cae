"""Invoice search (tabs, filters, orderings, pages, capped count), invoice_get and payments_list on the known book."""

from decimal import Decimal

import pytest

from invoicing.selectors import invoices as selectors
from invoicing.selectors.invoices import InvoiceFilters, InvoicePage, invoice_get, invoice_search, payments_list
from msgplatform.core.errors import NotFound, ValidationFailed

from .conftest import D, prepaid

# Newest first by invoice date; C and R2 share 2026-03-01 and R2 (created later) has the higher id.
NEWEST_FIRST = ["F", "P", "D", "E", "R2", "C", "B", "R1", "A", "G", "H"]


def search(book, admin, ordering="-invoice_date", page=1, page_size=50, **filters) -> InvoicePage:
    return invoice_search(
        tenant=admin.tenant, filters=InvoiceFilters(**filters), ordering=ordering, page=page, page_size=page_size
    )


def keys(book, result: InvoicePage) -> list[str]:
    by_id = {getattr(book, k).id: k for k in book.__dataclass_fields__}
    return [by_id[invoice.id] for invoice in result.items]


def found(book, admin, **kwargs) -> list[str]:
    return keys(book, search(book, admin, **kwargs))


# --- tabs and tenant scoping ------------------------------------------------------------------------------------


def test_all_tab_lists_every_invoice_of_the_admin_newest_first_with_its_user(book, admin, django_assert_num_queries):
    with django_assert_num_queries(1):  # one page, no count query needed, the user joined
        result = search(book, admin)
        names = {invoice.account.name for invoice in result.items}

    assert keys(book, result) == NEWEST_FIRST
    assert names == {"Nimbus Ltd", "Invent Media GmbH", "Orbit Ltd"}
    assert (result.count, result.count_capped, result.has_next, result.has_previous) == (11, False, False, False)


def test_another_admins_invoices_are_never_listed(book, admin, other_admin):
    assert book.O1.id not in {i.id for i in search(book, admin).items}
    assert found(book, admin, q="nimbus") == ["E", "C", "A", "H"]  # not the other admin's "Nimbus Ltd"
    assert "O1" not in found(book, admin, q="INV-2026-00001")  # the other admin's number
    other = invoice_search(tenant=other_admin.tenant, filters=InvoiceFilters())
    assert keys(book, other) == ["O1", "O2"]


def test_postpaid_and_prepaid_tabs_filter_the_billing_method_drafts_and_void_included(book, admin):
    assert found(book, admin, tab="postpaid") == ["P", "R2", "R1"]
    assert found(book, admin, tab="prepaid") == ["F", "D", "E", "C", "B", "A", "G", "H"]


def test_drafts_tab_shows_only_drafts(book, admin):
    assert found(book, admin, tab="drafts") == ["F", "R2"]


def test_void_invoices_can_be_hidden(book, admin):
    assert "E" not in found(book, admin, include_void=False)
    assert found(book, admin, tab="prepaid", include_void=False) == ["F", "D", "C", "B", "A", "G", "H"]


# --- filters ----------------------------------------------------------------------------------------------------


def test_account_filter(book, admin, postpaid_user):
    assert found(book, admin, account_id=postpaid_user.id) == ["P", "R2", "R1"]
    assert found(book, admin, account_id=str(postpaid_user.id)) == ["P", "R2", "R1"]
    assert found(book, admin, account_id=book.O1.account_id) == []  # another admin's user: nothing


def test_number_filter_matches_a_part_of_the_number_in_any_case(book, admin):
    assert found(book, admin, number="00004") == ["B"]
    assert found(book, admin, number="inv-2025") == ["G", "H"]
    assert found(book, admin, number="INV-2026-0000") == ["P", "D", "E", "C", "B", "R1", "A"]  # drafts have none


def test_due_status_filter_uses_the_tenants_today(book, admin):
    assert found(book, admin, due_status="overdue") == ["B", "R1"]
    assert found(book, admin, due_status="due_today") == ["C"]
    assert found(book, admin, due_status="not_due") == ["D"]  # paid, draft and void invoices have no due status


def test_payment_status_filter_applies_to_approved_invoices(book, admin):
    assert found(book, admin, payment_status="paid") == ["P", "A", "G", "H"]
    assert found(book, admin, payment_status="partially_paid") == ["B"]
    assert found(book, admin, payment_status="unpaid") == ["D", "C", "R1"]  # not the drafts, not the void one
    assert found(book, admin, tab="postpaid", payment_status="unpaid") == ["R1"]
    assert found(book, admin, tab="drafts", payment_status="unpaid") == []


def test_invoice_date_range_is_inclusive(book, admin):
    assert found(book, admin, date_from=D(2026, 3, 1), date_to=D(2026, 3, 10)) == ["D", "E", "R2", "C"]
    assert found(book, admin, date_from=D(2026, 3, 11)) == ["F", "P"]
    assert found(book, admin, date_to=D(2025, 12, 31)) == ["G", "H"]


def test_free_text_matches_the_users_name(book, admin):
    assert found(book, admin, q="INVENT") == ["F", "D", "B", "G"]
    assert found(book, admin, q=" orbit ") == ["P", "R2", "R1"]


def test_free_text_matches_the_number(book, admin):
    assert found(book, admin, q=book.C.number.lower()) == ["C"]
    assert found(book, admin, q="2025-0000") == ["G", "H"]


def test_free_text_matching_numbers_and_names_keeps_both(book, admin):
    # "inv" is in every number and in "Invent Media GmbH", whose draft F has no number yet; R2 has neither.
    assert found(book, admin, q="inv") == [k for k in NEWEST_FIRST if k != "R2"]


def test_free_text_matching_nothing(book, admin, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the names (none), then the page (empty: no count needed)
        result = search(book, admin, q="no such thing")
    assert (result.items, result.count, result.has_next) == ([], 0, False)


def test_filters_combine(book, admin, user):
    assert found(book, admin, tab="prepaid", account_id=user.id, due_status="due_today", q="inv") == ["C"]
    assert found(book, admin, payment_status="paid", date_from=D(2026, 1, 1), q="orbit") == ["P"]


@pytest.mark.parametrize(
    "filters",
    [{"tab": "paid"}, {"payment_status": "overdue"}, {"due_status": "late"}, {"account_id": "x"}],
)
def test_unknown_filter_values_are_refused(book, admin, filters):
    with pytest.raises(ValidationFailed):
        search(book, admin, **filters)


# --- ordering ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("invoice_date", ["H", "G", "A", "R1", "B", "C", "R2", "E", "D", "P", "F"]),
        ("-invoice_date", NEWEST_FIRST),
        # E and P are both due 2026-03-20: the id decides
        ("due_date", ["H", "G", "A", "R1", "B", "R2", "C", "E", "P", "D", "F"]),
        ("-due_date", ["F", "D", "P", "E", "C", "R2", "B", "R1", "A", "G", "H"]),
        ("total", ["P", "R2", "D", "H", "F", "C", "A", "R1", "B", "E", "G"]),
        ("-total", ["G", "E", "B", "R1", "A", "C", "F", "H", "D", "R2", "P"]),
        ("balance_due", ["H", "G", "A", "P", "R2", "D", "F", "C", "R1", "B", "E"]),  # void E still shows its 300
        ("-balance_due", ["E", "B", "R1", "C", "F", "D", "R2", "P", "A", "G", "H"]),
        ("number", ["H", "G", "A", "B", "C", "D", "E", "R1", "P", "R2", "F"]),  # drafts last
        ("-number", ["F", "R2", "P", "R1", "E", "D", "C", "B", "A", "G", "H"]),  # drafts first
        ("account", ["G", "B", "D", "F", "H", "A", "C", "E", "R1", "R2", "P"]),  # Invent, Nimbus, Orbit
        ("-account", ["P", "R2", "R1", "E", "C", "A", "H", "F", "D", "B", "G"]),
    ],
)
def test_orderings_with_the_id_as_tie_breaker(book, admin, ordering, expected):
    assert found(book, admin, ordering=ordering) == expected


def test_unknown_ordering_is_refused(book, admin):
    with pytest.raises(ValidationFailed):
        search(book, admin, ordering="customer_notes")


# --- pagination and count ---------------------------------------------------------------------------------------


def test_pages_follow_each_other_without_gaps_or_repeats(book, admin):
    pages = [search(book, admin, page=n, page_size=4) for n in (1, 2, 3)]

    assert [keys(book, p) for p in pages] == [NEWEST_FIRST[0:4], NEWEST_FIRST[4:8], NEWEST_FIRST[8:]]
    assert [(p.has_previous, p.has_next) for p in pages] == [(False, True), (True, True), (True, False)]
    assert [(p.page, p.page_size, p.count, p.count_capped) for p in pages] == [
        (1, 4, 11, False),
        (2, 4, 11, False),
        (3, 4, 11, False),
    ]


def test_a_page_past_the_end_is_the_last_page_and_still_counts(book, admin):
    result = search(book, admin, page=9, page_size=4)
    assert (keys(book, result), result.page, result.has_next, result.has_previous, result.count) == (
        NEWEST_FIRST[8:],
        3,
        False,
        True,
        11,
    )


def test_a_full_page_knows_there_is_a_next_one_without_counting_everything(book, admin, django_assert_num_queries):
    with django_assert_num_queries(2):  # the page (one row more than shown), then the capped count
        result = search(book, admin, page_size=5, tab="prepaid")
    assert (len(result.items), result.has_next, result.count) == (5, True, 8)


def test_the_count_is_capped(book, admin, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 6)

    result = search(book, admin, page_size=2)
    assert (result.count, result.count_capped, result.count_display) == (6, True, "6+")
    above = search(book, admin, page_size=2, tab="prepaid", include_void=False)  # 7 matches
    assert (above.count, above.count_capped) == (6, True)
    under = search(book, admin, page_size=2, tab="postpaid")
    assert (under.count, under.count_capped, under.count_display) == (3, False, "3")


def test_count_display_of_the_real_cap():
    page = InvoicePage(
        items=[], page=1, page_size=50, has_next=True, has_previous=False, count=10_000, count_capped=True
    )
    assert page.count_display == "10,000+"


def test_page_arguments_are_checked(book, admin):
    assert search(book, admin, page=0).page == 1
    for page_size in (0, 201):
        with pytest.raises(ValidationFailed):
            search(book, admin, page_size=page_size)
    with pytest.raises(ValidationFailed):
        search(book, admin, page="two")


def test_the_number_of_queries_does_not_grow_with_the_page(admin, user, django_assert_max_num_queries):
    for i in range(12):
        prepaid(admin, user, f"{i + 1}.00", D(2026, 3, 1 + i))
    for page in (1, 2, 3):
        with django_assert_max_num_queries(2):
            result = invoice_search(tenant=admin.tenant, filters=InvoiceFilters(), page=page, page_size=5)
        assert [i.total for i in result.items] == [Decimal(12 - n) for n in range((page - 1) * 5, min(12, page * 5))]


# --- one invoice, payments --------------------------------------------------------------------------------------


def test_invoice_get_of_the_admin(book, admin):
    invoice = invoice_get(tenant=admin.tenant, invoice_id=book.B.id)
    assert (invoice.number, invoice.account.name) == ("INV-2026-00004", "Invent Media GmbH")
    assert invoice_get(tenant=admin.tenant, invoice_id=str(book.F.id)).status == "draft"


@pytest.mark.parametrize("which", ["other admin", "missing", "garbage"])
def test_invoice_get_of_anything_else_is_not_found(book, admin, which):
    invoice_id = {"other admin": book.O1.id, "missing": 10**9, "garbage": "abc"}[which]
    with pytest.raises(NotFound):
        invoice_get(tenant=admin.tenant, invoice_id=invoice_id)


def payment_rows(qs):
    return [(p.invoice.number, p.amount, p.payment_date, p.is_reversed) for p in qs]


def test_payments_list_newest_first_reversed_included(book, admin):
    assert payment_rows(payments_list(tenant=admin.tenant)) == [
        ("INV-2026-00009", Decimal("15.50"), D(2026, 3, 12), False),
        ("INV-2026-00006", Decimal("40.00"), D(2026, 3, 12), True),
        ("INV-2026-00007", Decimal("300.00"), D(2026, 3, 6), True),
        ("INV-2026-00004", Decimal("50.00"), D(2026, 3, 2), False),
        ("INV-2026-00003", Decimal("100.00"), D(2026, 1, 20), False),
        ("INV-2025-00002", Decimal("500.00"), D(2025, 4, 15), False),
        ("INV-2025-00001", Decimal("60.00"), D(2025, 3, 25), False),
    ]


def test_payments_list_filters(book, admin, user):
    live = payments_list(tenant=admin.tenant, include_reversed=False)
    assert [p.amount for p in live] == [Decimal(a) for a in ("15.50", "50.00", "100.00", "500.00", "60.00")]
    mine = payments_list(tenant=admin.tenant, account_id=user.id)
    assert [p.invoice.number for p in mine] == ["INV-2026-00007", "INV-2026-00003", "INV-2025-00001"]
    march = payments_list(tenant=admin.tenant, date_from=D(2026, 3, 1), date_to=D(2026, 3, 6))
    assert [p.amount for p in march] == [Decimal("300.00"), Decimal("50.00")]
    assert list(payments_list(tenant=admin.tenant, account_id=book.O1.account_id)) == []


def test_payments_list_is_scoped_to_the_admin(book, admin, other_admin, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = [(p.amount, p.account.name) for p in payments_list(tenant=other_admin.tenant)]
    assert rows == [(Decimal("999.00"), "Nimbus Ltd")]
    assert book.O1.id not in {p.invoice_id for p in payments_list(tenant=admin.tenant)}


def test_invoice_queryset_is_the_whole_filtered_ordered_set(book, admin):
    qs = selectors.invoice_queryset(tenant=admin.tenant, filters=InvoiceFilters(tab="prepaid"), ordering="total")
    assert [i.id for i in qs] == book.ids("D", "H", "F", "C", "A", "B", "E", "G")
    assert qs[0].account.name == "Invent Media GmbH"


def test_a_page_past_the_end_is_the_last_page(admin, book):
    last = invoice_search(tenant=admin.tenant, filters=InvoiceFilters(), page=4, page_size=3)
    beyond = invoice_search(tenant=admin.tenant, filters=InvoiceFilters(), page=99, page_size=3)

    assert (beyond.page, [i.pk for i in beyond.items], beyond.has_next, beyond.count) == (
        last.page,
        [i.pk for i in last.items],
        False,
        last.count,
    )
    assert beyond.items and beyond.has_previous
    nothing = invoice_search(tenant=admin.tenant, filters=InvoiceFilters(q="no such text"), page=5)
    assert (nothing.page, nothing.items, nothing.count) == (5, [], 0)
