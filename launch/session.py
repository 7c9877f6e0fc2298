"""Server-side SMART sessions in the shared store; the browser holds only opaque ids.

Two records, both in `immunotox.store` so any worker process can serve any request:

- pending launch (`smart_pending`, key = OAuth `state`, 10 minutes, popped once on callback):
  where to send the code, the PKCE verifier, the FHIR base.
- session (`smart_session`, key = session id): tokens, expiry, launch context. The browser's
  `immunotox_sid` cookie (HttpOnly; `SameSite=None; Secure; Partitioned`, or SameSite=Lax
  when Secure is configured off: `launch.web.cookie_options`) lists the
  session ids of this browser's recent launches; each page URL carries the launch's short,
  non-secret `ctx` handle, so two tabs on two patients never swap patients.

At rest, the store holds only SHA-256 hashes of session ids and `state` values (a copy of the
store does not hand out live cookies), and every record is encrypted with Fernet
(`immunotox.crypto.record_cipher`: `IMMUNOTOX_TOKEN_KEY`), so access and refresh tokens and
the patient id are not readable from the file or a backup.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, Request

from immunotox.crypto import record_cipher
from immunotox.store import get_store
from launch import client_auth, errors, scopes

log = logging.getLogger("immunotox.launch")

NS_PENDING = "smart_pending"
NS_SESSION = "smart_session"
NS_LOCK = "smart_refresh_lock"
PENDING_TTL_S = 600
SESSION_TTL_S = 8 * 3600
TOKEN_TIMEOUT_S = 10.0
SID_COOKIE = "immunotox_sid"
LAUNCH_COOKIE = "immunotox_launch"
MAX_SESSIONS_PER_BROWSER = 5
REFRESH_MARGIN_S = 60


def _key(value: str) -> str:
    """What the store holds instead of a session id or a state value."""
    return hashlib.sha256(value.encode()).hexdigest()


def _put(app: Flask, ns: str, raw_key: str, record: dict[str, Any], ttl_s: float) -> None:
    get_store(app).put(ns, _key(raw_key), {"enc": record_cipher(app).seal(record)}, ttl_s)


def _open(app: Flask, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not isinstance(value.get("enc"), str):
        return None
    return record_cipher(app).open(value["enc"])


def _get(app: Flask, ns: str, raw_key: str) -> dict[str, Any] | None:
    return _open(app, get_store(app).get(ns, _key(raw_key)))


def new_state() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(
    app: Flask,
    smart_config: dict[str, Any],
    iss: str,
    redirect_uri: str,
    launch: str | None,
    standalone: bool,
) -> tuple[str, str]:
    """Store a pending launch and return (authorize URL, state)."""
    cfg = app.config
    state = new_state()
    verifier, challenge = pkce_pair()
    scope = scopes.requested(
        cfg.get("SMART_SCOPE_STYLE", "v2"),
        standalone,
        write=bool(cfg.get("SMART_WRITE_OBSERVATIONS", True)),
    )
    _put(
        app,
        NS_PENDING,
        state,
        {
            "iss": iss,
            "verifier": verifier,
            "redirect_uri": redirect_uri,
            "token_endpoint": smart_config["token_endpoint"],
            "auth_methods": smart_config.get("token_endpoint_auth_methods_supported") or [],
            "scope": scope,
            "standalone": standalone,
        },
        PENDING_TTL_S,
    )
    params = {
        "response_type": "code",
        "client_id": cfg["SMART_CLIENT_ID"],
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": iss,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if launch:
        params["launch"] = launch
    endpoint = smart_config["authorization_endpoint"]
    sep = "&" if "?" in endpoint else "?"
    return f"{endpoint}{sep}{urlencode(params)}", state


def pending_states(req: Request) -> list[str]:
    return (req.cookies.get(LAUNCH_COOKIE) or "").split()


def with_pending(req: Request, state: str) -> str:
    return " ".join([*pending_states(req)[-(MAX_SESSIONS_PER_BROWSER - 1) :], state])


def complete(app: Flask, req: Request) -> dict[str, Any]:
    """Handle the redirect back from the authorization server: a new session record."""
    args = req.args
    state = args.get("state")
    cookie_states = pending_states(req)
    if not state:
        raise errors.bad_request("The answer from the authorization server carries no state.")
    if not cookie_states:
        if browser_sids(req):
            # Cookies do arrive (the session cookie came): this sign-in was already completed
            # and its launch cookie cleared (a double click, the Back button, a frame that
            # reloaded). Blaming blocked cookies would send the clinician the wrong way.
            raise errors.expired()
        from launch.web import cookie_missing

        raise cookie_missing()
    if state not in cookie_states:
        raise errors.state_mismatch()
    pending = _open(app, get_store(app).pop(NS_PENDING, _key(state)))
    if pending is None:
        raise errors.expired()
    if args.get("error"):
        err, description = _oauth_error({k: args.get(k) for k in ("error", "error_description")})
        log.warning("authorization refused: error=%r, error_description=%r", err, description)
        if args["error"] == "access_denied":
            raise errors.denied(description)
        raise errors.auth_server(
            f"The authorization server answered {err!r}"
            + (f": {description}" if description else ".")
        )
    code = args.get("code")
    if not code:
        raise errors.bad_request("The answer from the authorization server carries no code.")
    token = _token_request(
        app,
        pending,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending["redirect_uri"],
            "code_verifier": pending["verifier"],
        },
    )
    granted = token.get("scope") or pending["scope"]
    missing = scopes.missing_required(granted)
    if missing:
        raise errors.missing_scope(missing)
    patient = token.get("patient")
    if not isinstance(patient, str) or not patient:
        e = errors.missing_context("the token response has no patient")
        e.reason = "token_without_patient"
        raise e
    sess = {
        "iss": pending["iss"],
        "token_endpoint": pending["token_endpoint"],
        "auth_methods": pending["auth_methods"],
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": time.time() + float(token.get("expires_in") or 300),
        "lifetime": float(token.get("expires_in") or 300),
        "scope": granted,
        "patient": patient,
        "encounter": token.get("encounter"),
        "need_patient_banner": bool(token.get("need_patient_banner", True)),
        "smart_style_url": token.get("smart_style_url"),
        "app_context": _app_context(token.get("appContext")),
        "standalone": pending["standalone"],
        "ctx": secrets.token_urlsafe(6),
        "created": time.time(),
    }
    sid = secrets.token_urlsafe(32)
    _put(app, NS_SESSION, sid, sess, SESSION_TTL_S)
    sess["sid"] = sid
    log.info("SMART launch completed (standalone=%s)", pending["standalone"])
    return sess


def _app_context(raw: Any) -> str | None:
    """appContext is a string (often JSON); keep it as given, capped."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else str(raw)
    return text[:4096]


