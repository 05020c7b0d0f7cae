"""One range of days for every date a person types, on pages and in the API (msgplatform.core.clock): years 1 or
9999 can neither overflow the date arithmetic (a 500) nor reach a query."""

import datetime

import pytest
from django.test import Client

from msgplatform.core.clock import FIRST_DAY, LAST_DAY, day_clamp, day_supported
from tests.factories import PortalLoginFactory


def portal(account) -> Client:
    client = Client()
    client.force_login(PortalLoginFactory(account=account))
    return client


def test_supported_days_run_from_1970_to_2999():
    assert (FIRST_DAY, LAST_DAY) == (datetime.date(1970, 1, 1), datetime.date(2999, 12, 31))
    assert day_supported(FIRST_DAY) and day_supported(LAST_DAY)
    assert not day_supported(datetime.date(1969, 12, 31)) and not day_supported(datetime.date(3000, 1, 1))
    assert day_clamp(datetime.date(1, 1, 1)) == FIRST_DAY
    assert day_clamp(datetime.date(9999, 12, 31)) == LAST_DAY


@pytest.mark.parametrize(
    ("month", "shown", "previous", "following"),
    [
        ("0001-01", "January 1970", None, "?month=1970-02"),
        ("1969-12", "January 1970", None, "?month=1970-02"),
        ("9999-12", "December 2999", "?month=2999-11", None),
        ("3000-01", "December 2999", "?month=2999-11", None),
    ],
)
def test_portal_usage_of_a_month_outside_the_supported_days_shows_the_nearest_month(
    admin, user, month, shown, previous, following
):
    response = portal(user).get(f"/me/usage/?month={month}")

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Usage in {shown}" in page
    assert (previous in page) if previous else ("&larr;" not in page)
    if following:
        assert following in page


def test_portal_usage_of_an_unreadable_month_shows_this_month(admin, user):
    response = portal(user).get("/me/usage/?month=2026-13")

    assert response.status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1969-12-31", "3000-01-01"])
def test_page_filters_refuse_days_outside_the_range_at_the_field(admin, day):
    for url in ["/invoicing/events/", "/invoicing/payments/", "/invoicing/invoices/"]:
        response = admin.client.get(url, {"date_from": day, "date_to": day})

        assert response.status_code == 200, url
        assert "Give a date between 1970-01-01 and 2999-12-31." in response.content.decode(), url


def test_api_refuses_days_outside_the_range(admin):
    from tests.api.conftest import token_client

    response = token_client(admin.tenant).get("/api/v1/invoices/", {"date_to": "9999-12-31"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Give a date between 1970-01-01 and 2999-12-31."
