from pathlib import Path

from services.knowledge.document import render

ROOT = Path(__file__).resolve().parents[2]


def test_clinical_rules_document_matches_the_tables_the_code_runs():
    doc = (ROOT / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
    assert doc == render(), (
        "docs/clinical-rules.md is stale: run `immunotox rules > docs/clinical-rules.md`"
    )


def test_every_cited_source_id_exists():
    from services.knowledge import crs, dosing, irae
    from services.knowledge.sources import SOURCES

    cited = [p.source for p in crs.PARAMS.values()] + [r.source for r in crs.RULES.values()]
    cited += [r.source for r in dosing._REGIMENS] + [r.source for r in irae._ACTIONS]
    cited += [w.source for w in crs.ONSET_WINDOWS] + [a.source for a in crs.AGE_LIMITS]
    cited += [crs.PRIMARY_SOURCE, crs.FEVER_LIFTING_SOURCE, crs.ONSET_MARKING_SOURCE]
    from services.knowledge import icans

    cited += [p.source for p in icans.PARAMS.values()] + [r.source for r in icans.RULES.values()]
    cited += [w.source for w in icans.ONSET_WINDOWS] + [icans.NOT_ATTRIBUTABLE_SOURCE]
    cited += [icans.HAEMORRHAGE_SOURCE] + [r.source for r in icans.PLAN]
    cited += [c.source for c in icans.HS_CRITERIA] + [icans.HS_PATHWAY_SOURCE]
    cited += [icans.STEROID_WITH_CRS_PLAN_SOURCE]
    cited += [r.source for r in icans.HS_PLAN] + [icans.HS_PHASE_SOURCE]
    cited += [icans.LP_WITHHELD[1], icans.SEIZURE_DRUG_GIVEN[1], icans.MONITOR_TOOL_SOURCE]
    cited += [r.source for r in icans.OTHER_CAUSES]
    cited += [crs.ORGAN_ALONE_NOTE[1]]
    for c in cited:
        for part in c.split(";"):
            assert part.partition(":")[0].strip() in SOURCES, c
