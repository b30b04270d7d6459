"""Pages for gated content (the public lead form, its thank-you page, the signed download and
the double opt-in link; the marketers' toggle) and personal data."""

from __future__ import annotations

import json
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from pydantic import ValidationError as InputError
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from contentfeed import config, db, i18n
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.accounts.service import normalise_email
from contentfeed.content.assets import send_asset
from contentfeed.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from contentfeed.forms import Form
from contentfeed.i18n import _, _l
from contentfeed.leads import gated, intake, privacy
from contentfeed.links.service import COOKIE_NAME
from contentfeed.text import input_problem

bp = Blueprint("gated", __name__)


def _valid_email(form: FlaskForm, field: EmailField) -> None:
    try:
        field.data = normalise_email(field.data or "")
    except Invalid:
        raise ValidationError(_("Enter a valid email address, like name@company.com.")) from None


class GatedForm(Form):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    email = EmailField(
        _l("Work email"), validators=[DataRequired(_l("Enter your email address.")), _valid_email]
    )
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=200)])
    # Its label is the consent wording of the visitor's language ([consent] texts).
    consent = BooleanField(
        _l("Consent"),
        validators=[DataRequired(_l("Tick the box to agree, or we can't send it."))],
    )
    # The honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Leave this empty"), validators=[Optional()])


class PrivacyForm(Form):
    email = EmailField(
        _l("Email of the person"),
        validators=[DataRequired(_l("Enter an email address.")), Length(max=254)],
    )
    confirm = BooleanField(_l("I understand erasure cannot be undone"))


# --- gated content -----------------------------------------------------------------------


def _consent() -> gated.Consent:
    return gated.consent_for(config.current().consent, i18n.current_locale())


def _page(
    item: gated.GatedItem, form: GatedForm, status: int, message: str = ""
) -> ResponseReturnValue:
    consent = _consent()
    html = render_template(
        "leads/gated.html", content=item.content, form=form, message=message, consent=consent
    )
    return html, status


def _thanks_url(item: gated.GatedItem) -> str:
    token = gated.download_token(item.content.id, secret=config.current().secret_key)
    return url_for("gated.thanks", content_id=item.content.id, token=token)


def _link_refused(exc: DomainError, content_id: int | None) -> ResponseReturnValue:
    """The clear page for a download or confirmation link that is too old or not ours."""
    html = render_template(
        "leads/gated_link.html",
        status=exc.status,
        message=exc.message,
        form_url=url_for("gated.page", content_id=content_id) if content_id else "",
    )
    return html, exc.status


def _show_problems(form: Form, fields: dict[str, str]) -> None:
    """Put each refused field's complaint beside the form field that holds it."""
    for name, text in fields.items():
        field = form._fields.get("name" if name in ("first_name", "last_name") else name)
        if field is not None:
            field.errors = [*field.errors, text]


def _input_problems(exc: InputError) -> dict[str, str]:
    return {".".join(str(p) for p in err["loc"]): input_problem(err) for err in exc.errors()}


def _mail() -> gated.ConfirmationMail:
    return gated.confirmation_mail(config.current())


@bp.route("/g/<int:content_id>", methods=["GET", "POST"])  # content.models.GATED_PAGE
@access.public
def page(content_id: int) -> ResponseReturnValue:
    """The public page of a gated item: a short form, then the thank-you page's download."""
    s = db.session()
    item = gated.open_item(s, content_id)
    # German (and other) field names from a page that posts here are read as the form's own.
    form = (
        GatedForm(intake.gated_form_data(request.form)) if request.method == "POST" else GatedForm()
    )
    if request.method == "GET":
        return _page(item, form, 200)
    if (form.website.data or "").strip():
        return redirect(_thanks_url(item))  # a bot: pretend it worked, store nothing
    settings = config.current()
    client = gated.client_hash(request.remote_addr or "", secret=settings.secret_key)
    if gated.is_limited(s, client, limit=settings.leads.gated_submissions_per_hour):
        message = _("Too many requests from your network just now. Please try again in an hour.")
        return _page(item, form, 429, message)
    if not form.validate():
        return _page(item, form, 422, _("Please check the fields marked below."))
    try:
        submission = gated.Submission(
            name=form.name.data or "",
            email=form.email.data or "",
            company=form.company.data or "",
            job_title=form.job_title.data or "",
        )
    except InputError as exc:
        _show_problems(form, _input_problems(exc))
        return _page(item, form, 422, _("Please check the fields marked below."))
    visit = gated.Visit(
        client=client,
        cf_ref=request.cookies.get(COOKIE_NAME, "")[:200],
        landing_url=request.url[:2000],
        referrer=(request.referrer or "")[:2000],
        user_agent=request.headers.get("User-Agent", ""),
    )
    consent = _consent()
    outcome = gated.submit(item, submission, visit, settings.leads, consent)
    if outcome.problem is not None:
        _show_problems(form, outcome.problem.fields)
        return _page(item, form, 422, outcome.problem.message)
    # Processed, or failed for a reason of ours: the raw event is kept and retried by the job,
    # so the visitor gets the download either way.
    target = _thanks_url(item)
    if settings.consent.double_opt_in and outcome.lead_id is not None:
        sent = gated.request_confirmation(
            s, outcome.lead_id, item.content.title, _mail(), consent.locale
        )
        target = f"{target}?confirm={'sent' if sent else 'failed'}"
    return redirect(target)


