"""The validation rule of ingestion: a row of a batch (a JSON object or a CSV row) becomes a `Parsed` record or an
error naming the first bad field.

The fields are checked in a fixed order. Values that repeat across a batch (user ids, spellings of country,
channel, encoding and status, parts, prices, local days) are converted once per batch: a conversion depends on the
value alone, so its result is remembered by the value (`_Memo`).

Whatever a row holds, it is stored or refused on its own, never a failure of its batch: text fields refuse arrays,
objects and control characters (PostgreSQL cannot store NUL), `submitted_at` must fall on a supported local day
(1970-01-01 to 2999-12-31, the API's range of dates, far from where date arithmetic overflows), user ids must fit
the id column.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from msgplatform.accounts.models import Account
from msgplatform.core.clock import FIRST_DAY, LAST_DAY

from ...models import CHANNEL_CHOICES, ENCODING_CHOICES, STATUS_CHOICES
from ...money import micros_from_amount

CHANNELS = frozenset(c for c, _ in CHANNEL_CHOICES)
ENCODINGS = frozenset(e for e, _ in ENCODING_CHOICES)
STATUSES = frozenset(s for s, _ in STATUS_CHOICES)
MAX_PARTS = 255
MAX_AMOUNT = Decimal("1000000")  # a unit price or charge this large is a mistake, and overflows the columns
_SIX_PLACES = Decimal("0.000001")
_UTC = datetime.UTC
# The local days a record may fall on: the range of every date of the API (invoicing's DayField).
_DAY_RANGE = f"must fall between {FIRST_DAY} and {LAST_DAY} in the admin's time zone"
# Refused in text: C0 controls but tab, line feed and carriage return; DEL; C1 controls; lone surrogates (which no
# database encoding takes). NUL breaks PostgreSQL, the others break terminals, CSV files and spreadsheets.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class RecordError:
    index: int
    field: str | None
    reason: str
    message_id: str | None = None


@dataclass(slots=True)
class Parsed:
    message_id: str
    account_id: int
    submitted_at: datetime.datetime
    day: datetime.date
    destination: str
    sender_id: str
    country: str
    mcc: str
    mnc: str
    network: str
    channel: str
    encoding: str
    parts: int
    status: str
    unit_price: Decimal
    charge: Decimal
    unit_price_micros: int
    charge_micros: int
    rolled_back: bool
    billing_method: str
    day_iso: str = ""
    key: tuple | None = None  # its usage bucket key, set when a new record is counted


class _Bad(Exception):
    def __init__(self, field: str | None, reason: str):
        self.field = field
        self.reason = reason


def records_parse(
    rows: list, *, accounts: dict[int, Account], tz: datetime.tzinfo, errors: list[RecordError]
) -> list[tuple[int, Parsed]]:
    """The valid rows as (index, Parsed); the error of every other row is appended to `errors`.

    `accounts` are the tenant's accounts named by the batch, by id; local days are taken in `tz`.
    """
    parse = _parser(accounts, tz)
    parsed: list[tuple[int, Parsed]] = []
    for index, row in enumerate(rows):
        try:
            parsed.append((index, parse(row)))
        except _Bad as bad:
            errors.append(RecordError(index, bad.field, bad.reason, _named_id(row)))
    return parsed


def _named_id(row) -> str | None:
    """The message_id an error names: the row's, when it is text or a number (never the text of an array)."""
    message_id = row.get("message_id") if isinstance(row, dict) else None
    if isinstance(message_id, bool) or not isinstance(message_id, str | int | float) or message_id == "":
        return None
    return str(message_id)


def _text(value, name: str, max_len: int, required: bool = True, default: str = "") -> str:
    if type(value) is str and 0 < len(value) <= max_len and (value.isprintable() or not _CONTROL.search(value)):
        return value  # the usual case, first
    if value is None or value == "":
        if required:
            raise _Bad(name, "is required")
        return default
    if isinstance(value, list | dict):
        raise _Bad(name, "must be text")
    if not isinstance(value, str):
        value = str(value)
    if len(value) > max_len:
        raise _Bad(name, f"is longer than {max_len} characters")
    control = _CONTROL.search(value)
    if control:
        raise _Bad(
            name, f"must not contain control characters (U+{ord(control.group()):04X} at position {control.start()})"
        )
    return value


def _choice(value, *, name: str, max_len: int, choices: frozenset[str], case, required: bool = True, default=""):
    """A text that must be one of `choices` once put in their case (`str.lower` or `str.upper`)."""
    text = case(_text(value, name, max_len, required, default))
    if text not in choices:
        raise _Bad(name, f"must be one of {', '.join(sorted(choices))}")
    return text


_channel = functools.partial(
    _choice, name="channel", max_len=20, choices=CHANNELS, case=str.lower, required=False, default="sms"
)
_encoding = functools.partial(
    _choice, name="encoding", max_len=10, choices=ENCODINGS, case=str.lower, required=False, default="gsm7"
)
_status = functools.partial(_choice, name="status", max_len=10, choices=STATUSES, case=str.upper)


def _country(value) -> str:
    country = _text(value, "country", 2).upper()
    if len(country) != 2 or not country.isalpha():
        raise _Bad("country", "must be an ISO 3166 alpha-2 code")
    return country


