"""SMART launch flows end to end: EHR launch, standalone launch, launch from a CDS card link,
token refresh, confidential clients, and every failure page."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from smart_helpers import error_kind

pytestmark = pytest.mark.integration


def ehr_launch(smart, browser, app_context=None, need_patient_banner=True):
    launch = smart.dev.create_launch(smart.patient, app_context, need_patient_banner)
    return browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.fhir_base, "launch": launch}
    )


def ctx_of(resp) -> str:
    return parse_qs(urlparse(resp.url).query)["ctx"][0]


def test_ehr_launch_opens_the_assessment_of_the_launch_patient(smart, browser):
    resp = ehr_launch(smart, browser)
    assert resp.status_code == 200, resp.text[:500]
    assert urlparse(resp.url).path == "/app/"
    assert "Immunotherapy toxicity assessment" in resp.text
    assert "Testperson" in resp.text  # patient banner
    assert "Alex &lt;b&gt;" in resp.text and "Alex <b>" not in resp.text  # FHIR text escaped
    assert "<svg" in resp.text and 'class="timeline"' in resp.text
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_authorize_request_uses_pkce_s256_a_long_state_and_the_fhir_base_as_aud(smart, browser):
    launch = smart.dev.create_launch(smart.patient)
    resp = browser.get(
        f"{smart.app_base}/smart/launch",
        params={"iss": smart.fhir_base, "launch": launch},
        allow_redirects=False,
    )
    assert resp.status_code == 302
    q = parse_qs(urlparse(resp.headers["Location"]).query)
    assert q["code_challenge_method"] == ["S256"]
    assert len(q["code_challenge"][0]) == 43
    assert len(q["state"][0]) >= 40  # 32 random bytes, base64url: 256 bits
    assert q["aud"] == [smart.fhir_base]
    assert q["launch"] == [launch]
    assert "patient/Observation.rs" in q["scope"][0].split()
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_session_cookie_is_httponly_and_lax_and_holds_no_token(smart, browser):
    launch = smart.dev.create_launch(smart.patient)
    resp = browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.fhir_base, "launch": launch}
    )
    callback = next(h for h in resp.history if urlparse(h.url).path == "/smart/callback")
    text = callback.headers["Set-Cookie"]  # all cookies of the response, comma-joined
    assert "immunotox_sid=" in text
    assert "HttpOnly" in text and "SameSite=Lax" in text
    for token in smart.dev.access:
        assert token not in text


def test_the_json_api_returns_the_assessment(smart, browser):
    page = ehr_launch(smart, browser)
    resp = browser.get(f"{smart.app_base}/app/api/assessment", params={"ctx": ctx_of(page)})
    assert resp.status_code == 200
    doc = resp.json()
    assert set(doc["crs"]) == {"lee2014", "astct2019", "ctcae5"}
    assert doc["launch"]["need_patient_banner"] is True
    assert "series" in doc["timeline"]


def test_no_patient_banner_when_the_ehr_says_it_is_not_needed(smart, browser):
    resp = ehr_launch(smart, browser, need_patient_banner=False)
    assert resp.status_code == 200
    assert "patient-banner" not in resp.text


def test_launch_from_a_card_link_reads_app_context_from_the_token_response(smart, browser):
    resp = ehr_launch(smart, browser, app_context=json.dumps({"reason": "CRS grade 2 <now>"}))
    assert resp.status_code == 200
    assert "Opened from a decision-support card: CRS grade 2 &lt;now&gt;" in resp.text
    api = browser.get(f"{smart.app_base}/app/api/assessment", params={"ctx": ctx_of(resp)})
    assert json.loads(api.json()["launch"]["app_context"])["reason"] == "CRS grade 2 <now>"


def test_standalone_launch_lets_the_user_pick_the_server_and_the_patient(smart, browser):
    form = browser.get(f"{smart.app_base}/smart/standalone")
    assert form.status_code == 200 and smart.fhir_base in form.text
    consent = browser.get(f"{smart.app_base}/smart/standalone", params={"iss": smart.fhir_base})
    assert consent.status_code == 200 and "launch/patient" in consent.text
    page = browser.submit_consent(consent, "approve", smart.patient)
    assert page.status_code == 200, page.text[:500]
    assert urlparse(page.url).path == "/app/"
    assert "Testperson" in page.text


def test_user_denied_shows_an_access_denied_page(smart, browser):
    consent = browser.get(f"{smart.app_base}/smart/standalone", params={"iss": smart.fhir_base})
    page = browser.submit_consent(consent, "deny", None)
    assert page.status_code == 403
    assert error_kind(page) == "access_denied"
    assert "Traceback" not in page.text


def test_a_state_that_this_browser_did_not_start_is_refused(smart, browser):
    launch = smart.dev.create_launch(smart.patient)
    browser.get(
        f"{smart.app_base}/smart/launch",
        params={"iss": smart.fhir_base, "launch": launch},
        allow_redirects=False,
    )
    resp = browser.get(
        f"{smart.app_base}/smart/callback", params={"code": "x", "state": "forged-state-value"}
    )
    assert resp.status_code == 403
    assert error_kind(resp) == "state_mismatch"


def test_a_callback_without_the_launch_cookie_names_the_missing_cookie(smart, browser):
    resp = browser.get(f"{smart.app_base}/smart/callback", params={"code": "x", "state": "y"})
    assert resp.status_code == 401
    assert error_kind(resp) == "cookie_missing"
    assert "did not send the app&#39;s cookie" in resp.text


@pytest.mark.parametrize(
    ("secure", "fetch_headers", "cause"),
    [
        (True, {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}, "blocks third-party"),
        (False, {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}, "SECURE=false"),
        (
            True,
            {"Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "cross-site"},
            "cookies are blocked",
        ),
    ],
)
def test_the_missing_cookie_page_names_the_real_cause(smart, browser, secure, fetch_headers, cause):
    smart.app.config["SESSION_COOKIE_SECURE"] = secure
    resp = browser.get(
        f"{smart.app_base}/smart/callback",
        params={"code": "x", "state": "y"},
        headers=fetch_headers,
    )
    assert error_kind(resp) == "cookie_missing"
    assert cause in resp.text
    assert "session has expired" not in resp.text


def test_replaying_a_callback_is_refused(smart, browser):
    launch = smart.dev.create_launch(smart.patient)
    browser.http.max_redirects = 30
    first = browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.fhir_base, "launch": launch}
    )
    callback_url = next(h for h in first.history if "/smart/callback" in h.url).url
    # keep the launch cookie so only the store decides
    state = parse_qs(urlparse(callback_url).query)["state"][0]
    browser.http.cookies.set("immunotox_launch", state, path="/smart/")
    again = browser.get(callback_url)
    assert again.status_code == 401
    assert error_kind(again) == "expired"


@pytest.mark.parametrize(
    "fetch_headers",
    [{}, {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}],
)
def test_a_completed_callback_loaded_again_says_expired_not_blocked_cookies(
    smart, browser, fetch_headers
):
    # What a browser sends when the callback is loaded a second time (the SMART launcher's
    # encounter step clicked twice inside its EHR frame, or the Back button): the launch
    # cookie was cleared by the first callback, the session cookie is there.
    launch = smart.dev.create_launch(smart.patient)
    first = browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.fhir_base, "launch": launch}
    )
    assert first.status_code == 200
    callback_url = next(h for h in first.history if "/smart/callback" in h.url).url
    assert not browser.http.cookies.get("immunotox_launch", path="/smart/")
    assert browser.http.cookies.get("immunotox_sid")
    again = browser.get(callback_url, headers=fetch_headers)
    assert again.status_code == 401
    assert error_kind(again) == "expired"
    assert "already used" in again.text and "third-party" not in again.text


def test_the_app_without_a_session_cookie_says_so(smart, browser):
    resp = browser.get(f"{smart.app_base}/app/")
    assert resp.status_code == 401
    assert error_kind(resp) == "cookie_missing"
    api = browser.get(f"{smart.app_base}/app/api/assessment")
    assert api.status_code == 401 and api.json()["error"] == "cookie_missing"


def test_the_app_with_a_cookie_whose_session_is_gone_says_the_session_expired(smart, browser):
    browser.http.cookies.set("immunotox_sid", "no-such-session", path="/")
    resp = browser.get(f"{smart.app_base}/app/")
    assert resp.status_code == 401
    assert error_kind(resp) == "expired"


def test_cross_site_writes_to_the_app_are_refused_whatever_samesite_says(smart, browser):
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    for path in ("/app/", "/smart/callback"):
        r = browser.http.post(f"{smart.app_base}{path}", headers=evil, timeout=30)
        assert r.status_code == 403 and error_kind(r) == "cross_site_request", path
        r = browser.http.post(f"{smart.app_base}{path}", timeout=30)  # no Origin at all
        assert r.status_code == 403, path
    api = browser.http.post(f"{smart.app_base}/app/api/assessment", headers=evil, timeout=30)
    assert api.status_code == 403 and api.json()["error"] == "cross_site_request"
    own = browser.http.post(
        f"{smart.app_base}/app/", headers={"Origin": smart.app_base}, timeout=30
    )
    assert own.status_code == 405  # from its own origin: on to routing (no such method)


def test_frame_ancestors_lists_only_the_configured_ehr_origins(smart, browser):
    resp = browser.get(f"{smart.app_base}/app/")
    assert "frame-ancestors 'self'" in resp.headers["Content-Security-Policy"]
    assert "ehr.example" not in resp.headers["Content-Security-Policy"]
    smart.app.config["FRAME_ANCESTORS"] = "https://ehr.example.org, https://ehr2.example:8443/"
    csp = browser.get(f"{smart.app_base}/app/").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://ehr.example.org https://ehr2.example:8443" in csp
    smart.app.config["FRAME_ANCESTORS"] = "javascript:alert(1) *"
    csp = browser.get(f"{smart.app_base}/app/").headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors 'self'")


def test_a_fhir_server_that_is_down_at_launch_gets_a_clear_page(smart, browser):
    resp = browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.dead_fhir, "launch": "x"}
    )
    assert resp.status_code == 502
    assert error_kind(resp) == "fhir_unavailable"
    assert "Traceback" not in resp.text


def test_a_fhir_server_that_goes_down_after_launch_gets_a_clear_page_then_recovers(smart, browser):
    page = ehr_launch(smart, browser)
    assert page.status_code == 200
    smart.dev.fhir_down = True
    resp = browser.get(page.url)
    assert resp.status_code == 502
    assert error_kind(resp) == "fhir_unavailable"
    # The server comes back: the same session works again on a reload, no new launch.
    smart.dev.fhir_down = False
    again = browser.get(page.url)
    assert again.status_code == 200
    assert error_kind(again) is None


def test_missing_scopes_get_a_clear_page(smart, browser):
    smart.app.config["SMART_CLIENT_ID"] = "immunotox-limited"
    resp = ehr_launch(smart, browser)
    assert resp.status_code == 403
    assert error_kind(resp) == "missing_scope"
    assert "Observation" in resp.text


def test_an_unlisted_fhir_server_is_refused(smart, browser):
    resp = browser.get(
        f"{smart.app_base}/smart/launch",
        params={"iss": "http://169.254.169.254/fhir", "launch": "x"},
    )
    assert resp.status_code == 400
    assert error_kind(resp) == "unknown_server"


def test_discovery_falls_back_to_the_capability_statement(smart, browser):
    smart.dev.serve_well_known = False
    resp = ehr_launch(smart, browser)
    assert resp.status_code == 200, resp.text[:300]


class _AppClock:
    """The app's clock (`launch.session.time`) moved ahead of the real one: the FHIR server
    still accepts the token, so only the app's own expiry check can cause a refresh."""

    def __init__(self, ahead_s: float):
        self.ahead_s = ahead_s

    def time(self) -> float:
        return time.time() + self.ahead_s

    def sleep(self, s: float) -> None:
        time.sleep(s)


