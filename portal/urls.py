"""The portal's URLs: the seed's API, the token endpoint, API docs, health, pages and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.views import AccessTokenView, home
from portal import health, metrics, views

urlpatterns = [
    path("oauth/token", AccessTokenView.as_view(), name="oauth-token"),
    path("oauth/token/", AccessTokenView.as_view()),
    path("openstack/", include("compute.urls")),
    path("openstack/", include("billing.urls")),
    path("billing/", include("billing.page_urls")),
    path("", include("accounts.page_urls")),  # before `login/` below: sign-in is throttled
    path("", include("compute.page_urls")),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", home, name="home"),
    # Any other API path is an enveloped 404, never Django's debug page (which would show the
    # URL, token and all, when DEBUG is on).
    re_path(r"^(?:openstack|oauth)/", views.not_found),
]

handler400 = views.bad_request
handler404 = views.not_found
handler500 = views.server_error
