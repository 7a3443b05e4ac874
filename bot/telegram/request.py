"""How the bot's calls travel to the Bot API: JSON bodies, where PTB would send url-encoded forms.

PTB's ``HTTPXRequest`` posts every call as a form, JSON-encoding each non-string value and then
percent-encoding the lot. For Chinese text that triples the body (every character becomes nine bytes) and
costs more CPU than the rest of the request; Telegram takes ``application/json`` bodies for every method, so
calls without files go as one compact JSON object instead. Uploads still go as PTB's multipart forms.

It also remembers when the Bot API last answered a call with a 2xx (``last_success``), which ``/healthz`` of the
webhook server reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from telegram._utils.defaultvalue import DefaultValue  # PTB's own marker for "not given"; pinned to 22.x
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

__all__ = ["JsonRequest"]

_JSON_HEADERS = {"User-Agent": HTTPXRequest.USER_AGENT, "Content-Type": "application/json"}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JsonRequest(HTTPXRequest):
    """PTB's HTTPX request, sending calls without files as JSON bodies; ``now`` times ``last_success``."""

    def __init__(self, *args: Any, now: Callable[[], datetime] = _utc_now, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now
        #: when the Bot API last answered a call with a 2xx, or None before the first one
        self.last_success: datetime | None = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await self._send(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if 200 <= code < 300:
            self.last_success = self._now()
        return code, payload

    async def _send(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files or self._client.is_closed:
            # uploads, parameterless calls and the not-initialised error are PTB's own business
            return await super().do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        body = json.dumps(request_data.parameters, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        defaults = self._client.timeout
        timeout = httpx.Timeout(
            connect=_or(connect_timeout, defaults.connect),
            read=_or(read_timeout, defaults.read),
            write=_or(write_timeout, defaults.write),
            pool=_or(pool_timeout, defaults.pool),
        )
        try:
            response = await self._client.request(
                method=method, url=url, headers=_JSON_HEADERS, timeout=timeout, content=body
            )
        except httpx.TimeoutException as err:
            # the same errors, with the same words, as HTTPXRequest raises
            if isinstance(err, httpx.PoolTimeout):
                raise TimedOut(
                    message=(
                        "Pool timeout: All connections in the connection pool are occupied. "
                        "Request was *not* sent to Telegram. Consider adjusting the connection "
                        "pool size or the pool timeout."
                    )
                ) from err
            raise TimedOut from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        return response.status_code, response.content


def _or(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
