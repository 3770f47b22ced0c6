"""A person's choices about e-mail and their profile (the settings page).

- `mail_frequency`: notifications by e-mail at once, in one digest a day, or not at all;
- `mail_new_requests`: new requests in the neighbourhoods they follow, in the daily digest;
- `show_helped`: the requests they helped with are listed on their public profile.

All values are checked before anything is saved: one bad value changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.errors import InvalidFields, InvalidInput
from node.i18n import N_
from node.models import Account, MailFrequency

CHOOSE = N_("choose one of the options")
_TRUE = ("1", "on", "true", "yes")
_FALSE = ("", "0", "off", "false", "no")


@dataclass(frozen=True, slots=True)
class Preferences:
    mail_frequency: MailFrequency
    mail_new_requests: bool
    show_helped: bool


def of(account: Account) -> Preferences:
    return Preferences(
        MailFrequency(account.mail_frequency), account.mail_new_requests, account.show_helped
    )


def checkbox(field: str, value: str | bool | None) -> bool:
    """A checkbox's value: absent or empty is off; anything but the usual words is bad."""
    if isinstance(value, bool):
        return value
    word = (value or "").strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidInput(field, CHOOSE)


def frequency(value: str | None) -> MailFrequency:
    try:
        return MailFrequency((value or "").strip())
    except ValueError:
        raise InvalidInput("mail_frequency", CHOOSE) from None


async def update(
    account: Account,
    *,
    mail_frequency: str | None = None,
    mail_new_requests: str | bool | None = None,
    show_helped: str | bool | None = None,
) -> Preferences:
    """Save the given choices (None: leave that one as it is); InvalidFields when any
    value is bad, and then nothing is saved."""
    changes: dict[str, object] = {}
    errors: list[InvalidInput] = []
    checks = (
        ("mail_frequency", mail_frequency, lambda v: frequency(v)),
        ("mail_new_requests", mail_new_requests, lambda v: checkbox("mail_new_requests", v)),
        ("show_helped", show_helped, lambda v: checkbox("show_helped", v)),
    )
    for name, raw, parse in checks:
        if raw is None:
            continue
        try:
            changes[name] = parse(raw)
        except InvalidInput as exc:
            errors.append(exc)
    if errors:
        raise InvalidFields(errors)
    for name, value in changes.items():
        setattr(account, name, value)
    if changes:
        await account.save(update_fields=list(changes))
    return of(account)
