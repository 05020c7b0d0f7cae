"""Property-based test of the whole API against its own OpenAPI schema (schemathesis), in process over WSGI.

Every operation gets a fixed budget of generated requests (derandomised: the same requests on every run) sent with
the token of a licensed admin that has one of everything; half of them point their path ids at that admin's real
objects. Every answer must be no server error and match the schema: status and content type documented, body as
described.
"""

import pytest
import schemathesis
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from msgplatform.accounts.services.tokens import token_create
from tests.factories import StaffFactory

from .conftest import seed_tenant

EXAMPLES_PER_OPERATION = 6
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
UNTHROTTLED = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": None, "records": None}}


def load_schema():
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = application
    return schema


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests go through the real WSGI handler in this thread, inside the test's transaction: like Django's test
    client, keep the handler from closing the connection at each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()
    try:
        with override_settings(REST_FRAMEWORK=UNTHROTTLED):
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_answers_as_its_schema_says_and_never_fails(admin, wsgi_in_test_transaction):
    seeded = seed_tenant(admin.tenant, marker="demo")
    auth = {"Authorization": _bearer(admin.tenant)}
    failures = []
    operations = 0
    for result in load_schema().get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(), use_seeded_ids=st.booleans())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case, use_seeded_ids):
            if use_seeded_ids:
                for name in case.path_parameters or {}:
                    if name in seeded.ids:
                        case.path_parameters[name] = seeded.ids[name]
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failures
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 70
    assert failures == [], "\n\n".join(failures)


def _bearer(tenant) -> str:
    """An owner's token of its own, so that revoking the seeded token does not log the run out."""
    _, secret = token_create(user=StaffFactory(tenant=tenant), name="schemathesis")
    return f"Bearer {secret}"
