"""The ``dyno-reports`` command (``orchestration.cli.main``)."""
