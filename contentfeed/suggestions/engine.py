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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

WEIGHTS = {"priority": 1.0, "topics": 1.5, "freshness": 0.8, "performance": 1.2}
TEAM_SPREAD_PENALTY = 1.5  # outweighs any performance draw: teammates rarely share an item
FRESHNESS_HALF_LIFE_DAYS = 14.0
LEAD_WEIGHT = 5  # a lead counts as this many clicks of evidence


@dataclass(frozen=True)
class SellerFacts:
    id: int
    team_id: int | None
    region: str
    languages: tuple[str, ...]  # the seller's languages, the preferred first
    topics: frozenset[str]
    # In a customer development team: gets items for customers (or both), not for prospects.
    serves_customers: bool = False


@dataclass(frozen=True)
class ContentFacts:
    id: int
    priority: int
    topics: frozenset[str]
    target_team_ids: frozenset[int]
    target_regions: frozenset[str]
    approved_at: datetime | None
    variant_ids: tuple[int, ...]
    variant_languages: Mapping[int, str]  # variant id -> the language it is written in
    suggested: int = 0
    engaged: int = 0  # suggestions that brought at least one click
    leads: int = 0
    audience: str = "both"  # "prospects", "customers" or "both" (content.models.Audience)


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

    variant_uses: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def is_targeted(content: ContentFacts, seller: SellerFacts, *, ignore_team: bool = False) -> bool:
    """Tell whether the content's targeting includes this seller (empty targeting: everyone).

    Teams, regions and the audience narrow who is meant (items for customers go to customer
    development's sellers, items for prospects to everyone else); languages decide who can be
    reached: only a seller with a variant in one of their languages gets the item. No
    language stands in for another (an English-only item does not reach a German-only seller).
    """
    if not is_for(content, seller):
        return False
    if (
        not ignore_team
        and content.target_team_ids
        and seller.team_id not in content.target_team_ids
    ):
        return False
    if content.target_regions and seller.region.lower() not in content.target_regions:
        return False
    return reaches(content, seller.languages)


def is_for(content: ContentFacts, seller: SellerFacts) -> bool:
    """Tell whether the item's audience includes the seller's side of the signature."""
    if content.audience == "both":
        return True
    return (content.audience == "customers") == seller.serves_customers


def reaches(content: ContentFacts, languages: Sequence[str]) -> bool:
    """Tell whether one of the item's variants is in one of these languages."""
    return any(language in languages for language in content.variant_languages.values())


