"""Reading the SQL files each package keeps beside its code (``<package>/sql/``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def read_sql(directory: Path, name: str) -> str:
    """The text of ``directory / name``, read once per process."""
    return (directory / name).read_text(encoding="utf-8")
