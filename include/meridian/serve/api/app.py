"""The FastAPI app: routes built from the endpoint declarations, the error format, OpenAPI at /api/v1.

Every error is the envelope ``{"success": false, "error": {"parameter", "message"}}``:
FastAPI's own 422 becomes a 400 naming the parameter, unknown paths are 404, and
an unexpected failure is logged and answered 500 without details (a bug to fix:
the tests fuzz every endpoint for it).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from meridian.serve.api.endpoint import Endpoint
from meridian.serve.api.errors import ApiError
from meridian.serve.api.routes import ENDPOINTS
from meridian.serve.api.service import ApiService, to_json

log = logging.getLogger(__name__)

BASE = "/api/v1"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean", "const": False},
        "error": {"type": "object", "properties": {"parameter": {"type": ["string", "null"]},
                                                   "message": {"type": "string"}}},
    },
}
ERROR_RESPONSES = {
    str(status): {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for status, text in ((400, "Bad parameter (named in error.parameter)"), (401, "Missing, unknown or revoked key"),
                         (404, "Unknown path or id"), (429, "Rate limit exceeded (see Retry-After)"),
                         (503, "Warehouse unavailable or marts not built yet"))
}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _route(endpoint: Endpoint):
    async def route(request: Request) -> Response:
        service: ApiService = request.app.state.service
        body = None
        if endpoint.method == "POST":
            raw = await request.body()
            body = raw
        query: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            query.setdefault(name, []).append(value)
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            answer = await run_in_threadpool(service.answer, endpoint, query, headers, dict(request.path_params), body)
        except ApiError as error:
            return error_response(error)
        if answer.status == 304:
            return Response(status_code=304, headers=answer.headers)
        return Response(answer.body, status_code=answer.status, headers=answer.headers, media_type=answer.media_type)

    route.__name__ = endpoint.handler.__name__
    return route


def _health_route():
    async def health(request: Request) -> Response:
        from meridian.serve.api.health import health_answer

        service: ApiService = request.app.state.service
        client = request.client.host if request.client else "unknown"
        try:
            status, data = await run_in_threadpool(health_answer, service, client)
        except ApiError as error:
            return error_response(error)
        body = {"success": status == 200, "data": data, "as_of": data.get("as_of"), "cached": False,
                "generatedAt": datetime.now(UTC).isoformat(timespec="milliseconds")}
        return Response(to_json(body), status_code=status, media_type="application/json")

    return health


def _download_route():
    async def download(request: Request, id: str, name: str) -> Response:  # noqa: A002 - the path's name
        from fastapi.responses import FileResponse

        from meridian.serve.api.report_jobs import download as find_file

        service: ApiService = request.app.state.service
        try:
            path = find_file(service, id, name, request.query_params.get("expires"),
                             request.query_params.get("signature"))
        except ApiError as error:
            return error_response(error)
        return FileResponse(path, filename=name)

    return download


def create_app(service: ApiService | None = None) -> FastAPI:
    """The API; the service (pool, cache, limiter) is created from the environment on first use."""
    # the docs page's Swagger UI script and styles are served by the app itself (fastapi-offline), not a CDN:
    # the page works on a machine without internet access
    app = FastAPIOffline(
        title="Meridian KPI API",
        version="1.0",
        description="Read-only KPIs of one tenant per key (docs/api.md). Auth: `Authorization: Bearer <key>`.",
        openapi_url=f"{BASE}/openapi.json",
        docs_url=f"{BASE}/docs",
        redoc_url=None,
        static_url=f"{BASE}/docs/static",
    )
    app.state.service = service if service is not None else _LazyService()

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body", "header")]
        parameter = location[-1] if location else None
        return error_response(ApiError(400, f"{parameter or 'request'}: {first.get('msg', 'invalid')}", parameter))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = {404: f"no such path: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(error.status_code, str(error.detail))
        return error_response(ApiError(error.status_code, message, headers=dict(error.headers or {})))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(ApiError(500, "internal error; it has been logged"))

    app.add_api_route(f"{BASE}/health", _health_route(), methods=["GET"], tags=["health"],
                      summary="Warehouse reachable, last runs and freshness, cache statistics (no key needed)",
                      responses={"503": {"description": "Stale or unreachable"}})
    app.add_api_route(f"{BASE}/analytics/reports/{{id}}/files/{{name}}", _download_route(), methods=["GET"],
                      tags=["analytics"], summary="A rendered report file (a signed, expiring link; no key needed)",
                      responses=ERROR_RESPONSES)
    for endpoint in ENDPOINTS:
        parameters: list[dict[str, Any]] = [item for param in endpoint.params for item in param.openapi()]
        extra: dict[str, Any] = {"parameters": parameters, "security": [{"bearer": []}]}
        if endpoint.method == "POST":
            from meridian.serve.api.report_jobs import GENERATE_BODY_SCHEMA

            extra["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": GENERATE_BODY_SCHEMA}}}
        app.add_api_route(f"{BASE}{endpoint.path}", _route(endpoint), methods=[endpoint.method], tags=[endpoint.tag],
                          summary=endpoint.summary, openapi_extra=extra, responses=ERROR_RESPONSES,
                          status_code=endpoint.status)

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class _LazyService:
    """Creates the real service on first attribute access (no connection at import, e.g. in Airflow)."""

    def __init__(self) -> None:
        self._service: ApiService | None = None

    def __getattr__(self, name: str) -> Any:
        if self._service is None:
            object.__setattr__(self, "_service", ApiService.from_environment())
        return getattr(self._service, name)
