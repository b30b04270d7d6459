"""The `contentfeed` command: quickstart, serve, database, users, tokens, demo data."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import signal
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, routes_command, shell_command, with_appcontext

from contentfeed import config, create_app, db, demo, migrate
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import Role
from contentfeed.config import ConfigError, record_base_url
from contentfeed.errors import DomainError
from contentfeed.leads import service as leads
from contentfeed.scheduler import SchedulerProcess
from contentfeed.suggestions import service as suggestions


def _configure_logging(app: Flask) -> None:
    logging.basicConfig(
        level=config.settings_of(app).log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # APScheduler announces every run of every job at INFO; our own job lines say what
    # was done, so keep its chatter for warnings (a 5-second job would flood the log).
    logging.getLogger("apscheduler").setLevel(
        max(logging.WARNING, logging.getLevelName(config.settings_of(app).log_level))
    )


def _make_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


@click.group()
@click.version_option(package_name="contentfeed")
@click.pass_context
def main(ctx: click.Context) -> None:
    """contentfeed: LinkedIn content enablement, from library to routed lead.

    Settings come from config.toml and CONTENTFEED_* environment variables.
    """
    if ctx.obj is None:
        ctx.obj = ScriptInfo(create_app=_make_app, set_debug_flag=False, load_dotenv_defaults=False)


main.add_command(shell_command)
main.add_command(routes_command)


def _fail(exc: DomainError) -> click.ClickException:
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    return click.ClickException(exc.message + (f" ({details})" if details else ""))


# --- database ----------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the configured database to the latest schema (a deploy step)."""
    url = config.current().database_url
    migrate.upgrade(url, revision)
    click.echo(f"Database is at revision {revision}: {db.engine().url.render_as_string()}")


# --- users and tokens --------------------------------------------------------------------


@main.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="", help="Full name (defaults to the email's local part).")
@click.option("--password", default=None, help="Password; a random one is printed when omitted.")
@with_appcontext
def create_user(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user who can sign in."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        with db.unit_of_work() as s:  # a command is its own unit of work, kept before it says so
            user = accounts.create_user(
                s,
                email=email,
                name=name or email.split("@")[0].replace(".", " ").title(),
                role=role,
                password=password,
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    click.echo(f"Created {user.role_label.lower()} {user.name} <{user.email}>.")
    if generated:
        click.echo(f"Password: {password}")


@main.command("create-token")
@click.argument("email")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(list(accounts.SCOPES)),
    help="Repeat for several scopes.",
)
@click.option("--name", default="CLI token", show_default=True, help="What uses the token.")
@with_appcontext
def create_token(email: str, scopes: tuple[str, ...], name: str) -> None:
    """Issue an API token for a user and print it (shown only this once)."""
    try:
        with db.unit_of_work() as s:
            user = accounts.find_user_by_email(s, email)
            if user is None:
                raise click.ClickException(f"No user with the email {email}.")
            _token, plaintext = accounts.issue_token(s, user, name=name, scopes=scopes)
    except DomainError as exc:
        raise _fail(exc) from exc
    click.echo(plaintext)


@main.group("webhook-secret")
def webhook_secret_group() -> None:
    """Signing secrets for the lead webhook (Standard Webhooks)."""


@webhook_secret_group.command("create")
@click.option("--name", default="CLI secret", show_default=True, help="The sender that uses it.")
@with_appcontext
def webhook_secret_create(name: str) -> None:
    """Create a lead webhook signing secret and print it (whsec_..., shown only this once)."""
    try:
        with db.unit_of_work() as s:
            _secret, value = leads.create_secret(s, name=name)
    except DomainError as exc:
        raise _fail(exc) from exc
    click.echo(value)


# --- demo data, quickstart, servers ------------------------------------------------------


@main.command("suggest")
@click.option("--seller", "email", default=None, help="Only this seller (email).")
@click.option(
    "--now", "ignore_cadence", is_flag=True, help="Ignore cadence and weekday: one more today."
)
@click.option(
    "--seed", type=int, default=None, help="Seed for the engine's draws (repeatable runs)."
)
@with_appcontext
def suggest(email: str | None, ignore_cadence: bool, seed: int | None) -> None:
    """Run fill-feeds once: due sellers (or one seller) get their suggestions."""
    _warn_if_nothing_answers(current_app._get_current_object())  # type: ignore[attr-defined]
    with db.unit_of_work() as s:
        only = None
        if email:
            user = accounts.find_user_by_email(s, email)
            if user is None or user.role is not Role.SELLER:
                raise click.ClickException(f"No seller with the email {email}.")
            only = [user.id]
        result = suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.current()),
            only=only,
            ignore_cadence=ignore_cadence,
            seed=seed,
        )
    if result.sellers_due == 0:
        click.echo("No seller is due a suggestion right now (use --now to ignore cadence).")
    elif result.created == 0 and result.not_rendered:
        click.echo(f"Created {result}.")
    elif result.created == 0:
        click.echo(f"{result.sellers_due} seller(s) due, but no live content fits them.")
    else:
        click.echo(f"Created {result}.")


