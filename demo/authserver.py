"""A local SMART authorization server and FHIR gateway for the demo and the integration tests.

Not for production. Built on Authlib (authorization code + PKCE S256, refresh tokens, client
authentication `none`, `client_secret_basic` and `private_key_jwt`), it plays the EHR's part:

- `GET/POST /auth/authorize`: EHR launches (a `launch` id created by `create_launch`) are
  approved at once (the clinician is already in the chart); standalone launches
  (`launch/patient`) show a consent page with a patient picker and Approve / Deny.
- `POST /auth/token`: the token response carries the launch context: `patient`,
  `need_patient_banner`, `appContext` and, when the launch asked for it, `smart_style_url`
  (SMART App Launch 2.x, "launch context arrives with your access token").
- `GET /smart-style.json`: the EHR's style (the SMART guide's example), on the FHIR base's
  origin as the app requires.
- `/fhir/...`: a gateway in front of a FHIR server (sekmet in the demo) that serves
  `/fhir/.well-known/smart-configuration`, adds the oauth-uris extension to `/fhir/metadata`,
  checks the bearer token, its scopes and patient compartment on every other request, and
  rewrites the upstream base URL in answers to the gateway's own. `POST /fhir/<type>` creates a
  resource for the launch's patient when the token grants create on that type (the ICE score
  the app writes).

State lives in memory: one process serves it (threads are fine).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, abort, jsonify, render_template_string, request
from joserfc import jws
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from launch.scopes import can_create, can_read

UPSTREAM_TIMEOUT_S = 10.0
AUTH_METHODS = ["none", "client_secret_basic", "private_key_jwt"]
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass
class DevClient(ClientMixin):
    client_id: str
    redirect_uris: list[str]
    auth_method: str = "none"  # none | client_secret_basic | private_key_jwt
    client_secret: str | None = None
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    allowed_scopes: list[str] | None = None  # None: anything asked

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        if self.allowed_scopes is None:
            return scope
        return " ".join(s for s in scope.split() if s in self.allowed_scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.client_secret) and secrets.compare_digest(
            client_secret, self.client_secret or ""
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return True
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    context: dict[str, Any]
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Grant:
    """What an access or refresh token stands for."""

    client_id: str
    scope: str
    context: dict[str, Any]
    expires_at: float
    revoked: bool = False

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at < time.time()

    def is_revoked(self) -> bool:
        return self.revoked

    def check_client(self, client: DevClient) -> bool:
        return client.client_id == self.client_id


@dataclass
class EndUser:
    context: dict[str, Any] = field(default_factory=dict)

    def get_user_id(self) -> str:
        return "demo-clinician"


# The example style of SMART App Launch 2.x ("Styling"), as the demo EHR's style.
DEMO_STYLE: dict[str, str] = {
    "color_background": "#edeae3",
    "color_error": "#9e2d2d",
    "color_highlight": "#69b5ce",
    "color_modal_backdrop": "",
    "color_success": "#498e49",
    "color_text": "#303030",
    "dim_border_radius": "6px",
    "dim_font_size": "13px",
    "dim_spacing_size": "20px",
    "font_family_body": "Georgia, Times, 'Times New Roman', serif",
    "font_family_heading": "'HelveticaNeue-Light', Helvetica, Arial, 'Lucida Grande', sans-serif;",
}


class DevSmartServer:
    """Authorization server + FHIR gateway; `init_app` adds its routes to a Flask app."""

    def __init__(
        self,
        fhir_upstream: str,
        public_base: str,
        token_lifetime: int = 3600,
        refresh_lifetime: int = 8 * 3600,
    ):
        # Authlib refuses plain-HTTP OAuth unless told otherwise (it reads this at request
        # time); this demo server only ever runs on loopback. Set when a server is built, never
        # when the module is imported.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
        self.upstream = fhir_upstream.rstrip("/")
        self.public_base = public_base.rstrip("/")
        self.fhir_base = f"{self.public_base}/fhir"
        self.token_lifetime = token_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.clients: dict[str, DevClient] = {}
        self.launches: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.jtis: set[str] = set()
        self.lock = threading.Lock()
        self.fhir_down = False  # tests: the gateway answers 503 as a server outage would
        self.serve_well_known = True  # tests: discovery falls back to the CapabilityStatement
        # The EHR's style (SMART "Styling"), served at `style_url` on the gateway's origin; a
        # launch carries `smart_style_url` only when asked (`create_launch(smart_style_url=)`).
        self.style: dict[str, Any] = dict(DEMO_STYLE)
        self.style_url = f"{self.public_base}/smart-style.json"
        # Like the SMART reference launcher: a client assertion naming a `jku` is refused, the
        # JWKS registered for the client is the one used.
        self.refuse_jku = True
        self.assertion_headers: list[dict[str, Any]] = []  # tests: headers of assertions seen
        self.counters = {
            "authorization_code": 0,
            "refresh_token": 0,
            "fhir_requests": 0,
            "fhir_creates": 0,
        }
        self.server = AuthorizationServer()

    # -- registration and EHR-side helpers -------------------------------------------------
    def register_client(self, client: DevClient) -> None:
        self.clients[client.client_id] = client

    def create_launch(
        self,
        patient: str,
        app_context: str | None = None,
        need_patient_banner: bool = True,
        encounter: str | None = None,
        smart_style_url: str | None = None,
    ) -> str:
        launch_id = secrets.token_urlsafe(16)
        ctx: dict[str, Any] = {"patient": patient, "need_patient_banner": need_patient_banner}
        if smart_style_url:
            ctx["smart_style_url"] = smart_style_url
        if app_context is not None:
            ctx["appContext"] = app_context
        if encounter:
            ctx["encounter"] = encounter
        with self.lock:
            self.launches[launch_id] = {"context": ctx, "expires_at": time.time() + 600}
        return launch_id

    def issue_token(self, patient: str, scope: str, client_id: str = "ehr") -> dict[str, Any]:
        """A bearer token the EHR hands to a CDS service (`fhirAuthorization`)."""
        token = secrets.token_urlsafe(32)
        grant = Grant(client_id, scope, {"patient": patient}, time.time() + self.token_lifetime)
        with self.lock:
            self.access[token] = grant
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": scope,
            "subject": client_id,
            "patient": patient,
        }

    def revoke_access_tokens(self) -> None:
        with self.lock:
            for g in self.access.values():
                g.revoked = True

    def smart_configuration(self) -> dict[str, Any]:
        return {
            "authorization_endpoint": f"{self.public_base}/auth/authorize",
            "token_endpoint": f"{self.public_base}/auth/token",
            "token_endpoint_auth_methods_supported": [
                "none",
                "client_secret_basic",
                "private_key_jwt",
            ],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "scopes_supported": [
                "launch",
                "launch/patient",
                "online_access",
                "offline_access",
                "patient/*.rs",
                "patient/*.read",
                "patient/Observation.c",
                "patient/Observation.write",
            ],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": [
                "launch-ehr",
                "launch-standalone",
                "client-public",
                "client-confidential-symmetric",
                "client-confidential-asymmetric",
                "context-ehr-patient",
                "context-standalone-patient",
                "context-banner",
                "permission-patient",
                "permission-v1",
                "permission-v2",
                "permission-offline",
                "permission-online",
            ],
        }

    # -- Authlib wiring --------------------------------------------------------------------
    def init_app(self, app: Flask) -> None:
        outer = self
        app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)

        def query_client(client_id: str) -> DevClient | None:
            return outer.clients.get(client_id)

        def save_token(token: dict[str, Any], req: Any) -> None:
            if req.authorization_code is not None:
                context = dict(req.authorization_code.context)
            else:
                context = dict(req.refresh_token.context)
            now = time.time()
            token["expires_in"] = outer.token_lifetime
            grant = Grant(req.client.client_id, token.get("scope", ""), context, 0)
            with outer.lock:
                outer.access[token["access_token"]] = Grant(
                    grant.client_id, grant.scope, context, now + outer.token_lifetime
                )
                if token.get("refresh_token"):
                    outer.refresh[token["refresh_token"]] = Grant(
                        grant.client_id, grant.scope, context, now + outer.refresh_lifetime
                    )
            # the launch context travels in the token response
            for key in (
                "patient",
                "encounter",
                "need_patient_banner",
                "appContext",
                "smart_style_url",
            ):
                if key in context:
                    token[key] = context[key]

        self.server.init_app(app, query_client=query_client, save_token=save_token)

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = AUTH_METHODS

            def save_authorization_code(self, code: str, req: Any) -> None:
                payload = req.payload
                with outer.lock:
                    outer.codes[code] = Code(
                        code,
                        req.client.client_id,
                        payload.redirect_uri,
                        req.scope,
                        payload.data.get("code_challenge"),
                        payload.data.get("code_challenge_method"),
                        dict(req.user.context),
                        time.time() + 60,
                    )

            def query_authorization_code(self, code: str, client: DevClient) -> Code | None:
                with outer.lock:
                    item = outer.codes.get(code)
                if item and item.client_id == client.client_id and item.expires_at > time.time():
                    return item
                return None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                with outer.lock:
                    outer.codes.pop(authorization_code.code, None)
                    outer.counters["authorization_code"] += 1

            def authenticate_user(self, authorization_code: Code) -> EndUser:
                return EndUser(authorization_code.context)

        class RefreshGrant(RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = AUTH_METHODS
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token: str) -> Grant | None:
                with outer.lock:
                    g = outer.refresh.get(refresh_token)
                if g and not g.is_expired() and not g.is_revoked():
                    return g
                return None

            def authenticate_user(self, refresh_token: Grant) -> EndUser:
                return EndUser(refresh_token.context)

            def revoke_old_credential(self, refresh_token: Grant) -> None:
                refresh_token.revoked = True
                with outer.lock:
                    outer.counters["refresh_token"] += 1

        class PrivateKeyJWT(JWTBearerClientAssertion):
            CLIENT_AUTH_METHOD = "private_key_jwt"

            def get_audiences(self) -> list[str]:
                return [f"{outer.public_base}/auth/token"]

            def validate_jti(self, claims: Any, jti: str) -> bool:
                with outer.lock:
                    if jti in outer.jtis:
                        return False
                    outer.jtis.add(jti)
                return True

            def resolve_client_public_key(self, client: DevClient) -> Any:
                if client.jwks:
                    return KeySet.import_key_set(client.jwks)
                if client.jwks_url:
                    r = requests.get(client.jwks_url, timeout=5)
                    r.raise_for_status()
                    return KeySet.import_key_set(r.json())
                raise ValueError("client has no keys")

            def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
                from authlib.oauth2.rfc6749 import InvalidClientError

                try:
                    header = jws.extract_compact(assertion.encode()).headers()
                except (JoseError, ValueError) as e:
                    raise InvalidClientError(description="malformed client assertion") from e
                with outer.lock:
                    outer.assertion_headers.append(dict(header))
                if outer.refuse_jku and "jku" in header:
                    raise InvalidClientError(
                        description="jku header not accepted: the JWKS registered for this "
                        "client is used"
                    )
                try:
                    token = jose_jwt.decode(
                        assertion, resolve_key, algorithms=["RS384", "ES384", "RS256", "ES256"]
                    )
                except JoseError as e:
                    raise InvalidClientError(description=e.description) from e
                self.verify_claims(token.claims)
                return token.claims

        self.server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        self.server.register_grant(RefreshGrant)
        self.server.register_client_auth_method("private_key_jwt", PrivateKeyJWT())

        app.add_url_rule(
            "/auth/authorize", "auth_authorize", self._authorize, methods=["GET", "POST"]
        )
        app.add_url_rule("/auth/token", "auth_token", self._token, methods=["POST"])
        app.add_url_rule(
            "/fhir/.well-known/smart-configuration", "smart_configuration", self._smart_config
        )
        app.add_url_rule("/smart-style.json", "smart_style", lambda: jsonify(outer.style))
        app.add_url_rule("/fhir/metadata", "fhir_metadata", self._metadata)
        app.add_url_rule("/fhir/<path:path>", "fhir_proxy", self._proxy, methods=["GET"])
        app.add_url_rule("/fhir/<rtype>", "fhir_create", self._create_resource, methods=["POST"])

    # -- views -----------------------------------------------------------------------------
    def _smart_config(self) -> Response:
        if not self.serve_well_known:
            abort(404)
        return jsonify(self.smart_configuration())

    def _token(self) -> Response:
        return self.server.create_token_response()

    def _authorize(self) -> Any:
        params = request.values
        if params.get("aud", "").rstrip("/") != self.fhir_base:
            return _page("Unknown audience", "The aud parameter is not this FHIR server.", 400)
        scope = params.get("scope", "").split()
        try:
            grant = self.server.get_consent_grant(end_user=None)
        except OAuth2Error as e:
            return _page("Authorization request rejected", e.description or e.error, 400)
        context: dict[str, Any] = {}
        launch_id = params.get("launch")
        if "launch" in scope:
            with self.lock:
                entry = self.launches.get(launch_id or "")
            if not entry or entry["expires_at"] < time.time():
                return self.server.create_authorization_response(
                    grant_user=None, grant=grant
                )  # unknown launch: deny
            context = dict(entry["context"])
            # EHR launch: the clinician is already in this patient's chart; approve at once
            return self.server.create_authorization_response(
                grant_user=EndUser(context), grant=grant
            )
        if request.method == "POST":
            if request.form.get("decision") != "approve":
                return self.server.create_authorization_response(grant_user=None, grant=grant)
            patient = request.form.get("patient", "")
            if not patient:
                return _page("No patient chosen", "Choose a patient to continue.", 400)
            context = {"patient": patient, "need_patient_banner": True}
            return self.server.create_authorization_response(
                grant_user=EndUser(context), grant=grant
            )
        patients = self._patients()
        return render_template_string(
            CONSENT_PAGE,
            client_id=params.get("client_id", ""),
            scopes=scope,
            hidden=[(k, v) for k, v in params.items(multi=True)],
            patients=patients,
        )

    def _patients(self) -> list[tuple[str, str]]:
        try:
            r = requests.get(
                f"{self.upstream}/Patient",
                params={"_count": "100"},
                headers={"Accept": "application/fhir+json"},
                timeout=UPSTREAM_TIMEOUT_S,
            )
            bundle = r.json()
        except (requests.RequestException, ValueError):
            return []
        out = []
        for e in bundle.get("entry") or []:
            p = e.get("resource") or {}
            out.append((p.get("id", ""), patient_name(p)))
        return out

    def _metadata(self) -> Response:
        if self.fhir_down:
            return Response("FHIR server unavailable", status=503)
        try:
            r = requests.get(
                f"{self.upstream}/metadata",
                headers={"Accept": "application/fhir+json"},
                timeout=UPSTREAM_TIMEOUT_S,
            )
            cs = json.loads(r.content.replace(self.upstream.encode(), self.fhir_base.encode()))
        except (requests.RequestException, ValueError):
            return Response("FHIR server unavailable", status=502)
        ext = {
            "url": OAUTH_URIS,
            "extension": [
                {"url": "authorize", "valueUri": f"{self.public_base}/auth/authorize"},
                {"url": "token", "valueUri": f"{self.public_base}/auth/token"},
            ],
        }
        for rest in cs.get("rest") or []:
            sec = rest.setdefault("security", {})
            sec["extension"] = [
                e for e in sec.get("extension") or [] if e.get("url") != OAUTH_URIS
            ] + [ext]
        return Response(json.dumps(cs), mimetype="application/fhir+json")

    def _proxy(self, path: str) -> Response:
        with self.lock:
            self.counters["fhir_requests"] += 1
        if self.fhir_down:
            return _outcome(503, "transient", "FHIR server unavailable")
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        with self.lock:
            grant = self.access.get(token)
        if grant is None or grant.is_expired() or grant.is_revoked():
            resp = _outcome(401, "login", "missing, expired or unknown bearer token")
            resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return resp
        rtype = path.split("/", 1)[0]
        if not can_read(grant.scope, rtype):
            return _outcome(403, "forbidden", f"the token does not grant read access to {rtype}")
        patient = grant.context.get("patient")
        if patient and not self._in_compartment(path, rtype, patient):
            return _outcome(403, "forbidden", "outside the launch patient's compartment")
        try:
            r = requests.get(
                f"{self.upstream}/{path}",
                params=list(request.args.items(multi=True)),
                headers={"Accept": "application/fhir+json"},
                timeout=UPSTREAM_TIMEOUT_S,
            )
        except requests.RequestException:
            return _outcome(502, "transient", "the FHIR server behind the gateway did not answer")
        body = r.content.replace(self.upstream.encode(), self.fhir_base.encode())
        return Response(body, status=r.status_code, mimetype="application/fhir+json")

    def _create_resource(self, rtype: str) -> Response:
        """A FHIR create for the launch's patient, passed on to the upstream server."""
        with self.lock:
            self.counters["fhir_requests"] += 1
            self.counters["fhir_creates"] += 1
        if self.fhir_down:
            return _outcome(503, "transient", "FHIR server unavailable")
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        with self.lock:
            grant = self.access.get(token)
        if grant is None or grant.is_expired() or grant.is_revoked():
            resp = _outcome(401, "login", "missing, expired or unknown bearer token")
            resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return resp
        if not can_create(grant.scope, rtype):
            return _outcome(403, "forbidden", f"the token does not grant create on {rtype}")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("resourceType") != rtype:
            return _outcome(400, "invalid", f"the body is not a {rtype}")
        patient = grant.context.get("patient")
        subject = (body.get("subject") or {}).get("reference")
        if patient and subject != f"Patient/{patient}":
            return _outcome(403, "forbidden", "outside the launch patient's compartment")
        try:
            r = requests.post(
                f"{self.upstream}/{rtype}",
                json=body,
                headers={
                    "Accept": "application/fhir+json",
                    "Content-Type": "application/fhir+json",
                    "Prefer": request.headers.get("Prefer", "return=representation"),
                },
                timeout=UPSTREAM_TIMEOUT_S,
            )
        except requests.RequestException:
            return _outcome(502, "transient", "the FHIR server behind the gateway did not answer")
        out = r.content.replace(self.upstream.encode(), self.fhir_base.encode())
        resp = Response(out, status=r.status_code, mimetype="application/fhir+json")
        if r.headers.get("Location"):
            resp.headers["Location"] = r.headers["Location"].replace(self.upstream, self.fhir_base)
        return resp

    def _in_compartment(self, path: str, rtype: str, patient: str) -> bool:
        parts = path.split("/")
        if rtype == "Patient":
            if len(parts) >= 2:
                return parts[1] == patient
            return request.args.get("_id") == patient
        for key in ("patient", "subject"):
            v = request.args.get(key)
            if v is not None:
                return v in (patient, f"Patient/{patient}")
        return False


