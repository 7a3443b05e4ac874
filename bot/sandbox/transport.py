"""Carry real Bot API HTTP traffic to the in-memory emulator.

Two ways in, one decoder: ``EmulatorTransport`` plugs into httpx (and so into PTB's own ``HTTPXRequest``) for
in-process use, and ``serve_loopback`` serves the same emulator over HTTP on 127.0.0.1 for a bot running in
another process (``PROPOSAL_BOT_API_BASE_URL``). Both decode requests the way Telegram does: a query string,
an url-encoded or multipart form (PTB's choice: strings as they are, every other value JSON-encoded), or a
JSON body.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from telegram.request import HTTPXRequest

from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.faults import SimulatedTimeout
from bot.telegram.request import JsonRequest

__all__ = [
    "SANDBOX_BASE_URL",
    "EmulatorTransport",
    "HttpAnswer",
    "LoopbackServer",
    "build_bot_kwargs",
    "dispatch",
    "make_request",
    "serve_loopback",
]

_LOGGER = logging.getLogger(__name__)

#: A host that can never resolve, so a misrouted request fails loudly instead of reaching the internet.
SANDBOX_BASE_URL = "http://sandbox.invalid"

_API_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_JSON = "application/json"
# How long the loopback server holds a request that should time out; the client gives up well before.
_LOOPBACK_TIMEOUT_HOLD = 60.0
# What json.dumps(..., ensure_ascii=False) builds on every call, built once.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What to send back: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = _JSON


def _json_answer(status: int, body: Mapping[str, Any]) -> HttpAnswer:
    return HttpAnswer(status, _JSON_ENCODER.encode(body).encode("utf-8"))


def _error(status: int, description: str) -> HttpAnswer:
    return _json_answer(status, {"ok": False, "error_code": status, "description": description})


async def dispatch(
    emulator: BotApiEmulator,
    *,
    http_method: str,
    path: str,
    query: str,
    content_type: str,
    body: bytes,
) -> HttpAnswer:
    """Answer one HTTP request to the Bot API or its file endpoint. Raises SimulatedTimeout for a timeout fault."""
    file_match = _FILE_PATH.search(path)
    if file_match is not None:
        if not _TOKEN.fullmatch(file_match["token"]):
            return _error(404, "Not Found")
        try:
            data = emulator.download(file_match["path"])
        except LookupError:
            return _error(404, "Not Found")
        return HttpAnswer(200, data, "application/octet-stream")

    api_match = _API_PATH.search(path)
    if api_match is None or not _TOKEN.fullmatch(api_match["token"]):
        return _error(404, "Not Found")
    if http_method not in ("GET", "POST"):
        return _error(405, "Method Not Allowed")
    method = api_match["method"]
    try:
        params, files = _decode_body(emulator, method, query, content_type, body)
    except ValueError as exc:
        return _error(400, f"Bad Request: {exc}")
    status, answer = await emulator.handle(method, params, files)
    return _json_answer(status, answer)


def _decode_body(
    emulator: BotApiEmulator,
    method: str,
    query: str,
    content_type: str,
    body: bytes,
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    form: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    files: dict[str, tuple[str, bytes]] = {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    params: dict[str, Any] = {}
    if media_type == _JSON and body:
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise ValueError("request body is not valid JSON") from exc
        if not isinstance(decoded, dict):
            raise ValueError("request body must be a JSON object")
        params.update(decoded)
    elif body:
        arguments: dict[str, list[bytes]] = {}
        uploads: dict[str, list[tornado.httputil.HTTPFile]] = {}
        try:
            tornado.httputil.parse_body_arguments(content_type, body, arguments, uploads)
        except tornado.httputil.HTTPInputError as exc:
            raise ValueError(f"can't parse request body: {exc}") from exc
        for name, values in arguments.items():
            form[name] = values[-1].decode("utf-8")
        for name, parts in uploads.items():
            files[name] = (parts[-1].filename, bytes(parts[-1].body))
    decoded_form = emulator.spec.decode_form(method, form)
    decoded_form.update(params)
    return decoded_form, files


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An httpx transport that answers from the emulator instead of the network."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            answer = await dispatch(
                self.emulator,
                http_method=request.method,
                path=request.url.path,
                query=request.url.query.decode("ascii"),
                content_type=request.headers.get("content-type", ""),
                body=body,
            )
        except SimulatedTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        return httpx.Response(
            answer.status,
            content=answer.body,
            headers={"content-type": answer.content_type},
            request=request,
        )


def make_request(emulator: BotApiEmulator, **kwargs: Any) -> HTTPXRequest:
    """The bot's own request class (JSON bodies, see bot/telegram/request.py) with its traffic going to ``emulator``.

    ``kwargs`` go to HTTPXRequest.
    """
    httpx_kwargs = dict(kwargs.pop("httpx_kwargs", None) or {})
    httpx_kwargs["transport"] = EmulatorTransport(emulator)
    return JsonRequest(httpx_kwargs=httpx_kwargs, **kwargs)


def build_bot_kwargs(emulator: BotApiEmulator, token: str = "123456:SANDBOX") -> dict[str, Any]:
    """Keyword arguments for ``telegram.Bot(**kw)``; ApplicationBuilder has a method of the same name for each."""
    return {
        "token": token,
        "base_url": f"{SANDBOX_BASE_URL}/bot",
        "base_file_url": f"{SANDBOX_BASE_URL}/file/bot",
        "request": make_request(emulator),
        "get_updates_request": make_request(emulator),
    }


# ---- loopback HTTP server -----------------------------------------------------------------------------------


class _BotApiHandler(tornado.web.RequestHandler):
    emulator: BotApiEmulator

    def initialize(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self._gone = asyncio.Event()

    def on_connection_close(self) -> None:
        self._gone.set()

    async def get(self) -> None:
        await self._answer()

    async def post(self) -> None:
        await self._answer()

    async def _answer(self) -> None:
        request = self.request
        try:
            answer = await dispatch(
                self.emulator,
                http_method=request.method or "GET",
                path=unquote(request.path),
                query=request.query,
                content_type=request.headers.get("Content-Type", ""),
                body=request.body,
            )
        except SimulatedTimeout:
            # Hold the request so the client's read timeout fires, as it would against a stalled server.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gone.wait(), _LOOPBACK_TIMEOUT_HOLD)
            answer = _error(504, "Gateway Timeout")
            if self._gone.is_set():
                return
        self.set_status(answer.status)
        self.set_header("Content-Type", answer.content_type)
        self.finish(answer.body)

    def check_xsrf_cookie(self) -> None:
        """The Bot API is not a browser form; there is no XSRF cookie to check."""


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Error answers are the emulator doing its job, so they are no warnings (tornado's default).
    request = handler.request
    path = re.sub(r"/bot[^/]+/", "/bot<token>/", request.path)  # never log the token
    _LOGGER.debug("%s %s -> %s", request.method, path, handler.get_status())


@dataclass(slots=True)
class LoopbackServer:
    """A running loopback Bot API server. Point a bot at ``base_url`` / ``base_file_url``."""

    url: str
    _server: tornado.httpserver.HTTPServer

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()


async def serve_loopback(emulator: BotApiEmulator, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
    """Serve ``emulator`` over HTTP on ``host:port`` (port 0 picks a free one) until ``stop()``."""
    app = tornado.web.Application(
        [(r"/.*", _BotApiHandler, {"emulator": emulator})],
        log_function=_log_request,
    )
    sockets = tornado.netutil.bind_sockets(port, address=host)
    server = tornado.httpserver.HTTPServer(app, max_body_size=64 * 1024 * 1024)
    server.add_sockets(sockets)
    bound_port = sockets[0].getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}"
    _LOGGER.info("sandbox Bot API listening on %s", url)
    return LoopbackServer(url=url, _server=server)
