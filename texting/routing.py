from __future__ import annotations

from django.urls import path

from texting.consumers import TexterConsumer

websocket_urlpatterns = [path("ws/texter/", TexterConsumer.as_asgi())]