@pytest.mark.parametrize(
    ("ahead_s", "refreshed"),
    [
        (0, False),
        (3600 - 90, False),  # expires in 90 s: outside the 60 s margin
        (3600 - 30, True),  # expires in 30 s: inside the margin, refreshed before use
        (3600 + 30, True),  # expired 30 s ago
    ],
)
def test_an_access_token_is_refreshed_before_it_expires(
    smart, browser, monkeypatch, ahead_s, refreshed
):
    """A 1-hour token is refreshed when it has less than 60 s left (the margin), proactively:
    the FHIR server never sees an expired token. Without the expiry check the app would only
    refresh after a 401, and this gateway, whose clock was not moved, would not give one."""
    smart.dev.token_lifetime = 3600
    page = ehr_launch(smart, browser)
    assert page.status_code == 200
    before = dict(smart.dev.counters)
    monkeypatch.setattr("launch.session.time", _AppClock(ahead_s))
    resp = browser.get(f"{smart.app_base}/app/api/assessment", params={"ctx": ctx_of(page)})
    assert resp.status_code == 200
    assert smart.dev.counters["refresh_token"] == before["refresh_token"] + int(refreshed)
    assert smart.dev.counters["fhir_requests"] > before["fhir_requests"]


def test_an_expired_access_token_is_refreshed_once_for_all_threads(smart, browser, monkeypatch):
    """The page reads several resource types at once; one refresh serves them all."""
    smart.dev.token_lifetime = 3600
    page = ehr_launch(smart, browser)
    before = smart.dev.counters["refresh_token"]
    monkeypatch.setattr("launch.session.time", _AppClock(7200))
    resp = browser.get(f"{smart.app_base}/app/api/assessment", params={"ctx": ctx_of(page)})
    assert resp.status_code == 200
    assert smart.dev.counters["refresh_token"] == before + 1


