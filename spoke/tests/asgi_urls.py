"""Views for spoke/tests/test_asgi.py: what each records lets the test see where Django ran it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

seen: list[tuple[str, int, int]] = []  # (what, thread id, id of the database connection)


def _record(what: str) -> None:
    connection.ensure_connection()
    seen.append((what, threading.get_ident(), id(connection.connection)))


def plain(request: HttpRequest) -> HttpResponse:
    _record("view")
    return HttpResponse(f"hello {request.method}")


def streaming(request: HttpRequest) -> StreamingHttpResponse:
    _record("view")

    def rows() -> Iterator[bytes]:
        for n in range(int(request.GET.get("rows", "3"))):
            _record("row")
            yield f"row {n}\n".encode()

    return StreamingHttpResponse(rows(), content_type="text/plain")


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


urlpatterns = [path("plain/", plain), path("streaming/", streaming), path("broken/", broken)]
