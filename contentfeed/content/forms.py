"""HTML forms for the library: a content item, a campaign (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional

from contentfeed.accounts.forms import LANGUAGE_LABELS
from contentfeed.content.assets import ALLOWED_TEXT
from contentfeed.content.models import KIND_LABELS, Audience, ContentKind
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.i18n import _l
from contentfeed.ui import viewer_zone

# What a browser's datetime-local input sends (seconds only when the page asked for them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
# Whom an item is for, as the form offers it (the library and the item page say it shorter).
AUDIENCE_CHOICES = [
    (Audience.PROSPECTS.value, _l("For prospects")),
    (Audience.CUSTOMERS.value, _l("For customers")),
    (Audience.BOTH.value, _l("For prospects and customers")),
]
PRIORITIES = [
    (5, _l("5 · highest")),
    (4, _l("4 · high")),
    (3, _l("3 · normal")),
    (2, _l("2 · low")),
    (1, _l("1 · lowest")),
]


def language_choices(extra: str = "") -> list[tuple[str, str]]:
    """Return the languages to choose from, keeping an item's own code when it is unusual."""
    pairs: list[tuple[str, str]] = list(LANGUAGE_LABELS.items())
    if extra and extra not in LANGUAGE_LABELS:
        pairs.append((extra, extra))
    return pairs


class ContentForm(Form):
    """A library item. Field names match ``service.ContentData`` so its errors land beside them."""

    url = URLField(
        _l("Web address"),
        validators=[Optional(), Length(max=2000)],
        description=_l(
            "The page sellers' links lead to. Title, summary and image fill in from it."
        ),
    )
    file = FileField(_l("Or upload a file"), description=_l("%(kinds)s.", kinds=ALLOWED_TEXT))
    # The address the page's script pre-filled the fields from: saving it reads the page again
    # for the LinkedIn pre-flight (its og: tags and image) although no field is left empty.
    prefilled_from = HiddenField(validators=[Optional(), Length(max=2000)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)])
    image_url = URLField(
        _l("Image address"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Shown in the link card; 1200 by 627 pixels looks best on LinkedIn."),
    )
    kind = SelectField(
        _l("Kind"),
        choices=options((k.value, KIND_LABELS[k.value]) for k in ContentKind),
        default=ContentKind.ARTICLE.value,
    )
    campaign_id = SelectField(_l("Campaign"), coerce=int, choices=[], default=0)
    language = SelectField(
        _l("Language of title and summary"), choices=options(language_choices()), default="en"
    )
    topics = StringField(
        _l("Topics"),
        validators=[Optional(), Length(max=500)],
        description=_l("Comma-separated, e.g. cloud, security. Sellers are matched on them."),
    )
    priority = SelectField(_l("Priority"), coerce=int, choices=options(PRIORITIES), default=3)
    target_team_ids = MultiCheckboxField(_l("Teams"), coerce=int, choices=[])
    target_regions = StringField(
        _l("Regions"),
        validators=[Optional(), Length(max=500)],
        description=_l("Comma-separated, e.g. DACH, Nordics. Empty means every region."),
    )
    audience = SelectField(
        _l("Audience"),
        choices=options(AUDIENCE_CHOICES),
        default=Audience.BOTH.value,
        description=_l(
            "Customer development's sellers are suggested items for customers; every other "
            "seller items for prospects."
        ),
    )
    starts_at = DateTimeLocalField(
        _l("Publish from"), format=LOCAL_FORMATS, tz=viewer_zone, validators=[Optional()]
    )
    expires_at = DateTimeLocalField(
        _l("Expires"), format=LOCAL_FORMATS, tz=viewer_zone, validators=[Optional()]
    )


class CampaignForm(Form):
    """A campaign: its slug becomes utm_campaign on sellers' links."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Description"))  # its length is the use case's to check
    starts_on = DateField(_l("Starts"), validators=[Optional()])
    ends_on = DateField(_l("Ends"), validators=[Optional()])
