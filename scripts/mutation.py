"""Mutation testing with cosmic-ray, scoped to the code where a changed rule must fail a test:
the clinical knowledge tables, the CRS graders, the CDS client JWT checks, the FHIR clients'
URL guards and the SMART session. How to read the results: docs/mutation-testing.md.

    bash scripts/mutation.sh ci                 # CI subset: the listed mutations + table numbers
    bash scripts/mutation.sh full               # every scope below (hours on 2 cores)
    bash scripts/mutation.sh scope tables auth  # chosen scopes
    bash scripts/mutation.sh listed             # the listed mutations only

Each scope runs in a scratch copy of the repository (the working tree is never mutated) with
only behaviour tests as its test command: the generated-document check
(tests/unit/test_docs_in_sync.py) fails on any changed number and would hide survivors, so it
is never part of one. Results go to test-output/mutation/: `<scope>.sqlite` (the cosmic-ray
session: `cr-report`, `cr-html`), `<scope>.json` (counts and every survivor with its diff).
Exit status 1 when a scope marked `gate` has a survivor that docs/mutation-testing.md does not
explain (an entry `- <scope> <path> <operator> ``<text of the original line>``` in its
"Explained survivors" list).
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
DOC = ROOT / "docs" / "mutation-testing.md"
BIN = Path(sys.executable).parent

sys.path.insert(0, str(ROOT / "scripts"))
from mutation_listed import _copy_repo  # noqa: E402

# Operators that only produce type errors or equivalent code here (bit shifts on floats,
# `is` against numbers), left out so the run spends its time on meaningful changes.
NOISE = (
    r"core/ReplaceBinaryOperator_.*_(FloorDiv|Mod|Pow|RShift|LShift|BitOr|BitAnd|BitXor)$",
    r"core/ReplaceBinaryOperator_(FloorDiv|Mod|Pow|RShift|LShift|BitOr|BitAnd|BitXor)_",
    r"core/ReplaceComparisonOperator_.*_(Is|IsNot)$",
    r"core/ReplaceComparisonOperator_(Is|IsNot)_(Lt|LtE|Gt|GtE)$",
    r"core/ReplaceUnaryOperator_.*Invert",
    r"core/VariableReplacer",
    r"core/VariableInserter",
    r"core/RemoveDecorator",
)
ONLY_NUMBERS = (r"(?!core/NumberReplacer$).*",)


@dataclass(frozen=True)
class Scope:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    exclude: tuple[str, ...] = NOISE
    gate: bool = False  # unexplained survivors fail the run
    timeout_s: float = 300.0


CRS_TESTS = (
    "tests/unit/test_rule_boundaries.py",
    "tests/unit/test_crs_grading.py",
    "tests/unit/test_crs_attribution.py",  # children's limits, onset windows, death
    "tests/unit/test_crs_infection.py",  # the infection window
)
PLAN_TESTS = ("tests/unit/test_rule_boundaries.py", "tests/unit/test_cases_and_plan.py")
CLINICAL_TESTS = (*CRS_TESTS, *PLAN_TESTS[1:], "tests/unit/cds_hooks/test_cds_order_check.py")

# fmt: off
SCOPES: dict[str, Scope] = {s.name: s for s in (
    # CI: every number of the dosing table, +1 and -1 (doses, caps, bands, PJP thresholds).
    Scope("dosing-numbers", ("services/knowledge/dosing.py",),
          ("tests/unit/test_rule_boundaries.py", "tests/unit/test_irae_plan.py",
           "tests/unit/test_icans_plan.py"),
          exclude=ONLY_NUMBERS, gate=True),
    # Every number of the CRS table (thresholds, windows, rule grades, organ toxicity, ULNs).
    Scope("crs-numbers", ("services/knowledge/crs.py",), CRS_TESTS, exclude=ONLY_NUMBERS, gate=True),
    # The other tables, and the logic in them (band selection), every operator.
    Scope("tables", ("services/knowledge/dosing.py", "services/knowledge/orders.py",
                     "services/knowledge/irae.py"), CLINICAL_TESTS,
          exclude=(*NOISE, r"core/NumberReplacer$")),
    Scope("graders", ("services/crs.py", "services/vasopressors.py"),
          (*CRS_TESTS, "tests/unit/test_crs_trajectory_shortcuts.py")),
    Scope("auth", ("cds_hooks/auth.py",),
          ("tests/unit/cds_hooks/test_cds_auth.py", "tests/unit/cds_hooks/test_jwks_cache.py")),
    Scope("url-guards", ("immunotox/fhir_client.py",),
          ("tests/unit/test_fhir_client.py", "tests/unit/cds_hooks/test_cds_http.py",
           "tests/unit/test_smart_fetch.py")),
    Scope("session", ("launch/session.py",), ("tests/integration/smart/test_launch.py",)),
)}
# fmt: on
MODES = {"ci": ("dosing-numbers",), "full": tuple(SCOPES)}


def _config(scope: Scope) -> str:
    tests = " ".join(scope.tests)
    command = f"{BIN / 'python'} -m pytest -x -q -p no:cacheprovider {tests}"
    modules = ", ".join(json.dumps(m) for m in scope.modules)
    excluded = ", ".join(json.dumps(e) for e in scope.exclude)
    return (
        "[cosmic-ray]\n"
        f"module-path = [{modules}]\n"
        f"timeout = {scope.timeout_s}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        '[cosmic-ray.distributor]\nname = "local"\n\n'
        f"[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excluded}]\n"
    )


def _explained() -> list[tuple[str, str, str, str]]:
    """(scope, path, operator, fragment) of the survivors docs/mutation-testing.md explains:
    lines `- <scope> <path> <operator> ``<text of the original line>```. The fragment, not the
    line number, identifies the mutant, so an explanation survives edits elsewhere in the file."""
    if not DOC.exists():
        return []
    pattern = r"^- ([\w-]+) ([\w/.]+) (core/\w+) ``(.+?)``"
    return [m.groups() for m in re.finditer(pattern, DOC.read_text("utf-8"), re.M)]


def _is_explained(scope: str, s: dict, explained: list[tuple[str, str, str, str]]) -> bool:
    removed = [
        ln[1:] for ln in s["diff"].splitlines() if ln.startswith("-") and not ln.startswith("---")
    ]
    return any(
        (sc, path, op) == (scope, s["path"], s["operator"]) and any(frag in ln for ln in removed)
        for sc, path, op, frag in explained
    )


def _cr(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def run_scope(scope: Scope, work: Path) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    cfg = work / f"mutation-{scope.name}.toml"
    cfg.write_text(_config(scope), encoding="utf-8")
    session = OUT / f"{scope.name}.sqlite"
    session.unlink(missing_ok=True)
    t0 = time.monotonic()
    for step in (
        [str(BIN / "cosmic-ray"), "init", str(cfg), str(session)],
        [str(BIN / "cr-filter-operators"), str(session), str(cfg)],
        [str(BIN / "cosmic-ray"), "baseline", str(cfg)],
        [str(BIN / "cosmic-ray"), "exec", str(cfg), str(session)],
    ):
        p = _cr(*step, cwd=work)
        if p.returncode != 0:
            raise SystemExit(
                f"{' '.join(step[:2])} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
            )
    dump = _cr(str(BIN / "cosmic-ray"), "dump", str(session), cwd=work).stdout
    counts: dict[str, int] = {}
    survivors = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        outcome = (result or {}).get("worker_outcome")
        test = (result or {}).get("test_outcome")
        key = "skipped" if outcome == "skipped" else (test or outcome or "pending")
        counts[key] = counts.get(key, 0) + 1
        if outcome == "normal" and test == "survived":
            for mut in item["mutations"]:
                path = (
                    os.path.relpath(mut["module_path"], work)
                    if os.path.isabs(mut["module_path"])
                    else mut["module_path"]
                )
                survivors.append(
                    {
                        "path": path,
                        "line": mut["start_pos"][0],
                        "operator": mut["operator_name"],
                        "occurrence": mut["occurrence"],
                        "diff": (result or {}).get("diff", ""),
                    }
                )
    explained = _explained()
    for s in survivors:
        s["explained"] = _is_explained(scope.name, s, explained)
    summary = {
        "scope": scope.name,
        "modules": scope.modules,
        "tests": scope.tests,
        "minutes": round((time.monotonic() - t0) / 60, 1),
        "counts": counts,
        "survivors": survivors,
    }
    (OUT / f"{scope.name}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["ci", "full", "scope", "listed"])
    ap.add_argument("scopes", nargs="*", help=f"with `scope`: {', '.join(SCOPES)}")
    args = ap.parse_args(argv)
    status = 0
    if args.mode in ("ci", "listed"):
        import mutation_listed

        status = mutation_listed.main([])
        if args.mode == "listed":
            return status
    names = args.scopes if args.mode == "scope" else MODES[args.mode]
    unknown = [n for n in names if n not in SCOPES]
    if unknown:
        ap.error(f"unknown scope {unknown}; choose from {list(SCOPES)}")
    with tempfile.TemporaryDirectory(prefix="immunotox-cosmic-") as tmp:
        work = Path(tmp)
        _copy_repo(work)
        shutil.rmtree(work / "test-output", ignore_errors=True)
        for name in names:
            scope = SCOPES[name]
            print(f"scope {name}: {', '.join(scope.modules)}", flush=True)
            s = run_scope(scope, work)
            open_ = [x for x in s["survivors"] if not x["explained"]]
            print(
                f"  {s['minutes']} min, {s['counts']}; {len(s['survivors'])} survived, "
                f"{len(open_)} not explained in docs/mutation-testing.md",
                flush=True,
            )
            for x in open_:
                print(f"  - {name} {x['path']}:{x['line']} {x['operator']}\n{x['diff']}")
            if scope.gate and open_:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
