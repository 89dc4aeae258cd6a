"""Typed settings from the environment and an optional ``.env`` file (the environment wins)."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec
from dotenv import dotenv_values
from limits import parse

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_BYTES = 32
# Values people paste from examples; a production server refuses to sign with them.
PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "your-secret-here",
        "replace-me-with-at-least-32-random-bytes",
        "dev-secret-change-me-dev-secret-change-me",
    }
)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    app_env: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    better_auth_secret: str | None = None
    jwt_expiration_hours: float = 0.25
    refresh_token_expiration_days: float = 14
    jwt_issuer: str = "todo-api"
    jwt_audience: str = "todo-api"
    login_failure_limit: str = "5/15 minutes"
    auth_rate_limit: str = "20/minute"
    cors_origins: str = (
        "http://localhost:3000,http://localhost:5173,http://127.0.0.1:3000,http://127.0.0.1:5173"
    )
    redis_url: str | None = None
    log_level: str = "INFO"
    log_format: Literal["json", "console"] | None = None
    trusted_proxies: str = ""
    hsts: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    web_concurrency: int = 1
    database_pool_size: int = 20
    database_max_overflow: int = 0
    hash_concurrency: int | None = None  # password hashes at once; default: the CPU count
    api_rate_limit: str = "1000/minute"  # per user on authenticated routes, per IP on refresh
    body_timeout: float = 10.0  # seconds for a request body to arrive after its headers
    database_statement_timeout: float = 5.0  # seconds any one SQL statement may run
    max_tasks_per_user: int = 10_000
    max_sessions_per_user: int = 50
    metrics_token: str | None = None  # when set, /metrics wants `Authorization: Bearer <it>`
    # A Better Auth front end whose tokens are accepted beside ours (unset: none is).
    external_jwt_issuer: str | None = None  # its origin, as its tokens' `iss` names it
    external_jwt_audience: str | None = None  # default: the issuer
    external_jwks_url: str | None = None  # default: {issuer}/api/auth/jwks
    external_jwt_shared_secret: bool = False  # HS256 with BETTER_AUTH_SECRET instead of a JWKS
    startup_timeout: float = 30.0  # seconds start-up retries an unreachable database
    shutdown_timeout: float = 20.0  # seconds in-flight requests get to finish after SIGTERM
    todo_storage: Literal["postgres", "memory"] = "postgres"
    smtp_url: str | None = None  # unset: reset mail goes to `outbox/` in the data folder (dev)
    mail_from: str = "Todo <no-reply@localhost>"
    public_url: str | None = None  # where the web app is; default http://{HOST}:{PORT}
    password_reset_minutes: float = 30  # decimal, like the other lifetimes
    data_dir: str = str(PROJECT_ROOT / ".data")

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def in_memory(self) -> bool:
        """``TODO_STORAGE=memory``: no database at all (a demo; data is lost on exit)."""
        return self.todo_storage == "memory"

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def trusted_proxy_networks(self) -> tuple[IpNetwork, ...]:
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in self.trusted_proxies.split(",")
            if p.strip()
        )

    @property
    def access_token_seconds(self) -> int:
        return max(1, round(self.jwt_expiration_hours * 3600))

    @property
    def refresh_token_seconds(self) -> int:
        return max(1, round(self.refresh_token_expiration_days * 86400))

    @property
    def public_base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        # A wildcard listening address is no place to send a browser to.
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def password_reset_enabled(self) -> bool:
        """Production sends reset mail only through SMTP; without it the routes are absent."""
        return bool(self.smtp_url) or not self.production

    @property
    def external_issuer(self) -> str | None:
        issuer = (self.external_jwt_issuer or "").strip().rstrip("/")
        return issuer or None

    @property
    def external_audience(self) -> str | None:
        return self.external_jwt_audience or self.external_issuer

    @property
    def external_jwks(self) -> str | None:
        issuer = self.external_issuer
        return self.external_jwks_url or (f"{issuer}/api/auth/jwks" if issuer else None)

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.app_env == "development" else "json")


class SettingsError(ValueError):
    pass


_ALIASES = {"NEON_DB_URL": "database_url", "TODO_DATA_DIR": "data_dir"}


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    env_file = env_file or Path.cwd() / ".env"
    merged: dict[str, str] = (
        {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        if env_file.is_file()
        else {}
    )
    merged.update(os.environ if environ is None else environ)
    fields = {f.name for f in msgspec.structs.fields(Settings)}
    values: dict[str, str] = {}
    for alias, name in _ALIASES.items():
        if merged.get(alias):
            values[name] = merged[alias]
    for key, value in merged.items():
        name = key.lower()
        if name in fields and value != "":
            values[name] = value
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise SettingsError(f"invalid configuration: {error}") from error
    check_settings(settings)
    return settings


MIN_SECRET_DISTINCT_BYTES = 16
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` has too little entropy to sign with, or ``None``. Never says the secret."""
    from adapters.security.common_passwords import CommonPasswords

    raw = secret.encode("utf-8", "surrogatepass")
    if len(set(secret)) == 1:
        return "is one repeated character"
    if len(raw) % 2 == 0 and all(c in HEX_DIGITS for c in secret):
        # Hex spells bytes: count those, or `openssl rand -hex 32` (at most 16 distinct
        # characters) would be refused one time in four for want of a digit.
        raw = bytes.fromhex(secret)
    if len(set(raw)) < MIN_SECRET_DISTINCT_BYTES:
        return f"has fewer than {MIN_SECRET_DISTINCT_BYTES} distinct bytes"
    # The shortest period (prefix function): "abcabcab" is "abc" repeated.
    border = [0] * len(secret)
    for i in range(1, len(secret)):
        k = border[i - 1]
        while k and secret[i] != secret[k]:
            k = border[k - 1]
        border[i] = k + (secret[i] == secret[k])
    if len(secret) - border[-1] <= len(secret) // 2:
        return "is a short pattern repeated"
    # Dictionary words: the common-password list (entries of 8 characters and more) inside it.
    common = CommonPasswords.bundled()
    for start in range(len(secret)):
        for end in range(start + 8, min(len(secret), start + 64) + 1):
            if secret[start:end] in common:
                return "contains a common password or dictionary word"
    return None


