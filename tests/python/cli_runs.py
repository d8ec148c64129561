"""Running `dyno-reports` in-process in tests: the exit code and what it printed."""

from __future__ import annotations

import pytest

from orchestration.cli.main import main

import scenarios

WL = str(scenarios.WL_TENANT)
AG = str(scenarios.AG_TENANT)
WIN_LOSS = ["win-loss", "--tenant", WL, "--from", "2025-01-01", "--to", "2025-04-01"]
AGING = ["aging", "--tenant", AG, "--threshold-days", "10"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse exits on bad arguments
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
