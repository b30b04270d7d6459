"""A lead's own fields are declared once, on the table (leads.models.FORM_FIELDS): the webhook
takes each, the API answers each, and the CSV and the personal-data export carry each."""

from __future__ import annotations

from contentfeed.leads import api_leads, intake, privacy
from contentfeed.leads.models import FORM_FIELDS, Lead


def test_every_form_column_is_taken_in_by_the_webhook_and_answered_by_the_api() -> None:
    assert set(FORM_FIELDS) <= set(intake.LeadIn.model_fields), "the webhook would drop it"
    assert set(FORM_FIELDS) <= set(api_leads.LeadOut.model_fields), "the API would not show it"
    assert set(FORM_FIELDS) <= set(privacy.LEAD_FIELDS), "the export would leave it out"


def test_form_columns_are_the_leads_own_fields_in_the_tables_order() -> None:
    columns = [column.key for column in Lead.__table__.columns]
    assert list(FORM_FIELDS) == sorted(FORM_FIELDS, key=columns.index)
    assert "email_domain" not in FORM_FIELDS  # worked out from the address, not sent


def test_the_csv_keeps_its_columns_in_the_order_spreadsheets_know() -> None:
    assert api_leads.CSV_COLUMNS[:18] == (
        "id",
        "submitted_at",
        "status",
        "email",
        "first_name",
        "last_name",
        "company",
        "job_title",
        "country",
        "phone",
        "consent",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "landing_url",
        "referrer",
    )
