"""`immunotox assess`: both formats on the demo patients, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from immunotox.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "assessment.schema.json").read_text())
DEMO = sorted((ROOT / "demo" / "patients").glob("*.json"))
AT = "2026-11-20T12:00:00Z"


def test_there_are_seed_cases_and_at_least_two_negatives():
    names = {p.stem for p in DEMO}
    assert {"seed-pembrolizumab", "lee-case1", "lee-case2", "lee-case3"} <= names
    assert len([n for n in names if n.startswith("negative")]) >= 2


@pytest.mark.parametrize("path", DEMO, ids=lambda p: p.stem)
def test_json_output_validates_against_the_documented_schema(path, capsys):
    assert main(["assess", str(path), "--at", AT, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, SCHEMA)


def test_text_output_of_the_seed_case_names_grades_action_and_doses(capsys):
    assert main(["assess", str(ROOT / "demo/patients/seed-pembrolizumab.json"), "--at", AT]) == 0
    out = capsys.readouterr().out
    assert (
        "Lee 2014: grade 2" in out and "ASTCT 2019: grade 3" in out and "CTCAE v5.0: grade 3" in out
    )
    assert "Permanently discontinue pembrolizumab" in out
    assert "624 mg (8 mg/kg × 78 kg)" in out
    assert "A grade is not a diagnosis" in out


def test_text_output_is_in_the_site_zone_and_names_no_ucum_code_or_source_id(capsys, monkeypatch):
    monkeypatch.setenv("IMMUNOTOX_TIMEZONE", "America/New_York")
    seed = str(ROOT / "demo/patients/seed-pembrolizumab.json")
    assert main(["assess", seed, "--at", AT]) == 0
    out = capsys.readouterr().out
    assert "assessment at 2026-11-20T07:00:00-05:00" in out and "Times in America/New_York" in out
    assert "Temperature 39.1 °C at 2026-11-19T19:00:00-05:00" in out  # 2026-11-20 00:00 UTC
    assert "norepinephrine 5 µg/min" in out
    for raw in (" Cel", "ug/min", "mm[Hg]", "lee2014", "tocilizumab.label", "pembro_crs_qa"):
        assert raw not in out, raw
    # the JSON keeps its UTC instants
    assert main(["assess", seed, "--at", AT, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["at"].startswith("2026-11-20T12:00:00")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"resourceType": "Patient", "id": "x"}', "expected a FHIR Bundle"),
        ('{"resourceType": "Bundle", "entry": []}', "no Patient"),
        ('{"resourceType": "Bundle", "entry": {}}', "Bundle.entry must be a list"),
        ("[]", "expected a FHIR Bundle"),
    ],
)
def test_bad_input_gets_a_clear_message_and_a_non_zero_exit(tmp_path, capsys, content, message):
    f = tmp_path / "in.json"
    f.write_text(content)
    assert main(["assess", str(f)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_missing_file_and_bad_time_are_clear(tmp_path, capsys):
    assert main(["assess", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["assess", str(DEMO[0]), "--at", "yesterday"]) == 2  # was exit status 1
    assert "not an ISO 8601" in capsys.readouterr().err


def test_unknown_units_are_reported_in_the_output_not_a_crash(tmp_path, capsys):
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "t",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
                    "effectiveDateTime": "2026-11-20T10:00:00Z",
                    "valueQuantity": {"value": 300, "code": "K/s"},
                }
            },
        ],
    }
    f = tmp_path / "b.json"
    f.write_text(json.dumps(bundle))
    assert main(["assess", str(f), "--at", AT, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data_quality"][0]["ref"] == "Observation/t"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("immunotox ") and len(out.split()) == 2


def test_a_bad_at_is_exit_2_with_a_message(capsys):
    path = str(ROOT / "demo/patients/seed-pembrolizumab.json")
    assert main(["assess", path, "--at", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "--at 'yesterday' is not an ISO 8601" in err and "Traceback" not in err


def test_input_that_is_not_utf8_is_exit_2_with_a_message(tmp_path, capsys):
    f = tmp_path / "latin1.json"
    f.write_bytes('{"resourceType": "Bundle", "entry": [], "x": "Müller"}'.encode("latin-1"))
    assert main(["assess", str(f)]) == 2
    err = capsys.readouterr().err
    assert "is not UTF-8" in err and "Traceback" not in err


def test_a_utf8_byte_order_mark_is_accepted(tmp_path, capsys):
    f = tmp_path / "bom.json"
    src = (ROOT / "demo/patients/seed-pembrolizumab.json").read_bytes()
    f.write_bytes(b"\xef\xbb\xbf" + src)
    assert main(["assess", str(f), "--at", AT]) == 0


def test_assess_needs_a_file_or_a_server(capsys):
    assert main(["assess"]) == 2
    assert "--fhir-base" in capsys.readouterr().err
    assert main(["assess", "--fhir-base", "http://127.0.0.1:9/fhir"]) == 2
    assert "--fhir-base needs --patient" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdb://host/x", "no driver for the database URL"),
        ("sqlite:////proc/version/x.sqlite3", "cannot be used"),
    ],
)
def test_a_bad_database_url_is_one_line(capsys, monkeypatch, url, message):
    assert main(["feedback-report", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("IMMUNOTOX_DATABASE_URL", url)
    monkeypatch.setenv("IMMUNOTOX_CDS_AUTH", "off")
    assert main(["serve", "--port", "9"]) == 2  # refused before gunicorn starts
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_password_in_a_bad_database_url_is_not_printed(capsys):
    url = "postgresql+nosuchdriver://user:hunter2@db.example/immunotox"
    assert main(["feedback-report", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "db.example" in err


def test_serve_without_a_public_base_url_while_checking_jwts_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("IMMUNOTOX_CDS_AUTH", "on")
    monkeypatch.delenv("IMMUNOTOX_PUBLIC_BASE_URL", raising=False)
    assert main(["serve", "--port", "9"]) == 2
    err = capsys.readouterr().err
    assert "IMMUNOTOX_PUBLIC_BASE_URL must be set" in err and len(err.strip().splitlines()) == 1
