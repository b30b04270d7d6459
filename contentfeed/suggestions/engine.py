"""The suggestion engine: which content each due seller gets, and which variant, with why.

Pure decisions over plain facts (no database here), so the scheduler can load everything
once, choose for thousands of sellers in memory, and write the results in bulk.

Score = priority + topic overlap + freshness + observed performance - team spread.
Performance is a Thompson sample from a Beta posterior over "a suggestion of this item was
clicked": new items (no history) draw from Beta(1, 1), so they get a fair chance (explore);
items that keep earning clicks and leads rise (exploit). The random draws come from one
seeded generator, so a run is deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

WEIGHTS = {"priority": 1.0, "topics": 1.5, "freshness": 0.8, "performance": 1.2}
TEAM_SPREAD_PENALTY = 1.5  # outweighs any performance draw: teammates rarely share an item
FRESHNESS_HALF_LIFE_DAYS = 14.0
LEAD_WEIGHT = 5  # a lead counts as this many clicks of evidence


@dataclass(frozen=True)
class SellerFacts:
    id: int
    team_id: int | None
    region: str
    language: str
    topics: frozenset[str]


@dataclass(frozen=True)
class ContentFacts:
    id: int
    priority: int
    topics: frozenset[str]
    language: str
    target_team_ids: frozenset[int]
    target_regions: frozenset[str]
    target_languages: frozenset[str]
    approved_at: datetime | None
    variant_ids: tuple[int, ...]
    suggested: int = 0
    engaged: int = 0  # suggestions that brought at least one click
    leads: int = 0


@dataclass(frozen=True)
class Choice:
    """One decision: this content, this variant, for this seller's slot, and why."""

    seller_id: int
    content_id: int
    variant_id: int
    day: date
    slot: int
    score: float
    parts: dict[str, float]


@dataclass
class RunState:
    """What a run remembers while it assigns: per team and per content, what went where."""

    team_counts: dict[tuple[int | None, int], int] = field(default_factory=dict)
    variant_uses: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def is_targeted(content: ContentFacts, seller: SellerFacts) -> bool:
    """Tell whether the content's targeting includes this seller (empty targeting: everyone).

    Without explicit target languages, a seller gets content in their own language and in
    English; with them, only when the seller's language is listed.
    """
    if content.target_team_ids and seller.team_id not in content.target_team_ids:
        return False
    if content.target_regions and seller.region.lower() not in content.target_regions:
        return False
    if content.target_languages:
        return seller.language in content.target_languages
    return content.language in (seller.language, "en")


def freshness(approved_at: datetime | None, now: datetime) -> float:
    """Return 1 for content approved now, halving every FRESHNESS_HALF_LIFE_DAYS days."""
    if approved_at is None:
        return 0.5
    age_days = max(0.0, (now - approved_at).total_seconds() / 86400)
    return math.pow(0.5, age_days / FRESHNESS_HALF_LIFE_DAYS)


def performance_sample(content: ContentFacts, rng: random.Random) -> float:
    """Draw from the Beta posterior of the item's engagement rate (explore and exploit)."""
    successes = min(content.suggested, content.engaged + LEAD_WEIGHT * content.leads)
    failures = max(0, content.suggested - successes)
    return rng.betavariate(1 + successes, 1 + failures)


def topic_overlap(content: ContentFacts, seller: SellerFacts) -> float:
    """Return the share of the content's topics the seller follows (0 when either has none)."""
    if not content.topics or not seller.topics:
        return 0.0
    return len(content.topics & seller.topics) / len(content.topics)


def planned_slots(
    week_start: date, weekdays: Sequence[int], per_week: int
) -> list[tuple[date, int]]:
    """Spread a seller's weekly posts over their preferred weekdays: (day, slot) pairs.

    Three posts over Monday-Thursday land on Monday, Wednesday and Thursday; more posts
    than days put several on a day.
    """
    days = sorted({d for d in weekdays if 0 <= d <= 6}) or [0, 1, 2, 3, 4]
    if per_week <= 0:
        return []
    per_day = [0] * len(days)
    if per_week <= len(days):
        for i in range(per_week):
            per_day[math.floor((i + 0.5) * len(days) / per_week)] += 1
    else:
        for j in range(len(days)):
            per_day[j] = math.floor((j + 1) * per_week / len(days)) - math.floor(
                j * per_week / len(days)
            )
    return [
        (week_start + timedelta(days=day), slot)
        for day, count in zip(days, per_day, strict=True)
        for slot in range(count)
    ]


