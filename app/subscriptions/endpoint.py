"""Endpoint rules against server-side request forgery: scheme, host, every resolved address.

The check runs when a Subscription is written and again before each delivery, and delivery
connects to the address that was checked (no second lookup), so DNS rebinding cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.fhir.errors import Unprocessable

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
EXPR = "Subscription.channel.endpoint"


class EndpointRefused(Unprocessable):
    """422: the endpoint is not an allowed delivery target."""

    code = "business-rule"


class EndpointUnresolved(EndpointRefused):
    """422 at write time; at delivery time a transient failure that is retried."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked endpoint: the URL, its host name, and the vetted address to connect to."""

    url: str
    host: str
    port: int
    address: str


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (A and AAAA)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


_resolver: Resolver = system_resolver


def set_resolver(resolver: Resolver | None) -> None:
    """Replace the DNS resolver (tests; a deployment with its own resolver). None restores the system's."""
    global _resolver
    _resolver = resolver or system_resolver


def _forbidden(ip: IP) -> bool:
    """True for addresses that are not globally routable unicast (loopback, private, link-local...)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_reserved
            or ip.is_loopback or ip.is_link_local or ip.is_private)


def parse(url: str, *, production: bool) -> tuple[str, int]:
    """The host and port of an endpoint URL; 422 unless it is an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"The endpoint is not a valid URL: {exc}.", expression=EXPR) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EndpointRefused("The endpoint must be an absolute http(s) URL.", expression=EXPR)
    if production and parts.scheme != "https":
        raise EndpointRefused("The endpoint must use https.", expression=EXPR)
    if parts.username or parts.password:
        raise EndpointRefused("The endpoint must not carry credentials; use channel.header.",
                              expression=EXPR)
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, *, production: bool, allow_private: bool) -> Target:
    """Vet an endpoint and return the address to connect to; 422 when any address is forbidden."""
    host, port = parse(url, production=production)
    try:
        literal: IP | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await _resolver(host, port)
        except OSError as exc:
            raise EndpointUnresolved(f"The endpoint host '{host}' does not resolve.",
                                     expression=EXPR) from exc
    if not addresses:
        raise EndpointUnresolved(f"The endpoint host '{host}' does not resolve.", expression=EXPR)
    if not allow_private:
        for raw in addresses:
            if _forbidden(ipaddress.ip_address(raw.split("%", 1)[0])):
                raise EndpointRefused(
                    f"The endpoint host '{host}' resolves to {raw}, a loopback, private or otherwise "
                    "non-public address.", expression=EXPR)
    return Target(url, host, port, addresses[0])
