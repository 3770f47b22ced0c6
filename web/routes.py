"""The residents' routes."""

from pathlib import Path

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from node import uris
from web.pages import (
    about,
    account,
    authorize,
    compose,
    conversation,
    email_pages,
    feeds,
    following,
    media,
    my_neighbourhood,
    notifications,
    post,
    preferences,
    printing,
    profiles,
    remote_follow,
    report,
    services,
    surveys,
    thanks,
)
from web.pages.home import home
from web.pages.neighbourhood import follow, neighbourhood
from web.pages.unsubscribe import PATH as UNSUBSCRIBE_PATH
from web.pages.unsubscribe import unsubscribe_page

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
FORM = ["GET", "POST"]

routes = [
    Route(uris.HOME, home, name="home"),
    Route(uris.ABOUT, about.about, name="about"),
    Route("/media/{name}", media.media_file, name="media"),
    Route("/login", account.login, methods=FORM, name="login"),
    Route("/logout", account.logout, methods=["POST"], name="logout"),
    Route("/signup", account.signup, methods=FORM, name="signup"),
    Route("/signup/join", account.join, methods=["POST"], name="join"),
    Route("/settings", account.settings_page, methods=FORM, name="settings"),
    Route(preferences.EMAIL_PATH, preferences.change_email, methods=["POST"]),
    Route(preferences.RESEND_PATH, preferences.resend_confirmation, methods=["POST"]),
    Route(preferences.PREFERENCES_PATH, preferences.save_preferences, methods=["POST"]),
    Route(uris.CONFIRM_EMAIL + "/{token}", email_pages.confirm_email, methods=FORM),
    Route(uris.PASSWORD_RESET, email_pages.request_reset, methods=FORM, name="password-reset"),
    Route(uris.PASSWORD_RESET + "/{token}", email_pages.reset_password, methods=FORM),
    Route("/language", account.language, methods=["POST"], name="language"),
    Route("/notifications", notifications.notification_list, methods=FORM, name="notifications"),
    # GET: a page with one button; POST: also mail clients' one-click (RFC 8058, no CSRF).
    Route(UNSUBSCRIBE_PATH, unsubscribe_page, methods=FORM, name="unsubscribe"),
    Route("/new", compose.compose, methods=FORM, name="compose"),
    Route("/r/{post_id}", post.show, name="post"),
    Route("/r/{post_id}/edit", compose.edit, methods=FORM, name="edit-post"),
    Route(uris.post_sheet("{post_id}"), printing.request_sheet, name="post-sheet"),
    Route("/r/{post_id}/offer", post.offer, methods=["POST"]),
    Route("/r/{post_id}/comment", post.comment, methods=["POST"]),
    Route("/r/{post_id}/status", post.change_status, methods=["POST"]),
    Route("/r/{post_id}/thanks", thanks.thank, methods=["POST"]),
    Route(
        "/r/{post_id}/conversation", conversation.conversation, methods=FORM, name="conversation"
    ),
    Route("/r/{post_id}/responses/{response_id}/{action}", post.answer, methods=["POST"]),
    Route("/n/{slug}/feed.rss", feeds.neighbourhood_rss, name="neighbourhood-rss"),
    Route("/n/{slug}/feed.atom", feeds.neighbourhood_atom, name="neighbourhood-atom"),
    Route("/n/{slug}/calendar.ics", feeds.neighbourhood_calendar, name="neighbourhood-ics"),
    Route("/o/{slug}/feed.rss", feeds.organisation_rss, name="organisation-rss"),
    Route("/o/{slug}/feed.atom", feeds.organisation_atom, name="organisation-atom"),
    Route("/o/{slug}/calendar.ics", feeds.organisation_calendar, name="organisation-ics"),
    Route(uris.SERVICES, services.directory, name="services"),
    Route(uris.SERVICES + "/{service_id}", services.show, name="service"),
    Route("/n/{slug}", neighbourhood, name="neighbourhood"),
    Route(uris.window_card("{slug}"), printing.window_card, name="window-card"),
    Route(uris.poster("{slug}"), printing.poster, name="poster"),
    Route("/n/{slug}/follow", follow, methods=["POST"]),
    Route("/@{username}", profiles.person, name="person"),
    Route("/@{username}/follow", following.follow, methods=["POST"]),
    Route("/o/{slug}", profiles.organisation, name="organisation"),
    Route("/o/{slug}/follow", following.follow, methods=["POST"]),
    Route(following.FOLLOWERS_PATH, following.my_followers, methods=FORM, name="followers"),
    Route(my_neighbourhood.PATH, my_neighbourhood.my_neighbourhood, methods=FORM),
    Route("/surveys/{survey_id}", surveys.show, name="survey"),
    Route("/surveys/{survey_id}/vote", surveys.vote, methods=["POST"]),
    Route("/report", report.report, methods=FORM, name="report"),
    Route("/report/thanks", report.thanks, name="report-thanks"),
    Route("/remote-follow", remote_follow.remote_follow, methods=FORM, name="remote-follow"),
    Route(
        "/authorize_interaction",
        authorize.authorize_interaction,
        methods=FORM,
        name="authorize-interaction",
    ),
    Mount(uris.STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static"),
]