def _token_request(app: Flask, sess: dict[str, Any], data: dict[str, str]) -> dict[str, Any]:
    smart_config = {
        "token_endpoint": sess["token_endpoint"],
        "token_endpoint_auth_methods_supported": sess.get("auth_methods") or [],
    }
    extra, basic, _method = client_auth.token_request_auth(
        app.config, smart_config, jku=_jwks_url(app)
    )
    try:
        r = requests.post(
            sess["token_endpoint"],
            data={**data, **extra},
            auth=basic,
            headers={"Accept": "application/json"},
            timeout=TOKEN_TIMEOUT_S,
        )
    except requests.RequestException as e:
        raise errors.LaunchError(
            "auth_unavailable",
            "The authorization server did not answer",
            f"The token endpoint could not be reached ({type(e).__name__}).",
            "Try again in a minute.",
            502,
        ) from None
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        err, description = _oauth_error(body)
        # RFC 6749 5.2 error fields only: never the request (code, verifier, assertion)
        log.warning(
            "token request (%s) refused: HTTP %d, error=%r, error_description=%r",
            data["grant_type"],
            r.status_code,
            err,
            description,
        )
        if err == "invalid_grant" and data["grant_type"] == "refresh_token":
            raise errors.expired()
        raise errors.auth_server(
            f"The token endpoint answered HTTP {r.status_code}"
            + (f" ({err})" if err else "")
            + (f": {description}" if description else ".")
        )
    if str(body.get("token_type", "")).lower() != "bearer":
        e = errors.auth_server("The token endpoint returned a token that is not a Bearer token.")
        e.reason = "token_type_not_bearer"
        raise e
    return body


