"""The external issuer's JSON Web Key Set, fetched over HTTP with httpx.

One client per process: its pool keeps the connection to the issuer open between fetches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import httpx

from application.auth_ports import Jwks
from domain.errors import Unavailable

log = logging.getLogger("todo.jwks")

FETCH_TIMEOUT_SECONDS = 2.0
MAX_JWKS_BYTES = 256 * 1024  # a set of a few keys is a few KiB
RETRY_AFTER_SECONDS = 5
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|=|$)", re.IGNORECASE)


class HttpJwksSource:
    def __init__(self, url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> None:
        self._url = url
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
            headers={"Accept": "application/jwk-set+json, application/json"},
            follow_redirects=True,
            max_redirects=3,
        )

    async def fetch(self) -> Jwks:
        try:
            # httpx's timeout bounds each phase; this bounds the whole fetch.
            async with asyncio.timeout(self._timeout):
                body, cache_control = await self._get()
        except (httpx.HTTPError, TimeoutError, OSError) as error:
            log.warning(
                "JWKS fetch failed", extra={"url": self._url, "error": type(error).__name__}
            )
            raise Unavailable(RETRY_AFTER_SECONDS) from None
        keys = _keys_of(body)
        if keys is None:
            log.warning("JWKS fetch returned no key set", extra={"url": self._url})
            raise Unavailable(RETRY_AFTER_SECONDS)
        log.info("JWKS fetched", extra={"url": self._url, "keys": len(keys)})
        return Jwks(keys=keys, max_age=max_age(cache_control))

    async def _get(self) -> tuple[bytes, str]:
        async with self._client.stream("GET", self._url) as response:
            if response.status_code != httpx.codes.OK:
                raise httpx.HTTPStatusError(
                    f"status {response.status_code}", request=response.request, response=response
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise httpx.DecodingError("JWKS larger than expected")
            return bytes(body), response.headers.get("cache-control", "")

    async def close(self) -> None:
        await self._client.aclose()


def _keys_of(body: bytes) -> list[dict[str, object]] | None:
    try:
        document = json.loads(body)
    except ValueError:  # also not UTF-8
        return None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        return None
    return [key for key in keys if isinstance(key, dict)]


def max_age(cache_control: str) -> int | None:
    """Seconds the response may be cached, from ``Cache-Control``; ``None`` when it does not
    say (``no-store`` and ``no-cache`` say 0)."""
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None
