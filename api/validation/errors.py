"""Validation outside a request (CLI, jobs, simulator) refuses with the gateway's format."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.core.errors import Unprocessable

M = TypeVar("M", bound=BaseModel)


def error_details(exc: ValidationError) -> list[dict[str, Any]]:
    # Same shape as the gateway's RequestValidationError details; input values never echoed.
    return [{"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_input=False)]


def validate(model: type[M], data: Any) -> M:
    """`model.model_validate(data)`, refusing with Unprocessable(code=validation_error)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = error_details(exc)
        where = ".".join(details[0]["loc"]) or "input"
        raise Unprocessable(f"{where}: {details[0]['msg']}", code="validation_error",
                            details=details) from None
