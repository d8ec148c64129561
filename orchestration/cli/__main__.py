"""``python -m orchestration.cli``: the ``dyno-reports`` command."""

import sys

from orchestration.cli.main import main

sys.exit(main())
