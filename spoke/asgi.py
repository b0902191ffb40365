"""ASGI entry point: HTTP through Django, websockets through Channels (session-authenticated):
the texter page's `/ws/texter/` and the back office's `/ws/campaign/<id>/`."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoke.settings")
django.setup(set_prefix=False)

from core.asgi import OneThreadASGIHandler  # noqa: E402

# Not get_asgi_application(): its handler opens a database connection per request (see core/asgi.py).
django_asgi_app = OneThreadASGIHandler()

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
