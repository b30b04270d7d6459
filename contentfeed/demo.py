"""Realistic demo data for the quickstart: teams, staff, a dozen sellers, two reps, a library
with two months of history, and the leads it brought. The data lives in demo_data.toml; this
module creates it through the same use cases a person would."""

from __future__ import annotations

import random
import tomllib
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed import config
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import NotificationChannel, Role, Team, TeamKind, User
from contentfeed.content.models import Audience, Content, ContentKind, ContentStatus, PostVariant
from contentfeed.db import utcnow

if TYPE_CHECKING:
    from contentfeed.content.service import ContentData

DEMO_PASSWORD = "contentfeed-demo"  # noqa: S105 - printed by quickstart on purpose
DEMO_DOMAIN = "demo.contentfeed.example"
DEMO_FILES = Path(__file__).parent / "demo_files"  # files the demo library uploads
DEMO_DATA = Path(__file__).parent / "demo_data.toml"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoTeam(_Record):
    name: str
    kind: TeamKind
    description: str


class DemoStaff(_Record):
    name: str
    login: str  # the local part of the demo address
    role: Role
    team: str | None = None


class DemoSeller(_Record):
    name: str
    team: str
    title: str
    region: str
    languages: tuple[str, ...]  # the preferred first
    timezone: str
    topics: tuple[str, ...]
    posts_per_week: int
    connections: int


class DemoContract(_Record):
    name: str
    ends_in_days: int
    crm_id: str = ""


class DemoGoal(_Record):
    product: str
    target_in_days: int


class DemoStep(_Record):
    text: str
    owner: str  # a staff login
    due_in_days: int


class DemoCustomer(_Record):
    name: str
    domains: list[str]
    crm_id: str
    contracts: list[DemoContract] = Field(default_factory=list)
    goals: list[DemoGoal] = Field(default_factory=list)
    steps: list[DemoStep] = Field(default_factory=list)


class DemoCampaign(_Record):
    name: str
    description: str


class DemoItem(_Record):
    title: str
    kind: ContentKind
    campaign: str | None = None
    topics: tuple[str, ...]
    cover: str
    summary: str
    variants: tuple[str, ...]  # post templates; "@name" is one of the shared [templates]
    variants_de: tuple[str, ...] = ()  # German variants of an item whose language is another
    status: ContentStatus = ContentStatus.APPROVED
    language: str = "en"
    priority: int = 3
    starts_in_days: int | None = None  # the item's window relative to today; None: open
    expires_in_days: int | None = None
    teams: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    audience: Audience = Audience.BOTH
    author: str = "marketer"
    file: str = ""  # an uploaded file from demo_files/ instead of a web address
    gated: bool = False  # the file offered behind the lead form


class DemoAgent(_Record):
    user_agent: str
    weight: int


class DemoPerson(_Record):
    first_name: str
    last_name: str
    job_title: str
    company: str  # empty for a free-mail lead
    domain: str
    country: str


class DemoData(_Record):
    """Everything the demo creates, as demo_data.toml declares it."""

    teams: list[DemoTeam]
    staff: list[DemoStaff]
    sellers: list[DemoSeller]
    customers: list[DemoCustomer]
    campaigns: list[DemoCampaign]
    templates: dict[str, str] = Field(default_factory=dict)
    library: list[DemoItem]
    agents: list[DemoAgent]
    recent_people: list[DemoPerson]  # leads of the last RECENT_DAYS
    earlier_people: list[DemoPerson]  # leads of the programme's first weeks, all worked by now

    def variant_bodies(self, item: DemoItem) -> list[tuple[str, str]]:
        """Return an item's post templates with their languages, the shared ones ("@name")
        written out: the item's own language first, then its German variants."""
        own = [self.templates[v[1:]] if v.startswith("@") else v for v in item.variants]
        return [(body, item.language) for body in own] + [(body, "de") for body in item.variants_de]


@cache
def demo_data() -> DemoData:
    """Read and check demo_data.toml (once per process)."""
    with DEMO_DATA.open("rb") as fh:
        return DemoData.model_validate(tomllib.load(fh))


def demo_email(local: str) -> str:
    """Return the demo address for a local part."""
    return f"{local}@{DEMO_DOMAIN}"


def seller_local(name: str) -> str:
    """Return a seller's email local part from their name."""
    first = name.split()[0].lower()
    return {"sam": "seller"}.get(first, first.replace("í", "i").replace("ç", "c"))


def has_demo_data(s: Session) -> bool:
    """Tell whether the demo accounts exist already."""
    return s.scalar(sa.select(User.id).where(User.email == demo_email("admin"))) is not None


