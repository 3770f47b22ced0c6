"""Hypothesis strategies for the inbox fuzz (tests/test_inbox_fuzz.py).

They draw activities of every type the inbox handles, with objects of every family
(replies, requests and offers, actors, follows, reactions, agreements, tombstones,
bare ids), then mutate them field by field into arbitrary JSON: nulls, booleans, huge,
negative and fractional numbers, numbers spelled as strings, nested lists and objects,
very long strings, right-to-left and escaped surrogate text, HTML junk, and dates in
the years 0, 1, 9999 and 99999. `bodies` also draws arbitrary JSON documents.

Addresses are placeholders ("$alice", "$post", ...): the test replaces them with the
addresses of its own world (the fake remote's port, its posts' ids) after drawing, so
examples stay readable, reproducible, and can be written by hand as `@example`.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

AS = "https://www.w3.org/ns/activitystreams"
VF = "https://w3id.org/valueflows/ont/vf#"
DELETE = object()  # a mutation that removes the field

# Every placeholder the test world resolves (see test_inbox_fuzz.World.resolve).
LOCAL_ACTORS = ["$hood", "$greet", "$org", "$instance"]
LOCAL_POSTS = ["$post", "$followers-post", "$members-post", "$org-post", "$missing-post"]
REMOTE = ["$alice", "$bob", "$new-note", "$alice-object", "$elsewhere", "$new-activity"]
KNOWN = ["$our-follow", "$their-follow", "$their-like", "$alice-inbox", "$alice-key"]
PLACEHOLDERS = LOCAL_ACTORS + LOCAL_POSTS + REMOTE + KNOWN + ["$public", "$followers"]

ODD_TIMES = [
    "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00", "99999-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z", "2026-06-01T24:00:00Z", "2026-06-01", "2026-06-01T12:00:00",
    "2026-06-01T12:00:00.123456789Z", "20260601T120000Z", "-2026-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z", "yesterday",
]  # fmt: skip
ODD_STRINGS = [
    "", " ", "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e308", "9" * 400, "-0",
    "0x10", "null", "true", "\x00", "a\x00b",
    "\u202e\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea",
    "\u200f\u200e\u2066\u2069", "\ufeff\ufffe\uffff", "\U0001f600\U0001f1e7\U0001f1ea",
    "<script>alert(1)</script>", '<a href="javascript:alert(1)">x</a>',
    "<img src=x onerror=alert(1)>", "<p>" * 300, "</p></div></body>",
    "&#0;&#x0;&#xD800;&#1114112;&bogus;", "<![CDATA[x]]><!--", "<svg><style>*{}</style></svg>",
    "http://", "https://", "http://[::1", "http://127.0.0.1:9/x", "ftp://127.0.0.1/x",
    "javascript:alert(1)", "data:text/html,x", "acct:alice@127.0.0.1", "../../etc/passwd",
    "%00%ZZ", "as:Public", "Public", "https://nabuur.org/ns/category/diy",
    "https://nabuur.org/ns/category/../../x", "request", "offer", *ODD_TIMES,
]  # fmt: skip

TIMES = st.one_of(
    st.sampled_from(ODD_TIMES),
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))]
        ),
    ).map(datetime.isoformat),
)
LONG_TEXT = st.builds(
    lambda s, n: s * n, st.sampled_from(["x", "é ", "<b>", "\u202e"]), st.integers(1000, 60_000)
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    st.text(st.characters(categories=["Cs", "Co", "Cc", "Zl", "Zp", "Mn"]), max_size=8),
    st.sampled_from(ODD_STRINGS),
    st.sampled_from(PLACEHOLDERS),
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 2**64, 10**30, 1e308, -1e-308, 0.5]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT, TIMES)
KEYS = st.one_of(
    st.sampled_from(["id", "type", "actor", "object", "href", "url", "hasNumericalValue", "@id"]),
    st.text(max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
# What replaces a field: anything, now and then a long string or nothing at all.
JUNK = st.one_of(JSON, JSON, JSON, LONG_TEXT, st.just(DELETE))

HTML = st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=60), LONG_TEXT)
ADDRESS = st.sampled_from(["$public", "$followers", "as:Public", "$greet", "$alice", "$bob"])
AUDIENCE = st.one_of(ADDRESS, st.lists(ADDRESS, max_size=3))
LANGS = st.sampled_from(["en", "nl", "fr", "", "x" * 40, "und"])
MENTIONS = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["Mention", "Hashtag"]), "href": st.sampled_from(PLACEHOLDERS)}
    ),
    max_size=3,
)
REPLY_TARGETS = st.sampled_from([*LOCAL_POSTS, "$alice-object", "$elsewhere"])
NOTE_IDS = st.sampled_from(["$new-note", "$new-note", "$alice-object", "$elsewhere", "$post"])


def _note_fields() -> dict[str, Any]:
    return {
        "inReplyTo": REPLY_TARGETS,
        "to": AUDIENCE,
        "cc": AUDIENCE,
        "published": TIMES,
        "updated": TIMES,
        "contentMap": st.dictionaries(LANGS, HTML, max_size=3),
        "summary": HTML,
        "tag": MENTIONS,
        "url": st.sampled_from(PLACEHOLDERS),
        "sensitive": st.booleans(),
    }


NOTE = st.fixed_dictionaries(
    {
        "id": NOTE_IDS,
        "type": st.sampled_from(["Note", "Article", "Page", "Question"]),
        "attributedTo": st.just("$alice"),
        "content": HTML,
    },
    optional=_note_fields(),
)
QUANTITY = st.one_of(
    st.fixed_dictionaries({"hasUnit": st.just("one"), "hasNumericalValue": SCALARS}),
    SCALARS,
)
INTENT = st.fixed_dictionaries(
    {"type": st.just("Intent"), "action": st.sampled_from(["deliverService", "transfer"])},
    optional={
        "resourceConformsTo": st.sampled_from(
            [f"https://nabuur.org/ns/category/{c}" for c in ("diy", "transport", "nope", "")]
        ),
        "resourceQuantity": QUANTITY,
        "availableQuantity": QUANTITY,
        "finished": st.one_of(st.booleans(), SCALARS),
    },
)
PLACE = st.fixed_dictionaries(
    {"type": st.just("Place"), "name": HTML},
    optional={"latitude": SCALARS, "longitude": SCALARS},
)
PROPOSAL = st.fixed_dictionaries(
    {
        "id": NOTE_IDS,
        "type": st.sampled_from(["Note", "Proposal", "Page", "Article"]),
        "attributedTo": st.just("$alice"),
        "purpose": st.sampled_from(["request", "offer"]),
        "content": HTML,
        "publishes": INTENT,
    },
    optional={
        **_note_fields(),
        "name": HTML,
        "location": PLACE,
        "startTime": TIMES,
        "endTime": TIMES,
        "@context": st.just([AS, {"vf": VF}]),
    },
)
ACTOR = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["$alice", "$alice", "$bob"]),
        "type": st.sampled_from(["Person", "Group", "Organization", "Service", "Application"]),
        "inbox": st.just("$alice-inbox"),
        "publicKey": st.just({"id": "$alice-key", "owner": "$alice", "publicKeyPem": "$alice-pem"}),
    },
    optional={
        "preferredUsername": TEXT,
        "name": HTML,
        "summary": HTML,
        "icon": st.fixed_dictionaries({"type": st.just("Image"), "url": SCALARS}),
        "endpoints": st.fixed_dictionaries({"sharedInbox": SCALARS}),
        "followers": SCALARS,
        "url": SCALARS,
        "manuallyApprovesFollowers": SCALARS,
    },
)
FOLLOW = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["$their-follow", "$our-follow", "$new-activity"]),
        "type": st.just("Follow"),
        "actor": st.sampled_from(["$alice", "$instance"]),
        "object": st.sampled_from([*LOCAL_ACTORS, "$alice"]),
    }
)
REACTION = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["$their-like", "$new-activity"]),
        "type": st.sampled_from(["Like", "Announce"]),
        "actor": st.just("$alice"),
        "object": st.sampled_from(LOCAL_POSTS),
    }
)
AGREEMENT = st.fixed_dictionaries(
    {
        "type": st.just("Agreement"),
        "stipulates": st.fixed_dictionaries(
            {"type": st.just("Commitment"), "satisfies": st.sampled_from(LOCAL_POSTS)}
        ),
    }
)
TOMBSTONE = st.fixed_dictionaries(
    {"id": st.sampled_from(REMOTE + LOCAL_POSTS), "type": st.just("Tombstone")}
)
BARE = st.sampled_from(PLACEHOLDERS)
ANNOUNCED = st.fixed_dictionaries(
    {"type": st.sampled_from(["Create", "Update", "Delete"]), "object": PROPOSAL | BARE}
)

OBJECTS: dict[str, st.SearchStrategy[Any]] = {
    "Create": st.one_of(NOTE, PROPOSAL, ACTOR, BARE),
    "Update": st.one_of(NOTE, PROPOSAL, ACTOR),
    "Delete": st.one_of(BARE, TOMBSTONE, NOTE),
    "Follow": st.one_of(BARE, ACTOR),
    "Accept": st.one_of(FOLLOW, BARE),
    "Reject": st.one_of(FOLLOW, BARE),
    "Undo": st.one_of(FOLLOW, REACTION, BARE),
    "Announce": st.one_of(BARE, ANNOUNCED, PROPOSAL),
    "Like": BARE,
    "Flag": st.one_of(BARE, st.lists(BARE, max_size=4)),
    "Offer": st.one_of(AGREEMENT, NOTE),
    "Block": BARE,
}
# Mostly types we handle (the richest first: generation favours the first choice), now
# and then anything at all.
TYPES = st.sampled_from([*OBJECTS, None]).flatmap(lambda t: TEXT if t is None else st.just(t))


@st.composite
def valid_looking(draw: st.DrawFn) -> dict[str, Any]:
    """An activity of a type we handle about an object of a family we handle."""
    kind = draw(TYPES)
    obj = draw(OBJECTS.get(kind, JSON))
    activity: dict[str, Any] = {
        "@context": AS,
        "id": "$new-activity",
        "type": kind,
        "actor": "$alice",
        "object": obj,
    }
    for name, value in draw(
        st.dictionaries(
            st.sampled_from(["to", "cc", "published", "content", "summary", "target"]),
            st.one_of(AUDIENCE, HTML, TIMES),
            max_size=3,
        )
    ).items():
        activity[name] = value
    return activity


CHECKED_FIRST = [("id",), ("type",), ("actor",)]
TOP_KEYS = ("object", "to", "cc", "published", "content", "@context")
OBJECT_KEYS = (
    "id", "type", "attributedTo", "inReplyTo", "content", "contentMap", "to", "cc",
    "published", "startTime", "endTime", "name", "purpose", "publishes", "location", "tag",
    "url", "object", "stipulates", "publicKey", "inbox",
)  # fmt: skip


def _paths(value: Any, prefix: tuple = (), depth: int = 0) -> list[tuple]:
    """Every field and list item in `value`, as paths of keys and indexes."""
    if depth > 4 or not isinstance(value, dict | list):
        return []
    found: list[tuple] = []
    for key, inner in value.items() if isinstance(value, dict) else enumerate(value):
        found.append((*prefix, key))
        found.extend(_paths(inner, (*prefix, key), depth + 1))
    return found


def _set(document: Any, path: tuple, value: Any) -> None:
    holder = document
    for key in path[:-1]:
        holder = holder[key]
    if value is DELETE:
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
        else:
            del holder[path[-1]]
    else:
        holder[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-looking activity with up to four fields replaced by arbitrary JSON."""
    # A copy: `st.just` hands out the same dict every time, and mutations change it.
    activity = copy.deepcopy(draw(valid_looking()))
    for _ in range(draw(st.integers(0, 4))):
        paths = [path for path in _paths(activity) if path not in CHECKED_FIRST]
        paths += [(k,) for k in TOP_KEYS if k not in activity]
        if isinstance(activity.get("object"), dict):
            paths += [("object", k) for k in OBJECT_KEYS if k not in activity["object"]]
        _set(activity, draw(st.sampled_from(paths)), draw(JUNK))
    # Now and then one of the fields the inbox checks first: more often, and nothing
    # would get past the inbox.
    if draw(st.sampled_from([False] * 7 + [True])):
        _set(activity, draw(st.sampled_from(CHECKED_FIRST)), draw(JUNK))
    return activity