def check_settings(settings: Settings) -> None:
    if settings.production:
        secret = settings.better_auth_secret
        if not secret:
            raise SettingsError("BETTER_AUTH_SECRET is required when APP_ENV=production")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"BETTER_AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if secret.strip().lower() in PLACEHOLDER_SECRETS:
            raise SettingsError("BETTER_AUTH_SECRET is a placeholder; generate a random one")
        if weakness := secret_weakness(secret):
            raise SettingsError(
                f"BETTER_AUTH_SECRET {weakness}; generate a random one"
                " (e.g. `openssl rand -base64 48`)"
            )
    elif (
        settings.better_auth_secret and len(settings.better_auth_secret.encode()) < MIN_SECRET_BYTES
    ):
        raise SettingsError(f"BETTER_AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes")
    try:
        settings.trusted_proxy_networks  # noqa: B018 - parse now, fail at start-up
    except ValueError as error:
        raise SettingsError(f"TRUSTED_PROXIES: {error}") from error
    if settings.smtp_url:
        from adapters.mail.smtp import check_smtp_url

        if problem := check_smtp_url(settings.smtp_url):
            raise SettingsError(problem)
    if not settings.password_reset_minutes > 0:  # NaN too
        raise SettingsError("PASSWORD_RESET_MINUTES must be a positive number of minutes")
    check_external_tokens(settings)
    for name in ("login_failure_limit", "auth_rate_limit", "api_rate_limit"):
        try:
            parse(getattr(settings, name))
        except ValueError as error:
            raise SettingsError(f"{name.upper()}: {error}") from error


def check_external_tokens(settings: Settings) -> None:
    issuer = settings.external_issuer
    if issuer is None:
        return
    if issuer == settings.jwt_issuer:
        raise SettingsError("EXTERNAL_JWT_ISSUER must differ from JWT_ISSUER")
    if settings.external_jwt_shared_secret and not settings.better_auth_secret:
        # A generated development secret is one the front end cannot sign with.
        raise SettingsError("EXTERNAL_JWT_SHARED_SECRET=true needs BETTER_AUTH_SECRET set")
    urls = {"EXTERNAL_JWT_ISSUER": issuer}
    if not settings.external_jwt_shared_secret:
        urls["EXTERNAL_JWKS_URL"] = settings.external_jwks or ""
    for name, url in urls.items():
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SettingsError(f"{name} must be an http(s) URL, such as http://localhost:3000")
