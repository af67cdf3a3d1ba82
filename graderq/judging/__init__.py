"""Judging: what a verdict is and how a run's output earns it; pure, no I/O.

Comparators, checkers (testlib's convention), teacher's programs as data, scoring by
points and groups, verdicts, and a grading's report. No Celery, no Redis, no Docker:
a producer checks a grading with these, a worker judges its tests with them.

Layer rules (checked by tests/test_layers.py):
- may import: ground
- never imported by: ground, sandbox, engine, re-exports
"""
