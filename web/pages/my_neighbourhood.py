"""/settings/neighbourhood: where a resident lives. Posts for "neighbours on this node"
reach the residents of their neighbourhood (and those who follow it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.errors import InvalidInput
from node.i18n import N_, gettext
from node.services import neighbourhoods
from web.shell.forms import field_error, read_form
from web.shell.session import viewer

PATH = "/settings/neighbourhood"


async def my_neighbourhood(request: Request) -> Response:
    me = viewer(request)
    if me is None:
        return RedirectResponse(f"/login?next={PATH}", status_code=303)
    renderer = request.app.state.renderer
    locale = renderer.locale_for(request)
    errors: dict[str, str] = {}
    status = 200
    values = {"home_neighbourhood": await neighbourhoods.home_slug(me) or ""}
    if request.method == "POST":
        form = await read_form(request)
        values = {"home_neighbourhood": form.get("home_neighbourhood")}
        try:
            await neighbourhoods.set_home(me, values["home_neighbourhood"] or None)
        except InvalidInput as exc:
            errors[exc.field] = field_error(locale, exc)
            status = 400
        else:
            return RedirectResponse(PATH + "?done=1", status_code=303)
    hoods = await neighbourhoods.list_neighbourhoods()
    return await renderer.render(
        request,
        "my_neighbourhood.html",
        {
            "values": values,
            "errors": errors,
            "done": request.query_params.get("done") == "1",
            "neighbourhoods": [
                ("", gettext(locale, N_("I do not say"))),
                *[(h.slug, h.name) for h in hoods],
            ],
        },
        status_code=status,
    )
