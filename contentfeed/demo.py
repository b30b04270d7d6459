"""Realistic demo data for the quickstart: teams, staff, a dozen sellers, two reps."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import NotificationChannel, Role, Team, TeamKind, User
from contentfeed.content.models import Content, ContentKind, ContentStatus, PostVariant
from contentfeed.db import utcnow

if TYPE_CHECKING:
    from contentfeed.content.service import ContentData

DEMO_PASSWORD = "contentfeed-demo"  # noqa: S105 - printed by quickstart on purpose
DEMO_DOMAIN = "demo.contentfeed.example"
DEMO_FILES = Path(__file__).parent / "demo_files"  # files the demo library uploads


@dataclass(frozen=True)
class DemoSeller:
    name: str
    team: str
    title: str
    region: str
    language: str
    timezone: str
    topics: tuple[str, ...]
    posts_per_week: int
    connections: int


TEAMS = [
    (
        "Business development DACH",
        TeamKind.BUSINESS_DEVELOPMENT,
        "New-logo hunters for Germany, Austria, Switzerland.",
    ),
    (
        "Business development Nordics & UK",
        TeamKind.BUSINESS_DEVELOPMENT,
        "New-logo hunters for the Nordics, UK and Ireland.",
    ),
    (
        "Customer development",
        TeamKind.CUSTOMER_DEVELOPMENT,
        "Hunters after the signature: expansion with existing customers.",
    ),
    ("Key accounts", TeamKind.KEY_ACCOUNTS, "The twenty largest customers."),
    ("Digital sales", TeamKind.DIGITAL_SALES, "Works inbound leads from the queue."),
    ("Leadership", TeamKind.EXECUTIVE, "Executives who share thought leadership."),
]

SELLERS = [
    DemoSeller(
        "Sam Seller",
        "Business development DACH",
        "Account Executive",
        "DACH",
        "en",
        "Europe/Berlin",
        ("cloud", "databases", "security"),
        3,
        1840,
    ),
    DemoSeller(
        "Lena Hoffmann",
        "Business development DACH",
        "Senior Account Executive",
        "DACH",
        "de",
        "Europe/Berlin",
        ("databases", "analytics"),
        3,
        2630,
    ),
    DemoSeller(
        "Jonas Weber",
        "Business development DACH",
        "Sales Development Rep",
        "DACH",
        "de",
        "Europe/Vienna",
        ("cloud", "devops"),
        5,
        740,
    ),
    DemoSeller(
        "Camille Laurent",
        "Business development DACH",
        "Account Executive",
        "DACH",
        "fr",
        "Europe/Zurich",
        ("security", "compliance"),
        2,
        1290,
    ),
    DemoSeller(
        "Oliver Bennett",
        "Business development Nordics & UK",
        "Account Executive",
        "UK&I",
        "en",
        "Europe/London",
        ("analytics", "ai"),
        3,
        3120,
    ),
    DemoSeller(
        "Astrid Lindqvist",
        "Business development Nordics & UK",
        "Account Executive",
        "Nordics",
        "sv",
        "Europe/Stockholm",
        ("cloud", "sustainability"),
        2,
        980,
    ),
    DemoSeller(
        "Mikkel Jensen",
        "Business development Nordics & UK",
        "Sales Development Rep",
        "Nordics",
        "en",
        "Europe/Copenhagen",
        ("devops", "databases"),
        4,
        610,
    ),
    DemoSeller(
        "Priya Shah",
        "Customer development",
        "Customer Success Manager",
        "UK&I",
        "en",
        "Europe/London",
        ("ai", "analytics", "customer stories"),
        3,
        2210,
    ),
    DemoSeller(
        "Marco Rossi",
        "Customer development",
        "Account Manager",
        "Southern Europe",
        "it",
        "Europe/Rome",
        ("security", "cloud"),
        2,
        1530,
    ),
    DemoSeller(
        "Yuki Tanaka",
        "Key accounts",
        "Global Account Director",
        "APAC",
        "ja",
        "Asia/Tokyo",
        ("ai", "cloud", "databases"),
        2,
        4200,
    ),
    DemoSeller(
        "Daniel Kim",
        "Key accounts",
        "Strategic Account Executive",
        "North America",
        "en",
        "America/New_York",
        ("security", "analytics"),
        3,
        5100,
    ),
    DemoSeller(
        "Sofia García",
        "Leadership",
        "VP Sales EMEA",
        "Southern Europe",
        "es",
        "Europe/Madrid",
        ("leadership", "ai", "customer stories"),
        1,
        8900,
    ),
]

STAFF = [
    ("Ada Admin", "admin", Role.ADMIN, None),
    ("Mia Marketer", "marketer", Role.MARKETER, None),
    ("Carl Contributor", "contributor", Role.CONTRIBUTOR, None),
    ("Riley Rep", "rep", Role.REP, "Digital sales"),
    ("Noah Rep", "rep2", Role.REP, "Digital sales"),
    ("Hana Hunter", "rep3", Role.REP, "Customer development"),
]
# Known customers (as if imported from the CRM): their people's leads go to customer
# development. Two of the demo leads below come from these domains.
CUSTOMERS = [
    ("Acme Widgets", ["acme-widgets.example"], "CRM-1001"),
    ("Thames Insurance", ["thames-insurance.example", "thames-ins.example"], "CRM-1002"),
    ("Harbor Health", ["harbor-health.example"], "CRM-1003"),
]


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


@dataclass(frozen=True)
class DemoItem:
    title: str
    kind: ContentKind
    campaign: str | None
    topics: tuple[str, ...]
    cover: str
    summary: str
    variants: tuple[str, ...]
    status: ContentStatus = ContentStatus.APPROVED
    language: str = "en"
    priority: int = 3
    days: tuple[int | None, int | None] = (-7, 30)  # window relative to today; None: open
    teams: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    author: str = "marketer"
    file: str = ""  # an uploaded file from demo_files/ instead of a web address
    gated: bool = False  # the file offered behind the lead form


CAMPAIGNS = [
    ("Q4 Cloud Modernisation", "Moving legacy workloads to the cloud without downtime."),
    ("Security Awareness Month", "Practical security for engineering leaders."),
    ("Customer Stories 2026", "How customers ship faster with Acme Cloud."),
]

V_INSIGHT = (
    "{{ seller.first_name }} here. {{ content.title }}: {{ content.summary }}\n\n"
    "Worth ten minutes of your week: {{ link }}"
)
V_QUESTION = (
    "Quick question for the engineering leaders in my network: how long did your last schema "
    "migration take? Ours used to take a weekend.\n\n{{ content.title }} shows the playbook "
    "we now follow — {{ link }}\n\n#cloud #databases"
)

LIBRARY = [
    DemoItem(
        "Zero-downtime migrations: the whitepaper",
        ContentKind.WHITEPAPER,
        "Q4 Cloud Modernisation",
        ("cloud", "databases"),
        "cloud",
        "A step-by-step playbook for shipping schema changes with no maintenance window.",
        (V_QUESTION, V_INSIGHT),
        priority=5,
        file="zero-downtime-migrations.pdf",
        gated=True,
    ),
    DemoItem(
        "Customer story: how Nordbank cut release time by 70%",
        ContentKind.CASE_STUDY,
        "Customer Stories 2026",
        ("customer stories", "devops"),
        "story",
        "Nordbank moved 400 services to continuous delivery in nine months.",
        (
            "Proud to share how Nordbank ships 10x more often — and sleeps better. {{ link }}",
            V_INSIGHT,
        ),
        days=(-20, 15),
    ),
    DemoItem(
        "Five questions to ask before you move a database",
        ContentKind.ARTICLE,
        "Q4 Cloud Modernisation",
        ("databases", "cloud"),
        "data",
        "A checklist for teams planning their first managed-database migration.",
        (
            V_INSIGHT,
            "Before you move a database, ask these five questions. "
            "Number 3 saves weeks: {{ link }}",
        ),
    ),
    DemoItem(
        "Zero trust for platform teams",
        ContentKind.ARTICLE,
        "Security Awareness Month",
        ("security", "compliance"),
        "security",
        "What zero trust means for the people who run your platform, without the buzzwords.",
        (
            V_INSIGHT,
            "Zero trust is a journey, not a product. "
            "A practical guide for platform teams: {{ link }}",
        ),
        days=(-3, 25),
    ),
    DemoItem(
        "Webinar: AI copilots for the SOC",
        ContentKind.EVENT,
        "Security Awareness Month",
        ("ai", "security"),
        "event",
        "Live on 10 December: how security teams use AI assistants to triage alerts faster.",
        (
            "Join me and our security team live on 10 December: AI copilots for the SOC. "
            "Save your seat: {{ link }}",
            V_INSIGHT,
        ),
        days=(-5, 13),
        priority=4,
    ),
    DemoItem(
        "Acme Analytics 4.0 is here",
        ContentKind.PRODUCT_NEWS,
        None,
        ("analytics", "ai"),
        "news",
        "Natural-language questions over your warehouse, now generally available.",
        (
            "Big day for our analytics team: Acme Analytics 4.0 is out. Ask your data questions "
            "in plain language: {{ link }}",
            V_INSIGHT,
        ),
        days=(-1, 45),
        priority=4,
    ),
    DemoItem(
        "Der Weg in die Cloud ohne Ausfallzeit",
        ContentKind.WHITEPAPER,
        "Q4 Cloud Modernisation",
        ("cloud", "databases"),
        "cloud",
        "Ein Leitfaden für Datenbank-Migrationen ohne Wartungsfenster.",
        (
            "{{ seller.first_name }} hier: unser neues Whitepaper zeigt, wie Migrationen ohne "
            "Ausfallzeit gelingen. {{ link }}",
        ),
        language="de",
        regions=("DACH",),
    ),
    DemoItem(
        "Sustainable cloud: measuring the carbon of your workloads",
        ContentKind.ARTICLE,
        None,
        ("sustainability", "cloud"),
        "cloud",
        "How to see, and cut, the emissions of the services you run.",
        (V_INSIGHT,),
        regions=("Nordics", "UK&I"),
    ),
    DemoItem(
        "Video: a DevOps pipeline in 12 minutes",
        ContentKind.VIDEO,
        None,
        ("devops",),
        "devops",
        "From commit to production with tests, previews and safe rollbacks.",
        ("12 minutes, one pipeline, zero hand-offs. Worth a watch: {{ link }}", V_INSIGHT),
        priority=2,
    ),
    DemoItem(
        "Expansion playbook for existing customers",
        ContentKind.WHITEPAPER,
        "Customer Stories 2026",
        ("customer stories", "analytics"),
        "story",
        "What our best accounts did in year two.",
        (V_INSIGHT,),
        teams=("Customer development", "Key accounts"),
    ),
    DemoItem(
        "Leadership: why we let every engineer talk to customers",
        ContentKind.ARTICLE,
        None,
        ("leadership",),
        "ai",
        "Our VP of Engineering on closing the gap between builders and buyers.",
        (V_INSIGHT,),
        teams=("Leadership",),
        priority=2,
    ),
    # Earlier in the programme: shared in the autumn, expired since (the reports' previous
    # period has something to compare with).
    DemoItem(
        "Platform engineering 101: the webinar recording",
        ContentKind.VIDEO,
        None,
        ("devops", "cloud"),
        "event",
        "Our September webinar, now on demand: golden paths, paved roads and self-service.",
        (
            V_INSIGHT,
            "Missed our platform engineering webinar? The recording is up, and the Q&A at "
            "minute 38 is the best part: {{ link }}",
        ),
        days=(-62, -24),
    ),
    DemoItem(
        "The 2026 cloud cost report",
        ContentKind.WHITEPAPER,
        None,
        ("cloud", "analytics"),
        "data",
        "Where 300 engineering teams spend their cloud budget, and what the best ones cut.",
        (V_INSIGHT,),
        days=(-60, -28),
        priority=4,
    ),
    DemoItem(
        "Customer story: Hanse Freight's zero-trust rollout",
        ContentKind.CASE_STUDY,
        "Customer Stories 2026",
        ("security", "customer stories"),
        "story",
        "Twelve weeks from VPN to zero trust for 2,000 engineers.",
        ("How Hanse Freight replaced its VPN with zero trust in twelve weeks: {{ link }}",),
        days=(-55, -20),
    ),
    DemoItem(
        "Black Friday readiness checklist",
        ContentKind.ARTICLE,
        None,
        ("cloud", "devops"),
        "devops",
        "The load-test checklist we used for last year's peak.",
        (V_INSIGHT,),
        days=(-40, -2),
    ),
    DemoItem(
        "Customer story: Helvetia Logistics goes serverless",
        ContentKind.CASE_STUDY,
        "Customer Stories 2026",
        ("customer stories", "cloud"),
        "story",
        "Forty warehouses, one event-driven platform.",
        ("How Helvetia Logistics runs 40 warehouses on one event-driven platform: {{ link }}",),
        status=ContentStatus.IN_REVIEW,
        author="contributor",
    ),
    DemoItem(
        "Data residency in the EU, explained",
        ContentKind.ARTICLE,
        "Security Awareness Month",
        ("compliance", "security"),
        "security",
        "What GDPR and the Data Act mean for where your data lives.",
        (V_INSIGHT,),
        status=ContentStatus.IN_REVIEW,
        author="contributor",
    ),
    DemoItem(
        "Draft: 2027 cloud trends",
        ContentKind.ARTICLE,
        None,
        ("cloud", "ai"),
        "ai",
        "Our predictions for next year — still being written.",
        (V_INSIGHT,),
        status=ContentStatus.DRAFT,
    ),
]


def seed_library(s: Session, base_url: str, now: datetime) -> None:
    """Add campaigns and a realistic library: live, expired, in review and draft items."""
    from contentfeed.content import service as content

    staff = {
        u.email.split("@")[0]: u
        for u in s.scalars(sa.select(User).where(User.role.in_([Role.MARKETER, Role.CONTRIBUTOR])))
    }
    teams = {t.name: t.id for t in s.scalars(sa.select(Team))}
    campaigns = {
        name: content.save_campaign(s, name=name, description=text) for name, text in CAMPAIGNS
    }
    day = now.replace(hour=8, minute=0, second=0, microsecond=0)
    for n, item in enumerate(LIBRARY, start=1):
        start, end = item.days
        data = content.ContentData(
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
            priority=item.priority,
            starts_at=day + timedelta(days=start) if start is not None else None,
            expires_at=day + timedelta(days=end) if end is not None else None,
        )
        if item.file:
            record = _create_with_file(s, data, item, staff[item.author], base_url)
        else:
            record = content.create_content(s, data, actor=staff[item.author], prefill=False)
        record.site_name = "Acme Cloud"
        record.created_at = day + timedelta(days=(start or -10) - 1, minutes=n)
        for body in item.variants:
            s.add(PostVariant(content=record, body=body, position=len(record.variants) + 1))
        s.flush()
        record.events[-1].created_at = record.created_at
        # Walk the item through the real workflow, so its history reads as it happened.
        steps = {
            ContentStatus.IN_REVIEW: [("submit", item.author, 2)],
            ContentStatus.APPROVED: [("submit", item.author, 1), ("approve", "marketer", 3)],
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
    from flask import current_app

    from contentfeed.content import assets
    from contentfeed.content import service as content

    path = DEMO_FILES / item.file
    with path.open("rb") as stream:
        asset = assets.store_upload(
            s,
            stream,
            path.name,
            folder=Path(current_app.config["UPLOAD_DIR"]),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            uploaded_by=author,
        )
    record = content.create_content(
        s, data, actor=author, asset=asset, asset_url=assets.public_url(asset, base_url)
    )
    record.is_gated = item.gated
    return record


def seed(s: Session, base_url: str = "http://127.0.0.1:5000") -> list[tuple[str, str]]:
    """Create the demo teams and accounts (once); return (role, email) pairs to print."""
    logins = [(Role(role).label, demo_email(local)) for _, local, role, _ in STAFF[:4]]
    logins.insert(3, (Role.SELLER.label, demo_email("seller")))
    if has_demo_data(s):
        return logins
    teams: dict[str, Team] = {}
    for name, kind, description in TEAMS:
        teams[name] = accounts.save_team(s, name=name, kind=kind, description=description)
    for name, local, role, team in STAFF:
        accounts.create_user(
            s,
            email=demo_email(local),
            name=name,
            role=role,
            password=DEMO_PASSWORD,
            team=teams[team] if team else None,
            timezone="Europe/Berlin",
        )
    for seller in SELLERS:
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
            language=seller.language,
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


AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", 5),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15", 3),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        3,
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 1),
]


HISTORY_DAYS = 60  # the default 30-day report then has a previous 30 days to compare with


def seed_activity(s: Session, base_url: str, now: datetime) -> None:
    """Give the demo two months of history (HISTORY_DAYS): sellers who joined then, their past
    suggestions (most shared, some skipped with a reason, the rest expired), the clicks they
    brought and the leads that followed."""
    from contentfeed.content.service import Compliance
    from contentfeed.links import service as links
    from contentfeed.links.models import Click, TrackedLink
    from contentfeed.suggestions import service as suggestions
    from contentfeed.suggestions.models import Suggestion, SuggestionStatus

    rng = random.Random(2026)  # noqa: S311 - demo data, repeatable
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
        sa.select(Suggestion).where(Suggestion.day < (now - timedelta(days=1)).date())
    ).all()
    agents = [agent for agent, weight in AGENTS for _ in range(weight)]
    codes = dict(s.execute(sa.select(TrackedLink.suggestion_id, TrackedLink.id)).all())
    clicks = []
    for suggestion in past:
        roll = rng.random()
        if roll < 0.62:
            suggestion.status = SuggestionStatus.POSTED
            suggestion.posted_at = suggestion.created_at + timedelta(hours=rng.randint(1, 30))
            link_id = codes[suggestion.id]
            for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 13, 21])):
                agent = rng.choice(agents)
                clicks.append(_demo_click(rng, link_id, suggestion.posted_at, now, agent, links))
            if rng.random() < 0.7:  # LinkedIn's preview fetcher looks at every shared link
                clicks.append(
                    _demo_click(rng, link_id, suggestion.posted_at, now, "LinkedInBot/1.0", links)
                )
        elif roll < 0.8:
            suggestion.status = SuggestionStatus.SKIPPED
            suggestion.skipped_at = suggestion.created_at + timedelta(hours=rng.randint(1, 48))
            suggestion.skip_reason = rng.choice(list(suggestions.SKIP_REASONS))
        elif suggestion.expires_at is not None and suggestion.expires_at < now:
            suggestion.status = SuggestionStatus.EXPIRED
        suggestion.notified_at = suggestion.created_at
    s.add_all(Click(**values) for values in clicks)
    s.flush()
    seed_leads(s, rng, now)
    seed_routing(s, now)


PEOPLE = [
    ("Jane", "Doe", "Head of Platform", "Acme Widgets", "acme-widgets.example", "DE"),
    ("Li", "Wei", "CTO", "Nordbank", "nordbank.example", "SE"),
    ("Martin", "Keller", "VP Engineering", "Alpenlogistik", "alpenlogistik.example", "AT"),
    ("Sophie", "Martin", "Head of Data", "Lumière Retail", "lumiere-retail.example", "FR"),
    ("Tom", "Baker", "Platform Lead", "Thames Insurance", "thames-insurance.example", "GB"),
    ("Ingrid", "Berg", "Head of IT", "Fjordkraft Energi", "fjordkraft.example", "NO"),
    ("Luca", "Bianchi", "CIO", "Banca Serena", "bancaserena.example", "IT"),
    ("Aiko", "Sato", "Engineering Manager", "Kaito Robotics", "kaito-robotics.example", "JP"),
    ("Carlos", "Ruiz", "Director of Operations", "Ibérica Foods", "iberica-foods.example", "ES"),
    ("Emma", "Jansen", "DevOps Lead", "Polder Mobility", "polder-mobility.example", "NL"),
    ("Noah", "Fischer", "Security Architect", "Rheinwerk Chemie", "rheinwerk.example", "DE"),
    ("Olivia", "Smith", "Head of Analytics", "Harbor Health", "harbor-health.example", "US"),
    ("Pierre", "Dubois", "IT Manager", "", "gmail.com", "FR"),  # a free-mail lead, no company
    ("Anna", "Nowak", "Cloud Architect", "Wisła Software", "wisla-soft.example", "PL"),
]


# Leads of the programme's first weeks (more than RECENT_DAYS ago): all worked by now.
EARLIER_PEOPLE = [
    (
        "Hannah",
        "Vogel",
        "Head of Infrastructure",
        "Saalfeld Maschinenbau",
        "saalfeld.example",
        "DE",
    ),
    ("James", "Porter", "VP Platform", "Northgate Retail", "northgate-retail.example", "GB"),
    ("Elena", "Rossi", "CTO", "Vela Pagamenti", "velapagamenti.example", "IT"),
    ("Mats", "Lindberg", "Engineering Director", "Kvarn Energy", "kvarn.example", "SE"),
    ("Claire", "Lefèvre", "Head of Security", "Atelier Mutuel", "atelier-mutuel.example", "FR"),
    ("Daniel", "Novak", "Platform Architect", "Moravia Telecom", "moravia-tel.example", "CZ"),
    ("Sarah", "Collins", "Director of IT", "Harbor Health", "harbor-health.example", "US"),
    ("Jonas", "Becker", "DevOps Manager", "Isar Logistik", "isar-logistik.example", "DE"),
    ("Yuki", "Mori", "Head of Data Platform", "Shinkai Insurance", "shinkai-ins.example", "JP"),
    ("Laura", "García", "Cloud Lead", "Ribera Hoteles", "ribera-hoteles.example", "ES"),
    ("Kevin", "Schmidt", "IT Director", "", "gmail.com", "DE"),
    ("Ruth", "Müller", "CISO", "Bodensee Versicherung", "bodensee-vers.example", "DE"),
]
RECENT_DAYS = 20  # PEOPLE came in within this many days; EARLIER_PEOPLE before


def seed_routing(s: Session, now: datetime) -> None:
    """Route the demo leads as the routing job would have when each came in, then let the
    reps work some of them, so the queue, the lead pages and the reports have a story."""
    from contentfeed.leads.models import Lead, LeadStatus
    from contentfeed.routing import customer_accounts, queue_setup, rulebook, work
    from contentfeed.routing import service as routing
    from contentfeed.routing.models import Strategy

    for name, domains, crm_id in CUSTOMERS:
        customer_accounts.save_account(
            s, customer_accounts.AccountIn(name=name, domains=domains, crm_id=crm_id)
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
    same intake path as the webhook, so they are attributed like real ones: PEOPLE in the
    last RECENT_DAYS, EARLIER_PEOPLE in the weeks before."""
    from contentfeed.links.models import Click, TrackedLink

    since = now - timedelta(days=RECENT_DAYS)
    # Recent leads follow the last human click on a link; earlier ones any human click then.
    recent: list[tuple[str, datetime]] = [
        (code, at)
        for code, at in s.execute(
            sa.select(TrackedLink.code, sa.func.max(Click.clicked_at))
            .join(Click, Click.link_id == TrackedLink.id)
            .where(~Click.is_bot)
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
            .where(~Click.is_bot, Click.clicked_at < since - timedelta(days=1))
            .order_by(Click.id)
        )
    ]
    rng.shuffle(recent)
    rng.shuffle(earlier)
    cohorts = (
        ("demo", PEOPLE, recent, 10, (1, 15)),
        ("demo-e", EARLIER_PEOPLE, earlier, 9, (RECENT_DAYS + 2, HISTORY_DAYS - 3)),
    )
    planned: list[tuple[str, tuple[str, str, str, str, str, str], datetime, dict[str, str]]] = []
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
    person: tuple[str, str, str, str, str, str],
    submitted: datetime,
    utm: dict[str, str],
    now: datetime,
) -> None:
    import json

    from contentfeed.leads import service as leads

    first, last, title, company, domain, country = person
    email = f"{first}{last}@gmail.com" if domain == "gmail.com" else f"{first}.{last}@{domain}"
    body = json.dumps(
        {
            "email": email.lower(),
            "first_name": first,
            "last_name": last,
            "job_title": title,
            "company": company,
            "country": country,
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


def _demo_click(
    rng: random.Random, link_id: int, after: datetime, now: datetime, agent: str, links: Any
) -> dict[str, Any]:
    span = max(60.0, (now - after).total_seconds())
    when = after + timedelta(seconds=min(span - 1, rng.expovariate(1 / (span / 6))))
    is_bot, family = links.classify_agent(agent)
    referrer = rng.choice(["www.linkedin.com", "www.linkedin.com", "lnkd.in", ""])
    return {
        "link_id": link_id,
        "clicked_at": when,
        "is_bot": is_bot,
        "referrer_host": referrer,
        "agent_family": family,
        "visitor_hash": f"{rng.getrandbits(128):032x}",
    }
