"""The one outbound HTTP client: explicit timeouts, retries with backoff, and an address guard.

Every outbound call goes through here. URLs that users typed (a content page to pre-fill,
a seller's notification webhook) are fetched with ``fetch_user_url`` /
``post_json_to_user_url``, which refuse private, loopback, link-local and otherwise
non-public addresses, re-checking every redirect hop. The check is made twice: up front
(``check_url``, every address the name resolves to, with an error that says why) and again
when connecting, on the address actually connected to, which the connection then keeps
(``requests-hardened``'s adapter). Without the second, a name that resolves to a public
address for the check and to an internal one a moment later (DNS rebinding) would get
through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from flask import Flask, current_app
from requests.adapters import HTTPAdapter
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from urllib3.util.retry import Retry

from contentfeed import config
from contentfeed.errors import DomainError
from contentfeed.i18n import _

USER_AGENT = "contentfeed/0.1 (+https://github.com/contentfeed)"
MAX_REDIRECTS = 5
# A call someone waits for (a webhook's test message on saving it): seconds to connect, and
# for each read; it is not retried.
QUICK_TIMEOUT_SECONDS = 3.0


class BlockedAddress(DomainError):
    """The URL points at an address the service must not reach."""

    status = 422
    code = "blocked_address"


class FetchFailed(DomainError):
    """The remote page could not be fetched (timeout, refused, too large, bad status)."""

    status = 502
    code = "fetch_failed"


class TooLarge(FetchFailed):
    """The response is larger than the cap it was fetched with (answered as FetchFailed)."""


@dataclass(frozen=True)
class Fetched:
    """A fetched page: where it ended up, its status, content type and (capped) body."""

    url: str
    status: int
    content_type: str
    body: bytes


class _PinnedAddressAdapter(IPFilterAdapter):
    """Connect to the address the host name resolves to now, checked by our rule too.

    The library resolves the name once, refuses private and loopback addresses and connects
    to that very address (TLS still verifies the name). Its rule is narrower than
    ``is_public_address``, so the pinned address is checked again here.
    """

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        address = str(host_params["host"]).strip("[]")
        if not is_public_address(address):
            raise InvalidIPAddress(address)
        return host_params, pool_kwargs


class _TimeoutSession(requests.Session):
    """A session whose requests always carry a timeout; a guarded one connects only to
    public addresses."""

    def __init__(self, timeout: float, retries: int, *, guarded: bool = False) -> None:
        super().__init__()
        self.default_timeout = timeout
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=0.3,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        for scheme in ("http://", "https://"):
            adapter: HTTPAdapter
            if guarded:
                adapter = _PinnedAddressAdapter(is_https_proto=scheme == "https://")
                adapter.max_retries = retry
            else:
                adapter = HTTPAdapter(max_retries=retry, pool_connections=10, pool_maxsize=20)
            self.mount(scheme, adapter)
        self.headers["User-Agent"] = USER_AGENT

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Create the app's outbound sessions from its settings: one for destinations an admin
    configured, one for URLs users typed (guarded unless private addresses are allowed)."""
    settings = config.settings_of(app).http
    timeout, retries = settings.timeout_seconds, settings.retries
    app.extensions["contentfeed.http"] = _TimeoutSession(timeout, retries)
    app.extensions["contentfeed.http.user_urls"] = _TimeoutSession(
        timeout, retries, guarded=not settings.allow_private_addresses
    )
    app.extensions["contentfeed.http.user_urls.quick"] = _TimeoutSession(
        min(timeout, QUICK_TIMEOUT_SECONDS), 0, guarded=not settings.allow_private_addresses
    )


def client() -> requests.Session:
    """Return the current app's outbound session (for trusted, configured destinations)."""
    session: requests.Session = current_app.extensions["contentfeed.http"]
    return session


def _user_url_client(*, quick: bool = False) -> requests.Session:
    name = "contentfeed.http.user_urls.quick" if quick else "contentfeed.http.user_urls"
    session: requests.Session = current_app.extensions[name]
    return session


