"""Helpers shared by the invoicing pages: role by HTTP method, domain errors to forms and 404s, downloads, CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from functools import wraps

from django.http import Http404, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse

from msgplatform.accounts.permissions import Perm, staff_required
from msgplatform.core.errors import DomainError, NotFound
from msgplatform.core.http import content_disposition

from ..documents.cells import cell_text


def staff_page(get: Perm, post: Perm | None = None):
    """A staff page: GET needs `get`, POST needs `post` (POST refused when None). Both through staff_required."""

    def decorator(view):
        on_get = staff_required(get)(view)
        on_post = staff_required(post)(view) if post else None

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in ("GET", "HEAD"):
                return on_get(request, *args, **kwargs)
            if request.method == "POST" and on_post is not None:
                return on_post(request, *args, **kwargs)
            return HttpResponseNotAllowed(["GET", "POST"] if on_post else ["GET"])

        wrapper.required_perm = {"GET": get, "POST": post}
        return wrapper

    return decorator


def staff_action(perm: Perm):
    """A POST-only staff action (approve, stop, revoke...)."""

    def decorator(view):
        guarded = staff_required(perm)(view)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return guarded(request, *args, **kwargs)

        wrapper.required_perm = perm
        return wrapper

    return decorator


def found(fn: Callable, **kwargs):
    """Call a tenant-scoped read; its NotFound (another tenant's id, a missing one) becomes a 404."""
    try:
        return fn(**kwargs)
    except NotFound as error:
        raise Http404(error.message)


def form_error(form, error: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Put a service's refusal at the form field it concerns (or at the top of the form)."""
    field = (field_map or {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, error.message)


def attachment(name: str, content: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition(name)
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Echo:
    def write(self, value):
        return value


def csv_download(name: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A streamed CSV attachment (a table export); cells are neutralised against formula injection."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([cell_text(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(name)
    return response


def is_htmx(request) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"
