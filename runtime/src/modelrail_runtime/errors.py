"""The errors the data plane answers on purpose; the HTTP layer turns each into a status.

Messages are for the client: they say what is wrong and what is expected, and never
repeat a value taken from the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar


class DataPlaneError(Exception):
    """Base class: a status code (HTTP, as the protocol's REST binding maps it) and a message."""

    status: ClassVar[int] = 500

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: Mapping[str, str] = MappingProxyType(dict(headers or {}))


class BadRequestError(DataPlaneError):
    """The request breaks the protocol or the model's signature."""

    status = 400


class ModelNotFoundError(DataPlaneError):
    """The request names a model or version this server does not serve."""

    status = 404


class PayloadTooLargeError(DataPlaneError):
    """The request is larger than a limit of the service allows: its body
    (``MAX_BODY_BYTES``), a string in it (``MAX_STRING_BYTES``) or its tensors
    (``MAX_TENSOR_ELEMENTS``). The message names the limit, its setting and its value."""

    status = 413


class UnavailableError(DataPlaneError):
    """The model cannot take the request now (loading, failed, draining); retry later."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, {"Retry-After": "1"})