def _parts(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Bad("parts", "must be an integer from 1 to 255")
    try:
        parts = int(value)
    except ValueError:
        raise _Bad("parts", "must be an integer from 1 to 255")
    if not 1 <= parts <= MAX_PARTS:
        raise _Bad("parts", "must be an integer from 1 to 255")
    return parts


def _decimal(value, name: str, required: bool = True) -> Decimal | None:
    """A non-negative amount below MAX_AMOUNT with at most 6 decimal places, quantised to 6 (None when absent)."""
    if value is None or value == "":
        if required:
            raise _Bad(name, "is required")
        return None
    if isinstance(value, bool | list | dict):
        raise _Bad(name, "must be a decimal number")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError):
        raise _Bad(name, "must be a decimal number")
    if not number.is_finite() or number < 0:
        raise _Bad(name, "must be a non-negative decimal number")
    if number >= MAX_AMOUNT:
        raise _Bad(name, f"must be below {MAX_AMOUNT}")
    if number.as_tuple().exponent < -6 and number != number.quantize(_SIX_PLACES):
        raise _Bad(name, "has more than 6 decimal places")
    return number.quantize(_SIX_PLACES)


def _unit_price(value) -> tuple[Decimal, int]:
    unit_price = _decimal(value, "unit_price")
    return unit_price, micros_from_amount(unit_price)


_charge = functools.partial(_decimal, name="charge", required=False)


def _bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", 0, "0", "false", "False", "FALSE", "no"):
        return False
    if value in (1, "1", "true", "True", "TRUE", "yes"):
        return True
    raise _Bad(name, "must be true or false")


class _Memo(dict):
    """`convert(value)` by value, each value converted once; a conversion that fails is not kept (it fails again).

    Look up only values whose type is in `_KEYED`: a dict takes 1, 1.0 and True for the same key, and a conversion
    does not (parts of 1 is valid, of True is not). Values of these types equal no value of another type.
    """

    def __init__(self, convert: Callable):
        super().__init__()
        self.convert = convert

    def __missing__(self, value):
        result = self[value] = self.convert(value)
        return result


_KEYED = frozenset({str, int, type(None)})


def _day_iso(day: datetime.date) -> str:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _Bad("submitted_at", _DAY_RANGE)
    return day.isoformat()


def _parser(accounts: dict[int, Account], tz: datetime.tzinfo) -> Callable[[object], Parsed]:
    """The rule for the rows of one batch: `parse(row)` is the row's `Parsed`, or raises `_Bad` for its first bad
    field (in the order below)."""

    def user(value) -> tuple[int, str]:
        try:
            account_id = int(value)
        except (TypeError, ValueError, OverflowError):
            raise _Bad("user_id", "is required and must be an integer")
        account = accounts.get(account_id)
        if account is None:
            raise _Bad("user_id", "is not a user of this admin")
        return account_id, account.billing_method

    users = _Memo(user)
    countries = _Memo(_country)
    channels = _Memo(_channel)
    encodings = _Memo(_encoding)
    parts_of = _Memo(_parts)
    statuses = _Memo(_status)
    unit_prices = _Memo(_unit_price)
    charges = _Memo(_charge)
    days = _Memo(_day_iso)  # local date -> its ISO text, once its range is checked
    fromisoformat = datetime.datetime.fromisoformat
    keyed = _KEYED

    def parse(row) -> Parsed:
        if not isinstance(row, dict):
            raise _Bad(None, "a record must be a JSON object")
        get = row.get
        message_id = _text(get("message_id"), "message_id", 64)
        value = get("user_id")
        account_id, billing_method = users[value] if type(value) in keyed else user(value)
        value = get("submitted_at")
        if not isinstance(value, str) or not value:
            raise _Bad("submitted_at", "is required (ISO 8601 with a time zone)")
        try:
            submitted_at = fromisoformat(value)
        except ValueError:
            raise _Bad("submitted_at", "is not an ISO 8601 date-time")
        if submitted_at.tzinfo is None:
            raise _Bad("submitted_at", "needs a time zone offset (for example Z)")
        if not 1969 <= submitted_at.year <= 3000:  # before any conversion: years 1 and 9999 overflow in one
            raise _Bad("submitted_at", _DAY_RANGE)
        submitted_at = submitted_at.astimezone(_UTC)
        day = submitted_at.astimezone(tz).date()
        day_iso = days[day]  # refuses a day out of range
        destination = _text(get("destination"), "destination", 20)
        value = get("country")
        country = countries[value] if type(value) in keyed else _country(value)
        value = get("channel")
        channel = channels[value] if type(value) in keyed else _channel(value)
        value = get("encoding")
        encoding = encodings[value] if type(value) in keyed else _encoding(value)
        value = get("parts", 1)
        parts = parts_of[value] if type(value) in keyed else _parts(value)
        value = get("status")
        status = statuses[value] if type(value) in keyed else _status(value)
        value = get("unit_price")
        if type(value) is float:
            value = repr(value)  # `_decimal` reads a float through this text: the same number, and a key
        unit_price, unit_price_micros = unit_prices[value] if type(value) in keyed else _unit_price(value)
        charge = unit_price * parts
        value = get("charge")
        if type(value) is float:
            value = repr(value)
        given_charge = charges[value] if type(value) in keyed else _charge(value)
        if given_charge is not None and given_charge != charge:
            raise _Bad("charge", f"must equal unit_price x parts ({charge})")
        # Positional, in the order of Parsed's fields: by keyword the call costs more than the rest of a check.
        return Parsed(
            message_id,
            account_id,
            submitted_at,
            day,
            destination,
            _text(get("sender_id"), "sender_id", 32, required=False),
            country,
            _text(get("mcc"), "mcc", 3, required=False),
            _text(get("mnc"), "mnc", 3, required=False),
            _text(get("network"), "network", 100, required=False),
            channel,
            encoding,
            parts,
            status,
            unit_price,
            charge,
            unit_price_micros,
            unit_price_micros * parts,
            _bool(get("rolled_back", False), "rolled_back"),
            billing_method,
            day_iso,
        )

    return parse