# Activities that reach the parsers: a reply to our post, a new request, an update of
# a remote post or of the sender, an offer of help, a report.
DEEP = st.one_of(
    NOTE.map(lambda o: {**o, "id": "$new-note", "inReplyTo": "$post"}).map(lambda o: ("Create", o)),
    PROPOSAL.map(lambda o: ("Create", {**o, "id": "$new-note"})),
    PROPOSAL.map(lambda o: ("Update", {**o, "id": "$alice-object"})),
    ACTOR.map(lambda o: ("Update", {**o, "id": "$alice"})),
    AGREEMENT.map(lambda o: ("Offer", o)),
    st.lists(BARE, min_size=1, max_size=4).map(lambda o: ("Flag", o)),
)
ROUTING = [("id",), ("type",), ("actor",), ("object",), ("object", "id"), ("object", "type")]
ROUTING += [("object", "attributedTo"), ("object", "purpose")]
HOSTILE = st.one_of(
    st.sampled_from(ODD_STRINGS), NUMBERS, TIMES, st.none(), st.booleans(),
    st.lists(SCALARS, max_size=3), st.dictionaries(KEYS, SCALARS, max_size=3), LONG_TEXT,
)  # fmt: skip


@st.composite
def hostile(draw: st.DrawFn) -> dict[str, Any]:
    """An activity that reaches a parser, with one to six of the fields it reads (not
    those that route it there) replaced by odd values: many at once, often."""
    kind, obj = draw(DEEP)
    activity = copy.deepcopy({"id": "$new-activity", "type": kind, "actor": "$alice"})
    activity["object"] = obj = copy.deepcopy(obj)
    for _ in range(draw(st.integers(1, 6))):
        paths = [path for path in _paths(activity) if path not in ROUTING]
        paths += [(k,) for k in ("content", "summary")]
        if isinstance(obj, dict):
            paths += [("object", k) for k in OBJECT_KEYS if k not in obj]
        _set(activity, draw(st.sampled_from(paths)), draw(HOSTILE))
    return activity


def encode(document: Any, ascii_only: bool) -> bytes:
    """JSON as other servers may write it: NaN and huge integers included, lone
    surrogates escaped (`ascii_only`) or written as the invalid bytes they are."""
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# Whole documents: anything at all at the top, or an object that has the fields the
# inbox checks first, with anything in them.
DOCUMENTS = st.one_of(
    JSON,
    st.dictionaries(
        st.sampled_from(["id", "type", "actor", "object", "to", "@context", "signature"]),
        JSON,
        max_size=6,
    ).map(lambda d: {"id": "$new-activity", "type": "Create", "actor": "$alice", **d}),
    st.just([]),
    st.just("Follow"),
)
