"""SMART App Launch discovery (/.well-known/smart-configuration) and rest.security.

HelseID is the authorization server; Fellesplan is a resource server that accepts its tokens.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.security.scopes import supported_scopes
from app.security.settings import SecuritySettings
from app.security.tokens import ALLOWED_ALGS

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"

router = APIRouter()


def _issuer(settings: SecuritySettings) -> str:
    """The trusted issuer (the development issuer when none is configured)."""
    return (settings.token_issuer or settings.dev_issuer).rstrip("/")


def endpoints(settings: SecuritySettings) -> tuple[str, str]:
    """(authorize, token) endpoints: configured, else HelseID's paths under the issuer."""
    issuer = _issuer(settings)
    return (settings.oauth_authorize_url or f"{issuer}/connect/authorize",
            settings.oauth_token_url or f"{issuer}/connect/token")


def smart_configuration(settings: SecuritySettings) -> dict[str, Any]:
    """The SMART configuration document (SMART App Launch 2.0, section 'Conformance')."""
    authorize, token = endpoints(settings)
    doc: dict[str, Any] = {
        "issuer": _issuer(settings),
        "authorization_endpoint": authorize,
        "token_endpoint": token,
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": sorted(ALLOWED_ALGS),
        "scopes_supported": supported_scopes(),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-standalone", "client-confidential-asymmetric", "permission-v1",
            "permission-v2", "permission-user",
        ],
    }
    if settings.jwks_url:
        doc["jwks_uri"] = settings.jwks_url
    return doc


def security_element(settings: SecuritySettings) -> dict[str, Any]:
    """CapabilityStatement.rest.security: SMART on FHIR with the OAuth URIs extension."""
    authorize, token = endpoints(settings)
    return {
        "extension": [{"url": OAUTH_URIS, "extension": [
            {"url": "authorize", "valueUri": authorize},
            {"url": "token", "valueUri": token},
        ]}],
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR",
                                 "display": "SMART-on-FHIR"}],
                     "text": "OAuth 2.0 bearer tokens from HelseID"}],
        "description": (
            "Every request except GET /metadata and /.well-known/smart-configuration needs "
            "'Authorization: Bearer <JWT>' from HelseID (RS256, PS256 or ES256). SMART v1/v2 "
            "scopes limit types and interactions; fellesplan/admin writes the registry, "
            "fellesplan/audit reads the audit log. Every access to patient data is audited."
        ),
    }


@router.get("/.well-known/smart-configuration", name="smart-configuration")
async def well_known(request: Request) -> Response:
    """Public SMART discovery document."""
    doc = smart_configuration(request.app.state.settings)
    return Response(orjson.dumps(doc), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=3600"})
