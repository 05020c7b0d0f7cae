"""What no API view handled still answers problem+json under /api/; pages keep their HTML error pages."""

import json

import pytest
from django.test import Client

from msgplatform.core.views import server_error


@pytest.mark.django_db
def test_an_unknown_api_url_is_a_problem_json_404():
    response = Client().get("/api/v1/nope/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_an_unknown_page_is_the_html_404():
    response = Client().get("/nope/")

    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_an_unexpected_api_error_is_a_problem_json_500(rf):
    response = server_error(rf.get("/api/v1/invoices/"))

    assert response.status_code == 500 and response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["code"] == "server_error"
