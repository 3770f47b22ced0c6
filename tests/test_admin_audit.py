"""The audit log page /admin/audit: newest first, search and filters, bad input answered
400 next to the field, and the CSV export of the current search (read back with the
csv module; cells a spreadsheet would run as formulas are defused).

Run on SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import InvalidInput, PermissionDenied
from node.models import Account, AuditEntry
from node.services import audit, sanctions
from tests import factories
from tests.webclient import Browser, browser

PAGE = "/admin/audit"


@pytest.fixture
async def moderator(database: str) -> Account:
    return await factories.moderator("mo")


@pytest.fixture
async def web(database: str, moderator: Account) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        await b.log_in_as(moderator)
        yield b


async def _entry(action: str, subject: str, reason: str, *, at: datetime, name: str = "Mo") -> None:
    row = await AuditEntry.create(actor_name=name, action=action, subject=subject, reason=reason)
    await AuditEntry.filter(id=row.id).update(at=at)


def _read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


async def _export(web: Browser, **fields: str) -> list[dict[str, str]]:
    response = await web.submit(f"{PAGE}/export.csv", fields, page=PAGE)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "private, no-store"
    return _read_csv(response.text)


async def test_moderation_actions_are_listed_newest_first(web: Browser, moderator: Account) -> None:
    els = await factories.account("els")
    await sanctions.warn_account(moderator, els, "First warning")
    await sanctions.silence_account(moderator, els, "Kept on posting adverts")
    page = await web.get(PAGE)
    assert page.status_code == 200
    first, second = page.text.index("Kept on posting adverts"), page.text.index("First warning")
    assert first < second
    assert "/admin/people/els/moderation" in page.text


async def test_search_by_text_action_and_dates(web: Browser) -> None:
    day = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    await _entry("moderation.warned", "account:els", "Rude to a helper", at=day)
    await _entry("moderation.post_hidden", "post:1", "Spam advert", at=day + timedelta(days=2))
    await _entry("account.role", "account:bert", "", at=day + timedelta(days=5), name="Admin")
    assert (await web.get(PAGE, params={"q": "advert"})).text.count("<tr>") == 2  # head + 1
    by_actor = await web.get(PAGE, params={"q": "admin"})
    assert "account:bert" in by_actor.text and "account:els" not in by_actor.text
    by_action = await web.get(PAGE, params={"action": "moderation.warned"})
    assert "Rude to a helper" in by_action.text and "Spam advert" not in by_action.text
    dated = await web.get(PAGE, params={"since": "2025-03-11", "until": "2025-03-12"})
    assert "Spam advert" in dated.text
    assert "Rude to a helper" not in dated.text and "account:bert" not in dated.text
    nothing = await web.get(PAGE, params={"q": "100%_"})  # LIKE wildcards are plain text
    assert "<tbody>" not in nothing.text and 'class="empty"' in nothing.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "31/03/2025"}, "since"),
        ({"until": "2025-02-30"}, "until"),
        ({"since": "0001-01-01"}, "since"),
        ({"since": "2025-03-10", "until": "2025-03-01"}, "until"),
        ({"action": "DROP TABLE"}, "action"),
        ({"q": "x" * 201}, "q"),
    ],
)
async def test_bad_input_is_a_400_with_the_error_at_its_field(
    web: Browser, params: dict[str, str], field: str
) -> None:
    response = await web.get(PAGE, params=params)
    assert response.status_code == 400
    assert f'id="audit-{field}-error"' in response.text
    exported = await web.submit(f"{PAGE}/export.csv", params, page=PAGE)
    assert exported.status_code == 400


async def test_the_export_is_the_search_and_is_recorded(web: Browser, moderator: Account) -> None:
    day = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    await _entry("moderation.warned", "account:els", "Rude to a helper", at=day)
    await _entry("moderation.post_hidden", "post:1", "Spam, ‘advert’ é", at=day)
    rows = await _export(web, action="moderation.post_hidden")
    assert [(r["action"], r["subject"], r["reason"]) for r in rows] == [
        ("moderation.post_hidden", "post:1", "Spam, ‘advert’ é")
    ]
    [recorded] = await AuditEntry.filter(action="audit.exported")
    assert recorded.actor_id == moderator.id
    assert recorded.detail == {"action": "moderation.post_hidden"}
    await sanctions.suspend_account(moderator, await factories.account("els"), "Threats")
    [suspended] = await _export(web, action="moderation.suspended")
    assert (suspended["actor"], suspended["reason"]) == ("Mo", "Threats")
    assert suspended["detail"] == '{"deliveries_cancelled": 0}'


async def test_exported_cells_never_run_as_formulas(web: Browser) -> None:
    day = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    attacks = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tx", "plain"]
    for text in attacks:
        await _entry("moderation.warned", "account:els", text, at=day, name=text)
    rows = await _export(web, action="moderation.warned")
    for row in rows:
        for value in (row["reason"], row["actor"]):
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert sorted(row["reason"] for row in rows) == sorted(
        text if text == "plain" else "'" + text for text in attacks
    )


async def test_a_long_log_is_exported_whole_in_batches(web: Browser) -> None:
    at = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    await AuditEntry.bulk_create(
        [
            AuditEntry(actor_name="Mo", action="moderation.warned", subject=f"account:u{i}", at=at)
            for i in range(audit.EXPORT_BATCH * 2 + 5)
        ]
    )
    rows = await _export(web)
    subjects = [row["subject"] for row in rows if row["action"] == "moderation.warned"]
    assert len(subjects) == len(set(subjects)) == audit.EXPORT_BATCH * 2 + 5
    page = await web.get(PAGE, params={"page": "2"})
    assert page.status_code == 200 and 'rel="next"' in page.text and 'rel="prev"' in page.text


async def test_residents_may_not_search_or_export(database: str) -> None:
    resident = await factories.account("els")
    with pytest.raises(PermissionDenied):
        await audit.search(resident, audit.AuditSearch(), UTC)
    with pytest.raises(PermissionDenied):
        await audit.export(resident, audit.AuditSearch(), UTC)
    assert await AuditEntry.filter(action="audit.exported").count() == 0


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    params=st.fixed_dictionaries(
        {},
        optional={
            name: st.text(max_size=30) | st.sampled_from(["2025-01-01", "2025-13-01", ""])
            for name in ("q", "action", "since", "until")
        },
    )
)
async def test_any_search_input_is_answered_or_refused_never_a_crash(
    web: Browser, params: dict[str, str]
) -> None:
    try:
        checked = audit.parse_search(params)
    except InvalidInput:
        checked = None
    response = await web.get(PAGE, params=params)
    assert response.status_code == (200 if checked is not None else 400)
