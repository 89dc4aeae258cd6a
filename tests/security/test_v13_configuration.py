"""ASVS 5.0 V13, configuration: secrets strong enough to sign with, and monitoring behind a key.

- ``APP_ENV=production`` refuses a ``BETTER_AUTH_SECRET`` of low entropy — one repeated
  character, a short pattern repeated, a common password or dictionary word inside it, fewer than
  16 distinct bytes — besides the short and the placeholder ones; random secrets pass.
- ``METRICS_TOKEN`` set: ``GET /metrics`` wants ``Authorization: Bearer <METRICS_TOKEN>``, else a
  401 problem with ``WWW-Authenticate``.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from entrypoints.settings import SettingsError, load_settings
from tests.support.app import make_settings, serve

NO_ENV_FILE = Path("/nonexistent/.env")
PROBLEM = "application/problem+json"

WEAK_SECRETS = {
    "one character": "k" * 40,
    "one character, multibyte": "é" * 20,
    "a pattern repeated": "abcdefghijklmnopq" * 2 + "abc",
    "a word repeated": "Password1!" * 4,
    "a few characters": "0123456789" * 4,
    "few distinct bytes": "correcthorsebatterystaplecorrecthorse",
    "hex of few bytes": "deadbeefcafe0123" * 4,
    "a common password inside": "xQ7#supersecretpassword-Zr8vK2mWq",
    "a keyboard walk": "qwertyuiopasdfghjklzxcvbnm1234567890",
    "a dictionary word inside": "7vN$Kp2!welcome123-Jq9wLz4RtYx8Hc",
}

STRONG_SECRETS = {
    "base64 of 32 bytes": lambda: base64.b64encode(os.urandom(32)).decode(),
    "urlsafe of 32 bytes": lambda: secrets.token_urlsafe(32),
    "hex of 32 bytes": lambda: secrets.token_hex(32),
    "hex of 24 bytes": lambda: secrets.token_hex(24),
    "base64 of 48 bytes": lambda: base64.b64encode(os.urandom(48)).decode(),
}


def production(secret: str) -> None:
    load_settings(
        environ={"APP_ENV": "production", "BETTER_AUTH_SECRET": secret}, env_file=NO_ENV_FILE
    )


@pytest.mark.parametrize("secret", WEAK_SECRETS.values(), ids=WEAK_SECRETS.keys())
def test_v13_3_production_refuses_a_low_entropy_secret(secret: str) -> None:
    assert len(secret.encode()) >= 32  # long enough: only its entropy is wrong
    with pytest.raises(SettingsError, match="BETTER_AUTH_SECRET") as refused:
        production(secret)
    assert secret not in str(refused.value)


@pytest.mark.parametrize("make", STRONG_SECRETS.values(), ids=STRONG_SECRETS.keys())
def test_v13_3_production_accepts_random_secrets(make: object) -> None:
    assert callable(make)
    for _ in range(200):  # the rules must not refuse a well-made secret by bad luck
        production(make())


def test_v13_3_the_existing_rules_stand() -> None:
    for secret in ("", "short", "change-me", "dev-secret-change-me-dev-secret-change-me"):
        with pytest.raises(SettingsError, match="BETTER_AUTH_SECRET"):
            production(secret)


def test_v13_3_development_keeps_its_own_rules() -> None:
    load_settings(
        environ={"APP_ENV": "development", "BETTER_AUTH_SECRET": "k" * 40}, env_file=NO_ENV_FILE
    )


def test_v13_3_the_server_refuses_to_start_with_a_weak_secret() -> None:
    secret = "Password1!" * 4
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "check"],
        env={
            **os.environ,
            "APP_ENV": "production",
            "TODO_STORAGE": "memory",
            "BETTER_AUTH_SECRET": secret,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "BETTER_AUTH_SECRET" in result.stderr
    assert secret not in result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# METRICS_TOKEN
# --------------------------------------------------------------------------------------------

METRICS_TOKEN = "m3trics-" + "Qx7vK2pL9wZr4TyB8nHc"


def assert_401(response: httpx.Response, *, token_sent: bool) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) is token_sent
    assert "http_requests_total" not in response.text


async def test_v13_4_metrics_want_the_metrics_token_when_it_is_set() -> None:
    async with serve(make_settings(metrics_token=METRICS_TOKEN)) as client:
        assert_401(await client.get("/metrics"), token_sent=False)
        for authorization in (
            b"Bearer wrong",
            b"Bearer " + METRICS_TOKEN[:-1].encode(),
            b"Bearer " + METRICS_TOKEN.encode() + b"x",
            b"Basic " + base64.b64encode(f"x:{METRICS_TOKEN}".encode()),
            METRICS_TOKEN.encode(),
            b"Bearer",
            b"Bearer ",
            b"Bearer \xff\xfe\x80",
            b"Bearer " + "é".encode() * 3,
            b"Bearer " + b"A" * 10_000,
        ):
            response = await client.get("/metrics", headers=[(b"authorization", authorization)])
            assert_401(response, token_sent=True)
        for scheme in ("Bearer", "bearer", "BEARER"):
            response = await client.get(
                "/metrics", headers={"authorization": f"{scheme} {METRICS_TOKEN}"}
            )
            assert response.status_code == 200, response.text
            assert "http_requests_total" in response.text
        # only /metrics: health stays open to probes
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200


async def test_v13_4_a_non_ascii_metrics_token_is_compared_as_bytes() -> None:
    token = "clé-de-métriques-Qx7vK2pL9wZr4TyB"
    async with serve(make_settings(metrics_token=token)) as client:
        right = await client.get(
            "/metrics", headers=[(b"authorization", b"Bearer " + token.encode())]
        )
        assert right.status_code == 200, right.text
        latin1 = b"Bearer " + token.encode("latin-1")  # the same text, other bytes
        assert_401(
            await client.get("/metrics", headers=[(b"authorization", latin1)]), token_sent=True
        )


async def test_v13_4_metrics_are_open_without_a_metrics_token() -> None:
    async with serve(make_settings()) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "http_requests_total" in response.text