def seed_library(s: Session, base_url: str, now: datetime) -> None:
    """Add campaigns and a realistic library: live, expired, in review and draft items."""
    from contentfeed.content import service as content

    data = demo_data()
    staff = {
        u.email.split("@")[0]: u
        for u in s.scalars(
            sa.select(User).where(User.role.in_([Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR]))
        )
    }
    teams = {t.name: t.id for t in s.scalars(sa.select(Team))}
    campaigns = {
        c.name: content.save_campaign(s, name=c.name, description=c.description)
        for c in data.campaigns
    }
    day = now.replace(hour=8, minute=0, second=0, microsecond=0)
    for n, item in enumerate(data.library, start=1):
        start, end = item.starts_in_days, item.expires_in_days
        fields = content.ContentData(
            title=item.title,
            summary=item.summary,
            url=""
            if item.file
            else f"https://www.acme-cloud.example/{content.slugify(item.title)}",
            image_url=f"{base_url}/static/demo/cover-{item.cover}.svg",
            kind=item.kind,
            campaign_id=campaigns[item.campaign].id if item.campaign else None,
            language=item.language,
            topics=list(item.topics),
            target_team_ids=[teams[name] for name in item.teams],
            target_regions=list(item.regions),
            audience=item.audience,
            priority=item.priority,
            starts_at=day + timedelta(days=start) if start is not None else None,
            expires_at=day + timedelta(days=end) if end is not None else None,
        )
        if item.file:
            record = _create_with_file(s, fields, item, staff[item.author], base_url)
        else:
            record = content.create_content(s, fields, actor=staff[item.author], prefill=False)
        record.site_name = "Acme Cloud"
        record.created_at = day + timedelta(days=(start or -10) - 1, minutes=n)
        for body, language in data.variant_bodies(item):
            position = len(record.variants) + 1
            s.add(PostVariant(content=record, body=body, language=language, position=position))
        s.flush()
        record.events[-1].created_at = record.created_at
        # Walk the item through the real workflow, so its history reads as it happened;
        # four-eyes: someone other than its author approves it.
        approver = "admin" if item.author == "marketer" else "marketer"
        steps = {
            ContentStatus.IN_REVIEW: [("submit", item.author, 2)],
            ContentStatus.APPROVED: [("submit", item.author, 1), ("approve", approver, 3)],
        }.get(item.status, [])
        for action, who, hours in steps:
            content.transition(s, record, action, actor=staff[who])
            record.events[-1].created_at = record.created_at + timedelta(hours=hours)
        if item.status is ContentStatus.APPROVED:
            record.approved_at = record.created_at + timedelta(hours=3)
    s.flush()


def _create_with_file(
    s: Session, data: ContentData, item: DemoItem, author: User, base_url: str
) -> Content:
    """Create a library item from a file in demo_files/, uploaded as a marketer would."""

    from contentfeed.content import assets
    from contentfeed.content import service as content

    path = DEMO_FILES / item.file
    with path.open("rb") as stream:
        asset = assets.store_upload(
            s,
            stream,
            path.name,
            folder=Path(config.current().library.upload_dir),
            max_bytes=config.current().library.max_upload_bytes,
            uploaded_by=author,
        )
    record = content.create_content(
        s, data, actor=author, asset=asset, asset_url=assets.public_url(asset, base_url)
    )
    record.is_gated = item.gated
    return record


def seed(s: Session, base_url: str = "http://127.0.0.1:5000") -> list[tuple[str, str]]:
    """Create the demo teams and accounts (once); return (role, email) pairs to print."""
    data = demo_data()
    logins = [(person.role.label, demo_email(person.login)) for person in data.staff[:4]]
    logins.insert(3, (Role.SELLER.label, demo_email("seller")))
    if has_demo_data(s):
        return logins
    teams: dict[str, Team] = {}
    for team in data.teams:
        teams[team.name] = accounts.save_team(
            s, name=team.name, kind=team.kind, description=team.description
        )
    for person in data.staff:
        accounts.create_user(
            s,
            email=demo_email(person.login),
            name=person.name,
            role=person.role,
            password=DEMO_PASSWORD,
            team=teams[person.team] if person.team else None,
            timezone="Europe/Berlin",
        )
    for seller in data.sellers:
        user = accounts.create_user(
            s,
            email=demo_email(seller_local(seller.name)),
            name=seller.name,
            role=Role.SELLER,
            password=DEMO_PASSWORD,
            team=teams[seller.team],
            timezone=seller.timezone,
        )
        assert user.seller_profile is not None
        first = seller.name.split()[0].lower()
        accounts.update_seller_profile(
            s,
            user.seller_profile,
            title=seller.title,
            region=seller.region,
            languages=seller.languages,
            topics=seller.topics,
            posts_per_week=seller.posts_per_week,
            weekdays=[0, 1, 2, 3] if seller.posts_per_week <= 3 else [0, 1, 2, 3, 4],
            linkedin_url=f"https://www.linkedin.com/in/{first}-demo",
            linkedin_connections=seller.connections,
            notification_channel=NotificationChannel.EMAIL,
            notification_target="",
            is_paused=False,
        )
    s.flush()
    now = utcnow()
    seed_library(s, base_url, now)
    seed_activity(s, base_url, now)
    return logins


