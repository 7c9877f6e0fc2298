"""The client key-set cache (`cds_hooks.auth.JwksCache`): a key server that fails or hangs costs
one fetch per back-off period, not one per call; one fetch at a time per URL; the last good set
is kept while the key server is down."""

from __future__ import annotations

import base64
import json
import threading
import time

import requests
import responses

from cds_hooks import auth
from cds_hooks.auth import JwksCache

URL = "https://ehr.example/jwks"
KEYS = {"keys": [{"kty": "EC", "kid": "k1"}]}


@responses.activate
def test_a_failing_key_server_is_asked_once_per_back_off_not_once_per_call():
    responses.get(URL, body=requests.ConnectionError("down"))
    cache = JwksCache(0.5)
    for _ in range(20):
        assert cache.get(URL) is None
        assert cache.get(URL, refresh=True) is None
    assert len(responses.calls) == 1 and cache.fetches == 1


@responses.activate
def test_after_the_back_off_the_key_server_is_asked_again_and_the_back_off_doubles(monkeypatch):
    responses.get(URL, body=requests.ConnectionError("down"))
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    cache = JwksCache(0.5)
    cache.get(URL)
    clock[0] += auth.JWKS_BACKOFF_S - 0.1
    cache.get(URL)
    assert cache.fetches == 1
    clock[0] += 0.2
    cache.get(URL)
    assert cache.fetches == 2  # second failure: the next wait is twice as long
    clock[0] += auth.JWKS_BACKOFF_S * 2 - 0.1
    cache.get(URL)
    assert cache.fetches == 2
    clock[0] += 0.2
    cache.get(URL)
    assert cache.fetches == 3


@responses.activate
def test_the_last_good_key_set_is_kept_while_the_key_server_is_down(monkeypatch):
    responses.get(URL, json=KEYS)
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    cache = JwksCache(0.5)
    assert cache.get(URL) == KEYS
    responses.replace(responses.GET, URL, body=requests.ConnectionError("down"))
    clock[0] += auth.JWKS_TTL_S + 1  # expired: refetched, fails, the old set serves
    assert cache.get(URL) == KEYS and cache.fetches == 2
    clock[0] += auth.JWKS_STALE_MAX_S  # too old to trust any longer
    assert cache.get(URL) is None


def test_one_fetch_at_a_time_per_url():
    started = threading.Event()
    calls = []

    def slow_get(url, **kw):
        calls.append(url)
        started.set()
        time.sleep(0.3)
        raise requests.ConnectionError("down")

    cache = JwksCache(1.0, http_get=slow_get)
    threads = [threading.Thread(target=cache.get, args=(URL,)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert calls == [URL]


def test_a_refused_token_naming_a_hanging_key_server_does_not_fetch_per_call(monkeypatch):
    """The attack: unsigned tokens naming a trusted issuer whose key-set URL hangs. Each call
    fetched the key set (1.5 s, one connection each); now the first waits for the fetch's
    deadline and the rest are refused at once during the back-off."""
    calls = []

    def hanging_get(url, timeout, **kw):
        calls.append(url)
        time.sleep(min(timeout[0], 0.2))
        raise requests.Timeout("hangs")

    clients = {"https://ehr.example": auth.TrustedClient("https://ehr.example", jwks_url=URL)}
    verifier = auth.Verifier(clients, lambda *a: True, JwksCache(0.2, http_get=hanging_get))
    now = int(time.time())
    forged = ".".join(
        [
            _b64({"alg": "ES384", "typ": "JWT", "kid": "k1"}),
            _b64({"iss": "https://ehr.example", "exp": now + 60, "iat": now, "jti": "j"}),
            "c2ln",  # no valid signature: refused whatever happens
        ]
    )
    t0 = time.monotonic()
    codes = []
    for _ in range(10):
        try:
            verifier.verify(f"Bearer {forged}", "https://cds.example/cds-services")
        except auth.AuthError as e:
            codes.append(e.code)
    assert codes == ["unknown_kid"] * 10
    assert len(calls) == 1
    assert time.monotonic() - t0 < 1.5


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
