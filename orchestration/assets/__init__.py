"""Dagster assets: the dbt models (with their tests as checks) and the two report assets."""
