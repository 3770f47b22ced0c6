"""Declared state graphs for requests/offers, offers of help and follows.

Every status change in the services goes through `StateGraph.check`, so a transition
that is not declared here cannot happen. Each graph checks its own shape when the
module is imported: every state reachable from the start, terminal states without exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from node.errors import IllegalTransition


class PostStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    DONE = "done"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class FollowStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class StateGraph:
    """A named set of states, a start state and the allowed moves between them."""

    def __init__(
        self, name: str, initial: str, transitions: Mapping[str, frozenset[str] | set[str]]
    ) -> None:
        self.name = name
        self.initial = initial
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}
        self._validate()

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.transitions)

    @property
    def terminal(self) -> frozenset[str]:
        return frozenset(s for s, targets in self.transitions.items() if not targets)

    def _validate(self) -> None:
        if self.initial not in self.transitions:
            raise ValueError(f"{self.name}: initial state {self.initial!r} is not declared")
        for source, targets in self.transitions.items():
            unknown = targets - self.states
            if unknown:
                raise ValueError(f"{self.name}: {source!r} leads to undeclared {sorted(unknown)}")
            if source in targets:
                raise ValueError(f"{self.name}: {source!r} loops onto itself")
        seen, todo = {self.initial}, [self.initial]
        while todo:
            for target in self.transitions[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        unreachable = self.states - seen
        if unreachable:
            raise ValueError(f"{self.name}: unreachable states {sorted(unreachable)}")

    def allows(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, frozenset())

    def check(self, source: str, target: str) -> None:
        """Raise `IllegalTransition` unless `source -> target` is declared."""
        if not self.allows(source, target):
            raise IllegalTransition(self.name, str(source), str(target))


P, Of, F = PostStatus, OfferStatus, FollowStatus

POST_GRAPH = StateGraph(
    "help post",
    P.OPEN,
    {
        P.OPEN: {P.MATCHED, P.DONE, P.WITHDRAWN, P.EXPIRED},
        # A helper may drop out (back to open); a matched request is finished or withdrawn.
        P.MATCHED: {P.OPEN, P.DONE, P.WITHDRAWN},
        # Reopened when the author finds the job was not finished after all.
        P.DONE: {P.OPEN},
        P.WITHDRAWN: set(),
        P.EXPIRED: set(),
    },
)

OFFER_GRAPH = StateGraph(
    "offer of help",
    Of.OFFERED,
    {
        Of.OFFERED: {Of.ACCEPTED, Of.DECLINED, Of.WITHDRAWN},
        # An accepted helper can still drop out, or be released by the author.
        Of.ACCEPTED: {Of.WITHDRAWN, Of.DECLINED},
        Of.DECLINED: set(),
        Of.WITHDRAWN: set(),
    },
)

FOLLOW_GRAPH = StateGraph(
    "follow",
    F.PENDING,
    {
        F.PENDING: {F.ACCEPTED, F.REJECTED},
        # Unfollowing deletes the row; nothing moves out of these.
        F.ACCEPTED: set(),
        F.REJECTED: set(),
    },
)
