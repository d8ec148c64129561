"""The Dagster code location (``[tool.dagster]``): ``dagster dev`` in the project folder loads
``defs``, built in ``orchestration/defs/definitions.py``."""

from orchestration.defs.definitions import defs

__all__ = ["defs"]
