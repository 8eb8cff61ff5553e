"""Errors of the onboarding service.

The tree, below the shared ``ChainwatchError``::

    ChainwatchError
    ├── DatasetError             a line of german.data cannot be read as an applicant
    ├── InvalidRequestError      a request is not a valid applicant (every bad field named)
    ├── NoModelError             no onboarding model is loaded: nothing can be scored
    └── ModelRefusedError        a stored version cannot serve (wrong features or encoding)

``InvalidRequestError`` and ``NoModelError`` become error replies (HTTP 422 and 503 and
their NATS equivalents); the others stop training or keep the serving model in place.
"""

from __future__ import annotations

from chainwatch.shared.errors import ChainwatchError
from chainwatch.shared.onboarding import FieldError


class DatasetError(ChainwatchError):
    """``german.data`` is not as its documentation describes it."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source} line {line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


class InvalidRequestError(ChainwatchError):
    """The request body is not a valid ``OnboardingRequest``; ``field_errors`` says where."""

    def __init__(self, message: str, field_errors: list[FieldError]) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors


class NoModelError(ChainwatchError):
    """No version of the model has been promoted and loaded yet."""

    def __init__(self, model_name: str) -> None:
        super().__init__(f"no version of {model_name} is loaded; train and promote one")
        self.model_name = model_name


class ModelRefusedError(ChainwatchError):
    """A stored version does not fit the attributes this service knows."""

    def __init__(self, model_name: str, version: str, reason: str) -> None:
        super().__init__(f"{model_name} {version} refused: {reason}")
        self.model_name = model_name
        self.version = version
        self.reason = reason
