"""`nabuur` commands about other servers: follow, unfollow, relay, block, unblock
(`nabuur domains` imports and exports block lists: `node.cli_domains`).

They record what should happen (a node service stores an event); the running node's
federation workers send it.
"""

from __future__ import annotations

import argparse

from node import db
from node.cli_common import CLIError, require_ready, run
from node.config import Settings
from node.models import DomainPolicy
from node.services import domain_policy, local_actors, remote_follows
from node.services.follows import Target, ThisNode


async def _local_actor(settings: Settings, name: str | None) -> Target | None:
    """`--as`: @username, a neighbourhood or organisation slug; None is the node itself."""
    if not name:
        return None
    if name.startswith("@"):
        found = await local_actors.by_handle_name(settings, name[1:], kinds=("account",))
        if found is None or isinstance(found, ThisNode):
            raise CLIError(f"no account {name}")
        return found
    found = await local_actors.by_handle_name(
        settings, name, kinds=("neighbourhood", "organisation")
    )
    if found is None or isinstance(found, ThisNode):
        raise CLIError(f"no neighbourhood or organisation {name!r}")
    return found


async def _follow(settings: Settings, args: argparse.Namespace, follow: bool) -> None:
    target = args.target.strip()
    if not target.startswith(("https://", "http://")):
        raise CLIError("give the actor's URL, e.g. https://buren.example.nl/n/centrum")
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        local = await _local_actor(settings, args.as_actor)
        if follow:
            await remote_follows.request_follow(local, target, is_relay=args.relay)
        else:
            await remote_follows.request_unfollow(local, target)
    finally:
        await db.close_database()


def cmd_follow(settings: Settings, args: argparse.Namespace) -> int:
    run(_follow(settings, args, True))
    print(f"Follow of {args.target} queued; the running node sends it within seconds.")
    return 0


def cmd_unfollow(settings: Settings, args: argparse.Namespace) -> int:
    run(_follow(settings, args, False))
    print(f"Unfollow of {args.target} queued; the running node sends it within seconds.")
    return 0


async def _domain_policy(
    settings: Settings, domain: str, policy: DomainPolicy | None, reason: str
) -> None:
    """Block (`policy` suspend or limit) or lift a block; recorded in the audit log as
    done by the node itself (the command line has no account)."""
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        if policy is not None:
            await domain_policy.set_domain_policy(domain, policy, reason, settings=settings)
        elif not await domain_policy.remove_domain_policy(
            domain, reason=reason, policy_in=domain_policy.BLOCKS
        ):
            raise CLIError(f"{domain} is not blocked")
    finally:
        await db.close_database()


def cmd_block(settings: Settings, args: argparse.Namespace) -> int:
    policy = DomainPolicy.LIMIT if args.limit else DomainPolicy.SUSPEND
    run(_domain_policy(settings, args.domain, policy, args.reason or ""))
    if args.limit:
        print(f"{args.domain} is limited: its content stays out of public listings here.")
    else:
        print(f"{args.domain} is blocked; deliveries waiting to go there are cancelled.")
    return 0


def cmd_unblock(settings: Settings, args: argparse.Namespace) -> int:
    run(_domain_policy(settings, args.domain, None, args.reason or ""))
    print(f"{args.domain} is no longer blocked.")
    return 0


def cmd_relay(settings: Settings, args: argparse.Namespace) -> int:
    args.as_actor = None
    args.relay = True
    subscribe = args.action == "subscribe"
    run(_follow(settings, args, subscribe))
    verb = "Subscription to" if subscribe else "Unsubscription from"
    print(f"{verb} relay {args.target} queued; the running node sends it within seconds.")
    return 0


def add_federation_commands(sub: argparse._SubParsersAction) -> None:
    block = sub.add_parser("block", help="stop federating with a domain (and its subdomains)")
    block.add_argument("domain", help="e.g. spam.example")
    block.add_argument("--reason", help="a note for the other moderators")
    block.add_argument(
        "--limit",
        action="store_true",
        help="limit instead of suspend: follows keep working, no public listings here",
    )
    block.set_defaults(handler=cmd_block)
    unblock = sub.add_parser("unblock", help="lift a domain block")
    unblock.add_argument("domain")
    unblock.add_argument("--reason", help="why, for the audit log")
    unblock.set_defaults(handler=cmd_unblock)

    relay = sub.add_parser("relay", help="subscribe the node to a relay, or unsubscribe")
    relay.add_argument("action", choices=("subscribe", "unsubscribe"))
    relay.add_argument("target", help="the relay's actor URL, e.g. https://relay.example/actor")
    relay.set_defaults(handler=cmd_relay)

    for name, handler, verb in (
        ("follow", cmd_follow, "follow"),
        ("unfollow", cmd_unfollow, "stop following"),
    ):
        command = sub.add_parser(
            name, help=f"make this node (or one of its actors) {verb} a remote actor"
        )
        command.add_argument(
            "target", help="the remote actor's URL (a neighbourhood, a node, a relay)"
        )
        command.add_argument(
            "--as",
            dest="as_actor",
            help="@username, neighbourhood or organisation slug (default: the node)",
        )
        if name == "follow":
            command.add_argument("--relay", action="store_true", help="the target is a relay")
        command.set_defaults(handler=handler)
