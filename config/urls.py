from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from msgplatform.accounts import rest as accounts_rest
from msgplatform.accounts.views import home
from msgplatform.core.views import healthz
from msgplatform.messaging.api import RecordsView

api_v1 = [
    path("records/", RecordsView.as_view(), name="records"),
    path("users/", accounts_rest.UserListView.as_view(), name="users"),
    path("users/<int:account_id>/", accounts_rest.UserDetailView.as_view(), name="user"),
    path("users/<int:account_id>/balance/", accounts_rest.UserBalanceView.as_view(), name="user-balance"),
    path("users/<int:account_id>/ledger/", accounts_rest.UserLedgerView.as_view(), name="user-ledger"),
    path("tokens/", accounts_rest.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:token_id>/", accounts_rest.TokenDetailView.as_view(), name="token"),
    path("platform/admins/", accounts_rest.AdminListView.as_view(), name="platform-admins"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("invoicing.rest.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("", include("msgplatform.accounts.urls")),
    path("", include("invoicing.web.urls")),
    path("api/v1/", include((api_v1, "api"))),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("django-admin/", admin.site.urls),
]

handler404 = "msgplatform.core.views.page_not_found"
handler500 = "msgplatform.core.views.server_error"
