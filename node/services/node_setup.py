"""Setting a node up: its row with the generated secret key, its first admin, and what
is left to do before residents can use it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from node import keys
from node.config import Settings
from node.errors import Conflict
from node.models import Account, Membership, Neighbourhood, NodeSettings, Organisation, Role
from node.services.accounts import create_account

NODE_ROW_ID = 1


async def is_initialised() -> bool:
    return await NodeSettings.exists(id=NODE_ROW_ID)


async def initialise_node(
    name: str, admin_username: str, admin_password: str, admin_email: str | None = None
) -> Account:
    """Create the node row and the first admin, together or not at all."""
    private_pem, public_pem = await keys.generate_key_pair()
    async with in_transaction():
        if await is_initialised():
            raise Conflict("this node is already initialised")
        await NodeSettings.create(
            id=NODE_ROW_ID,
            name=name,
            secret_key=secrets.token_urlsafe(48),
            private_key_pem=private_pem,
            public_key_pem=public_pem,
        )
        return await create_account(
            admin_username,
            admin_username,
            password=admin_password,
            email=admin_email,
            languages=("nl", "fr", "en"),
            role=Role.ADMIN,
        )


async def secret_key() -> str:
    row = await NodeSettings.get(id=NODE_ROW_ID)
    return row.secret_key


async def secret_key_or_none() -> str | None:
    row = await NodeSettings.get_or_none(id=NODE_ROW_ID)
    return row.secret_key if row else None


@dataclass(frozen=True, slots=True)
class SetupStep:
    key: str  # what the page says of it
    done: bool


async def checklist(settings: Settings) -> list[SetupStep]:
    """What a new node still needs before residents can use it, in order."""
    row = await NodeSettings.get_or_none(id=NODE_ROW_ID)
    return [
        SetupStep("neighbourhood", await Neighbourhood.filter(archived_at=None).exists()),
        SetupStep("organisation", await Organisation.exists()),
        SetupStep("staff", await Membership.exists()),
        SetupStep("description", bool(row and (row.description or row.rules))),
        SetupStep("signups", bool(row and row.signups) or bool(settings.source_of("signups"))),
    ]
