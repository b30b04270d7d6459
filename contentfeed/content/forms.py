"""HTML forms for the library: a content item, a campaign (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional

from contentfeed.accounts.forms import LANGUAGES
from contentfeed.content.assets import describe_allowed
from contentfeed.content.models import ContentKind
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.ui import viewer_zone

# What a browser's datetime-local input sends (seconds only when the page asked for them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
PRIORITIES = [
    (5, "5 · highest"),
    (4, "4 · high"),
    (3, "3 · normal"),
    (2, "2 · low"),
    (1, "1 · lowest"),
]


def language_choices(extra: str = "") -> list[tuple[str, str]]:
    """Return the languages to choose from, keeping an item's own code when it is unusual."""
    pairs = list(LANGUAGES.items())
    if extra and extra not in LANGUAGES:
        pairs.append((extra, extra))
    return pairs


class ContentForm(Form):
    """A library item. Field names match ``service.ContentData`` so its errors land beside them."""

    url = URLField(
        "Web address",
        validators=[Optional(), Length(max=2000)],
        description="The page sellers' links lead to. Title, summary and image fill in from it.",
    )
    file = FileField("Or upload a file", description=f"{describe_allowed()}.")
    title = StringField("Title", validators=[Optional(), Length(max=300)])
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=5000)])
    image_url = URLField(
        "Image address",
        validators=[Optional(), Length(max=2000)],
        description="Shown in the link card; 1200 by 627 pixels looks best on LinkedIn.",
    )
    kind = SelectField(
        "Kind",
        choices=options((k.value, k.label) for k in ContentKind),
        default=ContentKind.ARTICLE.value,
    )
    campaign_id = SelectField("Campaign", coerce=int, choices=[], default=0)
    language = SelectField("Language", choices=options(language_choices()), default="en")
    topics = StringField(
        "Topics",
        validators=[Optional(), Length(max=500)],
        description="Comma-separated, e.g. cloud, security. Sellers are matched on them.",
    )
    priority = SelectField("Priority", coerce=int, choices=options(PRIORITIES), default=3)
    target_team_ids = MultiCheckboxField("Teams", coerce=int, choices=[])
    target_regions = StringField(
        "Regions",
        validators=[Optional(), Length(max=500)],
        description="Comma-separated, e.g. DACH, Nordics. Empty means every region.",
    )
    target_languages = MultiCheckboxField("Seller languages", choices=options(LANGUAGES.items()))
    starts_at = DateTimeLocalField(
        "Publish from", format=LOCAL_FORMATS, tz=viewer_zone, validators=[Optional()]
    )
    expires_at = DateTimeLocalField(
        "Expires", format=LOCAL_FORMATS, tz=viewer_zone, validators=[Optional()]
    )


class CampaignForm(Form):
    """A campaign: its slug becomes utm_campaign on sellers' links."""

    name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    description = TextAreaField("Description")  # its length is the use case's to check
    starts_on = DateField("Starts", validators=[Optional()])
    ends_on = DateField("Ends", validators=[Optional()])
