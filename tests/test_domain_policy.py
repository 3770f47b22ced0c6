"""Domain policy: names, severities, the allowlist and the mode, Mastodon CSV in and out
(with hostile files), what a limit hides, and how fast a change reaches the inbox's
cache. Storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation import cache
from federation.context import DOMAIN_TTL, Federation
from node.config import Settings
from node.errors import InvalidInput
from node.models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    DomainPolicy,
    DomainRule,
    OutboxActivity,
)
from node.services import domain_csv, domain_policy
from node.services.domain_policy import RuleValues
from node.timeutil import utcnow
from tests import factories

SETTINGS = Settings(base_url="https://nabuur.example.be")
HEADER = ",".join(domain_csv.HEADER)
SLOW_DB = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# --- Names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Spam.Example.", "spam.example"),
        ("  bücher.example ", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("127.0.0.1:8443", "127.0.0.1:8443"),
        ("localhost", "localhost"),
    ],
)
def test_domains_are_stored_lower_case_and_in_punycode(raw: str, stored: str) -> None:
    assert domain_policy.check_domain(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["", "*.example.org", "example.*", "https://example.org", "example.org/path",
     "user@example.org", "exa mple.org", "-bad.org", "a..b", "xn--zz.org", "org", "x:99999"],
)  # fmt: skip
def test_what_is_not_a_domain_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        domain_policy.check_domain(raw)
    assert refused.value.field == "domain"


def test_wildcards_are_refused_with_their_reason() -> None:
    with pytest.raises(InvalidInput, match="covers its subdomains"):
        domain_policy.check_domain("*.example.org")


@given(st.text(max_size=80))
def test_any_text_is_a_domain_or_a_clear_refusal(raw: str) -> None:
    try:
        name = domain_policy.check_domain(raw)
    except InvalidInput:
        return
    assert name == name.lower() and name.isascii() and "*" not in name
    assert domain_policy.check_domain(name) == name  # stable
    assert domain_policy.normalise_domain(raw) == name


def test_unicode_is_shown_and_obfuscation_is_mastodons() -> None:
    assert domain_policy.display_domain("xn--bcher-kva.example") == "bücher.example"
    # Mastodon's DomainBlock#public_domain for "spam.example.org" (16 chars, 4 visible).
    assert domain_policy.obfuscated("spam.example.org") == "spam.*******.org"
    assert domain_policy.obfuscated("ab.cd") == "ab.*d"  # length 5: only index 2 to 3


def test_a_rule_covers_subdomains_and_ports() -> None:
    assert domain_policy.candidates("A.b.Example.org:8443") == [
        "a.b.example.org:8443", "a.b.example.org", "b.example.org", "example.org", "org",
    ]  # fmt: skip
    assert domain_policy.covers("example.org", "x.example.org")
    assert not domain_policy.covers("example.org", "badexample.org")


# --- Rules and verdicts ------------------------------------------------------------------


async def test_suspend_covers_subdomains_and_the_most_specific_rule_wins(database: str) -> None:
    await factories.node_row()
    await domain_policy.set_domain_policy("example.org", DomainPolicy.SUSPEND)
    assert await domain_policy.is_domain_blocked("social.example.org:443")
    assert not await domain_policy.is_domain_allowed(SETTINGS, "social.example.org")
    assert await domain_policy.is_domain_allowed(SETTINGS, "badexample.org")
    await domain_policy.set_domain_policy("ok.example.org", DomainPolicy.LIMIT)
    assert await domain_policy.is_domain_allowed(SETTINGS, "ok.example.org")
    assert await domain_policy.is_domain_limited("x.ok.example.org")
    assert not await domain_policy.is_domain_allowed(SETTINGS, "other.example.org")


async def test_allowlist_mode_federates_only_with_partners(database: str) -> None:
    await factories.node_row()
    strict = replace(SETTINGS, federation_mode="allowlist")
    await domain_policy.set_domain_policy("buren.example.nl", DomainPolicy.ALLOW)
    assert await domain_policy.is_domain_allowed(strict, "buren.example.nl")
    assert await domain_policy.is_domain_allowed(strict, "social.buren.example.nl")
    assert not await domain_policy.is_domain_allowed(strict, "mastodon.social")
    await domain_policy.set_domain_policy("bad.buren.example.nl", DomainPolicy.SUSPEND)
    assert not await domain_policy.is_domain_allowed(strict, "bad.buren.example.nl")
    assert not await domain_policy.is_domain_allowed(
        replace(SETTINGS, federation_mode="off"), "buren.example.nl"
    )


async def test_the_mode_saved_in_the_browser_applies_unless_pinned(database: str) -> None:
    await factories.node_row()
    admin = await factories.admin()
    await domain_policy.set_federation_mode(SETTINGS, "allowlist", by=admin, reason="NL-BE")
    assert await domain_policy.federation_mode(SETTINGS) == "allowlist"
    assert not await domain_policy.is_domain_allowed(SETTINGS, "mastodon.social")
    entry = await AuditEntry.get(action="federation.mode")
    assert (entry.actor_id, entry.reason) == (admin.id, "NL-BE")
    assert entry.detail == {"from": "open", "to": "allowlist"}

    pinned = replace(SETTINGS, sources={"federation_mode": "NABUUR_FEDERATION_MODE"})
    assert await domain_policy.federation_mode(pinned) == "open"
    with pytest.raises(InvalidInput):
        await domain_policy.set_federation_mode(pinned, "off", by=admin)
    with pytest.raises(InvalidInput):
        await domain_policy.set_federation_mode(SETTINGS, "maybe", by=admin)
    assert await domain_policy.federation_mode(SETTINGS) == "allowlist"


async def test_every_change_is_audited_with_who_and_why(database: str) -> None:
    await factories.node_row()
    admin = await factories.admin()
    values = RuleValues("spam.example", DomainPolicy.SUSPEND, reason="spam wave", obfuscate=True)
    await domain_policy.save_rule(values, by=admin, settings=SETTINGS)
    assert await domain_policy.remove_domain_policy(
        "spam.example", by=admin, reason="they cleaned up"
    )
    entries = await AuditEntry.filter(subject="domain:spam.example").order_by("id")
    assert [(e.action, e.actor_id, e.reason) for e in entries] == [
        ("domain.suspend", admin.id, "spam wave"),
        ("domain.removed", admin.id, "they cleaned up"),
    ]


async def test_rules_that_clash_or_name_us_are_refused(database: str) -> None:
    await factories.node_row()
    await domain_policy.set_domain_policy("partner.example", DomainPolicy.ALLOW)
    for domain, policy in [
        ("partner.example", DomainPolicy.SUSPEND),  # on the allowlist
        ("nabuur.example.be", DomainPolicy.SUSPEND),  # ourselves
        ("example.be", DomainPolicy.LIMIT),  # covers ourselves
        ("spam.example", "block"),  # not a severity
    ]:
        with pytest.raises(InvalidInput):
            await domain_policy.set_domain_policy(domain, policy, settings=SETTINGS)
    with pytest.raises(InvalidInput):
        await domain_policy.save_rule(RuleValues("x.example", DomainPolicy.LIMIT, reason="r" * 301))
    assert await DomainRule.all().count() == 1
    # The allowlist's remove button does not lift a block, and the other way round.
    assert not await domain_policy.remove_domain_policy(
        "partner.example", policy_in=domain_policy.BLOCKS
    )
    assert await DomainRule.exists(domain="partner.example")


async def test_suspending_cancels_waiting_deliveries_of_subdomains_only(database: str) -> None:
    await factories.node_row()
    activity = await OutboxActivity.create(
        activity_uri="https://nabuur.example.be/activities/1",
        activity_type="Create",
        actor_kind="instance",
        payload={},
    )
    for host in ("spam.example", "a.spam.example", "spam.example:8443", "notspam.example"):
        await Delivery.create(
            activity=activity, inbox=f"https://{host}/inbox", host=host, next_attempt_at=utcnow()
        )
    await domain_policy.set_domain_policy("spam.example", DomainPolicy.SUSPEND)
    cancelled = await Delivery.filter(status=DeliveryStatus.CANCELLED).values_list(
        "host", flat=True
    )
    assert sorted(cancelled) == ["a.spam.example", "spam.example", "spam.example:8443"]


async def test_limit_hides_from_listings_unless_followed(database: str) -> None:
    await domain_policy.set_domain_policy("quiet.example", DomainPolicy.LIMIT)
    await domain_policy.set_domain_policy("gone.example", DomainPolicy.SUSPEND)
    await domain_policy.set_domain_policy("partner.example", DomainPolicy.ALLOW)
    shown = ["social.quiet.example", "gone.example", "x.gone.example", "partner.example"]
    hidden = await domain_policy.hidden_hosts([*shown, "quiet.example", "a.example"])
    assert hidden.hides("social.quiet.example") and not hidden.hides(
        "social.quiet.example", followed=True
    )
    assert hidden.hides("gone.example", followed=True)
    assert not hidden.hides("partner.example") and not hidden.hides("other.example")
    rows = [{"domain": "quiet.example"}, {"domain": "x.gone.example"}, {"domain": "a.example"}]
    assert hidden.keep(rows) == [{"domain": "a.example"}]


async def test_reports_are_rejected_where_the_rule_says_so(database: str) -> None:
    await domain_policy.save_rule(
        RuleValues("noisy.example", DomainPolicy.LIMIT, reject_reports=True)
    )
    await domain_policy.set_domain_policy("gone.example", DomainPolicy.SUSPEND)
    await domain_policy.set_domain_policy("fine.example", DomainPolicy.LIMIT)
    assert await domain_policy.rejects_reports("a.noisy.example")
    assert await domain_policy.rejects_reports("gone.example")
    assert not await domain_policy.rejects_reports("fine.example")


async def test_the_about_page_list_obfuscates_where_asked(database: str) -> None:
    await domain_policy.save_rule(
        RuleValues("spam.example.org", DomainPolicy.SUSPEND, public_comment="spam", obfuscate=True)
    )
    await domain_policy.save_rule(RuleValues("bücher.example", DomainPolicy.LIMIT))
    await domain_policy.set_domain_policy("partner.example", DomainPolicy.ALLOW)
    shown = await domain_policy.public_blocks()
    assert [(b.domain, b.policy, b.comment) for b in shown] == [
        ("spam.*******.org", "suspend", "spam"),
        ("bücher.example", "limit", ""),
    ]


# --- The verdict cache -------------------------------------------------------------------


async def test_a_change_here_applies_at_once_and_elsewhere_within_5_seconds(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await factories.node_row()
    assert DOMAIN_TTL <= 5
    fed = Federation.create(SETTINGS)
    assert await fed.domain_allowed("spam.example")
    await domain_policy.set_domain_policy("spam.example", DomainPolicy.SUSPEND)  # this process
    assert not await fed.domain_allowed("spam.example")

    # Another process lifts it (a row changed behind this one's back): seen after the TTL.
    await DomainRule.filter(domain="spam.example").delete()
    assert not await fed.domain_allowed("spam.example")
    later = time.monotonic() + DOMAIN_TTL + 0.1
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    assert await fed.domain_allowed("spam.example")


# --- Mastodon CSV ------------------------------------------------------------------------


async def test_mastodon_csv_round_trip(database: str) -> None:
    await factories.node_row()
    admin = await factories.admin()
    data = csv_file(
        "spam.example,suspend,true,true,Spam wave,false",
        'quiet.example,silence,false,false,"Comment, with a comma",true',
        "bücher.example,,,,,",
    )
    result = await domain_csv.apply(data, SETTINGS, by=admin)
    assert (result.added, result.changed, result.refused) == (3, 0, 0)
    exported = await domain_csv.export(by=admin)
    lines = exported.splitlines()
    assert lines[0] == "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate"
    assert lines[1:] == [
        'quiet.example,silence,false,false,"Comment, with a comma",true',
        "spam.example,suspend,true,true,Spam wave,false",
        "xn--bcher-kva.example,suspend,false,false,,false",
    ]
    # Importing what we exported changes nothing, and is recorded each time.
    again = await domain_csv.apply(exported.encode(), SETTINGS, by=admin)
    assert (again.added, again.changed) == (0, 0)
    assert await AuditEntry.filter(action="domain.imported", actor_id=admin.id).count() == 2
    assert await AuditEntry.exists(action="domain.exported", actor_id=admin.id)


async def test_a_file_with_bad_rows_is_refused_whole_and_each_row_named(database: str) -> None:
    await factories.node_row()
    await domain_policy.set_domain_policy("partner.example", DomainPolicy.ALLOW)
    data = csv_file(
        "good.example,suspend,false,false,,false",  # line 2
        "*.wild.example,suspend,false,false,,false",  # 3: wildcard
        "good.example,silence,false,false,,false",  # 4: duplicate
        "nabuur.example.be,suspend,false,false,,false",  # 5: ourselves
        "partner.example,suspend,false,false,,false",  # 6: on the allowlist
        "odd.example,ban,false,false,,false",  # 7: unknown severity
        "flag.example,suspend,maybe,false,,false",  # 8: not a boolean
        "noop.example,noop,true,false,,false",  # 9: skipped, not bad
        "also-good.example,silence",  # 10: short row: defaults
    )
    plan = await domain_csv.read(data, SETTINGS)
    assert [(p.line, p.domain) for p in plan.bad] == [
        (3, "*.wild.example"), (4, "good.example"), (5, "nabuur.example.be"),
        (6, "partner.example"), (7, "odd.example"), (8, "flag.example"),
    ]  # fmt: skip
    assert "wildcards" in plan.bad[0].message and "line 2" in plan.bad[1].message
    assert [p.line for p in plan.skipped] == [9]
    with pytest.raises(InvalidInput, match="6 rows have problems"):
        await domain_csv.apply(data, SETTINGS, by=None)
    assert await DomainRule.all().count() == 1  # nothing but the allowlist
    result = await domain_csv.apply(data, SETTINGS, by=None, only_good_rows=True)
    assert (result.added, result.refused, result.skipped) == (2, 6, 1)
    blocked = await DomainRule.filter(policy__not="allow").values_list("domain", flat=True)
    assert sorted(blocked) == ["also-good.example", "good.example"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
        ("#domain\n".encode("utf-16"), "not a CSV file"),
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"domain,severity\nspam.example,suspend\n", "header"),
        (b"#domain,#domain\nspam.example,x\n", "twice"),
        (b'#domain\n"spam.example\n', "not a CSV file"),
    ],
)
async def test_a_file_that_is_not_a_block_list_is_refused(
    database: str, data: bytes, reason: str
) -> None:
    with pytest.raises(domain_csv.BadFile, match=reason):
        await domain_csv.apply(data, SETTINGS, by=None)
    assert await DomainRule.all().count() == 0


async def test_extra_columns_are_ignored_and_named(database: str) -> None:
    data = csv_file(
        "spam.example,suspend,true,false,x,false,2024-01-01",
        header=HEADER + ",#created_at",
    )
    plan = await domain_csv.read(data, SETTINGS)
    assert plan.ignored_columns == ["#created_at"] and not plan.bad
    assert plan.rows[0][1].reject_media is True


async def test_ten_thousand_rows_in_one_quick_transaction(database: str) -> None:
    await factories.node_row()
    rows = [
        f"host{i}.example,{'suspend' if i % 2 else 'silence'},false,false,,false"
        for i in range(10_000)
    ]
    data = csv_file(*rows)
    started = time.monotonic()
    result = await domain_csv.apply(data, SETTINGS, by=None)
    assert result.added == 10_000
    assert time.monotonic() - started < 20
    assert await DomainRule.all().count() == 10_000
    assert await AuditEntry.filter(action="domain.imported").count() == 1
    too_many = csv_file(*(f"h{i}.example" for i in range(domain_csv.MAX_ROWS + 1)))
    with pytest.raises(domain_csv.BadFile, match="more than"):
        domain_csv.parse(too_many)


ROW = st.lists(
    st.one_of(
        st.sampled_from(["spam.example", "*.x.org", "bücher.example", "suspend", "silence",
                         "noop", "true", "false", "", "a,b", '"q"', "xn--bcher-kva.example"]),
        st.text(max_size=12),
    ),
    max_size=7,
)  # fmt: skip


@SLOW_DB
@given(rows=st.lists(ROW, max_size=6))
async def test_any_file_is_applied_whole_or_not_at_all(database: str, rows: list) -> None:
    await DomainRule.all().delete()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(domain_csv.HEADER)
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    try:
        plan = await domain_csv.read(data, SETTINGS)
        result = await domain_csv.apply(data, SETTINGS, by=None)
    except InvalidInput:
        assert await DomainRule.all().count() == 0
        return
    assert not plan.bad
    assert await DomainRule.all().count() == result.added == len(plan.rows)


async def test_the_outbox_can_leave_out_refused_and_limited_servers(database: str) -> None:
    await factories.node_row()
    await domain_policy.set_domain_policy("gone.example", DomainPolicy.SUSPEND)
    await domain_policy.set_domain_policy("quiet.example", DomainPolicy.LIMIT)
    await domain_policy.set_domain_policy("partner.example", DomainPolicy.ALLOW)
    hosts = ["a.gone.example", "quiet.example", "partner.example:8443", "other.example"]
    assert await domain_policy.refused_among(SETTINGS, hosts) == {"a.gone.example"}
    assert await domain_policy.limited_among(hosts) == {"a.gone.example", "quiet.example"}
    strict = replace(SETTINGS, federation_mode="allowlist")
    assert await domain_policy.refused_among(strict, hosts) == {
        "a.gone.example", "quiet.example", "other.example",
    }  # fmt: skip
    off = replace(SETTINGS, federation_mode="off")
    assert await domain_policy.refused_among(off, hosts) == set(hosts)
    assert await domain_policy.refused_among(SETTINGS, []) == set()


def test_the_domains_command_imports_whole_or_not_and_exports(
    tmp_path: Path, empty_database_url: str
) -> None:
    from tests.test_cli import init_node, nabuur

    url = empty_database_url
    init_node(tmp_path, url)
    blocks = tmp_path / "blocks.csv"
    blocks.write_bytes(
        csv_file("spam.example,suspend,true,false,Spam,false", "*.bad.example,suspend")
    )
    refused = nabuur("domains", "import", str(blocks), cwd=tmp_path, database=url)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "line 3: *.bad.example: wildcards are not accepted" in refused.stderr
    assert "nothing was imported" in refused.stderr
    empty = nabuur("domains", "export", cwd=tmp_path, database=url)
    assert empty.stdout.splitlines() == [HEADER]
    chosen = nabuur(
        "domains", "import", str(blocks), "--only-good-rows", cwd=tmp_path, database=url
    )
    assert chosen.returncode == 0 and "1 new" in chosen.stdout
    exported = nabuur("domains", "export", cwd=tmp_path, database=url)
    assert exported.stdout.splitlines() == [HEADER, "spam.example,suspend,true,false,Spam,false"]
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    not_csv = nabuur("domains", "import", str(binary), cwd=tmp_path, database=url)
    assert not_csv.returncode == 1 and "not a CSV file" in not_csv.stderr
    assert nabuur("domains", "allow", "partner.example", cwd=tmp_path, database=url).returncode == 0
    clash = nabuur("block", "partner.example", cwd=tmp_path, database=url)
    assert clash.returncode == 1 and "allowlist" in clash.stderr
