"""The bedside ICE form: the ten points of the ASTCT 2019 ICE score (Lee 2019, Table 2:
orientation to year, month, city and hospital 4 points; naming 3 objects 3; following commands 1;
writing a standard sentence 1; counting backwards from 100 by 10 1), the ICE-domain grade of the
total (ICE 10 grade 0, 7-9 grade 1, 3-6 grade 2, 0-2 grade 3), the Observation written (valid FHIR
R4, read back by the adapter), the scopes asked for and read, and the app's form over HTTP with the
FHIR server mocked: no write without scope, CSRF refused, a FHIR error shown without a 500."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import responses
from fhir.resources.R4B.observation import Observation

from immunotox.app import create_app
from launch import scopes, session
from services import fhir_writer, ice_form
from services.assess import assess
from services.knowledge import icans as K
from smart_app import fetch
from tests.fhir_factory import patient
from tests.unit.test_icans import cart

LOCAL = "https://immunotox.example/fhir/CodeSystem/assessment"
ISS = "https://fhir.example.org/r4"
BASE_URL = "https://cds.example.org"
IDS = (
    "orientation_year",
    "orientation_month",
    "orientation_city",
    "orientation_hospital",
    "naming",
    "commands",
    "writing",
    "attention",
)


def answers(total: int) -> dict[str, str]:
    """Form fields scoring `total`: the naming task first (3), then the 1-point tasks."""
    out = {}
    left = total
    for i in ("naming", *[x for x in IDS if x != "naming"]):
        top = 3 if i == "naming" else 1
        out[f"ice_{i}"] = str(min(top, left))
        left -= min(top, left)
    return out


# -- the knowledge row ---------------------------------------------------------------------


def test_the_form_asks_the_ten_points_of_the_astct_table():
    assert tuple(i.id for i in K.ICE_ITEMS) == IDS
    assert {i.id: i.points for i in K.ICE_ITEMS} == {
        "orientation_year": 1,
        "orientation_month": 1,
        "orientation_city": 1,
        "orientation_hospital": 1,
        "naming": 3,
        "commands": 1,
        "writing": 1,
        "attention": 1,
    }
    assert sum(i.points for i in K.ICE_ITEMS) == 10
    assert "100 by 10" in K.ICE_ITEMS[-1].text
    assert all(i.source.startswith("astct2019: Table 2") for i in K.ICE_ITEMS)


# -- parsing and grading -------------------------------------------------------------------


def test_every_task_must_be_answered_and_in_range():
    entry, problems = ice_form.parse({**answers(10), "ice_writing": ""})
    assert entry is None and problems == {"writing": "not answered"}
    entry, problems = ice_form.parse({**answers(10), "ice_commands": "2"})
    assert entry is None and problems == {"commands": "a score from 0 to 1"}
    entry, problems = ice_form.parse({**answers(10), "ice_naming": "4"})
    assert entry is None and "naming" in problems
    entry, problems = ice_form.parse({**answers(10), "ice_naming": "-1"})
    assert entry is None and "naming" in problems
    entry, problems = ice_form.parse({})
    assert entry is None and len(problems) == 8  # an empty form is not an ICE score of 0


@pytest.mark.parametrize(
    ("total", "grade"),
    [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3)],
)
def test_the_total_is_graded_on_both_sides_of_each_band(total, grade):
    entry, problems = ice_form.parse(answers(total))
    assert problems == {} and entry is not None
    assert entry.total == total
    g = ice_form.grade(entry, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert (g.score, g.max_score, g.grade) == (total, 10, grade)


def test_a_score_of_0_asks_whether_the_patient_can_be_roused():
    entry, _ = ice_form.parse(answers(0))
    g = ice_form.grade(entry, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert [m.data for m in g.missing] == ["level of consciousness"]


# -- the Observation -----------------------------------------------------------------------


def test_the_observation_is_valid_fhir_r4_with_the_product_code_and_each_task():
    entry, _ = ice_form.parse(answers(5))
    at = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
    res = fhir_writer.ice_observation(entry, "p1", at, "enc-9")
    Observation.model_validate(res)
    assert fhir_writer.validation_problems(res) == []
    assert res["status"] == "final"
    assert res["category"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "survey",
        "display": "Survey",
    }
    assert res["code"]["coding"][0]["system"] == LOCAL
    assert res["code"]["coding"][0]["code"] == "ice-score"
    assert res["code"]["text"] == "ICE score"
    assert res["valueInteger"] == 5
    assert res["subject"] == {"reference": "Patient/p1"}
    assert res["encounter"] == {"reference": "Encounter/enc-9"}
    assert res["effectiveDateTime"] == "2026-11-20T11:30:00+00:00"
    assert len(res["component"]) == 8
    assert sum(c["valueInteger"] for c in res["component"]) == 5
    assert "encounter" not in fhir_writer.ice_observation(entry, "p1", at)


def test_the_written_observation_is_graded_by_the_assessment():
    entry, _ = ice_form.parse(answers(5))
    at = datetime(2026, 11, 20, 11, tzinfo=UTC)
    res = {**fhir_writer.ice_observation(entry, "p1", at), "id": "new-ice"}
    a = assess([patient(), cart(), res], at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert a.icans.applies and a.icans.grade == 2
    assert a.icans.criteria[0].id == "icans.ice.g2"


def test_the_hooks_prefetch_asks_for_the_code_the_form_writes():
    from cds_hooks.registry import prefetch_catalogue

    assert f"{LOCAL}|ice-score" in prefetch_catalogue()["observations"]


# -- scopes --------------------------------------------------------------------------------


def test_write_scopes_are_asked_for_only_when_writing_is_on():
    assert "patient/Observation.c" in scopes.requested("v2", False, write=True).split()
    assert "patient/Observation.write" in scopes.requested("v1", True, write=True).split()
    for style in ("v1", "v2"):
        asked = scopes.requested(style, False, write=False).split()
        assert not [s for s in asked if s.endswith((".c", ".write"))]
    # reading is unchanged by writing
    assert "patient/Observation.rs" in scopes.requested("v2", False, write=True).split()
    assert "patient/Observation.read" in scopes.requested("v1", False, write=True).split()


@pytest.mark.parametrize(
    ("granted", "ok"),
    [
        ("patient/Observation.c", True),
        ("patient/Observation.cud", True),
        ("patient/Observation.cruds", True),
        ("patient/*.cruds", True),
        ("patient/Observation.write", True),
        ("patient/Observation.*", True),
        ("user/Observation.c", True),
        ("launch patient/Observation.rs patient/Patient.rs", False),
        ("patient/Observation.read", False),
        ("patient/Observation.r", False),
        ("patient/Observation.ud", False),
        ("patient/Condition.c", False),
        ("patient/Observation.c?category=survey", False),
        ("", False),
    ],
)
def test_create_is_read_from_v1_and_v2_scopes(granted, ok):
    assert scopes.can_create(granted, "Observation") is ok


def test_the_authorize_url_asks_for_write_unless_turned_off(tmp_path):
    from urllib.parse import parse_qs, urlsplit

    for on in (True, False):
        app = _app(tmp_path / str(on), SMART_WRITE_OBSERVATIONS=on)
        with app.test_request_context("/smart/launch"):
            url, _ = session.authorize_url(
                app,
                {"authorization_endpoint": f"{ISS}/auth", "token_endpoint": f"{ISS}/token"},
                ISS,
                f"{BASE_URL}/smart/callback",
                "L1",
                False,
            )
        asked = parse_qs(urlsplit(url).query)["scope"][0].split()
        assert ("patient/Observation.c" in asked) is on


# -- the form in the app, the FHIR server mocked -------------------------------------------


def _app(tmp_path, **extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
            "CDS_AUTH": "off",
            "SECRET_KEY": "test-only",
            "SESSION_COOKIE_SECURE": False,
            "FHIR_ALLOWLIST": ISS,
            "PUBLIC_BASE_URL": BASE_URL,
            "TESTING": True,
            **extra,
        }
    )


class Launched:
    def __init__(self, tmp_path, monkeypatch, scope: str, **cfg):
        self.app = _app(tmp_path, **cfg)
        self.sid = "sid-0123456789abcdef-0123456789abcdef"
        now = time.time()
        with self.app.app_context():
            session._put(
                self.app,
                session.NS_SESSION,
                self.sid,
                {
                    "iss": ISS,
                    "token_endpoint": f"{ISS}/token",
                    "auth_methods": [],
                    "access_token": "AT-0123456789",
                    "refresh_token": None,
                    "expires_at": now + 3600,
                    "lifetime": 3600,
                    "scope": scope,
                    "patient": "p1",
                    "encounter": "enc-1",
                    "need_patient_banner": True,
                    "smart_style_url": None,
                    "app_context": None,
                    "standalone": False,
                    "ctx": "c1",
                    "created": now,
                },
                3600,
            )
        self.record = [
            patient(),
            {**cart(), "effectiveDateTime": (datetime.now(UTC) - timedelta(days=4)).isoformat()},
        ]
        self.fetches = 0

        def fake_fetch(base, pid, token, timeout, readable, **kw):
            self.fetches += 1
            return fetch.Record(self.record[0], list(self.record))

        monkeypatch.setattr(fetch, "fetch_record", fake_fetch)
        self.client = self.app.test_client()
        self.client.set_cookie(session.SID_COOKIE, self.sid)

    def page(self) -> str:
        r = self.client.get("/app/?ctx=c1")
        assert r.status_code == 200
        return r.get_data(as_text=True)

    def csrf(self) -> str:
        return re.search(r'name="csrf" value="([0-9a-f]+)"', self.page()).group(1)

    def submit(self, fields: dict[str, str], csrf: str | None = None, entry: str | None = None):
        data = {**fields, "csrf": self.csrf() if csrf is None else csrf}
        if entry is not None:
            data["entry"] = entry
        return self.client.post("/app/ice?ctx=c1", data=data, headers={"Origin": BASE_URL})


WRITE = "launch patient/*.rs patient/Observation.c"
READ = "launch patient/*.rs"


def test_the_page_shows_the_form_with_the_ten_points(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, WRITE)
    html = s.page()
    assert 'id="ice"' in html and 'class="ice-form' in html
    assert html.count('type="radio" name="ice_') == 7 * 2 + 4  # 1-point tasks 2 each, naming 4
    assert "Orientation to hospital" in html and "Counts backwards from 100 by 10" in html
    assert "Submitting saves the ICE score to the chart." in html


@responses.activate
def test_with_write_scope_the_observation_is_posted_and_the_grade_shown(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, WRITE)
    posted = []

    def created(request):
        import json

        body = json.loads(request.body)
        posted.append((body, request.headers))
        s.record.append({**body, "id": "ice-1"})  # the server now holds it
        return 201, {"Location": f"{ISS}/Observation/ice-1/_history/1"}, ""

    responses.add_callback(responses.POST, f"{ISS}/Observation", callback=created)
    r = s.submit(answers(5))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert len(posted) == 1
    body, headers = posted[0]
    assert headers["Authorization"] == "Bearer AT-0123456789"
    assert headers["Content-Type"] == "application/fhir+json"
    Observation.model_validate(body)
    assert body["valueInteger"] == 5 and body["subject"] == {"reference": "Patient/p1"}
    assert body["encounter"] == {"reference": "Encounter/enc-1"}
    assert 'data-ice-score="5" data-ice-grade="2"' in html
    assert "ICE score 5/10" in html
    assert 'data-ice-written="true"' in html and "Saved to the chart." in html
    assert " checked" not in html  # saved: the form is empty again, a second submit is new
    # the page's record was read after the write: the section grades the new score
    assert 'data-icans-applies="true" data-grade="2"' in html


@responses.activate
def test_without_write_scope_nothing_is_written_and_the_grade_is_shown(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, READ)
    assert "the EHR did not grant this app write access" in s.page()
    r = s.submit(answers(8))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert len(responses.calls) == 0  # no POST anywhere
    assert 'data-ice-score="8" data-ice-grade="1"' in html
    assert 'data-ice-written="false"' in html
    assert html.count("Not saved to the chart: the EHR did not grant this app write access.") == 1


@responses.activate
def test_writing_turned_off_writes_nothing_even_with_the_scope(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, WRITE, SMART_WRITE_OBSERVATIONS=False)
    page = s.page()
    assert "Not saved to the chart: writing is turned off for this app." in page
    assert "did not grant" not in page
    r = s.submit(answers(10))
    assert r.status_code == 200 and len(responses.calls) == 0
    assert "writing is turned off" in r.get_data(as_text=True)


@responses.activate
def test_a_missing_or_wrong_csrf_token_is_refused_and_nothing_written(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, WRITE)
    responses.add(responses.POST, f"{ISS}/Observation", status=201)
    for token in ("", "0" * 64):
        r = s.submit(answers(5), csrf=token)
        assert r.status_code == 403
        assert "Nothing was saved" in r.get_data(as_text=True)
    # a token of another session (another sid) is refused too
    from smart_app import ice

    foreign = ice.csrf_token({"sid": "another-session", "ctx": "c1"})
    assert s.submit(answers(5), csrf=foreign).status_code == 403
    assert len(responses.calls) == 0


def test_a_post_from_another_site_is_refused(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, WRITE)
    token = s.csrf()
    r = s.client.post(
        "/app/ice?ctx=c1",
        data={**answers(5), "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (422, "did not accept the ICE score (HTTP 422)"),
        (403, "the EHR refused the write (HTTP 403)"),
        (500, "failed (HTTP 500)"),
        (503, "failed (HTTP 503)"),
    ],
)
@responses.activate
def test_a_fhir_error_is_a_message_with_the_score_and_the_answers_kept(
    tmp_path, monkeypatch, status, says
):
    s = Launched(tmp_path, monkeypatch, WRITE)
    responses.add(
        responses.POST,
        f"{ISS}/Observation",
        status=status,
        json={"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]},
    )
    fields = answers(4)
    r = s.submit(fields)
    html = r.get_data(as_text=True)
    assert r.status_code == 502
    assert says in html and 'role="alert"' in html
    assert 'data-ice-score="4" data-ice-grade="2"' in html
    assert 'data-ice-written="false"' in html
    for name, value in fields.items():  # every answer still checked
        assert f'name="{name}" value="{value}" required checked' in html


@responses.activate
def test_a_timeout_says_the_write_may_have_happened(tmp_path, monkeypatch):
    import requests

    s = Launched(tmp_path, monkeypatch, WRITE)
    responses.add(responses.POST, f"{ISS}/Observation", body=requests.ConnectTimeout())
    r = s.submit(answers(9))
    html = r.get_data(as_text=True)
    assert r.status_code == 502
    assert "may or may not have been saved" in html
    assert 'data-ice-score="9" data-ice-grade="1"' in html


@responses.activate
def test_an_incomplete_form_is_a_400_naming_the_tasks_and_nothing_written(tmp_path, monkeypatch):
    s = Launched(tmp_path, monkeypatch, WRITE)
    fields = answers(10)
    del fields["ice_attention"]
    r = s.submit(fields)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert len(responses.calls) == 0
    assert 'id="ice_attention-problem">not answered' in html
    assert "data-ice-score" not in html
    assert 'name="ice_writing" value="1" required checked' in html


# -- the FHIR client's create ----------------------------------------------------------------


def _client(token="T1"):
    from immunotox.fhir_client import FhirClient

    return FhirClient(ISS, deadline=time.monotonic() + 5, timeout_s=2, token=token)


@responses.activate
def test_create_returns_the_stored_resource_or_the_id_of_its_location():
    responses.add(
        responses.POST,
        f"{ISS}/Observation",
        json={"resourceType": "Observation", "id": "srv-1", "status": "final"},
        status=201,
    )
    assert _client().create({"resourceType": "Observation"})["id"] == "srv-1"
    responses.replace(
        responses.POST,
        f"{ISS}/Observation",
        status=201,
        headers={"Location": f"{ISS}/Observation/srv-2/_history/1"},
    )
    got = _client().create({"resourceType": "Observation", "status": "final"})
    assert got == {"resourceType": "Observation", "status": "final", "id": "srv-2"}


@responses.activate
def test_create_refreshes_the_token_once_on_401_and_never_follows_a_redirect():
    from immunotox.fhir_client import HTTP_STATUS, FhirError

    responses.add(responses.POST, f"{ISS}/Observation", status=401)
    responses.add(responses.POST, f"{ISS}/Observation", status=201)
    seen = []

    def token(refused):
        seen.append(refused)
        return "T2" if refused else "T1"

    _client(token).create({"resourceType": "Observation"})
    assert seen == [None, "T1"]
    assert [c.request.headers["Authorization"] for c in responses.calls] == [
        "Bearer T1",
        "Bearer T2",
    ]
    responses.replace(
        responses.POST,
        f"{ISS}/Observation",
        status=307,
        headers={"Location": "https://elsewhere.example/Observation"},
    )
    with pytest.raises(FhirError) as e:
        _client().create({"resourceType": "Observation"})
    assert (e.value.code, e.value.status) == (HTTP_STATUS, 307)
    assert not [c for c in responses.calls if "elsewhere" in c.request.url]


@responses.activate
def test_the_same_entry_sent_twice_is_saved_once_and_a_failed_one_can_be_sent_again(
    tmp_path, monkeypatch
):
    s = Launched(tmp_path, monkeypatch, WRITE)
    entry = re.search(r'name="entry" value="([^"]+)"', s.page()).group(1)
    responses.add(responses.POST, f"{ISS}/Observation", status=500)
    responses.add(responses.POST, f"{ISS}/Observation", status=201)
    first = s.submit(answers(6), entry=entry)
    assert first.status_code == 502  # failed: the entry is released
    second = s.submit(answers(6), entry=entry)
    assert second.status_code == 200 and "Saved to the chart." in second.get_data(as_text=True)
    third = s.submit(answers(6), entry=entry)  # the browser sends the same page again
    html = third.get_data(as_text=True)
    assert third.status_code == 200
    assert "already sent: it was not saved a second time" in html
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 2
    fresh = re.search(r'name="entry" value="([^"]+)"', html).group(1)
    assert fresh != entry  # the form shown again is a new entry
