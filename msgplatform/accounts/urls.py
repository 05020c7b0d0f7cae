from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import two_factor_views, views
from .throttle import ThrottledPasswordResetView

app_name = "accounts"

urlpatterns = [
    path("login/", two_factor_views.LoginView.as_view(), name="login"),
    path("login/code/", two_factor_views.two_factor_verify, name="two-factor-verify"),
    path("two-factor/", two_factor_views.two_factor_home, name="two-factor"),
    path("two-factor/setup/", two_factor_views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/recovery-codes/", two_factor_views.two_factor_recovery_codes, name="two-factor-recovery-codes"),
    path(
        "two-factor/recovery-codes/new/",
        two_factor_views.two_factor_recovery_codes_new,
        name="two-factor-recovery-codes-new",
    ),
    path("two-factor/requirement/", two_factor_views.two_factor_requirement, name="two-factor-requirement"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        ThrottledPasswordResetView.as_view(
            success_url=reverse_lazy("accounts:password_reset_done"),
            email_template_name="registration/password_reset_email.html",
        ),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password_reset_complete")),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("platform/admins/", views.tenant_list, name="owner-tenants"),
    path("platform/admins/new/", views.tenant_create_view, name="owner-tenant-create"),
    path("users/", views.account_list, name="account-list"),
    path("users/new/", views.account_create_view, name="account-create"),
    path("users/<int:account_id>/", views.account_detail, name="account-detail"),
    path("users/<int:account_id>/edit/", views.account_edit_view, name="account-edit"),
    path("signup/<slug:slug>/", views.signup, name="signup"),
    path("me/", views.portal_home, name="portal-home"),
    path("me/usage/", views.portal_usage, name="portal-usage"),
]