def choose(
    sellers: Sequence[tuple[SellerFacts, Sequence[tuple[date, int]]]],
    contents: Iterable[ContentFacts],
    already: dict[int, set[int]],
    *,
    now: datetime,
    seed: int,
    variant_uses: dict[int, int] | None = None,
    team_counts: dict[tuple[int | None, int], int] | None = None,
) -> list[Choice]:
    """Assign content to every (seller, slot) that needs one.

    ``already`` maps seller id -> content ids ever suggested to them (never repeated).
    ``variant_uses`` counts suggestions per variant so far (rotation continues across runs);
    ``team_counts`` counts, per (team, content), suggestions made today (team spread).
    """
    rng = random.Random(seed)  # noqa: S311 - deterministic by design, not for secrets
    facts = sorted(contents, key=lambda c: c.id)
    base: dict[int, tuple[float, dict[str, float]]] = {}
    for c in facts:
        parts = {
            "priority": WEIGHTS["priority"] * (c.priority - 1) / 4,
            "freshness": WEIGHTS["freshness"] * freshness(c.approved_at, now),
            "performance": WEIGHTS["performance"] * performance_sample(c, rng),
        }
        base[c.id] = (sum(parts.values()), parts)
    base_total = {content_id: total for content_id, (total, _parts) in base.items()}
    ranked = sorted((c for c in facts if c.variant_ids), key=lambda c: (-base_total[c.id], c.id))
    state = RunState()
    state.variant_uses.update(variant_uses or {})
    state.team_counts.update(team_counts or {})
    segments: dict[tuple[int | None, str, str], list[ContentFacts]] = {}
    max_topic = WEIGHTS["topics"]
    order = list(sellers)
    random.Random(seed + 1).shuffle(order)  # noqa: S311 - no seller is always served first
    choices: list[Choice] = []
    for seller, slots in order:
        key = (seller.team_id, seller.region.lower(), seller.language)
        if key not in segments:
            segments[key] = [c for c in ranked if is_targeted(c, seller)]
        seen = already.setdefault(seller.id, set())
        team = seller.team_id
        team_counts = state.team_counts
        for day, slot in slots:
            best_total = -math.inf
            best: ContentFacts | None = None
            for c in segments[key]:
                c_base = base_total[c.id]
                if c_base + max_topic <= best_total:
                    break  # sorted by base score: nothing further down can win
                if c.id in seen:
                    continue
                total = c_base
                if c.topics and seller.topics:
                    total += max_topic * len(c.topics & seller.topics) / len(c.topics)
                if team is not None:
                    total -= TEAM_SPREAD_PENALTY * team_counts.get((team, c.id), 0)
                if total > best_total:
                    best_total, best = total, c
            if best is None:
                break  # nothing left that fits this seller
            c = best
            parts = dict(base[c.id][1])
            parts["topics"] = max_topic * topic_overlap(c, seller)
            parts["team_spread"] = -TEAM_SPREAD_PENALTY * team_counts.get((team, c.id), 0)
            total = sum(parts.values())
            variant_id = _next_variant(c, state)
            seen.add(c.id)
            if team is not None:
                team_counts[(team, c.id)] = team_counts.get((team, c.id), 0) + 1
            choices.append(
                Choice(
                    seller_id=seller.id,
                    content_id=c.id,
                    variant_id=variant_id,
                    day=day,
                    slot=slot,
                    score=round(total, 4),
                    parts={k: round(v, 4) for k, v in parts.items()},
                )
            )
    return choices


def _next_variant(content: ContentFacts, state: RunState) -> int:
    """Rotate variants: the least-used one next, so twenty sellers don't post one text."""
    variant = min(content.variant_ids, key=lambda v: (state.variant_uses[v], v))
    state.variant_uses[variant] += 1
    return variant