def patient_name(p: dict[str, Any]) -> str:
    for n in p.get("name") or []:
        if n.get("text"):
            return n["text"]
        given = " ".join(n.get("given") or [])
        full = " ".join(x for x in (given, n.get("family") or "") if x)
        if full:
            return full
    return p.get("id", "")


def _outcome(status: int, code: str, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(json.dumps(body), status=status, mimetype="application/fhir+json")


def _page(title: str, text: str, status: int) -> Response:
    html = render_template_string(
        "<!doctype html><title>{{ t }}</title><h1>{{ t }}</h1><p>{{ x }}</p>", t=title, x=text
    )
    return Response(html, status=status, mimetype="text/html")


def authorize_query(**params: str) -> str:
    return urlencode(params)


CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize app – demo EHR</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/ehr/static/ehr.css"></head>
<body><main class="consent">
<h1>Allow “{{ client_id }}” to read a patient's record?</h1>
<p>The app asks for:</p>
<ul>{% for s in scopes %}<li><code>{{ s }}</code></li>{% endfor %}</ul>
<form method="post" action="/auth/authorize">
  {% for k, v in hidden %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
  <label for="patient">Patient</label>
  <select id="patient" name="patient">
    {% for pid, name in patients %}<option value="{{ pid }}">{{ name }}</option>{% endfor %}
  </select>
  <div class="buttons">
    <button type="submit" name="decision" value="approve" id="approve">Approve</button>
    <button type="submit" name="decision" value="deny" id="deny" class="secondary">Deny</button>
  </div>
</form></main></body></html>
"""
