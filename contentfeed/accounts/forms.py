"""HTML forms for sign-in and account administration (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from typing import Any

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

from contentfeed.accounts.models import (
    NOTIFICATION_CHANNEL_LABELS,
    ROLE_LABELS,
    TEAM_KIND_LABELS,
    NotificationChannel,
    Role,
)
from contentfeed.accounts.service import MIN_PASSWORD_LENGTH, SCOPES
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.i18n import _l, weekday_text

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
# The same names in the request's language (LANGUAGES stays plain text for its other readers).
LANGUAGE_LABELS = {
    "en": _l("English"),
    "de": _l("German"),
    "fr": _l("French"),
    "es": _l("Spanish"),
    "it": _l("Italian"),
    "nl": _l("Dutch"),
    "sv": _l("Swedish"),
    "da": _l("Danish"),
    "pl": _l("Polish"),
    "ja": _l("Japanese"),
}


def language_label(code: str) -> str:
    """Return a language's name in the request's language ("Deutsch"), or the code itself."""
    label = LANGUAGE_LABELS.get(code)
    return str(label) if label is not None else code


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class ChoosePasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
    )


class UserForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    # Starts at the least privileged role: nobody becomes admin by not looking.
    role = SelectField(
        _l("Role"),
        choices=options((r.value, label) for r, label in ROLE_LABELS.items()),
        default=Role.SELLER.value,
    )
    team_id = SelectField(_l("Team"), coerce=int, choices=[], validate_choice=True)
    timezone = StringField(
        _l("Time zone"),
        validators=[Optional(), Length(max=64)],
        description=_l("IANA name such as Europe/Berlin; empty uses the company default."),
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH)],
        description=_l(
            "At least %(count)s characters. Leave empty to keep it unchanged.",
            count=MIN_PASSWORD_LENGTH,
        ),
    )


class SellerProfileForm(Form):
    title = StringField(_l("Job title"), validators=[Optional(), Length(max=200)])
    region = StringField(
        _l("Region"),
        validators=[Optional(), Length(max=64)],
        description=_l("e.g. DACH, Nordics, UK&I"),
    )
    # The seller's languages in order: items are suggested when a variant is in one of them,
    # in the first one that has a variant.
    language = SelectField(
        _l("Preferred language"),
        choices=options(LANGUAGE_LABELS.items()),
        description=_l("Posts come in this language when the item has it."),
    )
    language_2 = SelectField(
        _l("Second language"),
        choices=options([("", _l("None")), *LANGUAGE_LABELS.items()]),
        default="",
    )
    language_3 = SelectField(
        _l("Third language"),
        choices=options([("", _l("None")), *LANGUAGE_LABELS.items()]),
        default="",
    )

    def allow_languages(self, languages: list[str]) -> None:
        """Offer a profile's own codes too when the table lacks them (an imported "pt"), and
        keep the languages after the third (set by the API or an import) when it is saved."""
        self.further_languages = list(languages[3:])
        for field in (self.language, self.language_2, self.language_3):
            known = {getattr(choice, "value", None) for choice in field.choices}
            extra = [(code, code) for code in languages if code not in known]
            if extra:
                field.choices = [*field.choices, *options(extra)]

    def show_languages(self, languages: list[str]) -> None:
        """Fill the three language choices from a profile's list (first = preferred)."""
        for field, code in zip(
            (self.language, self.language_2, self.language_3), languages, strict=False
        ):
            field.data = code

    def chosen_languages(self) -> list[str]:
        """Return the languages chosen, in order, then the profile's further ones."""
        chosen = [
            code
            for code in (self.language.data, self.language_2.data, self.language_3.data)
            if code
        ]
        further = getattr(self, "further_languages", [])
        return list(dict.fromkeys([*chosen, *further]))

    topics = StringField(
        _l("Topics"),
        validators=[Optional(), Length(max=500)],
        description=_l("Comma-separated, e.g. cloud, security, databases."),
    )
    posts_per_week = IntegerField(
        _l("Posts per week"), validators=[NumberRange(min=0, max=21)], default=3
    )
    weekdays = MultiCheckboxField(_l("Preferred weekdays"), coerce=int, choices=[])
    linkedin_url = URLField(_l("LinkedIn profile"), validators=[Optional(), Length(max=300)])
    linkedin_connections = IntegerField(
        _l("LinkedIn connections"), validators=[Optional(), NumberRange(min=0)], default=0
    )
    notification_channel = SelectField(
        _l("Notify me by"),
        choices=options(
            (channel.value, NOTIFICATION_CHANNEL_LABELS[channel]) for channel in NotificationChannel
        ),
    )
    notification_target = StringField(
        _l("Notification address"),
        validators=[Optional(), Length(max=500)],
        description=_l("Email address, or the Slack / Teams incoming-webhook URL."),
    )
    is_paused = BooleanField(_l("Pause suggestions (holidays, leave)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The weekdays' names in the request's language ("Mo.", "Mon"), 0 is Monday.
        self.weekdays.choices = options((day, weekday_text(day)) for day in range(7))

    def email_not_set_up(self) -> None:
        """Say on the email option that email is not set up (no mail server): the digests
        are then only kept for admins under Sent email, nobody receives them."""
        self.notification_channel.choices = options(
            (
                channel.value,
                _l("Email digest (not set up yet)")
                if channel is NotificationChannel.EMAIL
                else NOTIFICATION_CHANNEL_LABELS[channel],
            )
            for channel in NotificationChannel
        )
        # The option stays short (a select cuts a long one off on a phone); the why goes below.
        self.notification_channel.description = _l(
            "No mail server is set up yet: email digests are kept for admins under Sent email "
            "and reach nobody. Slack or Teams work now."
        )


class TeamForm(Form):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(
        _l("Kind"), choices=options((k.value, label) for k, label in TEAM_KIND_LABELS.items())
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class TokenForm(Form):
    user_id = SelectField(_l("Acts as user"), coerce=int, choices=[])
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("What uses it, e.g. 'Website form relay' or 'CRM sync'."),
    )
    scopes = MultiCheckboxField(
        _l("Scopes"),
        choices=options((scope, scope) for scope in SCOPES),
        validators=[DataRequired(message=_l("Choose at least one scope."))],
    )
    expires_in_days = IntegerField(
        _l("Expires after (days)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
        description=_l("Leave empty for a token that lasts until revoked."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each scope with what it allows, in the request's language.
        self.scopes.choices = options(
            (scope, f"{scope} — {text}") for scope, text in SCOPES.items()
        )


class AccountForm(Form):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    timezone = StringField(
        _l("Time zone"),
        validators=[Optional(), Length(max=64)],
        description=_l("IANA name such as Europe/Berlin or Asia/Tokyo."),
    )


class PasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
    )


class ConfirmForm(Form):
    """An empty form, for buttons that only need CSRF protection."""


class ProfileForm(SellerProfileForm):
    """A seller's own profile: the seller profile plus their time zone and how "Post on
    LinkedIn" opens LinkedIn for them."""

    timezone = StringField(
        _l("Time zone"),
        validators=[Optional(), Length(max=64)],
        description=_l("IANA name such as Europe/Berlin; suggestions follow your local day."),
    )
    linkedin_composer = SelectField(
        _l("“Post on LinkedIn” opens"),
        choices=[],
        default="",
        description=_l(
            "If LinkedIn comes up without your post filled in, choose the share dialog: you "
            "paste the copied post there."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linkedin_composer.choices = options(
            [
                ("", _l("As your company set it")),
                ("prefill", _l("LinkedIn's post box with my post filled in")),
                ("share-offsite", _l("LinkedIn's share dialog with the link; I paste the post")),
            ]
        )


class SellerImportForm(Form):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(message=_l("Choose a CSV file to import."))],
        description=_l(
            "As your spreadsheet saves CSV (cells separated by , or ; or tabs), "
            "at most 5,000 sellers."
        ),
    )
