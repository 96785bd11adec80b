"""Factories for security tests: signing keys, JWKS documents, tokens, registry resources."""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.config import Settings
from app.security import claims as C

ISSUER = "https://helseid-sts.test.nhn.no"
AUDIENCE = "nhn:fellesplan"
JWKS_URL = "https://helseid-sts.test.nhn.no/.well-known/openid-configuration/jwks"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
TJENESTETYPE = "https://fellesplan.no/fhir/CodeSystem/tjenestetype"

# Synthetic test persons (valid mod-11 check digits, month + 80 where used).
PID_PATIENT = "13811199943"
PID_KIN = "02818099916"
HPR_DOCTOR = "565501872"
ORG_LEGEVAKT = "974600951"
ORG_PARENT = "974600943"
ORG_UNKNOWN = "987654325"


@functools.cache
def rsa_key(name: str = "a") -> rsa.RSAPrivateKey:
    """An RSA-2048 key per name (generated once per test session)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key(name: str = "a") -> ec.EllipticCurvePrivateKey:
    """A P-256 key per name."""
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(key: Any, kid: str, alg: str | None = None) -> dict[str, Any]:
    """The public JWK of a private key."""
    pub = key.public_key()
    algo = RSAAlgorithm if isinstance(pub, rsa.RSAPublicKey) else ECAlgorithm
    jwk: dict[str, Any] = algo.to_jwk(pub, as_dict=True)  # type: ignore[attr-defined]
    jwk.update({"kid": kid, "use": "sig"})
    if alg:
        jwk["alg"] = alg
    return jwk


def jwks(*keys: tuple[Any, str]) -> dict[str, Any]:
    """A JWKS document for (private key, kid) pairs."""
    return {"keys": [public_jwk(k, kid) for k, kid in keys]}


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid base claims (iss, aud, exp, nbf, iat), overridable; None values are dropped."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300,
        "jti": uuid.uuid4().hex, "client_id": "test-client", "scope": "user/*.cruds",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: Any, kid: str | None, alg: str = "RS256",
         **headers: Any) -> str:
    """Sign claims as a JWS."""
    hdr = dict(headers)
    if kid is not None:
        hdr["kid"] = kid
    return jwt.encode(payload, key, algorithm=alg, headers=hdr)


def health_claims(hpr: str = HPR_DOCTOR, org: str = ORG_LEGEVAKT, **kw: Any) -> dict[str, Any]:
    """Claims of health personnel acting for an organisation."""
    extra = C.helseid_claims(pid="01017012345", hpr=hpr, org=org, org_parent=ORG_PARENT,
                             name="Kari Lege")
    return claims(**extra, **kw)


def settings(**kw: Any) -> Settings:
    """Settings with authentication on against the test issuer."""
    base: dict[str, Any] = {
        "auth_enabled": True, "jwks_url": JWKS_URL, "token_issuer": ISSUER,
        "token_audience": AUDIENCE, "env": "test", "dev_key_file": "/nonexistent/dev.pem",
        "jwks_min_refresh_seconds": 0.0,
    }
    base.update(kw)
    return Settings(**base)


def organization(orgnr: str, service_type: str | None, name: str = "Legevakten",
                 res_id: str | None = None) -> dict[str, Any]:
    """An Organization registered with an organisasjonsnummer and tjenestetype."""
    org: dict[str, Any] = {
        "resourceType": "Organization", "id": res_id or f"org-{orgnr}", "active": True,
        "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}], "name": name,
    }
    if service_type:
        org["type"] = [{"coding": [{"system": TJENESTETYPE, "code": service_type}]}]
    return org


def patient(pid: str, res_id: str) -> dict[str, Any]:
    """A Patient with an FNR."""
    return {"resourceType": "Patient", "id": res_id,
            "identifier": [{"system": FNR_SYSTEM, "value": pid}],
            "name": [{"family": "Nordmann", "given": ["Ola"]}]}


def related_person(pid: str, res_id: str, patient_ref: str) -> dict[str, Any]:
    """A RelatedPerson (next of kin) with an FNR."""
    return {"resourceType": "RelatedPerson", "id": res_id, "active": True,
            "patient": {"reference": patient_ref},
            "identifier": [{"system": FNR_SYSTEM, "value": pid}]}


def care_plan(res_id: str, patient_ref: str) -> dict[str, Any]:
    """A minimal CarePlan for a patient."""
    return {"resourceType": "CarePlan", "id": res_id, "status": "active", "intent": "plan",
            "subject": {"reference": patient_ref}}


async def store(db: Any, *resources: dict[str, Any]) -> None:
    """Write resources through the core repository (as the CRUD service would)."""
    import datetime as dt

    import orjson

    from app.repository.resources import NewVersion, ResourceRepository
    from app.services.context import SYSTEM

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    async with db.session(write=True) as session:
        repo = ResourceRepository(session, SYSTEM)
        for res in resources:
            row = await repo.get_current(res["resourceType"], res["id"])
            v = NewVersion(res["resourceType"], res["id"], (row.version_id + 1) if row else 1,
                           now, "PUT" if row else "POST", orjson.dumps(res), res)
            if row is None:
                await repo.insert_new(v)
            else:
                await repo.replace(row.pk, row.version_id, v)


def uid() -> str:
    """A unique id fragment."""
    return uuid.uuid4().hex[:12]


def digits(n: int = 11) -> str:
    """A random string of digits (unique test pids and organisation numbers)."""
    return str(uuid.uuid4().int)[:n]


async def store_in(session: Any, resource: dict[str, Any]) -> None:
    """Write one new resource in an open write session."""
    import datetime as dt

    import orjson

    from app.repository.resources import NewVersion, ResourceRepository
    from app.services.context import SYSTEM

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    await ResourceRepository(session, SYSTEM).insert_new(NewVersion(
        resource["resourceType"], resource["id"], 1, now, "POST", orjson.dumps(resource),
        resource))


async def delete(db: Any, res_type: str, res_id: str) -> None:
    """Delete a resource through the core repository."""
    import datetime as dt

    from app.repository.resources import NewVersion, ResourceRepository
    from app.services.context import SYSTEM

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    async with db.session(write=True) as session:
        repo = ResourceRepository(session, SYSTEM)
        row = await repo.get_current(res_type, res_id)
        assert row is not None
        await repo.replace(row.pk, row.version_id, NewVersion(
            res_type, res_id, row.version_id + 1, now, "DELETE", None, None))


def orgnr() -> str:
    """A random organisasjonsnummer with a valid mod-11 check digit."""
    while True:
        body = digits(8)
        check = 11 - sum(int(d) * w for d, w in zip(body, (3, 2, 7, 6, 5, 4, 3, 2),
                                                     strict=True)) % 11
        if check == 11:
            return body + "0"
        if check != 10:
            return body + str(check)


def fnr() -> str:
    """A synthetic fødselsnummer with valid check digits."""
    from tests.factories.resources import synthetic_fnr

    return synthetic_fnr()
