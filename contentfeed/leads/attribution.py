"""Attribution: the tracked-link touches that brought a lead in, and each one's share of credit.

A lead's touches are the codes it carries (utm_content, ref, the redirect's cookie, the landing
URL's query) plus the touches of the same person's earlier leads inside the lookback window.
Credit is computed under every model at once and stored on each touch, so reports only sum.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from contentfeed.content.models import Content
from contentfeed.db import UTCDateTime
from contentfeed.i18n import _l
from contentfeed.leads.models import CREDIT_MODELS, Lead, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.links.service import CODE_PATTERN, COOKIE_NAME
from contentfeed.suggestions.models import Suggestion

MODELS = CREDIT_MODELS
MODEL_LABELS: dict[str, Any] = {
    "first_touch": _l("First touch"),
    "last_touch": _l("Last touch"),
    "linear": _l("Linear"),
    "u_shaped": _l("U-shaped (40/20/40)"),
    "time_decay": _l("Time decay"),
}
DEFAULT_HALF_LIFE_DAYS = 7.0
# Shares are stored to 6 decimals: fine enough for any report, short in JSON.
_UNITS = 1_000_000


def model_label(model: str) -> str:
    """Return the name people see for an attribution model."""
    return str(MODEL_LABELS.get(model, model.replace("_", " ").capitalize()))


def credit_shares(
    times: Sequence[datetime],
    *,
    converted_at: datetime,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> list[dict[str, float]]:
    """Return each touch's share of the credit under every model (one dict per given time).

    Touches are ranked by time, ties by position, so the result lines up with ``times``
    whatever their order; every model's shares sum to exactly 1.0 (each rounded to 6
    decimals, with a float nudge of a few ulps on the largest so the float sum is exact too).
    """
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    n = len(times)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: (times[i], i))  # rank -> position
    raw: dict[str, list[float]] = {}
    first, last = order[0], order[-1]
    raw["first_touch"] = [1.0 if i == first else 0.0 for i in range(n)]
    raw["last_touch"] = [1.0 if i == last else 0.0 for i in range(n)]
    raw["linear"] = [1.0 / n] * n
    raw["u_shaped"] = _u_shaped(n, first, last)
    raw["time_decay"] = _time_decay(times, converted_at, half_life_days)
    exact = {model: _exact_shares(raw[model]) for model in MODELS}
    return [{model: exact[model][i] for model in MODELS} for i in range(n)]


def _u_shaped(n: int, first: int, last: int) -> list[float]:
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    middle = 0.2 / (n - 2)
    return [0.4 if i in (first, last) else middle for i in range(n)]


def _time_decay(times: Sequence[datetime], converted_at: datetime, half_life: float) -> list[float]:
    # A touch after the conversion (clock skew) counts as at the conversion. Ages are taken
    # relative to the youngest touch so very old touches cannot all underflow to zero.
    ages = [max((converted_at - t).total_seconds(), 0.0) / 86_400 for t in times]
    youngest = min(ages)
    weights = [2.0 ** (-(age - youngest) / half_life) for age in ages]
    total = math.fsum(weights)
    return [w / total for w in weights]


def _exact_shares(shares: Sequence[float]) -> list[float]:
    """Round shares to 6 decimals so they add up to exactly 1.0, also as floats."""
    by_size = sorted(range(len(shares)), key=lambda i: (-shares[i], i))  # largest first
    units = [round(share * _UNITS) for share in shares]
    units[by_size[0]] += _UNITS - sum(units)
    result = [u / _UNITS for u in units]
    if sum(result) == 1.0 and math.fsum(result) == 1.0:
        return result
    # k/1e6 is not exact in binary, so the float sum can miss 1.0 by a few ulps. Move the
    # largest share by the fewest ulps (far below the 6th decimal) that make the plain sum in
    # this order hit 1.0 and, where one value does both, the exactly rounded sum (fsum) too.
    # Should no value of the largest do it, the next largest share takes the nudge.
    for index in by_size:
        base = result[index]

        def plain(x: float, index: int = index) -> float:
            result[index] = x
            return sum(result)

        def exact(x: float, index: int = index) -> float:
            result[index] = x
            return math.fsum(result)

        lo, hi = _floats_giving_one(plain)
        exact_lo, exact_hi = _floats_giving_one(exact)
        if max(lo, exact_lo) <= min(hi, exact_hi):
            lo, hi = max(lo, exact_lo), min(hi, exact_hi)
        result[index] = min(max(base, lo), hi) if lo <= hi else base
        if sum(result) == 1.0:
            break
    assert sum(result) == 1.0, result
    return result


def _floats_giving_one(total: Callable[[float], float]) -> tuple[float, float]:
    """Return the range of values x in [0, 1] for which total(x) is 1.0 (total grows with x).

    The range is empty (lo > hi) when no float gives exactly 1.0.
    """
    first = _first_float(lambda x: total(x) >= 1.0)
    after = _first_float(lambda x: total(x) > 1.0)
    return first, math.nextafter(after, 0.0)


def _first_float(holds: Callable[[float], bool]) -> float:
    """Return the least float in [0, 1] for which a monotone condition holds (1.0 if none)."""
    lo, hi = _float_bits(0.0), _float_bits(1.0)  # non-negative floats order like their bits
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(_bits_float(mid)):
            hi = mid
        else:
            lo = mid + 1
    return _bits_float(lo)


def _float_bits(x: float) -> int:
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits


def _bits_float(bits: int) -> float:
    x: float = struct.unpack("<d", struct.pack("<q", bits))[0]
    return x


def looks_like_code(value: str) -> bool:
    """Tell whether a value could be a tracked-link code."""
    return CODE_PATTERN.fullmatch(value) is not None


def codes_in(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return the tracked-link codes a lead carries, each with where it was found, once each."""
    found: list[tuple[str, str]] = []
    for key, found_in in (("utm_content", "utm_content"), ("ref", "ref"), (COOKIE_NAME, "cookie")):
        found.append((_text(fields.get(key)), found_in))
    landing_url = _text(fields.get("landing_url"))
    if landing_url:
        try:
            query = parse_qsl(urlsplit(landing_url).query, keep_blank_values=False)
        except ValueError:  # a malformed URL (bad IPv6 host, say) carries no code we can trust
            query = []
        for key in ("utm_content", "ref"):
            found.extend((value.strip(), "landing_url") for name, value in query if name == key)
    codes: list[tuple[str, str]] = []
    seen: set[str] = set()
    for code, found_in in found:
        if looks_like_code(code) and code not in seen:
            seen.add(code)
            codes.append((code, found_in))
    return codes


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class Found:
    """A touch found for a lead, before it is stored: plain values, no ORM object."""

    code: str
    found_in: str
    link_id: int | None
    click_id: int | None
    suggestion_id: int | None
    seller_id: int | None
    content_id: int | None
    campaign_id: int | None
    touched_at: datetime


