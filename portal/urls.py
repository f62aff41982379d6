"""The portal's URLs: the seed's API, the token endpoint, the pages and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views import AccessTokenView, home
from portal import views

urlpatterns = [
    path("oauth/token", AccessTokenView.as_view(), name="oauth-token"),
    path("oauth/token/", AccessTokenView.as_view()),
    path("openstack/", include("compute.urls")),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("", home, name="home"),
]

handler404 = views.not_found
handler500 = views.server_error
