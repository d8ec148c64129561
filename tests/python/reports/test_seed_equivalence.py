"""The project's fact rows equal the seeds' own SQL (bench/seed_queries.py).

On the random tenant (no first-stage ties, where the seeds double-count) over a grid of
every filter, and on the hand-built win/loss tenant minus its tie. The seeds' rows are
stored in a temporary copy of the fact table, so both sides are rounded by PostgreSQL
into the same column types before they are compared.
"""

from __future__ import annotations

import itertools
from typing import Any

import psycopg

from bench.checks import SEED_COLUMNS, seed_rows
from bench.seed_queries import SEED_AGING_SQL, SEED_WIN_LOSS_SQL
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report

from report_rows import facts
from scenarios import (
    AG_GROUPS_TENANT,
    AG_NO_PIPELINE_TENANT,
    AGG_P1,
    AGG_P2,
    AGN_P1,
    Q1_END,
    Q1_START,
    RANDOM,
    RANDOM_TENANT,
    WL_P2,
    WL_TENANT,
    at,
)

Conn = psycopg.Connection[Any]

PERIODS = [
    (at("2025-01-01"), at("2025-04-01")),
    (at("2025-04-01"), at("2025-07-01")),
    (at("2024-10-01"), at("2026-01-01")),
]


def seeds_columns(rows: list[dict[str, Any]], report: str) -> list[dict[str, Any]]:
    """``rows`` with the seeds' columns only; a call without the new options stores only
    seeds' rows, which must also say so (no breakdown, no total)."""
    for row in rows:
        assert row["breakdown"] is None
        assert not row["all_pipelines"]
        assert not row.get("all_stages", False)
    return [{column: row[column] for column in SEED_COLUMNS[report]} for row in rows]


def win_loss_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for start, end in PERIODS:
        base = {"period_start": start, "period_end": end}
        cases.append(base)
        cases += [{**base, "pipeline_id": p.id} for p in RANDOM.pipelines]
        cases += [{**base, "source": s} for s in RANDOM.sources if s is not None]
        cases += [{**base, "principal_type": "USER", "principal_id": u} for u in RANDOM.users[:2]]
        cases += [{**base, "principal_type": "GROUP", "principal_id": g} for g in RANDOM.groups[:2]]
        cases += [
            {**base, "stage_id": stage}
            for stage in (RANDOM.pipelines[0].lead, RANDOM.pipelines[1].qualified)
        ]
    cases.append(
        {
            "period_start": PERIODS[2][0],
            "period_end": PERIODS[2][1],
            "pipeline_id": RANDOM.pipelines[0].id,
            "source": "web",
            "principal_type": "USER",
            "principal_id": RANDOM.users[0],
            "stage_id": RANDOM.pipelines[0].lead,
        }
    )
    return cases


FILTERS = ("pipeline_id", "principal_type", "principal_id", "source", "stage_id")


def test_win_loss_equals_the_seeds_sql_on_every_filter(conn: Conn) -> None:
    compared = 0
    nonempty = 0
    for case in win_loss_cases():
        params = {"tenant_id": RANDOM_TENANT, **dict.fromkeys(FILTERS), **case}
        ours = seeds_columns(facts(conn, run_deal_win_loss_report(conn, **params)), "win_loss")
        seeds = seed_rows(conn, SEED_WIN_LOSS_SQL, params, "dyno_crm.report_deal_win_loss_fact")
        assert ours == seeds, case
        compared += 1
        nonempty += bool(ours)
    assert compared >= 40
    assert nonempty >= compared * 0.8


def aging_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for threshold, cycle, (start, end) in itertools.product(
        (0, 7, 30), (None, 60), [(None, at("2025-06-01")), (at("2025-03-01"), at("2025-09-01"))]
    ):
        cases.append(
            {
                "threshold_days": threshold,
                "cycle_threshold_days": cycle,
                "period_start": start,
                "period_end": end,
            }
        )
    base = {
        "threshold_days": 14,
        "cycle_threshold_days": 90,
        "period_start": None,
        "period_end": at("2025-12-01"),
    }
    cases += [{**base, "pipeline_id": p.id} for p in RANDOM.pipelines]
    cases += [{**base, "principal_type": "USER", "principal_id": u} for u in RANDOM.users[:2]]
    cases += [{**base, "principal_type": "GROUP", "principal_id": g} for g in RANDOM.groups[:2]]
    cases += [{**base, "stage_id": p.qualified} for p in RANDOM.pipelines[:2]]
    return cases


