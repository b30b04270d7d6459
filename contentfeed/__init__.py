"""contentfeed: LinkedIn content enablement for B2B sellers, from library to routed lead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Request, Response
from flask.logging import default_handler
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from contentfeed import config, db, errors, http, i18n, security, text, ui

csrf = CSRFProtect()


class LeanSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work for requests that carry no session
    cookie (link followers, webhook senders): they get an empty session at once."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


class App(Flask):
    """Flask, with the request's unit of work: a handler's writes are committed once, when
    its answer is below 400, and rolled back otherwise (``db.finish_request``)."""

    def dispatch_request(self) -> ResponseReturnValue:
        response: Response = self.make_response(super().dispatch_request())
        db.finish_request(response.status_code)
        return response


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app: load settings, wire extensions and blueprints. No I/O beyond config."""
    app = App(
        __name__,
        template_folder=str(config.shipped("templates")),
        static_folder=str(config.shipped("static")),
        instance_relative_config=False,
    )
    app.session_interface = LeanSessionInterface()
    settings = config.load(app, overrides)

    # Log records go to the root logger, configured once by whichever process runs us.
    app.logger.removeHandler(default_handler)
    app.logger.setLevel(settings.log_level)
    db.init_app(app)
    http.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    register_auth(app)
    errors.register(app)
    text.register(app)
    ui.register(app)
    register_blueprints(app)
    register_middleware(app, settings.trusted_proxies)
    security.register(app)  # outermost: its headers are on every answer, fast paths' too
    return app


def register_middleware(app: Flask, trusted_proxies: int) -> None:
    """Answer tracked links below Flask; behind proxies, trust their forwarded headers."""
    from contentfeed.links.fastpath import RedirectFastPath

    app.wsgi_app = RedirectFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    if trusted_proxies:
        n = trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]


def register_auth(app: Flask) -> None:
    """Install sign-in sessions."""
    from contentfeed.accounts import access

    access.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Register every domain's pages and API (SCIM's too); the APIs authenticate by token,
    not cookie."""
    from contentfeed import api
    from contentfeed.accounts import api as accounts_api
    from contentfeed.accounts import scim_api
    from contentfeed.accounts import views as accounts_views
    from contentfeed.content import api as content_api
    from contentfeed.content import imports_views as content_import
    from contentfeed.content import views as content_views
    from contentfeed.customers import api as customers_api
    from contentfeed.customers import crm_api, crm_views
    from contentfeed.customers import views as customers_views
    from contentfeed.leads import api as leads_api
    from contentfeed.leads import gated_views
    from contentfeed.leads import views as leads_views
    from contentfeed.links import views as links_views
    from contentfeed.reports import api as reports_api
    from contentfeed.reports import customers_views as reports_customers
    from contentfeed.reports import people_views as reports_people
    from contentfeed.reports import views as reports_views
    from contentfeed.routing import admin_views as routing_admin
    from contentfeed.routing import api as routing_api
    from contentfeed.routing import views as routing_views
    from contentfeed.suggestions import api as suggestions_api
    from contentfeed.suggestions import views as suggestions_views

    for blueprint in (
        accounts_views.bp,
        content_views.bp,
        content_import.bp,
        links_views.bp,
        suggestions_views.bp,
        leads_views.bp,
        gated_views.bp,
        crm_views.bp,
        routing_views.bp,
        routing_admin.bp,
        customers_views.bp,
        reports_views.bp,
        reports_people.bp,
        reports_customers.bp,
    ):
        app.register_blueprint(blueprint)
    for blueprint in (
        api.bp,
        accounts_api.bp,
        scim_api.bp,
        content_api.bp,
        suggestions_api.bp,
        leads_api.bp,
        crm_api.bp,
        routing_api.bp,
        customers_api.bp,
        reports_api.bp,
    ):
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)
