"""A hostile or broken record costs that record only: on the records endpoint it is one per-record error (index,
field, reason) and the batch's other records are stored; in `manage.py import_records` it is one reported line and
the other lines are imported, with exit code 1. Never a 500, never a traceback. Runs on SQLite and PostgreSQL (which
refuses NUL in text, and ids beyond 64 bits)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from msgplatform.messaging.models import IngestBatch, MessageRecord
from tests.api.conftest import token_client
from tests.factories import record_row

DAY_RANGE = "must fall between 1970-01-01 and 2999-12-31 in the admin's time zone"


def stored() -> list[str]:
    return sorted(MessageRecord.objects.values_list("message_id", flat=True))


@pytest.fixture
def api(admin):
    client = token_client(admin.tenant)
    client.raise_request_exception = False
    return client


def ingest(api, rows) -> dict:
    response = api.post("/api/v1/records/", rows, format="json")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def errors_of(body) -> list[tuple]:
    return [(e["index"], e["field"], e["reason"]) for e in body["errors"]]


# --- the endpoint --------------------------------------------------------------------------------------------------


def test_dates_outside_the_apis_range_are_refused_per_record(api, admin, user):
    # The admin is in New York: 1970-01-01T03:00Z is still 31 December 1969 there, 3000-01-01T03:00Z still 2999.
    rows = [
        record_row(user, 0),
        record_row(user, 1, submitted_at="0001-01-01T00:00:00Z"),
        record_row(user, 2, submitted_at="0001-01-01T00:00:00+05:00"),
        record_row(user, 3, submitted_at="9999-12-31T23:59:59Z"),
        record_row(user, 4, submitted_at="9999-12-31T23:59:59-05:00"),
        record_row(user, 5, submitted_at="3000-01-01T12:00:00Z"),
        record_row(user, 6, submitted_at="1970-01-01T03:00:00Z"),
        record_row(user, 7, submitted_at="1970-01-01T06:00:00Z"),
        record_row(user, 8, submitted_at="3000-01-01T03:00:00Z"),
        record_row(user, 9),
    ]

    body = ingest(api, rows)

    assert errors_of(body) == [(n, "submitted_at", DAY_RANGE) for n in (1, 2, 3, 4, 5, 6)]
    assert [e["message_id"] for e in body["errors"]] == [f"m-{n}" for n in (1, 2, 3, 4, 5, 6)]
    assert (body["created"], body["rejected"]) == (4, 6)
    assert stored() == ["m-0", "m-7", "m-8", "m-9"]
    assert str(MessageRecord.objects.get(message_id="m-8").day) == "2999-12-31"


@pytest.mark.parametrize("field", ["message_id", "destination", "sender_id", "network", "mcc", "mnc"])
@pytest.mark.parametrize(("char", "code"), [("\x00", "0000"), ("\x1b", "001B"), ("\x7f", "007F"), ("\x85", "0085")])
def test_control_characters_in_a_text_field_are_refused_per_record(api, admin, user, field, char, code):
    bad = record_row(user, 1)
    bad[field] = ("m-" if field == "message_id" else "12") + char

    body = ingest(api, [record_row(user, 0), bad, record_row(user, 2)])

    assert errors_of(body) == [(1, field, f"must not contain control characters (U+{code} at position 2)")]
    assert stored() == ["m-0", "m-2"]


def test_tabs_line_breaks_and_other_scripts_are_text(api, admin, user):
    body = ingest(
        api,
        [record_row(user, 1, network="Orange\tFR", sender_id="Line\r\nbreak"), record_row(user, 2, network="Ünï 中文")],
    )

    assert (body["created"], body["errors"]) == (2, [])
    assert MessageRecord.objects.get(message_id="m-1").network == "Orange\tFR"


def test_arrays_objects_and_huge_ids_are_refused_per_record(api, admin, user):
    rows = [
        record_row(user, 0),
        record_row(user, 1, message_id=["m-1"]),
        record_row(user, 2, destination={"n": 1}),
        record_row(user, 3, unit_price=["0.1"]),
        record_row(user, 4, user_id=2**63),
        record_row(user, 5, user_id=1e300),
        record_row(user, 6, user_id=-(2**63) - 1),
        record_row(user, 7),
    ]

    body = ingest(api, rows)

    assert errors_of(body) == [
        (1, "message_id", "must be text"),
        (2, "destination", "must be text"),
        (3, "unit_price", "must be a decimal number"),
        (4, "user_id", "is not a user of this admin"),
        (5, "user_id", "is not a user of this admin"),
        (6, "user_id", "is not a user of this admin"),
    ]
    assert body["errors"][0]["message_id"] is None
    assert stored() == ["m-0", "m-7"]


def test_a_deeply_nested_field_of_a_record_is_refused_for_that_record_only(api, admin, user):
    bad = json.dumps(record_row(user, 2)).replace('"m-2"', "[" * 1000 + "]" * 1000).encode()
    body = b"[" + json.dumps(record_row(user, 1)).encode() + b"," + bad + b"]"

    response = api.post("/api/v1/records/", body, content_type="application/json")

    assert response.status_code == 200
    assert (response.json()["created"], response.json()["errors"]) == (
        1,
        [{"index": 1, "field": "message_id", "reason": "must be text", "message_id": None}],
    )


def test_a_lone_surrogate_is_a_parse_error_of_the_body(api, admin, user):
    body = json.dumps([record_row(user, 1, network="\ud800")])  # escaped as \ud800: JSON that is not Unicode

    response = api.post("/api/v1/records/", body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")
    assert IngestBatch.objects.count() == 0


def test_the_session_page_client_gets_the_same_per_record_errors(admin, user):
    client = Client()
    client.force_login(admin.login)

    response = client.post(
        "/api/v1/records/",
        [record_row(user, 1, message_id="m\x00"), record_row(user, 2)],
        content_type="application/json",
    )

    assert response.status_code == 200
    assert errors_of(response.json()) == [
        (0, "message_id", "must not contain control characters (U+0000 at position 1)")
    ]
    assert stored() == ["m-2"]


# --- the import command --------------------------------------------------------------------------------------------

HEADER = b"message_id,user_id,submitted_at,destination,country,network,channel,parts,status,unit_price\n"


def csv_line(user, message_id: bytes, *, submitted_at=b"2026-03-10T10:00:00Z", network=b"O2 UK") -> bytes:
    return b"%s,%d,%s,+4470000,GB,%s,sms,1,DELIVRD,0.031\n" % (message_id, user.id, submitted_at, network)


def run_import(admin, path, capsys):
    """The command's outcome: (exit code, summary line, reported lines)."""
    code = 0
    try:
        call_command("import_records", str(path), admin=admin.tenant.signup_slug)
    except CommandError as error:
        code = error.returncode
        assert str(error).endswith("records refused (see the lines above); the others were imported.")
    out = capsys.readouterr()
    reported = [line for line in out.err.splitlines() if line.startswith("line ")]
    return code, out.out.strip(), reported