def _blocked_on_connect(url: str, exc: InvalidIPAddress) -> BlockedAddress:
    return BlockedAddress(
        _(
            "%(host)s resolved to %(address)s, a private or local address, when connecting; "
            "only public addresses can be fetched.",
            host=urlsplit(url).hostname,
            address=str(exc),
        ),
        {"url": "blocked_address"},
    )


def is_public_address(address: str) -> bool:
    """Tell whether an IP address is globally routable (not private, loopback, link-local...)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BlockedAddress(
            _("Only http:// and https:// addresses can be fetched."), {"url": "scheme"}
        )
    if config.current().http.allow_private_addresses:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(
            _("The host %(host)s could not be resolved.", host=parts.hostname)
        ) from exc
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            raise BlockedAddress(
                _(
                    "%(host)s resolves to %(address)s, a private or local address; only "
                    "public addresses can be fetched.",
                    host=parts.hostname,
                    address=address,
                ),
                {"url": "blocked_address"},
            )


def fetch_user_url(url: str, *, max_bytes: int | None = None, accept: str = "*/*") -> Fetched:
    """GET a user-supplied URL with the guard on every hop, a timeout and a size cap."""
    cap = max_bytes or config.current().http.max_response_bytes
    session = _user_url_client()
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(current)
        try:
            response = session.get(
                current, allow_redirects=False, stream=True, headers={"Accept": accept}
            )
        except InvalidIPAddress as exc:
            raise _blocked_on_connect(current, exc) from exc
        except requests.RequestException as exc:
            raise FetchFailed(
                _("Could not fetch %(url)s: %(why)s.", url=current, why=_describe(exc))
            ) from exc
        with response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                current = urljoin(current, location)
                continue
            body = _read_capped(response, cap)
            return Fetched(
                url=current,
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                body=body,
            )
    raise FetchFailed(_("Too many redirects (more than %(max)s).", max=MAX_REDIRECTS))


def post_json_to_user_url(url: str, payload: object, *, quick: bool = False) -> requests.Response:
    """POST JSON to a user-supplied webhook URL: guarded, no redirects followed, with a timeout.

    ``quick`` for a call someone waits for (a webhook's test message on saving it): at most
    QUICK_TIMEOUT_SECONDS to connect and as long for each read, and no retries."""
    check_url(url)
    session = _user_url_client(quick=quick)
    try:
        response = session.post(url, json=payload, allow_redirects=False)
    except InvalidIPAddress as exc:
        raise _blocked_on_connect(url, exc) from exc
    except requests.RequestException as exc:
        raise FetchFailed(_unreachable(url, exc)) from exc
    return response


def post_to_destination(url: str, body: str, headers: dict[str, str]) -> requests.Response:
    """POST a prepared body to a destination an admin configured (the CRM webhook).

    Not a user-supplied URL, so private addresses are allowed (a CRM inside the company
    network is normal); redirects are not followed and the usual timeout applies.
    """
    try:
        return client().post(url, data=body.encode(), headers=headers, allow_redirects=False)
    except requests.RequestException as exc:
        raise FetchFailed(_unreachable(url, exc)) from exc


def _unreachable(url: str, exc: requests.RequestException) -> str:
    return _("Could not reach %(host)s: %(why)s.", host=urlsplit(url).hostname, why=_describe(exc))


def _describe(exc: requests.RequestException) -> str:
    """Say in words why a request failed."""
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return _("the server timed out")
    if isinstance(exc, requests.ConnectionError):
        return _("the connection failed")
    return type(exc).__name__


def _read_capped(response: requests.Response, cap: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise TooLarge(_("The response is larger than %(max)s bytes.", max=cap))
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=16384):
            size += len(chunk)
            if size > cap:
                raise TooLarge(_("The response is larger than %(max)s bytes.", max=cap))
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise FetchFailed(_("Reading the page failed: %(why)s.", why=_describe(exc))) from exc
    return b"".join(chunks)