def test_a_revoked_access_token_is_refreshed_after_a_401(smart, browser):
    page = ehr_launch(smart, browser)
    before = smart.dev.counters["refresh_token"]
    smart.dev.revoke_access_tokens()
    resp = browser.get(f"{smart.app_base}/app/api/assessment", params={"ctx": ctx_of(page)})
    assert resp.status_code == 200
    assert smart.dev.counters["refresh_token"] == before + 1


def test_v1_scopes_by_configuration(smart, browser):
    smart.app.config["SMART_SCOPE_STYLE"] = "v1"
    launch = smart.dev.create_launch(smart.patient)
    first = browser.get(
        f"{smart.app_base}/smart/launch",
        params={"iss": smart.fhir_base, "launch": launch},
        allow_redirects=False,
    )
    scope = parse_qs(urlparse(first.headers["Location"]).query)["scope"][0].split()
    assert "patient/Observation.read" in scope
    page = browser.get(first.headers["Location"])
    assert page.status_code == 200


def test_confidential_client_with_a_secret(smart, browser):
    smart.app.config["SMART_CLIENT_ID"] = "immunotox-secret"
    smart.app.config["SMART_CLIENT_SECRET"] = "s3cret"
    assert ehr_launch(smart, browser).status_code == 200


def test_confidential_client_with_private_key_jwt(smart, browser, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "app-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    smart.app.config["SMART_CLIENT_ID"] = "immunotox-jwt"
    smart.app.config["SMART_PRIVATE_KEY_PATH"] = str(path)
    jwks = browser.get(f"{smart.app_base}/smart/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kty"] == "RSA" and jwks["keys"][0]["alg"] == "RS384"
    assert "d" not in jwks["keys"][0]
    seen = len(smart.dev.assertion_headers)
    assert smart.app.config["PUBLIC_BASE_URL"]  # once made every assertion carry a jku
    assert ehr_launch(smart, browser).status_code == 200
    headers = smart.dev.assertion_headers[seen:]
    assert headers and all("jku" not in h for h in headers)
    assert headers[-1]["kid"] == jwks["keys"][0]["kid"]


def _app_key(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "app-ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_a_jku_is_sent_only_when_configured_and_a_refusal_shows_the_servers_words(
    smart, browser, tmp_path, caplog
):
    smart.app.config["SMART_CLIENT_ID"] = "immunotox-jwt"
    smart.app.config["SMART_PRIVATE_KEY_PATH"] = str(_app_key(tmp_path))
    jku = f"{smart.app_base}/smart/.well-known/jwks.json"
    smart.app.config["SMART_CLIENT_JKU"] = jku
    seen = len(smart.dev.assertion_headers)
    caplog.set_level("WARNING", logger="immunotox.launch")
    resp = ehr_launch(smart, browser)
    assert smart.dev.assertion_headers[seen]["jku"] == jku
    assert resp.status_code == 502
    assert error_kind(resp) == "auth_server_error"
    # the server's error and error_description, not only "HTTP 401"
    assert "invalid_client" in resp.text
    assert "jku header not accepted: the JWKS registered for this client is used" in resp.text
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "invalid_client" in logged and "jku header not accepted" in logged
    assert "eyJ" not in logged  # no assertion, code or token in the log


def test_an_error_description_with_markup_is_shown_as_text(smart, browser):
    launch = smart.dev.create_launch(smart.patient)
    first = browser.get(
        f"{smart.app_base}/smart/launch",
        params={"iss": smart.fhir_base, "launch": launch},
        allow_redirects=False,
    )
    state = parse_qs(urlparse(first.headers["Location"]).query)["state"][0]
    resp = browser.get(
        f"{smart.app_base}/smart/callback",
        params={
            "state": state,
            "error": "server_error",
            "error_description": "<script>alert(1)</script> upstream down",
        },
    )
    assert error_kind(resp) == "auth_server_error"
    assert "server_error" in resp.text and "upstream down" in resp.text
    assert "<script>alert(1)" not in resp.text


def test_the_page_loads_only_its_own_script_and_stylesheet(smart, browser):
    page = ehr_launch(smart, browser)
    srcs = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert srcs == ["/app/static/app.js"] and hrefs == ["/app/static/app.css"]
    assert not re.search(r"<script(?![^>]*src=)", page.text)  # no inline script
    assert browser.get(smart.app_base + hrefs[0]).status_code == 200
    css = browser.get(smart.app_base + hrefs[0]).text
    assert "@media print" in css


def test_two_launches_in_one_browser_keep_their_own_patients(smart, browser):
    first = ehr_launch(smart, browser)
    launch = smart.dev.create_launch("itx-test-second")
    second = browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.fhir_base, "launch": launch}
    )
    assert "Secondperson" in second.text
    again = browser.get(first.url)  # the first tab, reloaded
    assert "Testperson" in again.text and "Secondperson" not in again.text