@dataclass(frozen=True)
class Credited:
    """A found touch with its share of the credit under every model."""

    touch: Found
    credits: dict[str, float]


@dataclass(frozen=True)
class TouchSearch:
    """What to look for to attribute one lead: its codes and its person's earlier touches."""

    codes: list[tuple[str, str]]  # (code, where it was found)
    email: str
    converted_at: datetime
    cutoff: datetime
    lead_id: int | None = None  # the lead itself, when stored already, is left out

    def parts(self, dialect: str) -> tuple[sa.Select[*tuple[Any, ...]], ...]:
        """The queries whose rows ``credited`` reads (built once per shape and dialect)."""
        return _touch_parts(
            bool(self.codes), bool(self.email), self.lead_id is not None, dialect == "postgresql"
        )

    def params(self) -> dict[str, Any]:
        """The parameters of those queries."""
        return {
            "codes": [code for code, _ in self.codes],
            "email": self.email,
            "not_lead_id": self.lead_id,
            "converted_at": self.converted_at,
            "cutoff": self.cutoff,
        }

    def credited(self, rows: Iterable[sa.Row[Any]]) -> list[Credited]:
        """Turn the query rows into touches in time order, with their credit per model."""
        where_found = dict(self.codes)
        candidates: dict[str, Found] = {}
        earlier = []
        for row in rows:  # a code the lead carries wins over the same code from an earlier lead
            if row.kind == "code":
                candidates[row.code] = _found(row, where_found[row.code])
            elif row.kind == "earlier":
                earlier.append(row)
        earlier.sort(key=lambda row: (row.touched_at, row.touch_id), reverse=True)  # latest first
        for row in earlier:
            if row.code not in candidates:
                candidates[row.code] = _found(row, "earlier")
        touches = sorted(
            (t for t in candidates.values() if t.touched_at >= self.cutoff),
            key=lambda t: (t.touched_at, t.code),
        )
        shares = credit_shares([t.touched_at for t in touches], converted_at=self.converted_at)
        return [Credited(t, credits) for t, credits in zip(touches, shares, strict=True)]


