"""REST plumbing shared by every API module: RFC 9457 problem+json errors."""

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousMultipartForm,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import DomainError
from .parsers import PayloadTooLarge

PROBLEM_TYPE_BASE = "https://docs.invalid/problems/"


class BadRequest(exceptions.APIException):
    status_code = 400
    default_code = "bad_request"


def problem_response(*, status_code: int, code: str, title: str, detail: str = "", errors=None, headers=None):
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status_code,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers)
    response.content_type = "application/problem+json"
    return response


def _flatten(detail, prefix=""):
    """DRF's nested error dicts -> a flat list of {field, message, code}."""
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, "" if key == "non_field_errors" else name))
    elif isinstance(detail, list):
        for item in detail:
            out.extend(_flatten(item, prefix))
    else:
        out.append({"field": prefix or None, "message": str(detail), "code": getattr(detail, "code", "invalid")})
    return out


def _request_error(exc) -> exceptions.APIException | None:
    """Django's refusals of a request, which DRF leaves to Django's HTML error pages, as API errors."""
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge("The request body is too large.")
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent | SuspiciousMultipartForm):
        return exceptions.ParseError(f"The request body cannot be read: {exc}")
    if isinstance(exc, UnreadablePostError):  # the client went away while sending it
        return exceptions.ParseError("The request body could not be read completely.")
    if isinstance(exc, SuspiciousOperation):
        # Logged where Django's own handler would have logged it, then answered like Django: 400.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        return BadRequest("The request was refused.")
    return None


def problem_exception_handler(exc, context):
    exc = _request_error(exc) or exc
    if isinstance(exc, DomainError):
        errors = [{"field": exc.field, "message": exc.message, "code": exc.code}] if exc.field else None
        return problem_response(
            status_code=exc.status, code=exc.code, title=exc.message, detail=exc.message, errors=errors
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="validation_failed",
            title="The request has invalid fields.",
            errors=_flatten(exc.detail),
        )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else ""
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    headers = {k: v for k, v in response.headers.items() if k in ("Retry-After", "WWW-Authenticate")}
    return problem_response(
        status_code=response.status_code, code=str(code), title=str(detail), detail=str(detail), headers=headers
    )