def _signed_download(content_id: int, token: str) -> gated.GatedItem:
    """Open the download a signed link names, within the configured hours."""
    settings = config.current()
    return gated.open_download(
        db.session(),
        content_id,
        token,
        secret=settings.secret_key,
        hours=settings.consent.download_hours,
    )


@bp.get("/g/<int:content_id>/thanks/<token>")
@access.public
def thanks(content_id: int, token: str) -> ResponseReturnValue:
    """The thank-you page after the form, in the visitor's language, with the download."""
    settings = config.current()
    try:
        item = _signed_download(content_id, token)
    except (gated.Expired, Forbidden) as exc:
        return _link_refused(exc, content_id)
    html = render_template(
        "leads/gated_thanks.html",
        content=item.content,
        download_url=url_for(
            "gated.download", content_id=content_id, token=token, filename=item.filename
        ),
        filename=item.filename,
        confirm=request.args.get("confirm", ""),
        hours=settings.consent.download_hours,
    )
    response = make_response(html)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/g/<int:content_id>/download/<token>/<path:filename>")
@access.public
def download(content_id: int, token: str, filename: str) -> ResponseReturnValue:
    """The gated file itself, for a signed link that is not expired; refused otherwise."""
    settings = config.current()
    try:
        item = _signed_download(content_id, token)
    except (gated.Expired, Forbidden) as exc:
        return _link_refused(exc, content_id)
    if filename != item.filename or item.content.asset is None:
        return _link_refused(Forbidden(_("This link is not valid.")), content_id)
    folder = Path(settings.library.upload_dir)
    response = make_response(send_asset(item.content.asset, folder, max_age=0))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/g/confirm/<token>")  # gated.CONFIRM_PAGE
@access.public
def confirm(token: str) -> ResponseReturnValue:
    """The double opt-in link of the confirmation email: records when consent was confirmed."""
    settings = config.current()
    try:
        gated.confirm_consent(
            db.session(), token, secret=settings.secret_key, days=settings.consent.confirm_days
        )
    except (gated.Expired, Forbidden, NotFound) as exc:
        return _link_refused(exc, None)
    return render_template("leads/gated_confirmed.html")


@bp.post("/library/<int:content_id>/gated")
@access.require_role(Role.ADMIN, Role.MARKETER)
def toggle(content_id: int) -> ResponseReturnValue:
    """Mark an item's uploaded file as gated behind the lead form, or open it again."""
    try:
        is_gated = gated.toggle_gated(db.session(), access.signed_in_user(), content_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        if is_gated:
            address = url_for("gated.page", content_id=content_id, _external=True)
            flash(
                _(
                    "Gated: the file is now offered behind a form at %(address)s. Every link "
                    "to the file leads there now, links suggested before too.",
                    address=address,
                ),
                "success",
            )
        else:
            flash(_("No longer gated."), "success")
    return redirect(url_for("content.detail", content_id=content_id))


# --- personal data -----------------------------------------------------------------------


@bp.route("/admin/privacy", methods=["GET", "POST"], endpoint="privacy")
@access.require_role(Role.ADMIN)
def privacy_page() -> ResponseReturnValue:
    """Export or erase everything held about one person."""
    form = PrivacyForm()
    result = ""
    if request.method == "POST":
        action = request.form.get("action", "")
        if not form.validate():
            return render_template("leads/privacy.html", form=form, result=result), 422
        try:
            person = privacy.ErasureIn(email=form.email.data or "")
        except InputError:
            form.email.errors = [
                *form.email.errors,
                _("Enter an address, like name@company.com."),
            ]
            return render_template("leads/privacy.html", form=form, result=result), 422
        s = db.session()
        if action == "export":
            held = privacy.export(s, person)
            if not held.found:
                flash(held.message, "info")
                return render_template("leads/privacy.html", form=form, result=result)
            return Response(
                json.dumps(held.data, indent=2),
                mimetype="application/json",
                headers={"Content-Disposition": 'attachment; filename="personal-data.json"'},
            )
        if action == "erase":
            if not form.confirm.data:
                form.confirm.errors = [_("Tick this to confirm the erasure.")]
                return render_template("leads/privacy.html", form=form, result=result), 422
            report = privacy.erase(s, access.signed_in_user(), person)
            flash(report.summary() + ".", "success")
            return redirect(url_for("gated.privacy"))
        form.form_errors.append(_("Choose Export or Erase."))
        return render_template("leads/privacy.html", form=form, result=result), 422
    return render_template("leads/privacy.html", form=form, result=result)