def touch_search(
    fields: Mapping[str, str],
    *,
    email: str,
    converted_at: datetime,
    lookback_days: int,
    lead_id: int | None = None,
) -> TouchSearch:
    """Say what to look for to attribute a lead converted at ``converted_at``."""
    return TouchSearch(
        codes=codes_in(fields),
        email=email.strip().lower(),
        converted_at=converted_at,
        cutoff=converted_at - timedelta(days=lookback_days),
        lead_id=lead_id,
    )


def find_touches(
    conn: sa.Connection,
    fields: Mapping[str, str],
    *,
    email: str,
    converted_at: datetime,
    lookback_days: int,
    lead_id: int | None = None,
) -> list[Credited]:
    """Return a lead's touches in time order, each with its credit under every model.

    The codes the lead carries and the same person's touches from earlier leads inside the
    lookback window come back from one query. Unknown codes are ignored.
    """
    search = touch_search(
        fields,
        email=email,
        converted_at=converted_at,
        lookback_days=lookback_days,
        lead_id=lead_id,
    )
    return find_touches_for(conn, search)


def find_touches_for(conn: sa.Connection, search: TouchSearch) -> list[Credited]:
    """Run a TouchSearch: one query."""
    parts = search.parts(conn.dialect.name)
    if not parts:
        return []
    query = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return search.credited(conn.execute(query, search.params()))


def _found(row: sa.Row[Any], found_in: str) -> Found:
    return Found(
        code=row.code,
        found_in=found_in,
        link_id=row.link_id,
        click_id=row.click_id,
        suggestion_id=row.suggestion_id,
        seller_id=row.seller_id,
        content_id=row.content_id,
        campaign_id=row.campaign_id,
        touched_at=row.touched_at,
    )


@cache
def _touch_parts(
    with_codes: bool, with_email: bool, with_lead_id: bool, as_array: bool
) -> tuple[sa.Select[*tuple[Any, ...]], ...]:
    """The queries behind a TouchSearch, built once per shape and run with parameters."""
    converted_at = sa.bindparam("converted_at", type_=UTCDateTime())
    parts = []
    if with_codes:
        # PostgreSQL takes the codes as one array (= ANY), so the statement's text never
        # changes with their number; SQLite expands them into IN (...).
        known = (
            TrackedLink.code == sa.any_(sa.bindparam("codes", type_=ARRAY(sa.String())))
            if as_array
            else TrackedLink.code.in_(sa.bindparam("codes", expanding=True))
        )
        parts.append(_code_query(known, converted_at))
    if with_email:
        parts.append(
            _earlier_query(
                sa.bindparam("email"),
                sa.bindparam("not_lead_id") if with_lead_id else None,
                converted_at=converted_at,
                cutoff=sa.bindparam("cutoff", type_=UTCDateTime()),
            )
        )
    return tuple(parts)


