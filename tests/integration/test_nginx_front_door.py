"""The production front door (deploy/nginx): nginx from Debian, with the shipped proxy
settings, in front of `immunotox serve`. Slow clients hold nginx connections, not gunicorn
worker threads (#13: 24 sockets sending a header line every 5 s took the service down), and
the public base URL and scheme come out right through the proxy.

nginx runs with its own configuration, prefix and port under a temp folder (never the system
service); `scripts/test-setup-nginx.sh` installs it. Without nginx the tests skip saying so,
and fail in CI.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from demo.runner import ThreadedServer, app_server, free_port, subprocess_server
from tests.ci import require_or_skip

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
WORKERS, THREADS = 1, 4  # one worker of four threads: four stalled connections would fill it
SLOW_CLIENTS = 12


PROXY_CONF = ROOT / "deploy" / "nginx" / "immunotox-proxy.conf"


def _nginx_conf(prefix: Path, upstream_port: int, http_port: int, more: str = "") -> Path:
    """nginx's configuration under `prefix`: the shipped proxy settings on `http_port`, passing
    on to `upstream_port` (the `immunotox` upstream the shipped file names)."""
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream immunotox {{ server 127.0.0.1:{upstream_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{http_port};
        server_name localhost;
        include {PROXY_CONF};
    }}{more}
}}
"""
    )
    return conf


