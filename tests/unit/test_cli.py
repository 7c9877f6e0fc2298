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
    with pytest.raises(SystemExit) as e:
        main(["assess", str(DEMO[0]), "--at", "yesterday"])
    assert "not an ISO 8601" in str(e.value)


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
