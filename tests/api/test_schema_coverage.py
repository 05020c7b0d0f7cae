"""The schemathesis test (test_schemathesis.py) walks the OpenAPI schema: every endpoint of the URL configuration
must be in it, with every method its view answers, or that endpoint would never be fuzzed."""

import re

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.views import APIView

METHODS = ("get", "post", "put", "patch", "delete")


def api_views():
    """(path as OpenAPI writes it, view class) of every DRF view in the URL configuration."""

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry, text)
            elif isinstance(entry, URLPattern):
                view = getattr(entry.callback, "cls", None)
                if isinstance(view, type) and issubclass(view, APIView):
                    yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text), view

    return list(walk(get_resolver(), ""))


def test_every_api_endpoint_and_method_is_in_the_schema(db):
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    missing = []
    views = api_views()
    for path, view in views:
        if issubclass(view, SpectacularAPIView | SpectacularSwaggerView):
            continue  # the schema itself and its documentation page
        for method in METHODS:
            if hasattr(view, method) and method not in paths.get(path, {}):
                missing.append(f"{method.upper()} {path} ({view.__name__})")

    assert len(views) > 50
    assert missing == []
