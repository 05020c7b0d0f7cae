from django.urls import include, path

from . import owner, views
from .guard import licensed_urlpatterns

app_name = "invoicing"

# Admin staff pages: every one of them behind the licence check.
tenant_urlpatterns = licensed_urlpatterns(
    [
        path("", views.home, name="home"),
    ]
)

# Platform owner pages: they manage the licence itself.
owner_urlpatterns = [
    path("platform/admins/", owner.tenant_list, name="owner-tenants"),
    path("platform/admins/new/", owner.tenant_create_view, name="owner-tenant-create"),
    path("platform/admins/<int:tenant_id>/licence/", owner.license_edit, name="owner-license"),
    path("platform/admins/<int:tenant_id>/licence/revoke/", owner.license_revoke_view, name="owner-license-revoke"),
    path("platform/admins/<int:tenant_id>/test-clock/", owner.test_clock_view, name="owner-test-clock"),
]

urlpatterns = [path("invoicing/", include(tenant_urlpatterns)), *owner_urlpatterns]
