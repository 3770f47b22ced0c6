"""Who follows an organisation: a list for its own staff, a count for everyone else.

A resident following a social-services NGO says something about them; the followers
collection (ActivityPub) shows only `totalItems`, and the organisation's staff find the
names on their dashboard.
"""

from __future__ import annotations

from node.models import Follow, FollowTarget
from node.services import follows
from node.timeutil import utcnow
from tests import factories
from tests.webclient import browser


async def test_staff_see_who_follows_others_see_a_count(database: str) -> None:
    await factories.node_row()
    els, stranger = await factories.account("els"), await factories.account("sam")
    org = await factories.organisation("buurthuis", staff=[els])
    await factories.organisation("andere-vzw", staff=[stranger])
    fatima = await factories.account("fatima")
    await follows.follow(fatima, org)
    await Follow.filter(follower=fatima).update(status="accepted")
    assert await Follow.filter(target_kind=FollowTarget.ORGANISATION).count() == 1

    [entry] = await follows.followers_of(org)
    assert (entry.name, entry.handle, entry.local) == ("Fatima", "@fatima", True)
    assert entry.since <= utcnow()
    async with browser(database) as web:
        await web.log_in_as(els)
        page = await web.get("/admin/o/buurthuis/followers")
        assert page.status_code == 200 and "Fatima" in page.text and "@fatima" in page.text
        collection = await web.get(
            "/o/buurthuis/followers", headers={"accept": "application/activity+json"}
        )
        body = collection.json()
        assert body["totalItems"] == 1 and "orderedItems" not in body and "first" not in body
        assert "fatima" not in collection.text
    async with browser(database) as web:
        await web.log_in_as(stranger)  # staff of another organisation
        assert (await web.get("/admin/o/buurthuis/followers")).status_code == 403
