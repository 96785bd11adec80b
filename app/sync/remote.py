"""An httpx client for a remote FHIR R4 server (HAPI FHIR or any other), with its authentication.

Bearer tokens or OAuth2 client credentials (token cached until shortly before it expires).
Errors carry the remote OperationOutcome's diagnostics.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

FHIR_JSON = "application/fhir+json"


class RemoteError(Exception):
    """The remote server refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """OAuth2 client credentials (RFC 6749 §4.4) for the remote's token endpoint."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None


class _Auth(httpx.Auth):
    """Adds the bearer token; fetches it with client credentials when configured."""

    requires_response_body = True

    def __init__(self, token: str | None, credentials: ClientCredentials | None) -> None:
        self.token = token
        self.credentials = credentials
        self.expires = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.credentials is not None and (self.token is None or time.monotonic() > self.expires):
            c = self.credentials
            form = {"grant_type": "client_credentials", "client_id": c.client_id,
                    "client_secret": c.client_secret, **({"scope": c.scope} if c.scope else {})}
            resp = yield httpx.Request("POST", c.token_url, data=form, headers={"Accept": "application/json"})
            if resp.status_code != 200:
                raise RemoteError(f"token endpoint answered HTTP {resp.status_code}", resp.status_code)
            body = resp.json()
            self.token = str(body["access_token"])
            self.expires = time.monotonic() + max(float(body.get("expires_in", 300)) - 30, 1)
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def diagnostics(resp: httpx.Response) -> str:
    """The remote's reason: OperationOutcome diagnostics (as HAPI FHIR sends them), else the status."""
    try:
        body = resp.json()
        issues = body.get("issue", []) if isinstance(body, dict) else []
        text = "; ".join(str(i.get("diagnostics") or i.get("details", {}).get("text") or i.get("code"))
                         for i in issues)
    except ValueError:
        text = ""
    return f"HTTP {resp.status_code}" + (f": {text[:500]}" if text else "")


class Remote:
    """A remote FHIR base URL."""

    def __init__(self, base: str, *, token: str | None = None, credentials: ClientCredentials | None = None,
                 client: httpx.AsyncClient | None = None, timeout: float = 60.0) -> None:
        self.base = base.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=timeout)
        self._own = client is None
        self.auth = _Auth(token, credentials)

    async def close(self) -> None:
        """Close the client when we made it."""
        if self._own:
            await self.client.aclose()

    async def _send(self, method: str, url: str, body: Any = None,
                    params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """One request; the JSON answer, None for 404/410, RemoteError for other failures."""
        headers = {"Accept": FHIR_JSON}
        content = None
        if body is not None:
            headers["Content-Type"] = FHIR_JSON
            content = orjson.dumps(body)
        try:
            resp = await self.client.request(method, url, headers=headers, content=content, params=params,
                                             auth=self.auth)
        except httpx.HTTPError as exc:
            raise RemoteError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code in (404, 410) and method == "GET":
            return None
        if not 200 <= resp.status_code < 300:
            raise RemoteError(f"{method} {url}: {diagnostics(resp)}", resp.status_code)
        result: dict[str, Any] = resp.json()
        return result

    async def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction Bundle to the base; the transaction-response."""
        result = await self._send("POST", self.base, bundle)
        if result is None or result.get("type") != "transaction-response":
            raise RemoteError("the remote did not answer with a transaction-response Bundle")
        return result

    async def read(self, res_type: str, res_id: str) -> dict[str, Any] | None:
        """GET one resource (None when unknown or deleted)."""
        return await self._send("GET", f"{self.base}/{res_type}/{res_id}")

    async def search(self, res_type: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Every match of a search, following the server's `next` links (HAPI's _getpages)."""
        page = await self._send("GET", f"{self.base}/{res_type}", params=params)
        while page is not None:
            for entry in page.get("entry", []):
                if entry.get("search", {}).get("mode", "match") == "match" and "resource" in entry:
                    yield entry["resource"]
            nxt = next((ln["url"] for ln in page.get("link", []) if ln.get("relation") == "next"), None)
            page = await self._send("GET", self._same_origin(nxt)) if nxt else None

    def _same_origin(self, url: str) -> str:
        """A paging link must stay on the remote's origin (our token is never sent elsewhere)."""
        if url.startswith("/") or url.startswith("?"):
            return str(httpx.URL(self.base).join(url))
        here, there = httpx.URL(self.base), httpx.URL(url)
        if (here.scheme, here.host, here.port) != (there.scheme, there.host, there.port):
            raise RemoteError(f"the remote's next link leaves its origin: {url[:200]}")
        return url
