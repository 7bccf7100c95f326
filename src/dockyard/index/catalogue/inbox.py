"""`POST /api/events`: where registries apart from the index (Distribution's `notifications`)
send their events, authenticated with the bearer secret `index.events.secret`.

The envelope is stored in the outbox, in one transaction, for the receiver @remote-catalogue
and answered at once; the Deliverer then applies it in order, at least once, as it does this
registry's own events (a registry waits for the answer, and retries when it is not 2xx: the
catalogue must not make it wait for manifest reads). Only events the catalogue acts on are
kept: a push sends an event per layer, which it has no use for.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr
from sqlalchemy import exc as sql
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.auth.factory import signing_key
from dockyard.config import IgnoreSettings, IndexEventsSettings, Settings
from dockyard.db.engine import Database
from dockyard.index.catalogue.changes import change_of
from dockyard.index.catalogue.receiver import REMOTE_CATALOGUE, CatalogueReceiver
from dockyard.index.catalogue.remote import SUBJECT, HttpContent, PullTokens
from dockyard.index.catalogue.schemas import Envelope, Received
from dockyard.index.errors import IndexProblem, Invalid, TooLarge
from dockyard.index.http import api, index_of
from dockyard.index.names import canonical, namespace_of
from dockyard.index.openapi import operation
from dockyard.index.repositories.mirrored import MirrorNames
from dockyard.index.webhooks.receiver import WEBHOOKS
from dockyard.kit.bodies import BodyTooLarge, read_limited
from dockyard.kit.errors import ErrorCode, error_response
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.oci.names import is_valid_name, is_valid_tag
from dockyard.registry.events import outbox
from dockyard.registry.events.local import PullCount
from dockyard.registry.events.model import ENVELOPE_MEDIA_TYPE, NewEvent
from dockyard.registry.metadata import now

log = logging.getLogger("dockyard.events")

# Distribution sends at most a few hundred events at a time (its `threshold` and queue).
MAX_BODY = 4 * 1024 * 1024
MEDIA_TYPES = frozenset({ENVELOPE_MEDIA_TYPE, "application/json"})
# The database is away: the registry sends again after its back-off; this tells others when.
RETRY_AFTER_SECONDS = 5
# The catalogue's columns: a repository's name, and its namespace (index/tables.py).
MAX_NAME, MAX_NAMESPACE = 255, 64


class UnsupportedMediaType(IndexProblem):
    code = ErrorCode.UNSUPPORTED
    status = 415


def routes(events: IndexEventsSettings) -> list[Route]:
    """The route, when a secret is configured: without one the path is unknown, as any."""
    secret = events.secret
    if secret is None:
        return []

    @api
    @operation(
        "Take another registry's notification envelope (Distribution's format)",
        body=Envelope,
        answers={202: Received},
        credentials="bearer-secret",
    )
    async def receive_events(request: Request) -> Response:
        if not _authorised(request.headers.get("authorization"), secret):
            return error_response(
                ErrorCode.UNAUTHORIZED,
                "send the bearer secret of index.events.secret",
                headers={"WWW-Authenticate": 'Bearer realm="dockyard-events"'},
            )
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in MEDIA_TYPES:
            raise UnsupportedMediaType(f"send {ENVELOPE_MEDIA_TYPE} (or application/json)")
        try:
            raw = await read_limited(request, MAX_BODY)
        except BodyTooLarge as exc:
            raise TooLarge(f"the request body is {exc}") from None
        events = _envelope(raw)
        kept = [_stored(event) for event in events if _wanted(event)]
        try:
            await index_of(request).database.in_thread(
                outbox.insert_events,
                [(event, _receivers(event)) for event in kept],
            )
        except (sql.OperationalError, sql.InterfaceError, sql.TimeoutError) as exc:
            # Expected while the database is away: one line, no traceback; the sender retries.
            log.warning("storing %d received events failed: %s", len(kept), type(exc).__name__)
            return error_response(
                ErrorCode.UNAVAILABLE,
                "the database is unavailable: send the events again later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        answer = Received(received=len(events), stored=len(kept))
        return JSONResponse(answer.model_dump(), status_code=202)

    return [Route("/api/events", receive_events, methods=["POST"])]


def _receivers(event: NewEvent) -> tuple[str, ...]:
    """The catalogue takes every kept event; webhooks their pushes (a delete in Distribution's
    format does not say whether it was a manifest's or a blob's: hooks are not told of it)."""
    return (REMOTE_CATALOGUE, WEBHOOKS) if event.action == "push" else (REMOTE_CATALOGUE,)


def _authorised(header: str | None, secret: SecretStr) -> bool:
    """`Bearer <secret>`, compared in constant time. Not parse_authorization: the secret is
    the operator's text, which need not be a token68."""
    scheme, _, presented = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    expected = secret.get_secret_value().encode()
    return hmac.compare_digest(presented.strip().encode(), expected)


