"""Feedback: what clinicians did with the cards, stored and reported.

Two tables on the shared store's `METADATA` (SQLAlchemy Core):
- `cds_card` records each card issued: its uuid, service, kind and indicator, and when (no
  patient data), so feedback, which names only the card uuid, can be grouped by kind of card;
- `cds_feedback` records each feedback item the client posts
  (https://cds-hooks.hl7.org/2.0/#feedback): outcome, accepted suggestion uuids, override reason
  coding and comment, outcome time.

`report_main(args)` prints acceptance and override rates per service and kind of card
(`immunotox feedback-report`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, func, select
from sqlalchemy.engine import Engine

from cds_hooks.spec import Card, FeedbackItem
from immunotox.store import METADATA, open_engine
from immunotox.store import create_tables as _create_tables

CARDS = Table(
    "cds_card",
    METADATA,
    Column("uuid", String(64), primary_key=True),
    Column("service_id", String(64), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("indicator", String(16), nullable=False),
    Column("issued_at", Float, nullable=False),
)

FEEDBACK = Table(
    "cds_feedback",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(64), nullable=False, index=True),
    Column("card_uuid", String(64), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", Text, nullable=False),  # JSON list of uuids
    Column("override_system", String(256)),
    Column("override_code", String(128)),
    Column("override_display", String(256)),
    Column("user_comment", Text),
    Column("outcome_timestamp", String(64), nullable=False),
    Column("received_at", Float, nullable=False),
)

TABLES = (CARDS, FEEDBACK)


def create_tables(engine: Engine) -> None:
    _create_tables(engine, list(TABLES))  # with the store's retry for workers starting together


def record_cards(engine: Engine, service_id: str, cards: Iterable[Card]) -> None:
    rows = [
        {
            "uuid": c.uuid,
            "service_id": service_id,
            "kind": c.kind,
            "indicator": c.indicator,
            "issued_at": time.time(),
        }
        for c in cards
    ]
    if rows:
        with engine.begin() as conn:
            conn.execute(CARDS.insert(), rows)


def store_feedback(engine: Engine, service_id: str, items: list[FeedbackItem]) -> int:
    now = time.time()
    rows = [
        {
            "service_id": service_id,
            "card_uuid": it.card[:64],
            "outcome": it.outcome,
            "accepted_suggestions": json.dumps(list(it.accepted_suggestions)),
            "override_system": it.override_reason.system if it.override_reason else None,
            "override_code": it.override_reason.code if it.override_reason else None,
            "override_display": it.override_reason.display if it.override_reason else None,
            "user_comment": it.user_comment,
            "outcome_timestamp": it.outcome_timestamp[:64],
            "received_at": now,
        }
        for it in items
    ]
    with engine.begin() as conn:
        conn.execute(FEEDBACK.insert(), rows)
    return len(rows)


def report(engine: Engine) -> list[dict[str, Any]]:
    """Per service and kind of card: cards issued, cards with an accepted suggestion, cards
    overridden, and the two rates (over cards issued). Feedback for a card this store did not
    issue is counted under kind "unknown"."""
    create_tables(engine)
    with engine.connect() as conn:
        issued = {
            (r.service_id, r.kind): r.n
            for r in conn.execute(
                select(CARDS.c.service_id, CARDS.c.kind, func.count().label("n")).group_by(
                    CARDS.c.service_id, CARDS.c.kind
                )
            )
        }
        kind_of = select(CARDS.c.kind).where(CARDS.c.uuid == FEEDBACK.c.card_uuid).scalar_subquery()
        outcomes = conn.execute(
            select(
                FEEDBACK.c.service_id,
                func.coalesce(kind_of, "unknown").label("kind"),
                FEEDBACK.c.outcome,
                func.count(func.distinct(FEEDBACK.c.card_uuid)).label("n"),
            ).group_by(FEEDBACK.c.service_id, "kind", FEEDBACK.c.outcome)
        ).all()
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for key, n in issued.items():
        counts.setdefault(key, {"issued": 0, "accepted": 0, "overridden": 0})["issued"] = n
    for r in outcomes:
        c = counts.setdefault((r.service_id, r.kind), {"issued": 0, "accepted": 0, "overridden": 0})
        c[r.outcome] = r.n
    out = []
    for (service, kind), c in sorted(counts.items()):
        base = c["issued"]
        out.append(
            {
                "service": service,
                "card": kind,
                "issued": base,
                "accepted": c["accepted"],
                "overridden": c["overridden"],
                "acceptance_rate": round(c["accepted"] / base, 4) if base else None,
                "override_rate": round(c["overridden"] / base, 4) if base else None,
            }
        )
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def report_main(args: argparse.Namespace) -> int:
    url = getattr(args, "database_url", None)
    if not url:
        from immunotox import config as config_mod

        url = config_mod.load()["DATABASE_URL"]
    engine = open_engine(url)
    try:
        rows = report(engine)
    finally:
        engine.dispose()
    if getattr(args, "format", "text") == "json":
        json.dump({"rows": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("No cards issued and no feedback received yet.")
        return 0
    head = f"{'service':<28} {'card':<24} {'issued':>7} {'accepted':>9} {'overridden':>11} {'accept%':>8} {'override%':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['service']:<28} {r['card']:<24} {r['issued']:>7} {r['accepted']:>9} "
            f"{r['overridden']:>11} {_pct(r['acceptance_rate']):>8} {_pct(r['override_rate']):>10}"
        )
    return 0
