"""The webhook server: Telegram's POSTs in, updates onto the application's queue; and ``GET /healthz``.

PTB's own server (``Updater.start_webhook``) reads the whole body, up to tornado's 100 MB default, before it looks
at the secret token; it answers malformed JSON with 500 and logs an unprocessable body (``{}``) at CRITICAL with
its content. This one, on tornado too:

- checks the secret token from the headers before a byte of the body is read: 403, and the connection is closed
  once the answer is out (tornado never hands the rest of the body to anyone);
- refuses a body over ``MAX_BODY`` (1 MB) from its Content-Length with 413, and a chunked one that grows past it
  is cut off;
- answers a body that is not JSON, or JSON that is not an update (``{}``), with 400 and logs its size only;
- answers ``GET /healthz`` with the database's state and the time of the last successful Bot API call (200, or
  503 when the database does not answer).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import tornado.netutil
import tornado.web
from telegram import Bot, Update
from telegram.ext import ExtBot
from tornado.httpserver import HTTPServer

__all__ = ["HEALTH_PATH", "MAX_BODY", "SECRET_HEADER", "Health", "WebhookServer"]

logger = logging.getLogger(__name__)

#: Telegram's updates are a few KB; a document is sent as a file id, never inline.
MAX_BODY: Final = 1024 * 1024
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH: Final = "/healthz"
#: tornado's own Content-Length check would drop the connection without an answer; ours answers 413 first.
_NO_TORNADO_LIMIT: Final = 1 << 40
_BODY_TIMEOUT_S: Final = 30.0
_IDLE_TIMEOUT_S: Final = 300.0


@dataclass(frozen=True, slots=True)
class Health:
    """What ``/healthz`` reports: ``database`` is ``"ok"`` or what went wrong; the last 2xx from the Bot API."""

    database: str
    last_api_call: datetime | None

    @property
    def ok(self) -> bool:
        return self.database == "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "database": self.database,
            "last_bot_api_call": None if self.last_api_call is None else self.last_api_call.isoformat(),
        }


HealthProbe = Callable[[], Awaitable[Health]]


class _Quiet(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log: a flood of refused requests must not become a flood of log lines."""


class _Handler(tornado.web.RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")

    def answer(self, status: int, payload: dict[str, Any]) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """tornado's own refusals (an unknown method, a handler's bug) in the same JSON shape, never a traceback."""
        self.finish(json.dumps({"ok": False, "error": self._reason}))


@tornado.web.stream_request_body
class _UpdateHandler(_Handler):
    """``POST /telegram``: the headers are judged in ``prepare``, before tornado reads the body."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, server: WebhookServer) -> None:
        self.server = server
        self.body = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.server.secret):
            logger.info("webhook: refused a request without the right secret token from %s", self.request.remote_ip)
            self.answer(403, {"ok": False, "error": "forbidden"})
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.strip().isdigit() or int(length) > MAX_BODY):
            logger.warning("webhook: refused a body of %s bytes (at most %d)", length, MAX_BODY)
            self.answer(413, {"ok": False, "error": f"the body is limited to {MAX_BODY} bytes"})
            return
        connection = self.request.connection
        if connection is not None and hasattr(connection, "set_max_body_size"):
            connection.set_max_body_size(MAX_BODY)  # a chunked body that grows past it is cut off

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk

    async def post(self) -> None:
        update = self._update()
        if update is None:
            logger.warning("webhook: refused a body of %d bytes that is not an update", len(self.body))
            self.answer(400, {"ok": False, "error": "not an update"})
            return
        bot = self.server.bot
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)  # what PTB's own handler does for arbitrary callback data
        await self.server.update_queue.put(update)
        self.answer(200, {"ok": True})

    def _update(self) -> Update | None:
        try:
            data = json.loads(bytes(self.body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        try:
            return Update.de_json(data, self.server.bot)
        except Exception:  # a shape PTB cannot read: the sender's fault, answered 400 (no body in the log)
            logger.warning("webhook: an update PTB cannot read", exc_info=False)
            return None


class _HealthHandler(_Handler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    async def get(self) -> None:
        health = await self.server.health()
        self.answer(200 if health.ok else 503, health.to_json())


class WebhookServer:
    """The HTTP server of webhook mode: ``POST /<path>`` for Telegram, ``GET /healthz`` for the operator."""

    def __init__(
        self,
        *,
        bot: Bot,
        update_queue: asyncio.Queue[object],
        secret: str,
        health: HealthProbe,
        path: str = "telegram",
    ) -> None:
        self.bot = bot
        self.update_queue = update_queue
        self.secret = secret.encode("utf-8")
        self.health = health
        self.path = "/" + path.strip("/")
        self._http: HTTPServer | None = None
        self.port: int | None = None

    async def start(self, listen: str, port: int) -> None:
        """Listen on ``listen:port`` (``port`` 0: a free one, then in ``self.port``)."""
        application = _Quiet(
            [
                (rf"{self.path}/?", _UpdateHandler, {"server": self}),
                (HEALTH_PATH, _HealthHandler, {"server": self}),
            ]
        )
        self._http = HTTPServer(
            application,
            max_body_size=_NO_TORNADO_LIMIT,
            max_buffer_size=4 * MAX_BODY,
            body_timeout=_BODY_TIMEOUT_S,
            idle_connection_timeout=_IDLE_TIMEOUT_S,
        )
        sockets = tornado.netutil.bind_sockets(port, address=listen)
        self._http.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])
        logger.info("webhook server on %s:%d%s", listen, self.port, self.path)

    async def stop(self) -> None:
        if self._http is None:
            return
        self._http.stop()
        await self._http.close_all_connections()
        self._http = None
