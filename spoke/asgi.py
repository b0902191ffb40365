"""ASGI entry point: HTTP through Django, websockets through Channels (session-authenticated):
the texter page's `/ws/texter/` and the back office's `/ws/campaign/<id>/`."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoke.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from campaigns.routing import websocket_urlpatterns as campaign_websockets  # noqa: E402
from texting.routing import websocket_urlpatterns as texter_websockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*texter_websockets, *campaign_websockets]))
        ),
    }
)
