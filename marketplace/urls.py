from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from marketplace.ops import backbone, health, metrics

# What staff read at the top of every admin page and in the tab, instead of Django's "Django administration".
admin.site.site_header = "TradeLink admin"
admin.site.site_title = "TradeLink admin"
admin.site.index_title = "Staff pages and records"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("healthz/deps", health.dependencies, name="healthz-deps"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("alerts.urls")),  # /admin/customer360/<id>/ (before the admin catch-all)
    path("admin/backbone/", backbone.backbone_view, name="admin-backbone"),  # before the admin catch-all
    # Staff sign in on the site's page, which asks for their TOTP code; admin's own form would not.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("marketplace.accounts.api_urls")),
    path("api/", include("marketplace.notifications.api_urls")),
    path("api/", include("marketplace.privacy.api_urls")),
    path("api/", include("jobs.api_urls")),
    path("api/", include("quotes.api_urls")),
    path("api/", include("finance.api_urls")),
    path("api/", include("scheduling.api_urls")),
    path("api/", include("timeline.api_urls")),
    path("api/", include("tracking.api_urls")),
    path("api/", include("chat.api_urls")),
    path("api/", include("insights.api_urls")),
    path("api/", include("reviews.api_urls")),
    path("api/", include("directory.api_urls")),
    path("", include("marketplace.accounts.urls")),
    path("", include("marketplace.notifications.urls")),
    path("", include("marketplace.privacy.urls")),
    path("", include("quotes.urls")),  # before jobs: its paths are more specific
    path("", include("payments.urls")),  # before jobs too (the sign-off routes)
    path("", include("directory.urls")),
    path("", include("jobs.urls")),
    path("", include("scheduling.urls")),
    path("", include("tracking.urls")),
    path("", include("insights.urls")),
]
handler400 = "marketplace.api_errors.bad_request"
handler404 = "marketplace.api_errors.not_found"
handler500 = "marketplace.api_errors.server_error"
# No route serves MEDIA_URL, not even with DEBUG: photos go through /photos/<id>/ (jobs/urls.py), which checks who asks.
