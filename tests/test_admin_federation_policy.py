"""/admin/federation in the browser: the mode, blocks, the allowlist, Mastodon CSV import
and export. Bad input answers 400 with its errors, and nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.models import AuditEntry, DomainPolicy, DomainRule, NodeSettings, Role
from node.services import domain_policy
from tests import factories
from tests.webclient import Browser, browser

PAGE = "/admin/federation"
HEADER = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate"


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    await factories.node_row()
    async with browser(database) as b:
        await b.log_in_as(await factories.account("els", role=Role.ADMIN, languages=["en"]))
        yield b


async def upload(web: Browser, data: bytes, **fields: str) -> object:
    token = await web.token(PAGE)
    return await web.http.post(
        PAGE + "/import",
        data={"csrf_token": token, **fields},
        files={"file": ("blocks.csv", data, "text/csv")},
    )


async def test_an_admin_blocks_a_server_and_the_about_page_lists_it(web: Browser) -> None:
    fields = {
        "domain": "Spam.Example.org",
        "policy": "suspend",
        "reason": "spam wave in May",
        "public_comment": "Spam",
        "obfuscate": "yes",
    }
    response = await web.submit(PAGE + "/blocks", fields, page=PAGE)
    assert response.status_code == 303
    rule = await DomainRule.get(domain="spam.example.org")
    assert (rule.policy, rule.reason, rule.obfuscate) == ("suspend", "spam wave in May", True)
    entry = await AuditEntry.get(action="domain.suspend")
    assert entry.reason == "spam wave in May" and entry.actor_name
    page = await web.get(PAGE)
    assert "spam.example.org" in page.text and "spam wave in May" in page.text
    about = (await web.get("/about")).text
    assert "spam.*******.org" in about and "spam.example.org" not in about

    # Saving the same server again does not quietly downgrade it or lose its comments.
    again = await web.submit(
        PAGE + "/blocks", {"domain": "spam.example.org", "policy": "limit"}, page=PAGE
    )
    assert again.status_code == 400 and "Change the existing rule" in again.text
    kept = await DomainRule.get(domain="spam.example.org")
    assert (kept.policy, kept.public_comment) == ("suspend", "Spam")
    changed = await web.submit(
        PAGE + "/blocks",
        {"domain": "spam.example.org", "policy": "limit", "replace": "yes"},
        page=PAGE,
    )
    assert changed.status_code == 303
    assert (await DomainRule.get(domain="spam.example.org")).policy == "limit"

    lifted = await web.submit(PAGE + "/blocks/remove", {"domain": "spam.example.org"}, page=PAGE)
    assert lifted.status_code == 303
    assert not await DomainRule.exists(domain="spam.example.org")


async def test_idn_is_stored_as_punycode_and_shown_in_unicode(web: Browser) -> None:
    fields = {"domain": "bücher.example", "policy": "limit"}
    assert (await web.submit(PAGE + "/blocks", fields, page=PAGE)).status_code == 303
    assert await DomainRule.exists(domain="xn--bcher-kva.example", policy="limit")
    assert "bücher.example" in (await web.get(PAGE)).text


@pytest.mark.parametrize(
    "fields",
    [
        {"domain": "*.example.org", "policy": "suspend"},
        {"domain": "https://example.org/", "policy": "suspend"},
        {"domain": "", "policy": "suspend"},
        {"domain": "example.org", "policy": "allow"},  # not through the block form
        {"domain": "example.org", "policy": "silence"},
        {"domain": "example.org", "policy": "suspend", "reason": "x" * 301},
        {"domain": "127.0.0.1", "policy": "suspend"},  # ourselves (the test node's host)
    ],
)
async def test_a_bad_block_is_400_and_nothing_is_stored(
    web: Browser, fields: dict[str, str]
) -> None:
    response = await web.submit(PAGE + "/blocks", fields, page=PAGE)
    assert response.status_code == 400
    assert 'class="form-errors"' in response.text
    assert await DomainRule.all().count() == 0
    assert not await AuditEntry.filter(action__startswith="domain.").exists()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(domain=st.text(max_size=40), policy=st.text(max_size=10))
async def test_any_block_form_is_stored_valid_or_refused(
    web: Browser, domain: str, policy: str
) -> None:
    await DomainRule.all().delete()
    response = await web.submit(PAGE + "/blocks", {"domain": domain, "policy": policy}, page=PAGE)
    assert response.status_code in (303, 400)
    stored = await DomainRule.all()
    if response.status_code == 400:
        assert stored == []
    else:
        assert [r.domain for r in stored] == [domain_policy.check_domain(domain)]


async def test_the_allowlist_and_the_mode(web: Browser) -> None:
    added = await web.submit(
        PAGE + "/allowlist", {"allow_domain": "buren.example.nl", "allow_reason": "NL"}, page=PAGE
    )
    assert added.status_code == 303
    mode = await web.submit(
        PAGE + "/mode", {"federation_mode": "allowlist", "mode_reason": "partners"}, page=PAGE
    )
    assert mode.status_code == 303
    assert (await NodeSettings.get(id=1)).federation_mode == "allowlist"
    bad = await web.submit(PAGE + "/mode", {"federation_mode": "everything"}, page=PAGE)
    assert bad.status_code == 400
    assert (await NodeSettings.get(id=1)).federation_mode == "allowlist"
    # A block cannot silently replace an allow rule.
    clash = await web.submit(
        PAGE + "/blocks", {"domain": "buren.example.nl", "policy": "suspend"}, page=PAGE
    )
    assert clash.status_code == 400 and "allowlist" in clash.text
    # Nor does the allowlist's remove button lift blocks.
    await domain_policy.set_domain_policy("spam.example", DomainPolicy.SUSPEND)
    wrong = await web.submit(PAGE + "/allowlist/remove", {"domain": "spam.example"}, page=PAGE)
    assert wrong.status_code == 400
    removed = await web.submit(
        PAGE + "/allowlist/remove", {"domain": "buren.example.nl"}, page=PAGE
    )
    assert removed.status_code == 303
    assert await DomainRule.filter(policy="allow").count() == 0


async def test_a_pinned_mode_is_read_only(database: str) -> None:
    await factories.node_row()
    pinned = {"federation_mode": "NABUUR_FEDERATION_MODE"}
    async with browser(database, federation_mode="off", sources=pinned) as web:
        await web.log_in_as(await factories.account("els", role=Role.ADMIN, languages=["en"]))
        page = await web.get(PAGE)
        assert "NABUUR_FEDERATION_MODE" in page.text and "disabled" in page.text
        response = await web.submit(PAGE + "/mode", {"federation_mode": "open"}, page=PAGE)
        assert response.status_code == 400
        assert (await NodeSettings.get(id=1)).federation_mode is None


async def test_import_with_bad_rows_lists_them_and_stores_nothing(web: Browser) -> None:
    data = f"{HEADER}\ngood.example,suspend,false,false,,false\n*.wild.example,suspend\n"
    response = await upload(web, data.encode())
    assert response.status_code == 400
    assert "wildcards are not accepted" in response.text
    assert '<td data-label="Line">3</td>' in response.text
    assert await DomainRule.all().count() == 0

    chosen = await upload(web, data.encode(), only_good_rows="yes", import_reason="NL list")
    assert chosen.status_code == 303
    assert "added=1" in chosen.headers["location"] and "left_out=1" in chosen.headers["location"]
    assert await DomainRule.exists(domain="good.example")
    assert (await AuditEntry.get(action="domain.imported")).reason == "NL list"
    summary = await web.get(chosen.headers["location"])
    assert "New rules: 1." in summary.text


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x01\x02binary", b"domain,severity\nx.example,suspend\n"]
)
async def test_a_file_that_is_not_a_block_list_is_400(web: Browser, data: bytes) -> None:
    response = await upload(web, data)
    assert response.status_code == 400
    assert 'id="file-error"' in response.text
    assert await DomainRule.all().count() == 0


async def test_export_is_a_mastodon_file(web: Browser) -> None:
    await domain_policy.set_domain_policy("spam.example", DomainPolicy.SUSPEND)
    response = await web.submit(PAGE + "/export.csv", {}, page=PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "private, no-store"
    assert response.text.splitlines() == [HEADER, "spam.example,suspend,false,false,,false"]
    assert await AuditEntry.exists(action="domain.exported")
    # The round trip: the exported file imports without a change.
    assert (await upload(web, response.content)).status_code == 303
    assert await DomainRule.all().count() == 1
