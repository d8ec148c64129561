"""Jobs of the code location as module-level functions, for ``dg.build_reconstructable_job``:
what a test needs to run a job the way the daemon does (rebuilt from its module), e.g. to
re-execute it."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs


def win_loss_report_job() -> dg.JobDefinition:
    return defs.resolve_job_def("deal_win_loss_report_job")
