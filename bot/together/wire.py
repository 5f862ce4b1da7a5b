"""Pydantic pieces both Together APIs' models share: a lenient timestamp and Together's error envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidatorFunctionWrapHandler, WrapValidator


def _datetime_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime | None:
    # An odd timestamp should not make a whole endpoint list unreadable.
    try:
        result: datetime | None = handler(value)
    except ValidationError:
        return None
    return result


LenientDatetime = Annotated[datetime | None, WrapValidator(_datetime_or_none)]


class ErrorData(BaseModel):
    """The inside of Together's error body `{"error": {"message", "type", "param", "code"}}` (§6.1)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    message: str | None = None
    type: str | None = None
    param: Any = None
    code: str | None = None


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: ErrorData
