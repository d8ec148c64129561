"""Stored runs for people: text tables for a terminal, markdown for Dagster, JSON values."""
