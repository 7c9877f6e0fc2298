"""The demo EHR: a patient list, a chart per patient, a real SMART EHR launch of the app, and
CDS Hooks calls (patient-view, order-select, order-sign) whose cards it shows. A charting panel
stores vital signs and labs as Observations on the FHIR server and fires
`org.immunotox.observation-create`; accepting a write-back suggestion of its card creates the
resource (a Condition, an AdverseEvent) on the FHIR server and sends the feedback.

It runs in the demo process together with the local SMART authorization server and FHIR
gateway (`demo.authserver`), on the same origin: `/fhir` is the FHIR base the app and
the CDS service see, `/auth/*` the authorization server, `/` and `/ehr/*` the EHR.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, abort, redirect, render_template, request, url_for
from markupsafe import Markup

from demo.authserver import DevSmartServer, patient_name

HERE = Path(__file__).parent
HOOK_TIMEOUT_S = 15.0
FETCH_TIMEOUT_S = 10.0
USER = "Practitioner/demo-clinician"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Orders a clinician might draft; each becomes a draft MedicationRequest.
DRAFT_ORDERS: dict[str, dict[str, Any]] = {
    "pembrolizumab-200": {
        "label": "pembrolizumab 200 mg IV once",
        "code": "1547545",
        "display": "pembrolizumab",
        "dose": (200, "mg"),
        "route": "intravenous",
        "timing": "once",
    },
    "tocilizumab-560": {
        "label": "tocilizumab 560 mg IV once",
        "code": "612865",
        "display": "tocilizumab",
        "dose": (560, "mg"),
        "route": "intravenous",
        "timing": "once",
    },
    "tocilizumab-1000": {
        "label": "tocilizumab 1000 mg IV once",
        "code": "612865",
        "display": "tocilizumab",
        "dose": (1000, "mg"),
        "route": "intravenous",
        "timing": "once",
    },
    "methylprednisolone-140": {
        "label": "methylprednisolone 140 mg IV daily",
        "code": "6902",
        "display": "methylprednisolone",
        "dose": (140, "mg"),
        "route": "intravenous",
        "timing": "daily",
    },
    "prednisone-20-tablet": {
        "label": "Prednisone 20 MG Oral Tablet, 1 tablet by mouth daily",
        "code": "312615",
        "display": "Prednisone 20 MG Oral Tablet",
        "dose": (1, "{tbl}"),
        "route": "oral",
        "timing": "daily",
    },
    "prednisone-20": {
        "label": "prednisone 20 mg by mouth daily",
        "code": "8640",
        "display": "prednisone",
        "dose": (20, "mg"),
        "route": "oral",
        "timing": "daily",
    },
}


OBSERVATION_HOOK = "org.immunotox.observation-create"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# What the nurse can chart: form field -> (LOINC code or None, UCUM unit, label, category).
CHART_FIELDS: dict[str, tuple[str | None, str, str, str]] = {
    "temperature": ("8310-5", "Cel", "Temperature (°C)", "vital-signs"),
    "sbp": ("8480-6", "mm[Hg]", "Systolic blood pressure (mmHg)", "vital-signs"),
    "o2_flow": ("3151-8", "L/min", "Oxygen flow (L/min)", "vital-signs"),
    "fio2": ("3150-0", "%", "FiO2 (%)", "vital-signs"),
    "ice": (None, "{score}", "ICE score (0-10)", "survey"),
}
LABS: dict[str, tuple[str, str, str]] = {
    "ferritin": ("2276-4", "ng/mL", "Ferritin (ng/mL)"),
    "crp": ("1988-5", "mg/L", "C-reactive protein (mg/L)"),
    "alt": ("1742-6", "U/L", "ALT (U/L)"),
    "creatinine": ("2160-0", "mg/dL", "Creatinine (mg/dL)"),
}


def charted_observation(
    field: str, value: float, patient_id: str, lab: str | None = None
) -> dict[str, Any]:
    """One Observation as the EHR records it: now, final, by the demo user."""
    if lab is not None:
        loinc, unit, label = LABS[lab]
        category = "laboratory"
    else:
        loinc, unit, label, category = CHART_FIELDS[field]
    code: dict[str, Any] = (
        {"coding": [{"system": LOINC, "code": loinc}], "text": label.split(" (")[0]}
        if loinc
        else {"text": "ICE score"}
    )
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "performer": [{"reference": USER}],
    }
    if field == "ice":
        res["valueInteger"] = int(value)
    else:
        res["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return res


def draft_medication_request(key: str, patient_id: str) -> dict[str, Any]:
    o = DRAFT_ORDERS[key]
    value, unit = o["dose"]
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{key}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": o["code"], "display": o["display"]}],
            "text": o["display"],
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "requester": {"reference": USER},
        "dosageInstruction": [
            {
                "text": o["label"],
                "route": {"text": o["route"]},
                "timing": {
                    "code": {"text": o["timing"]},
                    **(
                        {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
                        if o["timing"] == "daily"
                        else {}
                    ),
                },
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": value,
                            "unit": unit,
                            "system": "http://unitsofmeasure.org",
                            "code": unit,
                        }
                    }
                ],
            }
        ],
    }


def fill_template(template: str, context: dict[str, Any]) -> str | None:
    """Replace `{{context.x}}` and `{{userPractitionerId}}` tokens; None if one is unknown."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1).strip()
        if name.startswith("context."):
            v = context.get(name[len("context.") :])
        elif name in ("userPractitionerId", "user.Practitioner.id"):
            v = USER.split("/", 1)[1]
        else:
            v = None
        if not isinstance(v, str):
            missing = True
            return ""
        return v

    out = re.sub(r"\{\{([^}]+)\}\}", sub, template)
    return None if missing else out


