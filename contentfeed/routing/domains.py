"""Email domains: the company part of an address, free-mail providers, countries' regions."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import tldextract

FREEMAIL_FILE = Path(__file__).with_name("freemail.txt")

# Named regions a rule can route by; countries are ISO 3166 alpha-2 codes.
REGIONS: dict[str, frozenset[str]] = {
    "DACH": frozenset({"DE", "AT", "CH", "LI"}),
    "Nordics": frozenset({"SE", "NO", "DK", "FI", "IS"}),
    "UK&I": frozenset({"GB", "IE"}),
    "Benelux": frozenset({"BE", "NL", "LU"}),
    "France": frozenset({"FR", "MC"}),
    "Southern Europe": frozenset({"ES", "PT", "IT", "GR", "MT", "CY", "AD", "SM"}),
    "CEE": frozenset(
        {"PL", "CZ", "SK", "HU", "RO", "BG", "SI", "HR", "EE", "LV", "LT", "RS", "UA"}
    ),
    "North America": frozenset({"US", "CA"}),
    "Latin America": frozenset({"MX", "BR", "AR", "CL", "CO", "PE", "UY"}),
    "APAC": frozenset(
        {"AU", "NZ", "JP", "KR", "SG", "IN", "HK", "TW", "CN", "MY", "TH", "ID", "PH", "VN"}
    ),
    "Middle East & Africa": frozenset({"AE", "SA", "IL", "ZA", "EG", "NG", "KE", "MA", "QA"}),
}


@cache
def _extractor() -> tldextract.TLDExtract:
    # The public suffix list bundled with tldextract: no download, no cache files written.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


# A host name: dot-separated labels of letters, digits and inner hyphens.
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")


def is_domain(domain: str) -> bool:
    """Tell whether a normalised domain (``normalise_domain``) is a host name, e.g. acme.com:
    the one check behind customer accounts, the handover and the CRM's events."""
    return len(domain) <= 253 and _DOMAIN.fullmatch(domain) is not None


def normalise_domain(value: str) -> str:
    """Return a domain as routing compares it: lower case, no scheme, path, port or www."""
    text = value.strip().lower()
    if "@" in text:
        text = text.rpartition("@")[2]
    text = text.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].strip(".")
    return text.removeprefix("www.")


def company_domain(domain: str) -> str:
    """Return the registrable domain: mail.eu.acme.co.uk -> acme.co.uk.

    Names under a suffix the bundled list does not know (.example, .test, .internal) keep
    their last two labels.
    """
    domain = normalise_domain(domain)
    parts = _extractor()(domain)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    labels = [label for label in domain.split(".") if label]
    return ".".join(labels[-2:])


def candidate_domains(domain: str) -> list[str]:
    """Return the domain and each parent down to its registrable domain, longest first.

    An account listing sales.acme.com matches only that subdomain; one listing acme.com
    matches every subdomain.
    """
    domain = normalise_domain(domain)
    stop = company_domain(domain)
    found = [domain]
    while domain != stop and "." in domain:
        domain = domain.split(".", 1)[1]
        found.append(domain)
    return found


@cache
def freemail_domains() -> frozenset[str]:
    """Return the free-mail providers listed in freemail.txt."""
    lines = FREEMAIL_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def is_freemail(domain: str) -> bool:
    """Tell whether an address at this domain is a free-mail one (gmail.com, gmx.de, …)."""
    return any(d in freemail_domains() for d in candidate_domains(domain))


def region_of(country: str) -> str:
    """Return the named region of a country code, or "" when none is defined."""
    code = country.strip().upper()
    return next((name for name, codes in REGIONS.items() if code in codes), "")