HISTORY_DAYS = 60  # the default 30-day report then has a previous 30 days to compare with
# The last days' suggestions still wait to be shared: a seller who posts Monday to Thursday
# finds Thursday's post on Monday morning.
RECENT_WAITING_DAYS = 4
VERIFIED_SHARE = 0.55  # of the demo's shared posts, those marked with the post's address


def seed_activity(s: Session, base_url: str, now: datetime) -> None:
    """Give the demo two months of history (HISTORY_DAYS): sellers who joined then, their past
    suggestions (most shared, some skipped with a reason, the rest expired), the clicks they
    brought and the leads that followed."""
    from contentfeed import demo_clicks, demo_customers
    from contentfeed.content.service import Compliance
    from contentfeed.links.models import Click, TrackedLink
    from contentfeed.suggestions import service as suggestions
    from contentfeed.suggestions.models import Suggestion, SuggestionStatus
    from contentfeed.suggestions.post_url import PostRef

    rng = random.Random(2026)  # noqa: S311 - demo data, repeatable
    # Its own generator, so verifying posts leaves the rest of the demo as it was.
    verify_rng = random.Random(7265)  # noqa: S311 - demo data, repeatable
    ledger_rng = random.Random(17)  # noqa: S311 - demo data, repeatable
    sellers = list(s.scalars(sa.select(User).where(User.role == Role.SELLER)))
    for seller in sellers:
        seller.created_at = now - timedelta(days=HISTORY_DAYS + 1)
    s.flush()
    settings = suggestions.FeedSettings(
        public_base_url=base_url,
        default_timezone="Europe/Berlin",
        local_hour=7,
        ttl_days=7,
        rules=Compliance(disclosure="#employee", blocked_words=[], public_base_url=base_url),
    )
    for days_ago in range(HISTORY_DAYS, 0, -1):
        moment = now - timedelta(days=days_ago)
        suggestions.fill_feeds(s, settings, now=moment.replace(hour=12), seed=days_ago)
    past = s.scalars(
        sa.select(Suggestion)
        .where(Suggestion.day < (now - timedelta(days=RECENT_WAITING_DAYS)).date())
        .order_by(Suggestion.id)
    ).all()
    agents = [agent.user_agent for agent in demo_data().agents for _ in range(agent.weight)]
    codes = dict(s.execute(sa.select(TrackedLink.suggestion_id, TrackedLink.id)).all())
    clicks = []
    for suggestion in past:
        roll = rng.random()
        if roll < 0.62:
            suggestion.status = SuggestionStatus.POSTED
            suggestion.posted_at = suggestion.created_at + timedelta(hours=rng.randint(1, 30))
            if verify_rng.random() < VERIFIED_SHARE:
                # The seller pasted their post's address: its id carries the post's time
                # (milliseconds since 1970 in the top bits, a sequence in the low 22).
                ms = int(suggestion.posted_at.timestamp() * 1000)
                post = PostRef("activity", ms << 22 | verify_rng.getrandbits(22))
                suggestion.post_url, suggestion.post_activity_id = post.url, post.activity_id
                suggestion.post_time = suggestion.posted_at = post.posted_at
            link_id = codes[suggestion.id]
            for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 13, 21])):
                agent = rng.choice(agents)
                clicks.append(demo_clicks.click(rng, link_id, suggestion.posted_at, now, agent))
            if rng.random() < 0.7:  # LinkedIn's preview fetcher looks at every shared link
                clicks.append(
                    demo_clicks.click(rng, link_id, suggestion.posted_at, now, "LinkedInBot/1.0")
                )
            # Their own generator: the demo's other figures stay as they were.
            clicks += demo_clicks.ledger(ledger_rng, link_id, suggestion.posted_at, now)
        elif roll < 0.8:
            suggestion.status = SuggestionStatus.SKIPPED
            suggestion.skipped_at = suggestion.created_at + timedelta(hours=rng.randint(1, 48))
            suggestion.skip_reason = rng.choice(list(suggestions.SKIP_REASONS))
        elif suggestion.expires_at is not None and suggestion.expires_at < now:
            suggestion.status = SuggestionStatus.EXPIRED
        suggestion.notified_at = suggestion.created_at
    s.add_all(Click(**values) for values in clicks)
    s.flush()
    # Whatever the weekday, every seller signing in to the demo finds a post waiting: those
    # whose cadence left nothing pending get today's suggestion as "Suggest now" would.
    waiting = set(
        s.scalars(
            sa.select(Suggestion.seller_id).where(Suggestion.status == SuggestionStatus.PENDING)
        )
    )
    idle = [seller.id for seller in sellers if seller.id not in waiting]
    if idle:
        suggestions.fill_feeds(s, settings, now=now, seed=0, only=idle, ignore_cadence=True)
    seed_leads(s, rng, now)
    seed_routing(s, now)
    demo_customers.seed_customers(s, now)


