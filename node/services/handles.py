"""Names that become fediverse handles: `@name@node` names a resident, a neighbourhood
or an organisation, so one name can belong to only one of them."""

from __future__ import annotations

from node import validation
from node.errors import InvalidInput
from node.i18n import N_
from node.models import Account, Neighbourhood, Organisation


async def is_taken(name: str) -> bool:
    # A slug may be longer than a username (40, 30): such a name is no account's, and
    # the ORM refuses to look a value up in a column too small for it.
    username = validation.as_username(name)
    return (
        (username is not None and await Account.exists(username=username))
        or await Neighbourhood.exists(slug=name)
        or await Organisation.exists(slug=name)
    )


async def check_free(field: str, value: str | None) -> str:
    """A valid slug that no resident, neighbourhood or organisation has yet."""
    slug = validation.slug(field, value)
    if await is_taken(slug):
        raise InvalidInput(field, N_("%(name)s is already taken"), name=slug)
    return slug
