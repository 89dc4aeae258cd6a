"""Settings of external tokens (API.md, "External tokens")."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import Settings, SettingsError
from entrypoints.settings import load_settings as load_from


def load_settings(environ: dict[str, str]) -> Settings:
    return load_from(environ, env_file=Path(__file__).with_name("no-such.env"))


def test_unset_issuer_disables_external_tokens() -> None:
    settings = load_settings({})
    assert (settings.external_issuer, settings.external_jwks) == (None, None)


def test_audience_and_jwks_url_default_from_the_issuer() -> None:
    settings = load_settings({"EXTERNAL_JWT_ISSUER": "http://localhost:3000/"})
    assert settings.external_issuer == "http://localhost:3000"
    assert settings.external_audience == "http://localhost:3000"
    assert settings.external_jwks == "http://localhost:3000/api/auth/jwks"


def test_audience_and_jwks_url_can_be_set() -> None:
    settings = load_settings(
        {
            "EXTERNAL_JWT_ISSUER": "https://app.example",
            "EXTERNAL_JWT_AUDIENCE": "todo-api-clients",
            "EXTERNAL_JWKS_URL": "https://keys.example/jwks.json",
            "EXTERNAL_JWT_SHARED_SECRET": "true",
            "BETTER_AUTH_SECRET": "a-secret-the-front-end-shares-0123456789",
        }
    )
    assert settings.external_audience == "todo-api-clients"
    assert settings.external_jwks == "https://keys.example/jwks.json"
    assert settings.external_jwt_shared_secret


@pytest.mark.parametrize(
    "environ",
    [
        {"EXTERNAL_JWT_ISSUER": "localhost:3000"},
        {"EXTERNAL_JWT_ISSUER": "ftp://files.example"},
        {"EXTERNAL_JWT_ISSUER": "http://localhost:3000", "EXTERNAL_JWKS_URL": "/api/auth/jwks"},
        {"EXTERNAL_JWT_ISSUER": "https://same.example", "JWT_ISSUER": "https://same.example"},
        {"EXTERNAL_JWT_ISSUER": "https://app.example", "EXTERNAL_JWT_SHARED_SECRET": "true"},
    ],
)
def test_unusable_external_settings_stop_the_start(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(environ)