@main.command("demo-data")
@with_appcontext
def demo_data() -> None:
    """Add the demo teams, staff and sellers (once; running again changes nothing)."""
    _seed_demo()


def _seed_demo() -> list[tuple[str, str]]:
    with db.unit_of_work() as s:
        already = demo.has_demo_data(s)
        logins = demo.seed(s, config.current().public_base_url)
    click.echo("Demo data was already there." if already else "Demo data added.")
    return logins


def record_served_address(app: Flask, host: str, port: int) -> str:
    """Make this server's address the install's public base URL, unless one is configured.

    It is noted in the instance folder, so `contentfeed suggest` (or any other process of
    this install) started in a second shell writes tracked links that reach this server.
    """
    if app.config.get("PUBLIC_BASE_URL_SOURCE") == "configured":
        return config.settings_of(app).public_base_url
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    if ":" in shown:  # an IPv6 address is bracketed in a URL
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}"
    settings = config.override(app, public_base_url=url)
    app.config["PUBLIC_BASE_URL_SOURCE"] = "recorded"
    record_base_url(Path(settings.instance_path), url)
    return url


def _warn_if_nothing_answers(app: Flask) -> None:
    """Warn when the public base URL is this machine's and no server listens there.

    Links written now would be dead. Only loopback addresses are tried (a public address
    may well be unreachable from here while it works for everyone else).
    """
    base = config.settings_of(app).public_base_url
    parts = urlsplit(base)
    host = parts.hostname or ""
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return
    except OSError:
        pass
    click.echo(
        f"Warning: nothing answers at {base} (public_base_url, "
        f"{app.config.get('PUBLIC_BASE_URL_SOURCE', 'configured')}); the tracked links "
        "written now start with it. Start `contentfeed quickstart` (it records its address) "
        "or set public_base_url to the address people reach this service at.",
        err=True,
    )


@main.command("quickstart")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Start with an empty database.")
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def quickstart(host: str, port: int, no_demo: bool, threads: int) -> None:
    """Create and migrate the embedded database, add demo data, and serve on one machine."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _configure_logging(app)
    record_served_address(app, host, port)
    migrate.upgrade(config.settings_of(app).database_url)
    click.echo(f"Database ready: {db.engine().url.render_as_string()}")
    if not no_demo:
        logins = _seed_demo()
        click.echo(f"\nDemo sign-ins (password: {demo.DEMO_PASSWORD}):")
        for role, email in logins:
            click.echo(f"  {role:<12} {email}")
    url = f"http://{host}:{port}/"
    click.echo(f"\ncontentfeed is running at {url}  (Ctrl+C stops it)\n")
    from waitress import serve

    process = SchedulerProcess(app)
    process.start_in_thread()
    try:
        serve(app, host=host, port=port, threads=threads, ident="contentfeed")
    finally:
        process.stop()


@main.command("scheduler")
@click.option(
    "--poll",
    default=2.0,
    show_default=True,
    help="Seconds between leadership checks (a standby takes over within about this long).",
)
@with_appcontext
def scheduler(poll: float) -> None:
    """Run the scheduler process; several may run, exactly one is active at a time."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _configure_logging(app)
    process = SchedulerProcess(app, poll_seconds=poll)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: process.stop())
    jobs = ", ".join(job.id for job in process.jobs)
    click.echo(f"Scheduler standing by for leadership; jobs: {jobs}")
    process.run()
    click.echo("Scheduler stopped.")


@main.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a server binds publicly by choice
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the production web server (gunicorn); run migrations before with `db upgrade`."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "contentfeed")

        def load(self) -> Any:
            return _make_app()

    Server().run()


# --- translations ----------------------------------------------------------------------------


@main.group("translations")
def translations_group() -> None:
    """The interface's translation catalogues (run in a checkout)."""


@translations_group.command("update")
def translations_update() -> None:
    """Extract the texts from code and templates and bring each catalogue up to date."""
    from contentfeed import catalogues

    for locale, missing in catalogues.update().items():
        click.echo(f"{catalogues.po_path(locale)}: {missing} text(s) to translate")


@translations_group.command("compile")
def translations_compile() -> None:
    """Compile each catalogue (messages.po -> messages.mo) for the service to read."""
    from contentfeed import catalogues

    for path in catalogues.compile_all():
        click.echo(f"wrote {path}")


@translations_group.command("check")
def translations_check() -> None:
    """Fail when a text lacks a translation or a compiled catalogue is out of date."""
    from contentfeed import catalogues

    problems = 0
    for gap in catalogues.gaps():
        for label, texts in (
            ("not in the catalogue (run update)", gap.missing),
            ("untranslated", gap.untranslated),
            ("fuzzy", gap.fuzzy),
        ):
            for text in texts:
                click.echo(f"{gap.locale}: {label}: {text!r}")
                problems += 1
        if gap.stale_compiled:
            click.echo(f"{gap.locale}: the compiled catalogue is out of date (run compile)")
            problems += 1
    if problems:
        raise click.ClickException(f"{problems} problem(s) in the translation catalogues")
    click.echo("every text is translated and compiled")
