"""The printed words, marked for translation, and saying them in one or two languages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from node.i18n import N_, gettext

CALL = N_("Need a hand? Want to help?")
NEIGHBOURS = N_("Neighbours help each other here.")
SCAN = N_("Scan the code or go to:")
FEDIVERSE = N_("On Mastodon and the fediverse: %(handle)s")
NO_INTERNET = N_("No internet? Ask for help:")
PHONE = N_("Phone")
OFFICE = N_("Visit us")
HOURS = N_("Opening hours")
ASK_AT = N_("Ask at %(url)s")
REQUEST = N_("Request for help")
OFFER = N_("Offer of help")
WHEN = N_("When")
FLEXIBLE = N_("Flexible")
WHERE = N_("Where")
CATEGORY = N_("Category")
ANSWER_REQUEST = N_("Can you help? Scan the code or go to:")
ANSWER_OFFER = N_("Interested? Scan the code or go to:")
PRINTED = N_("Printed on %(date)s. The page may have changed since.")
# A request still open: the same words as its page ("Helpers: Places left: 1 of 2").
PLACES_LABEL = N_("Helpers")
PLACES = N_("Places left: %(num)d of %(total)d")
# A finished one: its status (the labels of the pages) and no call to help.
STATUS = N_("Status")
STATUS_LABELS = {
    "done": N_("Done"),
    "filled": N_("Helpers found"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
}
FINISHED_REQUEST = {
    "done": N_("This request is done — thank you!"),
    "filled": N_("All the helpers this request needs have been found — thank you!"),
    "withdrawn": N_("This request was withdrawn: no help is needed any more."),
    "expired": N_("This request has expired: no help is needed any more."),
}
FINISHED_OFFER = N_("This offer is no longer available.")


def say(language: str, message: str, **values: object) -> str:
    text = gettext(language, message)
    return text % values if values else text


def said(languages: tuple[str, ...], message: str, **values: object) -> list[tuple[str, str]]:
    """(language, text) for each language, the same text said once."""
    out: list[tuple[str, str]] = []
    for language in languages:
        text = say(language, message, **values)
        if all(text != seen for _, seen in out):
            out.append((language, text))
    return out


def label(languages: tuple[str, ...], message: str) -> str:
    """A short label in each language: "Wanneer / Quand"."""
    return " / ".join(text for _, text in said(languages, message))


def when(start: datetime, end: datetime | None, zone: str, language: str) -> str:
    tz = ZoneInfo(zone)
    text = format_datetime(start, "EEEE d MMMM y, HH:mm", tzinfo=tz, locale=language)
    if end is None:
        return text
    if end.astimezone(tz).date() == start.astimezone(tz).date():
        return f"{text} – {format_time(end, 'HH:mm', tzinfo=tz, locale=language)}"
    return f"{text} – {format_datetime(end, 'EEEE d MMMM y, HH:mm', tzinfo=tz, locale=language)}"


def day(value: date, language: str) -> str:
    return format_date(value, "d MMMM y", locale=language)