def render_markdown(text: str) -> Markup:
    """Card `detail` is GitHub-flavoured Markdown. Raw HTML stays disabled, so the output holds
    only what Markdown itself produces (and unsafe link schemes are refused). Without the
    renderer (it comes with the demo's FHIR server), the text is shown as it is."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return Markup('<div class="detail plain">{}</div>').format(text)
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup('<div class="detail">') + Markup(md.render(text)) + Markup("</div>")  # noqa: S704


def age_of(birth: str | None) -> str:
    if not birth or len(birth) < 10:
        return ""
    try:
        b = date.fromisoformat(birth[:10])
    except ValueError:
        return ""
    t = date.today()
    return str(t.year - b.year - ((t.month, t.day) < (b.month, b.day)))


def create_ehr_app(dev: DevSmartServer, app_base: str, cds_base: str | None = None) -> Flask:
    """The EHR and the SMART server on one Flask app. `app_base` is where immunotox runs."""
    app = Flask(
        "demo_ehr",
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
        static_url_path="/ehr/static",
    )
    dev.init_app(app)
    app_base = app_base.rstrip("/")
    cds_base = (cds_base or app_base).rstrip("/")
    launch_url = f"{app_base}/smart/launch"

    def upstream(path: str, params: dict[str, str] | None = None) -> Any:
        r = requests.get(
            f"{dev.upstream}/{path}",
            params=params,
            headers={"Accept": "application/fhir+json"},
            timeout=FETCH_TIMEOUT_S,
        )
        r.raise_for_status()
        return r.json()

    def patient_or_404(pid: str) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", pid):
            abort(404)
        try:
            return upstream(f"Patient/{pid}")
        except requests.RequestException:
            abort(404)

    @app.after_request
    def headers(resp):
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' "
            f"{app_base}; base-uri 'none'",
        )
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        return resp

    @app.get("/")
    def index():
        try:
            bundle = upstream("Patient", {"_count": "100", "_sort": "family"})
            error = None
        except requests.RequestException as e:
            bundle, error = {}, f"The FHIR server did not answer ({type(e).__name__})."
        patients = []
        for e in bundle.get("entry") or []:
            p = e.get("resource") or {}
            patients.append(
                {
                    "id": p.get("id"),
                    "name": patient_name(p),
                    "gender": p.get("gender") or "",
                    "age": age_of(p.get("birthDate")),
                }
            )
        patients.sort(key=lambda p: (p["id"] != "seed-pembrolizumab", p["name"]))
        return render_template(
            "index.html", patients=patients, error=error, fhir_base=dev.fhir_base
        )

    @app.get("/ehr/patient/<pid>")
    def chart(pid: str):
        p = patient_or_404(pid)
        return render_chart(p, None)

    def render_chart(p: dict[str, Any], result: dict[str, Any] | None, status: int = 200):
        return (
            render_template(
                "chart.html",
                p=p,
                name=patient_name(p),
                age=age_of(p.get("birthDate")),
                orders=DRAFT_ORDERS,
                chart_fields=CHART_FIELDS,
                labs=LABS,
                result=result,
                app_base=app_base,
            ),
            status,
        )

    @app.get("/ehr/launch/<pid>")
    def ehr_launch(pid: str):
        """A SMART EHR launch: a launch context on the authorization server, then the app's
        launch URL with `iss` and `launch`. From a card link, the link's URL and appContext."""
        patient_or_404(pid)
        target = request.args.get("url") or launch_url
        if not (target == launch_url or target.startswith(app_base + "/")):
            abort(400, "This EHR only launches the immunotox app.")
        app_context = request.args.get("appContext")
        # ?style=1: the launch also sends the EHR's style (smart_style_url)
        style_url = dev.style_url if request.args.get("style") == "1" else None
        launch = dev.create_launch(
            pid, app_context=app_context, need_patient_banner=True, smart_style_url=style_url
        )
        sep = "&" if "?" in target else "?"
        return redirect(f"{target}{sep}{urlencode({'iss': dev.fhir_base, 'launch': launch})}")

    @app.post("/ehr/patient/<pid>/hook/<hook>")
    def fire_hook(pid: str, hook: str):
        p = patient_or_404(pid)
        if hook not in ("patient-view", "order-select", "order-sign"):
            abort(404)
        order_keys = [k for k in request.form.getlist("order") if k in DRAFT_ORDERS]
        result = call_hook(pid, hook, order_keys)
        return render_chart(p, result)

    # Suggestions of the observation-create cards, kept until accepted (a demo: in memory).
    offered: dict[str, dict[str, Any]] = {}

    def fhir_create(resource: dict[str, Any]) -> str:
        """Store a resource on the FHIR server; its new reference (Type/id)."""
        r = requests.post(
            f"{dev.upstream}/{resource['resourceType']}",
            json=resource,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
            timeout=FETCH_TIMEOUT_S,
        )
        r.raise_for_status()
        rid = (r.json() or {}).get("id") if r.content else None
        if not rid:
            loc = r.headers.get("Location") or r.headers.get("Content-Location") or ""
            parts = loc.split("/_history")[0].rstrip("/").split("/")
            rid = parts[-1] if len(parts) >= 2 else ""
        return f"{resource['resourceType']}/{rid}"

    @app.post("/ehr/patient/<pid>/chart")
    def chart_observations(pid: str):
        """The nurse charts vital signs or a lab: each value becomes an Observation on the FHIR
        server, then the observation-create hook fires with them."""
        p = patient_or_404(pid)
        observations: list[dict[str, Any]] = []
        problems: list[str] = []
        entries = [(f, request.form.get(f, ""), None) for f in CHART_FIELDS]
        lab = request.form.get("lab", "")
        if lab in LABS:
            entries.append(("lab", request.form.get("lab_value", ""), lab))
        for field, raw, which in entries:
            raw = raw.strip().replace(",", ".")
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{field}: not a number")
                continue
            observations.append(charted_observation(field, value, pid, which))
        if problems or not observations:
            result = {
                "hook": OBSERVATION_HOOK,
                "error": "; ".join(problems) or "Enter at least one value to chart.",
            }
            return render_chart(p, result, 400 if problems else 200)
        stored: list[dict[str, Any]] = []
        try:
            for o in observations:
                ref = fhir_create(o)
                stored.append({**o, "id": ref.split("/", 1)[1]})
        except requests.RequestException as e:
            result = {
                "hook": OBSERVATION_HOOK,
                "error": f"The FHIR server did not store the observation ({type(e).__name__}).",
            }
            return render_chart(p, result, 502)
        result = call_hook(pid, OBSERVATION_HOOK, [], observations=stored)
        shown = {"Cel": "°C", "mm[Hg]": "mmHg"}
        result["charted"] = [
            f"{o['code'].get('text')} "
            + (
                str(o["valueInteger"])
                if "valueInteger" in o
                else f"{o['valueQuantity']['value']:g} "
                + shown.get(o["valueQuantity"]["unit"], o["valueQuantity"]["unit"])
            )
            + f" (Observation/{o['id']})"
            for o in stored
        ]
        return render_chart(p, result)

    @app.post("/ehr/patient/<pid>/accept")
    def accept_suggestion(pid: str):
        """Accept a write-back suggestion: its resources are created on the FHIR server and the
        CDS service gets the feedback."""
        p = patient_or_404(pid)
        item = offered.get(request.form.get("suggestion", ""))
        if item is None or item["pid"] != pid:
            return render_chart(
                p, {"hook": OBSERVATION_HOOK, "error": "That suggestion is no longer open."}, 404
            )
        created: list[str] = []
        try:
            for action in item["actions"]:
                if action.get("type") == "create" and isinstance(action.get("resource"), dict):
                    created.append(fhir_create(action["resource"]))
        except requests.RequestException as e:
            return render_chart(
                p,
                {
                    "hook": OBSERVATION_HOOK,
                    "error": f"The FHIR server refused the resource ({type(e).__name__}).",
                },
                502,
            )
        offered.pop(request.form.get("suggestion", ""), None)
        feedback = {
            "feedback": [
                {
                    "card": item["card"],
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": item["uuid"]}],
                    "outcomeTimestamp": datetime.now(UTC)
                    .isoformat(timespec="seconds")
                    .replace("+00:00", "Z"),
                }
            ]
        }
        try:
            fr = requests.post(
                f"{cds_base}/cds-services/{item['service']}/feedback",
                json=feedback,
                timeout=HOOK_TIMEOUT_S,
            )
            fb_status = f"HTTP {fr.status_code}"
        except requests.RequestException as e:
            fb_status = f"not sent ({type(e).__name__})"
        result = {
            "hook": OBSERVATION_HOOK,
            "accepted": {"label": item["label"], "created": created, "feedback": fb_status},
        }
        return render_chart(p, result)

    def call_hook(
        pid: str,
        hook: str,
        order_keys: list[str],
        observations: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        started = time.monotonic()
        try:
            disc = requests.get(f"{cds_base}/cds-services", timeout=FETCH_TIMEOUT_S)
            services = disc.json().get("services") or []
        except (requests.RequestException, ValueError):
            return {"hook": hook, "error": "The CDS service did not answer its discovery URL."}
        chosen = [s for s in services if s.get("hook") == hook]
        if not chosen:
            return {"hook": hook, "error": f"The CDS service offers no {hook} service."}
        context: dict[str, Any] = {"userId": USER, "patientId": pid}
        if hook in ("order-select", "order-sign"):
            if not order_keys:
                return {"hook": hook, "error": "Choose at least one order first."}
            drafts = [draft_medication_request(k, pid) for k in order_keys]
            context["draftOrders"] = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": d} for d in drafts],
            }
            if hook == "order-select":
                context["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts]
        if observations is not None:
            context["observations"] = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": o} for o in observations],
            }
        token = dev.issue_token(pid, "patient/*.rs", client_id="demo-ehr-cds")
        out: dict[str, Any] = {"hook": hook, "services": [], "orders": order_keys}
        for svc in chosen:
            prefetch = build_prefetch(svc.get("prefetch") or {}, context, token["access_token"])
            body = {
                "hookInstance": str(uuid.uuid4()),
                "hook": hook,
                "fhirServer": dev.fhir_base,
                "fhirAuthorization": token,
                "context": context,
                "prefetch": prefetch,
            }
            t0 = time.monotonic()
            try:
                r = requests.post(
                    f"{cds_base}/cds-services/{svc['id']}", json=body, timeout=HOOK_TIMEOUT_S
                )
                cards = r.json().get("cards", []) if r.status_code == 200 else []
                err = None if r.status_code == 200 else f"HTTP {r.status_code}: {r.text[:300]}"
            except (requests.RequestException, ValueError) as e:
                cards, err = [], f"no answer ({type(e).__name__})"
            out["services"].append(
                {
                    "id": svc["id"],
                    "title": svc.get("title") or svc["id"],
                    "cards": [
                        view_card(c, pid, svc["id"] if hook == OBSERVATION_HOOK else None)
                        for c in cards
                    ],
                    "error": err,
                    "ms": round((time.monotonic() - t0) * 1000),
                }
            )
        out["ms"] = round((time.monotonic() - started) * 1000)
        return out

    def build_prefetch(
        templates: dict[str, str], context: dict[str, Any], token: str
    ) -> dict[str, Any]:
        def one(item: tuple[str, str]) -> tuple[str, Any]:
            key, template = item
            query = fill_template(template, context)
            if query is None:
                return key, None
            try:
                r = requests.get(
                    f"{dev.fhir_base}/{query}",
                    headers={"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"},
                    timeout=FETCH_TIMEOUT_S,
                )
                return key, r.json() if r.status_code == 200 else None
            except (requests.RequestException, ValueError):
                return key, None

        with ThreadPoolExecutor(max_workers=max(1, len(templates))) as pool:
            return dict(pool.map(one, templates.items()))

    def view_card(
        card: dict[str, Any], pid: str, acceptable_for: str | None = None
    ) -> dict[str, Any]:
        """A card for the page. `acceptable_for`: the service id whose create suggestions the
        EHR can carry out (kept in `offered` until accepted)."""
        links = []
        for lk in card.get("links") or []:
            url = lk.get("url") or ""
            if lk.get("type") == "smart":
                params = {"url": url}
                if lk.get("appContext"):
                    params["appContext"] = lk["appContext"]
                href = url_for("ehr_launch", pid=pid) + "?" + urlencode(params)
            else:
                href = url if url.startswith(("https://", "http://")) else ""
            links.append({"label": lk.get("label") or url, "href": href, "type": lk.get("type")})
        suggestions = []
        for s in card.get("suggestions") or []:
            actions = []
            for a in s.get("actions") or []:
                res = a.get("resource") or {}
                actions.append(
                    {
                        "type": a.get("type"),
                        "description": a.get("description") or "",
                        "resource": res.get("resourceType") or a.get("resourceId") or "",
                        "json": json.dumps(res, indent=1)[:4000] if res else "",
                    }
                )
            sid = s.get("uuid") if isinstance(s.get("uuid"), str) else None
            can_accept = bool(
                acceptable_for
                and sid
                and card.get("uuid")
                and s.get("actions")
                and all(a.get("type") == "create" for a in s["actions"])
            )
            if can_accept:
                offered[sid] = {  # type: ignore[index]
                    "pid": pid,
                    "service": acceptable_for,
                    "card": card["uuid"],
                    "uuid": sid,
                    "label": s.get("label") or "",
                    "actions": s["actions"],
                }
            suggestions.append(
                {
                    "label": s.get("label") or "",
                    "recommended": bool(s.get("isRecommended")),
                    "actions": actions,
                    "uuid": sid if can_accept else None,
                }
            )
        source = card.get("source") or {}
        return {
            "summary": card.get("summary") or "",
            "indicator": card.get("indicator") or "info",
            "detail": render_markdown(card.get("detail") or "") if card.get("detail") else "",
            "source": source.get("label") or "",
            "source_url": source.get("url") or "",
            "suggestions": suggestions,
            "links": links,
            "selection": card.get("selectionBehavior"),
            "overrides": [
                o.get("display") or o.get("code") for o in card.get("overrideReasons") or []
            ],
        }

    return app
