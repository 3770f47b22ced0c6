"""Routes of node administration and the organisation dashboard, mounted under /admin.

Who may open what is decided in each page (see `admin.guard` and the services it
calls); `tests/test_admin_permissions.py` walks every route with every kind of viewer.
"""

from pathlib import Path

from starlette.routing import BaseRoute, Route

from admin.pages import (
    audit,
    case,
    dashboard,
    federation_health,
    federation_network,
    federation_policy,
    guides,
    invitations,
    moderation,
    needs,
    needs_region,
    neighbourhood_contact,
    neighbourhoods,
    node_settings,
    org_followers,
    organisations,
    overview,
    people,
    services,
    staff,
    surveys,
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
    # Help without internet, printed on window cards (admins and the neighbourhood's connectors).
    Route("/n/{slug}/contact", neighbourhood_contact.contact, methods=FORM),
    Route("/organisations", organisations.organisation_list),
    Route("/organisations/new", organisations.new_organisation, methods=FORM),
    # The directory of services (organisations' staff for theirs, admins for all).
    Route("/services", services.service_list),
    Route("/services/new", services.new_service, methods=FORM),
    Route("/services/{service_id}", services.edit_service, methods=FORM),
    Route("/services/{service_id}/delete", services.delete_service, methods=POST),
    # Needs surveys (admins, connectors, organisations' staff; see admin.pages.surveys).
    Route("/surveys", surveys.survey_list),
    Route("/surveys/new", surveys.new_survey, methods=FORM),
    Route("/surveys/withdraw", surveys.withdraw, methods=POST),
    Route("/people", people.people),
    Route("/people/{username}", people.person, methods=FORM),
    # Moderation of one account, without a report too (moderators and admins).
    Route("/people/{username}/moderation", people.moderation, methods=FORM),
    Route("/audit", audit.audit_log),
    Route("/audit/export.csv", audit.export_csv, methods=POST),
    Route("/settings", node_settings.settings_page, methods=FORM),
    # Guides for helpers (admins): the node's own, per category and language.
    Route("/guides", guides.node_guides),
    Route("/guides/{category}/{language}", guides.node_guide, methods=FORM),
    Route("/guides/{category}/{language}/reset", guides.node_guide_reset, methods=POST),
    Route("/invitations", invitations.invitations, methods=FORM),
    # Federation policy (admins): mode, domain blocks, allowlist, Mastodon CSV.
    Route("/federation", federation_policy.policy_page),
    Route("/federation/mode", federation_policy.set_mode, methods=POST),
    Route("/federation/blocks", federation_policy.add_block, methods=POST),
    Route("/federation/blocks/remove", federation_policy.remove_block, methods=POST),
    Route("/federation/allowlist", federation_policy.add_allowed, methods=POST),
    Route("/federation/allowlist/remove", federation_policy.remove_allowed, methods=POST),
    Route("/federation/import", federation_policy.import_blocks, methods=POST),
    # A POST with the form's token, like the dashboard's exports (it is recorded).
    Route("/federation/export.csv", federation_policy.export_blocks, methods=POST),
    # Partner nodes, relays and federation health (admins).
    Route("/federation/network", federation_network.network),
    Route("/federation/network/follow", federation_network.follow, methods=POST),
    Route("/federation/network/unfollow", federation_network.unfollow, methods=POST),
    Route("/federation/network/followers", federation_network.decide, methods=POST),
    Route("/federation/network/relays", federation_network.subscribe_relay, methods=POST),
    # Needs figures (admins; connectors and staff for their own posts), page and CSV.
    Route("/needs", needs.needs_page),
    Route("/needs.csv", needs.needs_csv),
    # This node's needs figures beside its partner nodes' (admins).
    Route("/needs/region", needs_region.region),
    Route("/federation/health", federation_health.health),
    Route("/federation/health/deliveries", federation_health.delivery_action, methods=POST),
    Route("/federation/health/servers", federation_health.server_action, methods=POST),
    # An organisation's dashboard (its staff, and admins).
    Route("/o/{slug}", dashboard.dashboard),
    Route("/o/{slug}/renew", dashboard.renew, methods=POST),
    # Exports are recorded in the audit log: a POST with the form's token, so that no
    # other site can make someone's browser export (and log) anything.
    Route("/o/{slug}/export.csv", dashboard.export_posts, methods=POST),
    Route("/o/{slug}/summary.csv", dashboard.export_summary, methods=POST),
    Route("/o/{slug}/staff", staff.staff, methods=FORM),
    Route("/o/{slug}/followers", org_followers.followers, methods=FORM),
    Route("/o/{slug}/profile", organisations.edit_organisation, methods=FORM),
    Route("/o/{slug}/icon", organisations.upload_icon, methods=POST),
    # The organisation's guides for helpers: its staff read, its coordinators edit.
    Route("/o/{slug}/guides", guides.organisation_guides),
    Route("/o/{slug}/guides/{category}/{language}", guides.organisation_guide, methods=FORM),
    Route(
        "/o/{slug}/guides/{category}/{language}/reset",
        guides.organisation_guide_reset,
        methods=POST,
    ),
    Route("/o/{slug}/r/{post_id}", case.case),
    Route("/o/{slug}/r/{post_id}/assign", case.assign, methods=POST),
    Route("/o/{slug}/r/{post_id}/notes", case.add_note, methods=POST),
    Route("/o/{slug}/r/{post_id}/partners", case.partners, methods=POST),
    # Reports about the organisation's posts (its coordinators, and admins).
    Route("/o/{slug}/reports/{report_id}", moderation.organisation_report, methods=FORM),
    # Moderation (moderators and admins): the queue and one report with its actions.
    Route("/moderation", moderation.queue),
    Route("/moderation/reports/{report_id}", moderation.report_page),
    Route("/moderation/reports/{report_id}/act", moderation.act, methods=POST),
    Route("/moderation/reports/{report_id}/take", moderation.take, methods=POST),
    Route("/moderation/reports/{report_id}/hand-over", moderation.hand_over, methods=POST),
    Route("/moderation/reports/{report_id}/reopen", moderation.reopen, methods=POST),
]
