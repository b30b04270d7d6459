"""HTML forms for sign-in and account administration (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from contentfeed.accounts.models import ROLE_LABELS, TEAM_KIND_LABELS, NotificationChannel
from contentfeed.accounts.service import MIN_PASSWORD_LENGTH, SCOPES, WEEKDAY_NAMES
from contentfeed.forms import Form, MultiCheckboxField, options

LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "sv": "Swedish",
    "da": "Danish",
    "pl": "Polish",
    "ja": "Japanese",
}


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device")


class UserForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    role = SelectField(
        "Role", choices=options((r.value, label) for r, label in ROLE_LABELS.items())
    )
    team_id = SelectField("Team", coerce=int, choices=[], validate_choice=True)
    timezone = StringField(
        "Time zone",
        validators=[Optional(), Length(max=64)],
        description="IANA name such as Europe/Berlin; empty uses the company default.",
    )
    password = PasswordField(
        "Initial password",
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters. Leave empty to keep it unchanged.",
    )


class SellerProfileForm(Form):
    title = StringField("Job title", validators=[Optional(), Length(max=200)])
    region = StringField(
        "Region", validators=[Optional(), Length(max=64)], description="e.g. DACH, Nordics, UK&I"
    )
    language = SelectField(
        "Language",
        choices=options(LANGUAGES.items()),
    )
    topics = StringField(
        "Topics",
        validators=[Optional(), Length(max=500)],
        description="Comma-separated, e.g. cloud, security, databases.",
    )
    posts_per_week = IntegerField(
        "Posts per week", validators=[NumberRange(min=0, max=21)], default=3
    )
    weekdays = MultiCheckboxField(
        "Preferred weekdays", coerce=int, choices=options(enumerate(WEEKDAY_NAMES))
    )
    linkedin_url = URLField("LinkedIn profile", validators=[Optional(), Length(max=300)])
    linkedin_connections = IntegerField(
        "LinkedIn connections", validators=[Optional(), NumberRange(min=0)], default=0
    )
    notification_channel = SelectField(
        "Notify me by",
        choices=options(
            [
                (NotificationChannel.EMAIL.value, "Email digest"),
                (NotificationChannel.SLACK.value, "Slack message"),
                (NotificationChannel.TEAMS.value, "Microsoft Teams message"),
                (NotificationChannel.NONE.value, "No notifications"),
            ]
        ),
    )
    notification_target = StringField(
        "Notification address",
        validators=[Optional(), Length(max=500)],
        description="Email address, or the Slack / Teams incoming-webhook URL.",
    )
    is_paused = BooleanField("Pause suggestions (holidays, leave)")


class TeamForm(Form):
    name = StringField("Team name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField(
        "Kind", choices=options((k.value, label) for k, label in TEAM_KIND_LABELS.items())
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])


class TokenForm(Form):
    user_id = SelectField("Acts as user", coerce=int, choices=[])
    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=120)],
        description="What uses it, e.g. 'Website form relay' or 'CRM sync'.",
    )
    scopes = MultiCheckboxField(
        "Scopes",
        choices=options((scope, f"{scope} — {text}") for scope, text in SCOPES.items()),
        validators=[DataRequired(message="Choose at least one scope.")],
    )
    expires_in_days = IntegerField(
        "Expires after (days)",
        validators=[Optional(), NumberRange(min=1, max=3650)],
        description="Leave empty for a token that lasts until revoked.",
    )


class AccountForm(Form):
    name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    timezone = StringField(
        "Time zone",
        validators=[Optional(), Length(max=64)],
        description="IANA name such as Europe/Berlin or Asia/Tokyo.",
    )


class PasswordForm(Form):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )


class ConfirmForm(Form):
    """An empty form, for buttons that only need CSRF protection."""


class ProfileForm(SellerProfileForm):
    """A seller's own profile: the seller profile plus their time zone."""

    timezone = StringField(
        "Time zone",
        validators=[Optional(), Length(max=64)],
        description="IANA name such as Europe/Berlin; suggestions follow your local day.",
    )


class SellerImportForm(Form):
    file = FileField(
        "CSV file",
        validators=[FileRequired(message="Choose a CSV file to import.")],
        description=(
            "As your spreadsheet saves CSV (cells separated by , or ; or tabs), "
            "at most 5,000 sellers."
        ),
    )
