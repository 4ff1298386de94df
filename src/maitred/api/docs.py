"""The API's own documentation pages: Swagger UI at /docs and ReDoc at /redoc, their assets
served by the hub (the `fastapi-offline` package ships them; no CDN is reached), and an
OpenAPI document that declares how each route authenticates, so "Authorize" works."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs-assets"
SCHEMES = {
    "partnerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The key maitred holds (hashed) for your partner account.",
    },
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's MAITRED_ADMIN_TOKEN.",
    },
}


def install(app: FastAPI) -> None:
    """Mount the pages, their assets and the OpenAPI document with its security schemes."""
    static = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    described = app.openapi  # the document `errors.document_errors` builds

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_security(exact_integers(described()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def exact_integers(node: Any) -> Any:
    """`node` with every bound of an integer spelled as an integer again: FastAPI's OpenAPI
    models keep bounds as floats (`2147483647.0`), which fuzzers and client generators read as
    fractional limits. Bounds are chosen so that a float holds them exactly (below 2**53, or
    2**63 itself: `connectors.mozrest.types.Int64`), so the integer read back is the
    validator's own; tests/api/test_openapi.py fails on any other."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in _BOUNDS:
                value = node.get(key)
                if isinstance(value, float) and value.is_integer():
                    node[key] = int(value)
        for value in node.values():
            exact_integers(value)
    elif isinstance(node, list):
        for value in node:
            exact_integers(value)
    return node


def with_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare both Bearer schemes and which one each operation takes (`/admin` routes the
    admin token, every other route a partner's key)."""
    schema.setdefault("components", {})["securitySchemes"] = SCHEMES
    for path, operations in schema.get("paths", {}).items():
        scheme = "adminToken" if path.startswith("/admin") else "partnerKey"
        for operation in operations.values():
            operation["security"] = [{scheme: []}]
    return schema
