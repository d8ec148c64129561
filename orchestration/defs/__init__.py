"""Every Dagster object of the code location; ``defs.definitions`` holds the one ``Definitions``."""
