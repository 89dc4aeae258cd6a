"""The composition root's wiring: dishka providers for every port and use case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import NewType

from dishka import (
    AnyOf,
    AsyncContainer,
    Provider,
    Scope,
    from_context,
    make_async_container,
    provide,
)
from dishka.integrations.litestar import LitestarProvider
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.mail.background import SEND_TIMEOUT_SECONDS, BackgroundAccountMail, Transport
from adapters.mail.outbox import OutboxTransport
from adapters.memory.external_accounts import MemoryExternalAccounts
from adapters.memory.password_resets import MemoryPasswordResetRepository
from adapters.memory.repositories import MemorySessionRepository, MemoryUserRepository
from adapters.memory.store import MemoryStore
from adapters.memory.tasks import MemoryTaskRepository
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.engine import create_engine, database_target
from adapters.postgres.external_accounts import PostgresExternalAccounts
from adapters.postgres.password_resets import PostgresPasswordResetRepository
from adapters.postgres.sessions import PostgresSessionRepository
from adapters.postgres.tasks import PostgresTaskRepository
from adapters.postgres.users import PostgresUserRepository
from adapters.rate_limits import ApiRequestLimiter, AuthRequestLimiter, LimitStore, RateLimiter
from adapters.security.argon2_hasher import Argon2PasswordHasher
from adapters.security.common_passwords import CommonPasswords
from adapters.security.external_tokens import (
    ExternalTokenRouter,
    IssuerVerifier,
    JwksVerifier,
    SharedSecretVerifier,
)
from adapters.security.jwks_keys import JwksKeys
from adapters.security.jwt_tokens import JwtAccessTokens
from adapters.security.refresh_tokens import MacRefreshTokens
from adapters.security.reset_tokens import RandomResetTokens
from adapters.system import SystemClock, UuidV7Generator
from application import account, auth, password_reset, tasks
from application.auth_ports import (
    AccountMail,
    AttemptLimiter,
    ExternalAccounts,
    ExternalTokenVerifier,
    PasswordBlocklist,
    PasswordHasher,
    RefreshTokens,
    ResetRequestLimiter,
    ResetTokens,
    TokenIssuer,
    TokenVerifier,
)
from application.cursors import CursorSigner
from application.external_callers import ExternalCallers
from application.ports import (
    Clock,
    IdentityProvider,
    IdGenerator,
    PasswordResetRepository,
    SessionRepository,
    TaskReader,
    TaskRepository,
    TaskWriter,
    UnitOfWork,
    UserRepository,
)
from entrypoints.http.hot_routes import HotRouteParts, TaskStores
from entrypoints.http.identity import BearerIdentity
from entrypoints.http.metrics import HttpMetrics
from entrypoints.readiness import ReadinessProbe
from entrypoints.setting_groups import (
    AuthSettings,
    DatabaseSettings,
    ExternalTokenSettings,
    HttpSettings,
    LimitSettings,
    MailSettings,
)
from entrypoints.settings import Settings
from entrypoints.signing_secret import signing_secret

SigningSecret = NewType("SigningSecret", bytes)
RESET_REQUESTS_PER_EMAIL = "3/hour"


class CoreProvider(Provider):
    """Process-wide services that hold no database state."""

    settings = from_context(provides=Settings, scope=Scope.APP)
    # Each provider below asks for its group of the settings, not the whole.
    database_settings = provide(DatabaseSettings.of, scope=Scope.APP)
    auth_settings = provide(AuthSettings.of, scope=Scope.APP)
    external_token_settings = provide(ExternalTokenSettings.of, scope=Scope.APP)
    limit_settings = provide(LimitSettings.of, scope=Scope.APP)
    mail_settings = provide(MailSettings.of, scope=Scope.APP)
    http_settings = provide(HttpSettings.of, scope=Scope.APP)

    @provide(scope=Scope.APP)
    async def metrics(self) -> AsyncIterator[HttpMetrics]:
        metrics = HttpMetrics()
        yield metrics
        await metrics.stop()  # its pool sampling, if start-up began one

    @provide(scope=Scope.APP)
    def clock(self) -> Clock:
        return SystemClock()

    @provide(scope=Scope.APP)
    def ids(self) -> IdGenerator:
        return UuidV7Generator()

    @provide(scope=Scope.APP)
    def hasher(self, settings: AuthSettings) -> Iterator[PasswordHasher]:
        hasher = Argon2PasswordHasher(concurrency=settings.hash_concurrency)
        yield hasher
        hasher.close()

    @provide(scope=Scope.APP)
    def blocklist(self) -> PasswordBlocklist:
        return CommonPasswords.bundled()

    @provide(scope=Scope.APP)
    def secret(self, settings: Settings) -> SigningSecret:
        return SigningSecret(signing_secret(settings))

    @provide(scope=Scope.APP)
    def tokens(
        self, settings: AuthSettings, secret: SigningSecret
    ) -> AnyOf[TokenIssuer, TokenVerifier]:
        return JwtAccessTokens(
            secret,
            issuer=settings.issuer,
            audience=settings.audience,
            lifetime_seconds=settings.access_token_seconds,
        )

    @provide(scope=Scope.APP)
    async def external_tokens(
        self, settings: ExternalTokenSettings, secret: SigningSecret
    ) -> AsyncIterator[ExternalTokenVerifier]:
        """The Better Auth front end's tokens: by its JWKS, or by the shared secret."""
        issuer, audience = settings.issuer, settings.audience
        verifiers: dict[str, IssuerVerifier] = {}
        source = None
        if issuer is not None and audience is not None:
            if settings.shared_secret:
                verifiers[issuer] = SharedSecretVerifier(secret, issuer=issuer, audience=audience)
            elif settings.jwks_url is not None:
                # Imported only when used, like SMTP: httpx brings click and more along.
                from adapters.security.jwks_http import HttpJwksSource

                source = HttpJwksSource(settings.jwks_url)
                keys = JwksKeys(source)
                verifiers[issuer] = JwksVerifier(keys, issuer=issuer, audience=audience)
        yield ExternalTokenRouter(verifiers)
        if source is not None:
            await source.close()

    external_callers = provide(ExternalCallers, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def cursor_signer(self, secret: SigningSecret) -> CursorSigner:
        return CursorSigner.from_secret(secret)

    @provide(scope=Scope.APP)
    def refresh_tokens(self, secret: SigningSecret) -> RefreshTokens:
        return MacRefreshTokens(secret)

    @provide(scope=Scope.APP)
    def session_policy(self, settings: AuthSettings) -> auth.SessionPolicy:
        return auth.SessionPolicy(
            refresh_lifetime=settings.refresh_lifetime,
            max_sessions=settings.max_sessions,
        )

    @provide(scope=Scope.APP)
    def task_policy(self, settings: LimitSettings) -> tasks.TaskPolicy:
        return tasks.TaskPolicy(max_tasks=settings.max_tasks)

    @provide(scope=Scope.APP)
    def limits_store(self, settings: LimitSettings) -> LimitStore:
        return LimitStore(settings.redis_url)

    @provide(scope=Scope.APP)
    def auth_request_limiter(
        self, store: LimitStore, settings: LimitSettings
    ) -> AuthRequestLimiter:
        return AuthRequestLimiter(RateLimiter(store, settings.auth_requests, "auth-ip"))

    @provide(scope=Scope.APP)
    def api_request_limiter(self, store: LimitStore, settings: LimitSettings) -> ApiRequestLimiter:
        return ApiRequestLimiter(RateLimiter(store, settings.api_requests, "api"))

    @provide(scope=Scope.APP)
    def login_failure_limiter(self, store: LimitStore, settings: LimitSettings) -> AttemptLimiter:
        return RateLimiter(store, settings.login_failures, "login-failures")

    @provide(scope=Scope.APP)
    def reset_request_limiter(self, store: LimitStore) -> ResetRequestLimiter:
        return RateLimiter(store, RESET_REQUESTS_PER_EMAIL, "password-reset-requests")

    @provide(scope=Scope.APP)
    def reset_tokens(self) -> ResetTokens:
        return RandomResetTokens()

    @provide(scope=Scope.APP)
    def reset_policy(self, settings: MailSettings) -> password_reset.ResetPolicy:
        return password_reset.ResetPolicy(lifetime=settings.reset_lifetime)

    @provide(scope=Scope.APP, provides=AnyOf[AccountMail, BackgroundAccountMail])
    async def account_mail(self, settings: MailSettings) -> AsyncIterator[BackgroundAccountMail]:
        """SMTP when ``SMTP_URL`` is set, else ``.eml`` files in the data folder's outbox."""
        transport: Transport = OutboxTransport(settings.outbox)
        if settings.smtp_url:
            # Imported only when used: aiosmtplib weighs on every worker's memory otherwise.
            from adapters.mail.smtp import SmtpTransport

            transport = SmtpTransport(settings.smtp_url, timeout=SEND_TIMEOUT_SECONDS)
        mail = BackgroundAccountMail(
            transport,
            sender=settings.sender,
            public_url=settings.public_url,
            timeout=SEND_TIMEOUT_SECONDS,
        )
        yield mail
        await mail.drain()  # each delivery is bounded by its timeout


class PostgresProvider(Provider):
    @provide(scope=Scope.APP)
    async def engine(self, settings: DatabaseSettings) -> AsyncIterator[AsyncEngine]:
        if not settings.url:
            raise RuntimeError("DATABASE_URL is not set")
        engine = create_engine(
            database_target(settings.url),
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            statement_timeout=settings.statement_timeout,
        )
        yield engine
        await engine.dispose()

    @provide(scope=Scope.APP)
    def readiness(self, engine: AsyncEngine) -> ReadinessProbe:
        return ReadinessProbe(engine)

    @provide(scope=Scope.APP)
    def pool(self, engine: AsyncEngine) -> ConnectionPool:
        return ConnectionPool(engine)

    @provide(scope=Scope.REQUEST, provides=AnyOf[Database, UnitOfWork])
    async def database(self, pool: ConnectionPool) -> AsyncIterator[Database]:
        database = Database(pool)
        yield database
        await database.close()  # rolls back what a use case began and did not commit

    @provide(scope=Scope.APP)
    def external_accounts(
        self, pool: ConnectionPool, ids: IdGenerator, clock: Clock
    ) -> ExternalAccounts:
        return PostgresExternalAccounts(pool, ids, clock)

    @provide(scope=Scope.APP)
    def task_stores(self, pool: ConnectionPool, clock: Clock) -> TaskStores:
        """For the hot routes, whose use cases run single statements: no unit of work."""
        return lambda: PostgresTaskRepository(Database(pool), clock)

    users = provide(PostgresUserRepository, scope=Scope.REQUEST, provides=UserRepository)
    sessions = provide(PostgresSessionRepository, scope=Scope.REQUEST, provides=SessionRepository)
    tasks = provide(
        PostgresTaskRepository,
        scope=Scope.REQUEST,
        provides=AnyOf[TaskRepository, TaskReader, TaskWriter],
    )
    password_resets = provide(
        PostgresPasswordResetRepository, scope=Scope.REQUEST, provides=PasswordResetRepository
    )


class MemoryProvider(Provider):
    @provide(scope=Scope.APP)
    def store(self) -> MemoryStore:
        return MemoryStore()

    @provide(scope=Scope.APP)
    def readiness(self) -> ReadinessProbe:
        return ReadinessProbe(None)  # no database to ask

    @provide(scope=Scope.REQUEST, provides=UnitOfWork)
    async def uow(self) -> AsyncIterator[MemoryUnitOfWork]:
        uow = MemoryUnitOfWork()
        yield uow
        await uow.close()  # rolls back what a use case began and did not commit

    @provide(scope=Scope.APP)
    def external_accounts(
        self, store: MemoryStore, ids: IdGenerator, clock: Clock
    ) -> ExternalAccounts:
        return MemoryExternalAccounts(store, ids, clock)

    @provide(scope=Scope.APP)
    def task_stores(self, store: MemoryStore, clock: Clock) -> TaskStores:
        return lambda: MemoryTaskRepository(store, clock)

    users = provide(MemoryUserRepository, scope=Scope.REQUEST, provides=UserRepository)
    sessions = provide(MemorySessionRepository, scope=Scope.REQUEST, provides=SessionRepository)
    tasks = provide(
        MemoryTaskRepository,
        scope=Scope.REQUEST,
        provides=AnyOf[TaskRepository, TaskReader, TaskWriter],
    )
    password_resets = provide(
        MemoryPasswordResetRepository, scope=Scope.REQUEST, provides=PasswordResetRepository
    )


class UseCaseProvider(Provider):
    scope = Scope.REQUEST

    session_starter = provide(auth.SessionStarter)
    register = provide(auth.RegisterUser)
    log_in = provide(auth.LogIn)
    refresh = provide(auth.RefreshSession)
    log_out = provide(auth.LogOut)
    log_out_everywhere = provide(auth.LogOutEverywhere)
    current_user = provide(auth.GetCurrentUser)
    update_profile = provide(account.UpdateProfile)
    change_password = provide(account.ChangePassword)
    delete_account = provide(account.DeleteAccount)
    request_password_reset = provide(password_reset.RequestPasswordReset)
    confirm_password_reset = provide(password_reset.ConfirmPasswordReset)
    create_task = provide(tasks.CreateTask)
    get_task = provide(tasks.GetTask)
    list_tasks = provide(tasks.ListTasks)
    update_task = provide(tasks.UpdateTask)
    complete_task = provide(tasks.CompleteTask)
    delete_task = provide(tasks.DeleteTask)
    clear_completed = provide(tasks.ClearCompletedTasks)


class HttpProvider(Provider):
    hot_route_parts = provide(HotRouteParts, scope=Scope.APP)

    @provide(scope=Scope.REQUEST)
    def identity(
        self,
        request: Request,  # type: ignore[type-arg]
        verifier: TokenVerifier,
        external: ExternalCallers,
    ) -> IdentityProvider:
        return BearerIdentity(request.headers.get("authorization"), verifier, external)


def make_container(settings: Settings, *overrides: Provider) -> AsyncContainer:
    """The container for ``settings``; ``overrides`` replace what they provide (a test's fake
    clock, say), since a later provider wins."""
    storage = MemoryProvider() if settings.in_memory else PostgresProvider()
    return make_async_container(
        CoreProvider(),
        storage,
        UseCaseProvider(),
        LitestarProvider(),
        HttpProvider(),
        *overrides,
        context={Settings: settings},
    )
