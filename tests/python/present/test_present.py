"""Text, markdown and JSON forms of stored rows: no database needed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from orchestration.present.columns import REPORT_COLUMNS, RUN_COLUMNS, Column, shown
from orchestration.present.json_rows import json_row
from orchestration.present.markdown import markdown_table
from orchestration.present.text import describe_parameters, text_table

NAME = Column("name", lambda row: row["name"], right=False)
COUNT = Column("count", lambda row: row["count"])


def test_a_text_table_aligns_names_left_and_numbers_right() -> None:
    table = text_table(
        [{"name": "a", "count": 7}, {"name": "longer", "count": 1234}], [NAME, COUNT]
    )
    assert table.splitlines() == [
        "name    count",
        "------  -----",
        "a           7",
        "longer   1234",
    ]
    assert text_table([], [NAME, COUNT]) == "(no rows)"


def test_a_cell_is_one_line_and_a_missing_value_is_a_dash() -> None:
    assert shown("first line\nsecond   line") == "first line second line"
    assert shown(None) == "-"
    assert shown(datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=UTC)) == "2025-01-02 03:04:05+00:00"


def test_markdown_escapes_pipes_and_aligns_numbers_right() -> None:
    table = markdown_table([{"name": "a|b", "count": 3}], [NAME, COUNT])
    assert table.splitlines() == ["| name | count |", "|---|---:|", "| a\\|b | 3 |"]
    assert markdown_table([], [NAME]) == "_no rows_"


def test_json_rows_keep_ids_times_and_decimals_exact_as_text() -> None:
    run_id = uuid.uuid4()
    row = json_row(
        {
            "run_id": run_id,
            "amount": Decimal("1234.50"),
            "at": datetime(2025, 1, 1, tzinfo=UTC),
            "count": 3,
            "rate": None,
        }
    )
    assert row == {
        "run_id": str(run_id),
        "amount": "1234.50",
        "at": "2025-01-01T00:00:00+00:00",
        "count": 3,
        "rate": None,
    }


def test_a_pipeline_without_a_name_shows_its_id_and_no_pipeline_says_so() -> None:
    pipeline = REPORT_COLUMNS["deal_win_loss"][0]
    pipeline_id = uuid.uuid4()
    assert pipeline.value({"pipeline_name": "New business", "pipeline_id": pipeline_id}) == (
        "New business"
    )
    assert pipeline.value({"pipeline_name": None, "pipeline_id": pipeline_id}) == pipeline_id
    assert pipeline.value({"pipeline_name": None, "pipeline_id": None}) == "(no pipeline)"
    assert [column.heading for column in RUN_COLUMNS][:3] == ["run id", "tenant", "report"]


def test_the_parameters_in_words_name_every_filter_given() -> None:
    header = {
        "report_type": "deal_aging",
        "input_params": {
            "as_of": "2025-04-01T00:00:00+00:00",
            "threshold_days": 14,
            "cycle_threshold_days": 90,
            "period_start": None,
            "source": None,
            "principal_type": "USER",
            "principal_id": "u1",
        },
    }
    assert describe_parameters(header) == (
        "as of 2025-04-01T00:00:00+00:00, at risk after 14 days in a stage or 90 days since"
        " creation; filters: principal_type=USER, principal_id=u1"
    )
