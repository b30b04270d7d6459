"""Why a request for a tracked link counts as a human click, or why it does not.

Every request for /r/<code> is kept in the click ledger with one reason from a small fixed
set; only ``human`` counts as a click anywhere (``Click.counted``). The reasons the request
itself shows (its method, its User-Agent, its referrer) are decided here, in Python, with
no query; ``repeat`` and ``early`` need what the database knows (the visitor's earlier
requests, when the post was marked posted) and are decided inside the click's INSERT
(links/service.py), so the redirect still costs one statement.

The order is fixed: ``head`` before ``scanner`` before ``bot``, and a request that looks like
a person is ``repeat`` before ``early`` before ``human``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import crawleruseragents
from ua_parser import parse as parse_user_agent

from contentfeed.i18n import _l


class Reason(StrEnum):
    """Why a recorded request counts, or does not (stored in ``click.reason``)."""

    HUMAN = "human"  # counted: a person following the link
    HEAD = "head"  # a HEAD request: asks whether the link works, reads nothing
    SCANNER = "scanner"  # a link scanner or preview fetcher (mail security, chat unfurls)
    BOT = "bot"  # a crawler or any other automated client (also: no User-Agent)
    REPEAT = "repeat"  # the same visitor again within links.repeat_seconds
    EARLY = "early"  # within links.early_seconds of posting, without a referrer


# What people read for each reason (lazy: said in each request's language).
LABELS = {
    Reason.HUMAN: _l("Human clicks"),
    Reason.HEAD: _l("HEAD requests"),
    Reason.SCANNER: _l("Link scanners and previews"),
    Reason.BOT: _l("Bots and crawlers"),
    Reason.REPEAT: _l("Repeats by the same visitor"),
    Reason.EARLY: _l("Automatic fetches right after posting"),
}
# One reason's name in a running text ("HEAD 2, scanners 3").
SHORT_LABELS = {
    Reason.HUMAN: _l("human"),
    Reason.HEAD: _l("HEAD"),
    Reason.SCANNER: _l("scanners"),
    Reason.BOT: _l("bots"),
    Reason.REPEAT: _l("repeats"),
    Reason.EARLY: _l("right after posting"),
}
FILTERED = tuple(r for r in Reason if r is not Reason.HUMAN)


@dataclass(frozen=True)
class Pattern:
    """A client we know by a piece of its User-Agent (lower case) or referrer host."""

    marker: str
    reason: Reason
    family: str


# Link scanners, preview fetchers and crawlers, known by their User-Agent. The first match
# wins; agents not named here go to the shared crawler list (crawleruseragents) next.
AGENT_PATTERNS = (
    # Chat and social previews: they fetch a link the moment it is posted or pasted.
    Pattern("slackbot-linkexpanding", Reason.SCANNER, "Slackbot"),
    Pattern("slack-imgproxy", Reason.SCANNER, "Slackbot"),
    Pattern("slackbot", Reason.SCANNER, "Slackbot"),
    Pattern("skypeuripreview", Reason.SCANNER, "Microsoft Teams"),
    Pattern("microsoftpreview", Reason.SCANNER, "Microsoft Teams"),
    Pattern("linkedinbot", Reason.SCANNER, "LinkedInBot"),
    Pattern("linkedin-preview", Reason.SCANNER, "LinkedInBot"),
    Pattern("twitterbot", Reason.SCANNER, "Twitterbot"),
    Pattern("facebookexternalhit", Reason.SCANNER, "facebookexternalhit"),
    Pattern("facebookcatalog", Reason.SCANNER, "facebookexternalhit"),
    Pattern("whatsapp", Reason.SCANNER, "WhatsApp"),
    Pattern("telegrambot", Reason.SCANNER, "TelegramBot"),
    Pattern("discordbot", Reason.SCANNER, "Discordbot"),
    Pattern("bingpreview", Reason.SCANNER, "BingPreview"),
    # Mail security: URL rewriting services that open every link in a mail first.
    Pattern("safelinks", Reason.SCANNER, "Microsoft SafeLinks"),
    Pattern("proofpoint", Reason.SCANNER, "Proofpoint"),
    Pattern("mimecast", Reason.SCANNER, "Mimecast"),
    Pattern("barracuda", Reason.SCANNER, "Barracuda"),
    # Crawlers and headless browsers.
    Pattern("googlebot", Reason.BOT, "Googlebot"),
    Pattern("bingbot", Reason.BOT, "bingbot"),
    Pattern("headlesschrome", Reason.BOT, "HeadlessChrome"),
    Pattern("preview", Reason.SCANNER, "Preview"),
)
# Mail-security scanners fetch from their own pages: a request whose referrer is one of
# these hosts (or under them) is the scanner, not the reader.
REFERRER_PATTERNS = (
    Pattern("safelinks.protection.outlook.com", Reason.SCANNER, "Microsoft SafeLinks"),
    Pattern("urldefense.proofpoint.com", Reason.SCANNER, "Proofpoint"),
    Pattern("urldefense.com", Reason.SCANNER, "Proofpoint"),
    Pattern("mimecast.com", Reason.SCANNER, "Mimecast"),
)


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


@lru_cache(maxsize=8192)
def classify_agent(user_agent: str) -> tuple[Reason, str]:
    """Return (HUMAN, BOT or SCANNER; agent family) for a User-Agent (cached: agents repeat).

    HUMAN here means only "no known machine": the redirect may still decide repeat or early.
    """
    if not user_agent.strip():
        return Reason.BOT, "Unknown"
    lowered = user_agent.lower()
    for pattern in AGENT_PATTERNS:
        if pattern.marker in lowered:
            return pattern.reason, pattern.family
    parsed = parse_user_agent(user_agent)
    family = (parsed.user_agent.family if parsed and parsed.user_agent else "Other")[:40]
    if crawleruseragents.is_crawler(user_agent):
        return Reason.BOT, family
    return Reason.HUMAN, family


def classify_request(method: str, user_agent: str, referrer_host: str) -> tuple[Reason, str]:
    """Return the reason a request's own headers give, and its agent family."""
    reason, family = classify_agent(user_agent)
    if method.upper() == "HEAD":
        return Reason.HEAD, family
    if referrer_host:
        host = referrer_host.lower()
        for pattern in REFERRER_PATTERNS:
            if _under(host, pattern.marker):
                return pattern.reason, pattern.family
    return reason, family


def is_bot(reason: Reason) -> bool:
    """Tell whether the client is a known machine (kept in ``click.is_bot``)."""
    return reason in (Reason.BOT, Reason.SCANNER)
