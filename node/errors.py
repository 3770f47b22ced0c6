"""Domain errors raised by services; web, admin and federation map them to responses."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every rule the domain refuses to break."""

    status = 400


class InvalidInput(DomainError):
    """A value is missing or out of range; `field` names it for forms and APIs."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
