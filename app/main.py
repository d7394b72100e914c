"""The application factory."""

import asyncio
import importlib.util
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.access.router import router as sharing_settings_router
from app.accounts.router import router as accounts_router
from app.activities.router import events_router, notes_router, tasks_router
from app.admin.router import clients, me, roles, users
from app.auth import cache as auth_cache
from app.auth.keys import KeyRing
from app.auth.router import router as oauth_router
from app.batch.router import router as batch_router
from app.campaigns.router import campaigns_router, members_router
from app.cases.router import routers as case_routers
from app.changes.router import router as changes_router
from app.config import Settings, get_settings
from app.contacts.router import router as contacts_router
from app.customfields.router import router as custom_fields_router
from app.deals.router import router as deal_registrations_router
from app.distribution.router import routers as distribution_routers
from app.email.router import mass_router as mass_emails_router
from app.email.router import router as emails_router
from app.email.router import templates_router as email_templates_router
from app.email.tracking import router as tracking_router
from app.ideas.router import router as ideas_router
from app.inbound.router import routers as inbound_routers
from app.kit import db, errors, fastpath, heap
from app.kit.errors import FieldError, Problem
from app.kit.idempotency import IdempotencyMiddleware
from app.kit.middleware import RequestContextMiddleware
from app.leads.router import router as leads_router
from app.mdf.router import budgets_router as mdf_budgets_router
from app.mdf.router import claims_router as fund_claims_router
from app.mdf.router import requests_router as fund_requests_router
from app.notifications.router import router as notifications_router
from app.opportunities.router import line_items_router
from app.opportunities.router import router as opportunities_router
from app.ops.router import router as ops_router
from app.partners.router import router as partners_router
from app.picklists.router import router as picklists_router
from app.portal.router import routers as portal_routers
from app.products.router import entries_router, price_books_router, products_router
from app.recyclebin.router import router as recycle_bin_router
from app.satisfaction.router import router as satisfaction_router
from app.scorecards.router import kpis_router, plans_router, scorecards_router
from app.solutions.router import routers as solutions_routers
from app.webhooks.router import router as webhooks_router

API_VERSION = "0.1.0"
DESCRIPTION = """Accord is an API-first CRM and PRM: leads, accounts, contacts, opportunities,
campaigns, cases, partners, deal registration and lead distribution.

Errors are RFC 9457 problem documents with a stable `code`. Lists are keyset-paginated with an
opaque `next_cursor`. Authenticate with OAuth 2 access tokens from `/oauth/token`."""


def operation_id(route: APIRoute) -> str:
    """``<tag>_<action>``: clean method names in generated clients (``leads_convert``)."""
    return f"{route.tags[0]}_{route.name}"


def telemetry_config() -> dict:
    """FastAPI's OpenTelemetry, as FastAPI sets it up, where a provider can exist: with the
    OpenTelemetry SDK installed. Without it there is never a provider to report to, so the
    per-request lookups of the global providers are turned off (docs/PERFORMANCE.md)."""
    try:
        sdk = importlib.util.find_spec("opentelemetry.sdk")
    except ModuleNotFoundError:  # no OpenTelemetry at all
        sdk = None
    if sdk is not None:
        return {}
    return {"tracing": False, "metrics": False, "logs": False}


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    from app.kit import embedded

    return embedded.start(settings.data_dir)


