"""What every condition module shares: the patient context and the one loop that turns the
rows of `knowledge.irae_plan` for a finding's grade into plan lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.knowledge.irae_plan import steps_for
from services.model import Exposure, IraeFinding, PatientData


@dataclass
class Context:
    data: PatientData
    findings: dict[str, IraeFinding] = field(default_factory=dict)
    ici: list[Exposure] = field(default_factory=list)  # checkpoint-inhibitor exposures
    at: datetime | None = None  # the assessment time (None: not known to the caller)

    @property
    def kinds(self) -> set[str]:
        return set(self.findings)

    def conditions(self, kind: str) -> list[Any]:
        """The attributed conditions of this kind (active, not excluded)."""
        return [c for c in self.data.conditions if c.kind == kind and c.active and not c.excluded]


def apply_steps(p: Any, f: IraeFinding, flags: Iterable[str] = ()) -> None:
    """Add the rows for this finding's kind and grade. A row with `grades` None applies at any
    grade (an unknown grade too); a row with `when` applies only when that flag is set."""
    if f.grade == 5:
        return  # a fatal irAE: nothing to treat
    on = set(flags)
    if f.grade is None:
        on.add("ungraded")
    for s in steps_for(f.kind):
        if s.when is not None and s.when not in on:
            continue
        if s.grades is not None and (f.grade is None or f.grade not in s.grades):
            continue
        if s.regimen:
            p.drug(
                s.regimen,
                (f.kind,),
                urgency=s.urgency,
                alternative_to=s.alternative_to,
                category=s.category,
                text=s.text or None,
                key=s.id,
                source=s.source,
                when=s.only_if,
            )
        else:
            p.advice(
                s.id,
                s.category,
                s.text,
                s.source,
                (f.kind,),
                urgency=s.urgency,
                service=s.service,
                drug=s.drug,
                dose_missing_reason=s.dose_note,
                alternative_to=s.alternative_to,
            )
