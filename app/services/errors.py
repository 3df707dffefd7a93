"""Expected failures a user can cause, each with a Japanese message, a code and an HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every user-visible failure; the web layer turns it into a page or a JSON error."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        # A lazily translated message becomes text in the request's language here, so a JSON body
        # or a log line never meets a lazy string.
        message = str(message)
        super().__init__(message)
        self.message = message
        self.fields = {key: str(value) for key, value in (fields or {}).items()}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidInput(ServiceError):
    status = 422
    code = "invalid_input"


class ProcessFailure(ServiceError):
    """The engine refused to advance (a failing script or expression); nothing was saved."""

    status = 422
    code = "process_error"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"
