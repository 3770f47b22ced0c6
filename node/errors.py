"""Domain errors raised by services; web, admin and federation map them to responses."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every rule the domain refuses to break."""

    status = 400


class InvalidInput(DomainError):
    """A value is missing or out of range; `field` names it for forms and APIs.

    `message` may hold `%(name)s` placeholders filled from `params`: forms translate
    the template first and fill it in afterwards, so the numbers survive translation.
    """

    def __init__(self, field: str, message: str, **params: object) -> None:
        self.field = field
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(f"{field}: {self.message}")


class InvalidFields(InvalidInput):
    """Several fields of one form are bad: `errors` lists each; the first is this error."""

    def __init__(self, errors: list[InvalidInput]) -> None:
        first = errors[0]
        super().__init__(first.field, first.template, **first.params)
        self.errors = errors


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    """The action clashes with what is stored (a duplicate, no free slot)."""

    status = 409


class IllegalTransition(Conflict):
    """A state change that the declared state graph does not allow."""

    def __init__(self, graph: str, source: str, target: str) -> None:
        super().__init__(f"{graph}: cannot go from {source!r} to {target!r}")
        self.graph = graph
        self.source = source
        self.target = target


class RateLimited(DomainError):
    """Too many attempts; try again after `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
