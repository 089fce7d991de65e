"""How failures of dependencies become HTTP answers: never a bare 500.

503 (with ``Retry-After``) when a store or Kafka refused, 504 when another service did not
answer in time; the ``detail`` says which.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from servicekit.logging import get_logger
from services.router.api.limits import validation_error
from services.router.errors import (
    DispatchFailed,
    RetrievalUnavailable,
    ServiceTimeout,
    StoreUnavailable,
)

_log = get_logger(__name__)


def install(app: FastAPI) -> None:
    """Register the error mapping on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    app.add_exception_handler(DispatchFailed, _unavailable)
    app.add_exception_handler(RetrievalUnavailable, _unavailable)
    app.add_exception_handler(ServiceTimeout, _timeout)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    _log.warning("dependency_unavailable", path=request.url.path, error=str(exc)[:300])
    return JSONResponse(
        status_code=503,
        content={"detail": f"temporarily unavailable: {exc}; retry later"},
        headers={"Retry-After": "1"},
    )


async def _timeout(request: Request, exc: Exception) -> JSONResponse:
    _log.warning("dependency_timeout", path=request.url.path, error=str(exc)[:300])
    return JSONResponse(status_code=504, content={"detail": f"{exc}; retry later"})
