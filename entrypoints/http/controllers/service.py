"""Service routes: liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, head

from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.problems import HttpProblem, problem_response
from entrypoints.http.schemas import Health
from entrypoints.readiness import ReadinessProbe


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
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Any]:
        probe: ReadinessProbe = request.app.state.readiness
        failures = await probe.failures()
        if failures:
            problem = HttpProblem(
                503, "not-ready", "Service not ready", "; ".join(failures.values()), checks=failures
            )
            return problem_response(request, problem)
        return Response(Health(status="ok"))

    @get("/openapi.json", include_in_schema=False)
    async def openapi(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        return request.app.openapi_schema.to_schema()

    @get("/metrics", media_type=MediaType.TEXT, include_in_schema=False)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        metrics: HttpMetrics = request.app.state.metrics
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
