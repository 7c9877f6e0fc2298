"""Generate the demo patients: FHIR R4 transaction Bundles in demo/patients/.

Run `python demo/make_patients.py` after editing. Every patient's data ends at ANCHOR; the demo
shifts the dates so that the latest data is about now, and the command-line examples pass
`--at 2026-11-20T12:00:00Z`.

Patients (Lee 2014 cases are paraphrased from the paper's case descriptions):
- seed-pembrolizumab: pembrolizumab CRS with rash, transverse myelitis and arthritis (seed case).
- lee-case1: grade 1 CRS after CD19 CAR T cells, fever only.
- lee-case2: grade 3 CRS after cytotoxic T cells: fever, hypotension on dopamine and norepinephrine.
- lee-case3: grade 3 CRS after CAR T cells: fever, hypotension, oxygen, two pressors, tocilizumab.
- no-weight-nivolumab: nivolumab, grade 3 CRS, no weight recorded (doses cannot be computed).
- negative-pembrolizumab: on pembrolizumab, normal observations.
- negative-sepsis: fever and hypotension on norepinephrine but no immunotherapy (sepsis-like):
  CRS grading does not apply.
- toci-course-pembrolizumab: pembrolizumab CRS grade 3 with two tocilizumab doses given, the
  second 5 h ago: the plan says "dose 2 of 4 ... the next not before ..." and proposes none.
- steroid-taper-nivolumab: nivolumab pneumonitis grade 3 on day 24 of a corticosteroid course,
  prednisone taper under way (tablets on the record), PJP threshold reached, and the nivolumab
  order still active: a critical card says to cancel it.
- afebrile-pembrolizumab: on pembrolizumab, hypotension on norepinephrine without any fever:
  not CRS (grade 0), the findings listed with other causes to consider.
- cart-prior-pembrolizumab: CRS 3 days after CAR T cells, pembrolizumab 5 months earlier: CRS is
  attributed to the CAR T cells and no action on pembrolizumab follows; norepinephrine charted as
  point-in-time rows (a rate per row, as a medication administration record charts titrations).
- cart-icans: CRS grade 2 after CAR T cells (fever, hypotension on fluids, low-flow oxygen,
  tocilizumab on day 2) that resolves, then ICANS: ICE scores every 8 hours over two days
  falling from 10 to 2 (grade 3 now), responds to voice; ferritin above twice the upper limit
  with no supporting IEC-HS finding (the screen says to watch, not positive).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OUT = Path(__file__).parent / "patients"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"


def t(hours_before: float) -> str:
    return (ANCHOR - timedelta(hours=hours_before)).isoformat().replace("+00:00", "Z")


class Builder:
    def __init__(self, pid: str, name: tuple[str, str], gender: str, birth: str):
        self.pid = pid
        self.n = 0
        self.entries: list[dict] = []
        self.add(
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"family": name[1], "given": [name[0]]}],
                "gender": gender,
                "birthDate": birth,
            }
        )

    def add(self, r: dict) -> None:
        if "id" not in r:
            self.n += 1
            r["id"] = f"{self.pid}-{r['resourceType'][:4].lower()}-{self.n}"
        if r["resourceType"] != "Patient":
            r["subject"] = {"reference": f"Patient/{self.pid}"}
        self.entries.append(
            {
                "fullUrl": f"urn:uuid:{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
        )

    def obs(
        self,
        code: str,
        display: str,
        value: float,
        unit: str,
        hours_before: float,
        category: str = "vital-signs",
        ref_high: float | None = None,
    ) -> None:
        r = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": category,
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": LOINC, "code": code, "display": display}],
                "text": display,
            },
            "effectiveDateTime": t(hours_before),
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        }
        if ref_high is not None:
            r["referenceRange"] = [
                {"high": {"value": ref_high, "unit": unit, "system": UCUM, "code": unit}}
            ]
        self.add(r)

    def bp(self, sys_: float, dia: float, hours_before: float) -> None:
        self.add(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}
                    ]
                },
                "effectiveDateTime": t(hours_before),
                "component": [
                    {
                        "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                        "valueQuantity": {
                            "value": sys_,
                            "unit": "mm[Hg]",
                            "system": UCUM,
                            "code": "mm[Hg]",
                        },
                    },
                    {
                        "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                        "valueQuantity": {
                            "value": dia,
                            "unit": "mm[Hg]",
                            "system": UCUM,
                            "code": "mm[Hg]",
                        },
                    },
                ],
            }
        )

    def temp(self, c: float, hours_before: float) -> None:
        self.obs("8310-5", "Body temperature", c, "Cel", hours_before)

    def weight(self, value: float, unit: str, hours_before: float) -> None:
        self.obs("29463-7", "Body weight", value, unit, hours_before)

    def med_admin(
        self,
        rxcui: str | None,
        name: str,
        start_h: float,
        end_h: float | None = None,
        rate: tuple[float, str] | None = None,
        dose: tuple[float, str] | None = None,
        status: str = "completed",
    ) -> None:
        code = {"text": name}
        if rxcui:
            code["coding"] = [{"system": RXNORM, "code": rxcui, "display": name}]
        r: dict = {
            "resourceType": "MedicationAdministration",
            "status": status,
            "medicationCodeableConcept": code,
        }
        if end_h is None and rate is not None:
            r["effectivePeriod"] = {"start": t(start_h)}
            r["status"] = "in-progress"
        elif end_h is not None:
            r["effectivePeriod"] = {"start": t(start_h), "end": t(end_h)}
        else:
            r["effectiveDateTime"] = t(start_h)
        dosage: dict = {}
        if rate:
            dosage["rateQuantity"] = {
                "value": rate[0],
                "unit": rate[1],
                "system": UCUM,
                "code": rate[1],
            }
        if dose:
            dosage["dose"] = {"value": dose[0], "unit": dose[1], "system": UCUM, "code": dose[1]}
        if dosage:
            r["dosage"] = dosage
        self.add(r)

    def condition(
        self, system: str, code: str, display: str, onset_h: float, stage: str | None = None
    ) -> None:
        r = {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "code": {
                "coding": [{"system": system, "code": code, "display": display}],
                "text": display,
            },
            "onsetDateTime": t(onset_h),
        }
        if stage:
            r["stage"] = [{"summary": {"text": stage}}]
        self.add(r)

    def o2(self, snomed: str, display: str, start_h: float, end_h: float | None) -> None:
        period = {"start": t(start_h)}
        if end_h is not None:
            period["end"] = t(end_h)
        self.add(
            {
                "resourceType": "Procedure",
                "status": "in-progress" if end_h is None else "completed",
                "code": {
                    "coding": [{"system": SNOMED, "code": snomed, "display": display}],
                    "text": display,
                },
                "performedPeriod": period,
            }
        )

    def bundle(self) -> dict:
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}


def baseline_vitals(b: Builder, hours: range, temp: float = 36.8, sbp: float = 122) -> None:
    for h in hours:
        b.temp(temp, h)
        b.bp(sbp, 76, h)
        b.obs("8867-4", "Heart rate", 78, "/min", h)
        b.obs("59408-5", "Oxygen saturation by pulse oximetry", 97, "%", h)


def seed_pembrolizumab() -> dict:
    b = Builder("seed-pembrolizumab", ("Maria", "Example-Seed"), "female", "1964-03-02")
    b.weight(172, "[lb_av]", 24 * 20)  # 78.0 kg, recorded in pounds
    b.weight(78, "kg", 30)
    for days in (63, 42, 21, 10):
        b.med_admin(
            "1547545", "pembrolizumab 200 mg/8 mL injection (Keytruda)", 24 * days, dose=(200, "mg")
        )
    baseline_vitals(b, range(96, 48, -6))
    # CRS from about 40 h before: fever (in Fahrenheit at first), hypotension, oxygen, one pressor.
    b.obs("8310-5", "Body temperature", 102.6, "[degF]", 40)
    for h, c in ((34, 39.2), (28, 39.4), (20, 38.9), (12, 39.1), (6, 38.6), (1, 38.4)):
        b.temp(c, h)
    for h, s in ((34, 96), (28, 86), (20, 84), (12, 88), (6, 90), (1, 92)):
        b.bp(s, 52, h)
    b.o2("371907003", "Oxygen administration by nasal cannula", 26, None)
    for h in (26, 18, 10, 2):
        b.obs("3151-8", "Inhaled oxygen flow rate", 3, "L/min", h)
    b.med_admin("7512", "norepinephrine 4 mg in 250 mL infusion", 24, None, rate=(5, "ug/min"))
    for h, v in ((36, 42), (24, 96), (12, 148), (2, 131)):
        b.obs("1988-5", "C reactive protein", v, "mg/L", h, category="laboratory", ref_high=5)
    for h, v in ((36, 890), (12, 4200)):
        b.obs("2276-4", "Ferritin", v, "ng/mL", h, category="laboratory", ref_high=300)
    b.obs("1742-6", "ALT", 88, "U/L", 12, category="laboratory", ref_high=40)
    b.obs("1920-8", "AST", 74, "U/L", 12, category="laboratory", ref_high=40)
    b.obs("2160-0", "Creatinine", 1.1, "mg/dL", 12, category="laboratory", ref_high=1.2)
    b.obs("1975-2", "Bilirubin total", 0.9, "mg/dL", 12, category="laboratory", ref_high=1.2)
    b.condition(ICD10CM, "D89.833", "Cytokine release syndrome, grade 3", 30)
    b.condition(ICD10CM, "L27.0", "Generalized skin eruption due to pembrolizumab, 35% BSA", 60)
    b.condition(ICD10CM, "G37.3", "Acute transverse myelitis", 20)
    b.condition(ICD10CM, "M06.4", "Inflammatory polyarthropathy", 24 * 8, stage="CTCAE grade 2")
    b.condition(
        ICD10CM, "T45.AX5A", "Adverse effect of immune checkpoint inhibitors, initial encounter", 30
    )
    return b.bundle()


def lee_case1() -> dict:
    b = Builder("lee-case1", ("Ana", "Example-Case-One"), "female", "2015-06-10")
    b.weight(36, "kg", 24 * 5)
    b.med_admin(None, "tisagenlecleucel (CD19 CAR T cells) infusion", 24 * 3)
    baseline_vitals(b, range(96, 72, -6))
    for h, c in ((70, 39.5), (60, 40.7), (48, 40.1), (36, 39.8), (24, 39.6), (12, 39.2), (2, 38.8)):
        b.temp(c, h)
        b.bp(108, 64, h)
        b.obs("59408-5", "Oxygen saturation by pulse oximetry", 98, "%", h)
    b.obs("26881-3", "Interleukin 6", 222, "pg/mL", 30, category="laboratory")
    b.obs("1742-6", "ALT", 30, "U/L", 10, category="laboratory", ref_high=40)
    b.obs("2160-0", "Creatinine", 0.5, "mg/dL", 10, category="laboratory", ref_high=0.7)
    return b.bundle()


def lee_case2() -> dict:
    b = Builder("lee-case2", ("Beth", "Example-Case-Two"), "female", "2007-01-15")
    b.weight(58, "kg", 24 * 3)
    b.med_admin(None, "multivirus-specific cytotoxic T lymphocytes (CTL) infusion", 24 * 4)
    baseline_vitals(b, range(72, 30, -6))
    for h in (26, 20, 14, 8, 2):
        b.temp(39.4, h)
        b.bp(82, 44, h)
        b.obs("8867-4", "Heart rate", 134, "/min", h)
        b.obs("59408-5", "Oxygen saturation by pulse oximetry", 95, "%", h)
    b.med_admin("3628", "dopamine infusion", 18, None, rate=(5, "ug/kg/min"))
    b.med_admin("7512", "norepinephrine infusion", 12, None, rate=(4, "ug/min"))
    b.med_admin("6902", "methylprednisolone", 6, dose=(58, "mg"))
    return b.bundle()


def lee_case3() -> dict:
    b = Builder("lee-case3", ("Cara", "Example-Case-Three"), "female", "2015-02-01")
    b.weight(32, "kg", 24 * 6)
    b.med_admin(None, "CD19-CAR T cells (chimeric antigen receptor) infusion", 24 * 5)
    baseline_vitals(b, range(120, 30, -8))
    for h, c, s in ((28, 39.6, 70), (22, 39.8, 74), (16, 38.4, 80), (10, 37.6, 86), (4, 37.2, 92)):
        b.temp(c, h)
        b.bp(s, 40, h)
    b.o2("371908008", "Oxygen therapy by face mask", 26, 12)
    b.obs("3150-0", "Inhaled oxygen concentration", 45, "%", 24)
    b.med_admin("3628", "dopamine infusion", 25, None, rate=(8, "ug/kg/min"))
    b.med_admin("7512", "norepinephrine infusion", 24, None, rate=(0.1, "ug/kg/min"))
    b.med_admin("612865", "tocilizumab 8 mg/kg IV", 20, dose=(256, "mg"))
    for h, v in ((30, 40), (6, 215)):
        b.obs("1988-5", "C reactive protein", v, "mg/L", h, category="laboratory", ref_high=5)
    b.obs("2276-4", "Ferritin", 130000, "ng/mL", 6, category="laboratory", ref_high=300)
    return b.bundle()


def no_weight_nivolumab() -> dict:
    b = Builder("no-weight-nivolumab", ("Dev", "Example-No-Weight"), "male", "1958-09-30")
    for days in (28, 14):
        b.med_admin("1597876", "nivolumab (Opdivo) 240 mg", 24 * days, dose=(240, "mg"))
    baseline_vitals(b, range(72, 24, -6))
    for h in (20, 12, 4):
        b.temp(38.9, h)
        b.bp(84, 48, h)
    b.o2("426854004", "High flow oxygen nasal cannula", 14, None)
    b.obs("3151-8", "Inhaled oxygen flow rate", 30, "L/min", 10)
    return b.bundle()


def negative_pembrolizumab() -> dict:
    b = Builder("negative-pembrolizumab", ("Eli", "Example-Negative"), "male", "1970-12-12")
    b.weight(81, "kg", 48)
    b.med_admin("1547545", "pembrolizumab (Keytruda) 200 mg", 24 * 7, dose=(200, "mg"))
    baseline_vitals(b, range(72, 0, -6))
    b.obs("1742-6", "ALT", 22, "U/L", 20, category="laboratory", ref_high=40)
    b.obs("2160-0", "Creatinine", 0.9, "mg/dL", 20, category="laboratory", ref_high=1.2)
    return b.bundle()


def negative_sepsis() -> dict:
    b = Builder("negative-sepsis", ("Finn", "Example-Sepsis"), "male", "1949-05-05")
    b.weight(70, "kg", 48)
    baseline_vitals(b, range(48, 20, -6))
    for h in (16, 10, 4):
        b.temp(38.8, h)
        b.bp(86, 50, h)
    b.med_admin("7512", "norepinephrine infusion", 8, None, rate=(12, "ug/min"))
    return b.bundle()


def toci_course_pembrolizumab() -> dict:
    b = Builder("toci-course-pembrolizumab", ("Gil", "Example-Toci-Course"), "male", "1961-04-18")
    b.weight(80, "kg", 40)
    for days in (42, 21, 9):
        b.med_admin("1547545", "pembrolizumab (Keytruda) 200 mg", 24 * days, dose=(200, "mg"))
    baseline_vitals(b, range(96, 40, -6))
    for h, c, s in ((36, 39.4, 88), (30, 39.6, 84), (24, 39.3, 82), (18, 39.0, 84), (12, 38.9, 86)):
        b.temp(c, h)
        b.bp(s, 50, h)
    for h, c, s in ((8, 38.6, 88), (4, 38.3, 90), (1, 38.2, 92)):
        b.temp(c, h)
        b.bp(s, 54, h)
    b.med_admin("7512", "norepinephrine 4 mg in 250 mL infusion", 26, None, rate=(6, "ug/min"))
    b.o2("371907003", "Oxygen administration by nasal cannula", 28, None)
    b.obs("3151-8", "Inhaled oxygen flow rate", 4, "L/min", 6)
    b.med_admin("612865", "tocilizumab (Actemra) 640 mg IV", 14, dose=(640, "mg"))
    b.med_admin("612865", "tocilizumab (Actemra) 640 mg IV", 5, dose=(640, "mg"))
    for h, v in ((30, 88), (12, 164), (2, 120)):
        b.obs("1988-5", "C reactive protein", v, "mg/L", h, category="laboratory", ref_high=5)
    b.condition(ICD10CM, "D89.833", "Cytokine release syndrome, grade 3", 34)
    return b.bundle()


def steroid_taper_nivolumab() -> dict:
    b = Builder("steroid-taper-nivolumab", ("Hana", "Example-Taper"), "female", "1957-08-09")
    b.weight(80, "kg", 24 * 3)
    for days in (60, 32):
        b.med_admin("1597876", "nivolumab (Opdivo) 480 mg", 24 * days, dose=(480, "mg"))
    baseline_vitals(b, range(72, 0, -8))
    b.condition(
        ICD10CM, "J70.4", "Immune-mediated pneumonitis (nivolumab)", 24 * 24, stage="CTCAE grade 3"
    )
    # Methylprednisolone 1 mg/kg/day for 3 days, then prednisone 80 mg/day tapered by 10 mg
    # every 4-7 days (ASCO 2021, 12.4); the last days charted as 10 mg tablets.
    for d in (23, 22, 21):
        b.med_admin("6902", "methylprednisolone 80 mg IV", 24 * d + 4, dose=(80, "mg"))
    for d, mg in (
        [(d, 80) for d in range(20, 13, -1)]
        + [(d, 70) for d in range(13, 9, -1)]
        + [(d, 60) for d in range(9, 5, -1)]
    ):
        b.med_admin("8640", "prednisone", 24 * d + 4, dose=(mg, "mg"))
    for d in range(5, -1, -1):
        b.med_admin("198145", "predniSONE 10 MG Oral Tablet", 24 * d + 4, dose=(5, "{tbl}"))
    # The nivolumab order for the next cycles, still active.
    b.add(
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "authoredOn": t(24 * 32),
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": "1597876", "display": "nivolumab"}],
                "text": "nivolumab (Opdivo) 480 mg IV every 4 weeks",
            },
            "dosageInstruction": [
                {
                    "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}},
                    "doseAndRate": [
                        {"doseQuantity": {"value": 480, "unit": "mg", "system": UCUM, "code": "mg"}}
                    ],
                }
            ],
        }
    )
    return b.bundle()


def afebrile_pembrolizumab() -> dict:
    b = Builder("afebrile-pembrolizumab", ("Gail", "Example-Afebrile"), "female", "1956-08-21")
    b.weight(64, "kg", 36)
    for days in (33, 12):
        b.med_admin("1547545", "pembrolizumab (Keytruda) 200 mg", 24 * days, dose=(200, "mg"))
    baseline_vitals(b, range(72, 24, -6))
    for h, c, s in ((20, 37.1, 92), (14, 37.3, 86), (8, 37.0, 84), (2, 36.9, 88)):
        b.temp(c, h)
        b.bp(s, 48, h)
    b.med_admin("7512", "norepinephrine infusion", 10, None, rate=(6, "ug/min"))
    return b.bundle()


def cart_prior_pembrolizumab() -> dict:
    b = Builder("cart-prior-pembrolizumab", ("Hal", "Example-Cart"), "male", "1961-04-12")
    b.weight(82, "kg", 24 * 4)
    b.add(
        {
            "resourceType": "MedicationStatement",
            "status": "completed",
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": "1547545", "display": "pembrolizumab"}],
                "text": "pembrolizumab (Keytruda) 200 mg every 3 weeks",
            },
            "effectivePeriod": {"start": t(24 * 240), "end": t(24 * 153)},
        }
    )
    b.med_admin(None, "axicabtagene ciloleucel (Yescarta) infusion", 24 * 3)
    baseline_vitals(b, range(96, 48, -6))
    for h, c, s in (
        (44, 38.6, 112),
        (36, 39.2, 98),
        (28, 39.5, 88),
        (20, 39.1, 86),
        (12, 38.8, 90),
        (4, 38.5, 94),
    ):
        b.temp(c, h)
        b.bp(s, 52, h)
    # Norepinephrine charted as point-in-time rows: 4, 6, then 5 µg/min, still running.
    for h, rate in (
        (22, 4),
        (21, 6),
        (20, 6),
        (19, 6),
        (18, 5),
        (17, 5),
        (16, 5),
        (15, 5),
        (14, 5),
        (13, 5),
        (12, 5),
        (11, 5),
        (10, 5),
        (9, 5),
        (8, 5),
        (7, 5),
        (6, 5),
        (5, 5),
        (4, 5),
        (3, 5),
        (2, 5),
        (1, 5),
    ):
        b.add(
            {
                "resourceType": "MedicationAdministration",
                "status": "in-progress",
                "medicationCodeableConcept": {
                    "coding": [{"system": RXNORM, "code": "7512", "display": "norepinephrine"}],
                    "text": "norepinephrine infusion",
                },
                "effectiveDateTime": t(h),
                "dosage": {
                    "rateQuantity": {
                        "value": rate,
                        "unit": "ug/min",
                        "system": UCUM,
                        "code": "ug/min",
                    }
                },
            }
        )
    b.o2("371907003", "Oxygen administration by nasal cannula", 24, None)
    for h in (22, 14, 6):
        b.obs("3151-8", "Inhaled oxygen flow rate", 3, "L/min", h)
    return b.bundle()


ICE_SYSTEM = "https://immunotox.example/fhir/CodeSystem/assessment"


def cart_icans() -> dict:
    b = Builder("cart-icans", ("Ines", "Example-Icans"), "female", "1968-09-03")
    b.weight(68, "kg", 24 * 7)
    b.med_admin(None, "axicabtagene ciloleucel (Yescarta) infusion", 24 * 6)
    baseline_vitals(b, range(150, 122, -6))
    # CRS from day 1: fever, hypotension responding to fluids, low-flow oxygen.
    for h, c, s in ((120, 38.6, 108), (112, 39.3, 96), (104, 39.6, 86), (98, 39.2, 84)):
        b.temp(c, h)
        b.bp(s, 50, h)
    b.o2("371907003", "Oxygen administration by nasal cannula", 104, 80)
    for h in (102, 96, 88):
        b.obs("3151-8", "Inhaled oxygen flow rate", 2, "L/min", h)
    b.med_admin("612865", "tocilizumab", 97, dose=(544, "mg"))
    # CRS resolves: afebrile, normotensive, off oxygen.
    baseline_vitals(b, range(90, 0, -6), temp=37.1, sbp=118)
    # Then ICANS: the ICE score every 8 hours over two days.
    for h, score in ((60, 10), (52, 10), (44, 9), (36, 8), (28, 6), (20, 5), (12, 4), (4, 2)):
        b.add(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "survey",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [{"system": ICE_SYSTEM, "code": "ice-score", "display": "ICE score"}],
                    "text": "Immune effector cell-associated encephalopathy (ICE) score",
                },
                "effectiveDateTime": t(h),
                "valueInteger": score,
            }
        )
    b.add(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Level of consciousness (AVPU)"},
            "effectiveDateTime": t(4),
            "valueCodeableConcept": {
                "coding": [{"system": SNOMED, "code": "300202002", "display": "Responds to voice"}]
            },
        }
    )
    for h, v in ((120, 1100), (72, 2300), (6, 3400)):
        b.obs("2276-4", "Ferritin", v, "ng/mL", h, category="laboratory", ref_high=400)
    b.obs("3255-7", "Fibrinogen", 290, "mg/dL", 6, category="laboratory")
    b.obs("777-3", "Platelets", 142, "10*9/L", 6, category="laboratory")
    b.obs("751-8", "Neutrophils", 1.9, "10*9/L", 6, category="laboratory")
    b.obs("718-7", "Hemoglobin", 10.4, "g/dL", 6, category="laboratory")
    b.obs("1742-6", "ALT", 46, "U/L", 6, category="laboratory", ref_high=40)
    return b.bundle()


PATIENTS = {
    "seed-pembrolizumab": seed_pembrolizumab,
    "lee-case1": lee_case1,
    "lee-case2": lee_case2,
    "lee-case3": lee_case3,
    "no-weight-nivolumab": no_weight_nivolumab,
    "negative-pembrolizumab": negative_pembrolizumab,
    "negative-sepsis": negative_sepsis,
    "toci-course-pembrolizumab": toci_course_pembrolizumab,
    "steroid-taper-nivolumab": steroid_taper_nivolumab,
    "afebrile-pembrolizumab": afebrile_pembrolizumab,
    "cart-prior-pembrolizumab": cart_prior_pembrolizumab,
    "cart-icans": cart_icans,
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, fn in PATIENTS.items():
        (OUT / f"{name}.json").write_text(json.dumps(fn(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(PATIENTS)} bundles to {OUT}")


if __name__ == "__main__":
    main()