def _oauth_error(body: Any) -> tuple[str | None, str | None]:
    """`error` and `error_description` of an OAuth error answer, as short single-line text."""
    if not isinstance(body, dict):
        return None, None

    def clean(v: Any, limit: int) -> str | None:
        if not isinstance(v, str) or not v.strip():
            return None
        text = " ".join(v.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return clean(body.get("error"), 64), clean(body.get("error_description"), 300)


def _jwks_url(app: Flask) -> str | None:
    """The `jku` header of the client assertion: only when configured on purpose
    (`SMART_CLIENT_JKU`). SMART servers use the JWKS registered for the client and may refuse
    an assertion that names one (the SMART reference launcher does)."""
    return app.config.get("SMART_CLIENT_JKU") or None


# -- sessions in the browser --------------------------------------------------------------


def browser_sids(req: Request) -> list[str]:
    return (req.cookies.get(SID_COOKIE) or "").split()


def add_sid(req: Request, sid: str) -> str:
    kept = [s for s in browser_sids(req) if s != sid][-(MAX_SESSIONS_PER_BROWSER - 1) :]
    return " ".join([*kept, sid])


def load(app: Flask, req: Request) -> dict[str, Any]:
    """The session for this request: the one whose `ctx` is in the URL, else the latest."""
    ctx = req.args.get("ctx")
    sids = browser_sids(req)
    if not sids:
        from launch.web import cookie_missing

        raise cookie_missing()
    for sid in reversed(sids):
        sess = _get(app, NS_SESSION, sid)
        if sess is None:
            continue
        if ctx is None or sess.get("ctx") == ctx:
            sess["sid"] = sid
            return sess
    raise errors.expired()


def access_token(app: Flask, sess: dict[str, Any], stale: str | None = None) -> str:
    """A live access token for the session.

    Refreshes when the token is (nearly) expired, or when `stale` (a token the FHIR server
    just refused) is still the current one. Workers and threads that lose the race wait for
    the winner's result (refresh tokens may rotate, so only one may use it).
    """
    current = sess["access_token"]
    if stale is not None and stale != current:
        return current  # someone refreshed meanwhile
    margin = min(REFRESH_MARGIN_S, float(sess.get("lifetime") or 300) / 2)
    if stale is None and sess["expires_at"] - margin > time.time():
        return current
    reason = "refused_by_fhir_server" if stale is not None else "expiring"
    if not sess.get("refresh_token"):
        raise errors.expired()
    sid = sess["sid"]
    st = get_store(app)
    if not st.put_if_absent(NS_LOCK, _key(sid), 1, 15):
        for _ in range(100):
            time.sleep(0.05)
            fresh = _get(app, NS_SESSION, sid)
            if fresh and fresh["access_token"] != current:
                sess.update(fresh)
                return fresh["access_token"]
        raise errors.expired()
    try:
        fresh = _get(app, NS_SESSION, sid)
        if fresh and fresh["access_token"] != current:  # refreshed just before we locked
            sess.update(fresh)
            return fresh["access_token"]
        token = _token_request(
            app, sess, {"grant_type": "refresh_token", "refresh_token": sess["refresh_token"]}
        )
        lifetime = float(token.get("expires_in") or 300)
        record = {k: v for k, v in sess.items() if k != "sid"}
        record.update(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or sess["refresh_token"],
            expires_at=time.time() + lifetime,
            lifetime=lifetime,
            scope=token.get("scope") or sess["scope"],
        )
        _put(app, NS_SESSION, sid, record, SESSION_TTL_S)
        sess.update(record)
        log.info("SMART access token refreshed (reason=%s)", reason)
        return record["access_token"]
    finally:
        st.delete(NS_LOCK, _key(sid))
