"""Parse the entries of a transaction or batch Bundle (https://hl7.org/fhir/R4/bundle.html).

Every structural problem is a 400 whose expression points at the entry (`Bundle.entry[3].request`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode

from app.fhir.errors import BadRequest, FhirError, MethodNotAllowed, NotSupported
from app.fhir.models import SERVED
from app.fhir.parse import ID_RE
from app.services.writes import parse_etag

_OID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
# Parameters that shape the HTTP response, not the interaction.
FORMAT_PARAMS = frozenset({"_format", "_pretty"})


class Kind(StrEnum):
    """What an entry asks for."""

    CREATE = "create"
    UPDATE = "update"
    CONDITIONAL_UPDATE = "conditional-update"
    DELETE = "delete"
    CONDITIONAL_DELETE = "conditional-delete"
    READ = "read"
    VREAD = "vread"
    SEARCH = "search"
    HISTORY = "history"


# Processing order (https://hl7.org/fhir/R4/http.html#trules): DELETE, POST, PUT/PATCH, GET/HEAD.
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass(slots=True)
class Entry:
    """One parsed Bundle entry."""

    index: int
    method: str
    kind: Kind
    res_type: str | None
    res_id: str | None = None
    version: int | None = None
    query: str | None = None  # search or conditional criteria, without format parameters
    params: list[tuple[str, str]] = field(default_factory=list)  # the same, as pairs
    compartment: tuple[str, str] | None = None
    resource: dict[str, Any] | None = None
    full_url: str | None = None
    if_none_exist: str | None = None
    if_match: int | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None

    @property
    def where(self) -> str:
        """The FHIRPath of this entry."""
        return f"Bundle.entry[{self.index}]"

    @property
    def writes(self) -> bool:
        """True for entries that change the server."""
        return self.method in ("POST", "PUT", "DELETE")


def normalise(query: str) -> str:
    """Criteria with sorted parameters, so equal criteria compare equal."""
    return urlencode(sorted(parse_qsl(query.split("?", 1)[-1], keep_blank_values=True)))


def parse_entry(index: int, raw: Any, base: str) -> Entry:
    """Parse and check one entry (request, url, resource, fullUrl, conditional headers)."""
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest(f"{where} is not a JSON object.", expression=where)
    request = raw.get("request")
    if not isinstance(request, dict):
        raise BadRequest(f"{where} has no request (method and url).", expression=f"{where}.request")
    method = request.get("method")
    if not isinstance(method, str) or method not in _METHODS:
        raise BadRequest(f"{where}.request.method must be one of GET, HEAD, POST, PUT, DELETE, "
                         f"PATCH; got {str(method)[:20]!r}.", expression=f"{where}.request.method")
    if method == "PATCH":
        raise MethodNotAllowed("PATCH is not supported in Bundles by this server.",
                               expression=f"{where}.request.method")
    url = request.get("url")
    if not isinstance(url, str) or not url.strip():
        raise BadRequest(f"{where}.request.url is missing.", expression=f"{where}.request.url")
    entry = _from_url(index, method, url.strip(), base)
    entry.full_url = _full_url(raw.get("fullUrl"), where)
    entry.resource = _resource(raw.get("resource"), entry, where)
    _conditions(entry, request, where)
    return entry


def _from_url(index: int, method: str, url: str, base: str) -> Entry:
    """Interpret request.url for the method."""
    where = f"Bundle.entry[{index}].request.url"
    if url.startswith(base + "/"):
        url = url[len(base) + 1:]
    elif "://" in url:
        raise BadRequest(f"'{url[:80]}' is not on this server ({base}); use a relative url.",
                         expression=where)
    path, _, query = url.partition("?")
    path = path.strip("/")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in FORMAT_PARAMS]
    query = urlencode(pairs)
    parts = path.split("/") if path else []
    if parts and parts[0] == "_history" and len(parts) > 1:
        raise BadRequest(f"'{url[:80]}' is not a valid url.", expression=where)
    if any(p.startswith("$") for p in parts):
        raise NotSupported("Operations are not supported inside Bundles.", expression=where)
    if parts and not _TYPE.match(parts[0]) and parts[0] != "_history":
        raise BadRequest(f"'{url[:80]}' does not start with a resource type.", expression=where)
    if parts and parts[0] != "_history" and parts[0] not in SERVED:
        raise NotSupported(f"Resource type '{parts[0][:64]}' is not served here.", expression=where)
    if method in ("GET", "HEAD"):
        entry = _read_url(index, method, parts, query, url, where)
        entry.params = pairs
        return entry
    return _write_url(index, method, parts, query, url, where)


def _write_url(index: int, method: str, parts: list[str], query: str, url: str,
               where: str) -> Entry:
    """POST Type, PUT Type/id or Type?query, DELETE Type/id or Type?query."""
    if method == "POST" and len(parts) == 1:
        if query:
            raise BadRequest("A POST url is the type alone; put criteria in request.ifNoneExist.",
                             expression=where)
        return Entry(index, method, Kind.CREATE, parts[0])
    if method in ("PUT", "DELETE") and len(parts) == 2 and not query:
        if not ID_RE.match(parts[1]):
            raise BadRequest(f"'{parts[1][:80]}' is not a valid FHIR id.", expression=where)
        kind = Kind.UPDATE if method == "PUT" else Kind.DELETE
        return Entry(index, method, kind, parts[0], parts[1])
    if method in ("PUT", "DELETE") and len(parts) == 1 and query:
        kind = Kind.CONDITIONAL_UPDATE if method == "PUT" else Kind.CONDITIONAL_DELETE
        return Entry(index, method, kind, parts[0], query=query)
    raise BadRequest(f"'{url[:80]}' is not a valid url for {method} in a Bundle.", expression=where)


def _read_url(index: int, method: str, parts: list[str], query: str, url: str,
              where: str) -> Entry:
    """Type/id, Type/id/_history/vid, Type?search, [Type[/id]]/_history, ?search."""
    n = len(parts)
    if n == 0 or (n == 1 and parts[0] != "_history"):
        return Entry(index, method, Kind.SEARCH, parts[0] if parts else None, query=query)
    if parts[-1] == "_history" and n <= 3:
        res_id = _id(parts[1], where) if n == 3 else None
        res_type = parts[0] if n > 1 else None
        return Entry(index, method, Kind.HISTORY, res_type, res_id, query=query)
    if n == 2:
        return Entry(index, method, Kind.READ, parts[0], _id(parts[1], where), query=query)
    if n == 3 and (parts[2] in SERVED or parts[2] == "*"):
        compartment = (parts[0], _id(parts[1], where))
        res_type = None if parts[2] == "*" else parts[2]
        return Entry(index, method, Kind.SEARCH, res_type, query=query, compartment=compartment)
    if n == 4 and parts[2] == "_history" and parts[3].isdigit():
        return Entry(index, method, Kind.VREAD, parts[0], _id(parts[1], where), int(parts[3]),
                     query=query)
    raise BadRequest(f"'{url[:80]}' is not a valid url for {method} in a Bundle.", expression=where)


def _id(value: str, where: str) -> str:
    """A checked id from a url."""
    if not ID_RE.match(value):
        raise BadRequest(f"'{value[:80]}' is not a valid FHIR id.", expression=where)
    return value


def _full_url(value: Any, where: str) -> str | None:
    """entry.fullUrl: urn:uuid and urn:oid must be well formed, since entries link by them."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{where}.fullUrl must be a non-empty string.", expression=f"{where}.fullUrl")
    if value.startswith("urn:uuid:"):
        try:
            uuid.UUID(value[9:])
        except ValueError:
            raise BadRequest(f"'{value[:80]}' is not a valid urn:uuid.",
                             expression=f"{where}.fullUrl") from None
    elif value.startswith("urn:oid:") and not _OID.match(value):
        raise BadRequest(f"'{value[:80]}' is not a valid urn:oid.", expression=f"{where}.fullUrl")
    return value


