"""Declared state graphs for requests/offers, offers of help, follows and the
federation queues (received activities, deliveries).

Every status change goes through `StateGraph.check` (or, for an UPDATE of many rows,
filters on `StateGraph.sources`), so a transition that is not declared here cannot
happen. Each graph checks its own shape when the module is imported: every state
reachable from the start, terminal states without exits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    # Still waiting when the request was filled, done, withdrawn or expired: answered
    # "thank you, no longer needed" (a decline the author did not have to make).
    NOT_NEEDED = "not_needed"


class FollowStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class MailStatus(StrEnum):
    """One e-mail to one address (`MailMessage`); stored in the database under these values."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good by the SMTP server, or out of attempts
    CANCELLED = "cancelled"  # no longer wanted (address changed, unsubscribed)


class InboxStatus(StrEnum):
    """A received activity (`InboxItem`); stored in the database under these values."""

    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"  # understood, nothing to do (not for us, unknown type)
    REJECTED = "rejected"  # broke a rule (origin, permissions, malformed object, suspended)
    RETRY = "retry"  # a temporary failure (a fetch timed out); tried again later


class DeliveryStatus(StrEnum):
    """One activity to one inbox (`Delivery`); stored in the database under these values."""

    PENDING = "pending"  # waiting for its `next_attempt_at` (also between retries)
    SENT = "sent"
    FAILED = "failed"  # permanently: gave up, or the inbox said it never will
    CANCELLED = "cancelled"  # the post was deleted, the host blocked, or an admin said so


class StateGraph:
    """A named set of states, a start state and the allowed moves between them."""

    def __init__(
        self,
        name: str,
        initial: str,
        transitions: Mapping[str, frozenset[str] | set[str]],
        *,
        repeatable: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.initial = initial
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}
        # States that may be entered again from themselves (a retry after a retry); any
        # other loop is a mistake in the declaration.
        self.repeatable = repeatable
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
            if source in targets and source not in self.repeatable:
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

    def sources(self, target: str) -> frozenset[str]:
        """The states that may move to `target`: what an UPDATE of many rows filters on."""
        return frozenset(s for s, targets in self.transitions.items() if target in targets)

    def checked(self, sources: Iterable[str], target: str) -> list[str]:
        """`sources`, after checking that each may move to `target` (for a filtered UPDATE)."""
        listed = list(sources)
        for source in listed:
            self.check(source, target)
        return listed


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
        Of.OFFERED: {Of.ACCEPTED, Of.DECLINED, Of.WITHDRAWN, Of.NOT_NEEDED},
        # An accepted helper can still drop out, or be released by the author.
        Of.ACCEPTED: {Of.WITHDRAWN, Of.DECLINED},
        Of.DECLINED: set(),
        Of.WITHDRAWN: set(),
        Of.NOT_NEEDED: set(),
    },
)


class PostAction(StrEnum):
    """What people do on a help post besides moving it along POST_GRAPH."""

    EDIT = "edit"
    OFFER = "offer"  # offer help (or take up an offer)
    COMMENT = "comment"
    ACCEPT = "accept"  # accept a helper into a slot
    DECLINE = "decline"  # decline an offer, or release an accepted helper
    WITHDRAW_OFFER = "withdraw-offer"  # a helper takes their offer back
    RENEW = "renew"  # push the expiry further


# The statuses in which each action is allowed; the services refuse it in any other (and
# the post's page draws no button for it). A finished post (done, withdrawn, expired)
# takes no more answers: its waiting offers were told they are not needed
# (`offer_closure`), and releasing a helper or withdrawing an offer from help that was
# given means nothing. A done one may be reopened: then its offers may change again.
_LIVE = {P.OPEN, P.MATCHED}
POST_ACTIONS: Mapping[PostAction, frozenset[PostStatus]] = {
    PostAction.EDIT: frozenset(_LIVE),
    PostAction.OFFER: frozenset({P.OPEN}),
    PostAction.COMMENT: frozenset(_LIVE),
    PostAction.ACCEPT: frozenset({P.OPEN}),
    PostAction.DECLINE: frozenset(_LIVE),
    PostAction.WITHDRAW_OFFER: frozenset(_LIVE),
    PostAction.RENEW: frozenset(_LIVE),
}


def post_allows(status: str, action: PostAction) -> bool:
    """Whether `action` may be done on a post in `status`."""
    return status in POST_ACTIONS[action]


FOLLOW_GRAPH = StateGraph(
    "follow",
    F.PENDING,
    {
        F.PENDING: {F.ACCEPTED, F.REJECTED},
        # Unfollowing deletes the row; the followed may remove a follower from elsewhere
        # (answered with Reject, kept so a late Undo still finds it).
        F.ACCEPTED: {F.REJECTED},
        F.REJECTED: set(),
    },
)

In, D = InboxStatus, DeliveryStatus

INBOX_GRAPH = StateGraph(
    "inbox item",
    In.PENDING,
    {
        In.PENDING: {In.PROCESSED, In.IGNORED, In.REJECTED, In.RETRY},
        # A retry may fail again (until the worker gives up: rejected).
        In.RETRY: {In.PROCESSED, In.IGNORED, In.REJECTED, In.RETRY},
        In.PROCESSED: set(),
        In.IGNORED: set(),
        In.REJECTED: set(),
    },
    repeatable=frozenset({In.RETRY}),
)

DELIVERY_GRAPH = StateGraph(
    "delivery",
    D.PENDING,
    {
        # Retries stay pending (with a later `next_attempt_at`): not a status change.
        D.PENDING: {D.SENT, D.FAILED, D.CANCELLED},
        # An admin's "retry now" puts a failed delivery back in the queue (one more
        # attempt, then the usual policy); "cancel" dismisses it for good.
        D.FAILED: {D.PENDING, D.CANCELLED},
        D.SENT: set(),
        D.CANCELLED: set(),
    },
)

M = MailStatus

MAIL_GRAPH = StateGraph(
    "e-mail",
    M.PENDING,
    {
        # Retries stay pending (with a later `next_attempt_at`), as deliveries do.
        M.PENDING: {M.SENT, M.FAILED, M.CANCELLED},
        M.SENT: set(),
        M.FAILED: set(),
        M.CANCELLED: set(),
    },
)
