"""Small builders for test data, going through the services like real callers do."""

from __future__ import annotations

import itertools
from datetime import datetime

from node import keys
from node.models import (
    Account,
    HelpPost,
    Neighbourhood,
    NodeSettings,
    Organisation,
    Response,
    Role,
    StaffRole,
)
from node.services import accounts, neighbourhoods, organisations, posts, responses

_seq = itertools.count(1)


async def neighbourhood(slug: str | None = None, **kwargs: object) -> Neighbourhood:
    slug = slug or f"hood-{next(_seq)}"
    kwargs.setdefault("centre", (50.878, 4.325))
    kwargs.setdefault("radius_m", 800)
    return await neighbourhoods.create_neighbourhood(slug, slug.replace("-", " ").title(), **kwargs)


async def account(username: str | None = None, **kwargs: object) -> Account:
    """An account without a password unless one is given (argon2 is slow on purpose)."""
    username = username or f"user{next(_seq)}"
    return await accounts.create_account(username, username.title(), **kwargs)


async def admin(username: str = "admin", **kwargs: object) -> Account:
    return await account(username, role=Role.ADMIN, **kwargs)


async def moderator(username: str = "moderator", **kwargs: object) -> Account:
    return await account(username, role=Role.MODERATOR, **kwargs)


async def organisation(slug: str | None = None, staff: list[Account] | None = None) -> Organisation:
    org = await organisations.create_organisation(slug or f"org-{next(_seq)}", "Buurthuis")
    for member in staff or []:
        await organisations.add_staff(org, member, StaffRole.STAFF)
    return org


async def post(
    author: Account,
    hood: Neighbourhood,
    *,
    now: datetime | None = None,
    **fields: object,
) -> HelpPost:
    return await posts.create_post(author, draft(hood, **fields), now=now)


def draft(hood: Neighbourhood, **fields: object) -> posts.PostDraft:
    """A valid request draft in `hood`; `fields` override any of its values."""
    values: dict[str, object] = {
        "kind": "request",
        "title": "Sofa naar het containerpark",
        "category": "transport",
        "neighbourhood": hood.slug,
        "language": "nl",
        "description": "Wie helpt me een zetel wegbrengen?",
    }
    values.update(fields)
    return posts.PostDraft(**values)  # type: ignore[arg-type]


async def coordinator_of(org: Organisation, username: str | None = None) -> Account:
    """A new account that coordinates `org`."""
    member = await account(username)
    await organisations.add_staff(org, member, StaffRole.COORDINATOR)
    return member


async def offer(post: HelpPost, helper: Account | None = None) -> Response:
    """An offer of help on `post` by `helper` (a new account when not given)."""
    return await responses.offer_help(helper or await account(), post, "Ik kan helpen")


async def node_row(name: str = "Testnode") -> NodeSettings:
    """The node's own row with an instance-actor key (without `init`'s admin and argon2)."""
    private_pem, public_pem = await keys.generate_key_pair()
    return await NodeSettings.create(
        id=1,
        name=name,
        secret_key="x" * 48,
        private_key_pem=private_pem,
        public_key_pem=public_pem,
    )
