from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from ops.exposition import metrics
from ops.health import healthz, readyz
from texting.monitoring import outbox_gauges, outbox_lag_seconds

admin.site.site_header = "Spoke back office"
admin.site.site_title = "Spoke"
admin.site.index_title = "Campaigns, contacts and texters"

urlpatterns = [
    path("", RedirectView.as_view(url="/texter/", permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("texter/", include("texting.urls")),
    path("webhooks/", include("texting.webhook_urls")),
    path("api/v1/", include("spoke.api_urls")),
    path("admin/", admin.site.urls),
    # --- Operations (ops/): texting's outbox is handed in here, so ops imports no app.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, {"queue_lag": outbox_lag_seconds}, name="readyz"),
    path("metrics", metrics, {"gauges": [outbox_gauges]}, name="metrics"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
