import pytest
from tests.test_inbox_fuzz import post_and_check, encode, World
from tests.test_inbox_fuzz import world  # noqa: F401

def prop(**extra):
    obj = {"id": "$new-note", "type": "Note", "attributedTo": "$alice", "purpose": "request", "content": "x", "publishes": {"type": "Intent", "action": "deliverService"}, "to": ["$public"]}
    for k, v in extra.items():
        if k in ("resourceQuantity", "availableQuantity", "finished", "resourceConformsTo"):
            obj["publishes"][k] = v
        else:
            obj[k] = v
    return {"id": "$new-activity", "type": "Create", "actor": "$alice", "object": obj}

CASES = [
    prop(resourceQuantity={"hasNumericalValue": "1e999"}),
    prop(availableQuantity="-1e999"),
    prop(resourceQuantity=1e308),
    prop(startTime="0001-01-01T00:00:00+14:00"),
    prop(endTime="9999-12-31T23:59:59-14:00"),
    prop(published="0001-01-01T00:00:00+14:00"),
    prop(published="9999-12-31T23:59:59-14:00"),
    prop(location={"latitude": True, "longitude": 1e308, "name": 5}),
    prop(location={"latitude": 10**30, "longitude": -10**30}),
    prop(contentMap={"en": 5}),
    prop(contentMap={"en": ["x"]}, content=None),
    prop(name=["x"]),
    prop(url={"id": 5}),
    prop(tag=[{"type": "Mention", "href": "$org"}] * 3),
    prop(resourceConformsTo={"id": ["x"]}),
    prop(resourceConformsTo=["https://nabuur.org/ns/category/diy"]),
    prop(inReplyTo="$post"),
    prop(inReplyTo=["$post"]),
    prop(attributedTo=["$alice", "$bob"]),
    prop(to=[{"id": 5}, None, 3]),
    {"id": "$new-activity", "type": "Create", "actor": "$alice", "object": {"id": "$new-note", "type": "Note", "attributedTo": "$alice", "inReplyTo": "$post", "contentMap": {"en": 5}}},
    {"id": "$new-activity", "type": "Create", "actor": "$alice", "object": {"id": "$new-note", "type": "Note", "attributedTo": "$alice", "inReplyTo": "$post", "content": "x" * 200000}},
    {"id": "$new-activity", "type": "Update", "actor": "$alice", "object": {"id": "$alice", "type": "Person", "inbox": "$alice-inbox", "publicKey": [{"id": "$alice-key", "owner": "$alice", "publicKeyPem": "$alice-pem"}], "preferredUsername": ["x"], "name": {"a": 1}, "icon": {"url": ["x"]}, "endpoints": {"sharedInbox": 5}, "url": {"id": "x"}}},
    {"id": "$new-activity", "type": "Update", "actor": "$alice", "object": {"id": "$alice", "type": "Person", "inbox": "$alice-inbox", "publicKey": {"id": "$alice-key", "owner": "$alice", "publicKeyPem": "-----BEGIN PUBLIC KEY-----junk"}}},
    {"id": "$new-activity", "type": "Flag", "actor": "$alice", "object": ["$post"] * 50, "content": ["x"], "summary": {"a": 1}},
    {"id": "$new-activity", "type": "Flag", "actor": "$alice", "object": ["$greet"], "content": "x" * 100000, "summary": "x" * 10000},
    {"id": "$new-activity", "type": "Offer", "actor": "$alice", "object": {"type": "Agreement", "stipulates": {"satisfies": "$post"}}, "content": ["x"]},
    {"id": "$new-activity", "type": "Offer", "actor": "$alice", "object": {"type": "Agreement", "stipulates": {"satisfies": {"id": "$post"}}}, "content": "x" * 200000},
    {"id": "$new-activity", "type": "Announce", "actor": "$alice", "object": {"type": "Create", "object": {"id": ["$alice-object"]}}},
    {"id": "$new-activity", "type": "Undo", "actor": "$alice", "object": {"type": "Follow", "object": {"id": 5}}},
]

@pytest.mark.parametrize("case", range(len(CASES)))
async def test_case(world, case):
    await post_and_check(world, "/inbox", encode(world.resolve(CASES[case]), True))
