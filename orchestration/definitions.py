"""The Dagster code location: ``dagster dev`` in the project folder loads ``defs``.

Each part of the project contributes a function returning its ``Definitions``; add yours
to the merge below. Only ``defs`` may be a ``Definitions`` at this module's top level.
"""

import dagster as dg

from orchestration.core_definitions import core_definitions
from orchestration.refresh_definitions import refresh_definitions

defs = dg.Definitions.merge(core_definitions(), refresh_definitions())