def _resource(value: Any, entry: Entry, where: str) -> dict[str, Any] | None:
    """The entry's resource: required for POST/PUT and of the url's type; ignored otherwise."""
    if entry.method not in ("POST", "PUT"):
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{where} ({entry.method}) needs a resource.", expression=f"{where}.resource")
    rtype = value.get("resourceType")
    if rtype != entry.res_type:
        raise BadRequest(f"resourceType '{str(rtype)[:64]}' does not match the url's type "
                         f"'{entry.res_type}'.", expression=f"{where}.resource.resourceType")
    return value


def _conditions(entry: Entry, request: dict[str, Any], where: str) -> None:
    """ifNoneExist (POST), ifMatch (PUT/DELETE), ifNoneMatch and ifModifiedSince (GET/HEAD)."""
    allowed = {"ifNoneExist": ("POST",), "ifMatch": ("PUT", "DELETE"),
               "ifNoneMatch": ("GET", "HEAD"), "ifModifiedSince": ("GET", "HEAD")}
    for name, methods in allowed.items():
        value = request.get(name)
        if value is None:
            continue
        expr = f"{where}.request.{name}"
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{name} must be a non-empty string.", expression=expr)
        if entry.method not in methods:
            raise BadRequest(f"{name} applies to {'/'.join(methods)}, not {entry.method}.",
                             expression=expr)
        if name == "ifMatch":
            entry.if_match = _etag(value, expr)
        elif name == "ifNoneExist":
            entry.if_none_exist = value.split("?", 1)[1] if "?" in value else value
        elif name == "ifNoneMatch":
            entry.if_none_match = value
        else:
            entry.if_modified_since = value


def _etag(value: str, expr: str) -> int:
    """The version of an ifMatch ETag, with the entry's expression on failure."""
    try:
        return parse_etag(value)
    except FhirError as exc:
        raise BadRequest(exc.diagnostics.replace("If-Match", "ifMatch"), expression=expr) from None
