"""Every URL as anonymous, texter, supervolunteer, admin, owner and a member of another
organization: the status each gets (spoke/tests/security/expectations.py) and no foreign data."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from spoke.asgi import application
from spoke.tests.security.expectations import EXPECTED
from spoke.tests.security.matrix import OPTIONAL, Route, post_body, url_for, walk
from spoke.tests.security.world import PERSONAS, Org, build_org


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _ask(user: Any, route: Route, url: str, alpha: Org) -> tuple[str, bytes]:
    """GET, or POST when the view takes only POST, in a fresh session; whatever it changes
    (the session included: logging out ends it) is rolled back."""
    with transaction.atomic():
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        method = "G"
        if response.status_code == 405:
            response = client.post(url, post_body(route, alpha), content_type="application/json")
            method = "P"
        body = _body(response)
        transaction.set_rollback(True)
    return f"{method}{response.status_code}", body


@pytest.mark.django_db
def test_every_url_answers_each_persona_as_the_matrix_says_and_shows_no_foreign_data() -> None:
    alpha, bravo = build_org("Alpha", 1), build_org("Bravo", 2)
    users = {"anonymous": None, **alpha.people, "outsider": bravo.people["owner"]}

    failures: list[str] = []
    seen: set[str] = set()
    for route in walk():
        seen.add(route.route)
        url = url_for(route, alpha)
        answers = {persona: _ask(users[persona], route, url, alpha) for persona in PERSONAS}
        got = " ".join(answers[persona][0] for persona in PERSONAS)
        if route.route not in EXPECTED:
            failures.append(f"not in the matrix (check, then add the row): {route.route!r}: {got!r},")
            continue
        if got != EXPECTED[route.route]:
            failures.append(f"{url}\n    expected {EXPECTED[route.route]}\n    got      {got}")
        for persona, (_, body) in answers.items():
            # An invite or campaign join link names its own organization to whoever holds it
            # (the link is the secret); nothing else may.
            foreign = bravo if persona != "outsider" else alpha
            if route.name in {"join", "texter:join"} and foreign is alpha:
                continue
            leaked = [secret.decode() for secret in foreign.secrets() if secret in body]
            if leaked:
                failures.append(f"{url} as {persona} shows {foreign.marker}'s {leaked}")
    stale = set(EXPECTED) - seen - OPTIONAL
    failures += [f"row for a pattern that no longer exists: {route!r}" for route in sorted(stale)]
    assert not failures, "\n".join(failures)


def test_the_expectation_rows_cover_six_personas() -> None:
    for route, row in EXPECTED.items():
        assert len(row.split()) == len(PERSONAS), route


async def _connects(path: str, user: Any) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver")])
    if user is not None:
        from channels.db import database_sync_to_async
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        def make_session() -> str:
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "accounts.backends.Backend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            return str(session.session_key)

        key = await database_sync_to_async(make_session)()
        communicator.scope["headers"].append((b"cookie", f"sessionid={key}".encode()))
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return bool(connected)


# Websocket routes (spoke/asgi.py), as "anonymous texter supervolunteer admin owner outsider":
# 1 connects, 0 is refused. The campaign's id is Alpha's.
WEBSOCKETS = {
    "ws/texter/": "0 1 1 1 1 1",  # everyone hears only their own texter.<id> group
    "ws/campaign/<int:campaign_id>/": "0 0 1 1 1 0",
}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_websocket_route_admits_only_who_may_listen() -> None:
    from channels.db import database_sync_to_async

    from campaigns.routing import websocket_urlpatterns as campaign_routes
    from texting.routing import websocket_urlpatterns as texter_routes

    assert sorted(str(p.pattern) for p in [*texter_routes, *campaign_routes]) == sorted(WEBSOCKETS)
    alpha, bravo = await database_sync_to_async(lambda: (build_org("Alpha", 1), build_org("Bravo", 2)))()
    users = {"anonymous": None, **alpha.people, "outsider": bravo.people["owner"]}
    for route, row in WEBSOCKETS.items():
        path = "/" + route.replace("<int:campaign_id>", str(alpha.campaign.pk))
        got = " ".join([str(int(await _connects(path, users[persona]))) for persona in PERSONAS])
        assert got == row, f"{path}: expected {row}, got {got}"