def test_import_reports_each_unreadable_or_refused_csv_line_and_imports_the_others(admin, user, tmp_path, capsys):
    path = tmp_path / "records.csv"
    path.write_bytes(
        b"\xef\xbb\xbf"  # a byte order mark, as spreadsheets write
        + HEADER
        + csv_line(user, b"c-2")
        + csv_line(user, b"c-3", network=b"Caf\xe9")  # Latin-1, not UTF-8
        + csv_line(user, b"c-4\x00")
        + csv_line(user, b"c-5", network=b"x" * 200_000)  # over the csv module's field size limit
        + csv_line(user, b"c-6", submitted_at=b"0001-01-01T00:00:00Z")
        + csv_line(user, b"c-7", submitted_at=b"9999-12-31T00:00:00Z")
        + b"\n"
        + csv_line(user, b"c-9")
        + b'"c-10,unterminated\n'
    )

    code, summary, reported = run_import(admin, path, capsys)

    assert code == 1
    assert reported == [
        "line 3: is not UTF-8 text",
        "line 5: cannot be read as CSV: field larger than field limit (131072)",
        "line 4: message_id must not contain control characters (U+0000 at position 3) (message_id c-4\\x00)",
        f"line 6: submitted_at {DAY_RANGE} (message_id c-6)",
        f"line 7: submitted_at {DAY_RANGE} (message_id c-7)",
        # an unterminated quote runs to the end of the file: one field, the rest of the record missing
        "line 10: user_id is required and must be an integer (message_id c-10,unterminated\\x0a)",
    ]
    assert summary == "received=8 created=2 duplicates=0 updated=0 rejected=6"
    assert stored() == ["c-2", "c-9"]


