import pytest
from tests.fuzz_seed import build_world, PASSWORD
from tests.webclient import browser

PROBES = [
    ("/admin/federation/network/followers", {"follow": "²", "decision": "accept"}),
    ("/admin/federation/network/followers", {"follow": "99999999999", "decision": "accept"}),
    ("/admin/federation/network/unfollow", {"follow": "99999999999"}),
    ("/admin/federation/health/deliveries", {"delivery": "²", "action": "retry"}),
    ("/admin/federation/health/deliveries", {"delivery": "999999999999999999", "action": "retry"}),
    ("/admin/invitations", {"action": "revoke", "invitation": "²"}),
    ("/admin/o/buurthuis/staff", {"action": "revoke", "invitation": "²"}),
    ("/admin/o/buurthuis/staff", {"action": "revoke", "invitation": "999999999"}),
    (
        "/new",
        {
            "kind": "request",
            "title": "abc",
            "helpers_needed": "²",
            "action": "preview",
            "category": "transport",
            "neighbourhood": "kuregem",
            "language": "nl",
        },
    ),
    ("/settings", {"action": "followers", "follow_id": "99999999999", "decision": "approve"}),
]
GETS = [
    "/admin/federation?imported=²&updated=1&skipped=1",
    "/n/kuregem/outbox?page=²",
    "/n/kuregem/outbox?page=" + "9" * 5000,
]


@pytest.mark.parametrize("path,fields", PROBES)
async def test_probe(database, path, fields):
    async with browser(database) as web:
        world = await build_world({"admin": web})
        await web.log_in_as(world.accounts["admin"])
        try:
            r = await web.submit(path, fields, page="/settings")
            print(path, fields, r.status_code)
        except Exception as exc:
            pytest.fail(f"{path} {fields}: {type(exc).__name__} {exc}")


@pytest.mark.parametrize("path", GETS)
async def test_get(database, path):
    async with browser(database) as web:
        world = await build_world({"admin": web})
        await web.log_in_as(world.accounts["admin"])
        try:
            r = await web.get(path, headers={"accept": "application/activity+json"})
            print(path[:80], r.status_code)
        except Exception as exc:
            pytest.fail(f"{path[:80]}: {type(exc).__name__} {exc}")