def create_app(settings: Settings | None = None, *, session_factory=None, engine=None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = app.state.engine is None
        if own_engine:
            app.state.engine = db.create_engine(settings, database_url(settings))
        if app.state.session_factory is None:
            app.state.session_factory = db.write_factory(app.state.engine)
            app.state.read_session_factory = db.read_factory(app.state.engine)
        await app.state.keyring.load(app.state.engine)
        # ``accord serve`` runs a job worker in each API process unless --no-worker.
        worker = None
        if settings.worker_in_process:
            from app.jobs.queue import Worker

            worker = Worker(
                db.session_factory_for(db.make_sessionmaker(app.state.engine)),
                settings,
                engine=app.state.engine,
            )
            worker_task = asyncio.create_task(worker.run())
        stopping = asyncio.Event()
        auth_listener = asyncio.create_task(
            auth_cache.listen(app.state.engine, settings.principal_cache_seconds, stopping)
        )
        if getattr(app.state, "settle_heap", False):
            heap.settle()
        try:
            yield
        finally:
            stopping.set()
            with suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(auth_listener, 5)
            if worker is not None:
                worker.stop()
                with suppress(asyncio.CancelledError):
                    await worker_task
            if own_engine:
                await app.state.engine.dispose()

    # FastAPI has had native OpenTelemetry (and this argument) since about 0.150.
    native = "telemetry" in inspect.signature(FastAPI.__init__).parameters
    app = FastAPI(
        **({"telemetry": telemetry_config()} if native else {}),
        title="Accord API",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        separate_input_output_schemas=False,
        openapi_tags=[
            {"name": "oauth", "description": "The OAuth 2 authorization server"},
            {"name": "me", "description": "The caller"},
            {"name": "users", "description": "Users of every kind"},
            {"name": "roles", "description": "The role hierarchy"},
            {"name": "api_clients", "description": "OAuth clients for scripts and systems"},
            {"name": "accounts", "description": "Companies: customers, partners, competitors"},
            {"name": "contacts", "description": "People at accounts"},
            {"name": "leads", "description": "Prospects not yet qualified"},
            {"name": "products", "description": "The product catalogue"},
            {"name": "price_books", "description": "Price lists of products"},
            {"name": "price_book_entries", "description": "A product's price in a price book"},
            {"name": "opportunities", "description": "Deals in progress, with stage history"},
            {"name": "opportunity_line_items", "description": "Products on an opportunity"},
            {
                "name": "partners",
                "description": "Partner accounts, their users and their systems' clients",
            },
            {"name": "campaigns", "description": "Marketing campaigns, in a hierarchy"},
            {"name": "campaign_members", "description": "Leads and contacts in a campaign"},
            {"name": "tasks", "description": "Things to do, about records and people"},
            {"name": "events", "description": "Calendar events, about records and people"},
            {"name": "notes", "description": "Notes attached to records"},
            {"name": "changes", "description": "The change feed for replication and sync"},
            {"name": "custom_fields", "description": "Typed fields administrators add to objects"},
            {"name": "recycle_bin", "description": "Deleted records: list, purge"},
            {"name": "sharing_settings", "description": "Org-wide defaults of record access"},
            {
                "name": "picklists",
                "description": "Allowed values of picklist fields: lead status, stage, ...",
            },
            {"name": "email_templates", "description": "Email templates with merge fields"},
            {"name": "emails", "description": "Emails sent from records, with tracking"},
            {"name": "mass_emails", "description": "One email to many leads or contacts"},
            {"name": "notifications", "description": "The caller's in-app notifications"},
            {
                "name": "tracking",
                "description": "Public email open pixel and link redirect",
            },
            {"name": "webhooks", "description": "Event subscriptions, deliveries and their log"},
            {"name": "batch", "description": "Many operations in one call"},
            {"name": "ops", "description": "Health, readiness and metrics"},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.read_session_factory = None
    app.state.keyring = KeyRing(settings)

    errors.install(app)
    # Starlette runs the last added outermost: request context, then idempotency.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        larger_bodies={"/api/v1/inbound/email": settings.inbound_max_message_bytes},
    )
    for router in (
        oauth_router,
        me,
        users,
        roles,
        clients,
        accounts_router,
        contacts_router,
        leads_router,
        *distribution_routers,
        products_router,
        price_books_router,
        entries_router,
        opportunities_router,
        line_items_router,
        partners_router,
        deal_registrations_router,
        scorecards_router,
        plans_router,
        kpis_router,
        mdf_budgets_router,
        fund_requests_router,
        fund_claims_router,
        *case_routers,
        *inbound_routers,
        *solutions_routers,
        ideas_router,
        campaigns_router,
        members_router,
        tasks_router,
        events_router,
        notes_router,
        email_templates_router,
        emails_router,
        mass_emails_router,
        notifications_router,
        tracking_router,
        *portal_routers,
        satisfaction_router,
        changes_router,
        custom_fields_router,
        recycle_bin_router,
        sharing_settings_router,
        picklists_router,
        batch_router,
        webhooks_router,
        ops_router,
    ):
        app.include_router(router)
    # The one seam of the fast path (app/kit/fastpath): off with ACCORD_FASTPATH=off.
    fastpath.install(app)

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["Problem"].pop("$defs", None)
        components["FieldError"] = FieldError.model_json_schema()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
    return app


def factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker process builds its own app)."""
    from app.kit import logging as accord_logging

    settings = get_settings()
    accord_logging.configure(settings.log_level, settings.log_json)
    app = create_app(settings)
    # A serving process: freeze what startup built out of the collector's way (app.kit.heap).
    app.state.settle_heap = True
    return app