def test_import_reports_each_unreadable_or_refused_jsonl_line_and_imports_the_others(admin, user, tmp_path, capsys):
    def line(n, **overrides) -> bytes:
        return json.dumps(record_row(user, n, **overrides)).encode() + b"\n"

    path = tmp_path / "records.jsonl"
    path.write_bytes(
        line(1)
        + b'{"message_id": "j-2", \n'
        + line(3, network="Caf\u00e9").replace(b"Caf\\u00e9", b"Caf\xe9")
        + line(4, destination="+1\x00")
        + line(5).replace(b'"T-Mobile US"', b'"T-Mobile\x00US"')  # a raw NUL byte: not JSON
        + line(6, submitted_at="0001-01-01T00:00:00Z")
        + b"\n"
        + b"[1, 2]\n"
        + line(9)
    )

    code, summary, reported = run_import(admin, path, capsys)

    assert code == 1
    assert reported[0].startswith("line 2: is not valid JSON: ")
    assert reported[1] == "line 3: is not UTF-8 text"
    assert reported[2].startswith("line 5: is not valid JSON: ")
    assert reported[3:] == [
        "line 4: destination must not contain control characters (U+0000 at position 2) (message_id m-4)",
        f"line 6: submitted_at {DAY_RANGE} (message_id m-6)",
        "line 8: record a record must be a JSON object",
    ]
    assert summary == "received=8 created=2 duplicates=0 updated=0 rejected=6"
    assert stored() == ["m-1", "m-9"]


def test_import_of_a_clean_file_succeeds(admin, user, tmp_path, capsys):
    path = tmp_path / "records.csv"
    path.write_bytes(HEADER + csv_line(user, b"c-1") + csv_line(user, b"c-2"))

    code, summary, reported = run_import(admin, path, capsys)

    assert (code, summary, reported) == (0, "received=2 created=2 duplicates=0 updated=0 rejected=0", [])
    assert stored() == ["c-1", "c-2"]


def test_import_refuses_a_header_that_is_not_utf8(admin, user, tmp_path, capsys):
    path = tmp_path / "records.csv"
    path.write_bytes(HEADER.replace(b"network", b"n\xe9twork") + csv_line(user, b"c-1"))

    with pytest.raises(CommandError, match=r"line 1 \(the header\) is not UTF-8 text"):
        call_command("import_records", str(path), admin=admin.tenant.signup_slug)
    assert stored() == []


def test_import_reports_across_batches_with_file_line_numbers(admin, user, tmp_path, capsys):
    path = tmp_path / "records.csv"
    path.write_bytes(
        HEADER + b"".join(csv_line(user, b"c-%d" % n) for n in range(2, 7)) + csv_line(user, b"c-7", network=b"\x1b[2J")
    )

    with pytest.raises(CommandError):
        call_command("import_records", str(path), admin=admin.tenant.signup_slug, batch_size=2)

    reported = [line for line in capsys.readouterr().err.splitlines() if line.startswith("line ")]
    assert reported == ["line 7: network must not contain control characters (U+001B at position 0) (message_id c-7)"]
    assert stored() == ["c-2", "c-3", "c-4", "c-5", "c-6"]