RECENT_DAYS = 20  # recent_people came in within this many days; earlier_people before


def seed_routing(s: Session, now: datetime) -> None:
    """Route the demo leads as the routing job would have when each came in, then let the
    reps work some of them, so the queue, the lead pages and the reports have a story."""
    from contentfeed.leads.models import Lead, LeadStatus
    from contentfeed.routing import customer_accounts, queue_setup, rulebook, work
    from contentfeed.routing import service as routing
    from contentfeed.routing.models import Strategy

    for customer in demo_data().customers:
        customer_accounts.save_account(
            s,
            customer_accounts.AccountIn(
                name=customer.name, domains=customer.domains, crm_id=customer.crm_id
            ),
        )
    settings = routing.RoutingSettings()
    routing.ensure_defaults(s, settings)
    admin = s.scalar(sa.select(User).where(User.email == demo_email("admin")))
    reps = {u.email: u for u in s.scalars(sa.select(User).where(User.role == Role.REP))}
    for queue in queue_setup.list_queues(s):
        queue.lead_user_id = admin.id if admin else None
        # Digital sales calls back within half an hour of claiming; customer development,
        # handed its leads round robin, has two hours (set before routing hands them out).
        queue.claim_minutes = 30
        if queue.name == settings.customer_queue:
            queue.strategy = Strategy.ROUND_ROBIN
            queue.claim_minutes = 120
    rules = rulebook.list_rules(s)
    unrouted = sa.select(Lead).where(Lead.routed_at.is_(None)).order_by(Lead.submitted_at)
    leads = list(s.scalars(unrouted))
    # Each was routed a minute after it reached us (the three newest within the last hour,
    # see seed_leads), so no lead is routed before it came in.
    fresh = {lead.id for lead in leads[-3:]}
    for lead in leads:
        at = min(lead.created_at + timedelta(minutes=1), now)
        routing.route_lead(s, lead, settings, rules, at)
    s.flush()
    riley, noah = reps.get(demo_email("rep")), reps.get(demo_email("rep2"))
    hana = reps.get(demo_email("rep3"))
    since = now - timedelta(days=RECENT_DAYS)
    earlier = [lead for lead in leads if lead.submitted_at < since]
    older = [lead for lead in leads if lead.id not in fresh and lead.submitted_at >= since]
    # The first weeks' leads are all worked by now: most closed, a few still in the pipeline.
    closed = [
        (riley, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.CONVERTED], ""),
        (noah, [LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED], "No budget until next year"),
        (riley, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED], ""),
        (noah, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.CONVERTED], ""),
        (riley, [LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED], "Already works with a partner"),
        (noah, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.CONVERTED], ""),
    ]
    history = [(lead, closed[n % len(closed)]) for n, lead in enumerate(earlier)]
    steps = [
        (riley, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.CONVERTED], ""),
        (riley, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED], ""),
        (noah, [LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED], "Student project, no budget"),
        (noah, [LeadStatus.CONTACTED], ""),
        (riley, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED], ""),
        (noah, [LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED], "Competitor doing research"),
        (riley, [LeadStatus.CONTACTED], ""),
        (noah, [LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.CONVERTED], ""),
    ]
    for lead, (rep, statuses, reason) in [*history, *zip(older, steps, strict=False)]:
        rep = hana if lead.account_id else rep
        if rep is None or lead.routed_at is None:
            continue
        at = lead.routed_at + timedelta(minutes=7)
        if lead.assignee_id is None:
            work.claim(s, rep, lead.id, now=at)
        else:
            rep = s.get(User, lead.assignee_id) or rep
        for n, status in enumerate(statuses, start=1):
            when = at + timedelta(hours=n * 5)
            if status is LeadStatus.CONTACTED:
                when = at + timedelta(minutes=25)
                note = "Called, good conversation; sent the case study."
                work.add_note(s, rep, lead.id, note, now=min(when, now))
            why = reason if status is LeadStatus.DISQUALIFIED else ""  # a reason is a verdict's
            work.set_status(s, rep, lead.id, status, reason=why, now=min(when, now))
    work.sla_sweep(s, now)
    s.flush()


