"""Routes of node administration and the organisation dashboard, mounted under /admin.

Who may open what is decided in each page (see `admin.guard` and the services it
calls); `tests/test_admin_permissions.py` walks every route with every kind of viewer.
"""

from pathlib import Path

from starlette.routing import BaseRoute, Route

from admin.pages import (
    case,
    dashboard,
    invitations,
    neighbourhoods,
    node_settings,
    organisations,
    overview,
    people,
    staff,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
FORM = ["GET", "POST"]
POST = ["POST"]

routes: list[BaseRoute] = [
    Route("/", overview.overview, name="admin-overview"),
    # Node administration (admins).
    Route("/neighbourhoods", neighbourhoods.neighbourhood_list),
    Route("/neighbourhoods/new", neighbourhoods.new_neighbourhood, methods=FORM),
    Route("/neighbourhoods/{slug}", neighbourhoods.edit_neighbourhood, methods=FORM),
    Route("/neighbourhoods/{slug}/archive", neighbourhoods.archive, methods=POST),
    Route("/neighbourhoods/{slug}/icon", neighbourhoods.upload_icon, methods=POST),
    Route("/neighbourhoods/{slug}/connectors", neighbourhoods.connectors, methods=POST),
    Route("/organisations", organisations.organisation_list),
    Route("/organisations/new", organisations.new_organisation, methods=FORM),
    Route("/people", people.people),
    Route("/people/{username}", people.person, methods=FORM),
    Route("/settings", node_settings.settings_page, methods=FORM),
    Route("/invitations", invitations.invitations, methods=FORM),
    # An organisation's dashboard (its staff, and admins).
    Route("/o/{slug}", dashboard.dashboard),
    Route("/o/{slug}/renew", dashboard.renew, methods=POST),
    # Exports are recorded in the audit log: a POST with the form's token, so that no
    # other site can make someone's browser export (and log) anything.
    Route("/o/{slug}/export.csv", dashboard.export_posts, methods=POST),
    Route("/o/{slug}/summary.csv", dashboard.export_summary, methods=POST),
    Route("/o/{slug}/staff", staff.staff, methods=FORM),
    Route("/o/{slug}/profile", organisations.edit_organisation, methods=FORM),
    Route("/o/{slug}/icon", organisations.upload_icon, methods=POST),
    Route("/o/{slug}/r/{post_id}", case.case),
    Route("/o/{slug}/r/{post_id}/assign", case.assign, methods=POST),
    Route("/o/{slug}/r/{post_id}/notes", case.add_note, methods=POST),
    Route("/o/{slug}/r/{post_id}/partners", case.partners, methods=POST),
]
