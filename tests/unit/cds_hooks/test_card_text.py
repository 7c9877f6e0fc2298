"""What a clinician reads on the cards of every demo patient through every hook."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.unit.cds_hooks.demo_calls import all_cards
from tests.unit.cds_hooks.test_cds_http import make_app


@pytest.fixture(scope="module")
def demo_cards(tmp_path_factory):
    from unittest import mock

    from services.timeutil import parse_instant

    anchor = parse_instant("2026-11-20T12:00:00Z")  # the demo data ends here
    with mock.patch("services.assess.now", lambda: anchor):
        client = make_app(tmp_path_factory.mktemp("cards")).test_client()
        return list(all_cards(client))


def test_every_demo_patient_and_hook_is_answered(demo_cards):
    patients = {p for p, _, _ in demo_cards}
    assert "seed-pembrolizumab" in patients and len(patients) >= 8


def test_assessment_cards_read_in_ten_seconds(demo_cards):
    """Chart cards (not the order checks, which keep their own layout): about 1,200
    characters, at most four suggestions, one short disclaimer line."""
    chart = [(p, h, c) for p, h, c in demo_cards if not h.startswith("order-")]
    assert chart
    for p, h, c in chart:
        d = c.get("detail", "")
        assert len(d) <= 1300, (p, h, len(d))
        assert len(c.get("suggestions", [])) <= 4, (p, h)
        assert d.count("not a diagnosis") <= 1, (p, h)
        assert len(c["summary"]) < 140


def test_the_seed_card_names_the_most_urgent_action_first(demo_cards):
    [card] = [c for p, h, c in demo_cards if p == "seed-pembrolizumab" and h == "patient-view"]
    assert card["summary"].startswith("Discontinue pembrolizumab (Acute transverse myelitis)")
    assert "Tocilizumab 624 mg IV for CRS grade 3 (ASTCT 2019)" in card["summary"]
    labels = [s["label"] for s in card["suggestions"]]
    assert labels == [
        "Order tocilizumab 624 mg IV",
        "Order methylprednisolone 78-156 mg/day IV",
        "Order immune globulin 156 g IV",
        "Request Intensive care consult",
    ]
    # IVIG or plasma exchange is one decision: plasma exchange is its alternative in the detail
    assert "or plasma exchange" in card["detail"]
    assert not any("Plasma exchange" in s for s in labels)


# -- the words: every card's Markdown through a CommonMark parser -------------------------------

_PARSER = None


def _parse(text: str):
    global _PARSER
    if _PARSER is None:
        from markdown_it import MarkdownIt

        _PARSER = MarkdownIt("commonmark").enable("table")
    return _PARSER.parse(text)


def _source_ids() -> str:
    from services.knowledge.sources import GRADING_SYSTEMS, SOURCES

    ids = {*SOURCES, *GRADING_SYSTEMS} - {"immunotox"}  # the product's name is a word
    return "|".join(sorted(ids, key=len, reverse=True))


# Written words that are not glued words although they mix cases.
_MIXED_CASE = {"mmHg", "IgG", "IgA", "IgM", "IgE", "pH", "mL", "dL", "eviQ"}


def _rendered_text(tokens) -> list[str]:
    """The text a reader sees: the text of every inline token (link targets left out)."""
    out = []
    for t in tokens:
        if t.type == "inline":
            out.append(
                "".join(c.content for c in t.children or [] if c.type in ("text", "code_inline"))
            )
    return out


def problems(text: str) -> list[str]:
    """What a clinician should not read on a card: glued words, a list or heading stuck to the
    line before or after it, internal ids, UCUM codes, broken grammar."""
    found: list[str] = []
    tokens = _parse(text)
    lines = text.split("\n")
    for t in tokens:
        starts_list = t.type in ("bullet_list_open", "ordered_list_open")
        if t.level == 0 and starts_list and t.map and t.map[0] > 0 and lines[t.map[0] - 1].strip():
            found.append(f"list stuck to the line before it: {lines[t.map[0] - 1]!r}")
        if t.type == "heading_open" and t.map and t.map[1] < len(lines) and lines[t.map[1]].strip():
            found.append(f"heading stuck to the line after it: {lines[t.map[1]]!r}")
        if t.type == "inline":
            kids = t.children or []
            for a, b in itertools.pairwise(kids):
                if a.type == "strong_close" and b.type == "text" and b.content[:1].isalnum():
                    found.append(f"bold text glued to the next word: {b.content[:30]!r}")
                if a.type == "text" and b.type == "strong_open" and a.content[-1:].isalnum():
                    found.append(f"word glued to bold text: {a.content[-30:]!r}")
    ids = re.compile(rf"\b({_source_ids()})\b")
    for s in _rendered_text(tokens):
        checks = [
            (ids, "internal source id"),
            (re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b"), "internal id"),
            (re.compile(r"\b[a-z]+\.[a-z][a-z_]{2,}\b"), "internal recommendation id"),
            (re.compile(r"\d\s?Cel\b|mm\[Hg\]|\bug/|\[iU\]|\bmg/d\b|\bg/d\b"), "UCUM code"),
            (re.compile(r"[a-z]{3,}(?:for|grade)\s\d"), "glued words"),
            (
                re.compile(r"[a-z][;:,][A-Za-z]{2,}|[a-z]\.[A-Z][a-z]"),
                "punctuation glued to a word",
            ),
            (re.compile(r"should be (hold|discontinue|continue)\b"), "grammar"),
            (re.compile(r"(?i)\b([a-z][a-z ]{1,30}:)\s*\1"), "a phrase said twice"),
            (re.compile(r"(?i)\bno dose:\s*no dose\b"), "a phrase said twice"),
        ]
        for rx, what in checks:
            for m in rx.finditer(s):
                found.append(
                    f"{what}: {m.group(0)!r} in {s[max(0, m.start() - 30) : m.end() + 30]!r}"
                )
        for m in re.finditer(r"\b[a-z]{2,}[A-Z][a-z]*\b", s):
            if m.group(0) not in _MIXED_CASE:
                found.append(f"glued words: {m.group(0)!r}")
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Plan**for 78 kg**",
        "**Cytokine release syndrome**grade 3",
        "### Plan\n- item",
        "Dosed for:\n- item",
        "Temperature 39.1 Cel",
        "norepinephrine 5 ug/min",
        "Sources: lee2014",
        "alternative to tocilizumab.label",
        "the checkpoint inhibitor should be hold",
        "No dose: No dose: this line",
        "Dexamethasone: no dose: No dose band in the table for 36 kg",
        "Planfor 78 kg",
        "syndromegrade 3",
        "see pembro_crs_qa",
    ],
)
def test_the_checks_catch_what_a_clinician_should_not_read(text):
    assert problems(text)


def test_the_checks_pass_clean_text():
    clean = (
        "**CRS**: **grade 3** (ASTCT 2019, plan), Lee 2014 grade 2\n\n**Most urgent**\n\n"
        "- **Tocilizumab 624 mg IV** once (8 mg/kg × 78 kg); 39.1 °C, 5 µg/min, 80 mmHg, FiO2\n"
    )
    assert problems(clean) == []


def test_every_card_reads_as_a_clinician_writes(demo_cards):
    bad = []
    for p, h, c in demo_cards:
        texts = [c["summary"], c.get("detail", "")]
        texts += [s["label"] for s in c.get("suggestions", [])]
        texts += [link["label"] for link in c.get("links", [])]
        for text in texts:
            bad += [f"{p} {h}: {x}" for x in problems(text)]
    assert not bad, "\n".join(bad[:40])


def test_cards_show_times_in_the_site_zone(tmp_path, monkeypatch):
    """IMMUNOTOX_TIMEZONE: the seed card's times in Berlin time, the zone named, and how long ago
    the checkpoint inhibitor was given."""
    from services.timeutil import parse_instant
    from tests.unit.cds_hooks.demo_calls import request_body

    monkeypatch.setattr("services.assess.now", lambda: parse_instant("2026-11-20T12:00:00Z"))
    client = make_app(tmp_path, TIMEZONE="Europe/Berlin").test_client()
    r = client.post(
        "/cds-services/immunotox-patient-view",
        json=request_body("seed-pembrolizumab", "patient-view", None),
    )
    [card] = r.json["cards"]
    assert "Assessed 2026-11-20 13:00 CET" in card["detail"]
    assert "UTC" not in card["detail"]
    assert "(10 days ago)" in card["detail"]  # last pembrolizumab 2026-11-10 12:00 UTC


def test_the_charting_hook_s_cards_are_among_those_read(demo_cards):
    """org.immunotox.observation-create: a fever, a pressor, oxygen, an ICE score and a ferritin
    charted for the CAR T-cell patient each answer a card, read by the checks above."""
    hook = "org.immunotox.observation-create"
    got = {h for p, h, _ in demo_cards if p == "cart-icans" and h.startswith(hook)}
    for charted in ("fever", "pressor", "fever-and-pressure", "oxygen", "ferritin"):
        assert f"{hook}/{charted}" in got


def test_a_crs_grade_after_a_checkpoint_inhibitor_is_recorded_once(demo_cards):
    """CRS after pembrolizumab is also on the irAE list: the charting card compares it once,
    under the primary system, and offers one Condition and one AdverseEvent."""
    [card] = [
        c
        for p, h, c in demo_cards
        if p == "afebrile-pembrolizumab" and h == "org.immunotox.observation-create/fever"
    ]
    assert [s["label"] for s in card["suggestions"]] == [
        "Record CRS grade 3 (D89.833) on the problem list",
        "Record an adverse event: CRS grade 3, suspected pembrolizumab",
    ]


def test_the_seed_card_has_headroom_under_the_limit(demo_cards):
    """The seed card was 1,298 characters against the 1,300 limit: the action is said once
    ("Permanently discontinue pembrolizumab (transverse myelitis)", not "... (transverse
    myelitis: permanently discontinue the checkpoint inhibitor)") and a consult's reason that
    does not fit is left to the app rather than cut mid-phrase."""
    [card] = [c for p, h, c in demo_cards if p == "seed-pembrolizumab" and h == "patient-view"]
    d = card["detail"]
    assert len(d) <= 1200, len(d)
    assert "- **Permanently discontinue pembrolizumab** (transverse myelitis)\n" in d
    assert "- **Intensive care consult**\n" in d
    assert "…" not in d.split("**Most urgent**")[1].split("**Missing**")[0]