def test_the_fhir_gateway_keeps_the_app_inside_the_launch_patient(smart, browser):
    page = ehr_launch(smart, browser)
    assert page.status_code == 200
    token = list(smart.dev.access)[-1]  # the token this launch received
    other = browser.get(
        f"{smart.fhir_base}/Patient/itx-test-second",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert other.status_code == 403
    own = browser.get(
        f"{smart.fhir_base}/Patient/{smart.patient}", headers={"Authorization": f"Bearer {token}"}
    )
    assert own.status_code == 200


def test_session_cookies_are_secure_unless_configured_off(smart, browser):
    smart.app.config["SESSION_COOKIE_SECURE"] = True
    launch = smart.dev.create_launch(smart.patient)
    first = browser.get(
        f"{smart.app_base}/smart/launch",
        params={"iss": smart.fhir_base, "launch": launch},
        allow_redirects=False,
    )
    cookie = first.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "Partitioned" in cookie


def test_a_failing_assessment_gets_a_clear_page_and_no_traceback(smart, browser, monkeypatch):
    def boom(resources, **kw):
        raise ValueError("Patient/itx-test-pembro has something odd")

    monkeypatch.setattr("smart_app.blueprint.run_assessment", boom)
    resp = ehr_launch(smart, browser)
    assert resp.status_code == 500
    assert error_kind(resp) == "assessment_failed"
    assert "Traceback" not in resp.text and "something odd" not in resp.text


def _doctor_token_response(monkeypatch, change):
    """The authorization server's token response, changed by `change(body)` on its way to the
    app (the first code exchange only)."""
    import types

    import requests

    def post(url, *args, **kw):
        r = requests.post(url, *args, **kw)
        if (
            r.status_code == 200
            and (kw.get("data") or {}).get("grant_type") == "authorization_code"
        ):
            body = r.json()
            change(body)
            r._content = json.dumps(body).encode()
        return r

    fake = types.SimpleNamespace(post=post, RequestException=requests.RequestException)
    monkeypatch.setattr("launch.session.requests", fake)


@pytest.mark.parametrize("token_type", ["MAC", "DPoP", "", None])
def test_a_token_that_is_not_a_bearer_token_is_refused(smart, browser, monkeypatch, token_type):
    def change(body):
        if token_type is None:
            del body["token_type"]
        else:
            body["token_type"] = token_type

    _doctor_token_response(monkeypatch, change)
    resp = ehr_launch(smart, browser)
    assert resp.status_code == 502
    assert error_kind(resp) == "auth_server_error"
    assert "not a Bearer token" in resp.text
    assert urlparse(resp.url).path == "/smart/callback"  # no session, no page


def test_a_lower_case_bearer_token_type_is_accepted(smart, browser, monkeypatch):
    _doctor_token_response(monkeypatch, lambda body: body.update(token_type="bearer"))
    assert ehr_launch(smart, browser).status_code == 200


@pytest.mark.parametrize("patient", [None, "", 42])
def test_a_token_response_without_a_patient_opens_no_chart(smart, browser, monkeypatch, patient):
    def change(body):
        if patient is None:
            del body["patient"]
        else:
            body["patient"] = patient

    _doctor_token_response(monkeypatch, change)
    resp = ehr_launch(smart, browser)
    assert resp.status_code == 400
    assert error_kind(resp) == "missing_context"
    assert "Testperson" not in resp.text
