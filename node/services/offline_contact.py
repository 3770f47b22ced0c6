"""How to ask a neighbourhood for help without internet: a phone number, an office and
its opening hours, printed on its window cards and posters (`node.printing`).

Set by the node's admins and by the neighbourhood's connectors (the people who know
who answers the phone there). All three are optional; empty ones are left off the
card. A bad value refuses the whole form: nothing is stored, every field says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from node import db, validation
from node.errors import InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import Account, Neighbourhood, Role
from node.services import audit
from node.services.neighbourhoods import is_connector

PHONE_MAX, OFFICE_MAX, HOURS_MAX = 40, 200, 100
# Digits, spaces and what people write in numbers: +32 (0)2 555.12.34, 02/555-12-34.
_PHONE = re.compile(r"[0-9 +()\-./]+")


@dataclass(frozen=True, slots=True)
class ContactForm:
    phone: str = ""
    office: str = ""
    hours: str = ""


async def may_edit(account: Account | None, hood: Neighbourhood) -> bool:
    if account is None or not account.is_active:
        return False
    return account.role == Role.ADMIN or await is_connector(account, hood.id)


def _phone(value: str) -> str:
    text = validation.optional_line("help_phone", value, max_len=PHONE_MAX) or ""
    if text and (not _PHONE.fullmatch(text) or not any(c.isdigit() for c in text)):
        raise InvalidInput(
            "help_phone", N_("use digits, spaces and + ( ) - . / only, such as +32 2 555 12 34")
        )
    return text


def check(form: ContactForm) -> ContactForm:
    """The form's values cleaned, or InvalidFields naming every bad field."""
    checker = validation.FieldChecker()
    checker.check("help_phone", lambda: _phone(form.phone))
    checker.check(
        "help_office",
        lambda: validation.optional_line("help_office", form.office, max_len=OFFICE_MAX) or "",
    )
    checker.check(
        "help_hours",
        lambda: validation.optional_line("help_hours", form.hours, max_len=HOURS_MAX) or "",
    )
    values = checker.done()
    return ContactForm(values["help_phone"], values["help_office"], values["help_hours"])


async def set_contact(hood: Neighbourhood, form: ContactForm, by: Account | None) -> None:
    """Save the three fields: admins and the neighbourhood's connectors; `by` None is
    the node's operator (the command line, the demo)."""
    if by is not None and not await may_edit(by, hood):
        raise PermissionDenied("only admins and the neighbourhood's connectors set this")
    clean = check(form)
    hood.help_phone, hood.help_office, hood.help_hours = clean.phone, clean.office, clean.hours
    async with db.atomic():
        await hood.save(update_fields=["help_phone", "help_office", "help_hours", "updated_at"])
        await audit.record(by, "neighbourhood.contact", f"neighbourhood:{hood.slug}")
