"""The listed mutations: each clinical number or security check a review changed without any
test noticing, applied one at a time to a scratch copy of the repository; the tests named for it
must then fail. A mutation that leaves them green "survived": a rule can change unnoticed.

    .venv/bin/python scripts/mutation_listed.py            # every required mutation
    .venv/bin/python scripts/mutation_listed.py --all      # pending ones too (report only)
    .venv/bin/python scripts/mutation_listed.py --only map_65_to_80

Exit status 1 when a required mutation survives or its code has moved (the pattern is no
longer in the file: update the entry below). Results: test-output/mutation/listed.json and a
table on stdout (docs/mutation-testing.md keeps the last run).

The copy is made from `git ls-files` (tracked and new, not ignored files); the working tree is
never changed, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output" / "mutation"

CRS_TESTS = ("tests/unit/test_rule_boundaries.py", "tests/unit/test_crs_grading.py")
PLAN_TESTS = ("tests/unit/test_rule_boundaries.py", "tests/unit/test_cases_and_plan.py")
AUTH_TESTS = ("tests/unit/cds_hooks/test_cds_auth.py",)
FHIR_TESTS = (
    "tests/unit/test_fhir_client.py",
    "tests/unit/cds_hooks/test_cds_http.py",
    "tests/unit/test_smart_fetch.py",
)
SMART_TESTS = ("tests/integration/smart/test_launch.py",)
# The Lee 2014 dexamethasone row (the ICANS children's row has the same dose and cap).
DEXA_NEURO = '"lee2014: Corticosteroids and other agents", '


@dataclass(frozen=True)
class Mutation:
    id: str
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    required: bool = True  # False: reported, not enforced (see `note`)
    note: str = ""


# fmt: off
MUTATIONS: tuple[Mutation, ...] = (
    # --- clinical numbers (services/knowledge) -------------------------------------------------
    Mutation("map_65_to_80", "mean arterial pressure limit 65 → 80 mm Hg",
             "services/knowledge/crs.py", 'Param("hypotension_map", 65,', 'Param("hypotension_map", 80,', CRS_TESTS),
    Mutation("map_65_to_64", "mean arterial pressure limit 65 → 64 mm Hg",
             "services/knowledge/crs.py", 'Param("hypotension_map", 65,', 'Param("hypotension_map", 64,', CRS_TESTS),
    Mutation("window_24_to_25", "current window 24 → 25 h",
             "services/knowledge/crs.py", 'Param("window", 24,', 'Param("window", 25,', CRS_TESTS),
    Mutation("window_24_to_23", "current window 24 → 23 h",
             "services/knowledge/crs.py", 'Param("window", 24,', 'Param("window", 23,', CRS_TESTS),
    Mutation("anticytokine_14_to_1", "CRS episode look-back (lifts the ASTCT fever requirement) 14 → 1 day",
             "services/knowledge/crs.py", 'Param("crs_episode_lookback", 14,', 'Param("crs_episode_lookback", 1,', CRS_TESTS),
    Mutation("alt_uln_40_to_45", "assumed ALT upper limit 40 → 45 U/L",
             "services/knowledge/crs.py", '"alt": (40.0,', '"alt": (45.0,', CRS_TESTS),
    Mutation("ast_uln_40_to_39", "assumed AST upper limit 40 → 39 U/L",
             "services/knowledge/crs.py", '"ast": (40.0,', '"ast": (39.0,', CRS_TESTS),
    Mutation("bilirubin_uln_1_2_to_1_3", "assumed bilirubin upper limit 1.2 → 1.3 mg/dL",
             "services/knowledge/crs.py", '"bilirubin": (1.2,', '"bilirubin": (1.3,', CRS_TESTS),
    Mutation("creatinine_uln_1_2_to_1_1", "assumed creatinine upper limit 1.2 → 1.1 mg/dL",
             "services/knowledge/crs.py", '"creatinine": (1.2,', '"creatinine": (1.1,', CRS_TESTS),
    # cosmic-ray survivors of crs-numbers, killed by tests (kept here so CI checks the kill)
    Mutation("lee_low_flow_grade_2_to_3", "Lee 2014 low-flow oxygen without FiO2: grade 2 → 3",
             "services/knowledge/crs.py", 'Rule("lee2014.g2.low_flow", "lee2014", 2,', 'Rule("lee2014.g2.low_flow", "lee2014", 3,', CRS_TESTS),
    Mutation("astct_fever_lifted_grade_0_to_minus_1", "ASTCT fever-lifted criterion grade 0 → -1",
             "services/knowledge/crs.py", 'Rule("astct2019.fever_lifted", "astct2019", 0,', 'Rule("astct2019.fever_lifted", "astct2019", -1,', CRS_TESTS),
    Mutation("ctcae_urgent_grade_4_to_3", "CTCAE ventilatory support or two pressors: grade 4 → 3",
             "services/knowledge/crs.py", 'Rule("ctcae5.g4.urgent", "ctcae5", 4,', 'Rule("ctcae5.g4.urgent", "ctcae5", 3,', CRS_TESTS),
    Mutation("ast_grade_3_5x_to_6x", "AST grade 3 above 5 → 6 × ULN",
             "services/knowledge/crs.py", 'LabGrade("ast", 3, 5.0,', 'LabGrade("ast", 3, 6.0,', CRS_TESTS),
    Mutation("bilirubin_grade_3_3x_to_2x", "bilirubin grade 3 above 3 → 2 × ULN",
             "services/knowledge/crs.py", 'LabGrade("bilirubin", 3, 3.0,', 'LabGrade("bilirubin", 3, 2.0,', CRS_TESTS),
    Mutation("dopamine_ne_equivalent_half_to_1_5", "dopamine's norepinephrine-equivalent factor 0.5 → 1.5",
             "services/knowledge/crs.py", '"dopamine": 0.5,', '"dopamine": 1.5,', CRS_TESTS),
    Mutation("astct_death_grade_5_to_4", "ASTCT death row: grade 5 → 4 (named in the death-during-CRS note)",
             "services/knowledge/crs.py", 'Rule("astct2019.g5.death", "astct2019", 5,', 'Rule("astct2019.g5.death", "astct2019", 4,', CRS_TESTS),
    Mutation("stale_weight_30_to_39", "stale weight 30 → 39 days",
             "services/knowledge/crs.py", 'Param("weight_max_age", 30,', 'Param("weight_max_age", 39,', PLAN_TESTS),
    Mutation("stale_weight_30_to_29", "stale weight 30 → 29 days",
             "services/knowledge/crs.py", 'Param("weight_max_age", 30,', 'Param("weight_max_age", 29,', PLAN_TESTS),
    Mutation("baseline_90_to_30", "baseline look-back 90 → 30 days",
             "services/knowledge/orders.py", "BASELINE_LOOKBACK_DAYS = 90", "BASELINE_LOOKBACK_DAYS = 30",
             ("tests/unit/cds_hooks/test_cds_order_check.py",)),
    Mutation("baseline_90_to_91", "baseline look-back 90 → 91 days",
             "services/knowledge/orders.py", "BASELINE_LOOKBACK_DAYS = 90", "BASELINE_LOOKBACK_DAYS = 91",
             ("tests/unit/cds_hooks/test_cds_order_check.py",)),
    Mutation("tocilizumab_child_band_30_to_25", "tocilizumab 12 mg/kg row: below 30 → below 25 kg (a gap from 25 to 30 kg)",
             "services/knowledge/dosing.py", "at most 4 doses\", max_weight_kg=30)", "at most 4 doses\", max_weight_kg=25)", PLAN_TESTS),
    Mutation("tocilizumab_adult_band_30_to_35", "tocilizumab 8 mg/kg row: from 30 → from 35 kg",
             "services/knowledge/dosing.py", "at most 4 doses\", min_weight_kg=30)", "at most 4 doses\", min_weight_kg=35)", PLAN_TESTS),
    Mutation("select_first_row_fallback", "a weight in no band gets the first row's dose again",
             "services/knowledge/dosing.py", "    raise NoBand(regimen_id, f\"No dose band", "    return rows[0]\n    raise NoBand(regimen_id, f\"No dose band", PLAN_TESTS),
    Mutation("lee_tocilizumab_cap_source", "the Lee 2014 adult tocilizumab row cites the cap's number as its source",
             "services/knowledge/dosing.py", '"lee2014: Tocilizumab", per_kg_low=4, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],',
             '"lee2014: Tocilizumab", per_kg_low=4, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[0],',
             ("tests/unit/test_rule_boundaries.py",), note="a cosmic-ray survivor (dosing-numbers), killed by a test"),
    Mutation("label_tocilizumab_cap_source", "the label's ≥30 kg tocilizumab row cites the cap's number as its source",
             "services/knowledge/dosing.py", '"actemra_label: section 2, CRS", per_kg_low=8, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],',
             '"actemra_label: section 2, CRS", per_kg_low=8, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[0],',
             ("tests/unit/test_rule_boundaries.py",), note="a cosmic-ray survivor (dosing-numbers), killed by a test"),
    Mutation("lee_child_tocilizumab_cap_source", "the Lee 2014 child tocilizumab row cites the cap's number as its source",
             "services/knowledge/dosing.py", '"lee2014: Tocilizumab", per_kg_low=8, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],',
             '"lee2014: Tocilizumab", per_kg_low=8, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[0],',
             ("tests/unit/test_rule_boundaries.py",), note="a cosmic-ray survivor (dosing-numbers), killed by a test"),
    Mutation("methylprednisolone_lee_2_to_3", "methylprednisolone for Lee 2014 CRS 2 → 3 mg/kg/day",
             "services/knowledge/dosing.py", '"lee2014: Corticosteroids and other agents", per_kg_low=2,',
             '"lee2014: Corticosteroids and other agents", per_kg_low=3,', PLAN_TESTS),
    Mutation("dexamethasone_0_5_to_0_4", "dexamethasone 0.5 → 0.4 mg/kg",
             "services/knowledge/dosing.py", DEXA_NEURO + "per_kg_low=0.5, cap=10,", DEXA_NEURO + "per_kg_low=0.4, cap=10,", PLAN_TESTS),
    Mutation("dexamethasone_cap_10_to_12", "dexamethasone cap 10 → 12 mg",
             "services/knowledge/dosing.py", DEXA_NEURO + "per_kg_low=0.5, cap=10,", DEXA_NEURO + "per_kg_low=0.5, cap=12,", PLAN_TESTS),
    # --- CDS client JWT (cds_hooks/auth.py) -----------------------------------------------------
    Mutation("jwt_no_typ_check", "the JWT `typ` check removed", "cds_hooks/auth.py",
             'if typ is not None and str(typ).upper() != "JWT":', "if False:", AUTH_TESTS),
    Mutation("jwt_no_kid_check", "the JWT `kid` check removed", "cds_hooks/auth.py",
             "if not isinstance(kid, str) or not kid:", "if False:", AUTH_TESTS),
    Mutation("jwt_no_key_type_check", "the key-type check removed", "cds_hooks/auth.py",
             'if jwk.get("kty") != _KTY_FOR_ALG[alg[0]]:', "if False:", AUTH_TESTS, required=False,
             note="equivalent: PyJWT refuses the key too (InvalidKeyError, logged with the same reason=key_type)"),
    Mutation("jwt_no_key_alg_check", "the key `alg` check removed", "cds_hooks/auth.py",
             'if jwk.get("alg") not in (None, alg):', "if False:", AUTH_TESTS),
    Mutation("jwt_no_key_use_check", "the key `use` check removed", "cds_hooks/auth.py",
             'if jwk.get("use") not in (None, "sig"):', "if False:", AUTH_TESTS),
    Mutation("jwt_no_iat_check", "the service's own `iat` check removed", "cds_hooks/auth.py",
             "if iat > now + SKEW_S:", "if False:", AUTH_TESTS),
    Mutation("jwks_http_url_allowed", "an `http` key-set URL accepted", "cds_hooks/auth.py",
             "if jwks is None and not _safe_key_url(url):", "if jwks is None and not url:", AUTH_TESTS),
    # --- FHIR client URL guards (immunotox/fhir_client.py) ---------------------------------------
    Mutation("base_guard_no_userinfo", "the base guard's user-info rule removed", "immunotox/fhir_client.py",
             'if u.username is not None or u.password is not None or "@" in u.netloc:', "if False:", FHIR_TESTS),
    Mutation("base_guard_no_dot_segment", "the base guard's `..` rule removed", "immunotox/fhir_client.py",
             ' or any(seg in (".", "..") for seg in path.split("/")):', ":", FHIR_TESTS),
    Mutation("base_guard_no_path_prefix", "the base guard's path-prefix rule removed", "immunotox/fhir_client.py",
             "if path == prefix or path.startswith(prefix + \"/\") or (not prefix and not path):", "if True:", FHIR_TESTS),
    Mutation("next_page_not_checked", "the next-page host check removed", "immunotox/fhir_client.py",
             "rule = outside_base(next_url, self.base)", "rule = None", FHIR_TESTS),
    # --- SMART session ------------------------------------------------------------------------
    Mutation("smart_non_bearer_accepted", "a token type other than Bearer accepted", "launch/session.py",
             'if str(body.get("token_type", "")).lower() != "bearer":', "if False:",
             (f"{SMART_TESTS[0]}::test_a_token_that_is_not_a_bearer_token_is_refused",)),
    Mutation("smart_token_without_patient_accepted", "a token response without a patient accepted", "launch/session.py",
             "if not isinstance(patient, str) or not patient:", "if False:",
             (f"{SMART_TESTS[0]}::test_a_token_response_without_a_patient_opens_no_chart",)),
    Mutation("smart_no_proactive_refresh", "no refresh before the access token expires (only after a 401)",
             "launch/session.py", 'if stale is None and sess["expires_at"] - margin > time.time():',
             "if stale is None:", ("tests/integration/smart/test_launch.py::test_an_access_token_is_refreshed_before_it_expires",)),
)
# fmt: on


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.is_file():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def _run(m: Mutation, work: Path, timeout_s: float) -> dict:
    path = work / m.path
    original = path.read_text(encoding="utf-8")
    n = original.count(m.old)
    if n != 1:
        return {"id": m.id, "result": "stale", "detail": f"pattern found {n} times in {m.path}"}
    path.write_text(original.replace(m.old, m.new), encoding="utf-8")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *m.tests],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        code, out = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired:
        code, out = -1, ""
    finally:
        path.write_text(original, encoding="utf-8")
    failed = re.findall(r"^FAILED (\S+)", out, re.M)
    result = {0: "survived", 1: "killed"}.get(code, "error")
    if code == -1:
        result = "timeout"
    return {
        "id": m.id,
        "result": result,
        "seconds": round(time.monotonic() - t0, 1),
        "failed_tests": failed,
        "detail": "" if result in ("killed", "survived") else out[-2000:],
    }


def markdown(results: list[dict]) -> str:
    """The results as the table docs/mutation-testing.md keeps."""
    rows = ["| mutation | result | a test that fails |", "| --- | --- | --- |"]
    for r in results:
        killer = (r.get("failed_tests") or [""])[0].split("::")[-1]
        result = r["result"] + ("" if r["required"] else f" (not enforced: {r['note']})")
        rows.append(
            f"| {r['what']} (`{r['path']}`) | {result} | `{killer}` |"
            if killer
            else f"| {r['what']} (`{r['path']}`) | {result} | |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="run pending mutations too")
    ap.add_argument("--markdown", action="store_true", help="print the last results as a table")
    ap.add_argument("--only", nargs="*", help="mutation ids")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads((OUT / "listed.json").read_text(encoding="utf-8"))))
        return 0
    chosen = [
        m
        for m in MUTATIONS
        if (args.only is None or m.id in args.only) and (m.required or args.all or args.only)
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="immunotox-mutation-") as tmp:
        work = Path(tmp)
        _copy_repo(work)
        for m in chosen:
            r = _run(m, work, args.timeout) | {
                "what": m.what,
                "path": m.path,
                "required": m.required,
                "note": m.note,
            }
            results.append(r)
            killers = ", ".join(t.split("::")[-1] for t in r.get("failed_tests", [])[:2])
            print(f"{r['result']:<9} {m.id:<36} {r.get('seconds', 0):>6} s  {killers}", flush=True)
    (OUT / "listed.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    bad = [r for r in results if r["required"] and r["result"] != "killed"]
    for r in bad:
        print(f"\n{r['id']}: {r['result']} ({r['what']}) {r.get('detail', '')}", file=sys.stderr)
    print(
        f"\n{sum(r['result'] == 'killed' for r in results)} of {len(results)} killed; "
        f"{len(bad)} required not killed"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
