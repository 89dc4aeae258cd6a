"""Settings, database URLs as people paste them, and client addresses behind proxies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters.postgres.engine import database_target
from entrypoints.http.client_ip import client_ip
from entrypoints.setting_groups import MailSettings
from entrypoints.settings import SettingsError, load_settings
from entrypoints.signing_secret import signing_secret

NO_ENV_FILE = Path("/nonexistent/.env")
STRONG = "Kq7-vN2x_Rb9mT4pLw8Zc3Hy6Fd1Gs5J"  # 32 bytes, no repeats: passes the entropy checks


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(environ=env, env_file=NO_ENV_FILE)


def test_defaults() -> None:
    s = settings()
    assert (s.host, s.port, s.app_env, s.todo_storage) == (
        "127.0.0.1",
        8000,
        "development",
        "postgres",
    )
    assert s.access_token_seconds == 900
    assert s.refresh_token_seconds == 14 * 86400
    assert s.cors_origin_list == (
        "http://localhost:3000",
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://127.0.0.1:5173",
    )


def test_environment_values_are_typed() -> None:
    s = settings(
        JWT_EXPIRATION_HOURS="0.5",
        PORT="9000",
        HSTS="true",
        CORS_ORIGINS="https://a.dev/, https://b.dev",
    )
    assert (s.access_token_seconds, s.port, s.hsts) == (1800, 9000, True)
    assert s.cors_origin_list == ("https://a.dev", "https://b.dev")
    with pytest.raises(SettingsError):
        settings(PORT="eighty")


def test_neon_alias_and_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("NEON_DB_URL=postgresql://u:p@ep-x.neon.tech/db\nLOG_LEVEL=DEBUG\n")
    s = load_settings(environ={"LOG_LEVEL": "WARNING"}, env_file=env_file)
    assert s.database_url == "postgresql://u:p@ep-x.neon.tech/db"
    assert s.log_level == "WARNING"  # the environment wins over the file


@pytest.mark.parametrize(
    "secret",
    [None, "short", "change-me", "replace-me-with-at-least-32-random-bytes"],
)
def test_production_refuses_missing_short_or_placeholder_secrets(secret: str | None) -> None:
    env = {"APP_ENV": "production"}
    if secret:
        env["BETTER_AUTH_SECRET"] = secret
    with pytest.raises(SettingsError):
        settings(**env)


def test_production_accepts_a_strong_secret() -> None:
    assert settings(APP_ENV="production", BETTER_AUTH_SECRET=STRONG).production


def test_development_generates_and_keeps_a_secret_per_data_folder(tmp_path: Path) -> None:
    first = signing_secret(settings(TODO_DATA_DIR=str(tmp_path)))
    again = signing_secret(settings(TODO_DATA_DIR=str(tmp_path)))
    assert first == again
    assert len(first) >= 32
    assert (tmp_path / "auth-secret").stat().st_mode & 0o077 == 0


def test_bad_rate_limits_and_proxies_fail_at_start() -> None:
    with pytest.raises(SettingsError):
        settings(AUTH_RATE_LIMIT="lots")
    with pytest.raises(SettingsError):
        settings(TRUSTED_PROXIES="not-an-ip")


def test_neon_url_as_pasted() -> None:
    target = database_target(
        "postgresql://alex:pw@ep-cool-1.eu-central-1.aws.neon.tech/neondb"
        "?sslmode=require&channel_binding=require"
    )
    assert target.url.drivername == "postgresql+asyncpg"
    assert target.url.host == "ep-cool-1.eu-central-1.aws.neon.tech"
    assert target.url.password == "pw"
    assert dict(target.url.query) == {}
    assert target.connect_args == {"ssl": "require"}
    assert not target.pooled


def test_pooled_endpoint_disables_prepared_statement_caches() -> None:
    target = database_target(
        "postgres://alex:pw@ep-cool-1-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require"
    )
    assert target.pooled
    assert target.connect_args["statement_cache_size"] == 0
    assert callable(target.connect_args["prepared_statement_name_func"])
    assert target.url.query["prepared_statement_cache_size"] == "0"
    bouncer = database_target("postgresql://u@db:6432/app?pgbouncer=true")
    assert bouncer.pooled


def test_libpq_parameters_become_connect_arguments() -> None:
    target = database_target(
        "postgresql://u@/app?host=/run/pg&port=5433&connect_timeout=5&application_name=todo"
    )
    assert target.connect_args == {
        "host": "/run/pg",
        "port": 5433,
        "timeout": 5.0,
        "server_settings": {"application_name": "todo"},
    }
    assert "pw" not in database_target("postgresql://u:pw@h/db").render()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h/db?sslmode=sometimes"])
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"PostgreSQL|sslmode"):
        database_target(url)


def test_forwarded_for_is_trusted_only_from_trusted_proxies() -> None:
    proxies = settings(TRUSTED_PROXIES="10.0.0.0/8").trusted_proxy_networks
    assert client_ip("198.51.100.9", "1.2.3.4", proxies) == "198.51.100.9"
    assert client_ip("10.0.0.5", "1.2.3.4", proxies) == "1.2.3.4"
    assert client_ip("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.7", proxies) == "1.2.3.4"
    assert client_ip("10.0.0.5", None, proxies) == "10.0.0.5"


def test_mail_settings() -> None:
    s = settings()
    assert (s.smtp_url, s.password_reset_minutes) == (None, 30)
    assert s.public_base_url == "http://127.0.0.1:8000"
    assert settings(HOST="10.0.0.5", PORT="9000").public_base_url == "http://10.0.0.5:9000"
    assert settings(HOST="0.0.0.0").public_base_url == "http://localhost:8000"  # noqa: S104
    assert settings(HOST="::1").public_base_url == "http://[::1]:8000"
    assert settings(PUBLIC_URL="https://todo.example/").public_base_url == "https://todo.example"
    assert settings().password_reset_enabled  # development: the outbox
    production = {"APP_ENV": "production", "BETTER_AUTH_SECRET": STRONG}
    assert not settings(**production).password_reset_enabled
    assert settings(**production, SMTP_URL="smtps://u:p@mail.example").password_reset_enabled


def test_bad_mail_settings_stop_the_server_without_the_password() -> None:
    with pytest.raises(SettingsError) as refused:
        settings(SMTP_URL="http://user:s3cret@mail.example")
    assert "s3cret" not in str(refused.value)
    for nonsense in ("0", "-1", "nan"):
        with pytest.raises(SettingsError, match="PASSWORD_RESET_MINUTES"):
            settings(PASSWORD_RESET_MINUTES=nonsense)


def test_lifetimes_may_be_decimal() -> None:
    """Short lifetimes, as a test of expiry sets them: seconds, not whole minutes or hours."""
    short = settings(PASSWORD_RESET_MINUTES="0.05", JWT_EXPIRATION_HOURS="0.001")
    assert MailSettings.of(short).reset_lifetime == timedelta(seconds=3)
    assert short.access_token_seconds == 4
