"""The node's settings in the browser: name, tagline, description, rules, contact and
sign-ups (node admins). A value the operator's configuration pins shows read-only, with
where it is set."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.guard import admins_only, back, errors_of, me, texts_by_language
from admin.rendering import render
from node import uris
from node.config import SIGNUP_POLICIES
from node.errors import InvalidInput
from node.i18n import N_, gettext
from node.services import node_profile
from node.services.node_profile import NodeProfile, ProfileChanges
from web.shell.forms import read_form

PATH = f"{uris.ADMIN}/settings"
# Where a pinned value comes from is a variable's name or a file's path, or this
# (node.config's label for values set by a command's options), which is translated.
COMMAND_LINE = N_("a command-line option")


def _values_of(profile: NodeProfile) -> dict[str, str]:
    values = {
        "name": profile.name,
        "contact_email": profile.contact_email or "",
        "signups": profile.signups,
    }
    for key in ("tagline", "description", "rules"):
        values.update({f"{key}_{lang}": text for lang, text in getattr(profile, key).items()})
    return values


@admins_only
async def settings_page(request: Request) -> Response:
    settings = request.app.state.settings
    languages = settings.languages
    locale = request.app.state.renderer.locale_for(request)
    pinned = {
        key: gettext(locale, where) if where == COMMAND_LINE else where
        for key, where in node_profile.pinned(settings).items()
    }
    profile = await node_profile.load(settings)
    values, errors = _values_of(profile), {}
    if request.method == "POST":
        form = await read_form(request)
        changes = ProfileChanges(
            name=form.get("name"),
            contact_email=form.get("contact_email"),
            signups=form.get("signups"),
            tagline=texts_by_language(form, "tagline", languages),
            description=texts_by_language(form, "description", languages),
            rules=texts_by_language(form, "rules", languages),
        )
        try:
            await node_profile.update(settings, me(request), changes)
        except InvalidInput as exc:
            values = {**form.values(), **{k: values[k] for k in pinned}}
            errors = errors_of(request, exc)
        else:
            request.app.state.profile_cache.forget()
            return back(PATH, "saved")
    return await render(
        request,
        "settings.html",
        {"values": values, "errors": errors, "pinned": pinned, "policies": SIGNUP_POLICIES},
        status_code=400 if errors else 200,
    )
