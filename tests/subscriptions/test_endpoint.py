"""SSRF rules: scheme, every resolved address, at subscription time and again at delivery."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest
import respx

from app.db.engine import Database
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from app.subscriptions import endpoint
from app.subscriptions.worker import Worker
from tests.helpers import JSON_HEADERS, history_count, outcome
from tests.subscriptions.factories import PINNED, RECEIVER, RECEIVER_IP, StaticResolver, subscription
from tests.subscriptions.test_delivery import create, drain, status_of

FORBIDDEN = ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
             "0.0.0.0", "224.0.0.1", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"]


@pytest.mark.parametrize("ip", FORBIDDEN)
async def test_forbidden_literal_addresses(ip: str) -> None:
    host = f"[{ip}]" if ":" in ip else ip
    with pytest.raises(endpoint.EndpointRefused):
        await endpoint.check(f"https://{host}/hook", production=False, allow_private=False)
    target = await endpoint.check(f"https://{host}/hook", production=False, allow_private=True)
    assert ipaddress.ip_address(target.address) == ipaddress.ip_address(ip)


async def test_every_resolved_address_is_checked(resolver: StaticResolver) -> None:
    resolver.table["mixed.example.no"] = [RECEIVER_IP, "10.0.0.5"]
    with pytest.raises(endpoint.EndpointRefused, match=r"10\.0\.0\.5"):
        await endpoint.check("https://mixed.example.no/hook", production=False, allow_private=False)
    target = await endpoint.check(f"https://{RECEIVER}:8443/x", production=False, allow_private=False)
    assert (target.host, target.port, target.address) == (RECEIVER, 8443, RECEIVER_IP)


@pytest.mark.parametrize("url", ["ftp://receiver.example.no/x", "/relative", "https://user:pw@receiver.example.no/",
                                 "https:///nohost", "http://[::1"])
async def test_malformed_or_unsafe_urls(url: str, resolver: StaticResolver) -> None:
    with pytest.raises(endpoint.EndpointRefused):
        await endpoint.check(url, production=False, allow_private=True)


async def test_production_requires_https(resolver: StaticResolver) -> None:
    with pytest.raises(endpoint.EndpointRefused, match="https"):
        await endpoint.check(f"http://{RECEIVER}/hook", production=True, allow_private=False)
    await endpoint.check(f"http://{RECEIVER}/hook", production=False, allow_private=False)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://intranet.example.no/hook",
                                 "https://nowhere.example.no/hook"])
async def test_subscription_with_forbidden_endpoint_is_refused(
    api: httpx.AsyncClient, resolver: StaticResolver, url: str
) -> None:
    resolver.table["intranet.example.no"] = ["192.168.10.20"]
    before = await history_count(api, "Subscription")
    resp = await api.post("/fhir/Subscription", json=subscription(endpoint=url), headers=JSON_HEADERS)
    outcome(resp, 422, expression="Subscription.channel.endpoint")
    assert await history_count(api, "Subscription") == before


@pytest.mark.parametrize(("change", "expression"), [
    ({"criteria": "Observation?code=1975-2"}, "Subscription.criteria"),
    ({"criteria": "CarePlan?nonsense=1"}, "Subscription.criteria"),
    ({"channel": {"type": "websocket"}}, "Subscription.channel.type"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://receiver.example.no/h",
                  "payload": "application/xml"}}, "Subscription.channel.payload"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://receiver.example.no/h",
                  "header": ["X-Evil: a\r\nHost: b"]}}, "Subscription.channel.header[0]"),
])
async def test_subscription_that_cannot_be_honoured_is_refused(
    api: httpx.AsyncClient, change: dict[str, Any], expression: str
) -> None:
    resp = await api.post("/fhir/Subscription", json=subscription(**change), headers=JSON_HEADERS)
    assert resp.status_code in (400, 422), resp.text
    outcome(resp, resp.status_code, expression=expression)


@respx.mock
async def test_dns_rebinding_at_delivery_sets_error_and_sends_nothing(
    api: httpx.AsyncClient, worker: Worker, resolver: StaticResolver
) -> None:
    route = respx.route(host=RECEIVER_IP).mock(return_value=httpx.Response(200))
    local = respx.route(host="127.0.0.1").mock(return_value=httpx.Response(200))
    sub = await create(api, subscription())
    await drain(worker)
    assert (await status_of(api, sub["id"]))["status"] == "active"
    resolver.table[RECEIVER] = ["127.0.0.1"]  # the attacker's DNS now points inside
    pat = await create(api, {"resourceType": "Patient", "name": [{"family": "Hansen"}]})
    await create(api, {"resourceType": "CarePlan", "status": "active", "intent": "plan",
                       "subject": {"reference": f"Patient/{pat['id']}"}})
    await drain(worker)
    current = await status_of(api, sub["id"])
    assert current["status"] == "error"
    assert "127.0.0.1" in current["error"]
    assert route.call_count == 0 and local.call_count == 0
    assert PINNED.startswith("https://")


async def test_system_update_of_an_endpoint_is_checked_too(api: httpx.AsyncClient, sdb: Database) -> None:
    """Only the worker's own status moves skip the rules; an import that changes the endpoint does not."""
    sub = await create(api, subscription())
    changed = {**sub, "channel": {**sub["channel"], "endpoint": "https://169.254.169.254/latest"}}
    changed.pop("meta")
    with pytest.raises(endpoint.EndpointRefused):
        async with sdb.session(write=True) as s:
            await ResourceService(s, SYSTEM, sdb.settings).update("Subscription", sub["id"], changed)
