"""What the assessment reads from a patient's record: one declaration.

Every consumer derives its list from `RECORD`: the CDS Hooks prefetch templates
(`cds_hooks.registry`), the SMART scopes the app asks for (`launch.scopes`), the app's searches
(`smart_app.fetch`) and the resource types the reader handles (`services.fhir_adapter`). Adding a
resource type to the assessment is one row here (and its reading in the adapter); how a hook's
prefetch narrows a search (codes, `_count`) is the registry's business.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordPart:
    resource_type: str
    prefetch_key: str  # the key of its prefetch template
    required: bool = False  # without it nothing can be assessed (412 / a launch error)


RECORD: tuple[RecordPart, ...] = (
    RecordPart("Patient", "patient", required=True),
    RecordPart("Observation", "observations", required=True),
    RecordPart("MedicationAdministration", "medicationAdministrations"),
    RecordPart("MedicationRequest", "medicationRequests"),
    RecordPart("MedicationStatement", "medicationStatements"),
    RecordPart("Condition", "conditions"),
    RecordPart("Procedure", "oxygenProcedures"),
    RecordPart("DeviceUseStatement", "devices"),
    # Read so that no drug the patient is allergic to is proposed (`services.allergy`).
    RecordPart("AllergyIntolerance", "allergies"),
)

RESOURCE_TYPES: tuple[str, ...] = tuple(p.resource_type for p in RECORD)
REQUIRED_TYPES: tuple[str, ...] = tuple(p.resource_type for p in RECORD if p.required)
PREFETCH_KEY_FOR_TYPE: dict[str, str] = {p.resource_type: p.prefetch_key for p in RECORD}
