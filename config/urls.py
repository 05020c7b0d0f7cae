from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from msgplatform.accounts.views import home
from msgplatform.core.views import healthz
from msgplatform.messaging.api import RecordsIngestView

api_v1 = [
    path("records/", RecordsIngestView.as_view(), name="records-ingest"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("invoicing.rest.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("", include("msgplatform.accounts.urls")),
    path("", include("invoicing.web.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("django-admin/", admin.site.urls),
]
