import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgplatform.accounts.models import BalanceTransaction, StaffRole
from msgplatform.accounts.services.tokens import token_create
from msgplatform.messaging.models import MICROS, IngestBatch, MessageRecord, RecordCorrection, UsageRollup
from msgplatform.messaging.services.ingest import BatchTooLarge, records_ingest
from tests.factories import AccountFactory, StaffFactory, TenantFactory, record_row


def rollup_totals():
    """Rollup buckets summed per key, whatever their kind or claim."""
    out = defaultdict(lambda: [0, 0, 0])
    for r in UsageRollup.objects.all():
        key = (r.account_id, r.day, r.country, r.network, r.channel, r.unit_price_micros, r.delivered, r.billing_method)
        out[key][0] += r.messages
        out[key][1] += r.parts
        out[key][2] += r.charge_micros
    return {k: tuple(v) for k, v in out.items() if any(v)}


def record_totals():
    """The same figures aggregated directly from the raw records (rolled-back ones are not usage)."""
    out = defaultdict(lambda: [0, 0, 0])
    for r in MessageRecord.objects.filter(rolled_back=False):
        key = (
            r.account_id,
            r.day,
            r.country,
            r.network,
            r.channel,
            int(r.unit_price * MICROS),
            r.status == "DELIVRD",
            r.billing_method,
        )
        out[key][0] += 1
        out[key][1] += r.parts
        out[key][2] += int(r.charge * MICROS)
    return {k: tuple(v) for k, v in out.items()}


def test_new_batch_is_stored_rolled_up_and_debited_once_per_user(admin, user, postpaid_user):
    rows = [
        record_row(user, 1, parts=2, unit_price="0.0075"),
        record_row(user, 2, unit_price="0.0075", status="UNDELIV"),
        record_row(postpaid_user, 3, unit_price="0.012345", parts=3, country="gb", network="O2 UK"),
    ]

    result = records_ingest(tenant=admin.tenant, rows=rows)

    assert (result.received, result.created, result.duplicates, result.updated, result.rejected) == (3, 3, 0, 0, 0)
    assert MessageRecord.objects.filter(tenant=admin.tenant).count() == 3
    r3 = MessageRecord.objects.get(message_id="m-3")
    assert (r3.charge, r3.country, r3.billing_method) == (Decimal("0.037035"), "GB", "postpaid")
    # One ledger row per user for the batch, with the exact charge.
    assert list(BalanceTransaction.objects.order_by("account_id").values_list("account_id", "amount", "kind")) == [
        (user.id, Decimal("-0.022500"), "usage"),
        (postpaid_user.id, Decimal("-0.037035"), "usage"),
    ]
    user.refresh_from_db()
    assert user.balance == Decimal("-0.022500")
    assert rollup_totals() == record_totals()
    assert IngestBatch.objects.get(pk=result.batch_id).created == 3


def test_local_day_follows_the_admins_time_zone(admin, user):
    # 03:30 UTC on 1 March is still 28 February in New York.
    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, submitted_at="2026-03-01T03:30:00Z")])

    assert MessageRecord.objects.get().day == datetime.date(2026, 2, 28)
    assert UsageRollup.objects.get().day == datetime.date(2026, 2, 28)


def test_resent_records_are_duplicates_stored_once(admin, user):
    rows = [record_row(user, n) for n in range(5)]
    records_ingest(tenant=admin.tenant, rows=rows)

    again = records_ingest(tenant=admin.tenant, rows=rows + rows[:1])

    assert (again.created, again.duplicates, again.updated) == (0, 6, 0)
    assert MessageRecord.objects.count() == 5
    assert BalanceTransaction.objects.count() == 1
    assert UsageRollup.objects.get().messages == 5


def test_bad_records_are_reported_one_by_one_and_good_ones_stored(admin, user, other_admin):
    foreign = AccountFactory(tenant=other_admin.tenant)
    rows = [
        record_row(user, 1),
        record_row(user, 2, submitted_at="2026-03-10T12:00:00"),  # naive time
        record_row(user, 3, unit_price="0.0000001"),
        record_row(foreign, 4),
        record_row(user, 5, charge="0.9"),
        "not an object",
        record_row(user, 7, parts=0),
        record_row(user, 8),
        record_row(user, 9, unit_price="1e23"),
    ]

    result = records_ingest(tenant=admin.tenant, rows=rows)

    assert (result.created, result.rejected) == (2, 7)
    assert [(e.index, e.field) for e in result.errors] == [
        (1, "submitted_at"),
        (2, "unit_price"),
        (3, "user_id"),
        (4, "charge"),
        (5, None),
        (6, "parts"),
        (8, "unit_price"),
    ]
    assert result.errors[2].reason == "is not a user of this admin"
    assert result.errors[6].reason == "must be below 1000000"
    assert sorted(MessageRecord.objects.values_list("message_id", flat=True)) == ["m-1", "m-8"]
    assert not MessageRecord.objects.filter(account=foreign).exists()


