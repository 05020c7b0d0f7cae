"""The validation rule of ingestion (services/ingest/parse.py) on its own: no database.

The rule remembers conversions per batch (user ids, prices, spellings). These tests hold it to what that must not
change: a row's outcome is the one it has alone, whatever else the batch holds.
"""

import datetime
import zoneinfo
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from msgplatform.accounts.models import Account
from msgplatform.messaging.services.ingest import parse as rule
from msgplatform.messaging.services.ingest.parse import records_parse
from tests.factories import record_row

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ACCOUNTS = {i: Account(id=i, tenant_id=1, billing_method=("prepaid", "postpaid")[i % 2]) for i in (1, 2)}
VALID = record_row(ACCOUNTS[1], 1, submitted_at="2026-03-09T23:30:00Z", parts=2, charge="0.0150")


def parse(rows):
    errors = []
    parsed = records_parse(rows, accounts=ACCOUNTS, tz=BERLIN, errors=errors)
    return parsed, errors


# Values that are one key to a dict (1 == 1.0 == True) and need not convert alike: a batch holding two of them in
# one field is where remembering conversions by value would go wrong.
LOOKALIKES = [(1, 1.0, True, "1"), (0, 0.0, False, "0", "", None), (2, 2.0, "2", " 2"), (0.0075, "0.0075", "0.00750")]
OTHERS = st.one_of(
    st.integers(-2, 300),
    st.floats(allow_nan=True, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=1),
    st.sampled_from(["sms", "SMS", "Whatsapp", "delivrd", "us", "ß", "0.012345", "0.0000001", "true", "no", "255"]),
)


@st.composite
def batches(draw):
    """Rows that differ from a valid one in a field or two, each such field taking its values from a small pool of
    look-alikes and others."""
    names = draw(st.lists(st.sampled_from(sorted(VALID)), min_size=1, max_size=2, unique=True))
    pools = {name: [*draw(st.sampled_from(LOOKALIKES)), *draw(st.lists(OTHERS, max_size=2))] for name in names}
    batch = []
    for n in range(draw(st.integers(1, 10))):
        row = dict(VALID, message_id=f"m-{n}")
        for name, pool in pools.items():
            choice = draw(st.integers(0, len(pool)))
            if choice == len(pool):
                del row[name]
            else:
                row[name] = pool[choice]
        batch.append(row)
    return batch


@settings(max_examples=300, deadline=None)
@given(batch=batches())
def test_a_rows_outcome_does_not_depend_on_the_other_rows_of_its_batch(batch):
    # given a batch of rows, valid and not
    # when it is parsed at once, and each row alone
    parsed, errors = parse(batch)
    alone = [parse([row]) for row in batch]
    # then each row has the outcome it has alone: the same record, or the same error
    by_index = dict(parsed)
    for index, (one_parsed, one_errors) in enumerate(alone):
        if one_parsed:
            assert by_index[index] == one_parsed[0][1]
        else:
            error = one_errors[0]
            assert (index, error.field, error.reason, error.message_id) in [
                (e.index, e.field, e.reason, e.message_id) for e in errors
            ]
    assert len(parsed) + len(errors) == len(batch)


def test_parts_given_as_true_is_rejected_after_parts_of_one_in_the_same_batch():
    parsed, errors = parse([dict(VALID, parts=1, charge=None), dict(VALID, message_id="m-2", parts=True)])

    assert [p.parts for _, p in parsed] == [1]
    assert [(e.index, e.field, e.reason) for e in errors] == [(1, "parts", "must be an integer from 1 to 255")]


def test_a_price_given_as_a_number_is_the_same_as_its_text():
    parsed, errors = parse([dict(VALID, unit_price=0.0075), dict(VALID, message_id="m-2", unit_price="0.0075")])

    assert errors == []
    assert [(p.unit_price, p.unit_price_micros, p.charge, p.charge_micros) for _, p in parsed] == [
        (Decimal("0.007500"), 7500, Decimal("0.015000"), 15000)
    ] * 2


def test_the_first_bad_field_is_the_error_and_the_local_day_is_the_tenants():
    parsed, errors = parse([dict(VALID, country="USA", channel="fax"), dict(VALID, message_id="m-2")])

    assert [(e.index, e.field, e.reason, e.message_id) for e in errors] == [
        (0, "country", "is longer than 2 characters", "m-1")
    ]
    assert [(p.message_id, p.day_iso, p.billing_method) for _, p in parsed] == [("m-2", "2026-03-10", "postpaid")]


def test_records_fall_on_the_days_every_date_of_the_api_may_take():
    # The API's dates run from 1970-01-01 to 2999-12-31 (tests/security/test_date_range.py).
    assert (rule.FIRST_DAY, rule.LAST_DAY) == (datetime.date(1970, 1, 1), datetime.date(2999, 12, 31))
    # Berlin is ahead of UTC: 1969-12-31T23:30Z is already 1970 there, 2999-12-31T23:30Z already 3000.
    parsed, errors = parse(
        [
            dict(VALID, message_id="early", submitted_at="1969-12-31T23:30:00Z"),
            dict(VALID, message_id="late", submitted_at="2999-12-31T23:30:00Z"),
            dict(VALID, message_id="year-1", submitted_at="0001-01-01T00:00:00+01:00"),
        ]
    )

    assert [p.message_id for _, p in parsed] == ["early"]
    assert [(e.index, e.field) for e in errors] == [(1, "submitted_at"), (2, "submitted_at")]
