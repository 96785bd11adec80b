"""Send a notification to the vetted address of its endpoint (no second DNS lookup)."""

from __future__ import annotations

import asyncio

import httpx

from app.subscriptions.endpoint import Target
from app.subscriptions.notify import Notification


class DeliveryFailed(Exception):
    """The receiver did not accept the notification (HTTP error, timeout, refused connection)."""


def _pinned(url: str, target: Target) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL rewritten to the vetted IP, with Host and TLS SNI kept on the name (cert checks too)."""
    parsed = httpx.URL(url)
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    pinned = parsed.copy_with(host=target.address)
    extensions = {"sni_hostname": target.host} if parsed.scheme == "https" else {}
    return pinned, {"Host": host_header}, extensions


def _describe(resp: httpx.Response) -> str:
    """Status and a short body (HAPI FHIR puts the reason in an OperationOutcome's diagnostics)."""
    text = resp.text[:300].replace("\n", " ") if resp.content else ""
    return f"HTTP {resp.status_code} {text}".strip()


async def send(client: httpx.AsyncClient, target: Target, note: Notification, timeout: float) -> None:
    """Deliver one request; raise DeliveryFailed unless the receiver answers 2xx."""
    url, host, extensions = _pinned(note.url, target)
    headers = {**note.headers, **host}
    try:
        # httpx's timeout is per phase; the total bound keeps an attempt inside its lease.
        async with asyncio.timeout(timeout):
            resp = await client.request(note.method, url, headers=headers, content=note.body,
                                        extensions=extensions, timeout=timeout, follow_redirects=False)
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise DeliveryFailed(f"timed out after {timeout:g}s ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
    if not 200 <= resp.status_code < 300:
        raise DeliveryFailed(_describe(resp))
