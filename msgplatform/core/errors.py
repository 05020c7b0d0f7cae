"""Domain errors raised by services; entry points turn them into form errors, pages or problem+json."""


class DomainError(Exception):
    """A refused operation, with a machine-readable code and a message for people.

    `field` names the input that caused it when there is one, so forms and the API can put it at the field.
    """

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, status=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.field = field


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 400


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404