def _code_query(
    known: sa.ColumnElement[bool], converted_at: sa.BindParameter[datetime]
) -> sa.Select[*tuple[Any, ...]]:
    """The links behind the codes, each with its latest human click before the conversion
    (touched then), else when the seller posted it, else when the link was made."""
    last_click = (
        sa.select(Click.id)
        .where(
            Click.link_id == TrackedLink.id,
            Click.counted,
            Click.clicked_at <= converted_at,
        )
        .order_by(Click.clicked_at.desc(), Click.id.desc())
        .limit(1)
        .correlate(TrackedLink)
        .scalar_subquery()
    )
    return (
        sa.select(
            sa.literal("code", sa.String).label("kind"),
            TrackedLink.code,
            TrackedLink.id.label("link_id"),
            Click.id.label("click_id"),
            Suggestion.id.label("suggestion_id"),
            Suggestion.seller_id,
            Suggestion.content_id,
            Content.campaign_id,
            sa.func.coalesce(
                Click.clicked_at, Suggestion.posted_at, TrackedLink.created_at, type_=UTCDateTime()
            ).label("touched_at"),
            sa.literal(0, sa.Integer).label("touch_id"),
        )
        .select_from(TrackedLink)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .join(Content, Content.id == Suggestion.content_id)
        .outerjoin(Click, Click.id == last_click)
        .where(known)
    )


def _earlier_query(
    email: sa.BindParameter[Any],
    lead_id: sa.BindParameter[Any] | None,
    *,
    converted_at: sa.BindParameter[datetime],
    cutoff: sa.BindParameter[datetime],
) -> sa.Select[*tuple[Any, ...]]:
    """The same person's touches from their earlier leads inside the window."""
    query = (
        sa.select(
            sa.literal("earlier", sa.String).label("kind"),
            Touch.code,
            Touch.link_id,
            Touch.click_id,
            Touch.suggestion_id,
            Touch.seller_id,
            Touch.content_id,
            Touch.campaign_id,
            Touch.touched_at,
            Touch.id.label("touch_id"),
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .where(
            Lead.email == email,  # stored normalised (lower-case) by the intake: uses the index
            Lead.erased_at.is_(None),
            Lead.submitted_at <= converted_at,
            Touch.touched_at >= cutoff,
            Touch.touched_at <= converted_at,
        )
    )
    return query if lead_id is None else query.where(Lead.id != lead_id)


def attribute(
    s: Session, lead: Lead, fields: Mapping[str, str], *, lookback_days: int, now: datetime
) -> list[Touch]:
    """Find a lead's touches, give each its credit under every model, and add them (no commit).

    Replaces any touches the lead already had, so attributing a lead twice gives the same
    result. ``now`` stands in for ``lead.submitted_at`` when the lead has none yet.
    """
    if lead.submitted_at is None:
        lead.submitted_at = now
    s.add(lead)
    s.flush()  # the lead needs its id, so its own touches never count as "earlier"
    found = find_touches(
        s.connection(),
        fields,
        email=lead.email or "",
        converted_at=lead.submitted_at,
        lookback_days=lookback_days,
        lead_id=lead.id,
    )
    if lead.touches:
        lead.touches.clear()  # delete-orphan: the old rows go at this flush, before the new
        s.flush()
    touches = [Touch(lead=lead, credits=item.credits, **asdict(item.touch)) for item in found]
    s.add_all(touches)
    s.flush()
    return touches


def credit_summary(touches: Iterable[Touch]) -> dict[str, dict[int | None, float]]:
    """Return, per model, each seller's total credit over the given touches."""
    summary: dict[str, dict[int | None, float]] = {model: {} for model in MODELS}
    for touch in touches:
        for model, share in touch.credits.items():
            by_seller = summary[model]
            by_seller[touch.seller_id] = by_seller.get(touch.seller_id, 0.0) + share
    return {
        model: {seller: round(total, 6) for seller, total in by_seller.items()}
        for model, by_seller in summary.items()
    }