def _envelope(raw: bytes) -> list[dict[str, Any]]:
    """The envelope's events: `{"events": [{...}, ...]}`, or Invalid."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeError:
        raise Invalid("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not JSON: {exc.msg}") from None
    except (ValueError, RecursionError):  # integers of too many digits, nesting too deep
        raise Invalid("the body is not usable JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise Invalid('the body must be a JSON object with an "events" list')
    events: list[dict[str, Any]] = document["events"]
    if not all(isinstance(event, dict) for event in events):
        raise Invalid("every event must be a JSON object")
    return events


def _wanted(event: dict[str, Any]) -> bool:
    """An event the catalogue acts on, naming what a registry can hold (the names go into
    URLs and columns); not a pull of the catalogue's own manifest reads."""
    change = change_of(event)
    if change is None or not is_valid_name(change.repository):
        return False
    # Refused by the catalogue's columns, it would hold up every event after it.
    name = canonical(change.repository)
    if len(name) > MAX_NAME or len(namespace_of(name)) > MAX_NAMESPACE:
        return False
    actor = event.get("actor")
    if isinstance(actor, dict) and actor.get("name") == SUBJECT:
        return False
    digest = getattr(change, "digest", None)
    tag = getattr(change, "tag", None)
    if tag is not None and not is_valid_tag(tag):
        return False
    if digest is not None:
        try:
            Digest.parse(digest)
        except InvalidDigest:
            return False
    return True


def _stored(event: dict[str, Any]) -> NewEvent:
    identifier, action = event.get("id"), event.get("action")
    # Distribution's ids are UUIDs; anything else that a column cannot take (a NUL, a lone
    # surrogate: PostgreSQL refuses both) is replaced.
    if not (isinstance(identifier, str) and identifier.isascii() and identifier.isprintable()):
        identifier = ""
    if not identifier:
        identifier = str(uuid.uuid4())
    return NewEvent(
        uuid=identifier[:36],
        action=(action if isinstance(action, str) else "")[:16],
        created_at=now(),
        # ASCII: lone surrogates and NULs stay escaped, which every database column takes.
        body=json.dumps(event, ensure_ascii=True, separators=(",", ":")),
    )


class RemoteCatalogue:
    """The catalogue fed by /api/events only: it takes none of this process's own events, nor
    its pull counts (the local catalogue counts those; counted twice they would double)."""

    def __init__(self, receiver: CatalogueReceiver) -> None:
        self.receiver = receiver
        everything = IgnoreSettings(actions=["push", "pull", "mount", "delete"])
        self.settings = receiver.settings.model_copy(update={"ignore": everything})
        self.counts_pulls = False

    async def receive(self, bodies: Sequence[str]) -> None:
        await self.receiver.receive(bodies)

    async def pulled(self, counts: Mapping[str, PullCount]) -> None:
        return None  # this registry's pulls: the local catalogue's

    async def close(self) -> None:
        await self.receiver.close()


def remote_catalogue(
    settings: Settings, database: Database, default_visibility: str
) -> RemoteCatalogue:
    """The receiver of what /api/events stored, reading the registry at index.events.registry
    with pull tokens signed by this index's key."""
    tokens = PullTokens(signing_key(settings), settings.auth.token.issuer)
    content = HttpContent(settings.index.events.registry, tokens)
    mirrors = MirrorNames.of(settings.mirrors)
    return RemoteCatalogue(
        CatalogueReceiver(REMOTE_CATALOGUE, database, content, default_visibility, False, mirrors)
    )
