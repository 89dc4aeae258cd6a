"""Service routes: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, MediaType, Request, Response, get, head

from adapters.rate_limits import LimitStore
from entrypoints.http.api_document import api_document
from entrypoints.http.guards import checked, metrics_token
from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.problems import HttpProblem, problem_response
from entrypoints.http.schemas import Health
from entrypoints.readiness import ReadinessProbe, degradations


class ServiceController(Controller):
    path = "/"
    tags = ["service"]

    @get("/health", summary="The process is up")
    async def health(self) -> Health:
        return Health(status="ok")

    @head("/health", include_in_schema=False)
    async def health_head(self) -> None:
        """For load balancers that probe with HEAD."""

    @get("/health/ready", summary="The database answers and its schema is current")
    @inject
    async def ready(
        self,
        request: Request[Any, Any, Any],
        probe: FromDishka[ReadinessProbe],
        limits: FromDishka[LimitStore],
    ) -> Response[Any]:
        failures, degraded = await asyncio.gather(probe.failures(), degradations(limits))
        if failures:
            problem = HttpProblem(
                503,
                "not-ready",
                "Service not ready",
                "; ".join(failures.values()),
                checks={**failures, **degraded},
            )
            return problem_response(request, problem)
        if degraded:  # still ready: the status stays 200, the body says what is degraded
            return Response({"status": "degraded", "checks": degraded})
        return Response(Health(status="ok"))

    @get("/openapi.json", include_in_schema=False)
    async def openapi(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        return api_document(request.app)

    @get(
        "/metrics",
        media_type=MediaType.TEXT,
        middleware=[checked(metrics_token)],
        include_in_schema=False,
    )
    @inject
    async def metrics(self, metrics: FromDishka[HttpMetrics]) -> Response[bytes]:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
