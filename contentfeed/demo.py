"""Realistic demo data for the quickstart: teams, staff, a dozen sellers, two reps."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import NotificationChannel, Role, Team, TeamKind, User

DEMO_PASSWORD = "contentfeed-demo"  # noqa: S105 - printed by quickstart on purpose
DEMO_DOMAIN = "demo.contentfeed.example"


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


def seed(s: Session) -> list[tuple[str, str]]:
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
    return logins
