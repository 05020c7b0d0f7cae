"""The product's URLs plus /bench/bare/: a bare Django view (full middleware stack, no database, no template)."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def bare(request):
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *product_urlpatterns]
