"""The API's body parsers: every request body is bounded in bytes and read by a parser that answers a problem
(413 payload_too_large, 400 parse_error), never a 500 or Django's HTML error page.

The limit is a setting named by the view (`body_limit_setting`, default API_MAX_BODY_BYTES); the records endpoint
names its own, larger one. A declared Content-Length over the limit is refused before a byte is read; a body that
turns out longer than it declared (an ASGI server hands the whole body over whatever the header said) is refused as
soon as the limit is passed while reading. Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) applies to `request.body`
and forms only: DRF's parsers read the stream around it, so these are the API's limit.
"""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

DEFAULT_LIMIT_SETTING = "API_MAX_BODY_BYTES"
# Deepest JSON body taken: the API's bodies are two or three levels deep; a limit keeps a nested body from reaching
# Python's recursion limit anywhere later (validation, error messages, the idempotency fingerprint).
MAX_JSON_DEPTH = 32


class PayloadTooLarge(APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def body_limit(parser_context) -> int:
    """The byte limit of the body of the request in `parser_context`, from the setting its view names."""
    view = (parser_context or {}).get("view")
    return getattr(settings, getattr(view, "body_limit_setting", DEFAULT_LIMIT_SETTING))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes, the limit of this endpoint.")


def body_check_declared(parser_context, limit: int) -> None:
    """Refuse, before reading, a body whose Content-Length is over `limit`."""
    request = (parser_context or {}).get("request")
    meta = getattr(request, "META", {})
    try:
        declared = int(meta.get("CONTENT_LENGTH") or meta.get("HTTP_CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _too_large(limit)


def body_read(stream, parser_context) -> bytes:
    """The whole body, at most the view's limit: refused by its Content-Length first, then while reading."""
    limit = body_limit(parser_context)
    body_check_declared(parser_context, limit)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


class BoundedStream(io.RawIOBase):
    """A stream that refuses to give more than `limit` bytes (for parsers that read the stream themselves)."""

    def __init__(self, stream, limit: int):
        self.stream = stream
        self.limit = limit
        self.taken = 0

    def readable(self) -> bool:
        return True

    def read(self, size=-1) -> bytes:
        # Never ask the source for more than one byte past the limit, whatever `size` says.
        allowed = self.limit + 1 - self.taken
        data = self.stream.read(allowed if size is None or size < 0 else min(size, allowed))
        self.taken += len(data)
        if self.taken > self.limit:
            raise _too_large(self.limit)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def json_depth_check(data, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a parsed JSON value nested deeper than `limit` arrays and objects (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    raise ParseError(f"JSON parse error - nested deeper than {limit} levels.")
                stack.append((child, depth + 1))


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (standard library, strict: no NaN or Infinity) on a bounded body, with a depth limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = body_read(stream, parser_context)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:  # the C decoder gives up on deep nesting this way, not with a ValueError
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(data, dict | list):
            json_depth_check(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(io.BytesIO(body_read(stream, parser_context)), media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    """Django's multipart parser streams files to disk whatever their size: bound the stream it reads."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = body_limit(parser_context)
        body_check_declared(parser_context, limit)
        return super().parse(BoundedStream(stream, limit), media_type, parser_context)
