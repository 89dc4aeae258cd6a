"""The settings, by concern: what each part of the service is given of them.

``Settings`` is the environment as the contract names it (flat ``DATABASE_URL``, ``JWT_ISSUER``,
…), loaded and checked once. The composition root hands each provider only its group, so a
provider's signature says what it depends on and nothing else leaks in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from entrypoints.settings import IpNetwork, Settings


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str | None
    pool_size: int
    max_overflow: int
    statement_timeout: float  # seconds

    @classmethod
    def of(cls, settings: Settings) -> DatabaseSettings:
        return cls(
            url=settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            statement_timeout=settings.database_statement_timeout,
        )


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """The service's own tokens and sessions, and the password hashing pool."""

    issuer: str
    audience: str
    access_token_seconds: int
    refresh_lifetime: timedelta
    max_sessions: int
    hash_concurrency: int | None

    @classmethod
    def of(cls, settings: Settings) -> AuthSettings:
        return cls(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_token_seconds=settings.access_token_seconds,
            refresh_lifetime=timedelta(seconds=settings.refresh_token_seconds),
            max_sessions=settings.max_sessions_per_user,
            hash_concurrency=settings.hash_concurrency,
        )


@dataclass(frozen=True, slots=True)
class ExternalTokenSettings:
    """A Better Auth front end's tokens: ``issuer`` unset accepts none."""

    issuer: str | None
    audience: str | None
    jwks_url: str | None
    shared_secret: bool

    @classmethod
    def of(cls, settings: Settings) -> ExternalTokenSettings:
        return cls(
            issuer=settings.external_issuer,
            audience=settings.external_audience,
            jwks_url=settings.external_jwks,
            shared_secret=settings.external_jwt_shared_secret,
        )


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Rate limits (in the ``limits`` notation) and quotas; ``redis_url`` shares the windows."""

    login_failures: str
    auth_requests: str
    api_requests: str
    max_tasks: int
    redis_url: str | None

    @classmethod
    def of(cls, settings: Settings) -> LimitSettings:
        return cls(
            login_failures=settings.login_failure_limit,
            auth_requests=settings.auth_rate_limit,
            api_requests=settings.api_rate_limit,
            max_tasks=settings.max_tasks_per_user,
            redis_url=settings.redis_url,
        )


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Password-reset mail: SMTP when ``smtp_url`` is set, else ``.eml`` files in ``outbox``."""

    smtp_url: str | None
    sender: str
    public_url: str
    reset_lifetime: timedelta
    outbox: Path

    @classmethod
    def of(cls, settings: Settings) -> MailSettings:
        return cls(
            smtp_url=settings.smtp_url,
            sender=settings.mail_from,
            public_url=settings.public_base_url,
            reset_lifetime=timedelta(minutes=settings.password_reset_minutes),
            outbox=Path(settings.data_dir) / "outbox",
        )


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """What the HTTP edge needs: browsers, proxies, timeouts and the metrics token."""

    cors_origins: tuple[str, ...]
    trusted_proxies: tuple[IpNetwork, ...]
    hsts: bool
    body_timeout: float  # seconds
    metrics_token: str | None
    external_tokens: bool  # a non-UUID user id in a path may be an external subject

    @classmethod
    def of(cls, settings: Settings) -> HttpSettings:
        return cls(
            cors_origins=settings.cors_origin_list,
            trusted_proxies=settings.trusted_proxy_networks,
            hsts=settings.hsts,
            body_timeout=settings.body_timeout,
            metrics_token=settings.metrics_token,
            external_tokens=settings.external_issuer is not None,
        )
