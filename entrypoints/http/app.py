"""The composition root for HTTP: ``create_app(container, settings)`` builds the ASGI app."""

from __future__ import annotations

import gc
from typing import Any

from dishka import AsyncContainer
from dishka.integrations.litestar import setup_dishka
from litestar import Litestar, Router
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.ext.asyncio import AsyncEngine

from application.auth_ports import PasswordHasher, TokenVerifier
from entrypoints.http.body import MAX_BODY_BYTES
from entrypoints.http.controllers.auth import AuthController
from entrypoints.http.controllers.password_reset import PasswordResetController
from entrypoints.http.controllers.service import ServiceController
from entrypoints.http.controllers.tasks import TasksController
from entrypoints.http.docs import FinishedDocument, SwaggerUIPage
from entrypoints.http.guards import checked, own_account
from entrypoints.http.hot_routes import HotRouteParts, HotTaskRoutes
from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.middleware import EdgeMiddleware
from entrypoints.http.problems import handle_exception
from entrypoints.http.query_errors import handle_invalid_parameters
from entrypoints.http.task_requests import query_shape
from entrypoints.http.web import web_app_routes
from entrypoints.readiness import ReadinessProbe
from entrypoints.setting_groups import HttpSettings
from entrypoints.settings import Settings

API_DESCRIPTION = """\
Accounts with JWT sessions and per-user tasks. Every route also answers under the unversioned
prefix `/api/...`. Errors are RFC 9457 problem details (`application/problem+json`)."""


def unknown_docs_page(_: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Litestar answers unknown ``/docs/...`` paths with an HTML page; ours is a problem."""
    if handler.handler_name == "handle_schema_path_not_found":
        raise NotFoundException()


def _pool_reading(engine: AsyncEngine) -> dict[str, int]:
    pool: Any = engine.pool
    return {"checked_out": pool.checkedout(), "idle": pool.checkedin(), "size": pool.size()}


def create_app(container: AsyncContainer, settings: Settings, *, hot_routes: bool = True) -> Any:
    """The ASGI app: Litestar, behind the hot routes (unless ``hot_routes`` is false: tests
    compare both ways), inside the middleware every response passes through."""
    app = build_litestar(container, settings)
    hot = HotTaskRoutes(app)
    http = HttpSettings.of(settings)
    edge = EdgeMiddleware(
        hot,
        origins=http.cors_origins,
        hsts=http.hsts,
        metrics=None,  # the container's, from start-up on (no request comes before)
        body_timeout=http.body_timeout,
    )

    async def measure(_: Litestar) -> None:
        edge.metrics = await container.get(HttpMetrics)
        if hot_routes:
            hot.parts = await container.get(HotRouteParts)

    app.on_startup.append(measure)
    return edge


def build_litestar(container: AsyncContainer, settings: Settings) -> Litestar:
    """Nothing is connected here: the engine is created on start-up and disposed on shutdown."""

    async def on_startup(app: Litestar) -> None:
        metrics = await container.get(HttpMetrics)
        if not settings.in_memory:
            engine = await container.get(AsyncEngine)
            metrics.watch_pool(lambda: _pool_reading(engine))
            metrics.start_sampling()
        for service in (TokenVerifier, PasswordHasher, ReadinessProbe):  # now, not on a request
            await container.get(service)
        # Everything built so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise walk it all and stall every request in flight.
        gc.freeze()

    async def on_shutdown(_: Litestar) -> None:
        await container.close()

    app = Litestar(
        route_handlers=[
            ServiceController,
            Router(
                "/api/v1",
                route_handlers=[
                    AuthController,
                    TasksController,
                    # In production without SMTP_URL no reset mail can go out: no such routes.
                    *([PasswordResetController] if settings.password_reset_enabled else []),
                ],
                middleware=[checked(query_shape)],
            ),
            Router(
                "/api/v1/{user_id:str}",
                route_handlers=[TasksController],
                middleware=[checked(query_shape, own_account)],
                include_in_schema=False,
            ),
            *web_app_routes(),
        ],
        exception_handlers={
            Exception: handle_exception,
            ValidationException: handle_invalid_parameters,
        },
        request_max_body_size=MAX_BODY_BYTES,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=OpenAPIConfig(
            title="Todo API",
            version="1.0.0",
            description=API_DESCRIPTION,
            path="/docs",
            render_plugins=[SwaggerUIPage(), FinishedDocument()],
            openapi_router=Router(
                "/docs", route_handlers=[], guards=[unknown_docs_page], include_in_schema=False
            ),
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        logging_config=None,
        debug=False,
    )
    setup_dishka(container, app)
    return app
