"""The people's account pages: sign-in, password, tenant and time zone, API clients, members."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views
from accounts.sign_in import SignInView

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/", views.account_settings, name="account-settings"),
    path("tenant/switch/", views.tenant_switch, name="tenant-switch"),
    path("clients/", views.apiclient_list, name="apiclient-list"),
    path("clients/new/", views.apiclient_create, name="apiclient-create"),
    path("clients/<int:client_id>/rotate/", views.apiclient_rotate, name="apiclient-rotate"),
    path("clients/<int:client_id>/revoke/", views.apiclient_revoke, name="apiclient-revoke"),
    path("members/", views.member_list, name="membership-list"),
    path("members/invite/", views.member_invite, name="membership-invite"),
    path("members/<int:membership_id>/role/", views.member_role, name="membership-role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="membership-remove"),
]
