"""The declared state graphs allow exactly their transitions and check their own shape."""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest

from node.errors import IllegalTransition
from node.states import (
    FOLLOW_GRAPH,
    MAIL_GRAPH,
    OFFER_GRAPH,
    POST_GRAPH,
    FollowStatus,
    MailStatus,
    OfferStatus,
    PostStatus,
    StateGraph,
)

GRAPHS: dict[str, tuple[StateGraph, type[StrEnum]]] = {
    "post": (POST_GRAPH, PostStatus),
    "offer": (OFFER_GRAPH, OfferStatus),
    "follow": (FOLLOW_GRAPH, FollowStatus),
    "mail": (MAIL_GRAPH, MailStatus),
}


def _pairs(declared: bool) -> list[pytest.param]:
    params = []
    for label, (graph, _) in GRAPHS.items():
        for source, target in itertools.product(sorted(graph.states), repeat=2):
            if graph.allows(source, target) is declared:
                params.append(pytest.param(graph, source, target, id=f"{label}:{source}->{target}"))
    return params


DECLARED = _pairs(True)
UNDECLARED = _pairs(False)


def test_pairs_were_generated() -> None:
    declared = sum(len(t) for g, _ in GRAPHS.values() for t in g.transitions.values())
    every = sum(len(g.states) ** 2 for g, _ in GRAPHS.values())
    assert len(DECLARED) == declared == 8 + 6 + 3 + 3
    assert len(DECLARED) + len(UNDECLARED) == every


@pytest.mark.parametrize(("graph", "source", "target"), DECLARED)
def test_declared_transition_is_allowed(graph: StateGraph, source: str, target: str) -> None:
    assert graph.allows(source, target)
    graph.check(source, target)  # does not raise


@pytest.mark.parametrize(("graph", "source", "target"), UNDECLARED)
def test_undeclared_transition_raises(graph: StateGraph, source: str, target: str) -> None:
    assert not graph.allows(source, target)
    with pytest.raises(IllegalTransition) as caught:
        graph.check(source, target)
    assert (caught.value.graph, caught.value.source, caught.value.target) == (
        graph.name,
        source,
        target,
    )


def test_post_graph_is_exactly_the_agreed_one() -> None:
    """Hardcoded on purpose: a change to the post life cycle must change this test too."""
    p = PostStatus
    expected = {
        (p.OPEN, p.MATCHED),
        (p.OPEN, p.DONE),
        (p.OPEN, p.WITHDRAWN),
        (p.OPEN, p.EXPIRED),
        (p.MATCHED, p.OPEN),
        (p.MATCHED, p.DONE),
        (p.MATCHED, p.WITHDRAWN),
        (p.DONE, p.OPEN),
    }
    legal = {(s, t) for s, targets in POST_GRAPH.transitions.items() for t in targets}
    assert legal == expected
    assert POST_GRAPH.initial == p.OPEN
    assert POST_GRAPH.terminal == {p.WITHDRAWN, p.EXPIRED}


@pytest.mark.parametrize("label", GRAPHS)
def test_graph_declares_every_status_of_its_enum(label: str) -> None:
    graph, enum = GRAPHS[label]
    assert graph.states == set(enum)


def test_check_accepts_plain_strings_and_rejects_unknown_states() -> None:
    POST_GRAPH.check("open", "matched")
    with pytest.raises(IllegalTransition):
        POST_GRAPH.check("archived", "open")
    with pytest.raises(IllegalTransition):
        POST_GRAPH.check("open", "archived")


def test_graph_rejects_unknown_initial_state() -> None:
    with pytest.raises(ValueError, match="initial state 'start' is not declared"):
        StateGraph("g", "start", {"a": {"b"}, "b": set()})


def test_graph_rejects_undeclared_target() -> None:
    with pytest.raises(ValueError, match=r"'a' leads to undeclared \['c'\]"):
        StateGraph("g", "a", {"a": {"b", "c"}, "b": set()})


def test_graph_rejects_self_loop() -> None:
    with pytest.raises(ValueError, match="'b' loops onto itself"):
        StateGraph("g", "a", {"a": {"b"}, "b": {"b"}})


def test_graph_rejects_unreachable_state() -> None:
    with pytest.raises(ValueError, match=r"unreachable states \['c', 'd'\]"):
        StateGraph("g", "a", {"a": {"b"}, "b": set(), "c": {"d"}, "d": {"c"}})


def test_well_formed_graph_is_accepted() -> None:
    graph = StateGraph("g", "a", {"a": {"b"}, "b": {"a", "c"}, "c": frozenset()})
    assert graph.states == {"a", "b", "c"}
    assert graph.terminal == {"c"}
    assert graph.allows("b", "a") and not graph.allows("a", "c")
