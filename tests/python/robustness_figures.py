"""The fault-and-load figures: counted by the tests (and the soak) as they go, printed at the end.

Nothing here is a target: every figure is incremented by code that just observed the event,
and the "must be 0" figures come from ``audit_report_runs`` over the databases the runs
wrote to, and from comparing a run's facts with the same report computed in quiet time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any

import psycopg

from orchestration.reports.audit import AuditResult, audit_report_runs


@dataclass
class RobustnessFigures:
    runs_attempted: int = 0
    runs_succeeded: int = 0
    runs_failed_cleanly: int = 0
    faults_injected: int = 0
    bad_inputs_tried: int = 0
    fact_rows_lost: int = 0
    fact_rows_orphaned: int = 0
    headers_left_in_progress: int = 0
    audits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Thread-safe increments, e.g. ``add(runs_attempted=1, runs_succeeded=1)``."""
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def audit(self, conn: psycopg.Connection[Any]) -> AuditResult:
        """Audit the storage ``conn`` reaches and count what it found."""
        result = audit_report_runs(conn)
        self.add(
            audits=1,
            fact_rows_orphaned=result.orphan_fact_rows
            + result.cross_tenant_fact_rows
            + result.wrong_report_fact_rows,
            fact_rows_lost=result.miscounted_fact_rows,
            headers_left_in_progress=result.stuck_runs,
        )
        return result

    def compare_facts(self, expected: list[Any], actual: list[Any]) -> None:
        """Count rows of a quiet-time result missing from (or extra in) a run's facts."""
        missing = sum(1 for row in expected if row not in actual)
        extra = sum(1 for row in actual if row not in expected)
        self.add(fact_rows_lost=missing, fact_rows_orphaned=extra)

    def counted(self) -> bool:
        return self.runs_attempted > 0 or self.bad_inputs_tried > 0

    def lines(self) -> list[str]:
        rows = [
            (item.name.replace("_", " "), getattr(self, item.name))
            for item in fields(self)
            if not item.name.startswith("_") and item.name != "audits"
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines.append(f"(the last three from {self.audits} storage audits and the fact comparisons)")
        return lines


FIGURES = RobustnessFigures()
