"""Pages for gated content (the public lead form, the marketers' toggle) and personal data."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    flash,
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

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.accounts.service import normalise_email
from contentfeed.errors import Conflict, Invalid
from contentfeed.forms import Form
from contentfeed.leads import gated, intake, privacy
from contentfeed.links.service import COOKIE_NAME

bp = Blueprint("gated", __name__)


def _valid_email(form: FlaskForm, field: EmailField) -> None:
    try:
        field.data = normalise_email(field.data or "")
    except Invalid:
        raise ValidationError("Enter a valid email address, like name@company.com.") from None


class GatedForm(Form):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    email = EmailField(
        "Work email", validators=[DataRequired("Enter your email address."), _valid_email]
    )
    company = StringField("Company", validators=[Optional(), Length(max=200)])
    job_title = StringField("Job title", validators=[Optional(), Length(max=200)])
    consent = BooleanField(
        gated.CONSENT_TEXT, validators=[DataRequired("Tick the box to agree, or we can't send it.")]
    )
    # The honeypot: hidden from people, filled in by bots.
    website = StringField("Leave this empty", validators=[Optional()])


class PrivacyForm(Form):
    email = EmailField(
        "Email of the person", validators=[DataRequired("Enter an email address."), Length(max=254)]
    )
    confirm = BooleanField("I understand erasure cannot be undone")


# --- gated content -----------------------------------------------------------------------


def _file_url(item: gated.GatedItem) -> str:
    return url_for("content.file", public_id=item.public_id, filename=item.filename)


def _page(
    item: gated.GatedItem, form: GatedForm, status: int, message: str = ""
) -> ResponseReturnValue:
    html = render_template("leads/gated.html", content=item.content, form=form, message=message)
    return html, status


def _show_problems(form: Form, fields: dict[str, str]) -> None:
    """Put each refused field's complaint beside the form field that holds it."""
    for name, text in fields.items():
        field = form._fields.get("name" if name in ("first_name", "last_name") else name)
        if field is not None:
            field.errors = [*field.errors, text]


def _input_problems(exc: InputError) -> dict[str, str]:
    return {
        ".".join(str(p) for p in err["loc"]): err["msg"].removeprefix("Value error, ")
        for err in exc.errors()
    }


@bp.route("/g/<int:content_id>", methods=["GET", "POST"])  # content.models.GATED_PAGE
@access.public
def page(content_id: int) -> ResponseReturnValue:
    """The public page of a gated item: a short form, then the download."""
    s = db.session()
    item = gated.open_item(s, content_id)
    # German (and other) field names from a page that posts here are read as the form's own.
    form = (
        GatedForm(intake.gated_form_data(request.form)) if request.method == "POST" else GatedForm()
    )
    if request.method == "GET":
        return _page(item, form, 200)
    if (form.website.data or "").strip():
        return redirect(_file_url(item))  # a bot: pretend it worked, store nothing
    client = gated.client_hash(request.remote_addr or "", secret=config.current().secret_key)
    if gated.is_limited(s, client, limit=config.current().leads.gated_submissions_per_hour):
        message = "Too many requests from your network just now. Please try again in an hour."
        return _page(item, form, 429, message)
    if not form.validate():
        return _page(item, form, 422, "Please check the fields marked below.")
    try:
        submission = gated.Submission(
            name=form.name.data or "",
            email=form.email.data or "",
            company=form.company.data or "",
            job_title=form.job_title.data or "",
        )
    except InputError as exc:
        _show_problems(form, _input_problems(exc))
        return _page(item, form, 422, "Please check the fields marked below.")
    visit = gated.Visit(
        client=client,
        cf_ref=request.cookies.get(COOKIE_NAME, "")[:200],
        landing_url=request.url[:2000],
        referrer=(request.referrer or "")[:2000],
        user_agent=request.headers.get("User-Agent", ""),
    )
    outcome = gated.submit(item, submission, visit, config.current().leads)
    if outcome.problem is not None:
        _show_problems(form, outcome.problem.fields)
        return _page(item, form, 422, outcome.problem.message)
    # Processed, or failed for a reason of ours: the raw event is kept and retried by the job,
    # so the visitor gets the download either way.
    return redirect(_file_url(item))


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
                f"Gated: the file is now offered behind a form at {address}. Posts suggested "
                "from now on lead there; links suggested before keep leading to the file.",
                "success",
            )
        else:
            flash("No longer gated.", "success")
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
            form.email.errors = [*form.email.errors, "Enter an address, like name@company.com."]
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
                form.confirm.errors = ["Tick this to confirm the erasure."]
                return render_template("leads/privacy.html", form=form, result=result), 422
            report = privacy.erase(s, access.signed_in_user(), person)
            flash(report.summary() + ".", "success")
            return redirect(url_for("gated.privacy"))
        form.form_errors.append("Choose Export or Erase.")
        return render_template("leads/privacy.html", form=form, result=result), 422
    return render_template("leads/privacy.html", form=form, result=result)
