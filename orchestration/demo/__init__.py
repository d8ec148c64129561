"""``dyno-reports demo``: sample CRM data, an embedded PostgreSQL, and both reports run."""
