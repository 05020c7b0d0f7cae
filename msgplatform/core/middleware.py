"""Request and response rules every answer shares, kept out of the views: NUL bytes refused, never cached."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.utils.cache import add_never_cache_headers
from rest_framework.views import APIView

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


class NulBytesRefusedMiddleware:
    """A NUL byte in a page's query or posted form is a 400, before any view reads it.

    No input of this product may hold one, and PostgreSQL refuses it in any text (a 500 where a view hands a raw
    search or filter to a query). Forms refuse it at their fields already; this is for what views read directly.
    The API is left to its serializers, which refuse it with a problem+json naming the field.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        if _has_nul(request.GET) or (
            request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request.POST)
        ):
            raise BadRequest("A NUL character is not accepted in any input.")
        return None


class NoStoreMiddleware:
    """`Cache-Control: no-store` (Django's never-cache headers) on every answer of the application: logged-in pages,
    API answers, documents (PDF, CSV, Excel), and anonymous pages too (the login form carries a CSRF token). Only
    static files, served by WhiteNoise before this middleware, are cached. One rule, so no page can forget it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
