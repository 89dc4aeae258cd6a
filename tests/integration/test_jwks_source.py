"""The JWKS source over real HTTP, against a server in the test process."""

from __future__ import annotations

import time

import pytest

from adapters.security.jwks_http import HttpJwksSource
from domain.errors import Unavailable
from tests.support.external_issuer import jwks_server, public_jwk, signing_key


async def test_the_http_source_reads_the_set_and_its_max_age_over_one_connection() -> None:
    with jwks_server() as server:
        key = signing_key()
        server.publish(key)
        server.cache_control = "max-age=120"
        source = HttpJwksSource(server.url)
        try:
            first = await source.fetch()
            second = await source.fetch()
        finally:
            await source.close()
    assert first.keys == [public_jwk(key)]
    assert (first.max_age, second.max_age) == (120, 120)
    assert server.connections == 1  # the client kept its connection for the second fetch


async def test_the_http_source_gives_up_after_two_seconds() -> None:
    with jwks_server() as server:
        server.delay = 3.0
        source = HttpJwksSource(server.url)
        started = time.monotonic()
        try:
            with pytest.raises(Unavailable):
                await source.fetch()
        finally:
            await source.close()
        assert time.monotonic() - started < 2.5


async def test_the_http_source_fails_on_an_error_status_or_a_body_that_is_no_key_set() -> None:
    with jwks_server() as server:
        source = HttpJwksSource(server.url)
        try:
            server.status = 404
            with pytest.raises(Unavailable):
                await source.fetch()
            server.status = 200
            server.raw_body = b"<html>not json</html>"
            with pytest.raises(Unavailable):
                await source.fetch()
        finally:
            await source.close()
