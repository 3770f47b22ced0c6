"""The composition root: builds the Starlette app and mounts web, admin and federation.

This is the one module of `node` that imports the other packages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

import admin.routes
import federation.routes
import web.routes
import web.shell.errors
from federation.negotiation import ActivityPubNegotiation
from federation.runtime import FederationRuntime
from node import db, metrics, readiness, uris
from node.config import Settings, load_settings
from node.logs import RequestLogMiddleware
from node.logs import configure as configure_logging
from node.mail_worker import MailWorker
from node.ops import OperatorEndpoints
from node.request_memo import RequestMemo
from node.scheduler import Job, QueueLock, Scheduler
from node.security_headers import SecurityHeaders
from node.services import (
    email_limits,
    email_tokens,
    housekeeping,
    login_limits,
    mail_digest,
    mail_notifications,
    needs_rollup,
    sessions,
    signup_limits,
    survey_updates,
    used_tokens,
)
from node.services.node_profile import ProfileCache
from node.services.node_setup import is_initialised
from node.services.posts import expire_due_posts
from node.services.sanctions import federate_old_suspensions
from web.shell.page_cache import PageCache
from web.shell.rendering import Renderer
from web.shell.session import SessionMiddleware

log = logging.getLogger("nabuur.app")


class NodeApp(Starlette):
    """Starlette with the security headers around everything, its server-error handler
    included, so that a 500 page carries them as well as any other response."""

    def __init__(self, *, public_url: str, **kwargs: Any) -> None:
        self.public_url = public_url
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), self.public_url)


class NotReady(RuntimeError):
    """The database is not migrated or the node not initialised."""


async def healthz(request: Request) -> JSONResponse:
    try:
        await db.ping()
    except Exception as exc:  # any database failure means "not healthy", with its reason
        log.warning("health check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def check_ready(settings: Settings) -> None:
    """Raise NotReady with what to run when the database is behind or empty.

    The ping comes first: a database that cannot be reached raises its own connection
    error (reported as such by the CLI), not "needs migrations" from an empty plan."""
    await db.ping()
    newer = await readiness.newer_migrations_problem()
    if newer is not None:
        raise NotReady(newer)
    pending = await db.pending_migrations(settings.database_url)
    if pending:
        raise NotReady(f"the database needs {len(pending)} migration(s): run `nabuur migrate`")
    if not await is_initialised():
        raise NotReady("this node is not initialised: run `nabuur init`")
    problem = await db.write_problem()
    if problem is not None:
        raise NotReady(problem)


async def _forget_stale_logins() -> int:
    return await sessions.purge_expired() + await login_limits.purge_old()


async def _forget_email_links() -> int:
    return await email_tokens.purge_old() + await email_limits.purge_old()


def periodic_jobs(settings: Settings) -> list[Job]:
    return [
        Job("expire-posts", settings.expiry_interval_seconds, expire_due_posts),
        # Expired sessions and old failed log-ins are of no use: an hour late is fine.
        Job("forget-stale-logins", 3600, _forget_stale_logins),
        Job("forget-old-signup-counts", 3600, signup_limits.purge_old),
        # Signatures accepted once (signed GETs of private posts) that have run out.
        Job("forget-used-tokens", 3600, used_tokens.purge_expired),
        # Mailed links a week past their expiry, and old counts of mail asked for.
        Job("forget-email-links", 3600, _forget_email_links),
        # Suspensions not lifted within 30 days are told to other servers, once.
        Job("federate-suspensions", 3600, federate_old_suspensions),
        housekeeping.job(settings),  # finished queue rows pruned after the retention period
        survey_updates.job(),  # survey counts to other servers: debounced, and at closing
        # The needs figures' monthly rows: every view refreshes them too; this keeps
        # what a view has to count small (and builds them on a node nobody looked at).
        Job("refresh-needs-figures", 600, needs_rollup.refresh),
        # Notification e-mail (only when the node sends e-mail): at once, and daily digests.
        mail_notifications.job(settings),
        mail_digest.job(settings),
    ]


def app_from_environment() -> Starlette:
    """The app of one of several server processes (`nabuur run --workers N`)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def create_app(
    settings: Settings, *, manage_database: bool = True, workers: bool = True
) -> Starlette:
    """The node's ASGI app.

    Tests that open the database themselves pass `manage_database=False`: the scheduler
    and the queue workers then stay off, and tests run them one batch at a time.
    """
    scheduler = Scheduler(periodic_jobs(settings))
    federation_runtime = FederationRuntime.create(settings, workers=workers)
    mail_worker = MailWorker.create(settings) if workers else None  # None: no e-mail
    queue_lock = QueueLock(settings.database_url)
    if settings.metrics_token:
        metrics.enable()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await db.open_database(settings.database_url)
        try:
            if manage_database:
                await check_ready(settings)
                federation_runtime.start_receiving()
                if settings.run_workers and queue_lock.acquire():
                    scheduler.start()
                    federation_runtime.start_workers()
                    if mail_worker is not None:
                        mail_worker.start()
            log.info("nabuur serving %s", settings.public_url)
            yield
        finally:
            if mail_worker is not None:
                await mail_worker.stop()
            await federation_runtime.stop()
            await scheduler.stop()
            queue_lock.release()
            metrics.process_stopped()
            if manage_database:
                await db.close_database()

    app = NodeApp(
        public_url=settings.public_url,
        routes=[
            Route(uris.HEALTH, healthz, name="healthz"),
            *federation.routes.routes,
            Mount("/admin", routes=admin.routes.routes, name="admin"),
            *web.routes.routes,
        ],
        middleware=[
            Middleware(RequestLogMiddleware),
            # /readyz and /metrics, answered before sessions and pages (node.ops).
            Middleware(OperatorEndpoints, settings=settings),
            # A database that is away gives the 503 page, from the session lookup too.
            Middleware(web.shell.errors.DatabaseFaults),
            Middleware(ActivityPubNegotiation, routes=federation.routes.negotiated_routes),
            Middleware(SessionMiddleware, settings=settings),
            Middleware(RequestMemo),
        ],
        exception_handlers=web.shell.errors.HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.renderer = Renderer(
        settings,
        template_dirs=[web.routes.TEMPLATES_DIR],
        prefixed={"admin": admin.routes.TEMPLATES_DIR},
    )
    app.state.page_cache = PageCache(settings.page_cache_seconds)
    app.state.profile_cache = ProfileCache(settings)
    app.state.federation = federation_runtime.federation
    app.state.inbox_writer = federation_runtime.inbox_writer
    return app


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    """`nabuur worker`: the queues and periodic jobs without serving HTTP, until `stop`."""
    await db.open_database(settings.database_url)
    queue_lock = QueueLock(settings.database_url)
    runtime = FederationRuntime.create(settings)
    mail_worker = MailWorker.create(settings)
    scheduler = Scheduler(periodic_jobs(settings))
    try:
        await check_ready(settings)
        if not queue_lock.acquire():
            raise NotReady("another process already works the queues of this SQLite database")
        scheduler.start()
        runtime.start_workers()
        if mail_worker is not None:
            mail_worker.start()
        log.info("nabuur worker running")
        await stop.wait()
        # SIGTERM: no new claims; what is in hand is finished (or released after a while).
        log.info("nabuur worker stopping: finishing the work in hand")
    finally:
        await scheduler.stop()
        if mail_worker is not None:
            await mail_worker.stop()
        await runtime.stop()
        queue_lock.release()
        await db.close_database()
