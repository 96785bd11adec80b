"""A HAPI FHIR JPA server emulated with respx: the response shapes HAPI really returns.

- transaction-response entries: `status` "201 Created"/"200 OK", `location` Type/id/_history/v,
  `etag` as the bare version id, `lastModified`, and an OperationOutcome `outcome`;
- search paging: `next` links on the base with `_getpages=<uuid>&_getpagesoffset=N`;
- errors: OperationOutcome with `HAPI-nnnn:` diagnostics (404 unknown, 400 id mismatch on a
  conditional update, 401 without a token);
- conditional update: no match with a body id creates under that id (HAPI since #8390), or a
  server-assigned numeric id when `keep_client_ids` is off (older HAPI stripped the body id);
  an update with unchanged content is a no-op (no new version).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import respx

Key = tuple[str, str]
BASE = "http://hapi.example.no/fhir"


def oo(status: int, code: str, diagnostics: str) -> httpx.Response:
    """An error response as HAPI FHIR sends it."""
    return httpx.Response(status, json={
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{diagnostics}</div>'},
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]},
        headers={"Content-Type": "application/fhir+json;charset=utf-8"})


class FakeHapi:
    """In-memory resources with HAPI's REST behaviour for what sync uses."""

    def __init__(self, base: str = BASE, *, page_size: int = 2, keep_client_ids: bool = True,
                 token: str | None = None) -> None:
        self.base = base
        self.page_size = page_size
        self.keep_client_ids = keep_client_ids
        self.token = token
        self.versions: dict[Key, list[dict[str, Any] | None]] = {}
        self.pages: dict[str, list[dict[str, Any]]] = {}
        self.ids = itertools.count(1000)
        self.clock = dt.datetime(2026, 3, 2, 2, 0, 0)
        self.fail_next: list[httpx.Response] = []
        self.transactions = 0

    def install(self, router: respx.MockRouter) -> None:
        router.route(url__startswith=self.base).mock(side_effect=self.handle)

    # -- the store ---------------------------------------------------------------------------

    def current(self, key: Key) -> dict[str, Any] | None:
        versions = self.versions.get(key)
        return copy.deepcopy(versions[-1]) if versions and versions[-1] is not None else None

    def all_current(self, res_type: str) -> list[dict[str, Any]]:
        return [r for k in self.versions if k[0] == res_type and (r := self.current(k)) is not None]

    def write(self, key: Key, resource: dict[str, Any]) -> tuple[int, bool]:
        """Store a version unless the content is unchanged; (version, created)."""
        old = self.current(key)
        body = {k: v for k, v in resource.items() if k != "meta"}
        if old is not None and {k: v for k, v in old.items() if k != "meta"} == body:
            return int(old["meta"]["versionId"]), False
        self.clock += dt.timedelta(milliseconds=7)
        version = len(self.versions.get(key, [])) + 1
        meta = {**(resource.get("meta") or {}), "versionId": str(version),
                "lastUpdated": self.clock.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00",
                "source": "#hapi" + uuid.uuid4().hex[:12]}
        stored = {"resourceType": key[0], "id": key[1], "meta": meta,
                  **{k: v for k, v in body.items() if k not in ("resourceType", "id")}}
        self.versions.setdefault(key, []).append(stored)
        return version, old is None

    def match(self, res_type: str, query: str) -> list[dict[str, Any]]:
        """Current resources matching `identifier=system|value` (all HAPI needs for sync)."""
        params = dict(parse_qsl(query))
        found = self.all_current(res_type)
        if "identifier" in params:
            system, _, value = params["identifier"].partition("|")
            found = [r for r in found if any(i.get("system") == system and i.get("value") == value
                                             for i in r.get("identifier", []))]
        if "_lastUpdated" in params:
            floor = params["_lastUpdated"][2:]
            found = [r for r in found if r["meta"]["lastUpdated"] >= floor]
        return sorted(found, key=lambda r: r["meta"]["lastUpdated"])

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return oo(401, "login", "HAPI-0333: Missing or invalid Authorization header")
        if self.fail_next:
            return self.fail_next.pop(0)
        path = request.url.path[len(urlsplit(self.base).path):].strip("/")
        query = request.url.query.decode()
        if request.method == "POST" and not path:
            return self.transaction(orjson.loads(request.content))
        if request.method == "GET" and not path and "_getpages" in query:
            return self.page(dict(parse_qsl(query)))
        parts = path.split("/")
        if request.method == "GET" and len(parts) == 1:
            return self.search(parts[0], query)
        if request.method == "GET" and len(parts) == 2:
            found = self.current((parts[0], parts[1]))
            if found is None:
                return oo(404, "processing", f"HAPI-2001: Resource {parts[0]}/{parts[1]} is not known")
            return httpx.Response(200, json=found)
        return oo(400, "processing", f"HAPI-0000: unsupported {request.method} {path}")

    def search(self, res_type: str, query: str) -> httpx.Response:
        matches = self.match(res_type, query)
        count = min(int(dict(parse_qsl(query)).get("_count", self.page_size)), self.page_size)
        entries = [{"fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}", "resource": r,
                    "search": {"mode": "match"}} for r in matches]
        page_id = str(uuid.uuid4())
        self.pages[page_id] = entries
        return self._page(page_id, 0, count, f"{self.base}/{res_type}?{query}")

    def page(self, params: dict[str, str]) -> httpx.Response:
        page_id = params["_getpages"]
        if page_id not in self.pages:
            return oo(410, "processing",
                      f"HAPI-0417: Search ID \"{page_id}\" does not exist and may have expired")
        return self._page(page_id, int(params["_getpagesoffset"]), int(params["_count"]),
                          f"{self.base}?{httpx.QueryParams(params)}")

    def _page(self, page_id: str, offset: int, count: int, self_url: str) -> httpx.Response:
        entries = self.pages[page_id]
        links = [{"relation": "self", "url": self_url}]

        def at(start: int) -> str:
            return (f"{self.base}?_getpages={page_id}&_getpagesoffset={start}&_count={count}"
                    "&_pretty=true&_bundletype=searchset")

        if offset + count < len(entries):
            links.append({"relation": "next", "url": at(offset + count)})
        if offset > 0:
            links.append({"relation": "previous", "url": at(max(offset - count, 0))})
        return httpx.Response(200, json={
            "resourceType": "Bundle", "id": page_id, "meta": {"lastUpdated": "2026-03-02T02:00:00.000+00:00"},
            "type": "searchset", "total": len(entries), "link": links,
            "entry": entries[offset: offset + count]})

    # -- transactions --------------------------------------------------------------------------

    def _target(self, entry: dict[str, Any]) -> Key | httpx.Response:
        """The (type, id) an entry writes to, with HAPI's conditional update rules."""
        url = entry["request"]["url"]
        res_type, _, query = url.partition("?")
        if not query:
            return res_type.split("/")[0], res_type.split("/")[1]
        body_id = (entry.get("resource") or {}).get("id")
        found = self.match(res_type, query)
        if len(found) > 1:
            return oo(412, "processing", f"HAPI-0988: Failed to UPDATE resource with match URL \"{url}\" "
                                         "because this search matched 2 resources")
        if found:
            if body_id and body_id != found[0]["id"]:
                return oo(400, "processing", f"HAPI-2279: Failed to UPDATE resource with match URL \"{url}\" "
                                             "because the matching resource does not match the provided ID")
            return res_type, found[0]["id"]
        if body_id and self.keep_client_ids:
            return res_type, body_id
        return res_type, str(next(self.ids))

    def transaction(self, bundle: dict[str, Any]) -> httpx.Response:
        self.transactions += 1
        entries = bundle.get("entry", [])
        targets: list[Key] = []
        for entry in entries:
            target = self._target(entry)
            if isinstance(target, httpx.Response):
                return target
            targets.append(target)
        urns = {e["fullUrl"]: f"{k[0]}/{k[1]}"
                for e, k in zip(entries, targets, strict=True) if "fullUrl" in e}
        text = orjson.dumps(entries).decode()
        for urn, ref in urns.items():
            text = text.replace(f'"{urn}"', f'"{ref}"')
        out = [self._apply(e, k) for e, k in zip(orjson.loads(text), targets, strict=True)]
        return httpx.Response(200, json={"resourceType": "Bundle", "id": str(uuid.uuid4()),
                                         "type": "transaction-response",
                                         "link": [{"relation": "self", "url": self.base}], "entry": out})

    def _apply(self, entry: dict[str, Any], key: Key) -> dict[str, Any]:
        if entry["request"]["method"] == "DELETE":
            self.versions.setdefault(key, []).append(None)
            return {"response": {"status": "204 No Content"}}
        resource = {**entry["resource"], "id": key[1]}
        version, created = self.write(key, resource)
        code = "SUCCESSFUL_CREATE" if created else "SUCCESSFUL_UPDATE"
        return {"response": {
            "status": "201 Created" if created else "200 OK",
            "location": f"{key[0]}/{key[1]}/_history/{version}", "etag": str(version),
            "lastModified": self.clock.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00",
            "outcome": {"resourceType": "OperationOutcome", "issue": [{
                "severity": "information", "code": "informational",
                "details": {"coding": [{"system": "https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code",
                                        "code": code}]},
                "diagnostics": f"Successfully {'created' if created else 'updated'} resource "
                               f"\"{key[0]}/{key[1]}/_history/{version}\"."}]}}}
