"""The scheduled refresh's plain half: which reports a tenant gets, when, and for whom.

Engine code: no Dagster here (``orchestration.defs`` turns it into schedules, sensors and
partitioned assets).
"""
