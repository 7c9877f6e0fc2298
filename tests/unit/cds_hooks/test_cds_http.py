"""The HTTP surface: discovery, each service end to end (with a hand-built Assessment), the
prefetch step against a mocked FHIR server, every error status, CORS, logging and feedback."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest
import requests
import responses

from cds_hooks import feedback as fb
from cds_hooks.prefetch import hydrate
from cds_hooks.spec import HookRequest
from immunotox.app import create_app
from immunotox.store import get_store as app_store
from tests.unit.cds_hooks.fixtures import (
    AT,
    FHIR,
    PID,
    SERVICE_FOR_HOOK,
    TOKEN,
    assessment,
    bundle,
    check_response,
    condition,
    finding,
    full_prefetch,
    hook_body,
    med_request,
    observation,
    patient,
    rec_mp,
    rec_toci,
)


def make_app(tmp_path, **overrides):
    cfg = {
        "INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "CDS_AUTH": "off",
        "SECRET_KEY": "test-only",
        "SESSION_COOKIE_SECURE": False,
        "TESTING": True,
        "FHIR_ALLOWLIST": FHIR,
        "HOOK_DEADLINE_S": 2.0,
        "FHIR_TIMEOUT_S": 0.5,
        **overrides,
    }
    return create_app(cfg)


@pytest.fixture
def hclient(tmp_path):
    return make_app(tmp_path).test_client()


@pytest.fixture
def seen(monkeypatch):
    """Replace the domain core: record the resources it is given, return a chosen Assessment."""
    state = SimpleNamespace(
        resources=None,
        result=assessment({"lee2014": 3}, irae=[finding()], recs=[rec_toci(), rec_mp()]),
    )

    def fake(resources, at=None, **kw):
        state.resources = resources
        if isinstance(state.result, Exception):
            raise state.result
        return state.result

    monkeypatch.setattr("cds_hooks.pipeline.run_assessment", fake)
    return state


def post(client, sid, body, **kw):
    return client.post(
        f"/cds-services/{sid}", data=json.dumps(body), content_type="application/json", **kw
    )


# -- discovery --------------------------------------------------------------------------------


def test_discovery_lists_every_service_by_id_with_tokenised_prefetch(hclient):
    r = hclient.get("/cds-services")
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json["services"]}
    assert set(services) == set(SERVICE_FOR_HOOK.values())
    assert {s["hook"] for s in services.values()} == set(SERVICE_FOR_HOOK)
    pv = services["immunotox-patient-view"]
    assert pv["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert "http://loinc.org|8310-5" in pv["prefetch"]["observations"]
    assert "{{context.patientId}}" in pv["prefetch"]["oxygenProcedures"]
    assert pv["description"] and pv["title"] and pv["usageRequirements"]
    assert "baselineLabs" in services["immunotox-order-sign"]["prefetch"]


# -- each service with a full prefetch --------------------------------------------------------


@pytest.mark.parametrize("hook", ["patient-view", "encounter-start"])
def test_assessment_services_with_full_prefetch_answer_one_card(hclient, seen, hook):
    r = post(hclient, SERVICE_FOR_HOOK[hook], hook_body(hook))
    assert r.status_code == 200
    [card] = check_response(r.json)
    assert card["indicator"] == "critical"
    assert any(x.get("resourceType") == "Patient" for x in seen.resources)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_order_services_with_full_prefetch_check_the_drafts(hclient, seen, hook):
    drafts = bundle(med_request("d1", "pembrolizumab", "1547545", 200))
    r = post(hclient, SERVICE_FOR_HOOK[hook], hook_body(hook, draftOrders=drafts))
    [card] = check_response(r.json)
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/d1"
    assert not any(x.get("id") == "d1" for x in seen.resources)  # drafts are not exposure


def test_problem_list_service_passes_the_new_condition_to_the_assessment(hclient, seen):
    conds = bundle(condition("c9", "G37.3", "Acute transverse myelitis"))
    r = post(
        hclient, "immunotox-problem-list", hook_body("problem-list-item-create", conditions=conds)
    )
    [card] = check_response(r.json)
    assert "transverse myelitis" in card["summary"]
    assert any(x.get("id") == "c9" for x in seen.resources)


def test_nothing_relevant_answers_an_empty_card_list(hclient, seen):
    seen.result = assessment()
    r = post(hclient, "immunotox-patient-view", hook_body())
    assert r.status_code == 200 and r.json == {"cards": []}


def test_a_domain_exception_becomes_an_explicit_error_card_and_is_logged(hclient, seen, caplog):
    seen.result = KeyError("Patient/secret-id")
    with caplog.at_level(logging.ERROR, logger="immunotox.cds_hooks"):
        r = post(hclient, "immunotox-patient-view", hook_body())
    assert r.status_code == 200
    [card] = check_response(r.json)
    assert card["indicator"] == "warning" and "could not assess" in card["summary"]
    assert "KeyError" in caplog.text and "secret-id" not in caplog.text


# -- prefetch and FHIR fetch ------------------------------------------------------------------


@responses.activate
def test_empty_prefetch_fetches_everything_in_parallel_with_the_bearer_token(hclient, seen):
    responses.get(f"{FHIR}/Patient/{PID}", json=patient())
    responses.get(f"{FHIR}/Observation", json=bundle(observation("o1", "8310-5", AT)))
    for rt in (
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationStatement",
        "Condition",
        "Procedure",
        "DeviceUseStatement",
        "AllergyIntolerance",
    ):
        responses.get(f"{FHIR}/{rt}", json=bundle())
    r = post(
        hclient, "immunotox-patient-view", hook_body(prefetch=None, fhir_server=FHIR, token=TOKEN)
    )
    assert r.status_code == 200
    check_response(r.json)
    assert len(responses.calls) == 9
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in responses.calls)
    assert {x["id"] for x in seen.resources} >= {PID, "o1"}
    assert any(f"patient={PID}" in c.request.url for c in responses.calls)


@responses.activate
def test_next_links_are_followed_and_merged():
    responses.get(
        f"{FHIR}/Observation",
        json=bundle(observation("o1", "8310-5", AT), next_url=f"{FHIR}/Observation?_page=2"),
        match=[responses.matchers.query_param_matcher({"patient": PID}, strict_match=False)],
    )
    responses.get(
        f"{FHIR}/Observation",
        json=bundle(observation("o2", "8310-5", AT)),
        match=[responses.matchers.query_param_matcher({"_page": "2"})],
    )
    req = HookRequest.parse(
        hook_body(prefetch={"patient": patient()}, fhir_server=FHIR, token=TOKEN)
    )
    h = hydrate(
        req,
        {
            "patient": "Patient/{{context.patientId}}",
            "observations": "Observation?patient={{context.patientId}}",
        },
        {"FHIR_ALLOWLIST": FHIR},
    )
    assert [x["id"] for x in h.resources() if x["resourceType"] == "Observation"] == ["o1", "o2"]
    assert h.fetched == ("observations",) and not h.failed


@responses.activate
def test_search_values_are_percent_encoded_so_a_proxy_that_collapses_slashes_keeps_them():
    # The SMART launcher's FHIR proxy (smart-on-fhir/smart-launcher-v2; the CDS Hooks sandbox
    # is pointed at it) forwards `new URL(...).href.replace(/\/\s*\//g, "/")`: an unencoded
    # `code=http://loinc.org|8310-5` reaches the server as `http:/loinc.org|8310-5` and matches
    # nothing, so the record looked empty (no weight, no temperature) without any error.
    def launcher_proxy(request):
        raw_query = request.url.split("?", 1)[1]
        if "//" in raw_query:
            return 200, {}, json.dumps(bundle())  # the mangled system matches nothing
        assert parse_qs(raw_query)["code"] == ["http://loinc.org|8310-5,http://loinc.org|8867-4"]
        return 200, {}, json.dumps(bundle(observation("o1", "8310-5", AT)))

    responses.add_callback(responses.GET, f"{FHIR}/Observation", callback=launcher_proxy)
    req = HookRequest.parse(
        hook_body(prefetch={"patient": patient()}, fhir_server=FHIR, token=TOKEN)
    )
    h = hydrate(
        req,
        {
            "patient": "Patient/{{context.patientId}}",
            "observations": "Observation?patient={{context.patientId}}"
            "&code=http://loinc.org|8310-5,http://loinc.org|8867-4&_count=1000",
        },
        {"FHIR_ALLOWLIST": FHIR},
    )
    assert [x["id"] for x in h.resources() if x["resourceType"] == "Observation"] == ["o1"]
    raw_query = responses.calls[0].request.url.split("?", 1)[1]
    assert "code=http%3A%2F%2Floinc.org%7C8310-5,http%3A%2F%2Floinc.org%7C8867-4" in raw_query
    assert f"patient={PID}" in raw_query and "_count=1000" in raw_query


@responses.activate
def test_next_links_leaving_the_server_are_not_followed_and_the_token_stays_home():
    responses.get(
        f"{FHIR}/Observation",
        json=bundle(
            observation("o1", "8310-5", AT), next_url="https://evil.example/r4/Observation?p=2"
        ),
    )
    req = HookRequest.parse(
        hook_body(prefetch={"patient": patient()}, fhir_server=FHIR, token=TOKEN)
    )
    h = hydrate(
        req,
        {"patient": "Patient/{{context.patientId}}", "observations": "Observation?patient=x"},
        {"FHIR_ALLOWLIST": FHIR},
    )
    assert len(responses.calls) == 1 and "evil" not in responses.calls[0].request.url
    assert any("outside the FHIR server" in n for n in h.notes)


@responses.activate
def test_paging_stops_at_the_page_cap(monkeypatch):
    monkeypatch.setattr("cds_hooks.prefetch.MAX_PAGES", 3)
    responses.get(
        f"{FHIR}/Observation",
        json=bundle(observation("o1", "8310-5", AT), next_url=f"{FHIR}/Observation?again=1"),
    )
    req = HookRequest.parse(hook_body(prefetch={"patient": patient()}, fhir_server=FHIR))
    h = hydrate(
        req,
        {"patient": "Patient/{{context.patientId}}", "observations": "Observation?x=1"},
        {"FHIR_ALLOWLIST": FHIR},
    )
    assert len(responses.calls) == 3 and any("first 3 pages" in n for n in h.notes)


@responses.activate
def test_redirects_are_not_followed():
    responses.get(
        f"{FHIR}/Patient/{PID}", status=302, headers={"Location": "https://evil.example/x"}
    )
    req = HookRequest.parse(hook_body(prefetch={}, fhir_server=FHIR, token=TOKEN))
    with pytest.raises(Exception) as e:
        hydrate(req, {"patient": "Patient/{{context.patientId}}"}, {"FHIR_ALLOWLIST": FHIR})
    assert "302" in str(e.value) and len(responses.calls) == 1


@responses.activate
def test_an_operation_outcome_in_the_prefetch_is_fetched_again(hclient, seen):
    pf = full_prefetch()
    pf["observations"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    responses.get(f"{FHIR}/Observation", json=bundle(observation("o7", "8310-5", AT)))
    r = post(
        hclient, "immunotox-patient-view", hook_body(prefetch=pf, fhir_server=FHIR, token=TOKEN)
    )
    assert r.status_code == 200 and len(responses.calls) == 1
    assert any(x.get("id") == "o7" for x in seen.resources)


def test_the_request_prefetch_is_not_modified():
    body = hook_body(prefetch={"patient": patient(), "observations": None})
    before = copy.deepcopy(body)
    h = hydrate(
        HookRequest.parse(body),
        {
            "patient": "Patient/{{context.patientId}}",
            "observations": "Observation?patient={{context.patientId}}",
            "conditions": "Condition?patient={{context.patientId}}",
        },
        {},
    )
    assert body == before
    assert h.data["observations"] is None  # null with no server: "no data", not a failure
    assert "observations" not in h.failed and "conditions" in h.failed


@responses.activate
def test_an_unreachable_fhir_server_gives_a_degraded_card_not_a_500(hclient, seen):
    pf = full_prefetch()
    del pf["observations"]
    responses.get(f"{FHIR}/Observation", body=requests.ConnectionError("refused"))
    r = post(
        hclient, "immunotox-patient-view", hook_body(prefetch=pf, fhir_server=FHIR, token=TOKEN)
    )
    assert r.status_code == 200
    [card] = check_response(r.json)
    assert "observations: the FHIR server could not be reached" in card["detail"]


@responses.activate
def test_a_fhir_timeout_on_the_patient_is_412(hclient, seen):
    responses.get(f"{FHIR}/Patient/{PID}", body=requests.ConnectTimeout("slow"))
    pf = full_prefetch()
    del pf["patient"]
    r = post(
        hclient, "immunotox-patient-view", hook_body(prefetch=pf, fhir_server=FHIR, token=TOKEN)
    )
    assert (
        r.status_code == 412 and "patient" in r.json["message"] and "timed out" in r.json["message"]
    )


def test_a_hanging_fhir_server_is_cut_off_at_the_deadline():
    hang_over = threading.Event()

    def slow_get(url, **kw):
        hang_over.wait(30)  # hangs for the whole test
        raise AssertionError("should have been abandoned")

    req = HookRequest.parse(
        hook_body(prefetch={"patient": patient()}, fhir_server=FHIR, token=TOKEN)
    )
    t0 = time.monotonic()
    h = hydrate(
        req,
        {"patient": "Patient/{{context.patientId}}", "observations": "Observation?x=1"},
        {"FHIR_ALLOWLIST": FHIR, "HOOK_DEADLINE_S": 0.3, "FHIR_TIMEOUT_S": 0.2},
        http_get=slow_get,
    )
    elapsed = time.monotonic() - t0
    hang_over.set()
    # a 0.3 s deadline; the bound is five times that, for a loaded machine (the hang is 30 s)
    assert elapsed < 1.5
    assert h.failed == {"observations": "timed out"}


@responses.activate
def test_a_fhir_server_off_the_allowlist_is_never_contacted(hclient, seen):
    r = post(
        hclient,
        "immunotox-patient-view",
        hook_body(prefetch={}, fhir_server="https://attacker.example/fhir", token=TOKEN),
    )
    assert r.status_code == 412 and "allowlist" in r.json["message"]
    assert len(responses.calls) == 0


@responses.activate
def test_a_lookalike_base_url_is_not_on_the_allowlist(hclient, seen):
    r = post(
        hclient,
        "immunotox-patient-view",
        hook_body(prefetch={}, fhir_server=FHIR + ".evil.example", token=TOKEN),
    )
    assert r.status_code == 412 and len(responses.calls) == 0


def test_no_prefetch_and_no_server_is_412(hclient, seen):
    r = post(hclient, "immunotox-patient-view", hook_body(prefetch=None))
    assert r.status_code == 412 and r.json["field"] == "prefetch.patient"


# -- error statuses ---------------------------------------------------------------------------


def test_malformed_json_is_400(hclient):
    r = hclient.post(
        "/cds-services/immunotox-patient-view", data="{nope", content_type="application/json"
    )
    assert r.status_code == 400 and "not valid JSON" in r.json["message"]


def test_a_spec_violation_is_400_naming_the_field(hclient, seen):
    body = hook_body()
    del body["context"]["patientId"]
    r = post(hclient, "immunotox-patient-view", body)
    assert r.status_code == 400 and r.json["field"] == "context.patientId"


def test_the_wrong_hook_for_the_service_is_400(hclient, seen):
    r = post(hclient, "immunotox-patient-view", hook_body("order-sign"))
    assert r.status_code == 400 and r.json["field"] == "hook"


def test_unknown_service_is_404_json(hclient):
    r = post(hclient, "no-such-service", hook_body())
    assert r.status_code == 404 and r.is_json and r.json["message"]
    r = hclient.get("/cds-services/a/b/c")
    assert r.status_code == 404 and r.is_json


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/cds-services/immunotox-patient-view"),
        ("put", "/cds-services/immunotox-patient-view"),
        ("post", "/cds-services"),
        ("get", "/cds-services/immunotox-patient-view/feedback"),
    ],
)
def test_wrong_method_is_405_json(hclient, method, path):
    r = getattr(hclient, method)(path)
    assert r.status_code == 405 and r.is_json and "Allow" in r.headers


def test_wrong_content_type_is_415(hclient):
    r = hclient.post(
        "/cds-services/immunotox-patient-view",
        data=json.dumps(hook_body()),
        content_type="text/plain",
    )
    assert r.status_code == 415 and r.is_json


def test_a_body_over_the_limit_is_413(tmp_path):
    client = make_app(tmp_path, MAX_CONTENT_LENGTH=200).test_client()
    r = post(client, "immunotox-patient-view", hook_body())
    assert r.status_code == 413 and r.is_json


# -- CORS and logging -------------------------------------------------------------------------


def test_preflight_allows_authorization_and_content_type(hclient):
    r = hclient.options(
        "/cds-services/immunotox-patient-view",
        headers={
            "Origin": "https://ehr.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_headers_are_on_errors_too(hclient):
    assert hclient.get("/cds-services/nope/x").headers["Access-Control-Allow-Origin"] == "*"
    assert post(hclient, "nope", {}).headers["Access-Control-Allow-Origin"] == "*"


def test_one_log_line_per_request_without_patient_id_or_token(hclient, seen, caplog):
    with caplog.at_level(logging.INFO, logger="immunotox.cds_hooks"):
        post(hclient, "immunotox-patient-view", hook_body(fhir_server=FHIR, token=TOKEN))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("cds-hooks ")]
    assert len(lines) == 1
    assert (
        "service=immunotox-patient-view" in lines[0]
        and "status=200" in lines[0]
        and "duration_ms=" in lines[0]
    )
    assert PID not in caplog.text and TOKEN not in caplog.text


# -- feedback ---------------------------------------------------------------------------------


def test_feedback_is_stored_and_reported_per_service_and_card(tmp_path, seen, capsys):
    app = make_app(tmp_path)
    client = app.test_client()
    cards = [post(client, "immunotox-patient-view", hook_body()).json["cards"][0] for _ in range(4)]
    sugg = cards[0]["suggestions"][0]["uuid"]
    fb_body = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": sugg}],
                "outcomeTimestamp": "2026-11-20T12:00:00Z",
            },
            {
                "card": cards[1]["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-20T12:01:00Z",
                "overrideReason": {
                    "reason": {"system": "urn:x", "code": "r", "display": "R"},
                    "userComment": "c",
                },
            },
        ]
    }
    r = client.post("/cds-services/immunotox-patient-view/feedback", json=fb_body)
    assert r.status_code == 200 and r.json == {"stored": 2}
    [row] = fb.report(app_store(app).engine)
    assert row == {
        "service": "immunotox-patient-view",
        "card": "assessment",
        "issued": 4,
        "accepted": 1,
        "overridden": 1,
        "acceptance_rate": 0.25,
        "override_rate": 0.25,
    }
    url = app.config["DATABASE_URL"]
    assert fb.report_main(SimpleNamespace(database_url=url, format="json")) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == [row]
    fb.report_main(SimpleNamespace(database_url=url, format="text"))
    out = capsys.readouterr().out
    assert "immunotox-patient-view" in out and "25.0%" in out


def test_invalid_feedback_is_400_naming_the_field(hclient):
    r = hclient.post(
        "/cds-services/immunotox-patient-view/feedback",
        json={
            "feedback": [
                {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-20T12:00:00Z"}
            ]
        },
    )
    assert r.status_code == 400 and r.json["field"] == "feedback[0].acceptedSuggestions"


def test_feedback_for_an_unknown_service_is_404(hclient):
    assert hclient.post("/cds-services/nope/feedback", json={"feedback": []}).status_code == 404


# -- bench floor ------------------------------------------------------------------------------


def test_the_product_has_no_floor_route_and_the_benchmark_server_adds_one(tmp_path, monkeypatch):
    assert post(make_app(tmp_path).test_client(), "_floor", hook_body()).status_code == 404
    from bench.floor_server import create_floor_app

    monkeypatch.setenv("IMMUNOTOX_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("IMMUNOTOX_CDS_AUTH", "off")
    r = post(create_floor_app().test_client(), "_floor", hook_body())
    assert r.status_code == 200 and r.json == {"cards": []}
    # The floor pays what a hook call pays before the assessment: a body that is not JSON is
    # refused the same way.
    bad = (
        create_floor_app()
        .test_client()
        .post("/cds-services/_floor", data=b"{", content_type="application/json")
    )
    assert bad.status_code == 400


def test_baseline_observations_in_the_prefetch_reach_the_order_check(hclient, seen):
    seen.result = assessment(exposures=[])
    labs = [
        observation(f"b{i}", c, AT - timedelta(days=2))
        for i, c in enumerate(
            ["718-7", "2160-0", "1742-6", "2345-7", "3016-3", "2157-6", "10839-9"]
        )
    ]
    labs.append(observation("b9", "x", AT - timedelta(days=2), text="HIV 1+2 antibody"))
    pf = full_prefetch()
    pf["baselineLabs"] = bundle(*labs)
    drafts = bundle(med_request("d1", "nivolumab", "1597876", 240))
    r = post(
        hclient, "immunotox-order-sign", hook_body("order-sign", prefetch=pf, draftOrders=drafts)
    )
    assert r.json == {"cards": []}
    r = post(hclient, "immunotox-order-sign", hook_body("order-sign", draftOrders=drafts))
    [card] = check_response(r.json)
    assert "8 of 8" in card["summary"]