def variants_for(content: ContentFacts, languages: Sequence[str]) -> tuple[int, ...]:
    """Return the item's variants in the first of the seller's languages that has any."""
    for language in languages:
        ids = tuple(v for v in content.variant_ids if content.variant_languages.get(v) == language)
        if ids:
            return ids
    return ()


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

    Scores are computed for all candidates of a seller at once with numpy: the base score per
    item, plus topic overlap (a matrix product, cached per distinct topic set), minus the team
    penalty (one counter array per team), with items outside the seller's targeting or already
    suggested to them masked out.
    """
    rng = random.Random(seed)  # noqa: S311 - deterministic by design, not for secrets
    facts = sorted((c for c in contents if c.variant_ids), key=lambda c: c.id)
    if not facts:
        return []
    parts_of: list[dict[str, float]] = []
    for c in facts:
        parts_of.append(
            {
                "priority": WEIGHTS["priority"] * (c.priority - 1) / 4,
                "freshness": WEIGHTS["freshness"] * freshness(c.approved_at, now),
                "performance": WEIGHTS["performance"] * performance_sample(c, rng),
            }
        )
    base = np.array([sum(p.values()) for p in parts_of])
    position = {c.id: i for i, c in enumerate(facts)}
    team_targeted = [i for i, c in enumerate(facts) if c.target_team_ids]
    vocabulary = sorted({t for c in facts for t in c.topics})
    topic_index = {t: i for i, t in enumerate(vocabulary)}
    topic_matrix = np.zeros((len(facts), max(1, len(vocabulary))))
    for i, c in enumerate(facts):
        for t in c.topics:
            topic_matrix[i, topic_index[t]] = 1.0
    topic_counts = np.maximum(topic_matrix.sum(axis=1), 1.0)
    bonus_cache: dict[frozenset[str], np.ndarray] = {}
    segment_cache: dict[tuple[int | None, str, tuple[str, ...], bool], np.ndarray] = {}
    team_penalty: dict[int, np.ndarray] = {}
    for (team, content_id), n in (team_counts or {}).items():
        if team is not None and content_id in position:
            team_penalty.setdefault(team, np.zeros(len(facts)))[position[content_id]] += n
    state = RunState()
    state.variant_uses.update(variant_uses or {})
    order = list(sellers)
    random.Random(seed + 1).shuffle(order)  # noqa: S311 - no seller is always served first
    choices: list[Choice] = []
    for seller, slots in order:
        key = (seller.team_id, seller.region.lower(), seller.languages, seller.serves_customers)
        segment = segment_cache.get(key)
        if segment is None:
            # Region, language and audience first (few combinations), then only team-targeted
            # items are checked per team.
            area = (None, key[1], key[2], key[3])
            if area not in segment_cache:
                anyone = SellerFacts(
                    0,
                    None,
                    seller.region,
                    seller.languages,
                    frozenset(),
                    serves_customers=seller.serves_customers,
                )
                segment_cache[area] = np.array(
                    [0.0 if is_targeted(c, anyone, ignore_team=True) else -np.inf for c in facts]
                )
            segment = segment_cache[area].copy()
            for i in team_targeted:
                if seller.team_id not in facts[i].target_team_ids:
                    segment[i] = -np.inf
            segment_cache[key] = segment
        bonus = bonus_cache.get(seller.topics)
        if bonus is None:
            vector = np.zeros(topic_matrix.shape[1])
            for t in seller.topics:
                if t in topic_index:
                    vector[topic_index[t]] = 1.0
            bonus = WEIGHTS["topics"] * (topic_matrix @ vector) / topic_counts
            bonus_cache[seller.topics] = bonus
        seen = already.setdefault(seller.id, set())
        penalty = team_penalty.get(seller.team_id) if seller.team_id is not None else None
        for day, slot in slots:
            totals = base + bonus + segment
            if penalty is not None:
                totals = totals - TEAM_SPREAD_PENALTY * penalty
            for content_id in seen:
                if content_id in position:
                    totals[position[content_id]] = -np.inf
            best = int(np.argmax(totals))
            if totals[best] == -np.inf:
                break  # nothing left that fits this seller
            c = facts[best]
            parts = dict(parts_of[best])
            parts["topics"] = float(bonus[best])
            parts["team_spread"] = (
                -TEAM_SPREAD_PENALTY * float(penalty[best]) if penalty is not None else 0.0
            )
            seen.add(c.id)
            if seller.team_id is not None:
                if penalty is None:
                    penalty = team_penalty[seller.team_id] = np.zeros(len(facts))
                penalty[best] += 1
            choices.append(
                Choice(
                    seller_id=seller.id,
                    content_id=c.id,
                    variant_id=_next_variant(c, seller, state),
                    day=day,
                    slot=slot,
                    score=round(float(totals[best]), 4),
                    parts={k: round(v, 4) for k, v in parts.items()},
                )
            )
    return choices


def _next_variant(content: ContentFacts, seller: SellerFacts, state: RunState) -> int:
    """Choose a variant in the seller's first language that has one; among those, rotate:
    the least-used next, so twenty sellers don't post one text."""
    candidates = variants_for(content, seller.languages) or content.variant_ids
    variant = min(candidates, key=lambda v: (state.variant_uses[v], v))
    state.variant_uses[variant] += 1
    return variant
