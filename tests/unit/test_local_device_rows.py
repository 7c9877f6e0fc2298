"""Flowsheet rows under local codes: positive-pressure ventilation charted as a device
Observation ("O2 Device: BiPAP"), a Procedure or a DeviceUseStatement, and oxygen flow and
weight under local codes. A local row is read only when its name AND its value (device name, or
UCUM unit) both match; ASTCT 2019 grades positive pressure as CRS grade 4."""

from __future__ import annotations

from services import fhir_adapter
from services.assess import assess
from services.model import O2Level
from tests.fhir_factory import AT, SNOMED, given, iso, patient, sbp, temp, weight

LOCAL = "http://hospital.example/flowsheet"


def device_row(value_text: str, name: str = "O2 Device", coding: list | None = None) -> dict:
    value: dict = {"text": value_text}
    if coding:
        value["coding"] = coding
    return {
        "resourceType": "Observation",
        "id": f"dev-{name}-{value_text}".replace(" ", "-"),
        "status": "final",
        "code": {
            "coding": [{"system": LOCAL, "code": "O2DEV", "display": "Oxygen delivery device"}]
            if name == "O2 Device"
            else [{"system": LOCAL, "code": "X1"}],
            "text": name,
        },
        "effectiveDateTime": iso(2),
        "valueCodeableConcept": value,
    }


def local_number(name: str, value: float, unit: str, hours_before: float = 2) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"loc-{name}-{unit}".replace(" ", "-").replace("/", "-"),
        "status": "final",
        "code": {"coding": [{"system": LOCAL, "code": "L1"}], "text": name},
        "effectiveDateTime": iso(hours_before),
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def car_t(*extra):
    """Axicabtagene ciloleucel 4 days ago, fever 39.2 °C, SBP 110 (no hypotension)."""
    base = [patient(), weight(80), given("axicabtagene ciloleucel", 24 * 4, by_text=True)]
    for h in (6, 4, 2):
        base += [temp(39.2, hours_before=h), sbp(110, hours_before=h)]
    return assess([*base, *extra], AT)


def levels(*resources):
    return [e.level for e in fhir_adapter.to_patient_data([patient(), *resources]).o2_episodes]


def test_bipap_on_a_local_device_row_is_positive_pressure_astct_grade_4():
    a = car_t(device_row("BiPAP"))
    assert a.crs["astct2019"].grade == 4
    # The same value on a row that is not a device row is not read.
    b = car_t(device_row("BiPAP", name="Comment"))
    assert b.crs["astct2019"].grade == 1


def test_device_rows_read_by_snomed_code_or_by_exact_name_only():
    bipap = [{"system": SNOMED, "code": "243142003"}]
    assert levels(device_row("Bilevel", name="Comment", coding=bipap)) == [O2Level.NONINVASIVE_PPV]
    assert levels(device_row("CPAP")) == [O2Level.NONINVASIVE_PPV]
    assert levels(device_row("nasal prongs")) == [O2Level.LOW_FLOW_CANNULA]
    # A longer text naming a device is not an exact name.
    assert levels(device_row("BiPAP at night at home, not in use")) == []


def test_bipap_as_a_procedure_by_snomed_code_is_positive_pressure():
    proc = {
        "resourceType": "Procedure",
        "id": "bipap",
        "status": "in-progress",
        "code": {"coding": [{"system": SNOMED, "code": "243142003"}]},
        "performedDateTime": iso(3),
    }
    assert levels(proc) == [O2Level.NONINVASIVE_PPV]


def test_local_oxygen_flow_needs_its_name_and_l_min():
    data = fhir_adapter.to_patient_data([patient(), local_number("O2 flow", 6, "L/min")])
    assert [s.value for s in data.samples("o2_flow")] == [6]
    for name, unit in (("O2 flow", "L"), ("Flow", "L/min"), ("O2 flow", "mL/min")):
        data = fhir_adapter.to_patient_data([patient(), local_number(name, 6, unit)])
        assert data.samples("o2_flow") == [], (name, unit)


def test_local_weight_needs_its_name_and_kg():
    data = fhir_adapter.to_patient_data([patient(), local_number("Admission weight", 84, "kg")])
    assert [s.value for s in data.samples("weight")] == [84]
    data = fhir_adapter.to_patient_data([patient(), local_number("Weight", 84, "cm")])
    assert data.samples("weight") == []
    data = fhir_adapter.to_patient_data([patient(), local_number("Height", 84, "kg")])
    assert data.samples("weight") == []


def test_local_temperature_needs_its_name_and_a_temperature_unit():
    # An EHR's flowsheet row "Temp" (local code, UCUM Cel) is the body temperature; in °F it is
    # converted (102.2 °F = 39.0 °C). A "Temp" in another unit, or a "Skin temp", is not read.
    data = fhir_adapter.to_patient_data([patient(), local_number("Temp", 38.6, "Cel")])
    assert [s.value for s in data.samples("temperature")] == [38.6]
    data = fhir_adapter.to_patient_data(
        [patient(), local_number("Temperature (F)", 102.2, "[degF]")]
    )
    assert [round(s.value, 1) for s in data.samples("temperature")] == [39.0]
    for name, unit in (("Temp", "mm[Hg]"), ("Skin temp", "Cel"), ("Room temperature", "Cel")):
        data = fhir_adapter.to_patient_data([patient(), local_number(name, 38.6, unit)])
        assert data.samples("temperature") == [], (name, unit)


def test_fever_under_a_local_temperature_code_is_graded_as_crs():
    cart = {
        "resourceType": "MedicationAdministration",
        "id": "cart",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "axicabtagene ciloleucel"},
        "effectiveDateTime": iso(72),
    }
    a = assess([patient(), weight(70), cart, local_number("Temp", 38.6, "Cel", 1)], AT)
    assert a.crs["astct2019"].grade == 1
    a = assess([patient(), weight(70), cart, local_number("Temp", 37.9, "Cel", 1)], AT)
    assert a.crs["astct2019"].grade == 0