def test_batch_over_the_limit_is_refused_whole(admin, user, settings):
    settings.INGEST_MAX_BATCH = 3
    with pytest.raises(BatchTooLarge):
        records_ingest(tenant=admin.tenant, rows=[record_row(user, n) for n in range(4)])
    assert MessageRecord.objects.count() == 0 and IngestBatch.objects.count() == 0


def test_resend_with_other_details_is_rejected_not_applied(admin, user):
    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1)])

    result = records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, unit_price="0.5", status="UNDELIV")])

    assert result.rejected == 1 and result.errors[0].field == "unit_price"
    assert MessageRecord.objects.get().status == "DELIVRD"


def test_status_change_of_unbilled_record_moves_it_between_buckets(admin, user):
    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, status="UNKNOWN"), record_row(user, 2)])

    result = records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, status="DELIVRD")])

    assert result.updated == 1
    assert list(UsageRollup.objects.values_list("delivered", "messages")) == [(True, 2)]
    assert MessageRecord.objects.get(message_id="m-1").rollup_id == UsageRollup.objects.get().id
    assert rollup_totals() == record_totals()
    assert BalanceTransaction.objects.count() == 1  # a status change costs nothing


def test_rollback_of_unbilled_record_refunds_and_leaves_usage(admin, user):
    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, parts=2), record_row(user, 2)])

    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, parts=2, rolled_back=True)])

    user.refresh_from_db()
    assert user.balance == Decimal("-0.007500")
    assert list(BalanceTransaction.objects.order_by("id").values_list("amount", flat=True)) == [
        Decimal("-0.022500"),
        Decimal("0.015000"),
    ]
    assert MessageRecord.objects.get(message_id="m-1").rollup_id is None
    assert rollup_totals() == record_totals()


def test_rollback_of_billed_record_adds_negative_correction_and_keeps_billed_bucket(admin, user):
    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, parts=2)])
    billed = UsageRollup.objects.get()
    UsageRollup.objects.filter(pk=billed.pk).update(billed_by=4242)  # as an invoice claims it

    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1, parts=2, rolled_back=True)])

    billed.refresh_from_db()
    assert (billed.messages, billed.charge_micros, billed.billed_by) == (1, 15000, 4242)
    correction = UsageRollup.objects.get(kind="correction")
    assert (correction.messages, correction.parts, correction.charge_micros, correction.billed_by) == (
        -1,
        -2,
        -15000,
        None,
    )
    assert RecordCorrection.objects.get().reason == "rolled back"
    assert MessageRecord.objects.get().rollup_id == billed.id
    assert rollup_totals() == record_totals()


def test_late_record_for_billed_day_opens_a_new_bucket(admin, user):
    records_ingest(tenant=admin.tenant, rows=[record_row(user, 1)])
    UsageRollup.objects.update(billed_by=1)

    records_ingest(tenant=admin.tenant, rows=[record_row(user, 2)])

    assert sorted(UsageRollup.objects.values_list("billed_by", "messages"), key=str) == [(1, 1), (None, 1)]