def test_aging_equals_the_seeds_sql_on_every_filter(conn: Conn) -> None:
    compared = 0
    for case in aging_cases():
        params = {"tenant_id": RANDOM_TENANT, **dict.fromkeys(FILTERS), **case}
        params.pop("source")
        ours = seeds_columns(facts(conn, run_deal_aging_report(conn, **params)), "aging")
        seeds = seed_rows(conn, SEED_AGING_SQL, params, "dyno_crm.report_deal_aging_fact")
        assert ours == seeds, case
        assert ours, case
        compared += 1
    assert compared >= 20


def test_aging_finds_every_group_at_the_edges_of_its_index_walk(conn: Conn) -> None:
    """The report walks its index one (pipeline, stage) group at a time; deals without a
    pipeline are walked apart. A tenant with only those, a deal in another pipeline's stage,
    and groups empty in the period or the filters must come out as the seeds' SQL has them.
    """
    groups = {
        AG_GROUPS_TENANT: {
            (AGG_P2.id, AGG_P1.lead),
            (AGG_P1.id, AGG_P1.lead),
            (None, AGG_P2.qualified),
            (None, AGG_P1.lead),
            (AGG_P1.id, AGG_P1.proposal),
            (AGG_P2.id, AGG_P2.proposal),
        },
        AG_NO_PIPELINE_TENANT: {(None, AGN_P1.lead), (None, AGN_P1.proposal)},
    }
    as_of = at("2025-06-01")
    cases: list[dict[str, Any]] = [
        {},
        {"period_start": at("2025-05-01")},
        {"period_start": at("2025-05-15"), "cycle_threshold_days": 30},
        {"period_start": at("2026-01-01"), "period_end": at("2026-02-01")},
        {"pipeline_id": AGG_P1.id},
        {"pipeline_id": AGG_P2.id, "threshold_days": 0},
        {"stage_id": AGG_P1.lead},
        {"stage_id": AGN_P1.proposal},
    ]
    for tenant, expected in groups.items():
        for case in cases:
            params: dict[str, Any] = {
                "tenant_id": tenant,
                **dict.fromkeys(FILTERS),
                "threshold_days": 14,
                "cycle_threshold_days": None,
                "period_start": None,
                "period_end": as_of,
                **case,
            }
            params.pop("source")
            ours = seeds_columns(facts(conn, run_deal_aging_report(conn, **params)), "aging")
            seeds = seed_rows(conn, SEED_AGING_SQL, params, "dyno_crm.report_deal_aging_fact")
            assert ours == seeds, (tenant, case)
            if not case:
                assert {(row["pipeline_id"], row["stage_id"]) for row in ours} == expected


def test_the_seeds_sql_double_counts_a_first_stage_tie_and_ours_does_not(conn: Conn) -> None:
    """The seed defect we fix on purpose: the tied deal appears twice in the seeds' join."""
    params: dict[str, Any] = {
        "tenant_id": WL_TENANT,
        "period_start": Q1_START,
        "period_end": Q1_END,
        **dict.fromkeys(FILTERS),
    }
    seeds = {
        row["pipeline_id"]: row
        for row in seed_rows(conn, SEED_WIN_LOSS_SQL, params, "dyno_crm.report_deal_win_loss_fact")
    }
    run_id = run_deal_win_loss_report(conn, **params)
    ours = {row["pipeline_id"]: row for row in seeds_columns(facts(conn, run_id), "win_loss")}
    assert seeds[WL_P2]["deals_closed_won_count"] == 2
    assert ours[WL_P2]["deals_closed_won_count"] == 1
    # Everything else agrees.
    for pipeline, row in ours.items():
        if pipeline != WL_P2:
            assert row == seeds[pipeline]