def seed_leads(s: Session, rng: random.Random, now: datetime) -> None:
    """Add leads that came back through sellers' links (and a few from elsewhere), through the
    same intake path as the webhook, so they are attributed like real ones: recent_people in
    the last RECENT_DAYS, earlier_people in the weeks before."""
    from contentfeed.links.models import Click, TrackedLink

    since = now - timedelta(days=RECENT_DAYS)
    # Recent leads follow the last human click on a link; earlier ones any human click then.
    recent: list[tuple[str, datetime]] = [
        (code, at)
        for code, at in s.execute(
            sa.select(TrackedLink.code, sa.func.max(Click.clicked_at))
            .join(Click, Click.link_id == TrackedLink.id)
            .where(Click.counted)
            .group_by(TrackedLink.code)
            .having(sa.func.max(Click.clicked_at) >= since)
            .order_by(TrackedLink.code)
        )
    ]
    earlier: list[tuple[str, datetime]] = [
        (code, at)
        for code, at in s.execute(
            sa.select(TrackedLink.code, Click.clicked_at)
            .join(Click, Click.link_id == TrackedLink.id)
            .where(Click.counted, Click.clicked_at < since - timedelta(days=1))
            .order_by(Click.id)
        )
    ]
    rng.shuffle(recent)
    rng.shuffle(earlier)
    cohorts = (
        ("demo", demo_data().recent_people, recent, 10, (1, 15)),
        ("demo-e", demo_data().earlier_people, earlier, 9, (RECENT_DAYS + 2, HISTORY_DAYS - 3)),
    )
    planned: list[tuple[str, DemoPerson, datetime, dict[str, str]]] = []
    for prefix, people, clicked, attributed_count, days_ago in cohorts:
        for n, person in enumerate(people):
            if n < attributed_count and n < len(clicked):
                code, clicked_at = clicked[n]
                # After the click, and before now however recent the click was.
                wait = min(timedelta(minutes=rng.randint(2, 90)), (now - clicked_at) / 2)
                submitted = clicked_at + wait
                utm = {"utm_source": "linkedin", "utm_medium": "social", "utm_content": code}
            else:
                ago = timedelta(days=rng.randint(*days_ago), hours=rng.randint(0, 12))
                submitted = now - ago
                utm = {"utm_source": rng.choice(["google", "newsletter", ""]), "utm_medium": "cpc"}
            planned.append((f"{prefix}-{n}", person, submitted, utm))
    # The three newest came in during the last hour, so the queue has leads still in time.
    planned.sort(key=lambda item: item[2])
    for minutes, index in zip((46, 26, 11), (-3, -2, -1), strict=True):
        external_id, person, submitted, utm = planned[index]
        planned[index] = (
            external_id,
            person,
            max(submitted, now - timedelta(minutes=minutes)),
            utm,
        )
    for external_id, person, submitted, utm in planned:
        _post_demo_lead(s, external_id, person, submitted, utm, now)
    s.flush()


def _post_demo_lead(
    s: Session,
    external_id: str,
    person: DemoPerson,
    submitted: datetime,
    utm: dict[str, str],
    now: datetime,
) -> None:
    import json

    from contentfeed.leads import service as leads

    first, last, domain = person.first_name, person.last_name, person.domain
    email = f"{first}{last}@gmail.com" if domain == "gmail.com" else f"{first}.{last}@{domain}"
    body = json.dumps(
        {
            "email": email.lower(),
            "first_name": first,
            "last_name": last,
            "job_title": person.job_title,
            "company": person.company,
            "country": person.country,
            "consent": True,
            "consent_text": "I agree to be contacted (v2)",
            "submitted_at": submitted.isoformat(),
            "landing_url": "https://www.acme-cloud.example/contact",
            **utm,
        }
    )
    event, _is_new = leads.store_event(
        s,
        source="webhook",
        external_id=external_id,
        content_type="application/json",
        body=body,
        headers={"user-agent": "demo-data"},
    )
    # The form's webhook reached us seconds after it was sent, not when the demo was made:
    # the lead page shows both times, and they must tell one story.
    received = min(submitted + timedelta(seconds=3), now)
    event.received_at = received
    leads.process_event(s, event, lookback_days=90, now=received)