records_strategy = st.lists(
    st.tuples(
        st.integers(0, 11),  # message number: small, so ids repeat
        st.integers(0, 1),  # which account
        st.sampled_from(["DELIVRD", "UNDELIV", "UNKNOWN"]),
        st.booleans(),  # rolled back
        st.sampled_from(["2026-03-01T03:30:00Z", "2026-03-01T12:00:00Z", "2026-03-02T23:59:59Z"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(records_strategy, min_size=1, max_size=4), bill_after_first=st.booleans())
@pytest.mark.django_db
def test_rollups_always_equal_a_direct_aggregate_of_the_records(batches, bill_after_first):
    tenant = TenantFactory(timezone="America/New_York")
    accounts = [AccountFactory(tenant=tenant), AccountFactory(tenant=tenant, billing_method="postpaid")]
    for number, batch in enumerate(batches):
        rows = [
            # parts and price are fixed per message number: a re-send with other details would be refused.
            record_row(
                accounts[n % 2],
                n,
                status=status,
                rolled_back=rb,
                submitted_at=at,
                parts=1 + n % 3,
                unit_price=f"0.00{n % 4 + 1}5",
            )
            for n, _acct, status, rb, at in batch
        ]
        # The time is part of the immutable details too: keep the first seen per id.
        first_time = {}
        for row in rows:
            row["submitted_at"] = first_time.setdefault(row["message_id"], row["submitted_at"])
        records_ingest(tenant=tenant, rows=rows)
        if number == 0 and bill_after_first:
            UsageRollup.objects.filter(tenant=tenant).update(billed_by=7)
        assert rollup_totals() == record_totals()
        for account in accounts:
            account.refresh_from_db()
            charges = sum(
                (r.charge for r in MessageRecord.objects.filter(account=account, rolled_back=False)), Decimal(0)
            )
            assert account.balance == -charges
    MessageRecord.objects.all().delete()
    UsageRollup.objects.all().delete()
    BalanceTransaction.objects.all().delete()


class TestRecordsEndpoint:
    url = "/api/v1/records/"

    def _token(self, tenant, role=StaffRole.BILLING):
        _, secret = token_create(user=StaffFactory(tenant=tenant, role=role), name="platform")
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def test_token_push_stores_batch_and_reports_errors(self, client, admin, user):
        body = {"records": [record_row(user, 1), record_row(user, 2, country="USA")]}

        response = client.post(self.url, body, content_type="application/json", **self._token(admin.tenant))

        assert response.status_code == 200
        data = response.json()
        assert (data["created"], data["rejected"]) == (1, 1)
        assert data["errors"] == [
            {"index": 1, "field": "country", "reason": "is longer than 2 characters", "message_id": "m-2"}
        ]

    def test_a_bare_list_is_accepted(self, client, admin, user):
        response = client.post(
            self.url, [record_row(user, 1)], content_type="application/json", **self._token(admin.tenant)
        )
        assert response.status_code == 200 and response.json()["created"] == 1

    def test_batch_over_limit_is_413_problem(self, client, admin, user, settings):
        settings.INGEST_MAX_BATCH = 2
        response = client.post(
            self.url,
            [record_row(user, n) for n in range(3)],
            content_type="application/json",
            **self._token(admin.tenant),
        )
        assert response.status_code == 413
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "batch_too_large"
        assert MessageRecord.objects.count() == 0

    def test_anonymous_is_401_and_viewer_is_403(self, client, admin, user):
        anonymous = client.post(self.url, [record_row(user, 1)], content_type="application/json")
        viewer = client.post(
            self.url,
            [record_row(user, 1)],
            content_type="application/json",
            **self._token(admin.tenant, StaffRole.VIEWER),
        )
        assert (anonymous.status_code, viewer.status_code) == (401, 403)
        assert MessageRecord.objects.count() == 0

    def test_revoked_or_wrong_token_is_401(self, client, admin, user):
        response = client.post(
            self.url, [record_row(user, 1)], content_type="application/json", HTTP_AUTHORIZATION="Bearer mb_nope"
        )
        assert response.status_code == 401

    def test_another_admins_user_is_rejected_per_record(self, client, admin, other_admin):
        foreign = AccountFactory(tenant=other_admin.tenant)
        response = client.post(
            self.url, [record_row(foreign, 1)], content_type="application/json", **self._token(admin.tenant)
        )
        assert response.json()["errors"][0]["field"] == "user_id"
        assert MessageRecord.objects.count() == 0

    def test_malformed_json_is_400(self, client, admin):
        response = client.post(self.url, "{nope", content_type="application/json", **self._token(admin.tenant))
        assert response.status_code == 400


def test_import_command_reads_csv_and_jsonl_with_same_idempotency(admin, user, tmp_path, capsys):
    csv_path = tmp_path / "records.csv"
    header = "message_id,user_id,submitted_at,destination,country,network,channel,parts,status,unit_price,rolled_back"
    csv_path.write_text(
        header + "\n"
        f"c-1,{user.id},2026-03-10T10:00:00+00:00,+4470000,GB,O2 UK,sms,2,DELIVRD,0.031,false\n"
        f"c-2,{user.id},2026-03-10T11:00:00+00:00,+4470001,GB,O2 UK,sms,1,UNDELIV,0.031,true\n"
        f"c-3,{user.id},bad-date,+4470001,GB,O2 UK,sms,1,UNDELIV,0.031,false\n"
    )
    jsonl_path = tmp_path / "records.jsonl"
    jsonl_path.write_text(
        '{"message_id": "c-1", "user_id": USER, "submitted_at": "2026-03-10T10:00:00Z", "destination": "+4470000",'
        ' "country": "GB", "network": "O2 UK", "parts": 2, "status": "DELIVRD", "unit_price": "0.031"}\n'.replace(
            "USER", str(user.id)
        )
    )

    with pytest.raises(CommandError) as refused:  # a refused line makes the command fail, after the good ones
        call_command("import_records", str(csv_path), admin=admin.tenant.signup_slug)
    call_command("import_records", str(jsonl_path), admin=admin.tenant.signup_slug)

    out = capsys.readouterr()
    assert refused.value.returncode == 1
    assert "received=3 created=2 duplicates=0 updated=0 rejected=1" in out.out
    assert "received=1 created=0 duplicates=1 updated=0 rejected=0" in out.out
    assert "line 4: submitted_at is not an ISO 8601 date-time (message_id c-3)" in out.err
    assert MessageRecord.objects.count() == 2
    user.refresh_from_db()
    assert user.balance == Decimal("-0.062000")