def _nginx(prefix: Path, conf: Path, ready_url: str):
    return subprocess_server(
        [str(NGINX), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        ready_url,
        prefix / "nginx.out",
        "nginx",
        timeout_s=30,
    )


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp / "cert.pem", tmp / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


@pytest.fixture(scope="module")
def front_door(tmp_path_factory):
    if not NGINX.exists():
        require_or_skip("nginx is not installed: run scripts/test-setup-nginx.sh")
    from flask import Flask, jsonify

    tmp = tmp_path_factory.mktemp("front-door")
    # a FHIR server that offers SMART sign-in, for the launch redirect
    fhir = Flask("fake-fhir")

    @fhir.get("/fhir/.well-known/smart-configuration")
    def smart_configuration():
        return jsonify(
            authorization_endpoint="https://ehr.example/authorize",
            token_endpoint="https://ehr.example/token",
        )

    fhir_port, app_port, tls_port, http_port = free_port(), free_port(), free_port(), free_port()
    fhir_base = f"http://127.0.0.1:{fhir_port}/fhir"
    fake = ThreadedServer(fhir, "127.0.0.1", fhir_port).start()
    crt, key = _self_signed(tmp)
    prefix = tmp / "nginx"
    conf = _nginx_conf(
        prefix,
        app_port,
        http_port,
        f"""
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        server_name localhost;
        ssl_certificate {crt};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        include {PROXY_CONF};
    }}""",
    )
    env = {
        "IMMUNOTOX_CDS_AUTH": "off",
        "IMMUNOTOX_FHIR_ALLOWLIST": fhir_base,
        "IMMUNOTOX_INSTANCE_DIR": str(tmp / "app"),
        "IMMUNOTOX_LOG_FORMAT": "json",
    }
    (tmp / "app").mkdir()
    try:
        with (
            app_server("127.0.0.1", app_port, WORKERS, env, tmp / "app") as app_base,
            _nginx(prefix, conf, f"http://127.0.0.1:{http_port}/healthz"),
        ):
            yield {
                "app": app_base,
                "http": f"http://127.0.0.1:{http_port}",
                "https": f"https://localhost:{tls_port}",
                "ca": str(crt),
                "fhir": fhir_base,
                "log": tmp / "app" / "immunotox.log",
                "ports": (app_port, http_port),
            }
    finally:
        fake.stop()
        shutil.rmtree(prefix / "body", ignore_errors=True)


def _redirect_uri(resp: requests.Response) -> str:
    assert resp.status_code == 302, resp.text[:300]
    return parse_qs(urlsplit(resp.headers["Location"]).query)["redirect_uri"][0]


def test_the_public_base_url_and_scheme_come_out_right_through_the_proxy(front_door):
    https = front_door["https"]
    r = requests.get(
        f"{https}/smart/standalone",
        params={"iss": front_door["fhir"]},
        verify=front_door["ca"],
        allow_redirects=False,
        timeout=30,
    )
    # the app saw https and the name and port the client used, not gunicorn's own address
    assert _redirect_uri(r) == f"{https}/smart/callback"
    assert "Secure" in r.headers["Set-Cookie"]
    assert r.headers["X-Request-Id"]
    # a client's own X-Forwarded-Proto is not believed: nginx sets it from the real scheme
    r = requests.get(
        f"{front_door['http']}/smart/standalone",
        params={"iss": front_door["fhir"]},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Protocol": "ssl"},
        allow_redirects=False,
        timeout=30,
    )
    assert _redirect_uri(r) == f"{front_door['http']}/smart/callback"


def test_the_request_id_from_the_proxy_is_on_the_services_log_lines(front_door):
    import json

    r = requests.post(
        f"{front_door['http']}/cds-services/immunotox-patient-view",
        json={"hook": "patient-view"},
        headers={"X-Request-Id": "client-chosen-id-0001"},  # replaced by nginx's own
        timeout=30,
    )
    assert r.status_code == 400  # not a valid hook call; what matters is the log line
    rid = r.headers["X-Request-Id"]
    assert rid != "client-chosen-id-0001" and len(rid) == 32  # nginx's $request_id
    time.sleep(0.5)
    lines = [json.loads(x) for x in front_door["log"].read_text().splitlines() if x.startswith("{")]
    mine = [x for x in lines if x.get("request_id") == rid]
    assert mine, lines[-5:]
    assert {"time", "level", "logger", "message"} <= set(mine[0])
    assert any("immunotox-patient-view" in x["message"] for x in mine), mine


def _slow_client(port: int, stop: threading.Event, body: bool, out: list) -> None:
    """Sends a request a line (or a body byte) a second until told to stop or closed."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError as e:
        out.append(f"connect: {e}")
        return
    try:
        if body:
            s.sendall(
                b"POST /cds-services/immunotox-patient-view HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            )
        else:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        i = 0
        while not stop.wait(1.0):
            i += 1
            s.sendall(b" " if body else f"X-Slow-{i}: 1\r\n".encode())
        out.append("open")
    except OSError:
        out.append("closed by server")
    finally:
        s.close()


def _probe(url: str, timeout: float) -> float | None:
    t0 = time.monotonic()
    try:
        ok = requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return None
    return time.monotonic() - t0 if ok else None


def _with_slow_clients(port: int, probe_url: str, timeout: float) -> list[float | None]:
    stop = threading.Event()
    out: list[str] = []
    threads = [
        threading.Thread(target=_slow_client, args=(port, stop, i % 3 == 0, out), daemon=True)
        for i in range(SLOW_CLIENTS)
    ]
    for t in threads:
        t.start()
    time.sleep(2.0)  # every slow client connected and trickling
    try:
        return [_probe(probe_url, timeout) for _ in range(3)]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)


def test_slow_clients_no_longer_tie_up_workers(front_door):
    app_port, http_port = front_door["ports"]
    # Control: straight at gunicorn, the slow clients hold every worker thread.
    direct = _with_slow_clients(app_port, f"{front_door['app']}/healthz", timeout=3.0)
    assert direct[0] is None, f"gunicorn answered despite {SLOW_CLIENTS} slow clients: {direct}"
    time.sleep(1.0)
    # Through nginx, the same slow clients wait in nginx; the service answers at once.
    proxied = _with_slow_clients(http_port, f"{front_door['http']}/healthz", timeout=3.0)
    assert all(t is not None and t < 1.0 for t in proxied), proxied


@pytest.fixture(scope="module")
def echo_door(tmp_path_factory):
    """The shipped proxy settings in front of a server that answers with the headers it got."""
    if not NGINX.exists():
        require_or_skip("nginx is not installed: run scripts/test-setup-nginx.sh")
    from flask import Flask, jsonify, request

    echo = Flask("echo")

    @echo.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @echo.route("/<path:path>", methods=["GET", "POST"])
    def headers(path):
        return jsonify(dict(request.headers))

    tmp = tmp_path_factory.mktemp("echo-door")
    echo_port, http_port = free_port(), free_port()
    server = ThreadedServer(echo, "127.0.0.1", echo_port).start()
    prefix = tmp / "nginx"
    conf = _nginx_conf(prefix, echo_port, http_port)
    try:
        with _nginx(prefix, conf, f"http://127.0.0.1:{http_port}/healthz"):
            yield f"http://127.0.0.1:{http_port}"
    finally:
        server.stop()
        shutil.rmtree(prefix / "body", ignore_errors=True)


def test_the_proxy_stamps_arrival_in_the_form_the_hook_deadline_reads(echo_door, tmp_path):
    """nginx sends `X-Request-Start: t=<seconds>.<ms>` (its `$msec`), replacing a client's own,
    and the hook side takes that moment as the request's arrival (#13 finding 11)."""
    from cds_hooks.blueprint import arrival
    from immunotox.app import create_app

    before = time.time()
    r = requests.get(f"{echo_door}/cds-services", headers={"X-Request-Start": "t=1"}, timeout=10)
    after = time.time()
    assert r.status_code == 200, r.text[:300]
    stamp = r.json().get("X-Request-Start")
    assert stamp is not None, r.json()
    assert re.fullmatch(r"t=\d{10}\.\d{3}", stamp), stamp
    sent = float(stamp[2:])
    assert before - 0.01 <= sent <= after + 0.01, (before, sent, after)

    app = create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "CDS_AUTH": "off",
            "SECRET_KEY": "t",
            "TESTING": True,
        }
    )
    # a request nginx stamped 1.5 s ago has waited 1.5 s of its deadline already
    stamp = f"t={time.time() - 1.5:.3f}"
    with app.test_request_context(headers={"X-Request-Start": stamp}):
        assert time.monotonic() - arrival() == pytest.approx(1.5, abs=0.05)
