"""The ``dyno-reports`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from orchestration.build import BuildError, build_reports_database
from orchestration.dbt_cli import DbtCommandError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dyno-reports",
        description="Deal Win/Loss and Deal Aging reports on the PG* database.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="create the report storage and run dbt build")
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            print(build_reports_database(), end="")
        except (BuildError, DbtCommandError) as error:
            print(f"dyno-reports: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
